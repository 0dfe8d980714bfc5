// What mirl writes into MLflow, as pure functions: tag names, params, search filters,
// checkpoint artifact names, the summary, and the rule that keeps a resumed attempt
// from logging a step twice. `mirl compare` and the tests read these same names.
import { planSpec, settingText, type Spec } from '../sweep-spec/index.js';
import type { TrialConfig } from '../ml/config.js';
import { dataPathOf } from '../ml/data-path.js';
import type { FinalRunStatus, Run } from '../tracking/index.js';
import type { SweepProgress, TrialStateName } from '../workflows/types.js';

export const TAGS = {
  sweepId: 'mirl.sweep_id',
  trialId: 'mirl.trial_id',
  study: 'mirl.study',
  role: 'mirl.role',
  profile: 'mirl.profile',
  index: 'mirl.index',
  axes: 'mirl.axes',
  backend: 'mirl.backend',
  worker: 'mirl.worker',
  workflowId: 'mirl.temporal.workflow_id',
  workflowRunId: 'mirl.temporal.run_id',
  attempt: 'mirl.attempt',
  failure: 'mirl.failure',
  lastError: 'mirl.last_error',
  checkpointKey: 'mirl.checkpoint_key',
  /** The data path version (ml/data-path.ts) of a sweep and of each of its trials. */
  dataPath: 'mirl.data_path',
  /** Set when an attempt passed over a damaged checkpoint: which, why, and where it started. */
  checkpointFallback: 'mirl.checkpoint_fallback',
  /** The checkpoint step the latest resumed attempt started from. */
  resumedFromStep: 'mirl.resumed_from_step',
  /** On a trial's older run, once a rerun with other settings got a run of its own. */
  supersededBy: 'mirl.superseded_by',
  rerunOf: 'mirl.rerun_of',
  /** On a trial stopped early by the sweep's early_stop rule (status KILLED): why. */
  pruned: 'mirl.pruned',
  overhead: 'mirl.tracking_overhead_ms',
  parentRunId: 'mlflow.parentRunId',
  gitCommit: 'mlflow.source.git.commit',
  user: 'mlflow.user',
  sourceName: 'mlflow.source.name',
} as const;

export const ROLE_SWEEP = 'sweep';
export const ROLE_TRIAL = 'trial';
export const SPEC_ARTIFACT = 'spec.yaml';
export const SUMMARY_ARTIFACT = 'summary.json';
/** Every trial run as the sweep closed, so `mirl compare` reads one file instead of searching (results/sweep-runs.ts). */
export const TRIAL_RUNS_ARTIFACT = 'trial-runs.json';
export const CHECKPOINT_DIR = 'checkpoints';

export function configParams(config: TrialConfig): Record<string, string> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, settingText(v)]));
}

/** The spec's fixed settings after the profile, and the window size. */
export function sweepParams(spec: Spec, profile: string | null): Record<string, string> {
  const plan = planSpec(spec, profile);
  const params = Object.fromEntries(Object.entries(plan.fixed).map(([k, v]) => [k, settingText(v)]));
  params.max_concurrent_trials = String(plan.maxConcurrentTrials);
  return params;
}

/** An MLflow search-filter string literal; ids are slugs, so a quote means a bug upstream. */
export function literal(value: string): string {
  if (/['\\]/.test(value))
    throw new Error(`cannot search MLflow for ${JSON.stringify(value)}: quotes are not supported`);
  return `'${value}'`;
}

export function sweepRunFilter(sweepId: string): string {
  return `tags.\`${TAGS.sweepId}\` = ${literal(sweepId)} and tags.\`${TAGS.role}\` = ${literal(ROLE_SWEEP)}`;
}

export function trialRunFilter(sweepId: string, trialId: string): string {
  return `tags.\`${TAGS.trialId}\` = ${literal(trialId)} and tags.\`${TAGS.sweepId}\` = ${literal(sweepId)}`;
}

export function childRunsFilter(parentRunId: string): string {
  return `tags.\`${TAGS.parentRunId}\` = ${literal(parentRunId)}`;
}

/**
 * The run that owns a record when racing creators made several: the oldest (then the
 * smallest id), which every racer picks alike, so each deletes only its own extra run.
 */
export function oldestRun(runs: readonly Run[]): Run | undefined {
  return [...runs].sort(
    (a, b) => (a.info.startTime ?? 0) - (b.info.startTime ?? 0) || a.info.runId.localeCompare(b.info.runId),
  )[0];
}

/** The data path a run's tags record; runs from before versions were recorded have version 1. */
export function dataPathOfRun(run: Run): number {
  return dataPathOf(run.data.tags[TAGS.dataPath] === undefined ? undefined : Number(run.data.tags[TAGS.dataPath]));
}

/** Metrics of how a trial ran (the trainer's CPU, memory, speed), not of what it found. */
export const SYSTEM_PREFIX = 'system/';

/** NAME-YYYYMMDD-HHMMSS-TOKEN: the spec's name, the launch time and a random token. */
export const SWEEP_ID = /^([a-z0-9]+(?:-[a-z0-9]+)*)-(\d{8})-(\d{6})-([a-z0-9]+)$/;

/** The sweep id without its launch token (`smoke-20261129-031955-ab12` -> `smoke`); an id of another shape names itself. */
export function sweepNameOf(sweepId: string): string {
  return SWEEP_ID.exec(sweepId)?.[1] ?? sweepId;
}

export function checkpointArtifactPath(step: number): string {
  // Zero-padded so a listing sorts by step.
  return `${CHECKPOINT_DIR}/step-${String(step).padStart(10, '0')}.ckpt`;
}

/** The step of a checkpoint artifact's path, or null for anything else. */
export function checkpointStepOf(path: string): number | null {
  const m = /(?:^|\/)step-(\d+)\.ckpt$/.exec(path);
  return m ? Number(m[1]) : null;
}

/**
 * Drops values of steps the run already has. A resumed attempt replays the steps after
 * its checkpoint, some of which the previous attempt may have logged; per key, the
 * server holds a prefix of the steps (batches are sent in order), so "step <= the last
 * logged step" is exactly the set to skip.
 */
export class StepFilter {
  skipped = 0;
  constructor(private readonly last: ReadonlyMap<string, number> = new Map()) {}

  static fromRun(run: Run | undefined): StepFilter {
    return new StepFilter(new Map((run?.data.metrics ?? []).map((m) => [m.key, m.step])));
  }

  lastStep(key: string): number | undefined {
    return this.last.get(key);
  }

  fresh(step: number, metrics: Record<string, number>): Record<string, number> | null {
    let out: Record<string, number> | null = null;
    for (const key in metrics) {
      const last = this.last.get(key);
      if (last !== undefined && step <= last) {
        this.skipped++;
        continue;
      }
      (out ??= {})[key] = metrics[key];
    }
    return out;
  }
}

/** A settled trial state's run status; null while it may still run. */
export function statusOfTrialState(state: TrialStateName): FinalRunStatus | null {
  switch (state) {
    case 'done':
      return 'FINISHED';
    case 'failed':
      return 'FAILED';
    case 'cancelled':
    case 'pruned':
      return 'KILLED';
    default:
      return null;
  }
}

export interface SweepSummary {
  sweepId: string;
  name: string;
  study: string;
  profile: string | null;
  status: FinalRunStatus;
  error?: string;
  counts: SweepProgress['counts'];
  trials: {
    index: number;
    trialId: string;
    runName: string;
    runId: string | null;
    axes: Record<string, unknown>;
    state: TrialStateName;
    runs: number;
    step: number | null;
    backend: string | null;
    resumedFrom: number | null;
    error: string | null;
    metrics: Record<string, number>;
  }[];
}

export function sweepSummary(
  progress: SweepProgress,
  status: FinalRunStatus,
  runIds: ReadonlyMap<string, string>,
  error?: string,
): SweepSummary {
  return {
    sweepId: progress.sweepId,
    name: progress.name,
    study: progress.study,
    profile: progress.profile,
    status,
    ...(error ? { error } : {}),
    counts: progress.counts,
    trials: progress.trials.map((t) => ({
      index: t.index,
      trialId: t.trialId,
      runName: t.runName,
      runId: runIds.get(t.trialId) ?? null,
      axes: t.axes,
      state: t.state,
      runs: t.runs,
      step: t.step,
      backend: t.backend,
      resumedFrom: t.resumedFrom,
      error: t.error,
      metrics: t.metrics,
    })),
  };
}
