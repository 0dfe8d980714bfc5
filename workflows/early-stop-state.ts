// What the sweep remembers for early stopping: the evaluations its trials reported (whole
// curves of running and, for the median rule, finished trials; ASHA's rungs) and the
// trials it pruned. It travels in the carry (bounded by MAX_EARLY_STOP_REPORTS at
// validation), so a replay, a continue-as-new or a restarted sweep decides exactly as
// before. No Temporal imports, so unit tests drive it directly.
import {
  ashaDecide,
  medianDecide,
  type Decision,
  type PlannedEarlyStop,
  type Report,
} from '../sweep-spec/search/pruning.js';
import type { EarlyStopCarry, EvaluationReport, TrialOutcome } from './types.js';

type Pair = [number, number];
const toPairs = (curve: readonly Report[]): Pair[] => curve.map((r) => [r.step, r.value]);
const fromPairs = (pairs: readonly Pair[]): Report[] => pairs.map(([step, value]) => ({ step, value }));
const numericKeys = <T>(record: Record<string, T> | undefined): [number, T][] =>
  Object.entries(record ?? {}).map(([k, v]) => [Number(k), v]);

export class EarlyStopBook {
  /** Reports of trials still running, by trial index. */
  private readonly curves = new Map<number, Report[]>();
  /** Median rule: the curves of finished trials. */
  private readonly completed = new Map<number, Report[]>();
  /** ASHA: milestone -> trial -> value. */
  private readonly rungs = new Map<number, Map<number, number>>();
  /** Trials stopped, with why: a retried attempt that reports again hears the same answer. */
  private readonly pruned = new Map<number, string>();

  constructor(readonly rule: PlannedEarlyStop) {}

  static fromCarry(rule: PlannedEarlyStop, carry: EarlyStopCarry | undefined): EarlyStopBook {
    const book = new EarlyStopBook(rule);
    for (const [i, pairs] of numericKeys(carry?.curves)) book.curves.set(i, fromPairs(pairs));
    for (const [i, pairs] of numericKeys(carry?.completed)) book.completed.set(i, fromPairs(pairs));
    for (const [m, values] of numericKeys(carry?.rungs)) book.rungs.set(m, new Map(numericKeys(values)));
    for (const [i, reason] of numericKeys(carry?.pruned)) book.pruned.set(i, reason);
    return book;
  }

  toCarry(): EarlyStopCarry {
    const record = <T, U>(map: Map<number, T>, f: (v: T) => U) =>
      Object.fromEntries([...map].map(([k, v]) => [String(k), f(v)]));
    return {
      curves: record(this.curves, toPairs),
      completed: record(this.completed, toPairs),
      rungs: record(this.rungs, (values) => record(values, (v) => v)),
      pruned: record(this.pruned, (r) => r),
    };
  }

  /**
   * Records one evaluation and decides whether the trial goes on. A step already reported
   * (an attempt resumed from an earlier checkpoint) changes nothing; the last step of a
   * trial is recorded but never stopped (there is nothing left to save).
   */
  report(r: EvaluationReport): Decision {
    const known = this.pruned.get(r.index);
    if (known !== undefined) return { stop: true, reason: known };
    const own = this.curves.get(r.index) ?? [];
    if (own.some((x) => x.step === r.step)) return { stop: false };
    const report = { step: r.step, value: r.value };
    const decision =
      this.rule.method === 'asha'
        ? ashaDecide(this.rule, this.rungs, r.index, report)
        : medianDecide(this.rule, [...this.completed.values()], own, report);
    this.curves.set(r.index, [...own, report]);
    if (!decision.stop || r.last) return { stop: false };
    this.pruned.set(r.index, decision.reason);
    return decision;
  }

  /** Why a trial was pruned, if it was. */
  reasonOf(index: number): string | undefined {
    return this.pruned.get(index);
  }

  /** A trial's outcome: a finished curve joins the median's reference; any other is dropped (a rerun reports afresh). */
  settle(outcome: Pick<TrialOutcome, 'index' | 'state'>): void {
    const curve = this.curves.get(outcome.index);
    this.curves.delete(outcome.index);
    if (outcome.state === 'done' && curve && this.rule.method === 'median') this.completed.set(outcome.index, curve);
  }
}
