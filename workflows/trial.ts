// One trial: one activity on the resource's task queue, retried with backoff on worker
// loss (each retry resumes from the latest checkpoint), then a report to the sweep.
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  CancellationScope,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/run-trial.js';
import { trialFinishedSignal } from './messages.js';
import { MIRL_STUDY, MIRL_SWEEP } from './search-attributes.js';
import {
  ACTIVITY_INPUT_KEYS,
  NON_RETRYABLE_ERROR_TYPES,
  type RunTrialActivityInput,
  type TrialInput,
  type TrialOutcome,
} from './types.js';

type Activities = ReturnType<typeof createActivities>;

export function describeFailure(err: unknown): string {
  let e: unknown = err;
  // Child and activity failures wrap the trainer's own error; the innermost cause carries its type and text.
  while ((e instanceof ActivityFailure || e instanceof ChildWorkflowFailure) && e.cause) e = e.cause;
  if (e instanceof ApplicationFailure) return `${e.type ?? 'Error'}: ${e.message}`;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

async function report(sweepId: string, outcome: TrialOutcome): Promise<void> {
  try {
    await getExternalWorkflowHandle(sweepId).signal(trialFinishedSignal, outcome);
  } catch (err) {
    // The sweep may be closed (cancelled, or run without one in tests): nothing to tell.
    log.warn('could not report to the sweep', { sweepId, error: String(err) });
  }
}

/** The activity's slice of the trial input; absent optional fields stay absent on the wire. */
export function activityInputOf(input: TrialInput): RunTrialActivityInput {
  const slice: Partial<Record<keyof RunTrialActivityInput, unknown>> = {};
  for (const key of ACTIVITY_INPUT_KEYS) if (input[key] !== undefined) slice[key] = input[key];
  return slice as RunTrialActivityInput;
}

export async function trialWorkflow(input: TrialInput): Promise<TrialOutcome> {
  upsertSearchAttributes([
    { key: MIRL_SWEEP, value: input.sweepId },
    { key: MIRL_STUDY, value: input.study },
  ]);
  setCurrentDetails(`**${input.runName}** (trial ${input.index}, run ${input.run}) on \`${input.taskQueue}\``);
  const { runTrial } = proxyActivities<Activities>({
    taskQueue: input.taskQueue,
    startToCloseTimeout: '24h',
    heartbeatTimeout: input.heartbeatTimeoutMs,
    // The trainer must stop and checkpoint before the trial counts as cancelled.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    // Stated, not inherited from the workflow: an attempt queued behind other sweeps' goes first by it.
    ...(input.priority ? { priority: { priorityKey: input.priority } } : {}),
    retry: {
      initialInterval: input.retryInitialIntervalMs,
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      maximumAttempts: input.maxAttempts,
      nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
    },
  });
  const base = { index: input.index, trialId: input.trialId, run: input.run };
  try {
    const result = await runTrial(activityInputOf(input));
    // A pruned trial completes (the sweep stopped it on purpose): its reason travels as the outcome's error.
    const outcome: TrialOutcome = result.pruned
      ? { ...base, state: 'pruned', result, error: result.pruned.reason }
      : { ...base, state: 'done', result };
    setCurrentDetails(
      result.pruned
        ? `**${input.runName}**: pruned at step ${result.pruned.step}: ${result.pruned.reason}`
        : `**${input.runName}**: done at step ${result.step} on ${result.backend}`,
    );
    await report(input.sweepId, outcome);
    return outcome;
  } catch (err) {
    const cancelled = isCancellation(err);
    const outcome: TrialOutcome = { ...base, state: cancelled ? 'cancelled' : 'failed', error: describeFailure(err) };
    // A cancelled scope cannot send signals; the report must still reach the sweep.
    await CancellationScope.nonCancellable(() => report(input.sweepId, outcome));
    throw err;
  }
}
