// Multinomial logistic regression fitted by SAGA as scikit-learn fits it on dense input
// (LogisticRegression(solver='saga'), sklearn/linear_model/_sag.py and _sag_fast.pyx.tp,
// read at scikit-learn 1.9.1): the authors' notebook evaluated codes this way, with
// tol = 0.1, which stops after a few epochs, far from the optimum that the L-BFGS fit of
// ./linear.ts reaches. Same objective, step size, update order and stopping rule: fed
// sklearn's own index stream on float64 input, the weights agree with its to ~1e-14
// (test/unit/ml-eval-saga.test.ts). What differs: the index stream (our Rng, not
// sklearn's rand_r), the float width (float64 here; sklearn keeps float32 input in
// float32), and the classes (always 10 here; sklearn fits those the labels contain).
import { CLASSES } from '../data/mnist.js';
import { Rng } from '../rng.js';
import type { Codes } from './linear.js';

export interface SagaOptions {
  /** scikit-learn's C: minimise C * sum(cross-entropy) + 0.5 * ||W||^2. */
  c: number;
  /** scikit-learn's tol: max |w - w_prev| / max |w| at the end of an epoch. */
  tol: number;
  /** scikit-learn's max_iter: epochs, each of n_samples draws. */
  maxIter: number;
  /** Seeds the draws of sample indices; the fit is a function of the data and this. */
  seed: number;
  /**
   * Draws the next sample index in [0, n) instead of the seeded Rng: a test feeds
   * scikit-learn's own rand_r stream here to compare the two fits draw for draw.
   */
  draw?: () => number;
}

export interface SagaFit {
  /** Row-major features x classes, as sklearn's coef_.T. */
  weights: Float64Array;
  intercept: Float64Array;
  /** sklearn's n_iter_: epochs run, maxIter when the rule was never met. */
  epochs: number;
  /** Whether the stopping rule was met (in the last epoch counts: sklearn warns there, but the rule held). */
  converged: boolean;
}

export interface SagaResult {
  accuracy: number;
  trainAccuracy: number;
  epochs: number;
  converged: boolean;
  seconds: number;
}

/**
 * _sag.py get_auto_step_size for loss 'multinomial', fit_intercept, is_saga: the
 * Lipschitz constant of the log loss is a quarter of the largest squared row norm (the
 * intercept's column of ones adds 1), and SAGA takes 1 / (2L + min(2 n alpha, L)).
 */
export function sagaStepSize(maxSquaredSum: number, alphaScaled: number, n: number): number {
  const lipschitz = 0.25 * (maxSquaredSum + 1) + alphaScaled;
  const mun = Math.min(2 * n * alphaScaled, lipschitz);
  return 1 / (2 * lipschitz + mun);
}

/**
 * The whole solver state of _sag_fast's sag(). Its cumulative sums for lagged updates
 * are not needed: on dense input every feature is touched at every draw, so the averaged
 * step, step / (wscale * num_seen), is applied to every weight at once (sagaUpdate).
 */
interface SagaState {
  x: Float32Array;
  labels: Uint8Array;
  d: number;
  step: number;
  /** 1 - step * alpha: the L2 term as a shrinking scale rather than a pass over w. */
  wscaleUpdate: number;
  /** Scaled weights: the model's are wscale * w (sklearn's weights/wscale pair). */
  w: Float64Array;
  wscale: number;
  /** Sum over samples of their remembered gradients times x (sum_gradient). */
  sumGradient: Float64Array;
  /** Each sample's last gradient on the logits (gradient_memory), zero until seen. */
  memory: Float64Array;
  intercept: Float64Array;
  interceptSumGradient: Float64Array;
  seen: Uint8Array;
  numSeen: number;
  /** Scratch for one sample's logits, gradient, and gradient minus its remembered one. */
  logits: Float64Array;
  gradient: Float64Array;
  delta: Float64Array;
}

/**
 * One draw of sample i: the body of sag()'s inner loop, in its order. Written for speed
 * (it is most of the notebook protocol's time) without changing a single rounding: the
 * ten classes are unrolled into locals, and the averaged step that sklearn applies just in
 * time at the next draw (lagged_update) is applied at the end of this one instead, in the
 * same pass as the correction. Per weight that is the same operations in the same order
 * (w - correction * scale, then - pending * sum_gradient), so the fit is bit for bit the
 * one of sklearn's loop order (test/unit/ml-eval-saga.test.ts).
 */
function sagaDraw(s: SagaState, i: number): void {
  if (CLASSES !== 10) throw new Error('sagaDraw is unrolled for 10 classes');
  const { x, d, w, sumGradient, logits, gradient, memory, delta } = s;
  if (!s.seen[i]) {
    s.seen[i] = 1;
    s.numSeen++;
  }
  const row = i * d;
  let l0 = 0,
    l1 = 0,
    l2 = 0,
    l3 = 0,
    l4 = 0,
    l5 = 0,
    l6 = 0,
    l7 = 0,
    l8 = 0,
    l9 = 0;
  for (let j = 0; j < d; j++) {
    const xj = x[row + j];
    if (xj === 0) continue;
    const o = j * 10;
    l0 += w[o] * xj;
    l1 += w[o + 1] * xj;
    l2 += w[o + 2] * xj;
    l3 += w[o + 3] * xj;
    l4 += w[o + 4] * xj;
    l5 += w[o + 5] * xj;
    l6 += w[o + 6] * xj;
    l7 += w[o + 7] * xj;
    l8 += w[o + 8] * xj;
    l9 += w[o + 9] * xj;
  }
  logits[0] = l0;
  logits[1] = l1;
  logits[2] = l2;
  logits[3] = l3;
  logits[4] = l4;
  logits[5] = l5;
  logits[6] = l6;
  logits[7] = l7;
  logits[8] = l8;
  logits[9] = l9;
  // CyHalfMultinomialLoss.cy_gradient: softmax (max subtracted) minus the one-hot label.
  let max = -Infinity;
  for (let k = 0; k < 10; k++) {
    logits[k] = s.wscale * logits[k] + s.intercept[k];
    if (logits[k] > max) max = logits[k];
  }
  let sum = 0;
  for (let k = 0; k < 10; k++) sum += gradient[k] = Math.exp(logits[k] - max);
  for (let k = 0; k < 10; k++) gradient[k] = gradient[k] / sum - (k === s.labels[i] ? 1 : 0);
  s.wscale *= s.wscaleUpdate;
  for (let k = 0; k < 10; k++) {
    delta[k] = gradient[k] - memory[i * 10 + k];
    memory[i * 10 + k] = gradient[k];
  }
  sagaIntercept(s);
  const scale = (s.step * (1 - 1 / s.numSeen)) / s.wscale;
  const p = s.step / (s.wscale * s.numSeen);
  sagaUpdate(w, sumGradient, x, row, d, delta, scale, p);
  // sklearn's mid-epoch reset; with step <= 2 it needs over 10 C n draws, so not at C = 10.
  if (s.wscale < 1e-9) rescale(s);
}

/**
 * SAGA's correction (the new gradient minus the remembered one, times x) into w and the
 * gradient sum, then the averaged step p * sum_gradient over every weight. A zero pixel
 * takes no correction: skipped, same numbers.
 */
function sagaUpdate(
  w: Float64Array,
  sg: Float64Array,
  x: Float32Array,
  row: number,
  d: number,
  delta: Float64Array,
  scale: number,
  p: number,
): void {
  const [d0, d1, d2, d3, d4, d5, d6, d7, d8, d9] = delta;
  for (let j = 0; j < d; j++) {
    const xj = x[row + j];
    const o = j * 10;
    if (xj !== 0) {
      let c = xj * d0;
      w[o] -= c * scale;
      sg[o] += c;
      c = xj * d1;
      w[o + 1] -= c * scale;
      sg[o + 1] += c;
      c = xj * d2;
      w[o + 2] -= c * scale;
      sg[o + 2] += c;
      c = xj * d3;
      w[o + 3] -= c * scale;
      sg[o + 3] += c;
      c = xj * d4;
      w[o + 4] -= c * scale;
      sg[o + 4] += c;
      c = xj * d5;
      w[o + 5] -= c * scale;
      sg[o + 5] += c;
      c = xj * d6;
      w[o + 6] -= c * scale;
      sg[o + 6] += c;
      c = xj * d7;
      w[o + 7] -= c * scale;
      sg[o + 7] += c;
      c = xj * d8;
      w[o + 8] -= c * scale;
      sg[o + 8] += c;
      c = xj * d9;
      w[o + 9] -= c * scale;
      sg[o + 9] += c;
    }
    w[o] -= p * sg[o];
    w[o + 1] -= p * sg[o + 1];
    w[o + 2] -= p * sg[o + 2];
    w[o + 3] -= p * sg[o + 3];
    w[o + 4] -= p * sg[o + 4];
    w[o + 5] -= p * sg[o + 5];
    w[o + 6] -= p * sg[o + 6];
    w[o + 7] -= p * sg[o + 7];
    w[o + 8] -= p * sg[o + 8];
    w[o + 9] -= p * sg[o + 9];
  }
}

/** The intercept: plain SAGA on the logits' gradient, intercept_decay 1.0 (dense input). */
function sagaIntercept(s: SagaState): void {
  const INTERCEPT_DECAY = 1.0;
  for (let k = 0; k < CLASSES; k++) {
    let correction = s.delta[k];
    s.interceptSumGradient[k] += correction;
    correction *= s.step * (1 - 1 / s.numSeen);
    s.intercept[k] -= ((s.step * s.interceptSumGradient[k]) / s.numSeen) * INTERCEPT_DECAY + correction;
    if (!Number.isFinite(s.intercept[k])) throw new SagaOverflowError();
  }
}

/** scale_weights: fold wscale into w (the averaged step is already in), start again at scale 1. */
function rescale(s: SagaState): void {
  const { w } = s;
  for (let idx = 0; idx < w.length; idx++) {
    w[idx] *= s.wscale;
    if (!Number.isFinite(w[idx])) throw new SagaOverflowError();
  }
  s.wscale = 1;
}

export class SagaOverflowError extends Error {
  override name = 'SagaOverflowError';
  constructor() {
    // sklearn's own words for its status -1.
    super('Floating-point under-/overflow in the SAGA fit. Scaling input data with MinMaxScaler might help.');
  }
}

/**
 * sag()'s stopping rule, once per epoch after the rescale, over the weights only (not
 * the intercept): max |w - w_prev| / max |w| <= tol, or nothing moved from zero.
 */
function epochConverged(w: Float64Array, previous: Float64Array, tol: number): boolean {
  let maxWeight = 0;
  let maxChange = 0;
  for (let idx = 0; idx < w.length; idx++) {
    maxWeight = Math.max(maxWeight, Math.abs(w[idx]));
    maxChange = Math.max(maxChange, Math.abs(w[idx] - previous[idx]));
    previous[idx] = w[idx];
  }
  return (maxWeight !== 0 && maxChange / maxWeight <= tol) || (maxWeight === 0 && maxChange === 0);
}

/** Largest squared row norm (row_norms(X, squared=True).max()): it sets the step size. */
function maxSquaredRowNorm(x: Float32Array, n: number, d: number): number {
  let best = 0;
  for (let i = 0; i < n; i++) {
    let sq = 0;
    for (let j = 0; j < d; j++) sq += x[i * d + j] * x[i * d + j];
    best = Math.max(best, sq);
  }
  return best;
}

/** Fits on codes as given (scale them first: ./linear.ts minMaxScale), labels 0..9. */
export function sagaFit(codes: Codes, opts: SagaOptions): SagaFit {
  const { n, dim: d } = codes;
  if (n < 1) throw new Error('SAGA needs at least one training code');
  // LogisticRegression passes alpha = 1 / C; sag_solver scales it by 1 / n_samples.
  const alphaScaled = 1 / opts.c / n;
  const step = sagaStepSize(maxSquaredRowNorm(codes.values, n, d), alphaScaled, n);
  if (step * alphaScaled === 1) throw new Error('SAGA cannot run with step_size * alpha_scaled == 1 (as sklearn)');
  const s: SagaState = {
    x: codes.values,
    labels: codes.labels,
    d,
    step,
    wscaleUpdate: 1 - step * alphaScaled,
    w: new Float64Array(d * CLASSES),
    wscale: 1,
    sumGradient: new Float64Array(d * CLASSES),
    memory: new Float64Array(n * CLASSES),
    intercept: new Float64Array(CLASSES),
    interceptSumGradient: new Float64Array(CLASSES),
    seen: new Uint8Array(n),
    numSeen: 0,
    logits: new Float64Array(CLASSES),
    gradient: new Float64Array(CLASSES),
    delta: new Float64Array(CLASSES),
  };
  const rng = new Rng(opts.seed, 0);
  const draw = opts.draw ?? (() => rng.int(n));
  const previous = new Float64Array(d * CLASSES);
  for (let epoch = 1; epoch <= opts.maxIter; epoch++) {
    // ArrayDataset.random: indices drawn with replacement, n_samples per epoch.
    for (let t = 0; t < n; t++) sagaDraw(s, draw());
    rescale(s);
    if (epochConverged(s.w, previous, opts.tol))
      return { weights: s.w, intercept: s.intercept, epochs: epoch, converged: true };
  }
  return { weights: s.w, intercept: s.intercept, epochs: opts.maxIter, converged: false };
}

/** Share of codes whose largest logit is their label's (ties: the first class, as argmax). */
export function sagaAccuracy(fit: SagaFit, codes: Codes): number {
  const K = CLASSES;
  const d = codes.dim;
  const logits = new Float64Array(K);
  let correct = 0;
  for (let i = 0; i < codes.n; i++) {
    logits.set(fit.intercept);
    for (let j = 0; j < d; j++) {
      const xj = codes.values[i * d + j];
      if (xj !== 0) for (let k = 0; k < K; k++) logits[k] += xj * fit.weights[j * K + k];
    }
    let best = 0;
    for (let k = 1; k < K; k++) if (logits[k] > logits[best]) best = k;
    if (best === codes.labels[i]) correct++;
  }
  return correct / codes.n;
}

/** The fit on scaled training codes, scored on both splits. */
export function sagaEvaluation(train: Codes, test: Codes, opts: SagaOptions): SagaResult {
  const t0 = performance.now();
  if (train.dim !== test.dim) throw new Error(`train codes have ${train.dim} features, test codes ${test.dim}`);
  const fit = sagaFit(train, opts);
  return {
    accuracy: sagaAccuracy(fit, test),
    trainAccuracy: sagaAccuracy(fit, train),
    epochs: fit.epochs,
    converged: fit.converged,
    seconds: (performance.now() - t0) / 1000,
  };
}
