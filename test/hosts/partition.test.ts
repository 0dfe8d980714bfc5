// Multi-host scenarios 2 and 3: worker-a is cut off mid-trial, once from everything (its
// link down) and once from control's Temporal port only (a firewall rule in its
// namespace; MLflow stays reachable). Either way Temporal retries the trial on worker-b
// after the heartbeat timeout, and worker-a's attempt must have stopped writing before
// that (activities/attempt-lease.ts): one FINISHED run, every step once, and nothing more
// from worker-a once its link is back.
import { test, type TestContext } from 'node:test';
import { scenario } from '../support/scenario.js';
import assert from 'node:assert/strict';
import {
  assertExactlyOnce,
  assertFencedInTime,
  fenceIn,
  heartbeatOf,
  HEARTBEAT_TIMEOUT_S,
  outcomeOf,
  runsOf,
  sleep,
  snapshot,
  untilClosed,
  waitFor,
  watchAttempts,
} from '../faults/harness.js';
import { startCluster, TEMPORAL_PORT, type Cluster, type HostWorker } from './cluster.js';
import { blockPort, setLink } from './netns.js';
import { launchFromClient, tinyTrial } from './sweeps.js';

const STEPS = 1500;
const EVAL_EVERY = 250;

let cluster: Cluster;
let workerA: HostWorker;
scenario(
  async () => (cluster = await startCluster()),
  async (c) => {
    // The sweeps' workflows run where no cut reaches; its trial queue is one the sweeps do not use.
    await c.startWorker('control', ['--task-queue', 'mirl-gpu', '--allow-cpu']);
    workerA = await c.startWorker('worker-a', ['--no-workflows', '--max-concurrent', '1']);
  },
);

const fenceLines = (log: string) => log.split('\n').filter((l) => l.includes('attempt fenced'));

/**
 * Runs one trial on worker-a, cuts it off with `cut` once it is past a checkpoint, lets a
 * fresh worker on worker-b take the retry, heals the cut and checks the end state.
 */
async function partitionScenario(t: TestContext, name: string, cut: (off: boolean) => void): Promise<void> {
  const sweepId = await launchFromClient(
    cluster,
    name,
    [...tinyTrial(STEPS, EVAL_EVERY), 'seeds: 1'],
    '--checkpoint-every',
    '50',
  );
  const trialId = await waitFor(
    'the trial past a checkpoint on worker-a',
    async () => {
      const trial = (await snapshot(cluster.stack, sweepId)).progress.trials.find((x) => x.state === 'running');
      const h = trial && (await heartbeatOf(cluster.stack, trial.trialId));
      return h && (h.beat.checkpointStep ?? 0) >= 50 && h.beat.step >= (h.beat.checkpointStep ?? 0) + 10
        ? trial.trialId
        : undefined;
    },
    240_000,
    250,
  );
  const workerB = await cluster.startWorker('worker-b', ['--no-workflows', '--max-concurrent', '1']);
  const fencesBefore = fenceLines(await workerA.log()).length;
  const cutAt = Date.now();
  cut(true);
  const server = watchAttempts(cluster.stack, trialId);
  try {
    // Only a fence after this cut: the log holds the earlier scenario's too.
    const fence = await waitFor(
      'worker-a to fence its attempt',
      async () => {
        const lines = fenceLines(await workerA.log());
        return lines.length > fencesBefore ? fenceIn(lines[fencesBefore]!) : undefined;
      },
      HEARTBEAT_TIMEOUT_S * 1000 + 30_000,
      250,
    );
    const closed = await untilClosed(cluster.stack, sweepId, 420_000);
    assert.equal(closed.status, 'COMPLETED');
    const seen = await server.stop();
    const outcome = (await outcomeOf(cluster.stack, trialId)).result!;
    assert.ok(
      outcome.attempt >= 2 && outcome.worker === workerB.identity,
      `finished by worker-b (${outcome.worker}, attempt ${outcome.attempt})`,
    );
    const { beforeTimeoutMs, retryAfterMs } = assertFencedInTime(fence, seen);
    t.diagnostic(
      `${name}: fenced ${fence.at - cutAt} ms after the cut, ${beforeTimeoutMs} ms before the server's timeout; first retry started ${retryAfterMs} ms after the fence; finished by attempt ${outcome.attempt}`,
    );

    const [run] = (await runsOf(cluster.stack, sweepId, name)).children;
    const lossesBefore = (await cluster.stack.mlflow.getFullMetricHistory(run!.info.runId, 'loss')).length;
    cut(false);
    await sleep(10_000);
    assert.equal(
      (await cluster.stack.mlflow.getFullMetricHistory(run!.info.runId, 'loss')).length,
      lossesBefore,
      'nothing from worker-a once it was back',
    );
    await assertExactlyOnce(cluster.stack, sweepId, name, [trialId], STEPS, EVAL_EVERY);
  } finally {
    await server.stop();
    await workerB.stop();
  }
}

test(
  "worker-a cut off from control's Temporal port only, MLflow still reachable: its attempt stops writing before the retry on worker-b",
  { timeout: 600_000 },
  async (t) => {
    const { control } = cluster.network.hosts;
    await partitionScenario(t, 'temporal-port-cut', (off) =>
      blockPort(cluster.network.hosts['worker-a']!, control!, TEMPORAL_PORT, off),
    );
  },
);

test(
  "worker-a's link down mid-trial: the trial resumes on worker-b from its checkpoint; back online, worker-a writes nothing more",
  { timeout: 600_000 },
  async (t) => {
    await partitionScenario(t, 'link-down', (off) => setLink(cluster.network, 'worker-a', !off));
  },
);
