// The sweep's bookkeeping as pure functions over SweepCarry: what runs next, what an
// outcome changes, what `progress` reports. No Temporal imports, so unit tests drive it
// directly and the workflow stays a thin loop around it.
import type { Trial } from '../spec/index.js';
import { TRIAL_STATES, type RerunRequest, type StateCounts, type SweepCarry, type SweepProgress, type TrialOutcome, type TrialRecord } from './types.js';

export function initialCarry(trialCount: number, maxConcurrent: number): SweepCarry {
  return {
    trials: Array.from({ length: trialCount }, (): TrialRecord => ({ state: 'pending', runs: 0 })),
    paused: false,
    cancelRequested: false,
    maxConcurrent,
    startedTotal: 0,
    generation: 0,
  };
}

export function emptyCounts(): StateCounts {
  return Object.fromEntries(TRIAL_STATES.map((s) => [s, 0])) as StateCounts;
}

export function countStates(carry: SweepCarry): StateCounts {
  const counts = emptyCounts();
  for (const t of carry.trials) counts[t.state]++;
  return counts;
}

/** Indices to start now: the lowest pending ones, as many as the window has room for. */
export function nextToStart(carry: SweepCarry): number[] {
  if (carry.paused || carry.cancelRequested) return [];
  let room = carry.maxConcurrent - carry.trials.filter((t) => t.state === 'running').length;
  const out: number[] = [];
  for (let i = 0; i < carry.trials.length && room > 0; i++) {
    if (carry.trials[i].state === 'pending') {
      out.push(i);
      room--;
    }
  }
  return out;
}

export function markStarted(carry: SweepCarry, index: number, now: number): TrialRecord {
  const t = carry.trials[index];
  t.state = 'running';
  t.runs += 1;
  t.startedAt = now;
  t.error = undefined;
  carry.startedTotal += 1;
  return t;
}

/**
 * Records a trial's outcome. Reports of an earlier start (a rerun superseded it) or of a
 * trial no longer running (already recorded through the other path) are ignored.
 */
export function applyOutcome(carry: SweepCarry, outcome: TrialOutcome, now: number): boolean {
  const t = carry.trials[outcome.index];
  if (!t || t.state !== 'running' || outcome.run !== t.runs) return false;
  t.state = outcome.state;
  t.recordedAt = now;
  if (outcome.result) {
    t.step = outcome.result.step;
    t.metrics = { ...outcome.result.train, ...outcome.result.eval };
    t.resumedFrom = outcome.result.resumedFrom;
    t.backend = outcome.result.backend;
  }
  t.error = outcome.error;
  return true;
}

/** Puts failed (and cancelled) trials back in the queue; returns the indices requeued. */
export function requeueForRerun(carry: SweepCarry, request: RerunRequest = {}): number[] {
  const wanted = request.indices ? new Set(request.indices) : null;
  const requeued: number[] = [];
  carry.trials.forEach((t, i) => {
    if (wanted && !wanted.has(i)) return;
    if (t.state !== 'failed' && t.state !== 'cancelled') return;
    t.state = 'pending';
    if (request.overrides) t.overrides = { ...t.overrides, ...request.overrides };
    requeued.push(i);
  });
  if (requeued.length > 0) carry.cancelRequested = false;
  return requeued;
}

export function cancelPending(carry: SweepCarry): void {
  carry.cancelRequested = true;
  for (const t of carry.trials) if (t.state === 'pending') t.state = 'cancelled';
}

export function isSettled(carry: SweepCarry): boolean {
  return carry.trials.every((t) => t.state !== 'pending' && t.state !== 'running');
}

export function axisKey(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export interface ProgressMeta {
  sweepId: string;
  name: string;
  study: string;
  profile: string | null;
  taskQueue: string;
}

export function buildProgress(carry: SweepCarry, trials: readonly Trial[], meta: ProgressMeta): SweepProgress {
  const axes: SweepProgress['axes'] = {};
  trials.forEach((trial, i) => {
    const state = carry.trials[i].state;
    for (const [axis, value] of Object.entries(trial.axes)) {
      const perValue = (axes[axis] ??= {});
      (perValue[axisKey(value)] ??= emptyCounts())[state]++;
    }
  });
  return {
    ...meta,
    total: trials.length,
    paused: carry.paused,
    cancelRequested: carry.cancelRequested,
    maxConcurrent: carry.maxConcurrent,
    generation: carry.generation,
    startedTotal: carry.startedTotal,
    finished: isSettled(carry),
    counts: countStates(carry),
    axes,
    trials: trials.map((trial, i) => {
      const t = carry.trials[i];
      return {
        index: i,
        trialId: trial.trialId,
        runName: trial.runName,
        axes: trial.axes,
        state: t.state,
        runs: t.runs,
        step: t.step ?? null,
        metrics: t.metrics ?? {},
        resumedFrom: t.resumedFrom ?? null,
        backend: t.backend ?? null,
        error: t.error ?? null,
        startedAt: t.startedAt ?? null,
        recordedAt: t.recordedAt ?? null,
      };
    }),
  };
}
