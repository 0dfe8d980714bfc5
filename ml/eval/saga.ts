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

/** The whole solver state of _sag_fast's sag(); `pending` stands in for its cumulative sums. */
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
  /**
   * The averaged-gradient step of the last draw, not yet applied to w: sklearn applies it
   * just in time, at the next draw (lagged_update) or when rescaling (scale_weights).
   * On dense input every feature is touched at every draw, so its cumulative sums reduce
   * to this one coefficient, step / (wscale * num_seen) of the draw before.
   */
  pending: number;
  /** Scratch for one sample's logits, gradient, and gradient minus its remembered one. */
  logits: Float64Array;
  gradient: Float64Array;
  delta: Float64Array;
}

/** One draw of sample i: the body of sag()'s inner loop, in its order. */
function sagaDraw(s: SagaState, i: number): void {
  const K = CLASSES;
  const { x, d, w, sumGradient, logits, gradient } = s;
  if (!s.seen[i]) {
    s.seen[i] = 1;
    s.numSeen++;
  }
  // lagged_update (the previous draw's averaged step), fused with predict_sample.
  const p = s.pending;
  const row = i * d;
  logits.fill(0);
  for (let j = 0; j < d; j++) {
    const xj = x[row + j];
    const o = j * K;
    if (p !== 0) for (let k = 0; k < K; k++) w[o + k] -= p * sumGradient[o + k];
    if (xj !== 0) for (let k = 0; k < K; k++) logits[k] += w[o + k] * xj;
  }
  s.pending = 0;
  // CyHalfMultinomialLoss.cy_gradient: softmax (max subtracted) minus the one-hot label.
  let max = -Infinity;
  for (let k = 0; k < K; k++) {
    logits[k] = s.wscale * logits[k] + s.intercept[k];
    if (logits[k] > max) max = logits[k];
  }
  let sum = 0;
  for (let k = 0; k < K; k++) sum += gradient[k] = Math.exp(logits[k] - max);
  for (let k = 0; k < K; k++) gradient[k] = gradient[k] / sum - (k === s.labels[i] ? 1 : 0);
  s.wscale *= s.wscaleUpdate;
  // SAGA's correction (the new gradient minus the remembered one) goes into w now; the
  // average part waits in `pending`. A zero pixel changes nothing: skipped, same numbers.
  const { memory, delta } = s;
  for (let k = 0; k < K; k++) {
    delta[k] = gradient[k] - memory[i * K + k];
    memory[i * K + k] = gradient[k];
  }
  const scale = (s.step * (1 - 1 / s.numSeen)) / s.wscale;
  for (let j = 0; j < d; j++) {
    const xj = x[row + j];
    if (xj === 0) continue;
    const o = j * K;
    for (let k = 0; k < K; k++) {
      const correction = xj * delta[k];
      w[o + k] -= correction * scale;
      sumGradient[o + k] += correction;
    }
  }
  sagaIntercept(s);
  s.pending = s.step / (s.wscale * s.numSeen);
  // sklearn's mid-epoch reset; with step <= 2 it needs over 10 C n draws, so not at C = 10.
  if (s.wscale < 1e-9) rescale(s);
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

/** scale_weights: apply the waiting step, fold wscale into w, start again at scale 1. */
function rescale(s: SagaState): void {
  const { w, sumGradient } = s;
  for (let idx = 0; idx < w.length; idx++) {
    w[idx] -= s.pending * sumGradient[idx];
    w[idx] *= s.wscale;
    if (!Number.isFinite(w[idx])) throw new SagaOverflowError();
  }
  s.pending = 0;
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
    pending: 0,
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
