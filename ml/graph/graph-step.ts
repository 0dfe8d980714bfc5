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
import { stepPath } from '../step-path.js';
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
    this.built = buildInfomaxGraph(cfg, dimX, dimY, `trial${instances++}`, hints);
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
    const state = opt.exportState();
    const feeds: Record<string, tf.Tensor> = {};
    const made: tf.Tensor[] = [];
    for (const [name, variable] of b.params) {
      feeds[this.io.feeds.get(variable.name)!] = store.get(name);
      const i = state.names.indexOf(name);
      const slot = b.moments.feeds.get(name)!;
      const moment = (parts: tf.Tensor[] | null) => {
        if (parts && i >= 0) return parts[i];
        const z = tf.zeros(variable.shape as number[]);
        made.push(z);
        return z;
      };
      feeds[slot.m] = moment(state.m);
      feeds[slot.v] = moment(state.v);
    }
    feeds[this.io.feeds.get(b.betaPowers.b1.name)!] = opt.accBeta1;
    feeds[this.io.feeds.get(b.betaPowers.b2.name)!] = opt.accBeta2;
    try {
      tf.dispose(this.session.run(feeds, [this.io.loaded]));
    } finally {
      tf.dispose([...made, ...(state.m ?? []), ...(state.v ?? [])]);
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
