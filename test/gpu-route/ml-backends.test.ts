// Every backend runs the same model code from the same initial weights and batches, so
// a seeded step must give the same loss up to float32 summation order. webgpu runs here
// on Mesa's software Vulkan driver (scripts/setup-lavapipe.sh), on a GPU in
// scripts/gpu-check.sh: same kernels, same shaders, same check (bench/agreement.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableBackends } from '../../ml/backend.js';
import { AGREEMENT_MODELS, agreementOf, compareValues } from '../../bench/agreement.js';

const available = await availableBackends();

test('the backends this suite compares are installed', () => {
  // tfjs-node is optional (scripts/setup-native.sh); the others install with npm and apt.
  for (const b of ['webgpu', 'wasm', 'cpu'] as const) assert.ok(available.includes(b), `available: ${available}`);
});

test('the comparison fails on a wrong value, a missing step and a NaN', () => {
  assert.equal(compareValues('m', 'cpu', [1, 2], [1, 2.0005]).agrees, true);
  assert.equal(compareValues('m', 'cpu', [1, 2], [1, 2.01]).agrees, false);
  assert.equal(compareValues('m', 'cpu', [1], [1, 2]).agrees, false);
  assert.equal(compareValues('m', 'cpu', [1, NaN], [1, 2]).agrees, false);
  assert.equal(compareValues('m', 'cpu', [], []).agrees, false);
});

for (const model of Object.keys(AGREEMENT_MODELS)) {
  test(`every available backend gives the same loss on the same seeded steps: ${model}`, async () => {
    // The plain JS backend takes minutes for a ConvNet or RealNVP step; one MLP case covers it.
    const backends = available.filter((b) => b !== 'cpu' || model === 'mlp+concat nwj');
    const results = await agreementOf(model, backends);
    assert.equal(results.length, backends.filter((b) => b !== 'wasm').length);
    for (const r of results) {
      assert.ok(r.reference.length >= 3, `${r.reference.length} values`);
      assert.ok(
        r.agrees,
        `${r.backend}: ${r.values} vs wasm ${r.reference} (max relative error ${r.maxRelativeError})`,
      );
    }
  });
}
