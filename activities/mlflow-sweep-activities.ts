// The sweep workflow's tracking activities (queue mirl-sweeps, on workflow workers).
// With tracking off they answer null / do nothing, so a sweep runs the same either way.
import { Context } from '@temporalio/activity';
import { consoleLogger, type TrackingLogger } from '../tracking/index.js';
import { generateReport } from '../report/index.js';
import type { EnsureSweepRunInput, FinishSweepRunInput, SweepTracking } from '../workflows/types.js';
import type { MlflowTracking } from './mlflow-tracking.js';

export interface SweepActivityOptions {
  /** Draw the study's figures onto the parent run when a sweep ends (default true). */
  report?: boolean;
  /** The report gives up after this long; finishSweepRun's whole budget is 5 minutes. */
  reportBudgetMs?: number;
  /** How often finishSweepRun heartbeats (default FINISH_HEARTBEAT_MS). */
  heartbeatMs?: number;
  logger?: TrackingLogger;
}

/**
 * finishSweepRun's heartbeat period. The workflow gives it a heartbeat timeout of four
 * periods (workflows/sweep.ts): a worker killed while closing a sweep is noticed in 20 s
 * and the close retried elsewhere, where a start-to-close timeout alone left the sweep
 * "running" at 2000/2000 for its whole 5 minutes.
 */
export const FINISH_HEARTBEAT_MS = 5_000;

/** Heartbeats every `everyMs` while `work` runs; outside an activity (tests, tools) just runs it. */
async function heartbeatWhile<T>(work: () => Promise<T>, everyMs: number): Promise<T> {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return work();
  }
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

const DEFAULT_REPORT_BUDGET_MS = 3 * 60_000;

/**
 * The figures are a convenience on top of results already in MLflow: a report that
 * fails or runs out of time is a warning, never a failed (or retried) sweep.
 */
async function reportBestEffort(
  tracking: MlflowTracking,
  input: FinishSweepRunInput,
  budgetMs: number,
  logger: TrackingLogger,
): Promise<void> {
  const signal = AbortSignal.timeout(budgetMs);
  const expired = new Promise<never>((_, reject) =>
    signal.addEventListener('abort', () => reject(new Error(`took longer than ${budgetMs / 1000} s`)), { once: true }),
  );
  try {
    const experiment = { id: input.tracking.experimentId, name: input.progress.name };
    await Promise.race([generateReport(tracking.client, input.sweepId, { experiment, upload: true, signal }), expired]);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    logger.warn(
      `sweep ${input.sweepId}: no report on its MLflow run (${why}); the results are unaffected, \`mirl report ${input.sweepId} --out DIR\` draws it again`,
    );
  }
}

export function createSweepActivities(tracking: MlflowTracking | null, options: SweepActivityOptions = {}) {
  const logger = options.logger ?? consoleLogger;
  return {
    ensureSweepRun: async (input: EnsureSweepRunInput): Promise<SweepTracking | null> =>
      tracking ? tracking.ensureSweepRun(input) : null,
    finishSweepRun: async (input: FinishSweepRunInput): Promise<void> => {
      if (!tracking) return;
      await heartbeatWhile(async () => {
        await tracking.finishSweepRun(input);
        if (options.report ?? true)
          await reportBestEffort(tracking, input, options.reportBudgetMs ?? DEFAULT_REPORT_BUDGET_MS, logger);
      }, options.heartbeatMs ?? FINISH_HEARTBEAT_MS);
    },
  };
}

export type SweepActivities = ReturnType<typeof createSweepActivities>;
