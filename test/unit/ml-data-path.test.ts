// The data path version: what a worker does with a trial of another version, and what
// MLflow records, so numbers of two versions are never taken for one another.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computesAsLaunched, DATA_PATH_VERSION, dataPathOf, LEGACY_DATA_PATH_VERSION } from '../../ml/data-path.js';
import { dataPathRefusal } from '../../activities/run-trial.js';
import { MlflowTracking } from '../../activities/mlflow-tracking.js';
import { dataPathOfRun, TAGS } from '../../results/mlflow-contract.js';
import { parseTrialConfig } from '../../ml/config.js';
import { MlflowClient } from '../../tracking/client.js';
import { fakeTransport } from '../../tracking/fake-transport.js';
import { silentLogger } from '../../tracking/logger.js';
import type { Run } from '../../tracking/index.js';
import type { RunTrialActivityInput } from '../../workflows/types.js';

test('a sweep input without a version is of the legacy data path; unknown versions are refused', () => {
  assert.equal(dataPathOf(undefined), LEGACY_DATA_PATH_VERSION);
  assert.equal(dataPathOf(DATA_PATH_VERSION), DATA_PATH_VERSION);
  assert.throws(() => dataPathOf(DATA_PATH_VERSION + 1), /unknown here/);
  assert.throws(() => dataPathOf('2'), /unknown here/);
});

test('a worker refuses, for good, a trial launched under another data path', () => {
  const config = parseTrialConfig({ noise: 0.05 });
  assert.equal(dataPathRefusal({ trialId: 't', dataPath: DATA_PATH_VERSION, config }), null);
  for (const dataPath of [undefined, LEGACY_DATA_PATH_VERSION]) {
    const refusal = dataPathRefusal({ trialId: 'trial-abc', dataPath, config });
    assert.ok(refusal, `dataPath ${dataPath}`);
    assert.equal(refusal.nonRetryable, true);
    assert.equal(refusal.type, 'DataPathMismatch');
    assert.match(
      refusal.message,
      new RegExp(`trial-abc .* data path 1; this worker computes data path ${DATA_PATH_VERSION}`),
    );
  }
});

test('a trial of an older data path that no change since touches runs on (a sweep in flight across an upgrade)', () => {
  const untouched = parseTrialConfig({ noise: 0, evaluations: ['i_est_test'] });
  assert.equal(computesAsLaunched(untouched, LEGACY_DATA_PATH_VERSION), true);
  assert.equal(dataPathRefusal({ trialId: 't', dataPath: undefined, config: untouched }), null);
  for (const touched of [
    { noise: 0.1, evaluations: ['i_est_test'] },
    { evaluations: ['linear_eval'] },
    { evaluations: ['jacobian'] },
    { procedure: 'adversarial', encoder: 'realnvp', evaluations: [] },
  ]) {
    const config = parseTrialConfig(touched);
    assert.equal(computesAsLaunched(config, LEGACY_DATA_PATH_VERSION), false, JSON.stringify(touched));
    assert.ok(dataPathRefusal({ trialId: 't', dataPath: LEGACY_DATA_PATH_VERSION, config }), JSON.stringify(touched));
  }
});

test("a trial's MLflow run is tagged with its data path, and runs read back their version", async () => {
  const run = (tags: Record<string, string>) => ({
    info: {
      run_id: 'r1',
      run_uuid: 'r1',
      experiment_id: '7',
      run_name: 'x',
      user_id: '',
      status: 'RUNNING',
      start_time: 1,
      artifact_uri: 'a',
      lifecycle_stage: 'active',
    },
    data: { tags: Object.entries(tags).map(([key, value]) => ({ key, value })) },
  });
  let created: Record<string, string> = {};
  const fake = fakeTransport((req) => {
    const body = req.json as { tags?: { key: string; value: string }[] };
    if (req.path.endsWith('/runs/create')) {
      created = Object.fromEntries((body.tags ?? []).map((t) => [t.key, t.value]));
      return { status: 200, json: { run: run(created) } };
    }
    if (req.path.endsWith('/runs/search'))
      return { status: 200, json: Object.keys(created).length ? { runs: [run(created)] } : {} };
    return { status: 200, json: {} };
  });
  const client = new MlflowClient({
    transport: fake.transport,
    logger: silentLogger,
    now: () => 1,
    sleep: async () => {},
  });
  const tracking = new MlflowTracking({ client, logger: silentLogger });
  const input: RunTrialActivityInput = {
    sweepId: 'demo-20261129-031955-ab12',
    trialId: 'trial-abc',
    runName: 'mlp|seed=0',
    config: parseTrialConfig({}),
    checkpointKey: 'trial-abc',
    checkpointEvery: 0,
    tracking: { experimentId: '7', parentRunId: 'p' },
    dataPath: DATA_PATH_VERSION,
  };
  const writer = await tracking.sink.open(input, 1);
  assert.equal(created[TAGS.dataPath], String(DATA_PATH_VERSION));
  const logged = fake.requests
    .filter((r) => r.path.endsWith('/runs/log-batch'))
    .flatMap((r) => (r.json as { tags?: { key: string; value: string }[] }).tags ?? []);
  assert.ok(
    logged.some((t) => t.key === TAGS.dataPath && t.value === String(DATA_PATH_VERSION)),
    JSON.stringify(logged),
  );
  await writer.close({ status: 'finished' }).catch(() => {});
  const asRun = (tags: Record<string, string>) => ({ data: { tags } }) as unknown as Run;
  assert.equal(dataPathOfRun(asRun({ [TAGS.dataPath]: '2' })), 2);
  assert.equal(dataPathOfRun(asRun({})), LEGACY_DATA_PATH_VERSION);
});
