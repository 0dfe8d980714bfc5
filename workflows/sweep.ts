// A sweep: builds trials from the spec one at a time (the same pure code `mirl sweep
// validate` uses) and keeps a sliding window of trial child workflows running, under
// pause/resume/cancel, concurrency changes and reruns. Children are ABANDONed on close and
// report back by signal to the sweep's workflow id, so trials keep running across
// continue-as-new and their outcomes reach whichever run of the sweep is current.
import {
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  deprecatePatch,
  proxyActivities,
  CancellationScope,
  ParentClosePolicy,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  WorkflowIdReusePolicy,
  workflowInfo,
  allHandlersFinished,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { makeTrialId, trialSource, type Spec, type TrialSource } from '../sweep-spec/index.js';
import { checkExtension } from '../sweep-spec/extend.js';
import { trialConfigSchema } from '../ml/config.js';
import { dataPathOf } from '../ml/data-path.js';
import {
  cancelSignal,
  pauseSignal,
  progressQuery,
  reportEvaluationUpdate,
  extendUpdate,
  specsQuery,
  rerunFailedSignal,
  resumeSignal,
  setConcurrencySignal,
  trialFinishedSignal,
} from './messages.js';
import { buildProgress, RESULT_PAGE, type ProgressMeta } from './progress.js';
import { MIRL_STUDY, MIRL_SWEEP } from './search-attributes.js';
import { applyTrialOutcome, openSearch, type SearchBook } from './search-state.js';
import { sweepCarry } from './sweep-carry.js';
import { SweepBook } from './sweep-state.js';
import { EarlyStopBook } from './early-stop-state.js';
import { trialStaticDetails, trialStaticSummary } from './summaries.js';
import { describeFailure, trialWorkflow } from './trial.js';
import type { createSweepActivities } from '../activities/mlflow-sweep-activities.js';
import type { FinalRunStatus } from '../tracking/index.js';
import {
  DEFAULT_SWEEP_OPTIONS,
  type RerunRequest,
  type SweepCarry,
  type SweepInput,
  type SweepOptions,
  type SweepResult,
  type EvaluationReport,
  type ExtendRequest,
  type ExtendResult,
  type EvaluationVerdict,
  type SweepTracking,
  type TrialInput,
  type TrialOutcome,
} from './types.js';

type SweepActivities = ReturnType<typeof createSweepActivities>;

// On the workflow's own queue (mirl-sweeps): every workflow worker registers them.
const { ensureSweepRun } = proxyActivities<SweepActivities>({
  startToCloseTimeout: '5 minutes',
  // A sweep launched while the tracking server is down waits for it: trials nest under its run.
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
const { finishSweepRun } = proxyActivities<SweepActivities>({
  startToCloseTimeout: '5 minutes',
  // Four of its heartbeats (activities/mlflow-sweep-activities.ts FINISH_HEARTBEAT_MS): a
  // closing worker that dies is replaced within a minute, not after the 5 minutes.
  heartbeatTimeout: '20 seconds',
  // The results are in Temporal either way: give up after a while rather than hold the sweep open.
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

/** Override checks per rerun request: enough to refuse a bad one, bounded for huge sweeps. */
const OVERRIDE_CHECKS = 1000;

/**
 * Sweeps started before MLflow tracking took a branch without its activities; that branch
 * is gone. Sweeps started since carry this patch's marker in their history, and replaying
 * them needs the call (Temporal's deprecation step): delete it once no sweep launched before
 * this deprecation can still be running or replayed.
 */
const MLFLOW_TRACKING_PATCH = 'mlflow-tracking';

/** One run of the sweep: its state, where its trials come from, and its counters. */
interface SweepRun {
  input: SweepInput;
  options: Required<SweepOptions>;
  source: TrialSource;
  /** The specs the sweep was extended to (`mirl sweep extend`), in order. */
  extensions: Spec[];
  book: SweepBook;
  /** A TPE search's points and observations; null for every other sweep. */
  search: SearchBook | null;
  /** Reported evaluations and pruned trials; null without early_stop. */
  earlyStop: EarlyStopBook | null;
  meta: ProgressMeta;
  tracking: SweepTracking | null | undefined;
  /** Every handler bumps this; the main loop sleeps until it changes. */
  version: number;
  startsInFlight: number;
  startedThisRun: number;
  /** Cancellation requests already sent, per trial start (index:run). */
  cancelSent: Set<string>;
}

const changed = (r: SweepRun) => void r.version++;

function openRun(input: SweepInput): SweepRun {
  deprecatePatch(MLFLOW_TRACKING_PATCH);
  const { spec, sweepId, profile, dataPath } = input;
  // Only the compact carry (format 2) holds more than the book.
  const carried = input.carry && 'format' in input.carry ? input.carry : undefined;
  const extensions = carried?.extensions ?? [];
  const source = trialSource(spec, { sweepId, profile, dataPath, extensions });
  const book = input.carry
    ? SweepBook.fromCarry(input.carry)
    : SweepBook.create(source.count, source.plan.maxConcurrentTrials);
  // A closed sweep extended from the CLI restarts with the new spec before its book has the trials.
  if (book.total < source.count && extensions.length) book.grow(source.count);
  if (book.total !== source.count)
    throw new Error(`carried state has ${book.total} trials, the spec expands to ${source.count}`);
  const options = { ...DEFAULT_SWEEP_OPTIONS, ...input.options };
  return {
    input,
    options,
    source,
    extensions,
    book,
    search: openSearch(source, book, carried?.search),
    earlyStop: source.plan.earlyStop && EarlyStopBook.fromCarry(source.plan.earlyStop, carried?.earlyStop),
    meta: {
      sweepId,
      name: spec.name,
      study: spec.study,
      profile,
      taskQueue: source.plan.taskQueue,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs,
      ...(options.priority ? { priority: options.priority } : {}),
    },
    tracking: input.tracking,
    version: 0,
    startsInFlight: 0,
    startedThisRun: 0,
    cancelSent: new Set(),
  };
}

/** Refuses (as the update's validator: nothing enters the history) an extension that does more than add trials. */
function checkExtendRequest(r: SweepRun, request: ExtendRequest): void {
  if (r.book.cancelRequested) throw new Error('the sweep is being cancelled: nothing to extend');
  checkExtension([r.input.spec, ...r.extensions], request.spec, r.input.profile, `sweep ${r.meta.sweepId}`);
}

/** New trials after the existing ones; the window starts them as it has room. */
function extend(r: SweepRun, request: ExtendRequest): ExtendResult {
  const before = r.book.total;
  r.extensions = [...r.extensions, request.spec];
  const { sweepId, profile, dataPath } = r.input;
  const learnt = r.search?.toCarry();
  r.source = trialSource(r.input.spec, {
    sweepId,
    profile,
    dataPath,
    extensions: r.extensions,
    points: learnt?.points,
  });
  r.book.grow(r.source.count);
  // A TPE search suggests into the new plan: reopened on it with what it has learnt.
  if (learnt) r.search = openSearch(r.source, r.book, learnt);
  changed(r);
  log.info('sweep extended', { before, total: r.source.count });
  return { total: r.source.count, added: r.source.count - before };
}

/** Applies a trial's outcome (from its signal or its result, whichever comes first). */
function recordOutcome(r: SweepRun, outcome: TrialOutcome): void {
  if (!applyTrialOutcome(r.book, r.search, outcome, Date.now())) return;
  r.earlyStop?.settle(outcome);
  changed(r);
}

/** Judges a trial's evaluation; a report from a start that is no longer running is not judged. */
function judgeEvaluation(r: SweepRun, report: EvaluationReport): EvaluationVerdict {
  const running = r.book.running.get(report.index);
  if (!r.earlyStop || running?.run !== report.run) return { stop: false };
  const decision = r.earlyStop.report(report);
  changed(r);
  return decision.stop ? { stop: true, reason: decision.reason } : { stop: false };
}

/** The first invalid effective configuration among (up to OVERRIDE_CHECKS of) the trials a rerun would requeue. */
function overrideProblem(r: SweepRun, request: RerunRequest): string | null {
  if (!request.overrides) return null;
  const indices = request.indices ?? r.book.indicesIn(['failed', 'cancelled'], 0, OVERRIDE_CHECKS);
  try {
    for (const i of indices.slice(0, OVERRIDE_CHECKS)) {
      if (i >= 0 && i < r.book.total)
        trialConfigSchema.parse({ ...r.source.at(i).config, ...r.book.overridesOf(i), ...request.overrides });
    }
    return null;
  } catch (err) {
    return String(err);
  }
}

function registerHandlers(r: SweepRun): void {
  const { book } = r;
  setHandler(progressQuery, (request) => buildProgress(book, r.source, r.meta, request));
  setHandler(pauseSignal, () => {
    book.paused = true;
    changed(r);
  });
  setHandler(resumeSignal, () => {
    book.paused = false;
    changed(r);
  });
  setHandler(cancelSignal, () => {
    book.cancelPending();
    changed(r);
  });
  setHandler(setConcurrencySignal, (n) => {
    if (!Number.isInteger(n) || n < 1) return void log.warn('setConcurrency ignored: not a positive integer', { n });
    book.maxConcurrent = n;
    changed(r);
  });
  setHandler(rerunFailedSignal, (request = {}) => {
    // An override that makes some config invalid is refused as a whole, before anything is requeued.
    const problem = overrideProblem(r, request);
    if (problem) return void log.warn('rerunFailed ignored: invalid overrides', { error: problem });
    log.info('rerunFailed', { requeued: book.requeueForRerun(request).length });
    changed(r);
  });
  setHandler(trialFinishedSignal, (outcome) => recordOutcome(r, outcome));
  setHandler(reportEvaluationUpdate, (report) => judgeEvaluation(r, report));
  setHandler(specsQuery, () => ({ spec: r.input.spec, profile: r.input.profile, extensions: r.extensions }));
  setHandler(extendUpdate, (request) => extend(r, request), { validator: (request) => checkExtendRequest(r, request) });
}

/** What the child runs; null (and the trial failed) when its effective configuration is invalid. */
function childInput(r: SweepRun, index: number, run: number): TrialInput | null {
  const { sweepId, spec } = r.input;
  try {
    const trial = r.source.at(index);
    const overrides = r.book.overridesOf(index);
    const config = overrides ? trialConfigSchema.parse({ ...trial.config, ...overrides }) : trial.config;
    return {
      sweepId,
      index,
      trialId: trial.trialId,
      runName: trial.runName,
      axes: trial.axes,
      config,
      run,
      taskQueue: r.source.plan.taskQueue,
      study: spec.study,
      checkpointKey: overrides ? makeTrialId(sweepId, config, dataPathOf(r.input.dataPath)) : trial.trialId,
      dataPath: dataPathOf(r.input.dataPath),
      checkpointEvery: r.options.checkpointEvery || config.eval_interval,
      heartbeatTimeoutMs: r.options.heartbeatTimeoutMs,
      maxAttempts: r.options.maxAttempts,
      retryInitialIntervalMs: r.options.retryInitialIntervalMs,
      sweepName: spec.name,
      tracking: r.tracking,
      ...objectiveProbe(r.source.plan),
      ...(r.earlyStop ? { earlyStop: { metric: r.earlyStop.rule.metric, run } } : {}),
      // Only when set, so sweeps launched without one keep their trials' commands as before.
      ...(r.options.priority ? { priority: r.options.priority } : {}),
    };
  } catch (err) {
    // Throwing here would fail every workflow task of the sweep; the trial fails instead.
    r.book.markStartRefused(index, run, 'failed', `TrialConfigError: ${describeFailure(err)}`);
    return null;
  }
}

/** Trials of a search whose objective is read at a step report its value there. */
function objectiveProbe(plan: TrialSource['plan']): Pick<TrialInput, 'objective'> {
  const objective = plan.search && plan.objective;
  return objective && objective.step !== 'last'
    ? { objective: { metric: objective.metric, step: objective.step } }
    : {};
}

function startTrial(r: SweepRun, index: number): void {
  try {
    // A TPE point is suggested when its first trial starts, from the results in so far.
    r.search?.ensurePoint(index);
  } catch (err) {
    // Throwing would fail every workflow task of the sweep; childInput fails the trial instead.
    log.warn('no search point for a trial', { index, error: String(err) });
  }
  const run = r.book.markStarted(index, Date.now());
  r.startedThisRun++;
  const input = childInput(r, index, run);
  if (!input) return;
  r.startsInFlight++;
  startChild(trialWorkflow, {
    workflowId: input.trialId,
    args: [input],
    staticSummary: trialStaticSummary(input),
    staticDetails: trialStaticDetails(input),
    parentClosePolicy: ParentClosePolicy.ABANDON,
    ...(input.priority ? { priority: { priorityKey: input.priority } } : {}),
    // A trial never runs twice at once, a finished one never reruns; failed ones may.
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    typedSearchAttributes: [
      { key: MIRL_SWEEP, value: r.meta.sweepId },
      { key: MIRL_STUDY, value: r.meta.study },
    ],
  }).then(
    (handle) => {
      r.startsInFlight--;
      changed(r);
      // Same-run backstop for children that close without reporting (e.g. terminated).
      const base = { index, trialId: input.trialId, run };
      handle.result().then(
        (outcome) => recordOutcome(r, outcome),
        (err) =>
          recordOutcome(r, {
            ...base,
            state: isCancellation(err) ? 'cancelled' : 'failed',
            error: describeFailure(err),
          }),
      );
    },
    (err) => {
      r.startsInFlight--;
      // Only a completed run holds the id under ALLOW_DUPLICATE_FAILED_ONLY (running ones are tracked here).
      if (err instanceof WorkflowExecutionAlreadyStartedError) r.book.markStartRefused(index, run, 'done');
      else r.book.markStartRefused(index, run, 'failed', describeFailure(err));
      changed(r);
    },
  );
}

function cancelRunning(r: SweepRun): void {
  for (const [index, { run }] of r.book.running) {
    const key = `${index}:${run}`;
    if (r.cancelSent.has(key)) continue;
    r.cancelSent.add(key);
    const trialId = r.source.at(index).trialId;
    getExternalWorkflowHandle(trialId)
      .cancel()
      .catch((err) => log.warn('cancel of a trial failed', { trialId, error: String(err) }));
  }
}

function showDetails(r: SweepRun): void {
  const { book, meta } = r;
  const c = book.counts;
  const flags = [book.paused ? 'paused' : '', book.cancelRequested ? 'cancelling' : ''].filter(Boolean).join(', ');
  // A rough ETA from the mean trial time over the window; `mirl sweep watch` refines it with live steps.
  const { count, totalMs } = book.durations;
  const slots = Math.max(1, Math.min(book.maxConcurrent, c.running + c.pending));
  const etaMin =
    count > 0 && !book.paused ? Math.ceil(((totalMs / count) * (c.pending + c.running / 2)) / slots / 60_000) : null;
  setCurrentDetails(
    `**${meta.name}** (${meta.study}) ${flags}\n\n` +
      `${c.done} done · ${c.running} running · ${c.pending} pending · ${c.failed} failed · ${c.cancelled} cancelled ` +
      `of ${book.total}; window ${book.maxConcurrent}` +
      (etaMin !== null && c.pending + c.running > 0 ? `; ETA ~${etaMin} min` : ''),
  );
}

async function finishTracking(r: SweepRun, status: FinalRunStatus, error?: string): Promise<void> {
  if (!r.tracking) return;
  try {
    // Counts and axes only: the activity expands the trials it needs from the spec and the carry.
    const progress = buildProgress(r.book, r.source, r.meta, { limit: 0 });
    await finishSweepRun({
      sweepId: r.meta.sweepId,
      tracking: r.tracking,
      status,
      progress,
      carry: sweepCarry(r),
      spec: r.input.spec,
      error,
      dataPath: r.input.dataPath,
    });
  } catch (err) {
    log.warn('could not close the sweep in MLflow', { error: String(err) });
  }
}

/** Runs the window until the sweep settles ('settled') or this run has done its share ('continue'). */
async function runWindow(r: SweepRun): Promise<'settled' | 'continue'> {
  const { book } = r;
  for (;;) {
    if (book.cancelRequested) cancelRunning(r);
    for (const index of book.nextToStart()) startTrial(r, index);
    showDetails(r);
    if (book.isSettled() && r.startsInFlight === 0) {
      await finishTracking(r, book.cancelRequested ? 'KILLED' : 'FINISHED');
      // A rerun may have been asked for while the sweep's run was being closed.
      if (book.isSettled()) return 'settled';
      continue;
    }
    if (r.startedThisRun >= r.options.continueAsNewAfterStarts || workflowInfo().continueAsNewSuggested)
      return 'continue';
    const seen = r.version;
    await condition(() => r.version !== seen);
  }
}

async function closeCancelled(r: SweepRun): Promise<void> {
  // The sweep itself was cancelled (e.g. from the UI): cancel its trials too, then close as cancelled.
  await CancellationScope.nonCancellable(async () => {
    r.book.cancelPending();
    cancelRunning(r);
    await condition(() => r.book.running.size === 0, '2 minutes');
    await finishTracking(r, 'KILLED');
  });
}

export async function sweepWorkflow(input: SweepInput): Promise<SweepResult> {
  const r = openRun(input);
  upsertSearchAttributes([
    { key: MIRL_SWEEP, value: r.meta.sweepId },
    { key: MIRL_STUDY, value: r.meta.study },
  ]);
  registerHandlers(r);
  let ending: 'settled' | 'continue';
  try {
    // Asked once per launch and again after a restart (rerun-failed reopens the run);
    // continue-as-new carries the answer.
    if (r.tracking === undefined || !workflowInfo().continuedFromExecutionRunId) {
      showDetails(r);
      r.tracking = await ensureSweepRun({
        sweepId: r.meta.sweepId,
        spec: input.spec,
        profile: input.profile,
        specText: input.specText,
        dataPath: input.dataPath,
      });
    }
    ending = await runWindow(r);
  } catch (err) {
    if (isCancellation(err)) await closeCancelled(r);
    else await finishTracking(r, 'FAILED', describeFailure(err));
    throw err;
  }
  if (ending === 'continue') {
    // Outside the try: a boundary is not a failure. Every start must have answered and every
    // handler returned before the state is copied; a signal that arrives with this task makes
    // the server reject the continue-as-new and replay it with the signal applied first.
    await condition(() => r.startsInFlight === 0 && allHandlersFinished());
    r.book.generation++;
    log.info('continuing as new', { startedThisRun: r.startedThisRun, generation: r.book.generation });
    return continueAsNew<typeof sweepWorkflow>({ ...input, carry: sweepCarry(r), tracking: r.tracking ?? null });
  }
  await condition(allHandlersFinished);
  return {
    sweepId: r.meta.sweepId,
    progress: buildProgress(r.book, r.source, r.meta, { limit: RESULT_PAGE }),
    carry: sweepCarry(r),
  };
}
