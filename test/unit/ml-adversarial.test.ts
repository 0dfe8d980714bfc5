// The adversarial round encodes its classifier steps' batches in one forward pass. That
// is the same computation as encoding each batch alone only if a row's code does not
// depend on the other rows of the pass: checked here on the flow the study trains.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend, availableBackends } from '../../ml/backend.js';
import { AdversarialTrial } from '../../ml/adversarial-trial.js';
import { parseTrialConfig } from '../../ml/config.js';
import { MnistPairSource } from '../../ml/data/pairs.js';

const K = 32;
const BATCHES = 5;

async function codesBothWays(): Promise<{ together: Float32Array; alone: Float32Array }> {
  const trial = new AdversarialTrial(
    parseTrialConfig({
      procedure: 'adversarial',
      encoder: 'realnvp',
      coupling: 'affine',
      realnvp_layers: 4,
      realnvp_hidden: 64,
      batch_size: K,
      evaluations: [],
    }),
  );
  try {
    const x = MnistPairSource.train('top', 'bottom', 0, 3).next(K * BATCHES).x;
    const d = x.length / (K * BATCHES);
    const together = (await tf
      .tidy(() => trial.encoder.apply(tf.tensor2d(x, [K * BATCHES, d])))
      .data()) as Float32Array;
    const alone = new Float32Array(together.length);
    for (let b = 0; b < BATCHES; b++) {
      const rows = x.subarray(b * K * d, (b + 1) * K * d);
      alone.set(await tf.tidy(() => trial.encoder.apply(tf.tensor2d(rows, [K, d]))).data(), b * K * d);
    }
    return { together, alone };
  } finally {
    trial.dispose();
  }
}

test('native: a round of batches encoded in one pass gives each batch its own codes, bit for bit', async () => {
  const backends = await availableBackends();
  assert.ok(backends.includes('tensorflow'), 'the native backend is part of the install');
  await initBackend('tensorflow');
  const { together, alone } = await codesBothWays();
  assert.deepEqual(together, alone);
});

test('wasm: the same codes to float rounding (its products block rows differently)', async () => {
  await initBackend('wasm');
  const { together, alone } = await codesBothWays();
  let worst = 0;
  for (let i = 0; i < alone.length; i++)
    worst = Math.max(worst, Math.abs(together[i] - alone[i]) / (Math.abs(alone[i]) + 1e-3));
  assert.ok(worst < 1e-5, `relative difference ${worst}`);
});
