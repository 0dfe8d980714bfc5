// Multi-host scenario 6: a worker host with the wrong MLflow password. The worker stops
// at start with one line that names the tracking server and the cause and carries no
// secret, before it polls, so it takes no trial it could not log; the sweep's trials
// run on a worker host with good credentials, each once in MLflow.
import { test } from 'node:test';
import { scenario } from '../support/scenario.js';
import assert from 'node:assert/strict';
import { assertExactlyOnce, untilClosed } from '../faults/harness.js';
import { startCluster, type Cluster } from './cluster.js';
import { countsDone, hostOf, launchFromClient, tinyTrial } from './sweeps.js';

const STEPS = 300;
const EVAL_EVERY = 100;
const WRONG = 'wrong-9d4e1f2a7b';

let cluster: Cluster;
scenario(async () => (cluster = await startCluster()));

test(
  'a worker with wrong MLflow credentials stops with one clear line; its trials run on a worker that can log',
  { timeout: 600_000 },
  async () => {
    const sweepId = await launchFromClient(cluster, 'bad-creds', [
      ...tinyTrial(STEPS, EVAL_EVERY),
      'seeds: 3',
      'max_concurrent_trials: 3',
    ]);

    const bad = await cluster.workerUntilExit(
      'worker-b',
      ['--max-concurrent', '2'],
      cluster.envFor('worker-b', { MLFLOW_TRACKING_PASSWORD: WRONG }),
    );
    assert.equal(bad.code, 1, bad.output);
    const uri = cluster.stack.mlflowServer.uri.replace(/\./g, '\\.');
    assert.match(
      bad.output,
      new RegExp(
        `^mirl: MlflowCredentialsRefused: the MLflow server at ${uri} refused this worker's credentials \\(401 Unauthorized, from MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD\\); the worker did not start, so its trials stay with workers that can log\\n$`,
      ),
      'the whole output is that one line',
    );
    for (const secret of [WRONG, Buffer.from(`mirl:${WRONG}`).toString('base64'), cluster.password])
      assert.ok(!bad.output.includes(secret), 'no credential in the output');
    // The sweep workflow itself waits for a worker (a progress query would too): MLflow shows nothing ran.
    assert.equal(
      await cluster.stack.mlflow.getExperimentByName('bad-creds'),
      undefined,
      'the refused worker took nothing',
    );

    await cluster.startWorker('worker-a', ['--max-concurrent', '2']);
    const closed = await untilClosed(cluster.stack, sweepId, 420_000);
    assert.equal(closed.status, 'COMPLETED');
    assert.deepEqual(
      closed.progress.counts,
      countsDone(3),
      JSON.stringify(closed.progress.trials.map((t) => [t.state, t.error])),
    );
    const runs = await assertExactlyOnce(
      cluster.stack,
      sweepId,
      'bad-creds',
      closed.progress.trials.map((t) => t.trialId),
      STEPS,
      EVAL_EVERY,
    );
    assert.deepEqual([...new Set(runs.map(hostOf))], ['worker-a']);
  },
);
