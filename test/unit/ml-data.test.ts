import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  loadMnist,
  extractView,
  parseIdxImages,
  parseIdxLabels,
  MnistDataError,
  defaultMnistDir,
  VIEW_PIXELS,
} from '../../ml/data/mnist.js';
import { MnistPairSource, GaussianPairSource, gaussianTrueMi, addSharedNoise } from '../../ml/data/pairs.js';
import { Rng } from '../../ml/rng.js';
import { mnistEvalData } from '../../ml/eval-data.js';
import { parseTrialConfig } from '../../ml/config.js';

/**
 * Asserts that both noisy views are their clean views plus one and the same noise tensor
 * (to float32 rounding of the sums), of standard deviation near `std`, drawn afresh for
 * every entry rather than repeated across rows.
 */
function assertSharedNoise(
  noisy: { x: Float32Array; y: Float32Array },
  clean: { x: Float32Array; y: Float32Array },
  std: number,
): void {
  assert.equal(noisy.x.length, noisy.y.length);
  let worst = 0;
  let sq = 0;
  for (let i = 0; i < noisy.x.length; i++) {
    const ex = noisy.x[i] - clean.x[i];
    const ey = noisy.y[i] - clean.y[i];
    worst = Math.max(worst, Math.abs(ex - ey));
    sq += ex * ex;
  }
  assert.ok(worst < 1e-6, `the two views' noise differs by up to ${worst}`);
  const sd = Math.sqrt(sq / noisy.x.length);
  assert.ok(Math.abs(sd - std) < 0.1 * std, `noise sd ${sd}, expected ${std}`);
  const d = VIEW_PIXELS;
  const row = (a: Float32Array, b: Float32Array, r: number) =>
    Array.from(a.subarray(r * d, (r + 1) * d), (v, j) => v - b[r * d + j]);
  assert.notDeepEqual(row(noisy.x, clean.x, 0), row(noisy.x, clean.x, 1), 'one noise row repeated for every image');
}

test('MNIST loads 60,000 train and 10,000 test images in [0, 1] with labels 0-9', () => {
  const m = loadMnist();
  assert.equal(m.train.n, 60_000);
  assert.equal(m.test.n, 10_000);
  assert.equal(m.train.images.length, 60_000 * 784);
  let max = 0;
  for (const v of m.test.images) max = Math.max(max, v);
  assert.equal(max, 1);
  const counts = new Array(10).fill(0);
  for (const l of m.train.labels) counts[l]++;
  assert.ok(
    counts.every((c) => c > 5000),
    `class counts ${counts}`,
  );
});

test('views are the top and bottom 392 pixels of each image', () => {
  const m = loadMnist();
  const top = extractView(m.test, 'top');
  const bottom = extractView(m.test, 'bottom');
  assert.equal(top.length, 10_000 * VIEW_PIXELS);
  const i = 7;
  assert.deepEqual(
    Array.from(top.subarray(i * 392, i * 392 + 392)),
    Array.from(m.test.images.subarray(i * 784, i * 784 + 392)),
  );
  assert.deepEqual(
    Array.from(bottom.subarray(i * 392, i * 392 + 392)),
    Array.from(m.test.images.subarray(i * 784 + 392, i * 784 + 784)),
  );
});

test('truncated, corrupt or missing IDX files give a clear error', () => {
  const dir = defaultMnistDir();
  const labels = fs.readFileSync(path.join(dir, 't10k-labels-idx1-ubyte'));
  assert.throws(() => parseIdxLabels(labels.subarray(0, 100), 10_000, 'x'), /truncated or corrupt/);
  const bad = Buffer.from(labels);
  bad.writeUInt32BE(0x00000803, 0);
  assert.throws(() => parseIdxLabels(bad, 10_000, 'x'), /bad header/);
  const images = fs.readFileSync(path.join(dir, 't10k-images-idx3-ubyte'));
  assert.throws(() => parseIdxImages(images.subarray(0, images.length - 1), 10_000, 'x'), /truncated or corrupt/);
  assert.throws(() => parseIdxImages(images, 60_000, 'x'), /expected 60000/);
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'mirl-mnist-'));
  assert.throws(
    () => loadMnist(empty),
    (e: unknown) => e instanceof MnistDataError && /MNIST file missing/.test(e.message),
  );
});

test('the generator restores its exact stream from its state', () => {
  const a = new Rng(42);
  for (let i = 0; i < 5; i++) a.normal();
  const b = Rng.fromState(a.state());
  const xs = Array.from({ length: 10 }, () => a.normal());
  const ys = Array.from({ length: 10 }, () => b.normal());
  assert.deepEqual(xs, ys);
  assert.notDeepEqual(Array.from(new Rng(1).permutation(20)), Array.from(new Rng(2).permutation(20)));
});

test('seeded pair batches of any size repeat exactly and resume from their state', () => {
  const s1 = MnistPairSource.train('top', 'bottom', 0.05, 3);
  const s2 = MnistPairSource.train('top', 'bottom', 0.05, 3);
  assert.deepEqual(s1.next(37).x, s2.next(37).x);
  // Cross an epoch boundary with an odd batch size, then check a restored copy agrees.
  for (let i = 0; i < 3; i++) s1.next(25_000);
  const saved = JSON.parse(JSON.stringify(s1.state()));
  const after = s1.next(128);
  const s3 = MnistPairSource.train('top', 'bottom', 0.05, 99);
  s3.restore(saved);
  const again = s3.next(128);
  assert.deepEqual(again.x, after.x);
  assert.deepEqual(again.y, after.y);
  assert.deepEqual(again.labels, after.labels);
});

test('a noisy training batch adds one noise tensor to both views, as the notebook', () => {
  const clean = MnistPairSource.train('top', 'bottom', 0, 11).next(64);
  const noisy = MnistPairSource.train('top', 'bottom', 0.05, 11).next(64);
  assert.deepEqual(noisy.labels, clean.labels, 'noise must not change the data order');
  assertSharedNoise(noisy, clean, 0.05);
});

test('the I_EST test pairs share their noise between views like the training batches', () => {
  const sizes = { linear_eval_train_size: 100, linear_eval_test_size: 256, seed: 4 };
  const clean = mnistEvalData(parseTrialConfig({ ...sizes, noise: 0 }));
  const noisy = mnistEvalData(parseTrialConfig({ ...sizes, noise: 0.05 }));
  assertSharedNoise({ x: noisy.testX, y: noisy.testY }, { x: clean.testX, y: clean.testY }, 0.05);
});

test('shared noise refuses views of different shapes', () => {
  assert.throws(() => addSharedNoise(new Float32Array(4), new Float32Array(3), 0.1, new Rng(0)), /one shape/);
});

test('the Gaussian study: true MI and shared Z within a non-i.i.d. batch', () => {
  // Summed covariance [[2, 0.4], [0.4, 2]]: rho = 0.2.
  assert.ok(Math.abs(gaussianTrueMi() - -0.5 * Math.log(1 - 0.04)) < 1e-12);
  const iid = new GaussianPairSource(false, 0);
  const n = 200_000;
  const b = iid.next(n);
  let sxy = 0,
    sxx = 0,
    syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += b.x[i] * b.y[i];
    sxx += b.x[i] ** 2;
    syy += b.y[i] ** 2;
  }
  assert.ok(Math.abs(sxx / n - 2) < 0.05 && Math.abs(syy / n - 2) < 0.05, `variances ${sxx / n} ${syy / n}`);
  assert.ok(Math.abs(sxy / n - 0.4) < 0.05, `covariance ${sxy / n}`);
  // Within one non-i.i.d. batch, x - E[x | Z] has the eps variance only (1, not 2).
  const dep = new GaussianPairSource(true, 0).next(50_000);
  const mx = dep.x.reduce((a, v) => a + v, 0) / dep.rows;
  const vx = dep.x.reduce((a, v) => a + (v - mx) ** 2, 0) / dep.rows;
  assert.ok(Math.abs(vx - 1) < 0.05, `within-batch variance ${vx}`);
});
