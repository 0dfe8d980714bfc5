// Reading a sweep's trial runs back from MLflow, following the tracking contract:
// experiment = the spec's name (recoverable from the sweep id), child runs tagged
// mirl.sweep_id, mirl.role=trial, mirl.trial_id, mirl.index and mirl.axes (JSON).
import type { MlflowClient, Run } from '../../tracking/index.js';
import { UsageError } from '../errors.js';
import type { TrialRun } from './aggregate.js';

const SWEEP_ID = /^([a-z0-9]+(?:-[a-z0-9]+)*)-(\d{8})-(\d{6})-([a-z0-9]+)$/;

/** `critic-capacity-20261129-031955-ab12` -> `critic-capacity`. */
export function sweepNameOf(sweepId: string): string {
  const m = SWEEP_ID.exec(sweepId);
  if (!m) throw new UsageError(`${JSON.stringify(sweepId)} is not a sweep id (NAME-YYYYMMDD-HHMMSS-XXXX; see \`mirl sweep list\`)`);
  return m[1];
}

function parseAxes(run: Run): [string, unknown][] {
  const raw = run.data.tags['mirl.axes'];
  if (!raw) return [];
  try {
    const value = JSON.parse(raw) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value) : [];
  } catch {
    return [];
  }
}

export function toTrialRun(run: Run): TrialRun {
  const index = Number(run.data.tags['mirl.index']);
  return {
    trialId: run.data.tags['mirl.trial_id'] ?? run.info.runId,
    index: run.data.tags['mirl.index'] !== undefined && Number.isInteger(index) ? index : null,
    axes: parseAxes(run),
    status: run.info.status,
    metrics: Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value])),
    startTime: run.info.startTime,
    superseded: run.data.tags['mirl.superseded_by'] !== undefined,
  };
}

export interface SweepRuns {
  experiment: { id: string; name: string };
  parent: Run | undefined;
  trials: TrialRun[];
}

/** The experiment a sweep logs to, named by the sweep id's name part. */
export async function findSweepExperiment(client: MlflowClient, sweepId: string): Promise<{ id: string; name: string }> {
  const name = sweepNameOf(sweepId);
  const experiment = await client.getExperimentByName(name);
  if (!experiment || experiment.lifecycleStage === 'deleted') {
    throw new UsageError(`no sweep ${sweepId} in MLflow at ${client.trackingUri}: it has no experiment '${name}' (is MLFLOW_TRACKING_URI the server the workers log to?)`);
  }
  return { id: experiment.experimentId, name };
}

/** The sweep's parent run and its trial runs, as MLflow returns them. */
export async function searchSweepRuns(client: MlflowClient, experimentId: string, sweepId: string): Promise<{ parent: Run | undefined; trialRuns: Run[] }> {
  let parent: Run | undefined;
  const trialRuns: Run[] = [];
  for await (const run of client.searchAllRuns({
    experimentIds: [experimentId],
    filter: `tags.\`mirl.sweep_id\` = '${sweepId}'`,
    maxResults: 1000,
  })) {
    const role = run.data.tags['mirl.role'];
    if (role === 'sweep') parent = run;
    else if (role === 'trial') trialRuns.push(run);
  }
  return { parent, trialRuns };
}

export async function readSweepRuns(client: MlflowClient, sweepId: string): Promise<SweepRuns> {
  const experiment = await findSweepExperiment(client, sweepId);
  const { parent, trialRuns } = await searchSweepRuns(client, experiment.id, sweepId);
  if (!parent && trialRuns.length === 0) {
    throw new UsageError(`no sweep ${sweepId} in MLflow experiment '${experiment.name}' at ${client.trackingUri} (see \`mirl sweep list\`)`);
  }
  return { experiment, parent, trials: trialRuns.map(toTrialRun) };
}
