// Reading a sweep's trial runs back from MLflow, following the tracking contract
// (results/mlflow-contract.ts): experiment = the spec's name (recoverable from the sweep
// id), child runs tagged with the sweep, trial, index and axes. A closed sweep's parent run
// also holds a snapshot of its trial runs, written when it closed: one artifact read instead
// of a search that costs seconds per thousand runs.
import type { MlflowClient, Run } from '../tracking/index.js';
import { PRUNED, type TrialRun } from './aggregate.js';
import {
  literal,
  ROLE_SWEEP,
  ROLE_TRIAL,
  SWEEP_ID,
  sweepNameOf,
  sweepRunFilter,
  TAGS,
  TRIAL_RUNS_ARTIFACT,
} from './mlflow-contract.js';

/** A sweep id that is malformed or names nothing in MLflow: the user's input, so exit 2. */
export class SweepLookupError extends Error {
  override readonly name = 'SweepLookupError';
}

/** `critic-capacity-20261129-031955-ab12` -> `critic-capacity`; what a user typed that is no sweep id is refused. */
export function requireSweepName(sweepId: string): string {
  if (!SWEEP_ID.test(sweepId))
    throw new SweepLookupError(
      `${JSON.stringify(sweepId)} is not a sweep id (NAME-YYYYMMDD-HHMMSS-XXXX; see \`mirl sweep list\`)`,
    );
  return sweepNameOf(sweepId);
}

function parseAxes(run: Run): [string, unknown][] {
  const raw = run.data.tags[TAGS.axes];
  if (!raw) return [];
  try {
    const value = JSON.parse(raw) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value) : [];
  } catch {
    return [];
  }
}

export function toTrialRun(run: Run): TrialRun {
  const index = Number(run.data.tags[TAGS.index]);
  return {
    trialId: run.data.tags[TAGS.trialId] ?? run.info.runId,
    index: run.data.tags[TAGS.index] !== undefined && Number.isInteger(index) ? index : null,
    axes: parseAxes(run),
    status: run.info.status === 'KILLED' && run.data.tags[TAGS.pruned] !== undefined ? PRUNED : run.info.status,
    metrics: Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value])),
    startTime: run.info.startTime,
    // Only closed runs have one; absent (not undefined) keeps snapshots and older ones alike.
    ...(run.info.endTime !== undefined ? { endTime: run.info.endTime } : {}),
    superseded: run.data.tags[TAGS.supersededBy] !== undefined,
  };
}

export interface SweepRuns {
  experiment: { id: string; name: string };
  parent: Run | undefined;
  trials: TrialRun[];
  /** Where the trials came from: the closed sweep's snapshot, or a search of every run. */
  source: 'snapshot' | 'search';
}

/** The experiment a sweep logs to, named by the sweep id's name part. */
export async function findSweepExperiment(
  client: MlflowClient,
  sweepId: string,
): Promise<{ id: string; name: string }> {
  const name = requireSweepName(sweepId);
  const experiment = await client.getExperimentByName(name);
  if (!experiment || experiment.lifecycleStage === 'deleted') {
    throw new SweepLookupError(
      `no sweep ${sweepId} in MLflow at ${client.trackingUri}: it has no experiment '${name}' (is MLFLOW_TRACKING_URI the server the workers log to?)`,
    );
  }
  return { id: experiment.experimentId, name };
}

/** The sweep's parent run and its trial runs, as MLflow returns them. */
export async function searchSweepRuns(
  client: MlflowClient,
  experimentId: string,
  sweepId: string,
): Promise<{ parent: Run | undefined; trialRuns: Run[] }> {
  let parent: Run | undefined;
  const trialRuns: Run[] = [];
  for await (const run of client.searchAllRuns({
    experimentIds: [experimentId],
    filter: `tags.\`${TAGS.sweepId}\` = ${literal(sweepId)}`,
    maxResults: 1000,
  })) {
    const role = run.data.tags[TAGS.role];
    if (role === ROLE_SWEEP) parent = run;
    else if (role === ROLE_TRIAL) trialRuns.push(run);
  }
  return { parent, trialRuns };
}

/** What a sweep's run holds when it closes: every trial run as `mirl compare` reads it. */
export interface TrialRunsSnapshot {
  sweepId: string;
  trials: TrialRun[];
}

export function trialRunsSnapshot(sweepId: string, runs: readonly Run[]): TrialRunsSnapshot {
  return { sweepId, trials: runs.filter((r) => r.data.tags[TAGS.role] === ROLE_TRIAL).map(toTrialRun) };
}

function isSnapshot(value: unknown, sweepId: string): value is TrialRunsSnapshot {
  const v = value as Partial<TrialRunsSnapshot> | null;
  return !!v && v.sweepId === sweepId && Array.isArray(v.trials);
}

/**
 * The snapshot of a sweep whose run has closed; undefined while it runs (trials still
 * change), when it closed before snapshots existed, or when the artifact is unreadable.
 */
export async function readTrialRunsSnapshot(
  client: MlflowClient,
  parent: Run,
  sweepId: string,
): Promise<TrialRunsSnapshot | undefined> {
  if (parent.info.status === 'RUNNING' || parent.info.status === 'SCHEDULED') return undefined;
  const files = await client.listArtifacts(parent.info);
  if (!files.some((f) => f.path === TRIAL_RUNS_ARTIFACT)) return undefined;
  try {
    const value = JSON.parse(
      (await client.downloadArtifact(parent.info, TRIAL_RUNS_ARTIFACT)).toString('utf8'),
    ) as unknown;
    return isSnapshot(value, sweepId) ? value : undefined;
  } catch {
    return undefined;
  }
}

async function findSweepRun(client: MlflowClient, experimentId: string, sweepId: string): Promise<Run | undefined> {
  const page = await client.searchRuns({
    experimentIds: [experimentId],
    filter: sweepRunFilter(sweepId),
    maxResults: 10,
  });
  return page.items[0];
}

/** A sweep's runs: from its snapshot when it has closed, else by searching every run (`fresh` forces that). */
export async function readSweepRuns(
  client: MlflowClient,
  sweepId: string,
  options: { fresh?: boolean } = {},
): Promise<SweepRuns> {
  const experiment = await findSweepExperiment(client, sweepId);
  if (!options.fresh) {
    const parent = await findSweepRun(client, experiment.id, sweepId);
    const snapshot = parent && (await readTrialRunsSnapshot(client, parent, sweepId));
    if (snapshot) return { experiment, parent, trials: snapshot.trials, source: 'snapshot' };
  }
  const { parent, trialRuns } = await searchSweepRuns(client, experiment.id, sweepId);
  if (!parent && trialRuns.length === 0) {
    throw new SweepLookupError(
      `no sweep ${sweepId} in MLflow experiment '${experiment.name}' at ${client.trackingUri} (see \`mirl sweep list\`)`,
    );
  }
  return { experiment, parent, trials: trialRuns.map(toTrialRun), source: 'search' };
}
