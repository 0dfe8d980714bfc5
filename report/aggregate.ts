// Pure aggregation behind `mirl report`: trials with their metric histories in, per
// configuration and metric one curve out, each point the mean, sample sd and n over
// seeds at one x value. Points align on exact x values; where some seeds lack a point
// the others still give one, and n says how many. Only finished trials contribute;
// the others (failed, cancelled, running, never started) are listed with the configuration.
import { settingText } from '../sweep-spec/index.js';
import { groupConfigurations, MISSING, summarise, type TrialRun } from '../results/aggregate.js';

export interface Point {
  step: number;
  value: number;
}

export interface ReportTrial extends TrialRun {
  /** The trial's MLflow run; absent for a trial the spec expects but MLflow has no run of. */
  runId?: string;
  /** Every setting as logged (MLflow params are strings). */
  params: Record<string, string>;
  /** Metric key -> values in the server's order; only the metrics a report draws are read. */
  histories: Record<string, Point[]>;
}

/** A trial the spec expects whose run MLflow does not have (never started, or lost). */
export { MISSING };

export interface CurvePoint {
  x: number;
  mean: number;
  /** Sample sd over seeds (n - 1); null below two values. */
  sd: number | null;
  n: number;
}

export interface ExcludedTrial {
  trialId: string;
  index: number | null;
  seed: unknown;
  status: string;
}

export interface ConfigCurves {
  config: Record<string, unknown>;
  /** The configuration in a legend: enum values as they are, other values as name=value. */
  label: string;
  trials: number;
  /** Finished trials: the seeds behind the curves. */
  finished: number;
  excluded: ExcludedTrial[];
  curves: Record<string, CurvePoint[]>;
}

export interface CurveSet {
  /** The sweep's axes except the seed, in the spec's order. */
  axes: string[];
  metrics: string[];
  configs: ConfigCurves[];
}

/** Maps a logged step to the figure's x (e.g. the adversarial study's round). */
export type XOf = (trial: ReportTrial, step: number) => number;

export interface CurveOptions {
  x?: XOf;
}

export function configLabel(config: Record<string, unknown>): string {
  const parts = Object.entries(config).map(([k, v]) => (typeof v === 'string' ? v : `${k}=${settingText(v)}`));
  return parts.length ? parts.join(', ') : 'all trials';
}

/** One value per x: a step logged twice (a replayed batch) keeps the server's last value. */
function valuesByX(trial: ReportTrial, metric: string, xOf: XOf): Map<number, number> {
  const out = new Map<number, number>();
  for (const p of trial.histories[metric] ?? []) {
    if (Number.isFinite(p.value)) out.set(xOf(trial, p.step), p.value);
    else out.delete(xOf(trial, p.step));
  }
  return out;
}

export function curveOf(trials: ReportTrial[], metric: string, xOf: XOf = (_, step) => step): CurvePoint[] {
  const byX = new Map<number, number[]>();
  for (const t of trials) {
    for (const [x, v] of valuesByX(t, metric, xOf)) {
      let vs = byX.get(x);
      if (!vs) byX.set(x, (vs = []));
      vs.push(v);
    }
  }
  return [...byX.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([x, vs]) => {
      const s = summarise(vs);
      return { x, mean: s.mean!, sd: s.sd, n: s.n };
    });
}

export function aggregateCurves(trials: ReportTrial[], metrics: string[], options: CurveOptions = {}): CurveSet {
  const { axes, groups } = groupConfigurations(trials);
  const configs = groups.map(({ config, members }) => {
    const finished = members.filter((m) => m.status === 'FINISHED');
    return {
      config,
      label: configLabel(config),
      trials: members.length,
      finished: finished.length,
      excluded: members
        .filter((m) => m.status !== 'FINISHED')
        .map((m) => ({
          trialId: m.trialId,
          index: m.index,
          seed: Object.fromEntries(m.axes).seed ?? null,
          status: m.status,
        })),
      curves: Object.fromEntries(metrics.map((k) => [k, curveOf(finished, k, options.x)])),
    } satisfies ConfigCurves;
  });
  return { axes, metrics, configs };
}
