// The sweep's bookkeeping, sized for 100,000 trials: one byte of state per trial in
// memory, a run-length encoded string in the carry, and sparse maps for what only some
// trials have (a running start, a rerun, overrides, an error). Results live in the trial
// workflows and MLflow; the sweep keeps counts and a bounded log of its newest outcomes.
// No Temporal imports, so unit tests drive it directly and the workflow stays a thin loop.
import { canonicalJson, type TrialSettings } from '../sweep-spec/index.js';
import {
  TRIAL_STATES,
  type LegacySweepCarry,
  type RerunRequest,
  type RunningTrial,
  type StateCounts,
  type SweepCarry,
  type TrialDetail,
  type TrialOutcome,
  type TrialStateName,
} from './types.js';

/** Outcomes kept with their step and metrics (the watch view's change lines and ETA read them). */
export const MAX_RECENT = 256;
/** Failure texts kept; the rest are in each trial's workflow and MLflow run. */
export const MAX_ERRORS = 200;
export const MAX_ERROR_CHARS = 500;

const CODE: Record<TrialStateName, string> = {
  pending: 'p',
  running: 'r',
  done: 'd',
  failed: 'f',
  cancelled: 'c',
  pruned: 'x',
};
const STATE_OF_CODE = new Map(TRIAL_STATES.map((s, i) => [CODE[s], i]));
const PENDING = TRIAL_STATES.indexOf('pending');
const RUNNING = TRIAL_STATES.indexOf('running');

export function emptyCounts(): StateCounts {
  return Object.fromEntries(TRIAL_STATES.map((s) => [s, 0])) as StateCounts;
}

/** `d1500r200p300`: a state letter and how many trials in a row have it. */
export function encodeStates(states: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < states.length;) {
    let j = i + 1;
    while (j < states.length && states[j] === states[i]) j++;
    parts.push(`${CODE[TRIAL_STATES[states[i]]]}${j - i}`);
    i = j;
  }
  return parts.join('');
}

export function decodeStates(text: string, total: number): Uint8Array {
  const states = new Uint8Array(total);
  let at = 0;
  for (const [, code, count] of text.matchAll(/([a-z])(\d+)/g)) {
    const state = STATE_OF_CODE.get(code);
    const n = Number(count);
    if (state === undefined || at + n > total)
      throw new Error(`carried states are corrupt near "${code}${count}" (trial ${at} of ${total})`);
    states.fill(state, at, at + n);
    at += n;
  }
  if (at !== total) throw new Error(`carried states cover ${at} trials, the sweep has ${total}`);
  return states;
}

function clip(error: string | undefined): string | undefined {
  return error !== undefined && error.length > MAX_ERROR_CHARS ? `${error.slice(0, MAX_ERROR_CHARS - 1)}…` : error;
}

const numericKeys = <T>(record: Record<string, T>): [number, T][] =>
  Object.entries(record).map(([k, v]) => [Number(k), v]);

/** The sweep's state between and across runs; toCarry()/fromCarry() are its wire form. */
export class SweepBook {
  readonly counts: StateCounts = emptyCounts();
  readonly running = new Map<number, RunningTrial>();
  paused = false;
  cancelRequested = false;
  maxConcurrent: number;
  startedTotal = 0;
  generation = 0;
  durations = { count: 0, totalMs: 0 };
  private states: Uint8Array;
  private readonly runs = new Map<number, number>();
  private readonly overrideSets: TrialSettings[] = [];
  private readonly overrideIds = new Map<string, number>();
  private readonly overrideOf = new Map<number, number>();
  // Insertion order is age: the oldest entry is dropped first.
  private readonly errors = new Map<number, string>();
  private readonly recentLog: TrialDetail[] = [];
  // No trial below this index is pending: the window's scan starts here.
  private pendingFrom = 0;

  private constructor(states: Uint8Array, maxConcurrent: number) {
    this.states = states;
    this.maxConcurrent = maxConcurrent;
    for (const s of states) this.counts[TRIAL_STATES[s]]++;
  }

  /** Adds `total - this.total` pending trials at the end (an extension); every existing index keeps its state. */
  grow(total: number): void {
    if (total < this.total) throw new Error(`a sweep cannot shrink (${this.total} -> ${total} trials)`);
    const states = new Uint8Array(total).fill(PENDING);
    states.set(this.states);
    this.counts.pending += total - this.total;
    this.states = states;
  }

  static create(total: number, maxConcurrent: number): SweepBook {
    return new SweepBook(new Uint8Array(total).fill(PENDING), maxConcurrent);
  }

  static fromCarry(carry: SweepCarry | LegacySweepCarry): SweepBook {
    if (!('format' in carry)) return SweepBook.fromLegacy(carry);
    const book = new SweepBook(decodeStates(carry.states, carry.total), carry.maxConcurrent);
    for (const [i, n] of numericKeys(carry.runs)) book.runs.set(i, n);
    for (const [i, r] of numericKeys(carry.running)) book.running.set(i, r);
    carry.overrideSets.forEach((set, id) => book.internOverrides(set, id));
    for (const [i, id] of numericKeys(carry.overrideOf)) book.overrideOf.set(i, id);
    for (const [i, e] of numericKeys(carry.errors)) book.errors.set(i, e);
    book.recentLog.push(...carry.recent);
    book.durations = { ...carry.durations };
    Object.assign(book, {
      paused: carry.paused,
      cancelRequested: carry.cancelRequested,
      startedTotal: carry.startedTotal,
      generation: carry.generation,
    });
    return book;
  }

  private static fromLegacy(carry: LegacySweepCarry): SweepBook {
    const states = Uint8Array.from(carry.trials, (t) => TRIAL_STATES.indexOf(t.state));
    const book = new SweepBook(states, carry.maxConcurrent);
    carry.trials.forEach((t, i) => {
      book.setRuns(i, t.runs);
      if (t.state === 'running') book.running.set(i, { run: t.runs, startedAt: t.startedAt ?? 0 });
      if (t.overrides) book.overrideOf.set(i, book.internOverrides(t.overrides));
      if (t.error !== undefined && t.state !== 'done') book.noteError(i, t.error);
    });
    Object.assign(book, {
      paused: carry.paused,
      cancelRequested: carry.cancelRequested,
      startedTotal: carry.startedTotal,
      generation: carry.generation,
    });
    return book;
  }

  toCarry(): SweepCarry {
    const record = <T>(map: Map<number, T>) => Object.fromEntries([...map].map(([k, v]) => [String(k), v]));
    return {
      format: 2,
      total: this.total,
      states: encodeStates(this.states),
      runs: record(this.runs),
      running: record(this.running),
      overrideSets: this.overrideSets.map((s) => ({ ...s })),
      overrideOf: record(this.overrideOf),
      errors: record(this.errors),
      recent: this.recentLog.map((d) => ({ ...d, metrics: { ...d.metrics } })),
      durations: { ...this.durations },
      paused: this.paused,
      cancelRequested: this.cancelRequested,
      maxConcurrent: this.maxConcurrent,
      startedTotal: this.startedTotal,
      generation: this.generation,
    };
  }

  get total(): number {
    return this.states.length;
  }

  state(index: number): TrialStateName {
    return TRIAL_STATES[this.states[index]];
  }

  /** The state's position in TRIAL_STATES (cheap for counting loops). */
  stateCode(index: number): number {
    return this.states[index];
  }

  /** How many times the trial was started (1 + reruns). */
  runsOf(index: number): number {
    return this.runs.get(index) ?? this.defaultRuns(index);
  }

  overridesOf(index: number): TrialSettings | undefined {
    const id = this.overrideOf.get(index);
    return id === undefined ? undefined : this.overrideSets[id];
  }

  errorOf(index: number): string | undefined {
    return this.errors.get(index);
  }

  /** The newest outcomes, oldest first. */
  recent(): readonly TrialDetail[] {
    return this.recentLog;
  }

  /** The latest recorded detail of a trial, when it is still in the log. */
  detailOf(index: number): TrialDetail | undefined {
    for (let k = this.recentLog.length - 1; k >= 0; k--)
      if (this.recentLog[k].index === index) return this.recentLog[k];
    return undefined;
  }

  isSettled(): boolean {
    return this.counts.pending === 0 && this.counts.running === 0;
  }

  /** Indices to start now: the lowest pending ones, as many as the window has room for. */
  nextToStart(): number[] {
    if (this.paused || this.cancelRequested) return [];
    let room = this.maxConcurrent - this.counts.running;
    const out: number[] = [];
    let i = this.pendingFrom;
    while (i < this.total && this.states[i] !== PENDING) i++;
    this.pendingFrom = i;
    for (; i < this.total && room > 0; i++) {
      if (this.states[i] === PENDING) {
        out.push(i);
        room--;
      }
    }
    return out;
  }

  /** Marks a trial started and returns which start of it this is. */
  markStarted(index: number, now: number): number {
    const run = this.runsOf(index) + 1;
    this.setState(index, 'running');
    this.setRuns(index, run);
    this.running.set(index, { run, startedAt: now });
    this.errors.delete(index);
    this.startedTotal += 1;
    return run;
  }

  /**
   * Records a trial's outcome. Reports of an earlier start (a rerun superseded it) or of a
   * trial no longer running (already recorded through the other path) are ignored.
   */
  applyOutcome(outcome: TrialOutcome, now: number): boolean {
    const started = this.running.get(outcome.index);
    if (!started || outcome.run !== started.run || this.states[outcome.index] !== RUNNING) return false;
    this.finish(outcome.index, outcome.state, outcome.error);
    const r = outcome.result;
    this.log({
      index: outcome.index,
      run: started.run,
      state: outcome.state,
      step: r?.step ?? null,
      metrics: r ? { ...r.train, ...r.eval } : {},
      resumedFrom: r?.resumedFrom ?? null,
      backend: r?.backend ?? null,
      startedAt: started.startedAt,
      recordedAt: now,
    });
    if (outcome.state === 'done') {
      this.durations.count += 1;
      this.durations.totalMs += Math.max(0, now - started.startedAt);
    }
    return true;
  }

  /** A start that Temporal refused: `done` when a completed run already holds the id (adopted, never rerun). */
  markStartRefused(index: number, run: number, state: 'done' | 'failed', error?: string): void {
    if (this.running.get(index)?.run !== run) return;
    this.finish(index, state, error);
  }

  /** Puts failed (and cancelled) trials back in the queue; returns the indices requeued. */
  requeueForRerun(request: RerunRequest = {}): number[] {
    const candidates = request.indices
      ? [...new Set(request.indices)].sort((a, b) => a - b)
      : this.indicesIn(['failed', 'cancelled']);
    const requeued = candidates.filter(
      (i) =>
        Number.isInteger(i) &&
        i >= 0 &&
        i < this.total &&
        (this.state(i) === 'failed' || this.state(i) === 'cancelled'),
    );
    for (const i of requeued) {
      const runs = this.runsOf(i);
      this.setState(i, 'pending');
      this.setRuns(i, runs);
      if (request.overrides)
        this.overrideOf.set(i, this.internOverrides({ ...this.overridesOf(i), ...request.overrides }));
      this.pendingFrom = Math.min(this.pendingFrom, i);
    }
    if (requeued.length > 0) this.cancelRequested = false;
    return requeued;
  }

  cancelPending(): void {
    this.cancelRequested = true;
    for (let i = this.pendingFrom; i < this.total; i++) {
      if (this.states[i] !== PENDING) continue;
      const runs = this.runsOf(i);
      this.setState(i, 'cancelled');
      this.setRuns(i, runs);
    }
  }

  /** Trial indices in the given states (every state when null), in index order. */
  indicesIn(states: readonly TrialStateName[] | null, offset = 0, limit = Infinity): number[] {
    if (states?.length === 1 && states[0] === 'running')
      return [...this.running.keys()].sort((a, b) => a - b).slice(offset, offset + limit);
    const wanted = states ? new Set(states.map((s) => TRIAL_STATES.indexOf(s))) : null;
    const out: number[] = [];
    let skipped = 0;
    for (let i = 0; i < this.total && out.length < limit; i++) {
      if (wanted && !wanted.has(this.states[i])) continue;
      if (skipped++ < offset) continue;
      out.push(i);
    }
    return out;
  }

  countIn(states: readonly TrialStateName[] | null): number {
    return states ? [...new Set(states)].reduce((n, s) => n + this.counts[s], 0) : this.total;
  }

  private finish(index: number, state: TrialOutcome['state'], error?: string): void {
    const runs = this.runsOf(index);
    this.setState(index, state);
    this.setRuns(index, runs);
    this.running.delete(index);
    // A pruned trial's "error" is why it was stopped.
    if (error !== undefined && state !== 'done') this.noteError(index, error);
  }

  private log(detail: TrialDetail): void {
    this.recentLog.push(detail);
    if (this.recentLog.length > MAX_RECENT) this.recentLog.splice(0, this.recentLog.length - MAX_RECENT);
  }

  private noteError(index: number, error: string): void {
    this.errors.delete(index);
    this.errors.set(index, clip(error)!);
    if (this.errors.size > MAX_ERRORS) this.errors.delete(this.errors.keys().next().value!);
  }

  private setState(index: number, state: TrialStateName): void {
    this.counts[this.state(index)]--;
    this.states[index] = TRIAL_STATES.indexOf(state);
    this.counts[state]++;
  }

  private defaultRuns(index: number): number {
    const s = this.states[index];
    return s === PENDING || s === TRIAL_STATES.indexOf('cancelled') ? 0 : 1;
  }

  private setRuns(index: number, runs: number): void {
    if (runs === this.defaultRuns(index)) this.runs.delete(index);
    else this.runs.set(index, runs);
  }

  private internOverrides(settings: TrialSettings, id?: number): number {
    const key = canonicalJson(settings);
    const known = this.overrideIds.get(key);
    if (known !== undefined && id === undefined) return known;
    const at = id ?? this.overrideSets.length;
    this.overrideSets[at] = settings;
    this.overrideIds.set(key, at);
    return at;
  }
}
