// A finished sweep checked trial by trial against what MLflow holds: one run per trial
// id, closed in the state Temporal says, and no metric step logged twice. This is the
// "nothing lost, nothing duplicated" claim made checkable on every trial of a sweep
// (issue 35), where the scale benchmark used to look at a sample.
import type { Metric, Run } from '../tracking/index.js';
import { TAGS } from './mlflow-contract.js';

/** What Temporal says of one trial: its id and its state. */
export interface ExpectedTrial {
  trialId: string;
  state: string;
}

/** One run's logged steps per metric key (every point of each history). */
export type RunHistories = ReadonlyMap<string, readonly Pick<Metric, 'step'>[]>;

export interface AuditFinding {
  trialId: string;
  problem: string;
}

export interface AuditReport {
  trials: number;
  runs: number;
  /** Done or pruned trials (they trained) that have no MLflow run. */
  missingRuns: number;
  /** Trial ids with more than one run (each extra run counts once). */
  duplicateRuns: number;
  /** Runs whose trial id Temporal does not know. */
  strayRuns: number;
  /** Done trials whose run is not FINISHED. */
  unfinishedRuns: number;
  /** MLflow run status -> count. */
  runStatuses: Record<string, number>;
  metricHistories: number;
  metricPoints: number;
  /** (key, step) pairs logged more than once, summed over runs (each extra point counts once). */
  duplicateSteps: number;
  /** Runs of done trials that logged no metric at all. */
  emptyRuns: number;
  ok: boolean;
  /** The first problems found, enough to start looking (at most AUDIT_FINDINGS_MAX). */
  findings: AuditFinding[];
}

export const AUDIT_FINDINGS_MAX = 50;

const TRAINED_STATES: ReadonlySet<string> = new Set(['done', 'pruned']);

/** Repeated steps in one history: a resumed attempt that logged a step its predecessor had. */
export function duplicateStepCount(points: readonly Pick<Metric, 'step'>[]): number {
  return points.length - new Set(points.map((p) => p.step)).size;
}

export function auditSweep(
  expected: readonly ExpectedTrial[],
  runs: readonly Run[],
  histories: ReadonlyMap<string, RunHistories>,
): AuditReport {
  const findings: AuditFinding[] = [];
  const note = (trialId: string, problem: string) => {
    if (findings.length < AUDIT_FINDINGS_MAX) findings.push({ trialId, problem });
  };
  const byTrial = new Map<string, Run[]>();
  for (const run of runs) {
    const id = run.data.tags[TAGS.trialId] ?? '';
    byTrial.set(id, [...(byTrial.get(id) ?? []), run]);
  }
  const known = new Set(expected.map((t) => t.trialId));
  const r = {
    missingRuns: 0,
    duplicateRuns: 0,
    unfinishedRuns: 0,
    metricHistories: 0,
    metricPoints: 0,
    duplicateSteps: 0,
    emptyRuns: 0,
  };
  for (const trial of expected) {
    const own = byTrial.get(trial.trialId) ?? [];
    if (own.length === 0) {
      // Only a trial that trained must have a run: one pending, queued for a worker or
      // cancelled before its start never made one.
      if (TRAINED_STATES.has(trial.state)) {
        r.missingRuns++;
        note(trial.trialId, `${trial.state} in Temporal, no MLflow run`);
      }
      continue;
    }
    if (own.length > 1) {
      r.duplicateRuns += own.length - 1;
      note(trial.trialId, `${own.length} MLflow runs`);
    }
    for (const run of own) {
      if (trial.state === 'done' && run.info.status !== 'FINISHED') {
        r.unfinishedRuns++;
        note(trial.trialId, `done in Temporal, run ${run.info.runId} is ${run.info.status}`);
      }
      const keys = histories.get(run.info.runId) ?? new Map();
      if (trial.state === 'done' && keys.size === 0) {
        r.emptyRuns++;
        note(trial.trialId, 'done, but no metric logged');
      }
      for (const [key, points] of keys) {
        r.metricHistories++;
        r.metricPoints += points.length;
        const dup = duplicateStepCount(points);
        if (dup > 0) {
          r.duplicateSteps += dup;
          note(trial.trialId, `${key}: ${dup} step(s) logged twice`);
        }
      }
    }
  }
  const stray = runs.filter((run) => !known.has(run.data.tags[TAGS.trialId] ?? ''));
  for (const run of stray)
    note(run.data.tags[TAGS.trialId] ?? '(no trial id)', `run ${run.info.runId} not in the sweep`);
  const runStatuses: Record<string, number> = {};
  for (const run of runs) runStatuses[run.info.status] = (runStatuses[run.info.status] ?? 0) + 1;
  const ok =
    r.missingRuns === 0 &&
    r.duplicateRuns === 0 &&
    stray.length === 0 &&
    r.unfinishedRuns === 0 &&
    r.duplicateSteps === 0 &&
    r.emptyRuns === 0;
  return { trials: expected.length, runs: runs.length, strayRuns: stray.length, runStatuses, ...r, ok, findings };
}

/** The audit as a few lines for people. */
export function renderAudit(sweepId: string, a: AuditReport): string {
  const statuses = Object.entries(a.runStatuses)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
  const lines = [
    `sweep ${sweepId}: ${a.trials} trials in Temporal, ${a.runs} trial runs in MLflow (${statuses || 'none'})`,
    `  runs: ${a.missingRuns} missing, ${a.duplicateRuns} duplicate, ${a.strayRuns} not in the sweep, ${a.unfinishedRuns} done but not FINISHED, ${a.emptyRuns} done with no metric`,
    `  metrics: ${a.metricHistories} histories, ${a.metricPoints} points, ${a.duplicateSteps} steps logged twice`,
    ...a.findings.map((f) => `  ${f.trialId}: ${f.problem}`),
    a.ok ? 'audit passed: every trial once, nothing duplicated' : 'audit FAILED',
  ];
  return lines.join('\n') + '\n';
}
