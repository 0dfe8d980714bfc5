// Multi-host scenario 4: PostgreSQL, the store under MLflow's runs and its users, stops
// mid-sweep and comes back. While it is down MLflow answers with errors (it is up, its
// database is not); the workers' tracking retries them, and the sweep completes with one
// FINISHED run per trial and every step logged once: nothing lost, nothing doubled.
import { test } from 'node:test';
import { scenario } from '../support/scenario.js';
import assert from 'node:assert/strict';
import { assertExactlyOnce, sleep, untilClosed, waitFor } from '../faults/harness.js';
import { startCluster, type Cluster, type HostWorker } from './cluster.js';
import { countsDone, launchFromClient, tinyTrial, untilRunningPast } from './sweeps.js';

const STEPS = 400;
const EVAL_EVERY = 100;
const DOWN_MS = 10_000;

let cluster: Cluster;
let workers: HostWorker[];
scenario(
  async () => (cluster = await startCluster()),
  async (c) => {
    workers = await Promise.all([
      c.startWorker('worker-a', ['--max-concurrent', '2']),
      c.startWorker('worker-b', ['--max-concurrent', '2']),
    ]);
  },
);

/**
 * What MLflow answers an authenticated read with, as the status code (0: no answer). The
 * wait is long because a loaded machine (CI runs tiers side by side) can take seconds to
 * answer even when nothing is broken: 5 s once came back empty with PostgreSQL up.
 */
async function mlflowAnswers(): Promise<number> {
  const { uri } = cluster.stack.mlflowServer;
  const auth = `Basic ${Buffer.from(`mirl:${cluster.password}`).toString('base64')}`;
  try {
    const res = await fetch(`${uri}/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default`, {
      headers: { Authorization: auth },
      signal: AbortSignal.timeout(30_000),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

test(
  'PostgreSQL under MLflow restarted mid-sweep: the sweep completes, every step once',
  { timeout: 600_000 },
  async () => {
    const sweepId = await launchFromClient(
      cluster,
      'pg-restart',
      [...tinyTrial(STEPS, EVAL_EVERY), 'seeds: 4', 'max_concurrent_trials: 4'],
      '--checkpoint-every',
      '50',
    );
    // Trials mid-way, with steps and a checkpoint in the store that goes away.
    await untilRunningPast(cluster, sweepId, 2, 60);

    assert.equal(await mlflowAnswers(), 200);
    await cluster.postgres.stop();
    const during = await mlflowAnswers();
    assert.ok(
      during >= 500,
      `MLflow without its database answers ${during}, not a success or a refusal the workers would give up on`,
    );
    await sleep(DOWN_MS);
    await cluster.postgres.start();
    await waitFor(
      'MLflow answering again',
      async () => ((await mlflowAnswers()) === 200 ? true : undefined),
      60_000,
      500,
    );

    const closed = await untilClosed(cluster.stack, sweepId, 420_000);
    assert.equal(closed.status, 'COMPLETED');
    assert.deepEqual(
      closed.progress.counts,
      countsDone(4),
      JSON.stringify(closed.progress.trials.map((t) => [t.state, t.error])),
    );
    await assertExactlyOnce(
      cluster.stack,
      sweepId,
      'pg-restart',
      closed.progress.trials.map((t) => t.trialId),
      STEPS,
      EVAL_EVERY,
    );
    const logs = (await Promise.all(workers.map((w) => w.log()))).join('\n');
    assert.match(logs, /\[mlflow\] \S+ \S+: HTTP 5\d\d \w+; retry \d+\//, 'the workers met the outage and retried');
  },
);
