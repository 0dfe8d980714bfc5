// Which implementation of the training step runs. 'fast' (the default) builds the step
// from fewer kernels: hand-written dense-layer gradients, TensorFlow's ReluGrad and a
// flat-buffer Adam, on the tensorflow backend, where they were measured to pay (on wasm
// and cpu both paths are the same code). 'reference' is the plain tfjs path (tfjs' fused
// matMul gradients, tfjs' AdamOptimizer) that the fast path is checked against, bit for
// bit (test/unit/ml-fast-path.test.ts). MIRL_STEP_PATH selects it for a process, so a
// benchmark child (bench/measure.ts inherits the environment) can run either.
export type StepPath = 'fast' | 'reference';

let override: StepPath | null = null;

export class StepPathError extends Error {}

export function stepPath(): StepPath {
  if (override) return override;
  const v = process.env.MIRL_STEP_PATH;
  if (v === undefined || v === '' || v === 'fast') return 'fast';
  if (v === 'reference') return 'reference';
  throw new StepPathError(`MIRL_STEP_PATH="${v}" is not one of fast, reference`);
}

/** For tests that run both paths in one process; null goes back to the environment. */
export function setStepPath(path: StepPath | null): void {
  override = path;
}
