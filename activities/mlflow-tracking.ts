// Sweeps and trials in MLflow: one experiment per sweep name, a parent run per sweep
// launch, one nested run per trial (per effective config, see below) with its params,
// tags, step metrics and checkpoints. Every entry point is idempotent, because
// Temporal retries activities and resumes trials on other workers:
// - a run is found by its tags before one is created, and racing creators converge on
//   the oldest run (the others delete their own);
// - a resumed attempt asks the server for each metric's last step and skips what is
//   already there; the buffer fixes timestamps when a value is added, so a resent batch
//   is an exact duplicate, which the SQL store ignores;
// - metrics are flushed before a checkpoint is stored, so a resume never leaves a gap.
//
// Run identity: (sweep id, trial id, checkpoint key). The checkpoint key is the hash of
// the effective config, so retries, resumes and a plain rerun-failed continue the same
// run, while a rerun with --set (other settings, other params, steps from 0 again) gets
// a new nested run with the same mirl.trial_id; the older run is tagged
// mirl.superseded_by and keeps its history. Readers wanting one run per trial take the
// runs without that tag.
import { performance } from 'node:perf_hooks';
import { stringify as toYaml } from 'yaml';
import {
  MetricBuffer,
  consoleLogger,
  type ArtifactRunRef,
  type MetricBufferOptions,
  type MlflowClient,
  type Run,
  type FinalRunStatus,
  type TrackingLogger,
} from '../tracking/index.js';
import type {
  EnsureSweepRunInput,
  FinishSweepRunInput,
  RunTrialActivityInput,
  SweepTracking,
  TrackingOverhead,
  TrialProgress,
} from '../workflows/types.js';
import { datasetsForTrial } from './dataset-inputs.js';
import { sweepSummaryMetrics } from '../results/aggregate.js';
import { toTrialRun, trialRunsSnapshot } from '../results/sweep-runs.js';
import { MlflowCheckpointStore, DEFAULT_KEEP_CHECKPOINTS } from './mlflow-checkpoint-store.js';
import { trialSource } from '../sweep-spec/index.js';
import { dataPathOf } from '../ml/data-path.js';
import { listTrials } from '../workflows/progress.js';
import { SweepBook } from '../workflows/sweep-state.js';
import {
  childRunsFilter,
  configParams,
  oldestRun,
  ROLE_SWEEP,
  ROLE_TRIAL,
  SPEC_ARTIFACT,
  statusOfTrialState,
  SUMMARY_ARTIFACT,
  TRIAL_RUNS_ARTIFACT,
  StepFilter,
  sweepNameOf,
  sweepParams,
  sweepRunFilter,
  sweepSummary,
  TAGS,
  trialRunFilter,
} from '../results/mlflow-contract.js';
import type { MetricsSink, TrialAttemptContext, TrialMetricsWriter } from './metrics-sink.js';

export interface MlflowTrackingOptions {
  client: MlflowClient;
  /** Recorded as mlflow.source.git.commit when known. */
  gitCommit?: string | null;
  /** mlflow.user; defaults to the OS user. */
  user?: string;
  /** The backend the worker asks trainers for, until a trial reports the one it got. */
  backend?: string;
  logger?: TrackingLogger;
  buffer?: Omit<MetricBufferOptions, 'logger'>;
  /** How long closing a trial keeps trying to deliver its last metrics (ms). */
  closeTimeoutMs?: number;
  keepCheckpoints?: number;
}

export const EXPERIMENT_KIND_TAG = 'mlflow.experimentKind';
export const EXPERIMENT_KIND = 'custom_model_development';

/** Metric buffering for trials: a request per second or per 1000 values, whichever comes first. */
export const DEFAULT_TRIAL_BUFFER = { maxEntries: 1000, flushIntervalMs: 1000 } as const;
const DEFAULT_CLOSE_TIMEOUT_MS = 10 * 60_000;

interface OpenRun {
  run: ArtifactRunRef;
  stats: TrackingOverhead;
}

function emptyStats(): TrackingOverhead {
  return {
    openMs: 0,
    addMs: 0,
    closeMs: 0,
    flushMs: 0,
    flushes: 0,
    checkpointMs: 0,
    metricsLogged: 0,
    metricsSkipped: 0,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class MlflowTracking {
  readonly client: MlflowClient;
  readonly sink: MetricsSink;
  readonly store: MlflowCheckpointStore;
  private readonly logger: TrackingLogger;
  private readonly experiments = new Map<string, Promise<string>>();
  /** Checkpoint key -> the run an attempt on this worker has open. */
  private readonly open = new Map<string, OpenRun>();

  constructor(private readonly options: MlflowTrackingOptions) {
    this.client = options.client;
    this.logger = options.logger ?? consoleLogger;
    this.sink = { open: (trial, attempt, context) => this.openTrial(trial, attempt, context) };
    this.store = new MlflowCheckpointStore(
      this.client,
      {
        runFor: (key) => {
          const entry = this.open.get(key);
          if (!entry)
            throw new Error(
              `no MLflow run is open for checkpoint key ${key} (the MLflow checkpoint store needs the MLflow metrics sink)`,
            );
          return { run: entry.run, onSaved: (ms) => void (entry.stats.checkpointMs += ms) };
        },
      },
      this.logger,
      options.keepCheckpoints ?? DEFAULT_KEEP_CHECKPOINTS,
    );
  }

  get trackingUri(): string {
    return this.client.trackingUri;
  }

  /** The experiment's id, created if missing; cached per process (failures are not). */
  experimentId(name: string): Promise<string> {
    let id = this.experiments.get(name);
    if (!id) {
      id = this.client.getOrCreateExperiment(name).then(async (e) => {
        // MLflow 3 opens an experiment without this tag in its GenAI view ("Traces 0"), not the training runs.
        if (e.tags[EXPERIMENT_KIND_TAG] !== EXPERIMENT_KIND)
          await this.client.setExperimentTag(e.experimentId, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND);
        return e.experimentId;
      });
      this.experiments.set(name, id);
      id.catch(() => this.experiments.delete(name));
    }
    return id;
  }

  private async search(experimentId: string, filter: string): Promise<Run[]> {
    const runs: Run[] = [];
    for await (const run of this.client.searchAllRuns({
      experimentIds: [experimentId],
      filter,
      viewType: 'ACTIVE_ONLY',
    }))
      runs.push(run);
    return runs;
  }

  /**
   * Creates a run unless `find` already sees one, then converges with concurrent
   * creators: the oldest run wins and a losing creator deletes its own.
   */
  private async findOrCreate(
    find: () => Promise<Run[]>,
    create: () => Promise<Run>,
  ): Promise<{ run: Run; created: boolean }> {
    const existing = oldestRun(await find());
    if (existing) return { run: existing, created: false };
    const mine = await create();
    const winner = oldestRun(await find()) ?? mine;
    if (winner.info.runId !== mine.info.runId) {
      await this.client.deleteRun(mine.info.runId);
      return { run: winner, created: false };
    }
    return { run: mine, created: true };
  }

  // ---- sweeps ----

  async ensureSweepRun(input: EnsureSweepRunInput): Promise<SweepTracking> {
    const { sweepId, spec, profile } = input;
    const experimentId = await this.experimentId(spec.name);
    const tags = {
      [TAGS.sweepId]: sweepId,
      [TAGS.study]: spec.study,
      [TAGS.role]: ROLE_SWEEP,
      [TAGS.profile]: profile ?? '',
      [TAGS.dataPath]: String(dataPathOf(input.dataPath)),
      [TAGS.user]: this.user(),
      [TAGS.sourceName]: 'mirl',
      ...(this.options.gitCommit ? { [TAGS.gitCommit]: this.options.gitCommit } : {}),
    };
    const { run, created } = await this.findOrCreate(
      () => this.search(experimentId, sweepRunFilter(sweepId)),
      () => this.client.createRun({ experimentId, runName: sweepId, tags }),
    );
    const runId = run.info.runId;
    // A restart (rerun-failed after the sweep closed) reopens the finished run.
    if (!created && run.info.status !== 'RUNNING') await this.client.updateRun(runId, { status: 'RUNNING' });
    // Params and spec again on every call: an earlier attempt may have died between steps.
    await this.client.logBatch(runId, { params: sweepParams(spec, profile), tags });
    await this.client.uploadArtifact(run.info, SPEC_ARTIFACT, input.specText ?? toYaml(spec));
    return { experimentId, parentRunId: runId };
  }

  /**
   * Closes the sweep's run: child runs that no attempt could close (a worker lost on the
   * last attempt) get their trial's final state, summary.json is uploaded, then the
   * parent's status is set, so a reader who sees it finished finds the summary.
   */
  async finishSweepRun(input: FinishSweepRunInput): Promise<void> {
    const { experimentId, parentRunId } = input.tracking;
    const children = await this.search(experimentId, childRunsFilter(parentRunId));
    const progress = { ...input.progress, trials: summaryTrials(input) };
    const trials = new Map(progress.trials.map((t) => [t.trialId, t]));
    const runIds = new Map<string, string>();
    for (const child of children) {
      const trialId = child.data.tags[TAGS.trialId];
      const trial = trialId ? trials.get(trialId) : undefined;
      if (!trial || child.data.tags[TAGS.supersededBy]) continue;
      runIds.set(trial.trialId, child.info.runId);
      const status = statusOfTrialState(trial.state);
      if (child.info.status !== 'RUNNING' || !status) continue;
      if (status === 'FAILED' && trial.error) await this.client.setTag(child.info.runId, TAGS.failure, trial.error);
      if (trial.state === 'pruned') await this.client.setTag(child.info.runId, TAGS.pruned, trial.error ?? 'pruned');
      await this.client.endRun(child.info.runId, status);
      child.info.status = status;
    }
    // Set beside other sweeps' in MLflow's charts; a retried close logs the same values again, harmlessly.
    const results = sweepSummaryMetrics(children.filter((c) => !c.data.tags[TAGS.supersededBy]).map(toTrialRun));
    await this.client.logBatch(parentRunId, {
      metrics: Object.entries(results).map(([key, value]) => ({ key, value, step: 0 })),
    });
    const summary = sweepSummary(progress, input.status, runIds, input.error);
    await this.client.uploadArtifact(
      { runId: parentRunId, experimentId },
      SUMMARY_ARTIFACT,
      JSON.stringify(summary, null, 2),
    );
    // Written before the run closes: a closed run's snapshot always describes its last close.
    const snapshot = trialRunsSnapshot(input.sweepId, children);
    await this.client.uploadArtifact(
      { runId: parentRunId, experimentId },
      TRIAL_RUNS_ARTIFACT,
      JSON.stringify(snapshot),
    );
    if (input.error) await this.client.setTag(parentRunId, TAGS.failure, input.error);
    await this.client.endRun(parentRunId, input.status);
  }

  // ---- trials ----

  private user(): string {
    return this.options.user ?? process.env.USER ?? process.env.LOGNAME ?? 'mirl';
  }

  private async openTrial(
    input: RunTrialActivityInput,
    attempt: number,
    context?: TrialAttemptContext,
  ): Promise<TrialMetricsWriter> {
    const t0 = performance.now();
    const experimentId =
      input.tracking?.experimentId ?? (await this.experimentId(input.sweepName ?? sweepNameOf(input.sweepId)));
    // Without the sweep's activity (a workflow worker that tracks nothing) nest under its run if there is one.
    const parentRunId =
      input.tracking?.parentRunId ??
      oldestRun(await this.search(experimentId, sweepRunFilter(input.sweepId)))?.info.runId;
    if (!parentRunId)
      this.logger.warn(`sweep ${input.sweepId} has no MLflow run: trial ${input.trialId} is logged without a parent`);
    const tags: Record<string, string> = {
      [TAGS.sweepId]: input.sweepId,
      [TAGS.trialId]: input.trialId,
      [TAGS.role]: ROLE_TRIAL,
      [TAGS.checkpointKey]: input.checkpointKey,
      [TAGS.dataPath]: String(dataPathOf(input.dataPath)),
      [TAGS.attempt]: String(attempt),
      [TAGS.user]: this.user(),
      [TAGS.sourceName]: 'mirl',
      ...(input.study !== undefined ? { [TAGS.study]: input.study } : {}),
      ...(input.index !== undefined ? { [TAGS.index]: String(input.index) } : {}),
      ...(input.axes ? { [TAGS.axes]: JSON.stringify(input.axes) } : {}),
      ...(this.options.backend ? { [TAGS.backend]: this.options.backend } : {}),
      ...(this.options.gitCommit ? { [TAGS.gitCommit]: this.options.gitCommit } : {}),
      ...(context
        ? {
            [TAGS.worker]: context.worker,
            [TAGS.workflowId]: context.workflowId,
            [TAGS.workflowRunId]: context.workflowRunId,
          }
        : {}),
    };
    let others: Run[] = [];
    const { run, created } = await this.findOrCreate(
      async () => {
        const all = await this.search(experimentId, trialRunFilter(input.sweepId, input.trialId));
        others = all.filter((r) => r.data.tags[TAGS.checkpointKey] !== input.checkpointKey);
        return all.filter((r) => r.data.tags[TAGS.checkpointKey] === input.checkpointKey);
      },
      () => this.client.createRun({ experimentId, runName: input.runName, tags, parentRunId }),
    );
    const runId = run.info.runId;
    if (created) {
      const previous = others.filter((r) => !r.data.tags[TAGS.supersededBy]);
      for (const old of previous) await this.client.setTag(old.info.runId, TAGS.supersededBy, runId);
      const latest = previous.sort((a, b) => (b.info.startTime ?? 0) - (a.info.startTime ?? 0))[0];
      if (latest) tags[TAGS.rerunOf] = latest.info.runId;
    } else {
      if (run.info.status !== 'RUNNING') await this.client.updateRun(runId, { status: 'RUNNING' });
      if (run.data.tags[TAGS.failure] !== undefined) await this.client.deleteTag(runId, TAGS.failure);
    }
    // Params every time: a creator that died right after createRun left none.
    await this.client.logBatch(runId, { params: configParams(input.config), tags });
    await this.client.logInputs(runId, await datasetsForTrial(input.config));
    const stats = emptyStats();
    const entry: OpenRun = { run: run.info, stats };
    this.open.set(input.checkpointKey, entry);
    stats.openMs = performance.now() - t0;
    return new MlflowTrialWriter(
      this,
      entry,
      StepFilter.fromRun(created ? undefined : run),
      () => this.open.delete(input.checkpointKey),
      {
        logger: this.logger,
        buffer: { ...DEFAULT_TRIAL_BUFFER, ...this.options.buffer },
        closeTimeoutMs: this.options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
        signal: context?.signal,
      },
    );
  }
}

class MlflowTrialWriter implements TrialMetricsWriter {
  private readonly buffer: MetricBuffer;
  private readonly stats: TrackingOverhead;
  private readonly runId: string;

  constructor(
    private readonly tracking: MlflowTracking,
    entry: OpenRun,
    private readonly steps: StepFilter,
    private readonly release: () => void,
    private readonly options: {
      logger: TrackingLogger;
      buffer: Omit<MetricBufferOptions, 'logger'>;
      closeTimeoutMs: number;
      signal?: AbortSignal;
    },
  ) {
    this.stats = entry.stats;
    this.runId = entry.run.runId;
    const client = tracking.client;
    const stats = this.stats;
    const signal = options.signal;
    // Times the sends, which happen beside training rather than in it.
    const timed = {
      async logBatch(runId: string, batch: Parameters<MlflowClient['logBatch']>[1]) {
        const t0 = performance.now();
        try {
          return await client.logBatch(runId, batch, { signal });
        } finally {
          stats.flushMs += performance.now() - t0;
          stats.flushes++;
        }
      },
    };
    this.buffer = new MetricBuffer(timed, this.runId, { ...options.buffer, logger: options.logger });
  }

  train(step: number, metrics: Record<string, number>): void {
    this.add(step, metrics);
  }

  eval(step: number, metrics: Record<string, number>): void {
    this.add(step, metrics);
  }

  system(step: number, metrics: Record<string, number>): void {
    this.add(step, metrics);
  }

  private add(step: number, metrics: Record<string, number>): void {
    if (this.fenced) return;
    const t0 = performance.now();
    const fresh = this.steps.fresh(step, metrics);
    this.stats.metricsSkipped = this.steps.skipped;
    if (fresh) {
      this.buffer.addAll(fresh, step);
      this.stats.metricsLogged += Object.keys(fresh).length;
    }
    this.stats.addMs += performance.now() - t0;
  }

  flush(): Promise<void> {
    return this.buffer.flush();
  }

  overhead(): TrackingOverhead {
    return { ...this.stats };
  }

  /** True once this attempt lost its lease: its retry owns the run now. */
  private get fenced(): boolean {
    return this.options.signal?.aborted ?? false;
  }

  async noteCheckpointFallback(description: string): Promise<void> {
    if (this.fenced) return;
    await this.tracking.client.setTag(this.runId, TAGS.checkpointFallback, description);
  }

  /**
   * Tags the run with the checkpoint step this attempt resumes from, so a reader sees that
   * (and where) the curve was continued; a later resume overwrites it, mirl.attempt says how many.
   */
  async noteResume(step: number): Promise<void> {
    if (this.fenced) return;
    await this.tracking.client.setTag(this.runId, TAGS.resumedFromStep, String(step));
  }

  async close(outcome: Parameters<TrialMetricsWriter['close']>[0]): Promise<void> {
    const t0 = performance.now();
    const client = this.tracking.client;
    try {
      // What is still buffered belongs to steps after the last checkpoint, which the retry logs again.
      if (this.fenced) {
        const dropped = this.buffer.discard();
        this.options.logger.warn(
          `run ${this.runId}: attempt fenced (${String(this.options.signal?.reason)}); ${dropped} metrics left to its retry`,
        );
        return;
      }
      await this.deliver();
      const tags: Record<string, string> = {};
      if (outcome.result) tags[TAGS.backend] = outcome.result.backend;
      let status: FinalRunStatus | null;
      if (outcome.willRetry) {
        status = null;
        if (outcome.error) tags[TAGS.lastError] = outcome.error;
      } else if (outcome.status === 'finished') status = 'FINISHED';
      else if (outcome.status === 'stopped') status = 'KILLED';
      else if (outcome.status === 'pruned') {
        // KILLED like a cancelled run (it did not run its course), told apart by the tag.
        status = 'KILLED';
        tags[TAGS.pruned] = outcome.error ?? 'pruned';
      } else {
        status = 'FAILED';
        tags[TAGS.failure] = outcome.error ?? 'unknown error';
      }
      this.stats.closeMs = performance.now() - t0;
      tags[TAGS.overhead] = JSON.stringify(roundStats(this.stats));
      await client.logBatch(this.runId, { tags });
      if (status) await client.endRun(this.runId, status);
    } finally {
      this.release();
      this.stats.closeMs = performance.now() - t0;
    }
  }

  /** Flushes until the server takes everything or closeTimeoutMs has passed. */
  private async deliver(): Promise<void> {
    const deadline = Date.now() + this.options.closeTimeoutMs;
    for (;;) {
      try {
        await this.buffer.close();
        return;
      } catch (err) {
        if (Date.now() >= deadline || this.fenced) throw err;
        this.options.logger.warn(`run ${this.runId}: ${this.buffer.size} metrics still undelivered, trying again`);
        await sleep(1_000);
      }
    }
  }
}

function roundStats(s: TrackingOverhead): TrackingOverhead {
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    ...s,
    openMs: r(s.openMs),
    addMs: r(s.addMs),
    closeMs: r(s.closeMs),
    flushMs: r(s.flushMs),
    checkpointMs: r(s.checkpointMs),
  };
}

/** Trials summary.json lists in full; a bigger sweep lists those not done, up to the same number. */
export const SUMMARY_TRIALS_MAX = 20_000;

/**
 * The trials the sweep's close reports on, rebuilt from its compact state and spec (sweeps
 * from before the compact state sent them in `progress`).
 */
function summaryTrials(input: FinishSweepRunInput): TrialProgress[] {
  if (!input.carry || !input.spec) return input.progress.trials;
  const book = SweepBook.fromCarry(input.carry);
  const source = trialSource(input.spec, {
    sweepId: input.sweepId,
    profile: input.progress.profile,
    points: input.carry.search?.points,
    dataPath: input.dataPath,
    extensions: input.carry.extensions,
  });
  const indices =
    book.total <= SUMMARY_TRIALS_MAX
      ? book.indicesIn(null)
      : book.indicesIn(['pending', 'running', 'failed', 'cancelled'], 0, SUMMARY_TRIALS_MAX);
  return listTrials(book, source, indices);
}
