// Multi-host scenario 5: the Temporal server on control restarts (same data, same address)
// mid-sweep. The workers on worker-a and worker-b reconnect over the bridge by themselves
// and the sweep completes: every trial done, one FINISHED run each, every step once.
// (A restart longer than the heartbeat timeout also fences the running attempts, which
// resume from their checkpoints: activities/attempt-lease.ts.)
import { test } from 'node:test';
import { scenario } from '../support/scenario.js';
import assert from 'node:assert/strict';
import { assertExactlyOnce, untilClosed } from '../faults/harness.js';
import { startCluster, type Cluster } from './cluster.js';
import { countsDone, hostOf, launchFromClient, tinyTrial, untilRunningPast } from './sweeps.js';

const STEPS = 400;
const EVAL_EVERY = 200;
const DOWN_MS = 15_000;

let cluster: Cluster;
scenario(
  async () => (cluster = await startCluster()),
  (c) =>
    Promise.all([
      c.startWorker('worker-a', ['--max-concurrent', '2']),
      c.startWorker('worker-b', ['--max-concurrent', '2']),
    ]),
);

test(
  'Temporal on control restarted mid-sweep: the workers on both hosts reconnect and the sweep completes, every step once',
  { timeout: 600_000 },
  async () => {
    const sweepId = await launchFromClient(
      cluster,
      'temporal-restart',
      [...tinyTrial(STEPS, EVAL_EVERY), 'seeds: 4', 'max_concurrent_trials: 4'],
      '--checkpoint-every',
      '50',
    );
    await untilRunningPast(cluster, sweepId, 2, 20);

    await cluster.stack.temporal.restart(DOWN_MS);

    const closed = await untilClosed(cluster.stack, sweepId, 480_000);
    assert.equal(closed.status, 'COMPLETED');
    assert.deepEqual(
      closed.progress.counts,
      countsDone(4),
      JSON.stringify(closed.progress.trials.map((t) => [t.state, t.error])),
    );
    const runs = await assertExactlyOnce(
      cluster.stack,
      sweepId,
      'temporal-restart',
      closed.progress.trials.map((t) => t.trialId),
      STEPS,
      EVAL_EVERY,
    );
    assert.ok(
      runs.every((r) => ['worker-a', 'worker-b'].includes(hostOf(r))),
      'the trials ran on the worker hosts',
    );
  },
);
