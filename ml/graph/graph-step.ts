// A trial's training steps run as one TensorFlow session call each (the graph of
// ml/graph/infomax-step.ts), while the trial's ParamStore and FlatAdam stay the state that
// checkpoints, evaluations and everything else read. The session holds its own copy of
// that state: load() puts the trial's into it (at the start, after a restore), save()
// takes it back (before a checkpoint or an evaluation). Both copy tensors within
// TensorFlow, with no download, so a checkpoint is the one the eager path would write.
import * as tf from '@tensorflow/tfjs';
import type { TrialConfig } from '../config.js';
import type { ParamStore } from '../params.js';
import type { FlatAdam } from '../flat-adam.js';
import { graphAdam, stepPath } from '../step-path.js';
import { addStateIo, buildInfomaxGraph, graphStepRefusal, type InfomaxGraph, type StateIo } from './infomax-step.js';
import { GraphSession } from './session.js';
import type { EncoderHints } from './layers.js';
import type { Variable } from './graph.js';

let instances = 0;

/** Whether a trial of this configuration trains through a graph session here and now. */
export function graphStepApplies(cfg: TrialConfig): boolean {
  return stepPath() === 'graph' && tf.getBackend() === 'tensorflow' && graphStepRefusal(cfg) === null;
}

export class GraphStep {
  private readonly built: InfomaxGraph;
  private readonly io: StateIo;
  private readonly session: GraphSession;
  /** The optimizer's iteration count as the session's state stands. */
  private iterations = 0;

  constructor(
    cfg: TrialConfig,
    private readonly dimX: number,
    private readonly dimY: number,
    hints: { g1: EncoderHints; g2: EncoderHints },
  ) {
    // Resource variables are named per session; a distinct prefix keeps two trials of one
    // process apart even if TensorFlow shared them.
    this.built = buildInfomaxGraph(cfg, dimX, dimY, `trial${instances++}`, hints, graphAdam());
    const b = this.built;
    this.io = addStateIo(b.graph, [...b.params.values(), b.betaPowers.b1, b.betaPowers.b2], b.moments.loadAssigns);
    this.session = GraphSession.open(b.graph);
  }

  /** Nodes in the graph (the step runs those its fetches need). */
  get nodeCount(): number {
    return this.built.graph.nodes.length;
  }

  /** Puts the trial's parameters and Adam state into the session. */
  load(store: ParamStore, opt: FlatAdam): void {
    const b = this.built;
    const names = [...b.params.keys()];
    const state = opt.exportState();
    const fresh = state.m === null || state.v === null;
    // Before a first update the moments are zeros; the flat Adam then holds them as its
    // eager update would have allocated them, so a trial's tensors are those of the eager path.
    const moments = (parts: tf.Tensor[] | null) =>
      names.map((n) => {
        const i = state.names.indexOf(n);
        return parts && i >= 0 ? parts[i] : tf.zeros(b.params.get(n)!.shape as number[]);
      });
    const m = moments(state.m);
    const v = moments(state.v);
    const feeds: Record<string, tf.Tensor> = {
      [this.io.feeds.get(b.betaPowers.b1.name)!]: opt.accBeta1,
      [this.io.feeds.get(b.betaPowers.b2.name)!]: opt.accBeta2,
    };
    names.forEach((n, i) => {
      feeds[this.io.feeds.get(b.params.get(n)!.name)!] = store.get(n);
      feeds[b.moments.feeds.get(n)!.m] = m[i];
      feeds[b.moments.feeds.get(n)!.v] = v[i];
    });
    try {
      tf.dispose(this.session.run(feeds, [this.io.loaded]));
      if (fresh) opt.importState({ names, m, v, iterations: state.iterations });
    } finally {
      tf.dispose([...m, ...v]);
    }
    this.iterations = state.iterations;
  }

  /** One training step on a batch; returns the loss and I_EST before the update (the caller owns them). */
  step(x: Float32Array, y: Float32Array, rows: number): { loss: tf.Scalar; estimate: tf.Scalar } {
    const xs = tf.tensor2d(x, [rows, this.dimX]);
    const ys = tf.tensor2d(y, [rows, this.dimY]);
    try {
      const [loss, estimate] = this.session.run({ x: xs, y: ys }, [
        this.built.fetches.loss,
        this.built.fetches.estimate,
      ]) as tf.Scalar[];
      this.iterations++;
      return { loss, estimate };
    } finally {
      tf.dispose([xs, ys]);
    }
  }

  /** Takes the session's parameters and Adam state back into the trial's. */
  save(store: ParamStore, opt: FlatAdam): void {
    const b = this.built;
    const names = [...b.params.keys()];
    const peek = (v: Variable) => this.io.peeks.get(v.name)!;
    const refs = [
      ...names.map((n) => peek(b.params.get(n)!)),
      ...names.map((n) => b.moments.peeks.get(n)!.m),
      ...names.map((n) => b.moments.peeks.get(n)!.v),
      peek(b.betaPowers.b1),
      peek(b.betaPowers.b2),
    ];
    const out = this.session.run({}, refs);
    try {
      const n = names.length;
      names.forEach((name, i) => store.get(name).assign(out[i]));
      opt.importState({
        names,
        m: out.slice(n, 2 * n),
        v: out.slice(2 * n, 3 * n),
        iterations: this.iterations,
        beta1Power: out[3 * n],
        beta2Power: out[3 * n + 1],
      });
    } finally {
      tf.dispose(out);
    }
  }

  dispose(): void {
    this.session.dispose();
  }
}
