// A sweep's report as data: which figures, their aggregated curves and Vega-Lite specs,
// the final values per configuration, and what was left out and why. Pure: the caller
// reads MLflow (sweep-data.ts) and writes files (files.ts).
import type { TopLevelSpec } from 'vega-lite';
import type { ArtifactRunRef } from '../tracking/index.js';
import { aggregate, latestPerTrial, type Comparison } from '../results/aggregate.js';
import { claimHistoryMetrics } from '../results/claims.js';
import { evaluateClaim, type StudyVerdicts } from '../results/verdicts.js';
import { aggregateCurves, type CurveSet, type ReportTrial } from './aggregate.js';
import { figureMetrics, figuresFor, trueMiOf, xOf, type Figure } from './catalogue.js';
import { paperValuesFor, placePaperValues, seriesSettings, PAPER_VALUES, type PaperMark } from './paper-values.js';
import { bandsSpec, curvesSpec } from './vega-specs.js';

export interface SweepData {
  sweepId: string;
  experiment: { id: string; name: string };
  study: string;
  profile: string | null;
  /** The sweep's parent run, where the report is logged; null without one. */
  parentRun: ArtifactRunRef | null;
  /** The parent run's status; null without one. */
  status: string | null;
  trials: ReportTrial[];
  /** How many trials the spec expands to; null when the spec could not be read. */
  expected: number | null;
  /** Things a reader should know about the data (an unreadable spec, say). */
  notes: string[];
}

export interface ReportFigure {
  name: string;
  title: string;
  kind: Figure['kind'];
  metrics: string[];
  x: Figure['x'];
  trueMi: number | null;
  /** The paper's values drawn on the figure as dashed rules or bands, read from its figures (report/paper-values.ts). */
  paperValues: PaperMark[];
  data: CurveSet;
}

export interface Report {
  sweepId: string;
  experiment: { id: string; name: string };
  study: string;
  profile: string | null;
  status: string | null;
  generatedAt: string;
  expected: number | null;
  /** Trials per state, MISSING for those the spec expects but MLflow lacks. */
  trialStates: Record<string, number>;
  figures: ReportFigure[];
  /** Figures of the study's catalogue with nothing to draw. */
  skipped: { name: string; reason: string }[];
  /** Final (latest-step) values: mean ± sd over finished seeds, as `mirl compare` gives them. */
  final: Comparison;
  /** What the sweep cost: the trial runs' wall time summed (MLflow start to end), closed runs only. */
  compute: ComputeSummary;
  /**
   * The study's claim (results/claims.ts) tested on the finished trials, with a verdict
   * per linear-evaluation protocol; null for a study without a claim.
   */
  verdicts: StudyVerdicts | null;
  notes: string[];
}

export interface ComputeSummary {
  /** Closed trial runs counted (reruns count each run). */
  runs: number;
  trialSeconds: number;
  /** The longest single run, seconds. */
  longestSeconds: number;
  /**
   * Where the finished trials' time went, summed from their system/time_<part>_seconds
   * histories (ml/eval-timing.ts): `train` (steps between evaluations), `eval` (whole
   * evaluations) and eval's parts (encode, each protocol, i_est_test, jacobian); null
   * when no finished trial logged them. Time lost to a crash before a resume is not in it.
   */
  breakdown: ComputeBreakdown | null;
}

export interface ComputeBreakdown {
  /** Finished trials whose timings are summed. */
  trials: number;
  /** Seconds per part, over those trials. */
  seconds: Record<string, number>;
  /** eval / (train + eval): the share of a trial's time spent evaluating. */
  evalShare: number;
}

/** The metric names, system/time_<part>_seconds, that computeOf's breakdown reads. */
export const TIMING_METRIC = /^system\/time_(.+)_seconds$/;

/** Sums each finished trial's timing histories per part; null when there are none. */
export function timeBreakdown(trials: Pick<ReportTrial, 'status' | 'histories'>[]): ComputeBreakdown | null {
  const seconds: Record<string, number> = {};
  let counted = 0;
  for (const t of trials) {
    if (t.status !== 'FINISHED') continue;
    const parts = Object.entries(t.histories).filter(([k]) => TIMING_METRIC.test(k));
    if (!parts.length) continue;
    counted++;
    for (const [k, points] of parts) {
      const part = TIMING_METRIC.exec(k)![1];
      seconds[part] = (seconds[part] ?? 0) + points.reduce((a, p) => a + p.value, 0);
    }
  }
  const train = seconds.train ?? 0;
  const evalS = seconds.eval ?? 0;
  if (!counted || train + evalS === 0) return null;
  const rounded = Object.fromEntries(Object.entries(seconds).map(([k, v]) => [k, Math.round(v * 10) / 10]));
  return { trials: counted, seconds: rounded, evalShare: Math.round((evalS / (train + evalS)) * 1000) / 1000 };
}

/** Wall time of every closed trial run, each run once (a trial's earlier runs included: they cost too). */
export function computeOf(
  trials: { startTime?: number; endTime?: number; status?: string; histories?: ReportTrial['histories'] }[],
): ComputeSummary {
  const seconds = trials
    .filter((t) => t.startTime !== undefined && t.endTime !== undefined && t.endTime >= t.startTime)
    .map((t) => (t.endTime! - t.startTime!) / 1000);
  const withHistories = trials.filter((t): t is typeof t & Pick<ReportTrial, 'status' | 'histories'> =>
    Boolean(t.histories && t.status),
  );
  return {
    runs: seconds.length,
    trialSeconds: Math.round(seconds.reduce((a, b) => a + b, 0)),
    longestSeconds: Math.round(seconds.reduce((a, b) => Math.max(a, b), 0)),
    breakdown: timeBreakdown(withHistories),
  };
}

export interface BuiltReport {
  report: Report;
  specs: { name: string; spec: TopLevelSpec }[];
}

/** The metrics a study's report reads histories of, given the keys its trials logged: its figures' and its claim's. */
export function reportMetrics(study: string, logged: Iterable<string>): string[] {
  const keys = new Set(logged);
  const timings = [...keys].filter((k) => TIMING_METRIC.test(k));
  return [
    ...new Set([...figuresFor(study, keys).flatMap(figureMetrics), ...claimHistoryMetrics(study, keys), ...timings]),
  ];
}

/**
 * The paper's accuracies belong on the notebook protocol's figure only (paper-values.ts
 * says why); a sweep that drew no such figure says so rather than leaving a reader to
 * wonder where they went.
 */
function notebookOnlyNote(study: string, figures: ReportFigure[]): string | null {
  const notebook = PAPER_VALUES.filter((v) => v.study === study && v.protocol === 'notebook');
  if (!notebook.length || figures.some((f) => f.metrics.includes(notebook[0].metric))) return null;
  return `the paper's accuracies (read from its figures) come from the notebook's linear-evaluation protocol and are drawn on its figure (${notebook[0].metric}) only, and this report has none (no finished trial logged it); mirl's converged fit can rank representations differently`;
}

export function buildReport(data: SweepData, now: Date): BuiltReport {
  const logged = new Set(data.trials.flatMap((t) => Object.keys(t.histories)));
  const figures = figuresFor(data.study, logged);
  const trueMi = trueMiOf(data.trials);
  const out: ReportFigure[] = [];
  const specs: BuiltReport['specs'] = [];
  const skipped: Report['skipped'] = [];
  for (const figure of figures) {
    const metrics = figureMetrics(figure);
    const set = aggregateCurves(data.trials, metrics, { x: xOf(figure.x) });
    if (!set.configs.some((c) => metrics.some((m) => c.curves[m].length > 0))) {
      skipped.push({ name: figure.name, reason: `no finished trial logged ${metrics.join(', ')}` });
      continue;
    }
    const paper =
      figure.kind === 'curves'
        ? placePaperValues(paperValuesFor(data.study, figure.metric), seriesSettings(set.configs, data.trials), {
            drawsTrueMi: Boolean(figure.trueMi && trueMi !== null),
          })
        : [];
    const spec =
      figure.kind === 'curves'
        ? curvesSpec(figure, set, { sweepId: data.sweepId, trueMi, paper })
        : bandsSpec(figure, set, { sweepId: data.sweepId });
    specs.push({ name: figure.name, spec });
    out.push({
      name: figure.name,
      title: figure.title,
      kind: figure.kind,
      metrics,
      x: figure.x,
      trueMi: figure.kind === 'curves' && figure.trueMi ? trueMi : null,
      paperValues: paper,
      data: set,
    });
  }
  const paperNote = notebookOnlyNote(data.study, out);
  const trialStates: Record<string, number> = {};
  for (const t of latestPerTrial(data.trials)) trialStates[t.status] = (trialStates[t.status] ?? 0) + 1;
  const finalMetrics = [...new Set(out.flatMap((f) => f.metrics))];
  return {
    report: {
      sweepId: data.sweepId,
      experiment: data.experiment,
      study: data.study,
      profile: data.profile,
      status: data.status,
      generatedAt: now.toISOString(),
      expected: data.expected,
      trialStates,
      figures: out,
      skipped,
      final: aggregate(data.trials, { metrics: finalMetrics.length ? finalMetrics : undefined }),
      compute: computeOf(data.trials),
      verdicts: evaluateClaim(data.study, data.trials),
      notes: paperNote ? [...data.notes, paperNote] : data.notes,
    },
    specs,
  };
}
