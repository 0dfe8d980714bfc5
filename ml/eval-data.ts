// The fixed inputs every evaluation of a trial uses: test pairs, training view-1 inputs
// for linear evaluation, with their noise drawn once from generators of their own so that
// evaluating never disturbs the training streams (and resuming stays exact).
import type { TrialConfig } from './config.js';
import { loadMnist, extractView, VIEW_PIXELS } from './data/mnist.js';
import { addNoise } from './data/pairs.js';
import { Rng } from './rng.js';

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
  const train = subset(extractView(m.train, cfg.view1), m.train.labels, d, cfg.linear_eval_train_size, new Rng(cfg.seed, 12));
  // Same generator state for both views, so the two test subsets hold the same images.
  const test1 = subset(extractView(m.test, cfg.view1), m.test.labels, d, cfg.linear_eval_test_size, new Rng(cfg.seed, 13));
  const test2 = subset(extractView(m.test, cfg.view2), m.test.labels, d, cfg.linear_eval_test_size, new Rng(cfg.seed, 13));
  addNoise(train.x, cfg.noise, noise);
  addNoise(test1.x, cfg.noise, noise);
  addNoise(test2.x, cfg.noise, noise);
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
