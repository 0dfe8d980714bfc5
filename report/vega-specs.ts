// Vega-Lite specs of the report's figures, built from aggregated curves (pure). The data
// travel inline, so a spec saved next to its SVG redraws the figure on its own.
import type { TopLevelSpec } from 'vega-lite';
import type { ConfigCurves, CurveSet } from './aggregate.js';
import { metricTitle, X_TITLES, type BandFigure, type CurveFigure } from './catalogue.js';
import { PAPER_LEGEND, paperValueText, type PaperMark } from './paper-values.js';

const WIDTH = 480;
const HEIGHT = 300;
const PANEL_WIDTH = 300;
const PANEL_HEIGHT = 200;
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
const BAND_COLORS = ['#c6dbef', '#6baed6', '#2171b5'];
/** The paper's marks that belong to no single series: dark enough to read, not a series colour. */
const PAPER_NEUTRAL = '#444';
const PAPER_DASH = [6, 4];

export interface CurveRow {
  configuration: string;
  x: number;
  mean: number;
  lo: number;
  hi: number;
  sd: number | null;
  n: number;
}

export interface BandRow {
  configuration: string;
  band: string;
  x: number;
  lo: number;
  hi: number;
  n: number;
}

/** One row per configuration and x; the band is mean ± sd (a lone seed gives no band). */
export function curveRows(configs: ConfigCurves[], metric: string): CurveRow[] {
  return configs.flatMap((c) =>
    (c.curves[metric] ?? []).map((p) => ({
      configuration: c.label,
      x: p.x,
      mean: p.mean,
      lo: p.mean - (p.sd ?? 0),
      hi: p.mean + (p.sd ?? 0),
      sd: p.sd,
      n: p.n,
    })),
  );
}

/** The bands' edges are each percentile's mean over seeds, joined on x. */
export function bandRows(configs: ConfigCurves[], figure: BandFigure): BandRow[] {
  return configs.flatMap((c) =>
    figure.bands.flatMap((b) => {
      const hi = new Map((c.curves[b.hi] ?? []).map((p) => [p.x, p]));
      return (c.curves[b.lo] ?? []).flatMap((lo) => {
        const h = hi.get(lo.x);
        return h
          ? [{ configuration: c.label, band: b.label, x: lo.x, lo: lo.mean, hi: h.mean, n: Math.min(lo.n, h.n) }]
          : [];
      });
    }),
  );
}

const subtitle = (sweepId: string | undefined, what: string) => (sweepId ? `${sweepId} · ${what}` : what);

const legendTitle = (set: CurveSet) => (set.axes.length ? set.axes.join(', ') : 'configuration');

function baseConfig() {
  return {
    font: FONT,
    view: { stroke: '#ddd' },
    axis: { grid: true, gridColor: '#eee' },
    legend: { labelLimit: 400, symbolOpacity: 1 },
  };
}

export function curvesSpec(
  figure: CurveFigure,
  set: CurveSet,
  options: { sweepId?: string; trueMi?: number | null; paper?: PaperMark[] } = {},
): TopLevelSpec {
  const rows = curveRows(set.configs, figure.metric);
  const domain = set.configs.map((c) => c.label);
  const x = { field: 'x', type: 'quantitative' as const, title: X_TITLES[figure.x] };
  const color = {
    field: 'configuration',
    type: 'nominal' as const,
    title: legendTitle(set),
    scale: { domain },
    sort: domain,
  };
  const y = { field: 'mean', type: 'quantitative' as const, title: metricTitle(figure.metric), scale: { zero: false } };
  const layers: object[] = [
    {
      mark: { type: 'area', opacity: 0.18 },
      encoding: { x, y: { field: 'lo', type: 'quantitative', scale: { zero: false } }, y2: { field: 'hi' }, color },
    },
    { mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y, color } },
    { mark: { type: 'point', filled: true, size: 18 }, encoding: { x, y, color } },
  ];
  if (figure.trueMi && options.trueMi != null) {
    layers.push(
      {
        data: { values: [{ trueMi: options.trueMi }] },
        mark: { type: 'rule', strokeDash: [6, 4], color: 'black' },
        encoding: { y: { field: 'trueMi', type: 'quantitative' } },
      },
      {
        data: { values: [{ trueMi: options.trueMi, label: `true MI = ${options.trueMi.toFixed(3)}` }] },
        mark: { type: 'text', align: 'left', dx: 4, dy: -6, x: 0, color: 'black' },
        encoding: { y: { field: 'trueMi', type: 'quantitative' }, text: { field: 'label' } },
      },
    );
  }
  layers.push(...paperLayers(options.paper ?? [], color));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: figure.title, subtitle: subtitle(options.sweepId, 'mean ± sd over the seeds of finished trials') },
    width: WIDTH,
    height: HEIGHT,
    data: { values: rows },
    layer: layers,
    config: baseConfig(),
  } as TopLevelSpec;
}

interface PaperRow {
  configuration: string | null;
  lo: number;
  hi: number;
  source: string;
  label: string;
}

/**
 * The paper's values on the curves' axes: a dashed rule per value (at both edges of a
 * range, with the range shaded between). One that belongs to a single series takes its
 * colour, so the legend names it; the others are dark grey with a text label. All share
 * one dashed legend entry, and their y values widen the shared y scale, so the axis
 * always reaches them.
 */
function paperLayers(marks: PaperMark[], color: object): object[] {
  const rows = (ms: PaperMark[]): PaperRow[] =>
    ms.map((m) => ({
      configuration: m.configuration,
      lo: m.lo,
      hi: m.hi,
      source: PAPER_LEGEND,
      label: `paper ${m.label} ≈ ${paperValueText(m)}`,
    }));
  const y = (field: 'lo' | 'hi') => ({ field, type: 'quantitative', scale: { zero: false } });
  const strokeDash = {
    field: 'source',
    type: 'nominal',
    scale: { domain: [PAPER_LEGEND], range: [PAPER_DASH] },
    legend: { title: null, symbolType: 'stroke', symbolStrokeWidth: 1.5, symbolSize: 300 },
  };
  const rules = (values: PaperRow[], paint: object) => {
    const own = 'color' in paint ? {} : { color: PAPER_NEUTRAL };
    const ranges = values.filter((r) => r.hi > r.lo);
    const rule = (data: PaperRow[], edge: 'lo' | 'hi') => ({
      data: { values: data },
      mark: { type: 'rule', strokeWidth: 1.5, ...own },
      encoding: { y: y(edge), strokeDash, ...paint },
    });
    if (!ranges.length) return [rule(values, 'lo')];
    const band = {
      data: { values: ranges },
      mark: { type: 'rect', opacity: 0.1, ...own },
      encoding: { y: y('lo'), y2: { field: 'hi' }, ...paint },
    };
    return [band, rule(values, 'lo'), rule(ranges, 'hi')];
  };
  const coloured = rows(marks.filter((m) => m.configuration !== null));
  const neutral = rows(marks.filter((m) => m.configuration === null));
  return [
    ...(coloured.length ? rules(coloured, { color }) : []),
    ...(neutral.length
      ? [
          ...rules(neutral, {}),
          {
            data: { values: neutral },
            mark: { type: 'text', align: 'left', dx: 4, dy: -6, x: 0, color: PAPER_NEUTRAL, fontSize: 10 },
            encoding: { y: y('hi'), text: { field: 'label' } },
          },
        ]
      : []),
  ];
}

export function bandsSpec(figure: BandFigure, set: CurveSet, options: { sweepId?: string } = {}): TopLevelSpec {
  const rows = bandRows(set.configs, figure);
  const panels = set.configs.map((c) => c.label);
  const bands = figure.bands.map((b) => b.label);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: figure.title,
      subtitle: subtitle(
        options.sweepId,
        'percentiles over the evaluated inputs, each edge a mean over finished seeds',
      ),
    },
    data: { values: rows },
    facet: { field: 'configuration', type: 'nominal', title: legendTitle(set), sort: panels },
    columns: Math.min(panels.length, 3),
    spec: {
      width: PANEL_WIDTH,
      height: PANEL_HEIGHT,
      mark: { type: 'area', opacity: 0.75 },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: X_TITLES[figure.x] },
        y: { field: 'lo', type: 'quantitative', title: figure.yTitle, stack: null, scale: { zero: false } },
        y2: { field: 'hi' },
        color: {
          field: 'band',
          type: 'nominal',
          title: 'band',
          scale: { domain: bands, range: BAND_COLORS.slice(0, bands.length) },
          sort: bands,
        },
      },
    },
    config: baseConfig(),
  } as TopLevelSpec;
}
