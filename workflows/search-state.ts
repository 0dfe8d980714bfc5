// A TPE search's memory inside the sweep: the points its model suggested and the
// objective of every observed point. Both travel in the sweep's carry (SearchCarry, at
// most MAX_TPE_BUDGET entries each); everything else is recomputed from the spec, so a
// replay, a continue-as-new or a new worker rebuilds exactly the same state. Random and
// Sobol points need none of this: they are a function of the seed (sweep-spec/search/points.ts).
// No Temporal imports, so unit tests drive it directly.
import type { TrialSource } from '../sweep-spec/expand.js';
import { fillSearchPoint, pointOf, type Plan } from '../sweep-spec/plan.js';
import type { Objective } from '../sweep-spec/schema.js';
import { streamPoint } from '../sweep-spec/search/points.js';
import type { PlannedSearch } from '../sweep-spec/search/resolve.js';
import { pointKey } from '../sweep-spec/search/space.js';
import { suggestTpe, type Observation } from '../sweep-spec/search/tpe.js';
import type { SweepBook } from './sweep-state.js';
import type { SearchCarry, TrialOutcome } from './types.js';

/** The objective's value in a finished trial's result, if it logged the metric. */
export function objectiveValue(outcome: TrialOutcome, objective: Objective): number | undefined {
  const r = outcome.result;
  if (outcome.state !== 'done' || !r) return undefined;
  const value =
    objective.step === 'last' ? (r.eval[objective.metric] ?? r.train[objective.metric]) : r.objective?.value;
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export class SearchBook {
  /** Per point: the sum and count of its trials' objective values (a point runs once per configuration and seed). */
  private readonly sums = new Map<number, [number, number]>();
  /** Points whose trials have started: without an observation they are pending. */
  private readonly started = new Set<number>();
  private readonly used = new Set<string>();

  private constructor(
    private readonly plan: Plan,
    private readonly search: PlannedSearch,
    private readonly objective: Objective,
  ) {}

  /**
   * The book of a TPE plan (null for any other: nothing to remember). `startedPoint`
   * says whether a point's trials began before this run (from the sweep's trial states).
   */
  static open(plan: Plan, carry: SearchCarry | undefined, startedPoint: (point: number) => boolean): SearchBook | null {
    if (plan.search?.method !== 'tpe' || !plan.objective) return null;
    const book = new SearchBook(plan, plan.search, plan.objective);
    for (const [p, values] of Object.entries(carry?.points ?? {})) fillSearchPoint(plan, Number(p), values);
    for (const [p, sum] of Object.entries(carry?.objectives ?? {})) book.sums.set(Number(p), [sum[0], sum[1]]);
    for (let p = 0; p < plan.search.budget; p++) {
      const values = book.valuesOf(p);
      if (values) book.used.add(pointKey(values));
      if (values && startedPoint(p)) book.started.add(p);
    }
    return book;
  }

  /** Makes sure the point of trial `index` is known, suggesting it now if it is not. */
  ensurePoint(index: number): void {
    const point = pointOf(this.plan, index);
    this.started.add(point);
    if (this.valuesOf(point)) return;
    const values = this.suggest(point);
    this.used.add(pointKey(values));
    fillSearchPoint(this.plan, point, values);
  }

  /** Adds a finished trial's objective to its point; true when it had one. */
  observe(outcome: TrialOutcome): boolean {
    const value = objectiveValue(outcome, this.objective);
    if (value === undefined) return false;
    const point = pointOf(this.plan, outcome.index);
    const [sum, count] = this.sums.get(point) ?? [0, 0];
    this.sums.set(point, [sum + value, count + 1]);
    return true;
  }

  toCarry(): SearchCarry {
    const points: Record<string, number[]> = {};
    for (let p = this.search.startup; p < this.search.budget; p++) {
      const values = this.valuesOf(p);
      if (values) points[String(p)] = values;
    }
    return { points, objectives: Object.fromEntries([...this.sums].map(([p, s]) => [String(p), [s[0], s[1]]])) };
  }

  /** The observed points, objective as a mean over their trials, lower is better. */
  observations(): Observation[] {
    const sign = this.objective.mode === 'max' ? -1 : 1;
    return [...this.sums].map(([p, [sum, count]]) => ({ values: this.valuesOf(p)!, y: (sign * sum) / count }));
  }

  private valuesOf(point: number): number[] | undefined {
    const row = this.plan.dimensions[0].rows[point];
    return row && this.search.params.map((p) => row[p.key] as number);
  }

  // Until `startup` points are observed the model has too little to go on (Optuna's rule):
  // the next unused points of the same Sobol stream fill in.
  private suggest(point: number): number[] {
    const observed = this.observations();
    if (observed.length < this.search.startup) return this.quasiRandom(point);
    // A started point with no observation yet (or whose trials all failed) counts as
    // worse than every observed one, so parallel suggestions spread out.
    const pending = [...this.started].filter((p) => p !== point && !this.sums.has(p)).map((p) => this.valuesOf(p)!);
    return suggestTpe({
      params: this.search.params,
      observed,
      pending,
      used: this.used,
      seed: this.search.seed,
      point,
    });
  }

  private quasiRandom(point: number): number[] {
    // Validation keeps the budget within the space; the limit only guards a nearly full one.
    for (let k = point; k < point + 100_000; k++) {
      const values = streamPoint('sobol', this.search.seed, this.search.params, k);
      if (!this.used.has(pointKey(values))) return values;
    }
    throw new RangeError(
      `no unused quasi-random point for search point ${point}; the search space is nearly exhausted`,
    );
  }
}

/**
 * The search book of a sweep run, rebuilt from the spec, the carried search state and the
 * trial states (which points had started): what the workflow calls at every run's start.
 */
export function openSearch(source: TrialSource, book: SweepBook, carry: SearchCarry | undefined): SearchBook | null {
  const budget = source.plan.search?.budget ?? 1;
  const perPoint = source.count / budget;
  const started = (point: number) => {
    for (let i = point * perPoint; i < (point + 1) * perPoint; i++)
      if (book.state(i) !== 'pending' || book.runsOf(i) > 0) return true;
    return false;
  };
  return SearchBook.open(source.plan, carry, started);
}

/**
 * Applies a trial's outcome to the sweep's state, once: its signal and its child result
 * both report it, and only the first may add its objective to the search.
 */
export function applyTrialOutcome(
  book: SweepBook,
  search: SearchBook | null,
  outcome: TrialOutcome,
  now: number,
): boolean {
  if (!book.applyOutcome(outcome, now)) return false;
  search?.observe(outcome);
  return true;
}
