// The step measurement's kernel count: a deterministic figure for issue 13's "kernels per
// step", read from the engine's profiler on one untimed step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measure, stackableCases, ALL_CASES } from '../../bench/run.js';
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

test('a seed_stack row times one seed against S stacked, for the cases that stack', async () => {
  assert.deepEqual(stackableCases(ALL_CASES), ['mlp+bilinear', 'mlp+separable']);
  const row = (await measure({
    kind: 'seed-stack',
    backend: 'wasm',
    name: 'mlp+separable',
    seeds: 3,
    steps: 4,
    warmup: 1,
  })) as Record<string, number>;
  assert.equal(row.seeds, 3, JSON.stringify(row));
  assert.ok(row.solo_ms_per_step > 0 && row.stack_ms_per_step > 0, JSON.stringify(row));
  assert.equal(row.speedup_per_seed, (3 * row.solo_ms_per_step) / row.stack_ms_per_step);
  // One stacked step launches about as many kernels as one seed's, whatever S is: the point of stacking.
  assert.ok(row.stack_kernels_per_step < 2 * row.solo_kernels_per_step, JSON.stringify(row));
});
