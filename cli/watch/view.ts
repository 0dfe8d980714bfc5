// Pure views of a sweep for `mirl sweep watch`: the redrawn frame on a terminal, the
// lines printed per change elsewhere, and the ETA. Clocks and sizes are arguments so
// the tests pin them.
import { TRIAL_STATES, type SweepProgress, type TrialProgress, type TrialStateName } from '../../workflows/types.js';
import { formatMetrics } from '../output.js';
import { progressLine } from '../commands/sweep-render.js';

export interface WatchView {
  /** Temporal's workflow status: RUNNING, COMPLETED, FAILED, ... */
  status: string;
  progress: SweepProgress;
  now: number;
  /** When the sweep workflow started (ms), for the elapsed time. */
  startedAt: number | null;
  /** Steps each trial trains for, by index, when the spec could be read. */
  steps: Record<number, number>;
}

const BAR_WIDTH = 30;

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * Time until the last trial ends, from the mean duration of completed trials: running
 * trials finish their remaining share, then pending ones fill the slots that free up
 * first. Slots are the trials running now (what workers actually give the sweep),
 * at most the sweep's concurrency. Null until a trial has completed.
 */
export function estimateRemainingMs(p: SweepProgress, now: number, steps: Record<number, number> = {}): number | null {
  if (p.durations.count === 0) return null;
  const mean = p.durations.totalMs / p.durations.count;
  const running = p.trials.filter((t) => t.state === 'running');
  const pending = p.counts.pending;
  const remaining = running.map((t) => {
    const total = steps[t.index];
    if (t.step !== null && total) return mean * Math.max(0, 1 - t.step / total);
    return t.startedAt !== null ? Math.max(0, mean - (now - t.startedAt)) : mean;
  });
  const slots = Math.max(1, Math.min(p.maxConcurrent, p.counts.running || p.maxConcurrent));
  const ends = [...remaining];
  while (ends.length < slots) ends.push(0);
  // Past a few thousand pending trials the queue spreads evenly over the slots.
  if (pending > 10_000) return Math.max(0, ...ends) + (pending * mean) / slots;
  for (let i = 0; i < pending; i++) {
    ends.sort((a, b) => a - b);
    ends[0] += mean;
  }
  return Math.max(0, ...ends);
}

function bar(count: number, total: number): string {
  const filled = total > 0 ? Math.round((count / total) * BAR_WIDTH) : 0;
  return '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
}

function headline(v: WatchView): string {
  const p = v.progress;
  const parts = [
    `sweep ${p.sweepId} (${p.study}${p.profile ? `, profile ${p.profile}` : ''}): ${v.status.toLowerCase()}`,
  ];
  if (p.paused) parts.push('paused');
  if (p.cancelRequested) parts.push('cancelling');
  if (v.startedAt !== null) parts.push(`${formatDuration(v.now - v.startedAt)} elapsed`);
  if (v.status === 'RUNNING') {
    const eta = estimateRemainingMs(p, v.now, v.steps);
    parts.push(eta === null ? 'ETA after the first trial' : `ETA ${formatDuration(eta)}`);
  }
  return parts.join(' · ');
}

function trialStep(t: TrialProgress, steps: Record<number, number>): string {
  if (t.step === null) return 'starting';
  return steps[t.index] ? `step ${t.step}/${steps[t.index]}` : `step ${t.step}`;
}

/** The terminal frame: a bar per state, then each running trial with its step and latest metrics. */
export function renderFrame(v: WatchView, columns = 100): string[] {
  const p = v.progress;
  const lines = [headline(v)];
  for (const state of TRIAL_STATES) {
    const n = p.counts[state];
    // Only sweeps with early_stop prune: the others keep the frame they always had.
    if (state === 'pruned' && n === 0) continue;
    lines.push(`  ${state.padEnd(9)} ${bar(n, p.total)} ${String(n).padStart(String(p.total).length)}/${p.total}`);
  }
  const running = p.trials.filter((t) => t.state === 'running');
  if (running.length > 0) {
    lines.push('  running trials:');
    for (const t of running) {
      const metrics = Object.keys(t.metrics).length ? `  ${formatMetrics(t.metrics)}` : '';
      const l = t.liveness;
      const note = l?.queued
        ? '  [queued for a worker]'
        : l?.stale
          ? `  [stale: no heartbeat for ${l.heartbeatAgeS} s]`
          : '';
      lines.push(`    ${String(t.index).padStart(3)} ${t.runName}  ${trialStep(t, v.steps)}${note}${metrics}`);
    }
  }
  const failed = p.recent.filter((t) => t.state === 'failed');
  for (const t of failed.slice(-3)) lines.push(`  failed ${t.index} ${t.runName}: ${t.error ?? 'no reason recorded'}`);
  const width = Math.max(20, columns - 1);
  return lines.map((l) => ([...l].length > width ? [...l].slice(0, width - 1).join('') + '…' : l));
}

function trialLine(t: TrialProgress): string {
  const base = `trial ${t.index} ${t.runName}: ${t.state}`;
  if (t.state === 'failed' || t.state === 'cancelled' || t.state === 'pruned')
    return t.error ? `${base} (${t.error})` : base;
  if (t.state === 'done' && Object.keys(t.metrics).length) return `${base} ${formatMetrics(t.metrics)}`;
  return base;
}

const outcomeKey = (t: TrialProgress) => `${t.index}:${t.runs}:${t.state}`;

/**
 * Plain lines for logs and pipes: on the first look the running trials and the newest
 * outcomes, then one line per trial that starts or ends and one per change of counts.
 */
export function changeLines(prev: WatchView | undefined, next: WatchView): string[] {
  const out: string[] = [];
  if (!prev) out.push(headline(next));
  const wasRunning = new Set(
    prev?.progress.trials.filter((t) => t.state === 'running').map((t) => `${t.index}:${t.runs}`) ?? [],
  );
  const seen = new Set((prev?.progress.recent ?? []).map(outcomeKey));
  for (const t of next.progress.trials)
    if (t.state === 'running' && !wasRunning.has(`${t.index}:${t.runs}`)) out.push(trialLine(t));
  for (const t of next.progress.recent) if (!seen.has(outcomeKey(t))) out.push(trialLine(t));
  const line = progressLine(next.progress);
  if (!prev || line !== progressLine(prev.progress) || out.length > 0) {
    const eta = next.status === 'RUNNING' ? estimateRemainingMs(next.progress, next.now, next.steps) : null;
    out.push(eta === null ? line : `${line}; ETA ${formatDuration(eta)}`);
  }
  return out;
}

export function finalLine(v: WatchView): string {
  return `sweep ${v.status.toLowerCase()}: ${progressLine(v.progress)}`;
}

/** 0 only when the sweep completed with every trial done. */
export function exitCodeFor(status: string, p: SweepProgress): number {
  return status === 'COMPLETED' && p.counts.failed === 0 && p.counts.cancelled === 0 ? 0 : 1;
}
