// A sweep: expands the spec (the same pure function `mirl sweep validate` uses) and keeps
// a sliding window of trial child workflows running, under pause/resume/cancel,
// concurrency changes and reruns. Children are ABANDONed on close and report back by
// signal to the sweep's workflow id, so trials keep running across continue-as-new and
// their outcomes reach whichever run of the sweep is current.
import {
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
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
import { expandSpec, planSpec, makeTrialId, type Trial } from '../spec/index.js';
import { trialConfigSchema, type TrialConfig } from '../ml/config.js';
import {
  cancelSignal,
  pauseSignal,
  progressQuery,
  rerunFailedSignal,
  resumeSignal,
  setConcurrencySignal,
  trialFinishedSignal,
} from './messages.js';
import { MIRL_STUDY, MIRL_SWEEP } from './search-attributes.js';
import { applyOutcome, buildProgress, cancelPending, countStates, initialCarry, isSettled, markStarted, nextToStart, requeueForRerun } from './sweep-state.js';
import { describeFailure, trialWorkflow } from './trial.js';
import type { createSweepActivities } from '../activities/mlflow-sweep-activities.js';
import type { SweepInput, SweepOptions, SweepResult, SweepTracking, TrialInput, TrialRecord } from './types.js';

/** Sweeps started before MLflow tracking replay without its activities. */
export const MLFLOW_TRACKING_PATCH = 'mlflow-tracking';

type SweepActivities = ReturnType<typeof createSweepActivities>;

// On the workflow's own queue (mirl-sweeps): every workflow worker registers them.
const { ensureSweepRun } = proxyActivities<SweepActivities>({
  startToCloseTimeout: '5 minutes',
  // A sweep launched while the tracking server is down waits for it: trials nest under its run.
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
const { finishSweepRun } = proxyActivities<SweepActivities>({
  startToCloseTimeout: '5 minutes',
  // The results are in Temporal either way: give up after a while rather than hold the sweep open.
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

export const DEFAULT_SWEEP_OPTIONS: Required<SweepOptions> = {
  heartbeatTimeoutMs: 60_000,
  checkpointEvery: 0,
  continueAsNewAfterStarts: 500,
  maxAttempts: 5,
  retryInitialIntervalMs: 2_000,
};

function effectiveConfig(trial: Trial, record: TrialRecord): TrialConfig {
  return record.overrides ? trialConfigSchema.parse({ ...trial.config, ...record.overrides }) : trial.config;
}

export async function sweepWorkflow(input: SweepInput): Promise<SweepResult> {
  const { spec, sweepId, profile } = input;
  const options = { ...DEFAULT_SWEEP_OPTIONS, ...input.options };
  const plan = planSpec(spec, profile);
  const trials = expandSpec(spec, { sweepId, profile });
  const carry = input.carry ?? initialCarry(trials.length, plan.maxConcurrentTrials);
  if (carry.trials.length !== trials.length) {
    throw new Error(`carried state has ${carry.trials.length} trials, the spec expands to ${trials.length}`);
  }
  const meta = { sweepId, name: spec.name, study: spec.study, profile, taskQueue: plan.taskQueue };
  const tracked = patched(MLFLOW_TRACKING_PATCH);
  let tracking: SweepTracking | null | undefined = input.tracking;
  upsertSearchAttributes([
    { key: MIRL_SWEEP, value: sweepId },
    { key: MIRL_STUDY, value: spec.study },
  ]);

  // Every handler bumps this; the main loop sleeps until it changes.
  let version = 0;
  const changed = () => void version++;
  let startsInFlight = 0;
  let startedThisRun = 0;
  // Cancellation requests already sent, per trial start (index:run).
  const cancelSent = new Set<string>();

  setHandler(progressQuery, () => buildProgress(carry, trials, meta));
  setHandler(pauseSignal, () => {
    carry.paused = true;
    changed();
  });
  setHandler(resumeSignal, () => {
    carry.paused = false;
    changed();
  });
  setHandler(cancelSignal, () => {
    cancelPending(carry);
    changed();
  });
  setHandler(setConcurrencySignal, (n) => {
    if (!Number.isInteger(n) || n < 1) return void log.warn('setConcurrency ignored: not a positive integer', { n });
    carry.maxConcurrent = n;
    changed();
  });
  setHandler(rerunFailedSignal, (request = {}) => {
    if (request.overrides) {
      // An override that makes some config invalid is refused as a whole, before anything is requeued.
      try {
        for (const t of trials) trialConfigSchema.parse({ ...t.config, ...request.overrides });
      } catch (err) {
        return void log.warn('rerunFailed ignored: invalid overrides', { error: String(err) });
      }
    }
    const requeued = requeueForRerun(carry, request);
    log.info('rerunFailed', { requeued });
    changed();
  });
  setHandler(trialFinishedSignal, (outcome) => {
    if (applyOutcome(carry, outcome, Date.now())) changed();
  });

  function startTrial(index: number): void {
    const trial = trials[index];
    const record = markStarted(carry, index, Date.now());
    startedThisRun++;
    const config = effectiveConfig(trial, record);
    const childInput: TrialInput = {
      sweepId,
      index,
      trialId: trial.trialId,
      runName: trial.runName,
      axes: trial.axes,
      config,
      run: record.runs,
      taskQueue: plan.taskQueue,
      study: spec.study,
      checkpointKey: record.overrides ? makeTrialId(sweepId, config) : trial.trialId,
      checkpointEvery: options.checkpointEvery || config.eval_interval,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs,
      maxAttempts: options.maxAttempts,
      retryInitialIntervalMs: options.retryInitialIntervalMs,
      ...(tracked ? { sweepName: spec.name, tracking } : {}),
    };
    const run = record.runs;
    startsInFlight++;
    startChild(trialWorkflow, {
      workflowId: trial.trialId,
      args: [childInput],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      // A trial never runs twice at once, a finished one never reruns; failed ones may.
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
      typedSearchAttributes: [
        { key: MIRL_SWEEP, value: sweepId },
        { key: MIRL_STUDY, value: spec.study },
      ],
    }).then(
      (handle) => {
        startsInFlight--;
        changed();
        // Same-run backstop for children that close without reporting (e.g. terminated).
        handle.result().then(
          (outcome) => applyOutcome(carry, outcome, Date.now()) && changed(),
          (err) =>
            applyOutcome(
              carry,
              { index, trialId: trial.trialId, run, state: isCancellation(err) ? 'cancelled' : 'failed', error: describeFailure(err) },
              Date.now(),
            ) && changed(),
        );
      },
      (err) => {
        startsInFlight--;
        if (err instanceof WorkflowExecutionAlreadyStartedError) {
          // Only a completed run holds the id under ALLOW_DUPLICATE_FAILED_ONLY (running ones are tracked here).
          record.state = 'done';
          record.adopted = true;
        } else {
          record.state = 'failed';
          record.error = describeFailure(err);
        }
        record.recordedAt = Date.now();
        changed();
      },
    );
  }

  function cancelRunning(): void {
    carry.trials.forEach((t, index) => {
      const key = `${index}:${t.runs}`;
      if (t.state !== 'running' || cancelSent.has(key)) return;
      cancelSent.add(key);
      getExternalWorkflowHandle(trials[index].trialId)
        .cancel()
        .catch((err) => log.warn('cancel of a trial failed', { trialId: trials[index].trialId, error: String(err) }));
    });
  }

  function showDetails(): void {
    const c = countStates(carry);
    const flags = [carry.paused ? 'paused' : '', carry.cancelRequested ? 'cancelling' : ''].filter(Boolean).join(', ');
    setCurrentDetails(
      `**${spec.name}** (${spec.study}) ${flags}\n\n` +
        `${c.done} done · ${c.running} running · ${c.pending} pending · ${c.failed} failed · ${c.cancelled} cancelled ` +
        `of ${trials.length}; window ${carry.maxConcurrent}`,
    );
  }

  async function finishTracking(status: 'FINISHED' | 'FAILED' | 'KILLED', error?: string): Promise<void> {
    if (!tracking) return;
    try {
      await finishSweepRun({ sweepId, tracking, status, progress: buildProgress(carry, trials, meta), error });
    } catch (err) {
      log.warn('could not close the sweep in MLflow', { error: String(err) });
    }
  }

  try {
    // Asked once per launch and again after a restart (rerun-failed reopens the run);
    // continue-as-new carries the answer.
    if (tracked && (tracking === undefined || !workflowInfo().continuedFromExecutionRunId)) {
      showDetails();
      tracking = await ensureSweepRun({ sweepId, spec, profile, specText: input.specText });
    }
    for (;;) {
      if (carry.cancelRequested) cancelRunning();
      for (const index of nextToStart(carry)) startTrial(index);
      showDetails();
      if (isSettled(carry) && startsInFlight === 0) {
        await finishTracking(carry.cancelRequested ? 'KILLED' : 'FINISHED');
        // A rerun may have been asked for while the sweep's run was being closed.
        if (isSettled(carry)) break;
        continue;
      }
      if (startedThisRun >= options.continueAsNewAfterStarts || workflowInfo().continueAsNewSuggested) {
        await condition(() => startsInFlight === 0 && allHandlersFinished());
        carry.generation++;
        log.info('continuing as new', { startedThisRun, generation: carry.generation });
        await continueAsNew<typeof sweepWorkflow>({ ...input, carry, ...(tracked ? { tracking: tracking ?? null } : {}) });
      }
      const seen = version;
      await condition(() => version !== seen);
    }
  } catch (err) {
    if (!isCancellation(err)) {
      await finishTracking('FAILED', describeFailure(err));
      throw err;
    }
    // The sweep itself was cancelled (e.g. from the UI): cancel its trials too, then close as cancelled.
    await CancellationScope.nonCancellable(async () => {
      cancelPending(carry);
      cancelRunning();
      await condition(() => carry.trials.every((t) => t.state !== 'running'), '2 minutes');
      await finishTracking('KILLED');
    });
    throw err;
  }
  await condition(allHandlersFinished);
  return { sweepId, progress: buildProgress(carry, trials, meta), carry };
}
