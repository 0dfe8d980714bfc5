// Reading a sweep for its report: the runs as `mirl compare` finds them, the spec the
// parent run keeps (to name trials that never got a run), and the metric histories
// the study's figures need, for the trials that finished.
import pLimit from 'p-limit';
import { latestPerTrial } from '../results/aggregate.js';
import { findSweepExperiment, searchSweepRuns, SweepLookupError, toTrialRun } from '../results/sweep-runs.js';
import { configParams, dataPathOfRun, SPEC_ARTIFACT, TAGS } from '../results/mlflow-contract.js';
import { expandSpec, parseSpec } from '../sweep-spec/index.js';
import type { MlflowClient, Run } from '../tracking/index.js';
import { MISSING, type ReportTrial } from './aggregate.js';
import { reportMetrics, type SweepData } from './build.js';

export interface ReadSweepOptions {
  /** Known already (the sweep workflow's activity); otherwise found by the sweep id's name. */
  experiment?: { id: string; name: string };
  /** Parallel history requests. */
  concurrency?: number;
  /** Stops reading when aborted (the activity's time budget). */
  signal?: AbortSignal;
}

function reportTrial(run: Run): ReportTrial {
  return { ...toTrialRun(run), runId: run.info.runId, params: run.data.params, histories: {} };
}

/** The trials the spec expects; null (and a note) when the parent run's spec cannot be read. */
async function expectedTrials(
  client: MlflowClient,
  parent: Run,
  sweepId: string,
  notes: string[],
): Promise<ReportTrial[] | null> {
  try {
    const text = (await client.downloadArtifact(parent.info, SPEC_ARTIFACT)).toString('utf8');
    const profile = parent.data.tags[TAGS.profile] || null;
    // The sweep's own data path: trial ids hash it, and an older one resolved older defaults.
    return expandSpec(parseSpec(text, SPEC_ARTIFACT), { sweepId, profile, dataPath: dataPathOfRun(parent) }).map(
      (t) => ({
        trialId: t.trialId,
        index: t.index,
        axes: Object.entries(t.axes),
        status: MISSING,
        metrics: {},
        params: configParams(t.config),
        histories: {},
      }),
    );
  } catch (err) {
    notes.push(
      `the sweep's ${SPEC_ARTIFACT} could not be read (${err instanceof Error ? err.message : String(err)}): trials without a run are not listed`,
    );
    return null;
  }
}

export async function readSweepData(
  client: MlflowClient,
  sweepId: string,
  options: ReadSweepOptions = {},
): Promise<SweepData> {
  const experiment = options.experiment ?? (await findSweepExperiment(client, sweepId));
  const { parent, trialRuns } = await searchSweepRuns(client, experiment.id, sweepId);
  if (!parent && trialRuns.length === 0) {
    throw new SweepLookupError(
      `no sweep ${sweepId} in MLflow experiment '${experiment.name}' at ${client.trackingUri} (see \`mirl sweep list\`)`,
    );
  }
  const notes: string[] = [];
  const trials = trialRuns.map(reportTrial);
  const expected = parent ? await expectedTrials(client, parent, sweepId, notes) : null;
  if (expected) {
    const seen = new Set(trials.map((t) => t.index));
    trials.push(...expected.filter((t) => !seen.has(t.index)));
  }
  const study =
    parent?.data.tags[TAGS.study] ?? trialRuns.find((r) => r.data.tags[TAGS.study])?.data.tags[TAGS.study] ?? 'unknown';

  const finished = latestPerTrial(trials).filter((t) => t.status === 'FINISHED' && t.runId);
  const wanted = new Set(
    reportMetrics(
      study,
      finished.flatMap((t) => Object.keys(t.metrics)),
    ),
  );
  const limit = pLimit(options.concurrency ?? 8);
  await Promise.all(
    finished.flatMap((t) =>
      Object.keys(t.metrics)
        .filter((k) => wanted.has(k))
        .map((k) =>
          limit(async () => {
            options.signal?.throwIfAborted();
            const history = await client.getFullMetricHistory(t.runId!, k);
            t.histories[k] = history.map((m) => ({ step: m.step, value: m.value }));
          }),
        ),
    ),
  );
  return {
    sweepId,
    experiment,
    study,
    profile: parent ? parent.data.tags[TAGS.profile] || null : null,
    parentRun: parent
      ? { runId: parent.info.runId, experimentId: parent.info.experimentId, artifactUri: parent.info.artifactUri }
      : null,
    status: parent?.info.status ?? null,
    trials,
    expected: expected?.length ?? null,
    notes,
  };
}
