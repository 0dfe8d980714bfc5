// Multi-host scenario 1: a sweep launched from the client host runs on workers of two
// other hosts, which reach Temporal and MLflow (basic auth, PostgreSQL store) on control
// over the bridge only. Both worker hosts run trials; a sweep asking for the gpu queue
// runs on worker-b, the only host serving mirl-gpu. Every trial finishes with one MLflow
// run and every step once, and status, compare and report work from the client.
import { test } from 'node:test';
import { scenario } from '../support/scenario.js';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { assertExactlyOnce, untilClosed } from '../faults/harness.js';
import { startCluster, type Cluster, type HostWorker } from './cluster.js';
import { countsDone, hostOf, launchFromClient, show, tinyTrial } from './sweeps.js';

const STEPS = 300;
const EVAL_EVERY = 100;
const TRIAL = tinyTrial(STEPS, EVAL_EVERY);

let cluster: Cluster;
let gpuWorker: HostWorker;
scenario(
  async () => (cluster = await startCluster()),
  async (c) => {
    [, , gpuWorker] = await Promise.all([
      c.startWorker('worker-a', ['--max-concurrent', '2']),
      c.startWorker('worker-b', ['--max-concurrent', '2']),
      // One `mirl worker` polls one trial queue, so worker-b runs a second process for mirl-gpu.
      // --allow-cpu: the namespaces stand in for a GPU host; the trial trains on the CPU.
      c.startWorker('worker-b', ['--task-queue', 'mirl-gpu', '--max-concurrent', '1', '--no-workflows', '--allow-cpu']),
    ]);
  },
);

test(
  'a sweep spreads over both worker hosts, the gpu sweep runs only on worker-b, each trial once in MLflow',
  { timeout: 600_000 },
  async () => {
    // Four at once against two slots per cpu worker: neither host can take them all.
    const spread = await launchFromClient(cluster, 'spread', [
      ...TRIAL,
      'grid:',
      '  learning_rate: [0.0005, 0.001]',
      'seeds: 3',
      'max_concurrent_trials: 4',
    ]);
    const gpu = await launchFromClient(cluster, 'gpu-one', [...TRIAL, 'seeds: 1', 'resources:', '  queue: gpu']);
    const [closed, closedGpu] = await Promise.all([
      untilClosed(cluster.stack, spread, 480_000),
      untilClosed(cluster.stack, gpu, 480_000),
    ]);
    assert.equal(closed.status, 'COMPLETED');
    assert.deepEqual(
      closed.progress.counts,
      countsDone(6),
      JSON.stringify(closed.progress.trials.map((t) => [t.state, t.error])),
    );
    assert.equal(closedGpu.status, 'COMPLETED');
    assert.deepEqual(closedGpu.progress.counts, countsDone(1));

    const runs = await assertExactlyOnce(
      cluster.stack,
      spread,
      'spread',
      closed.progress.trials.map((t) => t.trialId),
      STEPS,
      EVAL_EVERY,
    );
    assert.deepEqual(
      [...new Set(runs.map(hostOf))].sort(),
      ['worker-a', 'worker-b'],
      'trials ran on both worker hosts',
    );
    assert.ok(
      runs.every((r) => r.data.tags['mirl.worker'] !== gpuWorker.identity),
      'the gpu worker took no cpu trial',
    );
    const [gpuRun] = await assertExactlyOnce(
      cluster.stack,
      gpu,
      'gpu-one',
      closedGpu.progress.trials.map((t) => t.trialId),
      STEPS,
      EVAL_EVERY,
    );
    assert.equal(
      gpuRun.data.tags['mirl.worker'],
      gpuWorker.identity,
      "the gpu trial ran on worker-b's mirl-gpu worker",
    );

    await fromTheClient(spread);
  },
);

/** What a person on the client host reads back: status, the comparison, the report (uploaded through MLflow's artifact proxy). */
async function fromTheClient(sweepId: string): Promise<void> {
  const status = cluster.client(['sweep', 'status', sweepId]);
  assert.equal(status.status, 0, show(status));
  assert.match(status.stdout, /6\/6 done|done\s+6/, show(status));

  const compare = cluster.client(['compare', sweepId, '--json']);
  assert.equal(compare.status, 0, show(compare));
  const c = JSON.parse(compare.stdout) as {
    trackingUri: string;
    axes: string[];
    rows: {
      config: Record<string, unknown>;
      done: number;
      metrics: Record<string, { n: number; mean: number | null }>;
    }[];
  };
  assert.equal(c.trackingUri, cluster.stack.mlflowServer.uri);
  assert.deepEqual(c.axes, ['learning_rate']);
  assert.deepEqual(
    c.rows.map((r) => [r.config.learning_rate, r.done, r.metrics.i_est_test.n]),
    [
      [0.0005, 3, 3],
      [0.001, 3, 3],
    ],
  );
  assert.ok(c.rows.every((r) => Number.isFinite(r.metrics.i_est_test.mean)));

  const out = path.join(cluster.dir, 'client', 'report');
  const report = cluster.client(['report', sweepId, '--out', out, '--json']);
  assert.equal(report.status, 0, show(report));
  const r = JSON.parse(report.stdout) as { trialStates: Record<string, number>; files: string[]; artifacts: string[] };
  assert.deepEqual(r.trialStates, { FINISHED: 6 });
  assert.ok(
    r.files.some((f) => f.endsWith('index.html')),
    JSON.stringify(r.files),
  );
  assert.ok(r.artifacts.length > 0, 'the report was uploaded to the sweep run');
  assert.match(await readFile(path.join(out, 'index.html'), 'utf8'), new RegExp(sweepId));
}
