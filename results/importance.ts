// Which axis of a sweep moved a metric, and which configuration came out best: what
// W&B's parameter importance and Optuna's best trial answer, for mirl's grids of few
// axes and a handful of seeds. Importance is the one-way ANOVA share (eta squared) per
// axis over the finished trials' final values: on a grid every axis is balanced, so the
// share reads directly as "how much of the spread between trials this axis explains",
// needs no model fitted on a few dozen points (W&B's random forest would), and the seeds
// left inside each level are the noise it is judged against. The best configuration
// comes with its margin over the runner-up as a Welch interval, so "best" is not claimed
// where the seeds cannot tell the two apart.
import { settingText } from '../sweep-spec/index.js';
import { groupConfigurations, latestPerTrial, SEED_AXIS, type Comparison, type TrialRun } from './aggregate.js';
import { welchInterval, type Direction, type Interval } from './statistics.js';

export interface AxisImportance {
  axis: string;
  /** Distinct values of the axis among the trials counted. */
  levels: number;
  /** Share of the metric's variance between trials explained by this axis alone, 0..1; null without spread or with one level. */
  etaSquared: number | null;
  /** The metric's mean per value of the axis, in first-seen order. */
  means: { value: string; mean: number; n: number }[];
}

export interface ParameterImportance {
  metric: string;
  /** Finished trials with a finite final value of the metric. */
  trials: number;
  /** Every axis but the seed, most important first; the seed's share is the remainder. */
  axes: AxisImportance[];
}

/** Which way is better for a metric: losses and errors down, everything else (accuracy, I_EST) up. */
export function betterDirection(metric: string): Direction {
  return /(^|_)(loss|error)(_|$)/.test(metric) ? 'lower' : 'higher';
}

function etaSquared(values: { level: string; y: number }[]): { means: AxisImportance['means']; eta: number | null } {
  const n = values.length;
  const grand = values.reduce((a, v) => a + v.y, 0) / n;
  const total = values.reduce((a, v) => a + (v.y - grand) ** 2, 0);
  const byLevel = new Map<string, number[]>();
  for (const v of values) byLevel.set(v.level, [...(byLevel.get(v.level) ?? []), v.y]);
  const means = [...byLevel].map(([value, ys]) => ({
    value,
    mean: ys.reduce((a, b) => a + b, 0) / ys.length,
    n: ys.length,
  }));
  const between = means.reduce((a, m) => a + m.n * (m.mean - grand) ** 2, 0);
  return { means, eta: total > 0 ? between / total : null };
}

/** Eta squared of `metric` per axis over the finished trials (latest live run of each). */
export function parameterImportance(runs: TrialRun[], metric: string): ParameterImportance {
  const finished = latestPerTrial(runs).filter((t) => t.status === 'FINISHED' && Number.isFinite(t.metrics[metric]));
  const { axes } = groupConfigurations(finished);
  const out = axes
    .filter((axis) => axis !== SEED_AXIS)
    .map((axis) => {
      const values = finished.map((t) => ({
        level: settingText(Object.fromEntries(t.axes)[axis] ?? null),
        y: t.metrics[metric],
      }));
      const { means, eta } = etaSquared(values);
      // One value among the finished trials (a sweep under way) explains nothing yet.
      return { axis, levels: means.length, etaSquared: means.length > 1 ? eta : null, means };
    })
    .sort((a, b) => (b.etaSquared ?? -1) - (a.etaSquared ?? -1));
  return { metric, trials: finished.length, axes: out };
}

export interface BestConfiguration {
  metric: string;
  direction: Direction;
  config: Record<string, unknown>;
  mean: number;
  n: number;
  se: number | null;
  /** The next best configuration, when there is one with a mean. */
  runnerUp: { config: Record<string, unknown>; mean: number; n: number } | null;
  /** best - runner-up (Welch, 95%); null below two seeds on a side. */
  margin: Interval | null;
  /** Whether the margin's interval excludes zero: the seeds tell the two apart. */
  decided: boolean;
}

/** The configuration with the best mean of `metric` in a comparison that summarised it. */
export function bestConfiguration(
  comparison: Comparison,
  metric: string,
  direction: Direction = betterDirection(metric),
): BestConfiguration | null {
  const rows = comparison.rows
    .filter((r) => r.metrics[metric]?.mean !== null && r.metrics[metric] !== undefined)
    .sort((a, b) => {
      const d = a.metrics[metric].mean! - b.metrics[metric].mean!;
      return direction === 'higher' ? -d : d;
    });
  const [best, next] = rows;
  if (!best) return null;
  const s = best.metrics[metric];
  const margin = next ? welchInterval(s, next.metrics[metric]) : null;
  const signed = margin && direction === 'lower' ? { lo: -margin.hi, hi: -margin.lo } : margin;
  return {
    metric,
    direction,
    config: best.config,
    mean: s.mean!,
    n: s.n,
    se: s.se ?? null,
    runnerUp: next ? { config: next.config, mean: next.metrics[metric].mean!, n: next.metrics[metric].n } : null,
    margin,
    decided: signed !== null && signed.lo > 0,
  };
}

/** Both, for the comparison's first metric that has values: what `mirl compare` shows under its table. */
export function sweepInsight(
  runs: TrialRun[],
  comparison: Comparison,
): { importance: ParameterImportance; best: BestConfiguration | null } | null {
  const metric = comparison.metrics.find((m) => comparison.rows.some((r) => (r.metrics[m]?.n ?? 0) > 0));
  if (!metric) return null;
  return { importance: parameterImportance(runs, metric), best: bestConfiguration(comparison, metric) };
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${Math.round(x * 100)}%`);
const configText = (c: Record<string, unknown>) =>
  Object.entries(c)
    .map(([k, v]) => `${k}=${settingText(v)}`)
    .join(' ');

/** Two lines for people: each axis's share of the spread, and the best configuration with its margin. */
export function renderInsight(insight: { importance: ParameterImportance; best: BestConfiguration | null }): string {
  const { importance: imp, best } = insight;
  const lines: string[] = [];
  if (imp.axes.length && imp.trials > 1) {
    const shares = imp.axes
      .map((a) => `${a.axis} ${a.levels > 1 ? pct(a.etaSquared) : 'n/a (one value finished so far)'}`)
      .join(', ');
    lines.push(
      `importance (${imp.metric}, share of the spread over ${imp.trials} finished trials; the rest is seeds): ${shares}`,
    );
  }
  if (best) {
    const se = best.se === null ? '' : ` ± ${best.se.toPrecision(2)} (se)`;
    const margin = best.margin
      ? `; ahead of ${configText(best.runnerUp!.config)} by ${best.margin.diff.toPrecision(3)} [95% ${best.margin.lo.toPrecision(3)}, ${best.margin.hi.toPrecision(3)}]: ${best.decided ? 'decided' : 'not decided by these seeds'}`
      : best.runnerUp
        ? '; too few seeds to tell it from the runner-up'
        : '';
    lines.push(
      `best (${best.direction} ${best.metric}): ${configText(best.config)}, ${best.mean.toPrecision(4)}${se}, n=${best.n}${margin}`,
    );
  }
  return lines.join('\n');
}
