// `mirl compare` output: an aligned table for people, CSV and JSON for machines.
import type { Comparison, MetricSummary } from './aggregate.js';

export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '-';
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}

function digits(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1000 ? x.toFixed(0) : a >= 1 ? x.toFixed(3) : x.toPrecision(3);
}

export function formatSummary(s: MetricSummary): string {
  if (s.mean === null) return '-';
  const sd = s.sd === null ? '' : ` ± ${digits(s.sd)}`;
  return `${digits(s.mean)}${sd} (n=${s.n})`;
}

export function renderTable(c: Comparison): string {
  // The pruned column appears only for sweeps that stop trials early.
  const pruning = c.rows.some((r) => r.pruned > 0);
  const header = [...c.axes, 'done', 'failed', ...(pruning ? ['pruned'] : []), ...c.metrics];
  const body = c.rows.map((r) => [
    ...c.axes.map((a) => formatValue(r.config[a])),
    `${r.done}/${r.trials}`,
    String(r.failed + r.cancelled),
    ...(pruning ? [String(r.pruned)] : []),
    ...c.metrics.map((m) => formatSummary(r.metrics[m])),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(header), ...body.map(line)].join('\n');
}

function csvCell(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

const num = (x: number | null) => (x === null ? '' : String(x));

export function renderCsv(c: Comparison): string {
  const header = [
    ...c.axes,
    'trials',
    'done',
    'failed',
    'cancelled',
    'pruned',
    ...c.metrics.flatMap((m) => [`${m}_mean`, `${m}_sd`, `${m}_n`]),
  ];
  const rows = c.rows.map((r) => [
    ...c.axes.map((a) => (r.config[a] === null ? '' : formatValue(r.config[a]))),
    String(r.trials),
    String(r.done),
    String(r.failed),
    String(r.cancelled),
    String(r.pruned),
    ...c.metrics.flatMap((m) => [num(r.metrics[m].mean), num(r.metrics[m].sd), String(r.metrics[m].n)]),
  ]);
  return [header, ...rows].map((cells) => cells.map(csvCell).join(',')).join('\n') + '\n';
}
