// Scenario 9 (docs/RELIABILITY.md): 70 real one-step trials on two workers
// with MLflow tracking, the sweep continuing as new every 7 starts. Each trial must be
// done exactly once in Temporal and have exactly one FINISHED MLflow run with its step
// logged once: what `mirl bench --scale` audits, at a size CI can afford.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureScale } from '../../bench/sweep-scale.js';
import { launchSweep } from '../../client/sweeps.js';
import { HEARTBEAT_TIMEOUT_S, runsOf, startStack, type FaultStack, twoWorkers } from './harness.js';
import { scenario } from '../support/scenario.js';

let stack: FaultStack;
scenario(async () => (stack = await startStack('sweep-boundaries')), twoWorkers);

// 70 trials cross 10 workflow runs (continue-as-new every 7 starts): every boundary kind
// the sweep has, at a third of the 200 it ran before (250 s of CI on a loaded machine).
const TRIALS = 70;

test(
  `${TRIALS} one-step trials across continue-as-new every 7 starts: each once in Temporal and MLflow, the sweep's run FINISHED`,
  { timeout: 600_000 },
  async () => {
    const row = await measureScale({
      client: stack.temporal.client,
      mlflow: stack.mlflow,
      trials: TRIALS,
      concurrency: 4,
      continueAsNewAfter: 7,
      launch: (spec, options) =>
        launchSweep(stack.temporal.client, spec, null, { ...options, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_S * 1000 }),
      workerGroups: [],
      log: (line) => process.stderr.write(`${line}\n`),
    });
    process.stderr.write(`sweep boundaries: ${JSON.stringify(row)}\n`);
    assert.equal(row.every_trial_once, true, JSON.stringify(row));
    assert.ok(Number(row.workflow_runs) >= TRIALS / 14, `${row.workflow_runs} workflow runs`);
    const { parent } = await runsOf(stack, String(row.sweep_id), 'bench-scale');
    assert.equal(parent.info.status, 'FINISHED', 'no boundary marked the sweep failed');
    assert.equal(parent.data.tags['mirl.failure'], undefined);
  },
);
