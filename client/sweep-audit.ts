// Reads what results/audit.ts checks: every trial's state from Temporal (page by page, so a
// 20,000-trial sweep is read whole), every trial run of the sweep from MLflow, and every
// point of every metric history of those runs.
import type { Client } from '@temporalio/client';
import pLimit from 'p-limit';
import type { MlflowClient, Run } from '../tracking/index.js';
import { auditSweep, type AuditReport, type ExpectedTrial, type RunHistories } from '../results/audit.js';
import { searchSweepRuns } from '../results/sweep-runs.js';
import { sweepNameOf } from '../results/mlflow-contract.js';
import { PROGRESS_PAGE_MAX } from '../workflows/progress.js';
import { readSweep } from './sweeps.js';

export interface AuditOptions {
  /** Metric histories read at once (default 8): MLflow answers each in milliseconds. */
  concurrency?: number;
  onProgress?: (read: number, of: number) => void;
}

/** Every trial of the sweep as Temporal knows it, in index order. */
export async function expectedTrials(client: Client, sweepId: string): Promise<ExpectedTrial[]> {
  const out: ExpectedTrial[] = [];
  for (let offset = 0; ; offset += PROGRESS_PAGE_MAX) {
    const { progress } = await readSweep(client, sweepId, false, { offset, limit: PROGRESS_PAGE_MAX });
    out.push(...progress.trials.map((t) => ({ trialId: t.trialId, state: t.state })));
    if (progress.trials.length < PROGRESS_PAGE_MAX || out.length >= progress.total) return out;
  }
}

async function runHistories(mlflow: MlflowClient, run: Run): Promise<RunHistories> {
  const keys = [...new Set(run.data.metrics.map((m) => m.key))];
  const out = new Map<string, { step: number }[]>();
  for (const key of keys) out.set(key, await mlflow.getFullMetricHistory(run.info.runId, key));
  return out;
}

export async function readSweepAudit(
  temporal: Client,
  mlflow: MlflowClient,
  sweepId: string,
  options: AuditOptions = {},
): Promise<AuditReport> {
  const expected = await expectedTrials(temporal, sweepId);
  const experiment = await mlflow.getExperimentByName(sweepNameOf(sweepId));
  const runs = experiment ? (await searchSweepRuns(mlflow, experiment.experimentId, sweepId)).trialRuns : [];
  const limit = pLimit(options.concurrency ?? 8);
  const histories = new Map<string, RunHistories>();
  let read = 0;
  await Promise.all(
    runs.map((run) =>
      limit(async () => {
        histories.set(run.info.runId, await runHistories(mlflow, run));
        options.onProgress?.(++read, runs.length);
      }),
    ),
  );
  return auditSweep(expected, runs, histories);
}
