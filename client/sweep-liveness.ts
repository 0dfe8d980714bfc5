// What Temporal knows of a sweep's running trials beyond the sweep's own record: the
// step and metrics of their last heartbeat, how long ago it was (a worker that died
// goes quiet long before its heartbeat timeout hands the trial elsewhere), and whether
// the trial workflow has in fact closed. `reconcileSweep` tells the sweep about trials
// that closed without reaching it, so a sweep can always be unstuck.
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import pLimit from 'p-limit';
import { progressQuery, trialFinishedSignal } from '../workflows/messages.js';
import { PROGRESS_PAGE_MAX } from '../workflows/progress.js';
import {
  DEFAULT_SWEEP_OPTIONS,
  type SweepProgress,
  type TrialHeartbeat,
  type TrialInput,
  type TrialLiveness,
  type TrialOutcome,
  type TrialProgress,
} from '../workflows/types.js';

/** Describes at once: enough to be quick at a window of hundreds, gentle on the server. */
const DESCRIBE_CONCURRENCY = 16;

/**
 * A live worker's heartbeats reach the server at least every 0.8 x the heartbeat timeout
 * (the SDK's throttle); quieter than that, plus slack for a busy host, means it is gone.
 */
export function staleAfterMs(heartbeatTimeoutMs: number): number {
  return Math.round(heartbeatTimeoutMs * 0.8) + 2_000;
}

type Pending = NonNullable<WorkflowExecutionDescription['raw']['pendingActivities']>[number];

function millisOf(ts: Pending['lastHeartbeatTime']): number | null {
  if (!ts || ts.seconds === undefined || ts.seconds === null) return null;
  return Number(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

// temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED: no worker holds it.
const ACTIVITY_SCHEDULED = 1;

/** The liveness of one trial from its workflow's description (pure: the clock is an argument). */
export function livenessOf(
  d: { status: string; pending?: Pending },
  now: number,
  heartbeatTimeoutMs: number,
): TrialLiveness {
  if (d.status !== 'RUNNING') return { heartbeatAgeS: null, attempt: 0, stale: false, closed: d.status };
  // A retry waiting for a slot keeps the last heartbeat of the attempt before it: its age
  // says nothing about a worker, and "stale" would send a user looking for a dead one.
  if (d.pending?.state === ACTIVITY_SCHEDULED)
    return { heartbeatAgeS: null, attempt: d.pending.attempt ?? 0, stale: false, queued: true };
  const beatAt = millisOf(d.pending?.lastHeartbeatTime) ?? millisOf(d.pending?.lastStartedTime);
  const age = beatAt === null ? null : Math.max(0, now - beatAt);
  return {
    heartbeatAgeS: age === null ? null : Math.round(age / 1000),
    attempt: d.pending?.attempt ?? 0,
    stale: age !== null && age > staleAfterMs(heartbeatTimeoutMs),
  };
}

async function describeTrial(client: Client, trialId: string): Promise<WorkflowExecutionDescription | null> {
  try {
    return await client.workflow.getHandle(trialId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

/** Fills in step, metrics and liveness of the running trials in the progress page. */
export async function addLiveness(client: Client, progress: SweepProgress, now = () => Date.now()): Promise<void> {
  const timeout = progress.heartbeatTimeoutMs ?? DEFAULT_SWEEP_OPTIONS.heartbeatTimeoutMs;
  const limit = pLimit(DESCRIBE_CONCURRENCY);
  await Promise.all(
    progress.trials
      .filter((t) => t.state === 'running')
      .map((t) =>
        limit(async () => {
          try {
            const d = await describeTrial(client, t.trialId);
            if (!d) return void (t.liveness = { heartbeatAgeS: null, attempt: 0, stale: false, closed: 'NOT_FOUND' });
            const pending = d.raw.pendingActivities?.[0];
            t.liveness = livenessOf({ status: d.status.name, pending }, now(), timeout);
            const payload = pending?.heartbeatDetails?.payloads?.[0];
            if (!payload) return;
            const beat = defaultPayloadConverter.fromPayload(payload as Payload) as TrialHeartbeat;
            t.step = beat.step;
            t.metrics = { ...beat.train, ...beat.eval };
          } catch {
            // Between starts or just finished: the sweep's own record stands.
          }
        }),
      ),
  );
}

/** Which start of the trial a closed workflow ran, from its start input. */
async function runOfWorkflow(client: Client, trialId: string): Promise<number | null> {
  const { history } = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId: trialId },
    maximumPageSize: 1,
  });
  const payload = history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return payload ? (defaultPayloadConverter.fromPayload(payload as Payload) as TrialInput).run : null;
}

/** The outcome a closed trial workflow should have reported; null while it runs or when it ran another start. */
async function outcomeOfClosed(client: Client, t: TrialProgress): Promise<TrialOutcome | null> {
  const base = { index: t.index, trialId: t.trialId, run: t.runs };
  const d = await describeTrial(client, t.trialId);
  if (!d)
    return { ...base, state: 'failed', error: 'TrialLost: the trial workflow was never started or has been deleted' };
  if (d.status.name === 'RUNNING') return null;
  if ((await runOfWorkflow(client, t.trialId)) !== t.runs) return null;
  if (d.status.name === 'COMPLETED')
    return { ...((await client.workflow.getHandle(t.trialId).result()) as TrialOutcome), ...base };
  const state = d.status.name === 'CANCELLED' ? 'cancelled' : 'failed';
  return {
    ...base,
    state,
    error: `TrialClosed: the trial workflow ended ${d.status.name.toLowerCase()} without reporting to the sweep`,
  };
}

/**
 * Sends the sweep the outcome of every trial it counts as running whose workflow has
 * closed (the sweep ignores a report of a start it no longer runs, so this is safe to
 * repeat). Returns the outcomes sent.
 */
export async function reconcileSweep(client: Client, sweepId: string): Promise<TrialOutcome[]> {
  const handle = client.workflow.getHandle(sweepId);
  const limit = pLimit(DESCRIBE_CONCURRENCY);
  const sent: TrialOutcome[] = [];
  for (let offset = 0; ; offset += PROGRESS_PAGE_MAX) {
    const page = await handle.query(progressQuery, { states: ['running'], offset, limit: PROGRESS_PAGE_MAX });
    const outcomes = await Promise.all(page.trials.map((t) => limit(() => outcomeOfClosed(client, t))));
    for (const outcome of outcomes) {
      if (!outcome) continue;
      await handle.signal(trialFinishedSignal, outcome);
      sent.push(outcome);
    }
    if (offset + PROGRESS_PAGE_MAX >= page.page.matching) return sent;
  }
}
