// What the step-path tests share: a short seeded trial with metrics at every step, and
// the metrics of one run of it on a given backend and step path, checkpoints to resume
// from, and a count of tensors a path leaves behind.
import * as tf from '@tensorflow/tfjs';
import { runTrial, createTrial, type MetricsReport } from '../../ml/run-trial.js';
import { initBackend, type BackendName } from '../../ml/backend.js';
import { setStepPath, type StepPath } from '../../ml/step-path.js';
import { parseTrialConfig, type TrialConfigInput } from '../../ml/config.js';
import { decodeCheckpoint } from '../../ml/checkpoint.js';

/**
 * Steps each path runs: enough for a wrong gradient or Adam term to move a loss by more
 * than 1e-3 (a few steps), short of where small-batch runs turn chaotic (measured drifts
 * grow from step 26 on: ml-graph-step.test.ts). Was 50; 20 proves the same in 40% of the time.
 */
export const STEPS = 20;

export const STEP_TEST_BASE: TrialConfigInput = {
  batch_size: 8,
  steps: STEPS,
  log_interval: 1,
  eval_interval: 1_000_000,
  evaluations: [],
  seed: 5,
};

/** Every step's train metrics, each row in metric-name order. */
export async function stepMetrics(backend: BackendName, path: StepPath, cfg: TrialConfigInput): Promise<number[][]> {
  setStepPath(path);
  const seen: MetricsReport[] = [];
  await runTrial({ ...STEP_TEST_BASE, ...cfg }, { backend, onTrainMetrics: (m) => void seen.push(m) });
  return seen.map((m) =>
    Object.keys(m.metrics)
      .sort()
      .map((k) => m.metrics[k]),
  );
}

/** A run's losses and the checkpoint it wrote at `at` (resumed runs report from there on). */
export async function lossesAndCheckpoint(
  backend: BackendName,
  path: StepPath,
  cfg: TrialConfigInput,
  at: number,
  resumeFrom?: Uint8Array,
): Promise<{ bytes: Buffer; seen: number[] }> {
  const run = await metricsAndCheckpoint(backend, path, cfg, at, ['loss'], resumeFrom);
  return { bytes: run.bytes, seen: run.seen.map((r) => r[0]) };
}

/** Each step's `keys` (0 where a step logs none, as the adversarial warm-up's encoder loss), and the checkpoint at `at`. */
export async function metricsAndCheckpoint(
  backend: BackendName,
  path: StepPath,
  cfg: TrialConfigInput,
  at: number,
  keys: readonly string[],
  resumeFrom?: Uint8Array,
): Promise<{ bytes: Buffer; seen: number[][] }> {
  setStepPath(path);
  let bytes: Buffer | null = null;
  const seen: number[][] = [];
  await runTrial(cfg, {
    backend,
    resumeFrom,
    checkpointEvery: at,
    onCheckpoint: (s, b) => void (s === at && (bytes = b)),
    onTrainMetrics: (m) => void seen.push(keys.map((k) => m.metrics[k] ?? 0)),
  });
  return { bytes: bytes! as Buffer, seen };
}

/** The names, shapes and order of every array a checkpoint stores. */
export const checkpointLayout = (b: Buffer): string[] => decodeCheckpoint(b).arrays.map((a) => `${a.name}:${a.shape}`);

/** Live tensors after steps, checkpoints, a restore and one more step, against those after the first step. */
export async function tensorsLeftBehind(
  path: StepPath,
  cfg: TrialConfigInput,
): Promise<{ before: number; after: number }> {
  await initBackend('tensorflow');
  setStepPath(path);
  const trial = createTrial(parseTrialConfig({ ...STEP_TEST_BASE, ...cfg }));
  const step = () => tf.dispose(Object.values(trial.advance()));
  step();
  const bytes = await trial.checkpoint();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) step();
  await trial.checkpoint();
  await trial.restore(bytes);
  step();
  await trial.evaluate();
  const after = tf.memory().numTensors;
  trial.dispose();
  return { before, after };
}
