// The tracking server goes away mid-training and comes back on the same port and
// data: nothing logged in the meantime may be lost or doubled.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MlflowClient } from '../../tracking/client.js';
import { MlflowNetworkError } from '../../tracking/errors.js';
import type { TrackingLogger } from '../../tracking/logger.js';
import { MetricBuffer } from '../../tracking/metric-buffer.js';
import { startMlflowServer, type MlflowServer } from '../support/mlflow-server.js';

let server: MlflowServer;
const warnings: string[] = [];
const logger: TrackingLogger = { warn: (m) => warnings.push(m) };

before(async () => {
  server = await startMlflowServer({ own: true });
});

after(async () => {
  await server?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function newRun(client: MlflowClient) {
  const exp = await client.getOrCreateExperiment('outage');
  return (await client.createRun({ experimentId: exp.experimentId })).info.runId;
}

async function assertStepsOnce(client: MlflowClient, runId: string, key: string, count: number) {
  const history = await client.getFullMetricHistory(runId, key);
  const steps = history.map((m) => m.step).sort((a, b) => a - b);
  assert.equal(steps.length, count, `${key}: ${steps.length} points for ${count} steps`);
  assert.deepEqual(steps, [...Array(count).keys()]);
}

describe('server outage', () => {
  it('a log-batch and a buffer flush started during an outage land exactly once after the restart', async () => {
    const client = new MlflowClient({ trackingUri: server.uri, logger });
    const batchRun = await newRun(client);
    const bufferRun = await newRun(client);
    const buffer = new MetricBuffer(client, bufferRun, { maxEntries: 100_000, flushIntervalMs: 60_000, logger });
    for (let step = 0; step < 1800; step++) buffer.add('i_est_test', Math.sin(step), step);

    await server.kill();
    warnings.length = 0;
    const metrics = Array.from({ length: 2300 }, (_, step) => ({ key: 'i_est_train', value: step, step }));
    const logging = client.logBatch(batchRun, { metrics });
    const flushing = buffer.flush();
    await sleep(3000);
    await server.start();
    const [{ requests }] = await Promise.all([logging, flushing]);

    assert.equal(requests, 3);
    assert.ok(
      warnings.some((w) => /ECONNREFUSED/.test(w)),
      'the client did retry',
    );
    assert.equal(buffer.size, 0);
    await assertStepsOnce(client, batchRun, 'i_est_train', 2300);
    await assertStepsOnce(client, bufferRun, 'i_est_test', 1800);
    await buffer.close();
  });

  it('a buffer whose flush gives up keeps its metrics, in order, for the next flush', async () => {
    const patient = new MlflowClient({ trackingUri: server.uri, logger });
    const runId = await newRun(patient);
    // Retries end after ~1 s, well before the server is back.
    const impatient = new MlflowClient({
      trackingUri: server.uri,
      logger,
      retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 300, maxElapsedMs: 1000 },
    });
    const buffer = new MetricBuffer(impatient, runId, { maxEntries: 100_000, flushIntervalMs: 60_000, logger });
    for (let step = 0; step < 1200; step++) buffer.add('linear_eval_accuracy', step / 1200, step);

    await server.kill();
    await assert.rejects(
      buffer.flush(),
      (err: unknown) => err instanceof MlflowNetworkError && err.code === 'ECONNREFUSED',
    );
    assert.equal(buffer.size, 1200);
    for (let step = 1200; step < 1500; step++) buffer.add('linear_eval_accuracy', step / 1200, step);

    await server.start();
    await buffer.close();
    assert.equal(buffer.size, 0);
    await assertStepsOnce(patient, runId, 'linear_eval_accuracy', 1500);
    const history = await patient.getFullMetricHistory(runId, 'linear_eval_accuracy');
    assert.deepEqual(
      history.map((m) => m.step),
      [...Array(1500).keys()],
      'timestamps were fixed at add time, so server order is add order',
    );
  });
});
