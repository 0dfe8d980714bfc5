// The fixed inputs every evaluation of a trial uses: test pairs, training view-1 inputs
// for linear evaluation, with their noise drawn once from generators of their own so that
// evaluating never disturbs the training streams (and resuming stays exact).
import * as tf from '@tensorflow/tfjs';
import type { TrialConfig } from './config.js';
import { fitAndScore, minMaxScale, type Codes } from './eval/linear.js';
import { sagaEvaluation } from './eval/saga.js';
import { NOTEBOOK_SAGA, PROTOCOLS, sagaSeed, type LinearEvalProtocol } from './eval/protocols.js';
import { loadMnist, extractView, VIEW_PIXELS } from './data/mnist.js';
import { addNoise, addSharedNoise } from './data/pairs.js';
import { Rng } from './rng.js';
import { timed, type EvalTiming } from './eval-timing.js';

export interface MnistEvalData {
  dim: number;
  trainX: Float32Array;
  trainLabels: Uint8Array;
  trainN: number;
  testX: Float32Array;
  testY: Float32Array;
  testLabels: Uint8Array;
  testN: number;
}

function subset(values: Float32Array, labels: Uint8Array, d: number, size: number | null, rng: Rng) {
  const n = labels.length;
  if (size === null || size >= n) return { x: values, labels, n };
  const idx = rng.permutation(n).subarray(0, size).sort();
  const x = new Float32Array(size * d);
  const l = new Uint8Array(size);
  idx.forEach((i, k) => {
    x.set(values.subarray(i * d, (i + 1) * d), k * d);
    l[k] = labels[i];
  });
  return { x, labels: l, n: size };
}

export function mnistEvalData(cfg: TrialConfig): MnistEvalData {
  const m = loadMnist();
  const d = VIEW_PIXELS;
  const noise = new Rng(cfg.seed, 11);
  const train = subset(
    extractView(m.train, cfg.view1),
    m.train.labels,
    d,
    cfg.linear_eval_train_size,
    new Rng(cfg.seed, 12),
  );
  // Same generator state for both views, so the two test subsets hold the same images.
  const test1 = subset(
    extractView(m.test, cfg.view1),
    m.test.labels,
    d,
    cfg.linear_eval_test_size,
    new Rng(cfg.seed, 13),
  );
  const test2 = subset(
    extractView(m.test, cfg.view2),
    m.test.labels,
    d,
    cfg.linear_eval_test_size,
    new Rng(cfg.seed, 13),
  );
  addNoise(train.x, cfg.noise, noise);
  // The test pairs are noisy pairs like the training batches: one noise tensor for both views.
  addSharedNoise(test1.x, test2.x, cfg.noise, noise);
  return {
    dim: d,
    trainX: train.x,
    trainLabels: train.labels,
    trainN: train.n,
    testX: test1.x,
    testY: test2.x,
    testLabels: test1.labels,
    testN: test1.n,
  };
}

/** Encodes rows in large batches so evaluation is not dominated by per-call overhead. */
export async function encodeAll(
  g: (x: tf.Tensor2D) => tf.Tensor2D,
  values: Float32Array,
  n: number,
  dim: number,
  batch = 2000,
): Promise<{ codes: Float32Array; dim: number }> {
  let out: Float32Array | null = null;
  let outDim = 0;
  for (let start = 0; start < n; start += batch) {
    const rows = Math.min(batch, n - start);
    const z = tf.tidy(() => g(tf.tensor2d(values.subarray(start * dim, (start + rows) * dim), [rows, dim])));
    outDim = z.shape[1];
    out ??= new Float32Array(n * outDim);
    out.set((await z.data()) as Float32Array, start * outDim);
    z.dispose();
  }
  return { codes: out ?? new Float32Array(0), dim: outDim };
}

/** Codes of view 1 for the linear evaluation's training and test inputs. */
export async function encodeSplits(
  g: (x: tf.Tensor2D) => tf.Tensor2D,
  e: MnistEvalData,
): Promise<{ train: Codes; test: Codes }> {
  const train = await encodeAll(g, e.trainX, e.trainN, e.dim);
  const test = await encodeAll(g, e.testX, e.testN, e.dim);
  return {
    train: { values: train.codes, labels: e.trainLabels, n: e.trainN, dim: train.dim },
    test: { values: test.codes, labels: e.testLabels, n: e.testN, dim: test.dim },
  };
}

/**
 * One protocol's fit on codes already min-max scaled, as its named metrics. Each value
 * is logged with the accuracy, so an accuracy from a fit cut off by its budget is
 * visible as such.
 */
async function runProtocol(
  name: LinearEvalProtocol,
  train: Codes,
  test: Codes,
  cfg: TrialConfig,
  step: number,
): Promise<Record<string, number>> {
  const metric = (m: string) => `${PROTOCOLS[name].prefix}_${m}`;
  if (name === 'converged') {
    const r = await fitAndScore(train, test, { c: cfg.linear_eval_c, maxIter: cfg.linear_eval_max_iter });
    return {
      [metric('accuracy')]: r.accuracy,
      [metric('train_accuracy')]: r.trainAccuracy,
      [metric('converged')]: r.converged ? 1 : 0,
      [metric('iterations')]: r.iterations,
    };
  }
  const r = sagaEvaluation(train, test, { ...NOTEBOOK_SAGA, seed: sagaSeed(cfg.seed, step) });
  return {
    [metric('accuracy')]: r.accuracy,
    [metric('train_accuracy')]: r.trainAccuracy,
    [metric('converged')]: r.converged ? 1 : 0,
    [metric('epochs')]: r.epochs,
  };
}

/**
 * The linear-evaluation metrics of encoder g after `step` training steps: view 1 encoded
 * and min-max scaled once, then every protocol of cfg.linear_eval_protocols fitted on
 * those same codes (`step` seeds the notebook's saga draws).
 */
export async function linearEvalMetrics(
  g: (x: tf.Tensor2D) => tf.Tensor2D,
  e: MnistEvalData,
  cfg: TrialConfig,
  step: number,
  timing?: EvalTiming,
): Promise<Record<string, number>> {
  const { train, test } = await timed(timing, 'encode', () => encodeSplits(g, e));
  // The codes are this evaluation's own: scaled in place, read by every protocol.
  minMaxScale(train, test);
  const out: Record<string, number> = {};
  for (const name of cfg.linear_eval_protocols) {
    const prefix = PROTOCOLS[name].prefix;
    Object.assign(out, await timed(timing, prefix, () => runProtocol(name, train, test, cfg, step)));
  }
  return out;
}
