// What the sweep commands share: finding a sweep by id (one-line errors for unknown ids),
// reading its progress (query while open, result once closed, live trial steps from the
// trial activities' heartbeats), launching and restarting.
import { randomBytes } from 'node:crypto';
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, WorkflowIdReusePolicy } from '@temporalio/common';
import { makeLaunchToken, makeSweepId, type Spec } from '../../spec/index.js';
import { UsageError } from '../errors.js';
import { progressQuery } from '../../workflows/messages.js';
import { MIRL_STUDY, MIRL_SWEEP } from '../../workflows/search-attributes.js';
import { requeueForRerun } from '../../workflows/sweep-state.js';
import { SWEEP_TASK_QUEUE, type RerunRequest, type SweepInput, type SweepOptions, type SweepProgress, type SweepResult, type TrialHeartbeat } from '../../workflows/types.js';

export const SWEEP_WORKFLOW_TYPE = 'sweepWorkflow';

export interface SweepSnapshot {
  status: string;
  progress: SweepProgress;
}

export function newSweepId(spec: Spec, now = new Date()): string {
  // base36 of random bytes: the launch token allows a-z0-9 only.
  const entropy = BigInt('0x' + randomBytes(4).toString('hex')).toString(36).padStart(4, '0').slice(-5);
  return makeSweepId(spec.name, makeLaunchToken(now, entropy));
}

export async function startSweep(client: Client, input: SweepInput, reuse = false): Promise<WorkflowHandle> {
  return client.workflow.start(SWEEP_WORKFLOW_TYPE, {
    workflowId: input.sweepId,
    taskQueue: SWEEP_TASK_QUEUE,
    args: [input],
    workflowIdReusePolicy: reuse ? WorkflowIdReusePolicy.ALLOW_DUPLICATE : WorkflowIdReusePolicy.REJECT_DUPLICATE,
    typedSearchAttributes: [
      { key: MIRL_SWEEP, value: input.sweepId },
      { key: MIRL_STUDY, value: input.spec.study },
    ],
    memo: { name: input.spec.name, study: input.spec.study, profile: input.profile },
  });
}

export async function launchSweep(client: Client, spec: Spec, profile: string | null, options?: SweepOptions, specText?: string): Promise<string> {
  const sweepId = newSweepId(spec);
  await startSweep(client, { spec, sweepId, profile, options, ...(specText !== undefined ? { specText } : {}) });
  return sweepId;
}

/** The sweep's handle and status; an unknown id is a usage error. */
export async function findSweep(client: Client, sweepId: string): Promise<{ handle: WorkflowHandle; status: string }> {
  const handle = client.workflow.getHandle(sweepId);
  try {
    const d = await handle.describe();
    if (d.type !== SWEEP_WORKFLOW_TYPE) throw new UsageError(`${sweepId} is a ${d.type}, not a sweep (see \`mirl sweep list\`)`);
    return { handle, status: d.status.name };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      throw new UsageError(`no sweep with id ${sweepId} in namespace ${client.options.namespace} (see \`mirl sweep list\`)`);
    }
    throw err;
  }
}

export async function readSweep(client: Client, sweepId: string, live = true): Promise<SweepSnapshot> {
  const { handle, status } = await findSweep(client, sweepId);
  const progress =
    status === 'COMPLETED' ? ((await handle.result()) as SweepResult).progress : await handle.query(progressQuery);
  if (live) await addLiveSteps(client, progress);
  return { status, progress };
}

/**
 * Running trials report their step through activity heartbeats, which cost the sweep's
 * history nothing; read them from each running trial's pending activity.
 */
async function addLiveSteps(client: Client, progress: SweepProgress): Promise<void> {
  await Promise.all(
    progress.trials
      .filter((t) => t.state === 'running')
      .map(async (t) => {
        try {
          const d = await client.workflow.getHandle(t.trialId).describe();
          const payload = d.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0];
          if (!payload) return;
          const beat = defaultPayloadConverter.fromPayload(payload) as TrialHeartbeat;
          t.step = beat.step;
          t.metrics = { ...beat.train, ...beat.eval };
        } catch {
          // Between starts or just finished: the sweep's own record stands.
        }
      }),
  );
}

/** Reruns failed trials: by signal while the sweep runs, by a new run carrying its state once it has closed. */
export async function rerunFailed(client: Client, sweepId: string, request: RerunRequest): Promise<{ restarted: boolean; requeued: number[] }> {
  const { handle, status } = await findSweep(client, sweepId);
  if (status === 'RUNNING') {
    const before = await handle.query(progressQuery);
    const requeued = before.trials
      .filter((t) => (t.state === 'failed' || t.state === 'cancelled') && (!request.indices || request.indices.includes(t.index)))
      .map((t) => t.index);
    await handle.signal('rerunFailed', request);
    return { restarted: false, requeued };
  }
  if (status !== 'COMPLETED') throw new UsageError(`sweep ${sweepId} is ${status.toLowerCase()}; only running or completed sweeps can rerun trials`);
  const result = (await handle.result()) as SweepResult;
  const input = await startInput(handle);
  const carry = structuredClone(result.carry);
  const requeued = requeueForRerun(carry, request);
  if (requeued.length === 0) return { restarted: false, requeued };
  carry.generation += 1;
  await startSweep(client, { ...input, carry }, true);
  return { restarted: true, requeued };
}

async function startInput(handle: WorkflowHandle): Promise<SweepInput> {
  const history = await handle.fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new Error(`sweep ${handle.workflowId}: its start event has no input`);
  return defaultPayloadConverter.fromPayload(payload) as SweepInput;
}
