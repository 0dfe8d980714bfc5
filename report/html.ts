// The report as one self-contained HTML page: the figures embedded as SVG data, the final
// values and the trials left out as tables. No scripts, fonts or styles from elsewhere,
// so it opens offline and as an MLflow artifact.
import { formatSummary, formatValue } from '../results/render.js';
import type { ComparisonResult } from '../results/verdicts.js';
import type { Report } from './build.js';
import { metricTitle } from './catalogue.js';
import { paperValueText } from './paper-values.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

function table(header: string[], rows: string[][]): string {
  const th = header.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table>\n<thead><tr>${th}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

function finalTable(report: Report): string {
  const c = report.final;
  return table(
    [...c.axes, 'finished', 'failed or cancelled', ...c.metrics.map(metricTitle)],
    c.rows.map((r) => [
      ...c.axes.map((a) => formatValue(r.config[a])),
      `${r.done}/${r.trials}`,
      String(r.failed + r.cancelled),
      ...c.metrics.map((m) => formatSummary(r.metrics[m])),
    ]),
  );
}

const num = (x: number) => x.toPrecision(3);

function comparisonRow(c: ComparisonResult): string[] {
  const side = (s: { mean: number | null; sd: number | null; n: number }) =>
    s.mean === null ? `- (n=${s.n})` : `${num(s.mean)}${s.sd === null ? '' : ` ± ${num(s.sd)}`} (n=${s.n})`;
  const iv = c.interval;
  return [
    c.metric,
    c.expected,
    Object.entries(c.within)
      .map(([k, v]) => `${k}=${formatValue(v)}`)
      .join(' '),
    side(c.a),
    c.b ? side(c.b) : c.value === null ? '-' : num(c.value),
    iv ? `${num(iv.diff)} [${num(iv.lo)}, ${num(iv.hi)}], df ${iv.df.toFixed(1)}` : '-',
    c.exceedsSeedSpread === null ? '-' : c.exceedsSeedSpread ? 'yes' : 'no',
    c.verdict,
  ];
}

/** The claim's tests, one table per linear-evaluation protocol. */
function verdictSection(report: Report): string {
  const v = report.verdicts;
  if (!v) return '';
  const header = ['metric', 'paper', 'within', 'a', 'b', 'a - b [95% interval]', '|a - b| > larger sd', 'verdict'];
  const protocols = v.protocols.map((p) => {
    const what = p.protocol ? `${p.protocol} linear evaluation (${p.metrics.join(', ')})` : p.metrics.join(', ');
    return `<h3>${escapeHtml(what)}: ${escapeHtml(p.verdict)}</h3>\n${table(header, p.comparisons.map(comparisonRow))}`;
  });
  const extra = [...(v.untested ? [`Not tested: ${v.untested}.`] : []), ...v.notes]
    .map((n) => `<p class="note">${escapeHtml(n)}</p>`)
    .join('\n');
  return `<h2>The paper's claim</h2>
<p class="meta">${escapeHtml(v.claim)}. Finished trials only; 95% intervals: Welch across configurations, paired t for a trial's change from its first to its last evaluation, one-sample t against a fixed value. Shown: the interval excludes 0 on the paper's side; opposite: on the other side.</p>
${protocols.join('\n')}
${extra}`;
}

function excludedTable(report: Report): string {
  const seen = new Set<string>();
  const rows: string[][] = [];
  for (const f of report.figures) {
    for (const c of f.data.configs) {
      for (const e of c.excluded) {
        if (seen.has(e.trialId)) continue;
        seen.add(e.trialId);
        rows.push([c.label, formatValue(e.seed), e.status.toLowerCase(), e.trialId]);
      }
    }
  }
  return rows.length
    ? `<h2>Trials not in the figures</h2>\n${table(['configuration', 'seed', 'state', 'trial'], rows)}`
    : '';
}

/** The caption's account of the dashed marks, with their numbers, so the figure needs no guessing. */
function paperCaption(f: Report['figures'][number]): string {
  if (!f.paperValues.length) return '';
  const protocols = [...new Set(f.paperValues.flatMap((v) => (v.protocol ? [v.protocol] : [])))];
  const protocol = protocols.length ? `; linear evaluation under the ${protocols.join(', ')} protocol` : '';
  const values = f.paperValues
    .map((v) => `${v.label} ${paperValueText(v)}${v.at === 'level' ? '' : ` (${v.at})`}`)
    .join(', ');
  return ` Dashed marks (a shaded band for a range) are the paper's values read from its figures (secondary, unverified${protocol}): ${values}.`;
}

const STYLE = `
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 2em; }
.meta { color: #555; } figure { margin: 1.5em 0; } figcaption { color: #555; font-size: 0.9em; }
figure img { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 0.9em; } th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.8em; text-align: left; }
th { background: #f4f4f4; } .note { color: #8a4b00; }`;

/** 95 s, 12.5 min, 3.2 h: the unit a reader takes in at a glance. */
export function formatDuration(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function renderHtml(report: Report, svgs: ReadonlyMap<string, string>): string {
  const states = Object.entries(report.trialStates)
    .map(([s, n]) => `${n} ${s.toLowerCase()}`)
    .join(', ');
  const expected = report.expected === null ? '' : ` of ${report.expected} in the spec`;
  const figures = report.figures
    .map((f) => {
      const svg = svgs.get(f.name) ?? '';
      const seeds = f.data.configs.map((c) => `${c.label}: ${c.finished} of ${c.trials}`).join('; ');
      // An <img> per figure rather than inline SVG: Vega's SVGs reuse clip-path ids, which would clash in one document.
      const img = `<img alt="${escapeHtml(f.title)}" src="data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}">`;
      return `<figure id="${escapeHtml(f.name)}">\n${img}\n<figcaption>${escapeHtml(f.title)}. Finished seeds per configuration: ${escapeHtml(seeds)}.${escapeHtml(paperCaption(f))} Files: ${escapeHtml(f.name)}.svg, ${escapeHtml(f.name)}.png, ${escapeHtml(f.name)}.vl.json.</figcaption>\n</figure>`;
    })
    .join('\n');
  const skipped = report.skipped
    .map((s) => `<p class="note">No figure ${escapeHtml(s.name)}: ${escapeHtml(s.reason)}.</p>`)
    .join('\n');
  const notes = report.notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('\n');
  const { runs, trialSeconds, longestSeconds, breakdown } = report.compute;
  const share = breakdown
    ? ` Over ${breakdown.trials} finished trials, training took ${formatDuration(Math.round(breakdown.seconds.train ?? 0))} and evaluation ${formatDuration(Math.round(breakdown.seconds.eval ?? 0))} (${Math.round(breakdown.evalShare * 100)}% of the two).`
    : '';
  const compute = runs
    ? `<p class="meta">Compute: ${runs} closed trial runs, ${formatDuration(trialSeconds)} of trial wall time in all (longest run ${formatDuration(longestSeconds)}).${escapeHtml(share)}</p>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(`mirl report: ${report.sweepId}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(report.sweepId)}</h1>
<p class="meta">study <b>${escapeHtml(report.study)}</b>${report.profile ? `, profile ${escapeHtml(report.profile)}` : ''}; MLflow experiment ${escapeHtml(report.experiment.name)}${report.status ? `, sweep run ${escapeHtml(report.status.toLowerCase())}` : ''}; trials: ${escapeHtml(states || 'none')}${escapeHtml(expected)}. Generated ${escapeHtml(report.generatedAt)}.</p>
${compute}
${notes}
${figures}
${skipped}
<h2>Final values</h2>
<p class="meta">Latest logged value of each finished trial; mean ± sample sd (standard error sd/√n, n seeds).</p>
${finalTable(report)}
${verdictSection(report)}
${excludedTable(report)}
</body>
</html>
`;
}
