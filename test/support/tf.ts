// Test helpers around TensorFlow.js: one backend per test process, chosen by
// MIRL_TEST_BACKEND (default wasm, the backend every machine has).
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendRequest } from '../../ml/backend.js';

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
