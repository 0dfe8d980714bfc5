// Text views of a sweep's progress for people; --json prints the objects as they are.
import type { SweepProgress } from '../../workflows/types.js';
import { formatMetrics } from '../output.js';

export function progressLine(p: SweepProgress): string {
  const c = p.counts;
  const flags = [p.paused ? 'paused' : '', p.cancelRequested ? 'cancelling' : ''].filter(Boolean);
  return (
    `${c.done}/${p.total} done, ${c.running} running, ${c.pending} pending, ${c.failed} failed, ${c.cancelled} cancelled` +
    (flags.length ? ` [${flags.join(', ')}]` : '')
  );
}

export function renderStatus(status: string, p: SweepProgress): string {
  const lines = [
    `sweep ${p.sweepId} (${p.study}${p.profile ? `, profile ${p.profile}` : ''}): ${status.toLowerCase()}`,
    `  ${progressLine(p)}; at most ${p.maxConcurrent} at once on ${p.taskQueue}`,
  ];
  for (const [axis, values] of Object.entries(p.axes)) {
    const parts = Object.entries(values).map(([v, c]) => `${v} ${c.done}/${c.done + c.running + c.pending + c.failed + c.cancelled}`);
    lines.push(`  ${axis}: ${parts.join(', ')}`);
  }
  lines.push('');
  for (const t of p.trials) {
    const step = t.step === null ? '' : ` step ${t.step}`;
    const resumed = t.resumedFrom ? ` (resumed from ${t.resumedFrom})` : '';
    const detail = t.error ? `  ${t.error}` : Object.keys(t.metrics).length ? `  ${formatMetrics(t.metrics)}` : '';
    lines.push(`  ${String(t.index).padStart(3)} ${t.state.padEnd(9)} ${t.runName}${step}${resumed}${detail}`);
  }
  return lines.join('\n');
}
