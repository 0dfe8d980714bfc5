import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MlflowClient } from '../../tracking/client.js';
import { MlflowAbortedError, MlflowApiError, MlflowError, MlflowValidationError } from '../../tracking/errors.js';
import { fakeTransport, mlflowErrorReply, type FakeReply } from '../../tracking/fake-transport.js';
import type { HttpRequest } from '../../tracking/http.js';
import { silentLogger } from '../../tracking/logger.js';

function clientWith(handler: (req: HttpRequest, i: number) => FakeReply) {
  const fake = fakeTransport(handler);
  const client = new MlflowClient({
    transport: fake.transport,
    logger: silentLogger,
    now: () => 1234,
    sleep: async () => {},
  });
  return { client, requests: fake.requests };
}

const experiment = (id: string, name: string, stage = 'active') => ({
  experiment: { experiment_id: id, name, artifact_location: `mlflow-artifacts:/${id}`, lifecycle_stage: stage },
});

const runInfo = {
  run_id: 'abc',
  run_uuid: 'abc',
  experiment_id: '7',
  run_name: 'r',
  user_id: '',
  status: 'RUNNING',
  start_time: 1234,
  artifact_uri: 'mlflow-artifacts:/7/abc/artifacts',
  lifecycle_stage: 'active',
};

describe('MlflowClient requests', () => {
  it('createExperiment returns the existing experiment when a concurrent create won', async () => {
    const { client, requests } = clientWith((req) =>
      req.path.endsWith('/experiments/create')
        ? mlflowErrorReply(400, 'RESOURCE_ALREADY_EXISTS')
        : { status: 200, json: experiment('3', 'sweep') },
    );
    const exp = await client.createExperiment('sweep');
    assert.equal(exp.experimentId, '3');
    assert.deepEqual(
      requests.map((r) => `${r.method} ${r.path}`),
      ['POST /api/2.0/mlflow/experiments/create', 'GET /api/2.0/mlflow/experiments/get-by-name'],
    );
    assert.deepEqual(requests[1].query, { experiment_name: 'sweep' });
  });

  it('createExperiment refuses to reuse a deleted experiment of that name', async () => {
    const { client } = clientWith((req) =>
      req.path.endsWith('/experiments/create')
        ? mlflowErrorReply(400, 'RESOURCE_ALREADY_EXISTS')
        : { status: 200, json: experiment('3', 'sweep', 'deleted') },
    );
    await assert.rejects(client.createExperiment('sweep'), (err: unknown) => {
      assert.ok(err instanceof MlflowError);
      assert.equal(err.errorCode, 'RESOURCE_ALREADY_EXISTS');
      assert.match(err.message, /deleted/);
      return true;
    });
  });

  it('getExperimentByName answers undefined for an unknown name', async () => {
    const { client } = clientWith(() => mlflowErrorReply(404, 'RESOURCE_DOES_NOT_EXIST'));
    assert.equal(await client.getExperimentByName('nope'), undefined);
  });

  it('createRun sends MLflow field names, tags and the parent run tag', async () => {
    const { client, requests } = clientWith(() => ({
      status: 200,
      json: { run: { info: runInfo, data: { tags: [{ key: 'mirl.trial_id', value: 't1' }] } } },
    }));
    const run = await client.createRun({
      experimentId: '7',
      runName: 'r',
      tags: { 'mirl.trial_id': 't1' },
      parentRunId: 'parent',
    });
    assert.deepEqual(requests[0].json, {
      experiment_id: '7',
      run_name: 'r',
      start_time: 1234,
      tags: [
        { key: 'mirl.trial_id', value: 't1' },
        { key: 'mlflow.parentRunId', value: 'parent' },
      ],
    });
    assert.equal(run.info.runId, 'abc');
    assert.equal(run.data.tags['mirl.trial_id'], 't1');
    assert.deepEqual(run.data.params, {});
  });

  it('updateRun and endRun send status, end time and name', async () => {
    const { client, requests } = clientWith(() => ({
      status: 200,
      json: { run_info: { ...runInfo, status: 'FAILED' } },
    }));
    const info = await client.endRun('abc', 'FAILED');
    assert.equal(info.status, 'FAILED');
    assert.deepEqual(requests[0].json, { run_id: 'abc', status: 'FAILED', end_time: 1234, run_name: undefined });
  });

  it('searchAllRuns follows page tokens', async () => {
    const pages = [
      { runs: [{ info: { ...runInfo, run_id: 'a' } }], next_page_token: 't1' },
      { runs: [{ info: { ...runInfo, run_id: 'b' } }], next_page_token: 't2' },
      { runs: [{ info: { ...runInfo, run_id: 'c' } }] },
    ];
    const { client, requests } = clientWith((_, i) => ({ status: 200, json: pages[i] }));
    const ids: string[] = [];
    for await (const run of client.searchAllRuns({ experimentIds: ['7'], filter: "tags.x = 'y'", maxResults: 1 })) {
      ids.push(run.info.runId);
    }
    assert.deepEqual(ids, ['a', 'b', 'c']);
    assert.deepEqual(
      requests.map((r) => (r.json as { page_token?: string }).page_token),
      [undefined, 't1', 't2'],
    );
    assert.deepEqual((requests[0].json as Record<string, unknown>).filter, "tags.x = 'y'");
  });

  it('parses NaN and Infinity in metric history', async () => {
    const { client } = clientWith(() => ({
      status: 200,
      json: {
        metrics: [
          { key: 'm', value: 'NaN', timestamp: 1, step: 0 },
          { key: 'm', value: '-Infinity', timestamp: '2', step: '1' },
        ],
      },
    }));
    const page = await client.getMetricHistory('abc', 'm');
    assert.ok(Number.isNaN(page.items[0].value));
    assert.equal(page.items[1].value, -Infinity);
    assert.equal(page.items[1].timestamp, 2);
    assert.equal(page.nextPageToken, undefined);
  });

  it('logBatch chunks into sequential requests and validates first', async () => {
    const { client, requests } = clientWith(() => ({ status: 200, json: {} }));
    const metrics = Array.from({ length: 2001 }, (_, step) => ({ key: 'm', value: step, step }));
    const params = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`p${i}`, i]));
    const { requests: n } = await client.logBatch('abc', { metrics, params });
    assert.equal(n, requests.length);
    assert.ok(requests.every((r) => r.path === '/api/2.0/mlflow/runs/log-batch'));
    await assert.rejects(client.logBatch('abc', { metrics: [{ key: 'bad//key', value: 1 }] }), MlflowValidationError);
    assert.equal(requests.length, n, 'nothing sent for an invalid batch');
  });

  it('a server malfunction in the response shape is reported, not passed on', async () => {
    const { client } = clientWith(() => ({ status: 200, json: { run: { info: { status: 'WEIRD' } } } }));
    await assert.rejects(
      client.getRun('abc'),
      (err: unknown) => err instanceof MlflowApiError && err.errorCode === 'MALFORMED_RESPONSE',
    );
  });
});

describe('an aborted writer (a fenced trial attempt)', () => {
  it('sends nothing once its signal has fired', async () => {
    const { client, requests } = clientWith(() => ({ status: 200, json: {} }));
    const controller = new AbortController();
    controller.abort('lease lost');
    await assert.rejects(
      client.logBatch('abc', { metrics: [{ key: 'loss', value: 1, step: 1 }] }, { signal: controller.signal }),
      (err: unknown) => {
        assert.ok(err instanceof MlflowAbortedError);
        assert.match(err.message, /POST \/api\/2\.0\/mlflow\/runs\/log-batch not sent: lease lost/);
        return true;
      },
    );
    assert.equal(requests.length, 0);
  });

  it('stops retrying when its signal fires between attempts', async () => {
    const controller = new AbortController();
    const { client, requests } = clientWith((_req, i) => {
      if (i === 1) controller.abort('lease lost');
      return mlflowErrorReply(503, 'TEMPORARILY_UNAVAILABLE');
    });
    await assert.rejects(
      client.logBatch('abc', { metrics: [{ key: 'loss', value: 1, step: 1 }] }, { signal: controller.signal }),
      MlflowAbortedError,
    );
    assert.equal(requests.length, 2, 'the retry after the abort was not sent');
  });
});

describe('log-inputs', () => {
  const dataset = { name: 'mnist-train', digest: 'abc', sourceType: 'npm', source: '{}', context: 'training' };
  it('asks again after losing the dataset insert race, and gives up on other 400s', async () => {
    const race = clientWith((_req, i) =>
      i === 0
        ? mlflowErrorReply(
            400,
            'BAD_REQUEST',
            '(sqlite3.IntegrityError) UNIQUE constraint failed: datasets.experiment_id, datasets.name, datasets.digest',
          )
        : { status: 200, json: {} },
    );
    await race.client.logInputs('abc', [dataset]);
    assert.equal(race.requests.length, 2);
    const other = clientWith(() => mlflowErrorReply(400, 'INVALID_PARAMETER_VALUE', 'bad digest'));
    await assert.rejects(other.client.logInputs('abc', [dataset]), MlflowApiError);
    assert.equal(other.requests.length, 1);
  });
});

describe('artifacts through the proxy', () => {
  it('builds the proxy URL from artifact_uri, encoding each segment', async () => {
    const { client, requests } = clientWith(() => ({ status: 200, body: Buffer.from([1, 2, 3]) }));
    const run = { runId: 'abc', experimentId: '7', artifactUri: 'mlflow-artifacts:/7/abc/artifacts' };
    await client.uploadArtifact(run, 'ckpt/step 10.bin', new Uint8Array([9]));
    const bytes = await client.downloadArtifact(run, '/ckpt/step 10.bin');
    assert.deepEqual([...bytes], [1, 2, 3]);
    assert.deepEqual(
      requests.map((r) => `${r.method} ${r.path}`),
      [
        'PUT /api/2.0/mlflow-artifacts/artifacts/7/abc/artifacts/ckpt/step%2010.bin',
        'GET /api/2.0/mlflow-artifacts/artifacts/7/abc/artifacts/ckpt/step%2010.bin',
      ],
    );
    assert.deepEqual([...(requests[0].bytes ?? [])], [9]);
  });

  it('accepts a host in the artifact URI and falls back to the default layout without one', async () => {
    const { client, requests } = clientWith(() => ({ status: 200, json: {} }));
    await client.uploadArtifact(
      { runId: 'r', experimentId: '1', artifactUri: 'mlflow-artifacts://srv:5000/1/r/artifacts' },
      'a',
      'x',
    );
    await client.uploadArtifact({ runId: 'r', experimentId: '1' }, 'a', 'x');
    assert.equal(requests[0].path, requests[1].path);
  });

  it('lists with paths relative to the run root', async () => {
    const { client, requests } = clientWith(() => ({
      status: 200,
      json: {
        files: [
          { path: 'a.bin', is_dir: false, file_size: 3 },
          { path: 'sub', is_dir: true },
        ],
      },
    }));
    const files = await client.listArtifacts({ runId: 'abc', experimentId: '7' }, 'ckpt');
    assert.deepEqual(requests[0].query, { path: '7/abc/artifacts/ckpt' });
    assert.deepEqual(files, [
      { path: 'ckpt/a.bin', isDir: false, fileSize: 3 },
      { path: 'ckpt/sub', isDir: true, fileSize: undefined },
    ]);
  });

  it('refuses artifact stores the proxy does not serve, and paths that escape the run', async () => {
    const { client } = clientWith(() => ({ status: 200, json: {} }));
    await assert.rejects(
      client.uploadArtifact({ runId: 'r', experimentId: '1', artifactUri: 's3://bucket/1/r/artifacts' }, 'a', 'x'),
      /--serve-artifacts/,
    );
    await assert.rejects(
      client.uploadArtifact({ runId: 'r', experimentId: '1' }, '../other/a', 'x'),
      MlflowValidationError,
    );
  });
});
