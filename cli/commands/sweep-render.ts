// Text views of a sweep's progress for people; --json prints the objects as they are.
import type { AxisSummary, SweepProgress, TrialProgress } from '../../workflows/types.js';
import { summariseAxis } from '../../workflows/progress.js';
import { formatMetrics } from '../output.js';

export function progressLine(p: SweepProgress): string {
  const c = p.counts;
  const flags = [p.paused ? 'paused' : '', p.cancelRequested ? 'cancelling' : ''].filter(Boolean);
  return (
    `${c.done}/${p.total} done, ${c.running} running, ${c.pending} pending, ${c.failed} failed, ${c.cancelled} cancelled` +
    (c.pruned ? `, ${c.pruned} pruned` : '') +
    (flags.length ? ` [${flags.join(', ')}]` : '')
  );
}

export function renderStatus(status: string, p: SweepProgress): string {
  const lines = [
    `sweep ${p.sweepId} (${p.study}${p.profile ? `, profile ${p.profile}` : ''}): ${status.toLowerCase()}`,
    `  ${progressLine(p)}; at most ${p.maxConcurrent} at once on ${p.taskQueue}${p.priority ? `, priority ${p.priority}` : ''}`,
  ];
  for (const [axis, values] of Object.entries(p.axes)) lines.push(`  ${axis}: ${axisLine(values)}`);
  for (const [axis, s] of Object.entries(p.axisSummaries ?? {})) lines.push(`  ${axis}: ${summaryLine(s)}`);
  lines.push('');
  for (const t of p.trials) lines.push(trialRow(t));
  const shown = p.page ? p.page.offset + p.trials.length : p.trials.length;
  const matching = p.page?.matching ?? p.trials.length;
  if (shown < matching || (p.page?.offset ?? 0) > 0) {
    const which = p.page?.states ? `${p.page.states.join('/')} trials` : 'trials';
    lines.push(
      `  (${which} ${(p.page?.offset ?? 0) + 1}-${shown} of ${matching}; --state, --offset and --limit show others)`,
    );
  }
  const closed = p.trials.filter((t) => t.liveness?.closed).length;
  if (closed > 0)
    lines.push(
      `  ${closed} trial(s) closed in Temporal without reaching the sweep: \`mirl sweep reconcile ${p.sweepId}\` tells it`,
    );
  return lines.join('\n');
}

/** Axes with many values (seeds, typically) are summed up: one entry per value would bury the rest. */
const AXIS_VALUES_LISTED = 12;

function axisLine(values: SweepProgress['axes'][string]): string {
  const entries = Object.entries(values).map(([v, c]) => ({
    v,
    done: c.done,
    total: c.done + c.running + c.pending + c.failed + c.cancelled + c.pruned,
  }));
  if (entries.length <= AXIS_VALUES_LISTED) return entries.map((e) => `${e.v} ${e.done}/${e.total}`).join(', ');
  return summaryLine(summariseAxis(values));
}

function summaryLine(s: AxisSummary): string {
  return `${s.values} values: ${s.complete} with every trial done, ${s.partly} partly, ${s.untouched} with none done`;
}

function livenessNote(t: TrialProgress): string {
  const l = t.liveness;
  if (!l) return '';
  if (l.closed) return ` [trial workflow ${l.closed.toLowerCase()}]`;
  const attempt = l.attempt > 1 ? `, attempt ${l.attempt}` : '';
  if (l.queued) return ` [queued for a worker${attempt}]`;
  if (l.stale) return ` [stale: no heartbeat for ${l.heartbeatAgeS} s${attempt}]`;
  return attempt ? ` [${attempt.slice(2)}]` : '';
}

function trialRow(t: TrialProgress): string {
  const step = t.step === null ? '' : ` step ${t.step}`;
  const resumed = t.resumedFrom ? ` (resumed from ${t.resumedFrom})` : '';
  const detail = t.error ? `  ${t.error}` : Object.keys(t.metrics).length ? `  ${formatMetrics(t.metrics)}` : '';
  return `  ${String(t.index).padStart(3)} ${t.state.padEnd(9)} ${t.runName}${step}${resumed}${livenessNote(t)}${detail}`;
}
