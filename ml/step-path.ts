// Which implementation of the training step runs. 'graph' (the default) runs a whole
// step of the model families ml/graph/infomax-step.ts covers as one TensorFlow session
// call on the tensorflow backend (ml/graph/graph-step.ts), and everything else as 'fast'.
// 'fast' builds the step from fewer kernels: hand-written dense-layer gradients,
// TensorFlow's ReluGrad and a flat-buffer Adam, on the tensorflow backend, where they
// were measured to pay (on wasm and cpu both paths are the same code). 'reference' is
// the plain tfjs path (tfjs' fused matMul gradients, tfjs' AdamOptimizer) that the fast
// path is checked against, bit for bit (test/unit/ml-fast-path.test.ts), and the graph
// path to float rounding (test/unit/ml-graph-step.test.ts). MIRL_STEP_PATH selects it for
// a process, so a benchmark child (bench/measure.ts inherits the environment) can run any.
export const STEP_PATHS = ['graph', 'fast', 'reference'] as const;
export type StepPath = (typeof STEP_PATHS)[number];

let override: StepPath | null = null;

export class StepPathError extends Error {}

export function stepPath(): StepPath {
  if (override) return override;
  const v = process.env.MIRL_STEP_PATH;
  if (v === undefined || v === '') return 'graph';
  if ((STEP_PATHS as readonly string[]).includes(v)) return v as StepPath;
  throw new StepPathError(`MIRL_STEP_PATH="${v}" is not one of ${STEP_PATHS.join(', ')}`);
}

/** Whether eager steps take the fast path's kernels (the graph path's eager parts do too). */
export function eagerFast(): boolean {
  return stepPath() !== 'reference';
}

/** For tests that run several paths in one process; null goes back to the environment. */
export function setStepPath(path: StepPath | null): void {
  override = path;
}

/**
 * How the graph step updates its weights. 'fused' (the default) is TensorFlow's
 * ResourceApplyAdam, one pass over each weight tensor; 'exact' is FlatAdam's fourteen
 * float32 operations per tensor, which round exactly as the eager paths do. They are the
 * same Adam: TensorFlow weighs the new gradient by 1 - float32(beta) where tfjs takes
 * float32(1 - beta), an effective beta2 1.3e-8 away (below float32's spacing at 0.999),
 * which chaotic short runs amplify (test/unit/ml-graph-step.test.ts measures both).
 */
export const GRAPH_ADAMS = ['fused', 'exact'] as const;
export type GraphAdam = (typeof GRAPH_ADAMS)[number];

let adamOverride: GraphAdam | null = null;

export function graphAdam(): GraphAdam {
  if (adamOverride) return adamOverride;
  const v = process.env.MIRL_GRAPH_ADAM;
  if (v === undefined || v === '') return 'fused';
  if ((GRAPH_ADAMS as readonly string[]).includes(v)) return v as GraphAdam;
  throw new StepPathError(`MIRL_GRAPH_ADAM="${v}" is not one of ${GRAPH_ADAMS.join(', ')}`);
}

/** For tests; null goes back to the environment. */
export function setGraphAdam(kind: GraphAdam | null): void {
  adamOverride = kind;
}
