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

export async function readSweepRuns(client: MlflowClient, sweepId: string): Promise<SweepRuns> {
  const name = sweepNameOf(sweepId);
  const experiment = await client.getExperimentByName(name);
  if (!experiment || experiment.lifecycleStage === 'deleted') {
    throw new UsageError(`no sweep ${sweepId} in MLflow at ${client.trackingUri}: it has no experiment '${name}' (is MLFLOW_TRACKING_URI the server the workers log to?)`);
  }
  let parent: Run | undefined;
  const trials: TrialRun[] = [];
  for await (const run of client.searchAllRuns({
    experimentIds: [experiment.experimentId],
    filter: `tags.\`mirl.sweep_id\` = '${sweepId}'`,
    maxResults: 1000,
  })) {
    const role = run.data.tags['mirl.role'];
    if (role === 'sweep') parent = run;
    else if (role === 'trial') trials.push(toTrialRun(run));
  }
  if (!parent && trials.length === 0) {
    throw new UsageError(`no sweep ${sweepId} in MLflow experiment '${name}' at ${client.trackingUri} (see \`mirl sweep list\`)`);
  }
  return { experiment: { id: experiment.experimentId, name }, parent, trials };
}
