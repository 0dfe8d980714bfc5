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
import { assertExactlyOnce, heartbeatOf, HEARTBEAT_TIMEOUT_S, launch, outcomeOf, runsOf, sleep, snapshot, startStack, TINY, untilClosed, waitFor, type FaultStack } from './harness.js';

let stack: FaultStack;
let proxy: TcpProxy;
before(async () => {
  stack = await startStack('temporal-partition');
  const [host, port] = String(stack.env.TEMPORAL_ADDRESS).split(':');
  proxy = new TcpProxy({ host: host!, port: Number(port) });
  const proxied = await proxy.start();
  // The sweep's workflows run on a worker that keeps its link; its trial queue is one the sweep does not use.
  await Promise.all([
    stack.pool.start('workflows', { args: ['--task-queue', 'mirl-gpu'] }),
    stack.pool.start('worker-a', { args: ['--no-workflows'], env: { TEMPORAL_ADDRESS: proxied } }),
  ]);
});
after(async () => {
  await stack?.stop();
  await proxy?.stop();
});

const STEPS = 1500;
const EVAL_EVERY = 250;

/** When worker-a's log says its attempt was fenced (epoch ms), and why. */
async function fencedAt(): Promise<{ at: number; line: string } | undefined> {
  const log = await readFile(path.join(stack.dir, 'worker-a.log'), 'utf8');
  const line = log.split('\n').find((l) => l.includes('attempt fenced'));
  const stamp = line && /^(\S+Z) /.exec(line)?.[1];
  return stamp ? { at: Date.parse(stamp), line } : undefined;
}

/** Millis of a protobuf Timestamp, or null. */
const millis = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => (t?.seconds == null ? null : Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6));

/**
 * Polls the server's view of the trial's activity: the last heartbeat it accepted from
 * attempt 1 (its timeout counts from there) and when a later attempt first started.
 */
function watchAttempts(trialId: string) {
  const seen: { lastHeartbeat: number | null; retryStarted: number | null } = { lastHeartbeat: null, retryStarted: null };
  let running = true;
  const loop = (async () => {
    while (running && seen.retryStarted === null) {
      const pending = (await stack.temporal.client.workflow.getHandle(trialId).describe()).raw.pendingActivities?.[0];
      if (pending?.attempt === 1) seen.lastHeartbeat = millis(pending.lastHeartbeatTime) ?? seen.lastHeartbeat;
      // State 2 is STARTED: a retry still waiting for a worker shows its predecessor's start time.
      else if (pending && (pending.attempt ?? 0) > 1 && Number(pending.state) === 2) seen.retryStarted = millis(pending.lastStartedTime);
      await sleep(200);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return seen;
    },
  };
}

test('a worker cut off from Temporal only: its attempt stops writing before the retry starts, every step once in MLflow', { timeout: 420_000 }, async (t) => {
  const sweepId = await launch(stack, 'temporal-partition', ['trial:', ...TINY, `  steps: ${STEPS}`, '  log_interval: 1', `  eval_interval: ${EVAL_EVERY}`, 'seeds: 1'], '--checkpoint-every', '50');
  const trialId = await waitFor('the trial past a checkpoint on worker-a', async () => {
    const t = (await snapshot(stack, sweepId)).progress.trials.find((x) => x.state === 'running');
    const h = t && (await heartbeatOf(stack, t.trialId));
    return h && (h.beat.checkpointStep ?? 0) >= 50 && h.beat.step >= (h.beat.checkpointStep ?? 0) + 10 ? t.trialId : undefined;
  }, 180_000, 200);
  const workerB = await stack.pool.start('worker-b', { args: ['--no-workflows'] });
  const cutAt = Date.now();
  proxy.cut();
  const server = watchAttempts(trialId);

  const fence = await waitFor('worker-a to fence its attempt', fencedAt, HEARTBEAT_TIMEOUT_S * 1000 + 30_000, 250);
  const closed = await untilClosed(stack, sweepId, 300_000);
  assert.equal(closed.status, 'COMPLETED');
  const seen = await server.stop();
  const outcome = (await outcomeOf(stack, trialId)).result!;
  // Attempt 2 may go to worker-a's poll that was waiting at the server when the link went
  // dark, and time out unheard; either way a retry on worker-b finishes the trial.
  assert.ok(outcome.attempt >= 2 && outcome.worker.endsWith(`:${workerB}`), `finished by worker-b (${outcome.worker}, attempt ${outcome.attempt})`);
  assert.ok(seen.lastHeartbeat !== null && seen.retryStarted !== null, JSON.stringify(seen));
  const serverTimeout = seen.lastHeartbeat + HEARTBEAT_TIMEOUT_S * 1000;
  assert.ok(fence.at < serverTimeout, `fenced ${serverTimeout - fence.at} ms before the server could time attempt 1 out (${fence.at - cutAt} ms after the cut): ${fence.line}`);
  assert.ok(fence.at < seen.retryStarted, 'fenced before the retry started');
  t.diagnostic(`fenced ${fence.at - cutAt} ms after the cut, ${serverTimeout - fence.at} ms before the server's timeout; first retry started ${seen.retryStarted - fence.at} ms after the fence; finished by attempt ${outcome.attempt}`);

  // The link returns: the old attempt has stopped and writes nothing more.
  const [run] = (await runsOf(stack, sweepId, 'temporal-partition')).children;
  const lossesBefore = (await stack.mlflow.getFullMetricHistory(run!.info.runId, 'loss')).length;
  proxy.restore();
  await sleep(8_000);
  assert.equal((await stack.mlflow.getFullMetricHistory(run!.info.runId, 'loss')).length, lossesBefore, 'nothing written after the link returned');
  await assertExactlyOnce(stack, sweepId, 'temporal-partition', [trialId], STEPS, EVAL_EVERY);
});
