// Scenario 6: a worker cut off from Temporal but not from MLflow, mid-trial. Temporal
// retries the trial on another worker once the heartbeat timeout passes; the cut-off
// attempt must stop itself before that retry could start writing (activities/attempt-lease.ts),
// so the trial's one MLflow run gets every step exactly once, and nothing more arrives
// from the old attempt when the link comes back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { TcpProxy } from '../support/tcp-proxy.js';
import {
  assertExactlyOnce,
  assertFencedInTime,
  fenceIn,
  heartbeatOf,
  HEARTBEAT_TIMEOUT_S,
  launch,
  outcomeOf,
  runsOf,
  sleep,
  snapshot,
  startStack,
  TINY,
  untilClosed,
  waitFor,
  watchAttempts,
  type FaultStack,
} from './harness.js';

let stack: FaultStack;
let proxy: TcpProxy;
before(async () => {
  stack = await startStack('temporal-partition');
  const [host, port] = String(stack.env.TEMPORAL_ADDRESS).split(':');
  proxy = new TcpProxy({ host: host!, port: Number(port) });
  const proxied = await proxy.start();
  // The sweep's workflows run on a worker that keeps its link; its trial queue is one the sweep does not use.
  await Promise.all([
    stack.pool.start('workflows', { args: ['--task-queue', 'mirl-gpu', '--allow-cpu'] }),
    stack.pool.start('worker-a', { args: ['--no-workflows'], env: { TEMPORAL_ADDRESS: proxied } }),
  ]);
});
after(async () => {
  await stack?.stop();
  await proxy?.stop();
});

const STEPS = 1500;
const EVAL_EVERY = 250;

const fencedAt = async () => fenceIn(await readFile(path.join(stack.dir, 'worker-a.log'), 'utf8'));

test(
  'a worker cut off from Temporal only: its attempt stops writing before the retry starts, every step once in MLflow',
  { timeout: 420_000 },
  async (t) => {
    const sweepId = await launch(
      stack,
      'temporal-partition',
      ['trial:', ...TINY, `  steps: ${STEPS}`, '  log_interval: 1', `  eval_interval: ${EVAL_EVERY}`, 'seeds: 1'],
      '--checkpoint-every',
      '50',
    );
    const trialId = await waitFor(
      'the trial past a checkpoint on worker-a',
      async () => {
        const trial = (await snapshot(stack, sweepId)).progress.trials.find((x) => x.state === 'running');
        const h = trial && (await heartbeatOf(stack, trial.trialId));
        return h && (h.beat.checkpointStep ?? 0) >= 50 && h.beat.step >= (h.beat.checkpointStep ?? 0) + 10
          ? trial.trialId
          : undefined;
      },
      180_000,
      200,
    );
    const workerB = await stack.pool.start('worker-b', { args: ['--no-workflows'] });
    const cutAt = Date.now();
    proxy.cut();
    const server = watchAttempts(stack, trialId);

    const fence = await waitFor('worker-a to fence its attempt', fencedAt, HEARTBEAT_TIMEOUT_S * 1000 + 30_000, 250);
    const closed = await untilClosed(stack, sweepId, 300_000);
    assert.equal(closed.status, 'COMPLETED');
    const seen = await server.stop();
    const outcome = (await outcomeOf(stack, trialId)).result!;
    // Attempt 2 may go to worker-a's poll that was waiting at the server when the link went
    // dark, and time out unheard; either way a retry on worker-b finishes the trial.
    assert.ok(
      outcome.attempt >= 2 && outcome.worker.endsWith(`:${workerB}`),
      `finished by worker-b (${outcome.worker}, attempt ${outcome.attempt})`,
    );
    const { beforeTimeoutMs, retryAfterMs } = assertFencedInTime(fence, seen);
    t.diagnostic(
      `fenced ${fence.at - cutAt} ms after the cut, ${beforeTimeoutMs} ms before the server's timeout; first retry started ${retryAfterMs} ms after the fence; finished by attempt ${outcome.attempt}`,
    );

    // The link returns: the old attempt has stopped and writes nothing more.
    const [run] = (await runsOf(stack, sweepId, 'temporal-partition')).children;
    const lossesBefore = (await stack.mlflow.getFullMetricHistory(run!.info.runId, 'loss')).length;
    proxy.restore();
    await sleep(8_000);
    assert.equal(
      (await stack.mlflow.getFullMetricHistory(run!.info.runId, 'loss')).length,
      lossesBefore,
      'nothing written after the link returned',
    );
    await assertExactlyOnce(stack, sweepId, 'temporal-partition', [trialId], STEPS, EVAL_EVERY);
  },
);
