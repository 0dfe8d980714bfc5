// Runs one trial to the end: the step loop, metric reporting, evaluations, checkpoints,
// cancellation. Everything outside (a CLI, a Temporal activity) talks to it through the
// callbacks, so the loop knows nothing of where metrics and checkpoints go.
import * as tf from '@tensorflow/tfjs';
import { parseTrialConfig, type TrialConfig, type TrialConfigInput } from './config.js';
import { initBackend, type BackendRequest, type BackendName } from './backend.js';
import type { TrialState, ScalarRecord } from './trial-state.js';
import { InfomaxTrial } from './infomax-trial.js';
import { AdversarialTrial } from './adversarial-trial.js';
import { NonFiniteError } from './errors.js';
import type { EvalTiming } from './eval-timing.js';

export interface MetricsReport {
  step: number;
  metrics: Record<string, number>;
}

export interface TrialCallbacks {
  /** Training metrics every `log_interval` steps. */
  onTrainMetrics?(r: MetricsReport): void | Promise<void>;
  /** Evaluation metrics at step 0 (fresh start), every `eval_interval`, and at the end. */
  /**
   * Evaluation metrics; `timing` holds the seconds spent training since the previous
   * evaluation (`train`), in this evaluation (`eval`) and in each of its parts
   * (ml/eval-timing.ts), kept apart from the metrics, which must repeat exactly.
   */
  onEvalMetrics?(r: MetricsReport, timing?: EvalTiming): void | Promise<void>;
  /** Full trial state after step `step`; resuming from it continues with step + 1. */
  onCheckpoint?(step: number, bytes: Buffer): void | Promise<void>;
  /** Polled every step; true stops the trial after the current step. */
  shouldStop?(): boolean;
}

export interface RunTrialOptions extends TrialCallbacks {
  backend?: BackendRequest;
  resumeFrom?: Uint8Array;
  /** Checkpoint every this many steps (0: never, except as asked by shouldStop). */
  checkpointEvery?: number;
}

export interface TrialResult {
  status: 'finished' | 'stopped';
  step: number;
  backend: BackendName;
  resumedFrom: number | null;
  train: Record<string, number>;
  eval: Record<string, number>;
  seconds: number;
  msPerStep: number;
}

export function createTrial(cfg: TrialConfig): TrialState {
  return cfg.procedure === 'adversarial' ? new AdversarialTrial(cfg) : new InfomaxTrial(cfg);
}

/** Reads the recorded scalars of several steps with one download. */
async function drain(
  pending: { step: number; scalars: ScalarRecord }[],
): Promise<{ step: number; values: Record<string, number> }[]> {
  if (pending.length === 0) return [];
  const keys = pending.map((p) => Object.keys(p.scalars));
  const all = pending.flatMap((p) => Object.values(p.scalars));
  const stacked = tf.stack(all);
  const data = await stacked.data();
  tf.dispose([stacked, ...all]);
  let i = 0;
  const out = pending.map((p, j) => {
    const values: Record<string, number> = {};
    for (const k of keys[j]) values[k] = data[i++];
    return { step: p.step, values };
  });
  pending.length = 0;
  return out;
}

export async function runTrial(
  input: TrialConfigInput | TrialConfig,
  opts: RunTrialOptions = {},
): Promise<TrialResult> {
  const cfg = parseTrialConfig(input);
  const backend = await initBackend(opts.backend ?? 'auto');
  const trial = createTrial(cfg);
  const t0 = performance.now();
  let trainLast: Record<string, number> = {};
  let evalLast: Record<string, number> = {};
  let resumedFrom: number | null = null;
  let stepsRun = 0;
  let trainSeconds = 0;
  const pending: { step: number; scalars: ScalarRecord }[] = [];

  const flush = async () => {
    for (const { step, values } of await drain(pending)) {
      for (const [quantity, v] of Object.entries(values)) {
        if (!Number.isFinite(v)) throw new NonFiniteError(step, quantity, v);
      }
      if (step % cfg.log_interval === 0 || step === trial.totalSteps) {
        trainLast = values;
        await opts.onTrainMetrics?.({ step, metrics: values });
      }
    }
  };
  let trainSinceEval = 0;
  const evaluate = async () => {
    const timing: EvalTiming = {};
    const e0 = performance.now();
    evalLast = await trial.evaluate(timing);
    timing.eval = (performance.now() - e0) / 1000;
    timing.train = trainSinceEval;
    trainSinceEval = 0;
    if (Object.keys(evalLast).length > 0) await opts.onEvalMetrics?.({ step: trial.step, metrics: evalLast }, timing);
  };
  const checkpoint = async () => opts.onCheckpoint?.(trial.step, await trial.checkpoint());

  try {
    if (opts.resumeFrom) {
      await trial.restore(opts.resumeFrom);
      resumedFrom = trial.step;
    } else if (trial.evalDue(0)) {
      await evaluate();
    }
    while (trial.step < trial.totalSteps) {
      if (opts.shouldStop?.()) {
        await flush();
        await checkpoint();
        return result('stopped');
      }
      const s0 = performance.now();
      const scalars = trial.advance();
      trial.step++;
      stepsRun++;
      pending.push({ step: trial.step, scalars });
      const step = trial.step;
      const logDue = step % cfg.log_interval === 0 || step === trial.totalSteps;
      const evalDue = trial.evalDue(step);
      const ckptDue = !!opts.checkpointEvery && step % opts.checkpointEvery === 0;
      if (logDue || evalDue || ckptDue) await flush();
      const stepSeconds = (performance.now() - s0) / 1000;
      trainSeconds += stepSeconds;
      trainSinceEval += stepSeconds;
      if (evalDue) await evaluate();
      if (ckptDue) await checkpoint();
      // Give timers and I/O (heartbeats, IPC) a turn; wasm and CPU kernels run synchronously.
      if (logDue) await new Promise((r) => setImmediate(r));
    }
    await flush();
    return result('finished');
  } finally {
    tf.dispose(pending.flatMap((p) => Object.values(p.scalars)));
    trial.dispose();
  }

  function result(status: TrialResult['status']): TrialResult {
    return {
      status,
      step: trial.step,
      backend,
      resumedFrom,
      train: trainLast,
      eval: evalLast,
      seconds: (performance.now() - t0) / 1000,
      msPerStep: stepsRun > 0 ? (1000 * trainSeconds) / stepsRun : 0,
    };
  }
}
