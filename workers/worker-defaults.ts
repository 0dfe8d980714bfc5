// Worker defaults: a CPU worker runs one trainer per core (each with one thread of
// TensorFlow's pools, activities/trainer-pool.ts), a GPU worker one trial at a time (one device).
import os from 'node:os';
import { backendFromEnv, type BackendRequest } from '../ml/backend.js';
import { TASK_QUEUES } from '../sweep-spec/index.js';

export function defaultMaxConcurrent(taskQueue: string): number {
  return taskQueue === TASK_QUEUES.gpu ? 1 : os.availableParallelism();
}

/**
 * MIRL_BACKEND when set (a value that is not a backend is an error, not a silent `auto`),
 * else auto on every queue: auto takes a GPU first (CUDA TensorFlow, then a hardware
 * WebGPU adapter), and a GPU worker without either refuses to start (gpu-probe.ts).
 */
export function defaultBackend(): BackendRequest {
  if (process.env.MIRL_BACKEND !== undefined) return backendFromEnv();
  return 'auto';
}
