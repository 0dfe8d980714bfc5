// A trial's infomax training steps as one TensorFlow session call each (the graph of
// ml/graph/infomax-step.ts), with the trial's state copied in and out by GraphState.
import * as tf from '@tensorflow/tfjs';
import type { TrialConfig } from '../config.js';
import type { ParamStore } from '../params.js';
import type { FlatAdam } from '../flat-adam.js';
import { graphAdam, stepPath } from '../step-path.js';
import { buildInfomaxGraph, graphStepRefusal, type InfomaxGraph } from './infomax-step.js';
import { GraphState } from './graph-state.js';
import type { EncoderHints } from './layers.js';

let instances = 0;

/** A distinct variable prefix per graph: two trials of one process stay apart. */
export const graphPrefix = () => `trial${instances++}`;

/** Whether a trial of this configuration trains through a graph session here and now. */
export function graphStepApplies(cfg: TrialConfig): boolean {
  return stepPath() === 'graph' && tf.getBackend() === 'tensorflow' && graphStepRefusal(cfg) === null;
}

export class GraphStep {
  private readonly built: InfomaxGraph;
  private readonly state: GraphState;

  constructor(
    cfg: TrialConfig,
    private readonly dimX: number,
    private readonly dimY: number,
    hints: { g1: EncoderHints; g2: EncoderHints },
  ) {
    this.built = buildInfomaxGraph(cfg, dimX, dimY, graphPrefix(), hints, graphAdam());
    const b = this.built;
    this.state = new GraphState(b.graph, [{ params: b.params, moments: b.moments, betaPowers: b.betaPowers }]);
  }

  /** Nodes in the graph (the step runs those its fetches need). */
  get nodeCount(): number {
    return this.built.graph.nodes.length;
  }

  /** Puts the trial's parameters and Adam state into the session. */
  load(store: ParamStore, opt: FlatAdam): void {
    this.state.load(store, [opt]);
  }

  /** One training step on a batch; returns the loss and I_EST before the update (the caller owns them). */
  step(x: Float32Array, y: Float32Array, rows: number): { loss: tf.Scalar; estimate: tf.Scalar } {
    const xs = tf.tensor2d(x, [rows, this.dimX]);
    const ys = tf.tensor2d(y, [rows, this.dimY]);
    try {
      const [loss, estimate] = this.state.session.run({ x: xs, y: ys }, [
        this.built.fetches.loss,
        this.built.fetches.estimate,
      ]) as tf.Scalar[];
      this.state.stepped(0);
      return { loss, estimate };
    } finally {
      tf.dispose([xs, ys]);
    }
  }

  /** Takes the session's parameters and Adam state back into the trial's. */
  save(store: ParamStore, opt: FlatAdam): void {
    this.state.save(store, [opt]);
  }

  dispose(): void {
    this.state.dispose();
  }
}
