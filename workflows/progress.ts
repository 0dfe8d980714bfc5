// What `progress` answers: counts and axes over every trial, one page of trials, the
// newest outcomes. The same pure function serves the workflow's query, its final result
// and the CLI rebuilding any page of a closed sweep from its carry, so the three agree.
import { PointNotSampledError, type TrialSource } from '../sweep-spec/index.js';
import { emptyCounts, SweepBook } from './sweep-state.js';
import {
  TRIAL_STATES,
  type AxisSummary,
  type ProgressRequest,
  type StateCounts,
  type SweepProgress,
  type TrialDetail,
  type TrialProgress,
  type TrialStateName,
} from './types.js';

/** Trials per reply at most: about 0.4 MB of JSON, far below gRPC's 4 MB and Temporal's 2 MB. */
export const PROGRESS_PAGE_MAX = 1000;
/** Trials listed in a sweep's final result; other pages come from its carry. */
// 200, not more: a 5,000-trial sweep's result with 500 listed was 518 kB, past Temporal's 512 kB warning.
export const RESULT_PAGE = 200;
export const RECENT_IN_PROGRESS = 50;

export interface ProgressMeta {
  sweepId: string;
  name: string;
  study: string;
  profile: string | null;
  taskQueue: string;
  heartbeatTimeoutMs: number;
  priority?: number;
}

/** The request with defaults applied and bounds enforced; bad fields fall back rather than fail a query. */
export function normalizeRequest(request: ProgressRequest = {}): {
  states: TrialStateName[] | null;
  offset: number;
  limit: number;
} {
  const states = Array.isArray(request.states)
    ? request.states.filter((s) => (TRIAL_STATES as readonly string[]).includes(s))
    : [];
  const offset = Number.isInteger(request.offset) && request.offset! > 0 ? request.offset! : 0;
  const limit =
    Number.isInteger(request.limit) && request.limit! >= 0
      ? Math.min(request.limit!, PROGRESS_PAGE_MAX)
      : PROGRESS_PAGE_MAX;
  return { states: states.length ? states : null, offset, limit };
}

// Counted per dimension row with strides instead of per trial's labels: a query of a
// 100,000-trial sweep took 300 ms building label lists, this is a pass of integer math.
function axisCounts(book: SweepBook, source: TrialSource): Record<string, Record<string, StateCounts>> {
  const dims = source.plan.dimensions;
  const strides = dims.map((_, d) => dims.slice(d + 1).reduce((n, later) => n * later.rows.length, 1));
  // Array.from, not rows.map: a TPE search's rows are holes until suggested, and map skips holes.
  const perRow = dims.map((dim) =>
    Array.from({ length: dim.rows.length }, () => new Array<number>(TRIAL_STATES.length).fill(0)),
  );
  for (let i = 0; i < book.total; i++) {
    const state = book.stateCode(i);
    // An extended sweep's later trials do not follow the plan's order: ask where each sits.
    const rows = source.rowsOf?.(i);
    for (let d = 0; d < dims.length; d++)
      perRow[d][rows ? rows[d] : Math.floor(i / strides[d]) % dims[d].rows.length][state]++;
  }
  const axes: Record<string, Record<string, StateCounts>> = {};
  source.labels.forEach((rows, d) =>
    rows.forEach((pairs, row) => {
      for (const [axis, label] of pairs) {
        const counts = ((axes[axis] ??= {})[label] ??= emptyCounts());
        TRIAL_STATES.forEach((s, k) => (counts[s] += perRow[d][row][k]));
      }
    }),
  );
  return axes;
}

/**
 * Above this many values an axis is summed up in every reply: per-value counts of a seed
 * axis of 20,000 values made each progress query 1.4 MB and the sweep's result grow with
 * the trial count, toward Temporal's 2 MB limit on a result.
 */
export const AXIS_VALUES_MAX = 1000;

export function summariseAxis(values: Record<string, StateCounts>): AxisSummary {
  let complete = 0;
  let untouched = 0;
  const entries = Object.values(values);
  for (const c of entries) {
    const total = TRIAL_STATES.reduce((n, s) => n + c[s], 0);
    if (c.done === total) complete++;
    else if (c.done === 0) untouched++;
  }
  return { values: entries.length, complete, partly: entries.length - complete - untouched, untouched };
}

function splitAxes(all: Record<string, Record<string, StateCounts>>): Pick<SweepProgress, 'axes' | 'axisSummaries'> {
  const axes: SweepProgress['axes'] = {};
  const axisSummaries: Record<string, AxisSummary> = {};
  for (const [axis, values] of Object.entries(all)) {
    if (Object.keys(values).length > AXIS_VALUES_MAX) axisSummaries[axis] = summariseAxis(values);
    else axes[axis] = values;
  }
  return Object.keys(axisSummaries).length ? { axes, axisSummaries } : { axes };
}

function trialProgress(book: SweepBook, source: TrialSource, index: number, detail?: TrialDetail): TrialProgress {
  const { trialId, runName, axes } = safeTrial(source, index);
  const running = book.running.get(index);
  const d = detail ?? (running ? undefined : book.detailOf(index));
  return {
    index,
    trialId,
    runName,
    axes,
    state: detail?.state ?? book.state(index),
    runs: detail?.run ?? book.runsOf(index),
    step: d?.step ?? null,
    metrics: d ? { ...d.metrics } : {},
    resumedFrom: d?.resumedFrom ?? null,
    backend: d?.backend ?? null,
    error: (detail?.state ?? book.state(index)) === 'done' ? null : (book.errorOf(index) ?? null),
    startedAt: running?.startedAt ?? d?.startedAt ?? null,
    recordedAt: running ? null : (d?.recordedAt ?? null),
  };
}

// A trial whose configuration became invalid (a bad override), or whose TPE point is not
// suggested yet, still has a row to show.
function safeTrial(
  source: TrialSource,
  index: number,
): { trialId: string; runName: string; axes: Record<string, unknown> } {
  try {
    return source.at(index);
  } catch (err) {
    const axes = Object.fromEntries(source.axisLabels(index));
    const trialId =
      err instanceof PointNotSampledError ? `(trial ${index}: not sampled yet)` : `(invalid trial ${index})`;
    return { trialId, runName: Object.values(axes).join('|'), axes };
  }
}

/** Rows for the given trial indices (the summary at a sweep's end lists many at once). */
export function listTrials(book: SweepBook, source: TrialSource, indices: readonly number[]): TrialProgress[] {
  return indices.map((i) => trialProgress(book, source, i));
}

export function buildProgress(
  book: SweepBook,
  source: TrialSource,
  meta: ProgressMeta,
  request: ProgressRequest = {},
): SweepProgress {
  const page = normalizeRequest(request);
  return {
    ...meta,
    total: book.total,
    paused: book.paused,
    cancelRequested: book.cancelRequested,
    maxConcurrent: book.maxConcurrent,
    generation: book.generation,
    startedTotal: book.startedTotal,
    finished: book.isSettled(),
    counts: { ...book.counts },
    ...splitAxes(axisCounts(book, source)),
    durations: { ...book.durations },
    trials: book.indicesIn(page.states, page.offset, page.limit).map((i) => trialProgress(book, source, i)),
    page: { ...page, matching: book.countIn(page.states) },
    recent: book
      .recent()
      .slice(-RECENT_IN_PROGRESS)
      .map((d) => trialProgress(book, source, d.index, d)),
  };
}
