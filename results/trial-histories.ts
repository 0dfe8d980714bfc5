// The metric histories a study's claim needs beyond the final values (a change from the
// first evaluation to the last), read for `mirl compare`. A closed sweep's snapshot keeps
// only final values and no run ids, so the trial runs are searched: only sweeps of the
// studies with such claims pay for it, and they are the small ones (tens of trials).
import pLimit from 'p-limit';
import type { MlflowClient } from '../tracking/index.js';
import { latestPerTrial } from './aggregate.js';
import { searchSweepRuns, toTrialRun } from './sweep-runs.js';
import type { EvidenceTrial, HistoryPoint } from './verdicts.js';

export async function readTrialHistories(
  client: MlflowClient,
  experimentId: string,
  sweepId: string,
  metrics: string[],
  concurrency = 8,
): Promise<EvidenceTrial[]> {
  const { trialRuns } = await searchSweepRuns(client, experimentId, sweepId);
  const trials = trialRuns.map((r) => ({
    ...toTrialRun(r),
    runId: r.info.runId,
    histories: {} as Record<string, HistoryPoint[]>,
  }));
  const limit = pLimit(concurrency);
  await Promise.all(
    latestPerTrial(trials)
      .filter((t) => t.status === 'FINISHED')
      .flatMap((t) =>
        metrics
          .filter((k) => k in t.metrics)
          .map((k) =>
            limit(async () => {
              const history = await client.getFullMetricHistory(t.runId, k);
              t.histories[k] = history.map((m) => ({ step: m.step, value: m.value }));
            }),
          ),
      ),
  );
  return trials;
}
