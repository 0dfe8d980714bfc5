// The step measurement's kernel count: a deterministic figure for issue 13's "kernels per
// step", read from the engine's profiler on one untimed step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measure } from '../../bench/run.js';
import { availableBackends } from '../../ml/backend.js';

const step = (backend: 'tensorflow' | 'wasm') =>
  measure({ kind: 'step', backend, name: 'mlp+bilinear', steps: 2, warmup: 1 }) as Promise<Record<string, number>>;

test('a step row counts the kernels of one step, the same on every run', async () => {
  const [a, b] = [await step('wasm'), await step('wasm')];
  assert.ok(Number.isInteger(a.kernels_per_step) && a.kernels_per_step > 50, JSON.stringify(a));
  assert.equal(a.kernels_per_step, b.kernels_per_step);
});

// Native TensorFlow is best effort (scripts/setup-native.sh): compared where it loads, as in ml-fast-path.
const native = (await availableBackends()).includes('tensorflow');

test(
  "the native backend's fast step path launches fewer kernels than wasm's plain one",
  { skip: !native },
  async () => {
    const [native, wasm] = [await step('tensorflow'), await step('wasm')];
    assert.ok(
      native.kernels_per_step < wasm.kernels_per_step,
      `${native.kernels_per_step} vs ${wasm.kernels_per_step}`,
    );
  },
);
