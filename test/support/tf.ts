// Test helpers around TensorFlow.js: one backend per test process, chosen by
// MIRL_TEST_BACKEND (default wasm, the backend every machine has).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { availableBackends, initBackend, type BackendRequest } from '../../ml/backend.js';

export async function useTestBackend(): Promise<string> {
  return initBackend((process.env.MIRL_TEST_BACKEND ?? 'wasm') as BackendRequest);
}

export function toArray(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Whether native TensorFlow (@tensorflow/tfjs-node) loads here; scripts/setup-native.sh installs it best effort. */
export const NATIVE = (await availableBackends()).includes('tensorflow');
const NATIVE_MISSING =
  'needs native TensorFlow, which does not load here (scripts/setup-native.sh builds it best effort: run it and read why)';
let requiredReported = false;

/**
 * Options for a test or suite that needs native TensorFlow. Where it does not load, the
 * test is skipped with the reason; and where MIRL_REQUIRE_NATIVE=1 says it must load
 * (.ci/run, on machines where setup-native.sh builds it), a test of its own fails with
 * the reason, so a broken build cannot pass CI as a row of skips.
 */
export function nativeOnly(): { skip?: string } {
  if (NATIVE) return {};
  if (process.env.MIRL_REQUIRE_NATIVE === '1' && !requiredReported) {
    requiredReported = true;
    test('native TensorFlow loads (MIRL_REQUIRE_NATIVE=1)', () => assert.fail(NATIVE_MISSING));
  }
  return { skip: NATIVE_MISSING };
}
