// The adversarial procedure (ml/adversarial-trial.ts) as one TensorFlow graph: a warm-up
// step (encode a batch, one classifier update) and a round (encode the round's batches in
// one pass, the classifier's updates unrolled one after another, then one encoder update
// against uniform labels), each one session call. The operations are the eager path's in
// its order; the classifier's updates chain through control edges, each reading the
// weights and Adam state the one before left.
import * as tf from '@tensorflow/tfjs';
import type { TrialConfig } from '../config.js';
import { CLASSES } from '../data/mnist.js';
import type { ParamStore } from '../params.js';
import type { FlatAdam } from '../flat-adam.js';
import { graphAdam, stepPath, type GraphAdam } from '../step-path.js';
import { Graph, type Sym, type Variable } from './graph.js';
import * as op from './ops.js';
import { adamState, adamUpdate, type AdamSettings, type AdamState } from './adam.js';
import { Params, type EncoderHints } from './layers.js';
import { encoderForms } from '../encoders.js';
import { GraphState } from './graph-state.js';
import { graphPrefix } from './graph-step.js';

const T = { T: { type: 'float32' as const } };
const f32 = (shape: readonly number[]) => [{ shape, dtype: 'float32' as const }];

/** Whether an adversarial trial of this configuration trains through a graph session here and now. */
export function adversarialGraphApplies(cfg: TrialConfig): boolean {
  return stepPath() === 'graph' && tf.getBackend() === 'tensorflow' && cfg.procedure === 'adversarial';
}

/** Rows [begin, begin + rows) of a 2-d x, outside any gradient (the tape never sees it). */
function rowsOf(g: Graph, x: Sym, begin: number, rows: number): Sym {
  if (begin === 0 && rows === x.shape[0]) return x;
  const cols = x.shape[1];
  return g.node(
    'Slice',
    [x, g.intConstant([begin, 0]), g.intConstant([rows, cols])],
    { ...T, Index: { type: 'int32' } },
    f32([rows, cols]),
  )[0];
}

/** tfjs' softmaxCrossEntropy with its custom gradient: the mean over rows of -sum(y log softmax(logits)). */
function softmaxCrossEntropy(g: Graph, y: Sym, logits: Sym): Sym {
  const k = logits.shape[0];
  const logResult = op.sub(g, logits, op.reshape(g, op.logSumExp(g, logits, 1), [k, 1]));
  const costs = op.sum(g, op.neg(g, op.mul(g, logResult, y)), [1]);
  const rowLoss = g.node('Identity', [costs], T, f32([k]), {
    grad: (dy) => [op.mul(g, op.reshape(g, dy, [k, 1]), op.sub(g, op.exp(g, logResult), y))],
    inputs: [logits],
  })[0];
  return op.div(g, op.sum(g, rowLoss, [0]), g.constant(k));
}

/** tfjs' logSoftmax with its custom gradient dy - sum(dy) softmax. */
function logSoftmax(g: Graph, logits: Sym): Sym {
  const [k, c] = logits.shape;
  const shifted = op.sub(g, logits, op.max(g, logits, [1], true));
  const value = op.sub(g, shifted, op.log(g, op.sum(g, op.exp(g, shifted), [1], true)));
  return g.node('Identity', [value], T, f32([k, c]), {
    grad: (dy) => [op.sub(g, dy, op.mul(g, op.sum(g, dy, [1], true), op.exp(g, value)))],
    inputs: [logits],
  })[0];
}

interface Slot {
  vars: Map<string, Variable>;
  adam: AdamState;
  settings: AdamSettings;
}

function slot(g: Graph, p: Params, prefix: string, lr: number, kind: GraphAdam): Slot {
  const vars = new Map(p.vars);
  return {
    vars,
    adam: adamState(g, prefix, vars),
    settings: { learningRate: lr, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, fused: kind === 'fused' },
  };
}

/** Reads of a slot's weights that wait for `control`, by ParamStore name. */
function readsAfter(s: Slot, control: readonly string[]): Map<string, Sym> {
  return new Map([...s.vars].map(([n, v]) => [n, v.read({ control })]));
}

/** One classifier update on codes z with one-hot labels y; returns its loss and assigns. */
function classifierUpdate(g: Graph, s: Slot, z: Sym, y: Sym, control: readonly string[]) {
  const reads = readsAfter(s, control);
  const logits = op.add(g, op.matMul(g, z, reads.get('classifier/kernel')!), reads.get('classifier/bias')!);
  const loss = softmaxCrossEntropy(g, y, logits);
  const names = [...s.vars.keys()];
  const grads = g.gradients(
    loss,
    names.map((n) => reads.get(n)!),
  );
  const gradMap = new Map(names.map((n, i) => [n, grads[i]]));
  return { loss, assigns: adamUpdate(g, s.settings, s.adam, s.vars, reads, gradMap, control) };
}

export interface AdversarialGraph {
  graph: Graph;
  classifier: Slot;
  encoder: Slot;
  /** Feeds and fetches of the warm-up step and of a round. */
  warmup: { x: string; y: string; loss: string };
  round: { x: string; y: string; ex: string; classifierLoss: string; encoderLoss: string };
}

export function buildAdversarialGraph(cfg: TrialConfig, dimX: number, hints: EncoderHints, kind: GraphAdam) {
  const g = new Graph();
  const prefix = graphPrefix();
  const k = cfg.batch_size;
  const count = cfg.adv_classifier_steps;
  const pe = new Params(g, prefix);
  const pc = new Params(g, prefix);
  // The codes of a round's classifier batches, outside the tape: the classifier's updates never differentiate the encoder.
  const codesOf = (x: Sym) =>
    g.node(
      'StopGradient',
      [encoderForms(cfg.encoder).graph(g, pe, 'g1', x, cfg, hints)],
      T,
      f32([x.shape[0], dimX]),
    )[0];
  const rx = g.placeholder('round/x', [count * k, dimX]);
  const ry = g.placeholder('round/y', [count * k, CLASSES]);
  const codes = codesOf(rx);
  pc.get('classifier/kernel', [dimX, CLASSES]);
  pc.get('classifier/bias', [CLASSES]);
  const classifier = slot(g, pc, `${prefix}/classifier`, cfg.adv_classifier_lr, kind);
  let control: string[] = [];
  let classifierLoss: Sym | null = null;
  for (let i = 0; i < count; i++) {
    const u = classifierUpdate(g, classifier, rowsOf(g, codes, i * k, k), rowsOf(g, ry, i * k, k), control);
    [classifierLoss, control] = [u.loss, u.assigns];
  }
  // The encoder's update: cross-entropy against uniform labels through the updated classifier.
  const ex = g.placeholder('round/ex', [k, dimX]);
  const z = encoderForms(cfg.encoder).graph(g, pe, 'g1', ex, cfg, hints);
  const encoderReads = new Map(pe.reads);
  const encoderSlot = slot(g, pe, `${prefix}/encoder`, cfg.adv_encoder_lr, kind);
  const after = readsAfter(classifier, control);
  const logits = op.add(g, op.matMul(g, z, after.get('classifier/kernel')!), after.get('classifier/bias')!);
  const encoderLoss = op.neg(g, op.mean(g, logSoftmax(g, logits), [0, 1]));
  const names = [...encoderSlot.vars.keys()];
  const grads = g.gradients(
    encoderLoss,
    names.map((n) => encoderReads.get(n)!),
  );
  const encoderAssigns = adamUpdate(
    g,
    encoderSlot.settings,
    encoderSlot.adam,
    encoderSlot.vars,
    encoderReads,
    new Map(names.map((n, i) => [n, grads[i]])),
  );
  const done = (s: Sym, name: string, after: string[]) =>
    g.node('Identity', [s], T, f32([]), { name, control: after })[0].ref;
  const round = {
    x: rx.ref,
    y: ry.ref,
    ex: ex.ref,
    classifierLoss: done(classifierLoss!, 'round/classifier_loss', [...control, ...encoderAssigns]),
    encoderLoss: done(encoderLoss, 'round/encoder_loss', [...control, ...encoderAssigns]),
  };
  // A warm-up step: one classifier update on a fresh batch's codes.
  const wx = g.placeholder('warmup/x', [k, dimX]);
  const wy = g.placeholder('warmup/y', [k, CLASSES]);
  const w = classifierUpdate(g, classifier, codesOf(wx), wy, []);
  const warmup = { x: wx.ref, y: wy.ref, loss: done(w.loss, 'warmup/loss', w.assigns) };
  return { graph: g, classifier, encoder: encoderSlot, warmup, round };
}

export class AdversarialGraphStep {
  private readonly built: AdversarialGraph;
  private readonly state: GraphState;

  constructor(
    private readonly cfg: TrialConfig,
    private readonly dimX: number,
    hints: EncoderHints,
  ) {
    this.built = buildAdversarialGraph(cfg, dimX, hints, graphAdam());
    const asSlot = (s: Slot) => ({ params: s.vars, ...s.adam });
    this.state = new GraphState(this.built.graph, [asSlot(this.built.classifier), asSlot(this.built.encoder)]);
  }

  get nodeCount(): number {
    return this.built.graph.nodes.length;
  }

  /** Loads the trial's state: the classifier's optimizer first, then the encoder's. */
  load(store: ParamStore, classifier: FlatAdam, encoder: FlatAdam): void {
    this.state.load(store, [classifier, encoder]);
  }

  save(store: ParamStore, classifier: FlatAdam, encoder: FlatAdam): void {
    this.state.save(store, [classifier, encoder]);
  }

  private oneHot(labels: readonly Uint8Array[]): tf.Tensor2D {
    const rows = labels.reduce((n, l) => n + l.length, 0);
    const y = new Float32Array(rows * CLASSES);
    let r = 0;
    for (const l of labels) for (const c of l) y[r++ * CLASSES + c] = 1;
    return tf.tensor2d(y, [rows, CLASSES]);
  }

  /** One warm-up step on a batch and its labels; returns the classifier's loss. */
  warmup(x: Float32Array, labels: Uint8Array): tf.Scalar {
    const feeds = { x: tf.tensor2d(x, [labels.length, this.dimX]), y: this.oneHot([labels]) };
    try {
      const [loss] = this.state.session.run({ [this.built.warmup.x]: feeds.x, [this.built.warmup.y]: feeds.y }, [
        this.built.warmup.loss,
      ]);
      this.state.stepped(0);
      return loss as tf.Scalar;
    } finally {
      tf.dispose([feeds.x, feeds.y]);
    }
  }

  /** One round: the classifier's batches (concatenated) and labels, then the encoder's batch. */
  round(
    x: Float32Array,
    labels: readonly Uint8Array[],
    ex: Float32Array,
  ): { classifier: tf.Scalar; encoder: tf.Scalar } {
    const k = this.cfg.batch_size;
    const xs = tf.tensor2d(x, [labels.length * k, this.dimX]);
    const ys = this.oneHot(labels);
    const es = tf.tensor2d(ex, [k, this.dimX]);
    try {
      const r = this.built.round;
      const [classifier, encoder] = this.state.session.run({ [r.x]: xs, [r.y]: ys, [r.ex]: es }, [
        r.classifierLoss,
        r.encoderLoss,
      ]) as tf.Scalar[];
      this.state.stepped(0, labels.length);
      this.state.stepped(1);
      return { classifier, encoder };
    } finally {
      tf.dispose([xs, ys, es]);
    }
  }

  dispose(): void {
    this.state.dispose();
  }
}
