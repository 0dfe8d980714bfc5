// The runTrial activity: refuses a trial of another data path, then runs one attempt
// (activities/trial-attempt.ts: a trainer process, the record, checkpoints, heartbeats,
// the lease, early stopping, and the end mapped onto Temporal's failures).
import os from 'node:os';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { BackendRequest } from '../ml/backend.js';
import { computesAsLaunched, DATA_PATH_VERSION, LEGACY_DATA_PATH_VERSION } from '../ml/data-path.js';
import type { RunTrialActivityInput, RunTrialActivityResult } from '../workflows/types.js';
import type { CheckpointStore } from './checkpoint-store.js';
import type { EvaluationJudge } from './evaluation-relay.js';
import type { MetricsSink } from './metrics-sink.js';
import { TrialAttempt } from './trial-attempt.js';
import { idleMsFromEnv, maxTrialsFromEnv, TrainerPool } from './trainer-pool.js';
import { trainerThreadEnv } from './trainer-threads.js';

export interface ActivityDeps {
  store: CheckpointStore;
  sink: MetricsSink;
  backend: BackendRequest;
  /** Named in results, so a test (or a person) sees which worker ran a trial. */
  identity?: string;
  /** Warm trainer processes; one pool per worker. */
  trainers?: TrainerPool;
  /** Trials the worker runs at once: its trainers split the cores between them. */
  maxConcurrent?: number;
  /** Where early-stop reports go (default: the sweep's workflow, through the worker's client). */
  judge?: EvaluationJudge;
}

export function createActivities(deps: ActivityDeps) {
  const full = {
    ...deps,
    trainers:
      deps.trainers ??
      new TrainerPool({
        maxTrialsPerTrainer: maxTrialsFromEnv(),
        idleMs: idleMsFromEnv(),
        env: trainerThreadEnv(os.availableParallelism(), deps.maxConcurrent ?? 1),
      }),
  };
  return {
    runTrial: (input: RunTrialActivityInput): Promise<RunTrialActivityResult> => runTrialActivity(input, full),
  };
}

export { probeObjective } from './objective-probe.js';

/**
 * A trial launched under one data path and run under another would mix two sets of numbers
 * in one record (and resume one's checkpoint with the other's data): refused, for good,
 * unless nothing that changed since touches its configuration.
 */
export function dataPathRefusal(
  input: Pick<RunTrialActivityInput, 'trialId' | 'dataPath' | 'config'>,
): ApplicationFailure | null {
  const wanted = input.dataPath ?? LEGACY_DATA_PATH_VERSION;
  if (wanted === DATA_PATH_VERSION || computesAsLaunched(input.config, wanted)) return null;
  return ApplicationFailure.nonRetryable(
    `trial ${input.trialId} belongs to a sweep launched under data path ${wanted}; this worker computes data path ${DATA_PATH_VERSION} (ml/data-path.ts): launch the sweep again for results of this version`,
    'DataPathMismatch',
  );
}

async function runTrialActivity(
  input: RunTrialActivityInput,
  deps: ActivityDeps & { trainers: TrainerPool },
): Promise<RunTrialActivityResult> {
  const refusal = dataPathRefusal(input);
  if (refusal) throw refusal;
  const identity = deps.identity ?? `${os.hostname()}:${process.pid}`;
  return new TrialAttempt(input, { ...deps, identity }, Context.current()).run();
}
