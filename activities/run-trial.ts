// The runTrial activity: starts a trainer process, relays its metrics to the sink and
// its checkpoints to the store (metrics flushed first, so a resume never skips a step), heartbeats {step, checkpoint} on a timer (the trainer
// may be deep in a synchronous kernel), and maps the trainer's failures onto Temporal's
// retryable / non-retryable failures. Attempt > 1 resumes from the latest intact checkpoint
// (a damaged one is passed over and noted in the trial's record).
import os from 'node:os';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { BackendRequest } from '../ml/backend.js';
import type { TrialResult } from '../ml/run-trial.js';
import { computesAsLaunched, DATA_PATH_VERSION, LEGACY_DATA_PATH_VERSION } from '../ml/data-path.js';
import {
  NON_RETRYABLE_ERROR_TYPES,
  type ObjectiveProbe,
  type RunTrialActivityInput,
  type RunTrialActivityResult,
  type TrialHeartbeat,
} from '../workflows/types.js';
import { leaseOfActivity } from './attempt-lease.js';
import { EvaluationRelay, temporalJudge, type EvaluationJudge } from './evaluation-relay.js';
import { describeFallback, type CheckpointStore, type DamagedCheckpoint, type StoredCheckpoint } from './checkpoint-store.js';
import type { MetricsSink, TrialMetricsWriter } from './metrics-sink.js';
import { idleMsFromEnv, maxTrialsFromEnv, TrainerPool } from './trainer-pool.js';
import type { FromTrainer, ToTrainer } from './trainer-protocol.js';

const HEARTBEAT_EVERY_MS = 1_000;
/** How long a stopping trainer gets to checkpoint before it is killed. */
const STOP_GRACE_MS = 30_000;

export interface ActivityDeps {
  store: CheckpointStore;
  sink: MetricsSink;
  backend: BackendRequest;
  /** Named in results, so a test (or a person) sees which worker ran a trial. */
  identity?: string;
  /** Warm trainer processes; one pool per worker. */
  trainers?: TrainerPool;
  /** Where early-stop reports go (default: the sweep's workflow, through the worker's client). */
  judge?: EvaluationJudge;
}

export function createActivities(deps: ActivityDeps) {
  const full = { ...deps, trainers: deps.trainers ?? new TrainerPool({ maxTrialsPerTrainer: maxTrialsFromEnv(), idleMs: idleMsFromEnv() }) };
  return {
    runTrial: (input: RunTrialActivityInput): Promise<RunTrialActivityResult> => runTrialActivity(input, full),
  };
}

/** The record says where a resumed curve was continued; a tracking hiccup here must not cost the attempt. */
async function noteResume(writer: TrialMetricsWriter, step: number, warn: (error: string) => void): Promise<void> {
  try {
    await writer.noteResume?.(step);
  } catch (err) {
    warn(String(err));
  }
}

/** The search objective's value from this report, the first time the report reaches its step. */
export function probeObjective(objective: ObjectiveProbe | undefined, beat: TrialHeartbeat, msg: { step: number; metrics: Record<string, number> }): Pick<TrialHeartbeat, 'objective'> {
  if (!objective || beat.objective || msg.step < objective.step) return {};
  const value = msg.metrics[objective.metric];
  return typeof value === 'number' ? { objective: { step: msg.step, value } } : {};
}

/**
 * A trial launched under one data path and run under another would mix two sets of numbers
 * in one record (and resume one's checkpoint with the other's data): refused, for good,
 * unless nothing that changed since touches its configuration.
 */
export function dataPathRefusal(input: Pick<RunTrialActivityInput, 'trialId' | 'dataPath' | 'config'>): ApplicationFailure | null {
  const wanted = input.dataPath ?? LEGACY_DATA_PATH_VERSION;
  if (wanted === DATA_PATH_VERSION || computesAsLaunched(input.config, wanted)) return null;
  return ApplicationFailure.nonRetryable(
    `trial ${input.trialId} belongs to a sweep launched under data path ${wanted}; this worker computes data path ${DATA_PATH_VERSION} (ml/data-path.ts): launch the sweep again for results of this version`,
    'DataPathMismatch',
  );
}

async function runTrialActivity(input: RunTrialActivityInput, deps: ActivityDeps & { trainers: TrainerPool }): Promise<RunTrialActivityResult> {
  const refusal = dataPathRefusal(input);
  if (refusal) throw refusal;
  const ctx = Context.current();
  const { attempt } = ctx.info;
  const activityStartedAt = Date.now();
  const previous = ctx.info.heartbeatDetails as TrialHeartbeat | undefined;
  const identity = deps.identity ?? `${os.hostname()}:${process.pid}`;
  let beat: TrialHeartbeat = {
    step: previous?.step ?? 0,
    checkpointStep: previous?.checkpointStep ?? null,
    checkpointRef: previous?.checkpointRef ?? null,
    ...(previous?.objective ? { objective: previous.objective } : {}),
  };
  ctx.heartbeat(beat);
  // From the start: opening the record may wait out a tracking-server outage.
  const timer = setInterval(() => ctx.heartbeat(beat), HEARTBEAT_EVERY_MS);

  // A new trainer boots (Node, tsx, TensorFlow.js: a second or more) while the record is
  // opened and the checkpoint fetched, so tracking adds nothing to that wait.
  const { child, ready } = deps.trainers.acquire();
  // Once handed back, the trainer may be serving another trial: nothing of this one may reach it.
  let released = false;
  const lease = leaseOfActivity(ctx, () => beat, identity, (reason) => {
    ctx.log.warn('attempt fenced: no more writes, trainer stopped', { trialId: input.trialId, attempt, reason });
    // No checkpoint on the way out: the retry owns the record now.
    if (!released) child.kill('SIGKILL');
  });
  lease.start();
  let writer: TrialMetricsWriter | undefined;
  const execution = ctx.info.workflowExecution;
  const damaged: DamagedCheckpoint[] = [];
  const opening = (async () => {
    // The sink first: an MLflow checkpoint store finds the trial's run through it.
    writer = await deps.sink.open(input, attempt, {
      workflowId: execution?.workflowId ?? input.trialId,
      workflowRunId: execution?.runId ?? '',
      worker: identity,
      signal: lease.signal,
    });
    // The store is the truth; the previous attempt's heartbeat only says what to expect.
    const stored = await deps.store.latest(input.checkpointKey, (d) => damaged.push(d));
    if (damaged.length > 0) {
      const description = describeFallback(damaged, stored?.step ?? null);
      ctx.log.warn('checkpoint fallback', { trialId: input.trialId, description });
      // Before training starts: even an attempt that dies soon leaves the note behind.
      await writer.noteCheckpointFallback?.(description);
    }
    if (stored) await noteResume(writer, stored.step, (error) => ctx.log.warn('resume not recorded', { trialId: input.trialId, error }));
    return stored;
  })();
  // Handled when the trainer is ready or has exited; until then a rejection must not count as unhandled.
  opening.catch(() => {});
  let openError: unknown = null;
  /** How long the ready trainer waited for the record and checkpoint. */
  let openWaitMs = 0;
  let trainerStartedAt = 0;
  let result: TrialResult | null = null;
  let trainerError: Extract<FromTrainer, { type: 'error' }> | null = null;
  let stopping: 'cancel' | 'shutdown' | 'prune' | null = null;
  let pruned: { step: number; reason: string } | null = null;
  let cancelReason: unknown = null;
  let killTimer: NodeJS.Timeout | undefined;
  let saving: Promise<void> = Promise.resolve();
  let saveError: unknown = null;

  let newest: Extract<FromTrainer, { type: 'checkpoint' }> | null = null;
  const saveNewest = async () => {
    const msg = newest!;
    newest = null;
    if (lease.lost) return;
    try {
      // Everything up to this step must be recorded before a resume can start after it.
      await writer!.flush?.();
      const ref = await deps.store.save(input.checkpointKey, msg.step, msg.bytes, { signal: lease.signal });
      beat = { ...beat, step: Math.max(beat.step, msg.step), checkpointStep: msg.step, checkpointRef: ref };
      ctx.heartbeat(beat);
      saveError = null;
    } catch (err) {
      // Training goes on (e.g. through a tracking-server outage); a later save may succeed.
      saveError = err;
      ctx.log.warn('checkpoint not stored', { trialId: input.trialId, step: msg.step, error: String(err) });
    }
  };

  const send = (msg: ToTrainer) => {
    if (!released && child.connected) child.send(msg);
  };
  const stopTrainer = () => {
    send({ type: 'stop' });
    if (!released) killTimer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  };
  const relay = evaluationRelay(input, deps, ctx, lease.signal, (step, reason) => {
    if (stopping) return;
    ctx.log.info('trial pruned by the sweep', { trialId: input.trialId, step, reason });
    pruned = { step, reason };
    stopping = 'prune';
    stopTrainer();
  });

  ready.then(
    () => {
      const readyAt = performance.now();
      opening.then(
        (stored: StoredCheckpoint | null) => {
          openWaitMs = performance.now() - readyAt;
          if (attempt > 1 || stored) {
            ctx.log.info('resuming trial', {
              trialId: input.trialId,
              attempt,
              checkpointStep: stored?.step ?? null,
              previousHeartbeatStep: previous?.step ?? null,
            });
          }
          beat = { ...beat, step: stored?.step ?? 0, checkpointStep: stored?.step ?? null, checkpointRef: stored?.ref ?? null };
          ctx.heartbeat(beat);
          trainerStartedAt = Date.now();
          send({ type: 'start', config: input.config, backend: deps.backend, checkpointEvery: input.checkpointEvery, resumeFrom: stored?.bytes ?? null });
        },
        (err: unknown) => {
          openError = err;
          child.kill('SIGKILL');
        },
      );
    },
    // A trainer that died while booting is seen through its exit below.
    () => {},
  );

  let settle: (exit: { code: number | null; signal: NodeJS.Signals | null } | null) => void = () => {};
  const settled = new Promise<{ code: number | null; signal: NodeJS.Signals | null } | null>((resolve) => (settle = resolve));
  const onExit = (code: number | null, signal: NodeJS.Signals | null) => settle({ code, signal });
  child.once('exit', onExit);

  const onMessage = (msg: FromTrainer) => {
    switch (msg.type) {
      case 'train':
        beat = { ...beat, step: msg.step, train: msg.metrics, ...probeObjective(input.objective, beat, msg) };
        writer!.train(msg.step, msg.metrics);
        break;
      case 'eval':
        beat = { ...beat, step: msg.step, eval: msg.metrics, ...probeObjective(input.objective, beat, msg) };
        writer!.eval(msg.step, msg.metrics);
        if (msg.system) writer!.system?.(msg.step, msg.system);
        relay?.evaluated(msg.step, msg.metrics);
        break;
      case 'checkpoint': {
        // Only the newest checkpoint waiting to be stored is kept: a slow or unreachable
        // store (a tracking-server outage) must not pile up copies of the model in memory.
        const idle = newest === null;
        newest = msg;
        if (idle) saving = saving.then(saveNewest);
        break;
      }
      case 'result':
        result = msg.result;
        settle(null);
        break;
      case 'error':
        trainerError = msg;
        settle(null);
        break;
    }
  };
  child.on('message', onMessage);

  ctx.cancelled.catch((reason) => {
    cancelReason = reason;
    const details = ctx.cancellationDetails;
    // The server has given this attempt up (timed out, or replaced by a retry): stop writing now.
    if (details?.timedOut || details?.notFound) return lease.lose(`Temporal cancelled the attempt as ${details.timedOut ? 'timed out' : 'no longer known'}`);
    const wasPruning = stopping === 'prune';
    stopping = ctx.cancellationDetails?.workerShutdown ? 'shutdown' : 'cancel';
    pruned = null;
    if (!wasPruning) stopTrainer();
  });

  const exit = await settled;
  clearTimeout(killTimer);
  child.off('message', onMessage);
  child.off('exit', onExit);
  released = true;
  const status = (result as TrialResult | null)?.status;
  const finishedCleanly = exit === null && trainerError === null && (stopping === null ? status === 'finished' : stopping === 'prune' && status === 'stopped');
  deps.trainers.release(child, finishedCleanly);
  await saving;
  const fenced = () => ApplicationFailure.retryable(`attempt ${attempt} fenced: ${lease.reason}`, 'AttemptFenced');
  if (lease.lost) {
    lease.stop();
    clearInterval(timer);
    await writer?.close({ status: 'failed', error: lease.reason ?? 'fenced', willRetry: true }).catch(() => {});
    throw fenced();
  }
  await opening.catch((err: unknown) => void (openError ??= err));
  if (openError || !writer) {
    await writer?.close({ status: 'failed', error: String(openError), willRetry: true }).catch(() => {});
    lease.stop();
    clearInterval(timer);
    throw openError ?? new Error('the metrics sink opened no writer');
  }
  const openWriter: TrialMetricsWriter = writer;

  // The lease holds until the record is closed: the last flush and the run's end are writes too.
  const close = async (outcome: Parameters<TrialMetricsWriter['close']>[0]) => {
    let closeError: unknown = null;
    try {
      await openWriter.close(outcome);
    } catch (err) {
      closeError = err;
    } finally {
      lease.stop();
      clearInterval(timer);
    }
    if (lease.lost) throw fenced();
    if (closeError) throw closeError;
  };
  const fail = async (error: ApplicationFailure): Promise<never> => {
    const willRetry = !error.nonRetryable && attempt < (input.maxAttempts ?? Number.POSITIVE_INFINITY);
    await close({ status: 'failed', error: `${error.type ?? 'Error'}: ${error.message}`, willRetry }).catch((closeErr) =>
      ctx.log.warn('could not record the failure', { trialId: input.trialId, error: String(closeErr) }),
    );
    throw error;
  };

  const err = trainerError as Extract<FromTrainer, { type: 'error' }> | null;
  if (err) {
    const nonRetryable = NON_RETRYABLE_ERROR_TYPES.includes(err.name);
    return fail(ApplicationFailure.create({ message: err.message, type: err.name, nonRetryable, details: [{ stack: err.stack }] }));
  }
  const r = result as TrialResult | null;
  // A finished trial needs no checkpoint; a stopped one must leave its last one behind.
  // A pruned trial is over: its last checkpoint is not needed to resume it.
  if (saveError && r?.status !== 'finished' && !pruned) {
    return fail(ApplicationFailure.retryable(`checkpoint save failed: ${String(saveError)}`, 'CheckpointSaveError'));
  }
  if (!r) {
    return fail(ApplicationFailure.retryable(`trainer exited without a result (code ${exit?.code ?? null}, signal ${exit?.signal ?? null})`, 'TrainerCrashed'));
  }
  const full: RunTrialActivityResult = {
    ...r,
    ...(beat.objective ? { objective: beat.objective } : {}),
    attempt,
    worker: identity,
    activityStartedAt,
    trainerStartedAt,
    finishedAt: Date.now(),
  };
  const prunedAt = pruned as { step: number; reason: string } | null;
  if (r.status === 'stopped' && prunedAt) {
    const done: RunTrialActivityResult = { ...full, pruned: prunedAt };
    await close({ status: 'pruned', result: done, error: prunedAt.reason });
    return done;
  }
  if (r.status === 'stopped') {
    await close({ status: 'stopped', result: full, willRetry: stopping === 'shutdown' }).catch((closeErr) =>
      ctx.log.warn('could not record the stop', { trialId: input.trialId, error: String(closeErr) }),
    );
    if (stopping === 'shutdown') {
      // Retryable on purpose: the server hands the trial to another worker, which resumes it.
      throw ApplicationFailure.retryable(`worker shutting down; trial checkpointed at step ${r.step}`, 'WorkerShutdown');
    }
    throw cancelReason instanceof CancelledFailure ? cancelReason : new CancelledFailure(`trial stopped at step ${r.step}`);
  }
  try {
    // The last report must reach the sweep before the trial's outcome does.
    await relay?.drained();
    await close({ status: 'finished', result: full });
  } catch (closeErr) {
    if (closeErr instanceof ApplicationFailure) throw closeErr;
    // The metrics since the last checkpoint could not be delivered: a retry resumes from
    // that checkpoint and logs them again, rather than finish with a hole in the record.
    throw ApplicationFailure.retryable(`could not record the finished trial: ${String(closeErr)}`, 'TrackingUnavailable');
  }
  const overhead = openWriter.overhead?.();
  return overhead ? { ...full, tracking: { ...overhead, openWaitMs } } : full;
}

/** The attempt's early-stop relay, when its sweep has early_stop. */
function evaluationRelay(
  input: RunTrialActivityInput,
  deps: ActivityDeps,
  ctx: Context,
  signal: AbortSignal,
  onStop: (step: number, reason: string) => void,
): EvaluationRelay | null {
  if (!input.earlyStop || input.index === undefined) return null;
  const judge = deps.judge ?? temporalJudge(() => ctx.client, undefined, (line) => ctx.log.warn(line));
  return new EvaluationRelay(judge, input.sweepId, input.index, input.earlyStop, input.config, onStop, signal);
}
