// `mirl compare` output: an aligned table for people, CSV and JSON for machines, and the
// study's verdicts below the table.
import type { Comparison, MetricSummary } from './aggregate.js';
import type { ComparisonResult, ProtocolVerdict, StudyVerdicts } from './verdicts.js';

export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '-';
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}

function digits(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1000 ? x.toFixed(0) : a >= 1 ? x.toFixed(3) : x.toPrecision(3);
}

/** mean ± sd (se, n): the sd says how seeds spread, the se how well the mean is known. */
export function formatSummary(s: MetricSummary): string {
  if (s.mean === null) return '-';
  if (s.sd === null) return `${digits(s.mean)} (n=${s.n})`;
  const se = s.se ?? s.sd / Math.sqrt(s.n);
  return `${digits(s.mean)} ± ${digits(s.sd)} (se ${digits(se)}, n=${s.n})`;
}

/** Columns padded to their widest cell, two spaces apart. */
function aligned(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((cells) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  );
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
  return aligned([header, ...body]).join('\n');
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
    ...c.metrics.flatMap((m) => [`${m}_mean`, `${m}_sd`, `${m}_se`, `${m}_n`]),
  ];
  const rows = c.rows.map((r) => [
    ...c.axes.map((a) => (r.config[a] === null ? '' : formatValue(r.config[a]))),
    String(r.trials),
    String(r.done),
    String(r.failed),
    String(r.cancelled),
    String(r.pruned),
    ...c.metrics.flatMap((m) => [
      num(r.metrics[m].mean),
      num(r.metrics[m].sd),
      num(r.metrics[m].se ?? null),
      String(r.metrics[m].n),
    ]),
  ]);
  return [header, ...rows].map((cells) => cells.map(csvCell).join(',')).join('\n') + '\n';
}

const signed = (x: number) => (x > 0 ? '+' : '') + digits(x);

function withinText(within: Record<string, unknown>): string {
  const parts = Object.entries(within).map(([k, v]) => `${k}=${formatValue(v)}`);
  return parts.length ? parts.join(' ') : '-';
}

function sideText(s: { mean: number | null; sd: number | null; n: number }): string {
  if (s.mean === null) return `- (n=${s.n})`;
  return `${digits(s.mean)}${s.sd === null ? '' : ` ± ${digits(s.sd)}`} (n=${s.n})`;
}

function comparisonCells(c: ComparisonResult): string[] {
  const iv = c.interval;
  return [
    c.metric,
    c.expected,
    withinText(c.within),
    sideText(c.a),
    c.b ? sideText(c.b) : c.value === null ? '-' : digits(c.value),
    iv ? signed(iv.diff) : '-',
    iv ? `[${signed(iv.lo)}, ${signed(iv.hi)}]` : '-',
    iv ? iv.df.toFixed(1) : '-',
    c.exceedsSeedSpread === null ? '-' : c.exceedsSeedSpread ? 'yes' : 'no',
    c.verdict,
  ];
}

function protocolHeading(p: ProtocolVerdict): string {
  const counts = Object.entries(p.counts)
    .filter(([, n]) => n > 0)
    .map(([v, n]) => `${n} ${v}`)
    .join(', ');
  const what = p.protocol ? `${p.protocol} linear evaluation (${p.metrics.join(', ')})` : p.metrics.join(', ');
  return `verdict, ${what}: ${p.verdict.toUpperCase()} (${counts} of ${p.comparisons.length} comparisons)`;
}

/**
 * The study's verdicts below the compare table: the claim, then per protocol its verdict
 * and one line per comparison (a and b as mean ± sd (n), a - b with its 95% interval
 * and degrees of freedom, whether |a - b| exceeds the larger sd, the comparison's verdict).
 */
export function renderVerdicts(v: StudyVerdicts): string {
  const header = ['metric', 'paper', 'within', 'a', 'b', 'a - b', '95% interval', 'df', '> seed sd', 'verdict'];
  const lines = [`claim (${v.study}): ${v.claim}`];
  for (const p of v.protocols) {
    lines.push(protocolHeading(p), ...aligned([header, ...p.comparisons.map(comparisonCells)]).map((l) => `  ${l}`));
  }
  lines.push(
    "intervals: Welch (configurations across seeds), paired t (a trial's last minus its first evaluation) or one-sample t (against a fixed value); finished trials only",
  );
  if (v.untested) lines.push(`not tested: ${v.untested}`);
  for (const n of v.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}
