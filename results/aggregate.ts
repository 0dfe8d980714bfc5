// Pure aggregation behind `mirl compare`: trial runs in, one row per configuration
// (the axis values except the seed) out, each metric as mean and sample sd over seeds.
// Only finished trials contribute metrics; failed ones are counted, never averaged.
import type { RunStatus } from '../tracking/index.js';
import { settingText } from '../sweep-spec/index.js';
import { SYSTEM_PREFIX } from './mlflow-contract.js';

export const SEED_AXIS = 'seed';
export const DEFAULT_METRICS = ['linear_eval_accuracy', 'i_est_test'];

/** Not an MLflow status: a KILLED run tagged mirl.pruned (stopped early by the sweep's early_stop). */
export const PRUNED = 'PRUNED' as const;
/** Not an MLflow status either: a trial the spec expects but MLflow has no run of (reports list it). */
export const MISSING = 'MISSING' as const;
/** A trial run's MLflow status, PRUNED or MISSING. */
export type TrialStatus = RunStatus | typeof PRUNED | typeof MISSING;

export interface TrialRun {
  trialId: string;
  /** Position in the sweep's expansion (spec axis order); null when the run lacks the tag. */
  index: number | null;
  /** Axis values in the spec's order, the seed included. */
  axes: [string, unknown][];
  status: TrialStatus;
  /** The final (latest-step) value of each metric. */
  metrics: Record<string, number>;
  startTime?: number;
  /** When the run closed (ms since epoch); absent while it runs. */
  endTime?: number;
  /** A rerun with other settings got a run of its own (tag mirl.superseded_by): this one no longer counts. */
  superseded?: boolean;
}

export interface MetricSummary {
  mean: number | null;
  /** Sample standard deviation (n - 1); null below two values. */
  sd: number | null;
  /**
   * Standard error of the mean, sd / sqrt(n). Present exactly when sd is a number: below
   * two values the key is left out, so the summaries older readers compare whole keep
   * their shape.
   */
  se?: number;
  n: number;
}

export interface ConfigRow {
  config: Record<string, unknown>;
  trials: number;
  done: number;
  failed: number;
  cancelled: number;
  /** Stopped early by early_stop: listed, and in the means only with includePruned. */
  pruned: number;
  running: number;
  metrics: Record<string, MetricSummary>;
  /** Smallest trial index of the configuration: its place in the spec's order. */
  firstIndex: number | null;
}

export interface Comparison {
  /** Axis names except the seed, in the spec's order. */
  axes: string[];
  metrics: string[];
  rows: ConfigRow[];
}

export interface AggregateOptions {
  metrics?: string[];
  /** 'axes': the spec's order; 'metric': the first metric's mean, best first. */
  sort?: 'axes' | 'metric';
  /** Pruned trials' last values count in the means too (by default only finished trials do). */
  includePruned?: boolean;
}

export function summarise(values: number[]): MetricSummary {
  const xs = values.filter(Number.isFinite);
  const n = xs.length;
  if (n === 0) return { mean: null, sd: null, n: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, sd: null, n };
  const ss = xs.reduce((a, x) => a + (x - mean) ** 2, 0);
  const sd = Math.sqrt(ss / (n - 1));
  return { mean, sd, se: sd / Math.sqrt(n), n };
}

/** A trial run twice (rerun, a run left by a lost attempt) counts once: its latest live run. */
export function latestPerTrial<T extends TrialRun>(runs: T[]): T[] {
  const byTrial = new Map<string, T>();
  for (const r of runs) {
    if (r.superseded) continue;
    const key = r.index !== null ? `#${r.index}` : r.trialId;
    const seen = byTrial.get(key);
    if (!seen || (r.startTime ?? 0) > (seen.startTime ?? 0)) byTrial.set(key, r);
  }
  return [...byTrial.values()];
}

export interface ConfigGroup<T extends TrialRun> {
  config: Record<string, unknown>;
  members: T[];
  /** Order of first appearance, after sorting the trials by index. */
  order: number;
}

/**
 * The configurations of a sweep: its latest live run per trial, grouped by the axis
 * values except the seed (`mirl compare` and `mirl report` group alike).
 */
export function groupConfigurations<T extends TrialRun>(runs: T[]): { axes: string[]; groups: ConfigGroup<T>[] } {
  const trials = latestPerTrial(runs).sort((a, b) => (a.index ?? Infinity) - (b.index ?? Infinity));
  const axes: string[] = [];
  for (const t of trials) for (const [name] of t.axes) if (name !== SEED_AXIS && !axes.includes(name)) axes.push(name);

  const groups = new Map<string, ConfigGroup<T>>();
  for (const t of trials) {
    const values = Object.fromEntries(t.axes);
    const config = Object.fromEntries(axes.map((a) => [a, values[a] ?? null]));
    const key = JSON.stringify(axes.map((a) => settingText(config[a])));
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { config, members: [], order: groups.size }));
    g.members.push(t);
  }
  return { axes, groups: [...groups.values()] };
}

export function aggregate(runs: TrialRun[], options: AggregateOptions = {}): Comparison {
  const metrics = options.metrics?.length ? options.metrics : DEFAULT_METRICS;
  const { axes, groups } = groupConfigurations(runs);

  const rows = groups.map(({ config, members, order }) => {
    const finished = members.filter((m) => m.status === 'FINISHED');
    const counted = options.includePruned
      ? members.filter((m) => m.status === 'FINISHED' || m.status === PRUNED)
      : finished;
    const indices = members.map((m) => m.index).filter((i): i is number => i !== null);
    return {
      row: {
        config,
        trials: members.length,
        done: finished.length,
        failed: members.filter((m) => m.status === 'FAILED').length,
        cancelled: members.filter((m) => m.status === 'KILLED').length,
        pruned: members.filter((m) => m.status === PRUNED).length,
        running: members.filter((m) => m.status === 'RUNNING' || m.status === 'SCHEDULED').length,
        metrics: Object.fromEntries(
          metrics.map((k) => [k, summarise(counted.flatMap((m) => (k in m.metrics ? [m.metrics[k]] : [])))]),
        ),
        firstIndex: indices.length ? Math.min(...indices) : null,
      } satisfies ConfigRow,
      order,
    };
  });

  const bySpec = (a: (typeof rows)[number], b: (typeof rows)[number]) =>
    (a.row.firstIndex ?? Infinity) - (b.row.firstIndex ?? Infinity) || a.order - b.order;
  if (options.sort === 'metric') {
    const k = metrics[0];
    rows.sort((a, b) => {
      const x = a.row.metrics[k].mean;
      const y = b.row.metrics[k].mean;
      if (x === null || y === null) return x === y ? bySpec(a, b) : x === null ? 1 : -1;
      return y - x || bySpec(a, b);
    });
  } else rows.sort(bySpec);
  return { axes, metrics, rows: rows.map((r) => r.row) };
}

/**
 * A sweep's results as metrics of its parent run, so MLflow's parallel-coordinates and
 * scatter charts can set sweeps side by side: trial counts, and each metric's mean, min and
 * max over the finished trials (the latest live run of each).
 */
export function sweepSummaryMetrics(runs: TrialRun[]): Record<string, number> {
  const trials = latestPerTrial(runs);
  const finished = trials.filter((t) => t.status === 'FINISHED');
  const out: Record<string, number> = {
    trials_done: finished.length,
    trials_failed: trials.filter((t) => t.status === 'FAILED').length,
    trials_cancelled: trials.filter((t) => t.status === 'KILLED').length,
    trials_pruned: trials.filter((t) => t.status === PRUNED).length,
  };
  const keys = [...new Set(finished.flatMap((t) => Object.keys(t.metrics)))]
    .filter((k) => !k.startsWith(SYSTEM_PREFIX))
    .sort();
  for (const key of keys) {
    const values = finished.map((t) => t.metrics[key]).filter((v): v is number => Number.isFinite(v));
    if (values.length === 0) continue;
    out[`${key}_mean`] = summarise(values).mean!;
    out[`${key}_min`] = Math.min(...values);
    out[`${key}_max`] = Math.max(...values);
  }
  return out;
}
