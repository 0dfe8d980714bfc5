// Every backend runs the same model code from the same initial weights and batches, so
// a seeded step must give the same loss up to float32 summation order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTrial, type MetricsReport } from '../../ml/run-trial.js';
import { availableBackends, type BackendName } from '../../ml/backend.js';

/** Relative tolerance: float32 kernels differ in summation order, nothing else. */
const TOLERANCE = 1e-3;

test('every available backend gives the same loss on the same seeded steps', async () => {
  // tfjs-node is optional: where it is not installed the others are still compared.
  const available = await availableBackends();
  assert.ok(available.includes('wasm') && available.includes('cpu'), `available: ${available}`);
  const losses = new Map<BackendName, number[]>();
  for (const backend of available) {
    const seen: MetricsReport[] = [];
    await runTrial(
      {
        encoder: 'mlp',
        critic: 'concat',
        critic_hidden: [32],
        estimator: 'nwj',
        batch_size: 16,
        steps: 3,
        log_interval: 1,
        evaluations: [],
        seed: 11,
      },
      { backend, onTrainMetrics: (m) => void seen.push(m) },
    );
    losses.set(
      backend,
      seen.map((m) => m.metrics.loss),
    );
  }
  const ref = losses.get('wasm')!;
  for (const [backend, values] of losses) {
    values.forEach((v, i) =>
      assert.ok(
        Math.abs(v - ref[i]) <= TOLERANCE * Math.max(1, Math.abs(ref[i])),
        `${backend} step ${i + 1}: ${v} vs wasm ${ref[i]}`,
      ),
    );
  }
});
