// One attempt of the runTrial activity: a trainer process from the pool, the trial's
// record opened beside its start-up, the trainer's messages relayed (metrics to the sink,
// checkpoints to the store with the metrics flushed first, evaluations to the sweep's
// early stopping), heartbeats on a timer, a lease that fences the attempt off when
// Temporal may have handed the trial on, and the end mapped onto Temporal's retryable and
// non-retryable failures. Attempt > 1 resumes from the latest intact checkpoint.
import type { ChildProcess } from 'node:child_process';
import { ApplicationFailure, CancelledFailure, type Context } from '@temporalio/activity';
import type { TrialResult } from '../ml/run-trial.js';
import type { RunTrialActivityInput, RunTrialActivityResult, TrialHeartbeat } from '../workflows/types.js';
import { leaseOfActivity, type AttemptLease } from './attempt-lease.js';
import {
  describeFallback,
  type CheckpointStore,
  type DamagedCheckpoint,
  type StoredCheckpoint,
} from './checkpoint-store.js';
import { EvaluationRelay, temporalJudge, type EvaluationJudge } from './evaluation-relay.js';
import { trialFailureOf } from './failure-class.js';
import type { MetricsSink, TrialMetricsWriter } from './metrics-sink.js';
import { probeObjective } from './objective-probe.js';
import type { TrainerPool } from './trainer-pool.js';
import type { FromTrainer, ToTrainer } from './trainer-protocol.js';
import type { BackendRequest } from '../ml/backend.js';

const HEARTBEAT_EVERY_MS = 1_000;
/** How long a stopping trainer gets to checkpoint before it is killed. */
const STOP_GRACE_MS = 30_000;

export interface AttemptDeps {
  store: CheckpointStore;
  sink: MetricsSink;
  backend: BackendRequest;
  identity: string;
  trainers: TrainerPool;
  /** Where early-stop reports go (default: the sweep's workflow, through the worker's client). */
  judge?: EvaluationJudge;
}

type Exit = { code: number | null; signal: NodeJS.Signals | null } | null;
type CloseOutcome = Parameters<TrialMetricsWriter['close']>[0];

export class TrialAttempt {
  private readonly attempt: number;
  private readonly activityStartedAt = Date.now();
  private readonly previous: TrialHeartbeat | undefined;
  private beat: TrialHeartbeat;
  private readonly timer: NodeJS.Timeout;
  private readonly child: ChildProcess;
  private readonly ready: Promise<void>;
  /** Once handed back, the trainer may be serving another trial: nothing of this one may reach it. */
  private released = false;
  private readonly lease: AttemptLease;
  private readonly relay: EvaluationRelay | null;
  private writer: TrialMetricsWriter | undefined;
  private readonly damaged: DamagedCheckpoint[] = [];
  private readonly opening: Promise<StoredCheckpoint | null>;
  private openError: unknown = null;
  /** How long the ready trainer waited for the record and checkpoint. */
  private openWaitMs = 0;
  private trainerStartedAt = 0;
  private result: TrialResult | null = null;
  private trainerError: Extract<FromTrainer, { type: 'error' }> | null = null;
  /** The last step the trainer reported in this attempt; null while it is still setting the trial up. */
  private lastReportedStep: number | null = null;
  private stopping: 'cancel' | 'shutdown' | 'prune' | null = null;
  private pruned: { step: number; reason: string } | null = null;
  private cancelReason: unknown = null;
  private killTimer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  private saveError: unknown = null;
  /** Only the newest checkpoint waiting to be stored: an unreachable store must not pile up copies of the model. */
  private newest: Extract<FromTrainer, { type: 'checkpoint' }> | null = null;
  private settle: (exit: Exit) => void = () => {};
  private readonly settled = new Promise<Exit>((resolve) => (this.settle = resolve));

  constructor(
    private readonly input: RunTrialActivityInput,
    private readonly deps: AttemptDeps,
    private readonly ctx: Context,
  ) {
    this.attempt = ctx.info.attempt;
    this.previous = ctx.info.heartbeatDetails as TrialHeartbeat | undefined;
    const p = this.previous;
    this.beat = {
      step: p?.step ?? 0,
      checkpointStep: p?.checkpointStep ?? null,
      checkpointRef: p?.checkpointRef ?? null,
      ...(p?.objective ? { objective: p.objective } : {}),
    };
    ctx.heartbeat(this.beat);
    // From the start: opening the record may wait out a tracking-server outage.
    this.timer = setInterval(() => ctx.heartbeat(this.beat), HEARTBEAT_EVERY_MS);
    // A new trainer boots (Node, tsx, TensorFlow.js: a second or more) while the record is
    // opened and the checkpoint fetched, so tracking adds nothing to that wait.
    ({ child: this.child, ready: this.ready } = deps.trainers.acquire());
    this.lease = leaseOfActivity(
      ctx,
      () => this.beat,
      deps.identity,
      (reason) => {
        ctx.log.warn('attempt fenced: no more writes, trainer stopped', {
          trialId: input.trialId,
          attempt: this.attempt,
          reason,
        });
        // No checkpoint on the way out: the retry owns the record now.
        if (!this.released) this.child.kill('SIGKILL');
      },
    );
    this.lease.start();
    this.relay = this.evaluationRelay();
    this.opening = this.openRecord();
    // Handled when the trainer is ready or has exited; until then a rejection must not count as unhandled.
    this.opening.catch(() => {});
  }

  async run(): Promise<RunTrialActivityResult> {
    this.startWhenReady();
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => this.settle({ code, signal });
    const onMessage = (msg: FromTrainer) => this.onMessage(msg);
    this.child.once('exit', onExit);
    this.child.on('message', onMessage);
    this.ctx.cancelled.catch((reason: unknown) => this.onCancelled(reason));
    const exit = await this.settled;
    clearTimeout(this.killTimer);
    this.child.off('message', onMessage);
    this.child.off('exit', onExit);
    this.released = true;
    const status = this.result?.status;
    const clean =
      exit === null &&
      this.trainerError === null &&
      (this.stopping === null ? status === 'finished' : this.stopping === 'prune' && status === 'stopped');
    this.deps.trainers.release(this.child, clean);
    await this.saving;
    return this.conclude(exit);
  }

  /** The sink first (an MLflow checkpoint store finds the trial's run through it), then the latest intact checkpoint. */
  private async openRecord(): Promise<StoredCheckpoint | null> {
    const { input, ctx } = this;
    const execution = ctx.info.workflowExecution;
    const writer = await this.deps.sink.open(input, this.attempt, {
      workflowId: execution?.workflowId ?? input.trialId,
      workflowRunId: execution?.runId ?? '',
      worker: this.deps.identity,
      signal: this.lease.signal,
    });
    this.writer = writer;
    // The store is the truth; the previous attempt's heartbeat only says what to expect.
    const stored = await this.deps.store.latest(input.checkpointKey, (d) => this.damaged.push(d));
    if (this.damaged.length > 0) {
      const description = describeFallback(this.damaged, stored?.step ?? null);
      ctx.log.warn('checkpoint fallback', { trialId: input.trialId, description });
      // Before training starts: even an attempt that dies soon leaves the note behind.
      await writer.noteCheckpointFallback?.(description);
    }
    if (stored) {
      // A tracking hiccup here must not cost the attempt.
      await writer
        .noteResume?.(stored.step)
        .catch((error: unknown) =>
          ctx.log.warn('resume not recorded', { trialId: input.trialId, error: String(error) }),
        );
    }
    return stored;
  }

  /** Sends the trainer its trial once it has booted and the record is open. */
  private startWhenReady(): void {
    const { input, ctx } = this;
    this.ready.then(
      () => {
        const readyAt = performance.now();
        this.opening.then(
          (stored) => {
            this.openWaitMs = performance.now() - readyAt;
            if (this.attempt > 1 || stored) {
              ctx.log.info('resuming trial', {
                trialId: input.trialId,
                attempt: this.attempt,
                checkpointStep: stored?.step ?? null,
                previousHeartbeatStep: this.previous?.step ?? null,
              });
            }
            this.beat = {
              ...this.beat,
              step: stored?.step ?? 0,
              checkpointStep: stored?.step ?? null,
              checkpointRef: stored?.ref ?? null,
            };
            ctx.heartbeat(this.beat);
            this.trainerStartedAt = Date.now();
            this.send({
              type: 'start',
              config: input.config,
              backend: this.deps.backend,
              checkpointEvery: input.checkpointEvery,
              resumeFrom: stored?.bytes ?? null,
            });
          },
          (err: unknown) => {
            this.openError = err;
            this.child.kill('SIGKILL');
          },
        );
      },
      // A trainer that died while booting is seen through its exit.
      () => {},
    );
  }

  private onMessage(msg: FromTrainer): void {
    switch (msg.type) {
      case 'train':
        this.lastReportedStep = msg.step;
        this.beat = {
          ...this.beat,
          step: msg.step,
          train: msg.metrics,
          ...probeObjective(this.input.objective, this.beat, msg),
        };
        this.writer!.train(msg.step, msg.metrics);
        break;
      case 'eval':
        this.lastReportedStep = msg.step;
        this.beat = {
          ...this.beat,
          step: msg.step,
          eval: msg.metrics,
          ...probeObjective(this.input.objective, this.beat, msg),
        };
        this.writer!.eval(msg.step, msg.metrics);
        if (msg.system) this.writer!.system?.(msg.step, msg.system);
        this.relay?.evaluated(msg.step, msg.metrics);
        break;
      case 'checkpoint': {
        const idle = this.newest === null;
        this.newest = msg;
        if (idle) this.saving = this.saving.then(() => this.saveNewest());
        break;
      }
      case 'result':
        this.result = msg.result;
        this.settle(null);
        break;
      case 'error':
        this.trainerError = msg;
        this.settle(null);
        break;
    }
  }

  private async saveNewest(): Promise<void> {
    const msg = this.newest!;
    this.newest = null;
    if (this.lease.lost) return;
    try {
      // Everything up to this step must be recorded before a resume can start after it.
      await this.writer!.flush?.();
      const ref = await this.deps.store.save(this.input.checkpointKey, msg.step, msg.bytes, {
        signal: this.lease.signal,
      });
      this.beat = {
        ...this.beat,
        step: Math.max(this.beat.step, msg.step),
        checkpointStep: msg.step,
        checkpointRef: ref,
      };
      this.ctx.heartbeat(this.beat);
      this.saveError = null;
    } catch (err) {
      // Training goes on (e.g. through a tracking-server outage); a later save may succeed.
      this.saveError = err;
      this.ctx.log.warn('checkpoint not stored', { trialId: this.input.trialId, step: msg.step, error: String(err) });
    }
  }

  private send(msg: ToTrainer): void {
    if (!this.released && this.child.connected) this.child.send(msg);
  }

  private stopTrainer(): void {
    this.send({ type: 'stop' });
    if (!this.released) this.killTimer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
  }

  private onCancelled(reason: unknown): void {
    this.cancelReason = reason;
    const details = this.ctx.cancellationDetails;
    // The server has given this attempt up (timed out, or replaced by a retry): stop writing now.
    if (details?.timedOut || details?.notFound)
      return this.lease.lose(`Temporal cancelled the attempt as ${details.timedOut ? 'timed out' : 'no longer known'}`);
    const wasPruning = this.stopping === 'prune';
    this.stopping = details?.workerShutdown ? 'shutdown' : 'cancel';
    this.pruned = null;
    if (!wasPruning) this.stopTrainer();
  }

  /** The attempt's early-stop relay, when its sweep has early_stop. */
  private evaluationRelay(): EvaluationRelay | null {
    const { input, ctx } = this;
    if (!input.earlyStop || input.index === undefined) return null;
    const judge =
      this.deps.judge ??
      temporalJudge(
        () => ctx.client,
        undefined,
        (line) => ctx.log.warn(line),
      );
    return new EvaluationRelay(
      judge,
      input.sweepId,
      input.index,
      input.earlyStop,
      input.config,
      (step, reason) => this.prune(step, reason),
      this.lease.signal,
    );
  }

  private prune(step: number, reason: string): void {
    if (this.stopping) return;
    this.ctx.log.info('trial pruned by the sweep', { trialId: this.input.trialId, step, reason });
    this.pruned = { step, reason };
    this.stopping = 'prune';
    this.stopTrainer();
  }

  private fenced(): ApplicationFailure {
    return ApplicationFailure.retryable(`attempt ${this.attempt} fenced: ${this.lease.reason}`, 'AttemptFenced');
  }

  /** Stops the timers; a failure to close the record is thrown after them. */
  private async close(outcome: CloseOutcome, writer: TrialMetricsWriter): Promise<void> {
    let closeError: unknown = null;
    try {
      await writer.close(outcome);
    } catch (err) {
      closeError = err;
    } finally {
      // The lease holds until the record is closed: the last flush and the run's end are writes too.
      this.lease.stop();
      clearInterval(this.timer);
    }
    if (this.lease.lost) throw this.fenced();
    if (closeError) throw closeError;
  }

  private async fail(error: ApplicationFailure, writer: TrialMetricsWriter): Promise<never> {
    const willRetry = !error.nonRetryable && this.attempt < (this.input.maxAttempts ?? Number.POSITIVE_INFINITY);
    await this.close(
      { status: 'failed', error: `${error.type ?? 'Error'}: ${error.message}`, willRetry },
      writer,
    ).catch((closeErr: unknown) =>
      this.ctx.log.warn('could not record the failure', { trialId: this.input.trialId, error: String(closeErr) }),
    );
    throw error;
  }

  /** The attempt's end as Temporal should see it: a result, or a (non-)retryable failure. */
  private async conclude(exit: Exit): Promise<RunTrialActivityResult> {
    if (this.lease.lost) {
      this.lease.stop();
      clearInterval(this.timer);
      await this.writer
        ?.close({ status: 'failed', error: this.lease.reason ?? 'fenced', willRetry: true })
        .catch(() => {});
      throw this.fenced();
    }
    await this.opening.catch((err: unknown) => void (this.openError ??= err));
    const writer = this.writer;
    if (this.openError || !writer) {
      await writer?.close({ status: 'failed', error: String(this.openError), willRetry: true }).catch(() => {});
      this.lease.stop();
      clearInterval(this.timer);
      throw this.openError ?? new Error('the metrics sink opened no writer');
    }
    const err = this.trainerError;
    if (err) {
      // A mistake in the settings or in our code fails every attempt alike: once is enough.
      const failure = trialFailureOf(err, this.lastReportedStep);
      return this.fail(ApplicationFailure.create({ ...failure, details: [{ stack: err.stack }] }), writer);
    }
    const r = this.result;
    // A finished trial needs no checkpoint, nor a pruned one; a stopped one must leave its last one behind.
    if (this.saveError && r?.status !== 'finished' && !this.pruned) {
      return this.fail(
        ApplicationFailure.retryable(`checkpoint save failed: ${String(this.saveError)}`, 'CheckpointSaveError'),
        writer,
      );
    }
    if (!r)
      return this.fail(
        ApplicationFailure.retryable(
          `trainer exited without a result (code ${exit?.code ?? null}, signal ${exit?.signal ?? null})`,
          'TrainerCrashed',
        ),
        writer,
      );
    return this.concludeResult(r, writer);
  }

  private async concludeResult(r: TrialResult, writer: TrialMetricsWriter): Promise<RunTrialActivityResult> {
    const full: RunTrialActivityResult = {
      ...r,
      ...(this.beat.objective ? { objective: this.beat.objective } : {}),
      attempt: this.attempt,
      worker: this.deps.identity,
      activityStartedAt: this.activityStartedAt,
      trainerStartedAt: this.trainerStartedAt,
      finishedAt: Date.now(),
    };
    if (r.status === 'stopped' && this.pruned) {
      const done: RunTrialActivityResult = { ...full, pruned: this.pruned };
      await this.close({ status: 'pruned', result: done, error: this.pruned.reason }, writer);
      return done;
    }
    if (r.status === 'stopped') {
      const shutdown = this.stopping === 'shutdown';
      await this.close({ status: 'stopped', result: full, willRetry: shutdown }, writer).catch((closeErr: unknown) =>
        this.ctx.log.warn('could not record the stop', { trialId: this.input.trialId, error: String(closeErr) }),
      );
      // Retryable on purpose: the server hands the trial to another worker, which resumes it.
      if (shutdown)
        throw ApplicationFailure.retryable(
          `worker shutting down; trial checkpointed at step ${r.step}`,
          'WorkerShutdown',
        );
      throw this.cancelReason instanceof CancelledFailure
        ? this.cancelReason
        : new CancelledFailure(`trial stopped at step ${r.step}`);
    }
    try {
      // The last report must reach the sweep before the trial's outcome does.
      await this.relay?.drained();
      await this.close({ status: 'finished', result: full }, writer);
    } catch (closeErr) {
      if (closeErr instanceof ApplicationFailure) throw closeErr;
      // The metrics since the last checkpoint could not be delivered: a retry resumes from
      // that checkpoint and logs them again, rather than finish with a hole in the record.
      throw ApplicationFailure.retryable(
        `could not record the finished trial: ${String(closeErr)}`,
        'TrackingUnavailable',
      );
    }
    const overhead = writer.overhead?.();
    return overhead ? { ...full, tracking: { ...overhead, openWaitMs: this.openWaitMs } } : full;
  }
}
