import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Matrix, QrDecomposition } from 'ml-matrix';
import { useTestBackend } from '../support/tf.js';
import {
  jacobians,
  singularValues,
  logConditionNumber,
  conditionPercentiles,
  extremeSingularValues,
  jacobianLogCondition,
  jacobianConditionMetrics,
} from '../../ml/eval/jacobian.js';
import { largestEigenvalue } from '../../ml/eval/lanczos.js';
import { floorIndexPercentile, percentile } from '../../ml/eval/stats.js';
import { lbfgs, stopRuleMet } from '../../ml/eval/lbfgs.js';
import { centredOnTrainingMean, fitAndScore, linearEvaluation, minMaxScale, type Codes } from '../../ml/eval/linear.js';
import { parseTrialConfig } from '../../ml/config.js';
import { Rng } from '../../ml/rng.js';

before(async () => {
  await useTestBackend();
});

function orthogonal(n: number, r: Rng): Matrix {
  const a = new Matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a.set(i, j, r.normal());
  return new QrDecomposition(a).orthogonalMatrix;
}

test('singular values of a matrix built as U diag(s) V^T are recovered', () => {
  const r = new Rng(1);
  const n = 30;
  const s = Array.from({ length: n }, (_, i) => Math.exp(-i / 3));
  const m = orthogonal(n, r).mmul(Matrix.diag(s)).mmul(orthogonal(n, r).transpose());
  const sv = singularValues(Float32Array.from(m.to1DArray()), n, n).sort((a, b) => b - a);
  for (let i = 0; i < n; i++)
    assert.ok(Math.abs(sv[i] - s[i]) < 1e-5 * Math.max(1, s[i]) + 1e-6, `sigma_${i}: ${sv[i]} vs ${s[i]}`);
  assert.ok(Math.abs(logConditionNumber(sv) - (n - 1) / 3) < 1e-2);
});

test('extreme singular values of a signed permuted diagonal with condition number 2^24 are exact', () => {
  // Powers of two and a signed permutation are exact in float32, so the answer is known exactly.
  const r = new Rng(4);
  const n = 50;
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r.uniform() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + perm[i]] = (r.uniform() < 0.5 ? -1 : 1) * 2 ** ((-24 * i) / (n - 1));
  const e = extremeSingularValues(m, n);
  assert.ok(Math.abs(e.max - 1) < 1e-12, `sigma_max ${e.max}`);
  assert.ok(Math.abs(e.min / 2 ** -24 - 1) < 1e-9, `sigma_min ${e.min}`);
  assert.ok(Math.abs(jacobianLogCondition(m, n, n) - 24 * Math.LN2) < 1e-9);
});

test('extreme singular values of a dense matrix with condition number 1e6 agree with the full SVD', () => {
  const r = new Rng(5);
  const n = 80;
  const s = Array.from({ length: n }, (_, i) => 10 ** ((-6 * i) / (n - 1)));
  const m = Float32Array.from(orthogonal(n, r).mmul(Matrix.diag(s)).mmul(orthogonal(n, r).transpose()).to1DArray());
  // Float32 rounding moves sigma_min of the stored matrix: the SVD of that same matrix is the reference.
  const sv = singularValues(m, n, n);
  const e = extremeSingularValues(m, n);
  assert.ok(Math.abs(e.max / Math.max(...sv) - 1) < 1e-10, `sigma_max ${e.max} vs ${Math.max(...sv)}`);
  assert.ok(Math.abs(e.min / Math.min(...sv) - 1) < 1e-7, `sigma_min ${e.min} vs ${Math.min(...sv)}`);
  assert.ok(Math.abs(jacobianLogCondition(m, n, n) - logConditionNumber(sv)) < 1e-7);
  assert.ok(logConditionNumber(sv) > 13);
});

test('a singular Jacobian has infinite log condition number; rectangular ones use the full SVD', () => {
  const n = 6;
  const m = Float32Array.from({ length: n * n }, (_, i) => (i < n ? 0 : Math.sin(i)));
  assert.equal(jacobianLogCondition(m, n, n), Infinity);
  const r = new Rng(6);
  const rect = Float32Array.from({ length: 4 * 9 }, () => r.normal());
  assert.equal(jacobianLogCondition(rect, 4, 9), logConditionNumber(singularValues(rect, 4, 9)));
});

test('Lanczos finds the largest eigenvalue of a diagonal operator', () => {
  const d = Float64Array.from({ length: 100 }, (_, i) => 1 + i * 0.01);
  d[37] = 5;
  const res = largestEigenvalue((v, out) => v.forEach((x, i) => (out[i] = d[i] * x)), 100);
  assert.ok(Math.abs(res.value - 5) < 1e-9, `${res.value}`);
});

test('batched Jacobians of a nonlinear map match the analytic Jacobian', async () => {
  const r = new Rng(2);
  const d = 6;
  const a = tf.tensor2d(
    Array.from({ length: d * 4 }, () => r.normal()),
    [d, 4],
  );
  const g = (x: tf.Tensor2D) => tf.tanh(tf.matMul(x, a)) as tf.Tensor2D;
  const inputs = Float32Array.from({ length: 3 * d }, () => r.normal());
  const js = await jacobians(g, inputs, 3, d, 4, 2);
  assert.equal(js.length, 3);
  const av = a.arraySync();
  for (let i = 0; i < 3; i++) {
    const x = Array.from(inputs.subarray(i * d, (i + 1) * d));
    for (let k = 0; k < 4; k++) {
      const pre = x.reduce((acc, v, j) => acc + v * av[j][k], 0);
      const dt = 1 - Math.tanh(pre) ** 2;
      for (let j = 0; j < d; j++) assert.ok(Math.abs(js[i][k * d + j] - dt * av[j][k]) < 1e-5);
    }
  }
});

test('percentile interpolates like numpy (timings); the floor-index rule never does', () => {
  assert.equal(percentile([1, 2, 3, 4, 5], 20), 1.8);
  // Six values: p * (n - 1) = 1, 2, 3, 4 at 20..80, so both rules agree only there.
  const six = [60, 10, 50, 20, 40, 30];
  assert.deepEqual(
    [0, 20, 40, 60, 80, 100].map((q) => floorIndexPercentile(six, q)),
    [10, 20, 30, 40, 50, 60],
  );
  // Eight values: p * 7 = 1.4, 2.8, 4.2, 5.6 -> indices 1, 2, 4, 5 (rounding 2.8 would give 3).
  const eight = [7, 0, 6, 1, 5, 2, 4, 3].map((v) => v * 1.5);
  assert.deepEqual(
    [0, 20, 40, 60, 80, 100].map((q) => floorIndexPercentile(eight, q)),
    [0, 1.5, 3, 6, 7.5, 10.5],
  );
  assert.ok(Number.isNaN(floorIndexPercentile([], 50)));
});

test('condition-number percentiles take the sorted value at floor(p * (n - 1)), as the notebook', () => {
  // 128 inputs, as in a training batch: p * 127 = 25.4, 50.8, 76.2, 101.6.
  const logConds = Array.from({ length: 128 }, (_, i) => (i * 37) % 128);
  const p = conditionPercentiles(logConds);
  assert.deepEqual(Object.keys(p), [
    'log_condition_number_p0',
    'log_condition_number_p20',
    'log_condition_number_p40',
    'log_condition_number_p60',
    'log_condition_number_p80',
    'log_condition_number_p100',
  ]);
  assert.deepEqual(Object.values(p), [0, 25, 50, 76, 101, 127]);
  // Interpolation would have given 25.4, 50.8, 76.2 and 101.6.
  assert.notEqual(p.log_condition_number_p40, percentile(logConds, 40));
});

test('the Jacobian evaluation conditions g at exactly the inputs it is given', async () => {
  // g(x) = x * x has J = diag(2x): row [1, e^r] has log condition number r.
  const g = (x: tf.Tensor2D) => tf.mul(x, x) as tf.Tensor2D;
  const rs = [3, 0, 5, 1, 4, 2];
  const inputs = Float32Array.from(rs.flatMap((r) => [1, Math.exp(r)]));
  const p = await jacobianConditionMetrics(g, inputs, rs.length, 2, 2);
  Object.values(p).forEach((v, i) => assert.ok(Math.abs(v - i) < 1e-5, `p${20 * i} = ${v}`));
  // Only the first n rows count: rows with r = 3, 0, 5.
  const first = await jacobianConditionMetrics(g, inputs, 3, 2, 2);
  assert.ok(
    Math.abs(first.log_condition_number_p0) < 1e-5 && Math.abs(first.log_condition_number_p100 - 5) < 1e-5,
    JSON.stringify(first),
  );
});

test('L-BFGS finds the minimum of an ill-conditioned quadratic', async () => {
  const scales = [1, 10, 100, 1000];
  const target = [1, -2, 3, 0.5];
  const res = await lbfgs(
    async (t) => ({
      value: t.reduce((a, v, i) => a + 0.5 * scales[i] * (v - target[i]) ** 2, 0),
      grad: t.map((v, i) => scales[i] * (v - target[i])),
    }),
    new Float64Array(4),
    { maxIter: 200, stop: { window: 1, tol: 1e-15 } },
  );
  assert.ok(res.converged);
  assert.equal(res.stopped, 'tolerance');
  res.theta.forEach((v, i) => assert.ok(Math.abs(v - target[i]) < 1e-6));
});

test('min-max scaling uses the training ranges and maps constant features to 0', () => {
  const train = { values: Float32Array.from([0, 5, 2, 5, 4, 5]), labels: new Uint8Array(3), n: 3, dim: 2 };
  const test = { values: Float32Array.from([6, 7]), labels: new Uint8Array(1), n: 1, dim: 2 };
  minMaxScale(train, test);
  assert.deepEqual(Array.from(train.values), [0, 0, 0.5, 0, 1, 0]);
  assert.deepEqual(Array.from(test.values), [1.5, 0]);
});

/** n codes of 12 features in 10 classes: class k lifts feature k by 3 when informative, else pure noise. */
function blobs(r: Rng, n: number, informative: boolean): Codes {
  const labels = Uint8Array.from({ length: n }, () => r.int(10));
  const values = new Float32Array(n * 12);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 12; j++) values[i * 12 + j] = r.normal() * 0.3 + (informative && j === labels[i] ? 3 : 0);
  }
  return { values, labels, n, dim: 12 };
}

test('linear evaluation separates linearly separable classes and fails on noise', async () => {
  const r = new Rng(3);
  const good = await linearEvaluation(blobs(r, 2000, true), blobs(r, 500, true), { c: 10, maxIter: 200 });
  assert.ok(good.accuracy > 0.97, `accuracy ${good.accuracy}`);
  const bad = await linearEvaluation(blobs(r, 2000, false), blobs(r, 500, false), { c: 10, maxIter: 200 });
  assert.ok(bad.accuracy < 0.2, `accuracy on noise ${bad.accuracy}`);
});

test('the stop rule compares the decrease over its window, relative to max(|f|, 1)', () => {
  const rule = { window: 2, tol: 1e-3 };
  assert.equal(stopRuleMet([5, 4], rule), false, 'fewer iterations than the window');
  assert.equal(stopRuleMet([5, 4, 3.999], rule), false, 'a small last step after a large one');
  assert.equal(stopRuleMet([4, 3.999, 3.998], rule), true);
  // Below 1 the decrease counts in absolute terms: 7.5e-4 per iteration (relative: 0.09).
  assert.equal(stopRuleMet([0.01, 0.009, 0.0085], rule), true);
  assert.equal(stopRuleMet([0.01, 0.005, 0], rule), false);
});

test('linear evaluation reports converged only when its stopping rule is met within the budget', async () => {
  const r = new Rng(5);
  const train = blobs(r, 2000, true);
  const test = blobs(r, 500, true);
  const budget = parseTrialConfig({}).linear_eval_max_iter;
  const easy = await linearEvaluation(train, test, { c: 10, maxIter: budget });
  assert.equal(easy.converged, true, `stopped by ${easy.stopped} after ${easy.iterations} iterations`);
  assert.equal(easy.stopped, 'tolerance');
  assert.ok(easy.iterations < budget && easy.accuracy > 0.97, JSON.stringify(easy));
  const cut = await linearEvaluation(train, test, { c: 10, maxIter: 3 });
  assert.deepEqual([cut.converged, cut.stopped, cut.iterations], [false, 'budget', 3]);
});

test('the converged fit is blind to a shared offset: it fits codes centred on the training mean', async () => {
  const r = new Rng(7);
  const train = blobs(r, 2000, true);
  const test = blobs(r, 500, true);
  const shifted = (c: Codes): Codes => ({ ...c, values: c.values.map((v) => v + 4) });
  const centred = centredOnTrainingMean(train, test);
  const mean = (v: Float32Array) => v.reduce((s, x) => s + x, 0) / v.length;
  assert.ok(Math.abs(mean(centred.train)) < 1e-5, `training mean after centring ${mean(centred.train)}`);
  const opts = { c: 10, maxIter: 500 };
  const plain = await fitAndScore(train, test, opts);
  // Uncentred, an offset of 4 on every feature couples W with b and changes L-BFGS's path;
  // centred, both fits see the same codes up to float32 rounding of the offset.
  const offset = await fitAndScore(shifted(train), shifted(test), opts);
  assert.equal(plain.converged && offset.converged, true);
  assert.ok(
    Math.abs(plain.iterations - offset.iterations) <= 2,
    `${plain.iterations} vs ${offset.iterations} iterations`,
  );
  assert.ok(Math.abs(plain.accuracy - offset.accuracy) <= 0.002, `${plain.accuracy} vs ${offset.accuracy}`);
});
