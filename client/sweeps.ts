// What the sweep commands share: finding a sweep by id (one-line errors for unknown ids),
// reading its progress a page at a time (query while open, result and carry once closed,
// live trial steps and liveness from the trial activities), launching and restarting.
import { randomBytes } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, WorkflowIdReusePolicy, type Payload } from '@temporalio/common';
import { makeLaunchToken, makeSweepId, planSpec, trialSource, type Spec } from '../sweep-spec/index.js';
import { DATA_PATH_VERSION } from '../ml/data-path.js';
import { sweepStaticDetails, sweepStaticSummary } from '../workflows/summaries.js';
import { extendUpdate, progressQuery, specsQuery, type SweepSpecs } from '../workflows/messages.js';
import { checkExtension, extendSpec, type ExtendRequest } from '../sweep-spec/extend.js';
import { semanticIssues } from '../sweep-spec/validate.js';
import { SpecError } from '../sweep-spec/errors.js';
import { MIRL_STUDY, MIRL_SWEEP } from '../workflows/search-attributes.js';
import { SweepBook } from '../workflows/sweep-state.js';
import { buildProgress, normalizeRequest, PROGRESS_PAGE_MAX, RESULT_PAGE } from '../workflows/progress.js';
import { addLiveness } from './sweep-liveness.js';
import type { sweepWorkflow } from '../workflows/sweep.js';
import {
  DEFAULT_SWEEP_OPTIONS,
  SWEEP_TASK_QUEUE,
  type ProgressRequest,
  type RerunRequest,
  type SweepInput,
  type SweepOptions,
  type SweepProgress,
  type SweepResult,
} from '../workflows/types.js';

/** What a user asked of a sweep that cannot be done (no such sweep, wrong state): their input, so exit 2. */
export class SweepRefusal extends Error {
  override readonly name = 'SweepRefusal';
}

export const SWEEP_WORKFLOW_TYPE = 'sweepWorkflow';

export interface SweepSnapshot {
  status: string;
  progress: SweepProgress;
}

export function newSweepId(spec: Spec, now = new Date()): string {
  // base36 of random bytes: the launch token allows a-z0-9 only.
  const entropy = BigInt('0x' + randomBytes(4).toString('hex'))
    .toString(36)
    .padStart(4, '0')
    .slice(-5);
  return makeSweepId(spec.name, makeLaunchToken(now, entropy));
}

export async function startSweep(
  client: Client,
  input: SweepInput,
  reuse = false,
): Promise<WorkflowHandle<typeof sweepWorkflow>> {
  const extensions = input.carry && 'format' in input.carry ? (input.carry.extensions ?? []) : [];
  const latest = extensions[extensions.length - 1] ?? input.spec;
  const plan = planSpec(latest, input.profile);
  const count = extensions.length
    ? trialSource(input.spec, { ...input, dataPath: input.dataPath, extensions }).count
    : plan.trialCount;
  // Typed by the workflow function (imported as a type only: clients never load workflow code).
  return client.workflow.start<typeof sweepWorkflow>(SWEEP_WORKFLOW_TYPE, {
    staticSummary: sweepStaticSummary(latest, input.profile, count),
    staticDetails: sweepStaticDetails(latest, input.profile, plan),
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

/** A new sweep, of the data path this code computes; its restarts keep that version. */
export async function launchSweep(
  client: Client,
  spec: Spec,
  profile: string | null,
  options?: SweepOptions,
  specText?: string,
): Promise<string> {
  const sweepId = newSweepId(spec);
  await startSweep(client, {
    spec,
    sweepId,
    profile,
    options,
    dataPath: DATA_PATH_VERSION,
    ...(specText !== undefined ? { specText } : {}),
  });
  return sweepId;
}

/** The sweep's handle and status; an unknown id is a usage error. */
export async function findSweep(client: Client, sweepId: string): Promise<{ handle: WorkflowHandle; status: string }> {
  const handle = client.workflow.getHandle(sweepId);
  try {
    const d = await handle.describe();
    if (d.type !== SWEEP_WORKFLOW_TYPE)
      throw new SweepRefusal(`${sweepId} is a ${d.type}, not a sweep (see \`mirl sweep list\`)`);
    return { handle, status: d.status.name };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      throw new SweepRefusal(
        `no sweep with id ${sweepId} in namespace ${client.options.namespace} (see \`mirl sweep list\`)`,
      );
    }
    throw err;
  }
}

export async function readSweep(
  client: Client,
  sweepId: string,
  live = true,
  request?: ProgressRequest,
): Promise<SweepSnapshot> {
  const { handle, status } = await findSweep(client, sweepId);
  const progress =
    status === 'COMPLETED'
      ? await closedProgress(client, handle, request)
      : await handle.query(progressQuery, request ?? {});
  if (live) await addLiveness(client, progress);
  return { status, progress };
}

/**
 * A completed sweep's progress: its result lists the first RESULT_PAGE trials; any other
 * page is rebuilt from the carried state and the spec, by the workflow's own functions.
 */
async function closedProgress(
  client: Client,
  handle: WorkflowHandle,
  request: ProgressRequest = {},
): Promise<SweepProgress> {
  const result = (await handle.result()) as SweepResult;
  const page = normalizeRequest(request);
  const listedAll = result.progress.trials.length >= result.progress.total;
  const inResult =
    result.progress.page !== undefined &&
    page.states === null &&
    (listedAll || page.offset + page.limit <= RESULT_PAGE);
  if (inResult)
    return {
      ...result.progress,
      trials: result.progress.trials.slice(page.offset, page.offset + page.limit),
      page: { ...result.progress.page, ...page },
    };
  const input = await startInput(client, handle.workflowId);
  const { trials: _, page: __, recent: ___, durations: ____, ...meta } = result.progress;
  const source = trialSource(input.spec, {
    ...input,
    points: result.carry.search?.points,
    dataPath: input.dataPath,
    extensions: result.carry.extensions,
  });
  return buildProgress(
    SweepBook.fromCarry(result.carry),
    source,
    { heartbeatTimeoutMs: input.options?.heartbeatTimeoutMs ?? DEFAULT_SWEEP_OPTIONS.heartbeatTimeoutMs, ...meta },
    request,
  );
}

/** Reruns failed trials: by signal while the sweep runs, by a new run carrying its state once it has closed. */
export async function rerunFailed(
  client: Client,
  sweepId: string,
  request: RerunRequest,
): Promise<{ restarted: boolean; requeued: number[]; count: number }> {
  const { handle, status } = await findSweep(client, sweepId);
  if (status === 'RUNNING') {
    const before = await handle.query(progressQuery, { states: ['failed', 'cancelled'] });
    const wanted = request.indices ? new Set(request.indices) : null;
    const requeued = before.trials.filter((t) => !wanted || wanted.has(t.index)).map((t) => t.index);
    await handle.signal('rerunFailed', request);
    return { restarted: false, requeued, count: wanted ? requeued.length : before.page.matching };
  }
  if (status !== 'COMPLETED')
    throw new SweepRefusal(
      `sweep ${sweepId} is ${status.toLowerCase()}; only running or completed sweeps can rerun trials`,
    );
  const result = (await handle.result()) as SweepResult;
  const input = await startInput(client, sweepId);
  const book = SweepBook.fromCarry(result.carry);
  const requeued = book.requeueForRerun(request);
  if (requeued.length === 0) return { restarted: false, requeued, count: 0 };
  book.generation += 1;
  // The rest of the carry (a search's points, early-stop reports, extensions) goes on as it was.
  await startSweep(client, { ...input, carry: { ...result.carry, ...book.toCarry() } }, true);
  return { restarted: true, requeued: requeued.slice(0, PROGRESS_PAGE_MAX), count: requeued.length };
}

/** The input the sweep's latest run started with: its first history event, one event fetched. */
export async function startInput(client: Client, workflowId: string): Promise<SweepInput> {
  const { history } = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId },
    maximumPageSize: 1,
  });
  const payload = history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new Error(`sweep ${workflowId}: its start event has no input`);
  return defaultPayloadConverter.fromPayload(payload as Payload) as SweepInput;
}

export interface ExtendOutcome {
  /** The sweep had closed: a new run carries its state and starts the new trials. */
  restarted: boolean;
  total: number;
  added: number;
}

/**
 * Adds trials to a sweep (more seeds, axis values or search points), running or closed:
 * the extended spec is checked here (one-line errors naming the flag or field) and again
 * by the sweep; existing trials keep their indices and ids and never rerun.
 */
export async function extendSweep(client: Client, sweepId: string, request: ExtendRequest): Promise<ExtendOutcome> {
  const { handle, status } = await findSweep(client, sweepId);
  if (status !== 'RUNNING' && status !== 'COMPLETED')
    throw new SweepRefusal(
      `sweep ${sweepId} is ${status.toLowerCase()}; only running or completed sweeps can be extended`,
    );
  const closed = status === 'COMPLETED' ? ((await handle.result()) as SweepResult) : null;
  const input = closed ? await startInput(client, sweepId) : null;
  const specs: SweepSpecs =
    closed && input
      ? { spec: input.spec, profile: input.profile, extensions: closed.carry.extensions ?? [] }
      : await handle.query(specsQuery);
  const chain = [specs.spec, ...specs.extensions];
  const file = `sweep ${sweepId}`;
  const next = extendSpec(chain[chain.length - 1], specs.profile, request, file);
  const issues = semanticIssues(next, file);
  if (issues.length) throw new SpecError(issues);
  checkExtension(chain, next, specs.profile, file);
  if (!closed || !input) {
    try {
      const result = await handle.executeUpdate(extendUpdate, { args: [{ spec: next }] });
      return { restarted: false, ...result };
    } catch (err) {
      // The sweep's own check refused it (the validator): the same words as ours would be.
      if (err instanceof WorkflowUpdateFailedError)
        throw new SweepRefusal(`sweep ${sweepId} refused the extension: ${err.cause?.message ?? err.message}`);
      throw err;
    }
  }
  const book = SweepBook.fromCarry(closed.carry);
  book.generation += 1;
  const extensions = [...specs.extensions, next];
  const total = trialSource(input.spec, {
    ...input,
    dataPath: input.dataPath,
    extensions,
    points: closed.carry.search?.points,
  }).count;
  await startSweep(client, { ...input, carry: { ...closed.carry, ...book.toCarry(), extensions } }, true);
  return { restarted: true, total, added: total - book.total };
}
