// Early-stopping rules, as pure functions of what trials have reported: the median
// stopping rule (Golovin et al. 2017, Google Vizier) and asynchronous successive halving
// (ASHA, Li et al. 2020), both as Ray Tune states them. The sweep workflow calls them on
// every evaluation a trial reports (workflows/early-stop-state.ts keeps the reports), so
// they must stay deterministic: no clocks, no randomness, no Temporal imports.

/** One evaluation a trial reported: the early-stop metric's value after `step`. */
export interface Report {
  step: number;
  value: number;
}

export interface PlannedEarlyStop {
  method: 'median' | 'asha';
  metric: string;
  mode: 'min' | 'max';
  gracePeriod: number;
  reductionFactor: number;
  minTrials: number;
}

export type Decision = { stop: false } | { stop: true; reason: string };

const CONTINUE: Decision = { stop: false };

/** numpy's default percentile (linear interpolation between closest ranks); q in [0, 100]. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new RangeError('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (rank - lo) * (sorted[hi] - sorted[lo]);
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Values in "higher is better" orientation, so each rule is written once. */
const oriented = (mode: PlannedEarlyStop['mode'], value: number) => (mode === 'max' ? value : -value);

const show = (x: number) => Number(x.toPrecision(4)).toString();

/** ASHA's rung milestones at or below `step`, highest first: grace_period * reduction_factor^k. */
export function rungsReached(es: Pick<PlannedEarlyStop, 'gracePeriod' | 'reductionFactor'>, step: number): number[] {
  const out: number[] = [];
  for (let m = es.gracePeriod; m <= step; m *= es.reductionFactor) out.unshift(m);
  return out;
}

/**
 * ASHA on one report. The trial is recorded at the highest rung it has reached and not yet
 * been recorded at, and stopped when its value is below that rung's (1 - 1/rf) percentile
 * of the values recorded there before it (so the best 1/rf go on); the first trial at a
 * rung always goes on. `rungs` maps milestone -> trial -> value and is updated here.
 */
export function ashaDecide(
  es: PlannedEarlyStop,
  rungs: Map<number, Map<number, number>>,
  trial: number,
  report: Report,
): Decision {
  for (const milestone of rungsReached(es, report.step)) {
    let recorded = rungs.get(milestone);
    if (recorded?.has(trial)) continue;
    if (!recorded) rungs.set(milestone, (recorded = new Map()));
    const others = [...recorded.values()].map((v) => oriented(es.mode, v));
    recorded.set(trial, report.value);
    if (others.length === 0) return CONTINUE;
    const cutoff = percentile(others, (1 - 1 / es.reductionFactor) * 100);
    if (oriented(es.mode, report.value) >= cutoff) return CONTINUE;
    const bound = es.mode === 'max' ? cutoff : -cutoff;
    return {
      stop: true,
      reason: `asha: ${es.metric} ${show(report.value)} at step ${report.step} is outside the best 1/${es.reductionFactor} of rung ${milestone} (cutoff ${show(bound)}, ${others.length} trials before it)`,
    };
  }
  return CONTINUE;
}

/** The mean of a curve's values at steps up to `step`; null when it reported none there. */
export function runningMean(curve: readonly Report[], step: number): number | null {
  let sum = 0;
  let n = 0;
  for (const r of curve) {
    if (r.step > step) continue;
    sum += r.value;
    n++;
  }
  return n ? sum / n : null;
}

/**
 * The median stopping rule on one report: from grace_period on, once min_trials trials
 * have finished, stop a trial whose best value so far is strictly worse than the median,
 * over the finished trials, of their running means up to the same step.
 */
export function medianDecide(
  es: PlannedEarlyStop,
  completed: readonly (readonly Report[])[],
  own: readonly Report[],
  report: Report,
): Decision {
  if (report.step < es.gracePeriod) return CONTINUE;
  const means = completed.map((curve) => runningMean(curve, report.step)).filter((m): m is number => m !== null);
  if (means.length < es.minTrials) return CONTINUE;
  const best = Math.max(...[...own, report].map((r) => oriented(es.mode, r.value)));
  const mid = median(means.map((m) => oriented(es.mode, m)));
  if (best >= mid) return CONTINUE;
  const [shownBest, shownMid] = es.mode === 'max' ? [best, mid] : [-best, -mid];
  return {
    stop: true,
    reason: `median: best ${es.metric} ${show(shownBest)} by step ${report.step} is worse than the median ${show(shownMid)} of ${means.length} finished trials' running means`,
  };
}
