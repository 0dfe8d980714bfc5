// A sweep of many one-step trials through a running stack (Temporal, MLflow, workers),
// measured and then audited: every trial done exactly once in Temporal, one FINISHED
// MLflow run per trial with its one step logged once, the history each workflow run
// left, and the workers' memory while it ran. What `mirl bench --scale N` prints.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import type { MlflowClient, Run } from '../tracking/index.js';
import { searchSweepRuns } from '../results/sweep-runs.js';
import { readSweepAudit } from '../client/sweep-audit.js';
import { parseSpecData, type Spec } from '../sweep-spec/index.js';
import { progressQuery } from '../workflows/messages.js';
import type { SweepResult } from '../workflows/types.js';

export interface ScaleOptions {
  client: Client;
  mlflow: MlflowClient;
  trials: number;
  /** Trials at once (the sweep's window). */
  concurrency: number;
  continueAsNewAfter?: number;
  /** Starts the sweep and returns its id (the CLI's launch path). */
  launch(spec: Spec, options: { continueAsNewAfterStarts?: number }): Promise<string>;
  /** Process groups whose resident memory is sampled (the stack's workers). */
  workerGroups: number[];
  log(line: string): void;
}

const POLL_MS = 5_000;
const MIRL = fileURLToPath(new URL('../bin/mirl.js', import.meta.url));
/** What a researcher types while a sweep of this size exists, each timed as a whole command. */
export const CLI_PROBES: Record<string, (id: string) => string[]> = {
  sweep_status: (id) => ['sweep', 'status', id],
  sweep_status_json: (id) => ['sweep', 'status', id, '--json'],
  sweep_watch_closed: (id) => ['sweep', 'watch', id, '--plain'],
  compare: (id) => ['compare', id],
  compare_fresh: (id) => ['compare', id, '--fresh'],
};
const CLI_REPEATS = 3;

export function scaleSpec(trials: number, concurrency: number): Spec {
  return parseSpecData({
    name: 'bench-scale',
    study: 'bench',
    description: 'one-step trials: what a sweep of this many trials costs the orchestration',
    trial: {
      data: 'mnist',
      encoder: 'mlp',
      critic: 'bilinear',
      estimator: 'nce',
      steps: 1,
      batch_size: 16,
      log_interval: 1,
      evaluations: [],
    },
    seeds: trials,
    max_concurrent_trials: concurrency,
  });
}

/** Resident bytes of every process in the given process groups (Linux /proc; 0 elsewhere). */
export function groupRssBytes(pgids: number[]): number {
  const wanted = new Set(pgids);
  let pages = 0;
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return 0;
  }
  for (const pid of entries) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (wanted.has(pgrp)) pages += Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return pages * 4096;
}

async function follow(o: ScaleOptions, sweepId: string): Promise<{ peakRss: number; samples: number }> {
  const handle = o.client.workflow.getHandle(sweepId);
  let peakRss = 0;
  let samples = 0;
  for (;;) {
    peakRss = Math.max(peakRss, groupRssBytes(o.workerGroups));
    samples++;
    try {
      const d = await handle.describe();
      if (d.status.name !== 'RUNNING') return { peakRss, samples };
      const p = await handle.query(progressQuery, { limit: 0 });
      o.log(
        `scale: ${p.counts.done}/${p.total} done, ${p.counts.running} running, generation ${p.generation}, worker RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB peak`,
      );
    } catch (err) {
      // A query needs a live worker: one that crashed and is being restarted must not end
      // an hours-long measurement; the sweep itself waits for it the same way.
      o.log(`scale: no answer (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); polling on`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function historyStats(
  client: Client,
  sweepId: string,
): Promise<{ runs: number; maxEvents: number; maxBytes: number; totalEvents: number }> {
  const stats = { runs: 0, maxEvents: 0, maxBytes: 0, totalEvents: 0 };
  for await (const w of client.workflow.list({ query: `WorkflowId = '${sweepId}'` })) {
    const history = await client.workflow.getHandle(sweepId, w.runId).fetchHistory();
    const events = history.events?.length ?? 0;
    const bytes = JSON.stringify(history).length;
    stats.runs++;
    stats.totalEvents += events;
    stats.maxEvents = Math.max(stats.maxEvents, events);
    stats.maxBytes = Math.max(stats.maxBytes, bytes);
  }
  return stats;
}

async function trialRuns(mlflow: MlflowClient, sweepId: string): Promise<Run[]> {
  const experiment = await mlflow.getExperimentByName('bench-scale');
  return experiment ? (await searchSweepRuns(mlflow, experiment.experimentId, sweepId)).trialRuns : [];
}

/**
 * The sweep's working time read from its trial runs: first start to last end, and the same
 * without the stretches longer than `gapMs` in which no trial ended (the stack was down, e.g.
 * between two working sessions, and resumed the sweep afterwards).
 */
export function activeTime(
  runs: readonly Pick<Run, 'info'>[],
  gapMs = 120_000,
): { wallS: number; activeS: number; gaps: number } {
  const starts = runs.map((r) => r.info.startTime).filter((t): t is number => typeof t === 'number');
  const ends = runs
    .map((r) => r.info.endTime)
    .filter((t): t is number => typeof t === 'number')
    .sort((a, b) => a - b);
  if (starts.length === 0 || ends.length === 0) return { wallS: 0, activeS: 0, gaps: 0 };
  const first = Math.min(...starts);
  let idle = 0;
  let gaps = 0;
  let prev = first;
  for (const t of ends) {
    if (t - prev > gapMs) {
      idle += t - prev;
      gaps++;
    }
    prev = Math.max(prev, t);
  }
  return { wallS: (prev - first) / 1000, activeS: (prev - first - idle) / 1000, gaps };
}

/** Every trial checked against MLflow (`mirl sweep audit`), plus when the runs were active. */
async function auditMlflow(
  o: Pick<ScaleOptions, 'mlflow' | 'client'>,
  sweepId: string,
): Promise<Record<string, number | boolean>> {
  const audit = await readSweepAudit(o.client, o.mlflow, sweepId);
  const time = activeTime(await trialRuns(o.mlflow, sweepId));
  return {
    mlflow_runs: audit.runs,
    mlflow_finished: audit.runStatuses.FINISHED ?? 0,
    audit_missing_runs: audit.missingRuns,
    audit_duplicate_runs: audit.duplicateRuns,
    audit_stray_runs: audit.strayRuns,
    audit_unfinished_runs: audit.unfinishedRuns,
    audit_empty_runs: audit.emptyRuns,
    audit_metric_points: audit.metricPoints,
    duplicate_steps: audit.duplicateSteps,
    audit_ok: audit.ok,
    runs_wall_seconds: time.wallS,
    runs_active_seconds: time.activeS,
    runs_idle_gaps: time.gaps,
  };
}

/** Median wall milliseconds of each CLI probe, run as a user runs it (a new process each time). */
export function cliLatencies(sweepId: string, repeats = CLI_REPEATS): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [name, args] of Object.entries(CLI_PROBES)) {
    const times: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [MIRL, ...args(sweepId)], {
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, MLFLOW_HTTP_REQUEST_TIMEOUT: '120' },
      });
      if (r.status !== 0) break;
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    out[`cli_${name}_ms`] = times.length === repeats ? Math.round(times[Math.floor(repeats / 2)]) : null;
  }
  return out;
}

/** The figures of a closed scale sweep, from Temporal and MLflow. */
async function scaleFigures(
  o: ScaleOptions,
  sweepId: string,
  wallS: number | null,
  peakRss: number,
): Promise<Record<string, number | string | boolean | null>> {
  const result = (await o.client.workflow.getHandle(sweepId).result()) as SweepResult;
  const trials = result.progress.total;
  const history = await historyStats(o.client, sweepId);
  const audit = await auditMlflow(o, sweepId);
  const done = result.progress.counts.done;
  return {
    measure: 'sweep-scale',
    sweep_id: sweepId,
    trials,
    concurrency: o.concurrency,
    done,
    failed: result.progress.counts.failed,
    started_total: result.carry.startedTotal,
    seconds_total: wallS,
    seconds_per_trial: wallS === null ? null : wallS / trials,
    active_seconds_per_trial: Number(audit.runs_active_seconds) / trials,
    workflow_runs: history.runs,
    history_events_max_per_run: history.maxEvents,
    history_bytes_max_per_run: history.maxBytes,
    history_events_total: history.totalEvents,
    result_bytes: JSON.stringify(result).length,
    worker_rss_peak_mib: peakRss / 2 ** 20,
    ...audit,
    ...cliLatencies(sweepId),
    every_trial_once:
      done === trials &&
      result.carry.startedTotal === trials &&
      audit.mlflow_runs === trials &&
      audit.mlflow_finished === trials &&
      audit.audit_ok === true,
  };
}

export async function measureScale(o: ScaleOptions): Promise<Record<string, number | string | boolean | null>> {
  const t0 = performance.now();
  const sweepId = await o.launch(
    scaleSpec(o.trials, o.concurrency),
    o.continueAsNewAfter ? { continueAsNewAfterStarts: o.continueAsNewAfter } : {},
  );
  o.log(`scale: launched ${sweepId} (${o.trials} trials, ${o.concurrency} at once)`);
  const { peakRss } = await follow(o, sweepId);
  return scaleFigures(o, sweepId, (performance.now() - t0) / 1000, peakRss);
}

/**
 * Follows a scale sweep launched earlier (one whose bench process ended with its session)
 * to its close and reports the same figures; its wall time comes from the trial runs, with
 * the stretches when the stack was down reported apart.
 */
export async function attachScale(
  o: ScaleOptions,
  sweepId: string,
): Promise<Record<string, number | string | boolean | null>> {
  o.log(`scale: following ${sweepId}`);
  const { peakRss } = await follow(o, sweepId);
  return scaleFigures(o, sweepId, null, peakRss);
}
