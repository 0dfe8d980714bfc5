// Per-queue defaults: a CPU worker runs one trainer per core (each is single-threaded
// wasm/cpu TensorFlow.js), a GPU worker one trial at a time (one device).
import os from 'node:os';
import { TASK_QUEUES } from '../sweep-spec/index.js';

export function defaultMaxConcurrent(taskQueue: string): number {
  return taskQueue === TASK_QUEUES.gpu ? 1 : os.availableParallelism();
}

export function defaultBackendFor(taskQueue: string): 'auto' | 'tensorflow' | 'wasm' | 'cpu' {
  const fromEnv = process.env.MIRL_BACKEND;
  if (fromEnv === 'auto' || fromEnv === 'tensorflow' || fromEnv === 'wasm' || fromEnv === 'cpu') return fromEnv;
  return taskQueue === TASK_QUEUES.gpu ? 'tensorflow' : 'auto';
}
