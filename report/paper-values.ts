// The paper's values, read off its figures, as reference marks for the report's figures:
// /work/shared/REFERENCE.md, "Approximate values read from the paper's figures
// (secondary readings, unverified)". They give the scale mirl's curves are compared with,
// not exact targets. Pure: build.ts places them on a sweep's configurations and
// vega-specs.ts draws them.
import { PROTOCOL_METRICS, type Protocol } from '../results/claims.js';
import { settingText } from '../sweep-spec/index.js';

/** Every value here is a reading of a plot, not a number the paper prints. */
export const PAPER_SOURCE = "read from the paper's figure (secondary, unverified)";

/** The legend entry of the dashed marks. */
export const PAPER_LEGEND = 'paper (read from figure)';

export interface PaperValue {
  study: string;
  /**
   * The metric key of the figure the value belongs on. The paper's accuracies come from
   * the authors' notebook fit, so they sit on the notebook protocol's metric only: mirl's
   * converged fit is a different measurement that can rank the same codes differently
   * (REFERENCE.md, "Linear evaluation"), and a paper rule on its figure would read as
   * mirl disagreeing with the paper where only the protocol differs.
   */
  metric: string;
  /** The settings of the configuration the value is for; {} for the whole study or a baseline. */
  where: Record<string, string>;
  /** The value's name in a label: 'bilinear (NWJ)', 'pixel baseline'. */
  label: string;
  /** A point value has lo = hi; a range read off the figure is drawn as a band. */
  lo: number;
  hi: number;
  /** Which part of the curve it is: the final value, the first evaluation, or a level (a baseline). */
  at: 'final' | 'start' | 'level';
  /** The linear-evaluation protocol of an accuracy; null for other metrics. */
  protocol: Protocol | null;
  source: typeof PAPER_SOURCE;
  /** The figure draws this number already, from its closed form: no second mark. */
  sameAsTrueMi?: boolean;
  note?: string;
}

const NOTEBOOK = PROTOCOL_METRICS.notebook;

type Entry = Omit<PaperValue, 'study' | 'source' | 'protocol' | 'metric' | 'lo' | 'hi'> & {
  metric?: string;
  value: number | [number, number];
};

function entries(study: string, list: Entry[]): PaperValue[] {
  return list.map(({ value, metric = NOTEBOOK, ...e }) => ({
    study,
    metric,
    ...e,
    lo: typeof value === 'number' ? value : value[0],
    hi: typeof value === 'number' ? value : value[1],
    protocol: metric === NOTEBOOK ? 'notebook' : null,
    source: PAPER_SOURCE,
  }));
}

const PIXELS = 0.85;

export const PAPER_VALUES: PaperValue[] = [
  ...entries('invertible', [
    { where: { estimator: 'nce' }, label: 'NCE', value: 0.89, at: 'final' },
    { where: { estimator: 'nwj' }, label: 'NWJ', value: 0.9, at: 'final' },
    { where: {}, label: 'pixel baseline', value: PIXELS, at: 'level' },
  ]),
  ...entries('adversarial', [
    { where: {}, label: 'final', value: 0.4, at: 'final' },
    {
      where: {},
      label: 'pixel baseline',
      value: PIXELS,
      at: 'level',
      note: "the invertible study's reading: the same top-half pixels under the same protocol",
    },
  ]),
  ...entries('hard-to-invert', [
    { where: {}, label: 'start', value: 0.84, at: 'start' },
    { where: {}, label: 'end', value: 0.9, at: 'final' },
  ]),
  ...entries('critic-capacity', [
    { where: { critic: 'bilinear', estimator: 'nwj' }, label: 'bilinear (NWJ)', value: 0.89, at: 'final' },
    { where: { critic: 'separable', estimator: 'nwj' }, label: 'separable (NWJ)', value: 0.87, at: 'final' },
    { where: { critic: 'concat', estimator: 'nwj' }, label: 'concat (NWJ)', value: 0.84, at: 'final' },
  ]),
  ...entries('encoder-architecture', [
    { where: { encoder: 'convnet' }, label: 'ConvNet', value: [0.9, 0.92], at: 'final', note: 'at either target t' },
    { where: { encoder: 'mlp' }, label: 'MLP', value: [0.8, 0.84], at: 'final', note: 'at either target t' },
  ]),
  ...['i_est_test', 'i_est_train'].flatMap((metric) =>
    entries('noniid', [{ metric, where: {}, label: 'true MI', value: 0.0204, at: 'level', sameAsTrueMi: true }]),
  ),
];

/** The paper's values for one study's figure of one metric. */
export function paperValuesFor(study: string, metric: string): PaperValue[] {
  return PAPER_VALUES.filter((v) => v.study === study && v.metric === metric);
}

/** A configuration of the sweep, as its figure's legend names it, with every setting its trials share. */
export interface SeriesSettings {
  label: string;
  settings: Record<string, string>;
}

/**
 * Each configuration's settings: its axis values over the settings every trial shares.
 * A paper value may name a setting the sweep fixes rather than varies (a critic-capacity
 * sweep run under NWJ only), and must still find, or miss, its series.
 */
export function seriesSettings(
  configs: { label: string; config: Record<string, unknown> }[],
  trials: { params: Record<string, string> }[],
): SeriesSettings[] {
  const withParams = trials.filter((t) => Object.keys(t.params).length > 0);
  const shared = Object.fromEntries(
    Object.entries(withParams[0]?.params ?? {}).filter(([k, v]) => withParams.every((t) => t.params[k] === v)),
  );
  return configs.map((c) => ({
    label: c.label,
    settings: {
      ...shared,
      ...Object.fromEntries(Object.entries(c.config).flatMap(([k, v]) => (v == null ? [] : [[k, settingText(v)]]))),
    },
  }));
}

/** A paper value placed on a figure: report.json lists these, the spec draws them. */
export interface PaperMark extends Omit<PaperValue, 'sameAsTrueMi'> {
  /**
   * The figure's series it is drawn in the colour of: the one configuration whose
   * settings match `where`; null for a baseline, a study-wide value, or a value several
   * configurations match (drawn neutral and labelled instead).
   */
  configuration: string | null;
}

/**
 * The paper's values a figure draws. One that names a configuration the sweep did not
 * run is left out: on another configuration's curve it would compare different things.
 */
export function placePaperValues(
  values: PaperValue[],
  series: SeriesSettings[],
  options: { drawsTrueMi?: boolean } = {},
): PaperMark[] {
  return values.flatMap(({ sameAsTrueMi, ...v }) => {
    if (sameAsTrueMi && options.drawsTrueMi) return [];
    const keys = Object.entries(v.where);
    if (!keys.length) return [{ ...v, configuration: null }];
    const matches = series.filter((s) => keys.every(([k, want]) => s.settings[k] === want));
    if (!matches.length) return [];
    return [{ ...v, configuration: matches.length === 1 ? matches[0].label : null }];
  });
}

/** "0.89", "0.90-0.92": two decimals, as the values were read. */
export function paperValueText(v: Pick<PaperValue, 'lo' | 'hi'>): string {
  const f = (x: number) => (Math.abs(x) < 0.1 ? x.toPrecision(3) : x.toFixed(2));
  return v.lo === v.hi ? f(v.lo) : `${f(v.lo)}–${f(v.hi)}`;
}
