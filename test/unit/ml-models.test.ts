import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend, toArray, maxAbsDiff } from '../support/tf.js';
import { infoNce, nwj, kPairLoss, objectiveLoss } from '../../ml/estimators.js';
import { buildCritic } from '../../ml/critics.js';
import { buildEncoder, type EncoderName } from '../../ml/encoders.js';
import { ParamStore } from '../../ml/params.js';
import { Rng } from '../../ml/rng.js';
import { parseTrialConfig } from '../../ml/config.js';
import { conv2dSameRewritten } from '../../ml/conv.js';

before(async () => {
  await useTestBackend();
});

function randomScores(k: number, seed: number): { t: tf.Tensor2D; s: number[][] } {
  const r = new Rng(seed);
  const s = Array.from({ length: k }, () => Array.from({ length: k }, () => 3 * r.normal()));
  return { t: tf.tensor2d(s), s };
}

function lse(xs: number[]): number {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
}

test('I_NCE matches its definition computed in plain JS', () => {
  const { t, s } = randomScores(16, 1);
  const k = s.length;
  const expected = Math.log(k) + s.reduce((a, row, i) => a + row[i] - lse(row), 0) / k;
  assert.ok(Math.abs(infoNce(t).dataSync()[0] - expected) < 1e-4);
  // Never above log K, whatever the scores.
  assert.ok(infoNce(tf.mul(t, 100) as tf.Tensor2D).dataSync()[0] <= Math.log(k) + 1e-4);
});

test('I_NWJ is 1 + mean(S_ii - 1) - exp(logmeanexp of the off-diagonal S - 1)', () => {
  const { t, s } = randomScores(12, 2);
  const k = s.length;
  const off: number[] = [];
  s.forEach((row, i) => row.forEach((v, j) => i !== j && off.push(v - 1)));
  const expected = 1 + s.reduce((a, row, i) => a + row[i] - 1, 0) / k - Math.exp(lse(off) - Math.log(k * (k - 1)));
  const got = nwj(t).dataSync()[0];
  assert.ok(Math.abs(got - expected) < 1e-4 * Math.max(1, Math.abs(expected)), `${got} vs ${expected}`);
});

test('log K - I_NCE equals the K-pair loss for a separable critic on the same scores', () => {
  const cfg = parseTrialConfig({ critic: 'separable' });
  const store = new ParamStore(new Rng(5));
  const critic = buildCritic('separable', store, 20, 20, cfg);
  const r = new Rng(6);
  const x = tf.tensor2d(
    Array.from({ length: 32 * 20 }, () => r.normal()),
    [32, 20],
  );
  const y = tf.tensor2d(
    Array.from({ length: 32 * 20 }, () => r.normal()),
    [32, 20],
  );
  const scores = critic.scores(x, y);
  const lhs = Math.log(32) - infoNce(scores).dataSync()[0];
  const rhs = kPairLoss(scores).dataSync()[0];
  assert.ok(Math.abs(lhs - rhs) < 1e-4, `${lhs} vs ${rhs}`);
  store.dispose();
});

test('objectives: maximize is -I, target is |I - t|', () => {
  const i = tf.scalar(1.5);
  assert.equal(objectiveLoss(i, 'maximize', null).dataSync()[0], -1.5);
  assert.equal(objectiveLoss(i, 'target', 4).dataSync()[0], 2.5);
  assert.throws(() => objectiveLoss(i, 'target', null), /target/);
});

test('unknown names are refused where the config is parsed, listing the valid ones', () => {
  const refused = (field: string, values: string[]) => (e: unknown) => {
    const issue = (e as { issues?: { path: unknown[]; values?: unknown[] }[] }).issues?.[0];
    return issue?.path[0] === field && JSON.stringify(issue.values) === JSON.stringify(values);
  };
  assert.throws(() => parseTrialConfig({ estimator: 'mine' }), refused('estimator', ['nce', 'nwj']));
  assert.throws(
    () => parseTrialConfig({ critic: 'deep' }),
    refused('critic', ['inner', 'bilinear', 'separable', 'concat']),
  );
  assert.throws(
    () => parseTrialConfig({ encoder: 'vit' }),
    refused('encoder', ['identity', 'mlp', 'mlp-shortcut', 'convnet', 'realnvp']),
  );
});

test('a critic whose shapes cannot meet says so', () => {
  const cfg = parseTrialConfig({});
  assert.throws(() => buildCritic('inner', new ParamStore(new Rng(0)), 100, 392, cfg), /equal size/);
});

test('the split concat critic equals phi([x_i, y_j]) built naively', () => {
  const cfg = parseTrialConfig({ critic: 'concat', critic_hidden: [7, 5] });
  const store = new ParamStore(new Rng(3));
  const critic = buildCritic('concat', store, 3, 4, cfg);
  const r = new Rng(4);
  const x = tf.tensor2d(
    Array.from({ length: 6 * 3 }, () => r.normal()),
    [6, 3],
  );
  const y = tf.tensor2d(
    Array.from({ length: 5 * 4 }, () => r.normal()),
    [5, 4],
  );
  const fast = toArray(critic.scores(x, y));
  // Naive: all 30 concatenated pairs through the same weights.
  const wx = store.get('critic/concat/first/kernel_x');
  const wy = store.get('critic/concat/first/kernel_y');
  const w0 = tf.concat([wx, wy], 0);
  const pairs = tf.concat([tf.reshape(tf.tile(tf.expandDims(x, 1), [1, 5, 1]), [30, 3]), tf.tile(y, [6, 1])], 1);
  let h = tf.relu(tf.add(tf.matMul(pairs, w0), store.get('critic/concat/first/bias')));
  h = tf.relu(tf.add(tf.matMul(h, store.get('critic/concat/dense0/kernel')), store.get('critic/concat/dense0/bias')));
  h = tf.add(tf.matMul(h, store.get('critic/concat/dense1/kernel')), store.get('critic/concat/dense1/bias'));
  assert.ok(maxAbsDiff(fast, toArray(h)) < 1e-5);
  store.dispose();
});

test('the concat critic hand-written gradients equal autodiff through phi([x_i, y_j]) built naively', () => {
  for (const hidden of [[7], [7, 5]]) {
    const cfg = parseTrialConfig({ critic: 'concat', critic_hidden: hidden });
    const store = new ParamStore(new Rng(3));
    const critic = buildCritic('concat', store, 3, 4, cfg);
    const r = new Rng(5);
    const x = tf.tensor2d(
      Array.from({ length: 6 * 3 }, () => r.normal()),
      [6, 3],
    );
    const y = tf.tensor2d(
      Array.from({ length: 5 * 4 }, () => r.normal()),
      [5, 4],
    );
    const weights = tf.tensor2d(
      Array.from({ length: 30 }, () => r.normal()),
      [6, 5],
    );
    const naive = (xs: tf.Tensor2D, ys: tf.Tensor2D): tf.Tensor2D => {
      const w0 = tf.concat([store.get('critic/concat/first/kernel_x'), store.get('critic/concat/first/kernel_y')], 0);
      const pairs = tf.concat([tf.reshape(tf.tile(tf.expandDims(xs, 1), [1, 5, 1]), [30, 3]), tf.tile(ys, [6, 1])], 1);
      let h = tf.relu(tf.add(tf.matMul(pairs, w0), store.get('critic/concat/first/bias')));
      hidden.forEach((_, i) => {
        h = tf.add(
          tf.matMul(h, store.get(`critic/concat/dense${i}/kernel`)),
          store.get(`critic/concat/dense${i}/bias`),
        );
        if (i < hidden.length - 1) h = tf.relu(h);
      });
      return tf.reshape(h, [6, 5]);
    };
    const loss = (f: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D) => (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(f(a as tf.Tensor2D, b as tf.Tensor2D), weights)) as tf.Scalar;
    const fastLoss = loss((a, b) => critic.scores(a, b));
    const naiveLoss = loss(naive);
    const [fx, fy] = tf.grads(fastLoss)([x, y]);
    const [nx, ny] = tf.grads(naiveLoss)([x, y]);
    assert.ok(maxAbsDiff(toArray(fx), toArray(nx)) < 1e-5, `dx, hidden ${hidden}`);
    assert.ok(maxAbsDiff(toArray(fy), toArray(ny)) < 1e-5, `dy, hidden ${hidden}`);
    const fv = tf.variableGrads(() => fastLoss(x, y)).grads;
    const nv = tf.variableGrads(() => naiveLoss(x, y)).grads;
    assert.deepEqual(Object.keys(fv).sort(), Object.keys(nv).sort());
    assert.equal(Object.keys(fv).length, 3 + 2 * hidden.length);
    for (const name of Object.keys(fv)) {
      assert.deepEqual(fv[name].shape, nv[name].shape, name);
      assert.ok(maxAbsDiff(toArray(fv[name]), toArray(nv[name])) < 1e-5, `d ${name}, hidden ${hidden}`);
    }
    store.dispose();
  }
});

test('encoders produce the documented code sizes', () => {
  const cfg = parseTrialConfig({ realnvp_layers: 2, realnvp_hidden: 16 });
  const x = tf.randomUniform([3, 392]) as tf.Tensor2D;
  const sizes: Record<EncoderName, number> = {
    identity: 392,
    mlp: 100,
    'mlp-shortcut': 392,
    convnet: 100,
    realnvp: 392,
  };
  for (const [name, out] of Object.entries(sizes) as [EncoderName, number][]) {
    const store = new ParamStore(new Rng(0));
    const enc = buildEncoder(name, store, 'g1', 392, cfg, new Rng(1));
    assert.deepEqual(enc.apply(x).shape, [3, out], name);
    enc.dispose();
    store.dispose();
  }
});

test('the shortcut MLP is near the identity at initialisation', () => {
  const store = new ParamStore(new Rng(0));
  const enc = buildEncoder('mlp-shortcut', store, 'g1', 392, parseTrialConfig({}), new Rng(1));
  // Seeded: over random inputs in [0, 1) the residual branch moves outputs by 0.0087 at the
  // median and up to 0.011, so an unseeded input failed a 1e-2 bound one run in 25.
  const x = tf.randomUniform([4, 392], 0, 1, 'float32', 3) as tf.Tensor2D;
  assert.ok(maxAbsDiff(toArray(enc.apply(x)), toArray(x)) < 2e-2);
  store.dispose();
});

for (const coupling of ['shift', 'affine'] as const) {
  test(`RealNVP (${coupling}) is invertible: its inverse reconstructs inputs to 2e-4`, () => {
    const cfg = parseTrialConfig({ coupling, realnvp_layers: 30, realnvp_hidden: 64 });
    const store = new ParamStore(new Rng(0));
    const enc = buildEncoder('realnvp', store, 'g1', 392, cfg, new Rng(1));
    // Move the weights away from their near-zero initialisation so the test means something.
    const r = new Rng(9);
    for (const v of store.list())
      v.assign(
        tf.tensor(
          Array.from({ length: v.size }, () => 0.05 * r.normal()),
          v.shape,
        ),
      );
    // Seeded: with these weights the affine flow shrinks its inputs about 5x (max |z| ~ 0.2),
    // so its inverse amplifies float32 rounding to 4-8e-5 over 30 couplings, and an unseeded
    // draw now and then crossed 1e-4. A wrong inverse misses by orders of magnitude more.
    const x = tf.randomUniform([8, 392], 0, 1, 'float32', 3) as tf.Tensor2D;
    const z = enc.apply(x);
    assert.ok(maxAbsDiff(toArray(z), toArray(x)) > 1e-2, 'the flow should move its inputs');
    const back = enc.inverse!(z);
    assert.ok(maxAbsDiff(toArray(back), toArray(x)) < 2e-4, `error ${maxAbsDiff(toArray(back), toArray(x))}`);
    enc.dispose();
    store.dispose();
  });
}

test('the rewritten convolution gradients equal the reference gradients', async () => {
  const r = new Rng(2);
  const rand = (shape: number[]) =>
    tf.tensor(
      Array.from({ length: shape.reduce((a, b) => a * b) }, () => r.normal()),
      shape,
    );
  for (const [shape, k, ci, co] of [
    [[2, 14, 28, 1], 5, 1, 3],
    [[2, 7, 14, 3], 5, 3, 4],
  ] as const) {
    const x = rand([...shape]) as tf.Tensor4D;
    const w = rand([k, k, ci, co]) as tf.Tensor4D;
    const dy = rand([shape[0], Math.ceil(shape[1] / 2), Math.ceil(shape[2] / 2), co]);
    const loss = (f: (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor4D) => (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D), dy));
    const mine = tf.grads(loss((a, b) => conv2dSameRewritten(a, b, 2)))([x, w]);
    const fwdMine = toArray(conv2dSameRewritten(x, w, 2));
    // The reference: the plain JS backend's built-in convolution gradients.
    const prev = tf.getBackend();
    await tf.setBackend('cpu');
    const ref = tf.grads(loss((a, b) => tf.conv2d(a, b, 2, 'same')))([x, w]);
    const fwdRef = toArray(tf.conv2d(x, w, 2, 'same'));
    const refArrays = ref.map(toArray);
    await tf.setBackend(prev);
    assert.ok(maxAbsDiff(fwdMine, fwdRef) < 1e-4);
    assert.ok(maxAbsDiff(toArray(mine[0]), refArrays[0]) < 1e-3, 'input gradient');
    assert.ok(maxAbsDiff(toArray(mine[1]), refArrays[1]) < 1e-3, 'filter gradient');
  }
});

test('matMul and dense with explicit-transpose gradients equal the reference gradients', async () => {
  const { matMul, dense } = await import('../../ml/ops.js');
  const r = new Rng(12);
  const rand = (shape: number[]) =>
    tf.tensor2d(
      Array.from({ length: shape[0] * shape[1] }, () => r.normal()),
      [shape[0], shape[1]],
    );
  const cases: [boolean, boolean][] = [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ];
  for (const [ta, tb] of cases) {
    const a = rand(ta ? [5, 4] : [4, 5]);
    const b = rand(tb ? [3, 5] : [5, 3]);
    const dy = rand([4, 3]);
    const mine = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(tf.mul(matMul(x as tf.Tensor2D, y as tf.Tensor2D, ta, tb), dy)),
    )([a, b]);
    const ref = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, ta, tb), dy)))([a, b]);
    assert.ok(maxAbsDiff(toArray(matMul(a, b, ta, tb)), toArray(tf.matMul(a, b, ta, tb))) < 1e-4);
    mine.forEach((g, i) =>
      assert.ok(maxAbsDiff(toArray(g), toArray(ref[i])) < 1e-4, `transpose ${ta},${tb} input ${i}`),
    );
  }
  const x = rand([6, 4]);
  const w = rand([4, 3]);
  const bias = tf.tensor1d([0.1, -2, 0.3]);
  const dy = rand([6, 3]);
  for (const relu of [false, true]) {
    const mine = tf.grads((p: tf.Tensor, q: tf.Tensor, s: tf.Tensor) =>
      tf.sum(tf.mul(dense(p as tf.Tensor2D, q as tf.Tensor2D, s as tf.Tensor1D, relu), dy)),
    )([x, w, bias]);
    const ref = tf.grads((p: tf.Tensor, q: tf.Tensor, s: tf.Tensor) => {
      const pre = tf.add(tf.matMul(p as tf.Tensor2D, q as tf.Tensor2D), s);
      return tf.sum(tf.mul(relu ? tf.relu(pre) : pre, dy));
    })([x, w, bias]);
    mine.forEach((g, i) => assert.ok(maxAbsDiff(toArray(g), toArray(ref[i])) < 1e-4, `dense relu=${relu} input ${i}`));
  }
});
