// Scenario 3: the MLflow server is down for 30 s mid-sweep. Training goes on, metrics
// and checkpoints wait in the workers and are retried, and once the server is back every
// trial has one FINISHED run with every step once; the outage costs no attempt.
// (test/integration/tracking-outage.test.ts proves the client and buffer underneath.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertExactlyOnce,
  heartbeatOf,
  launch,
  outcomeOf,
  sleep,
  snapshot,
  startStack,
  TINY,
  untilClosed,
  waitFor,
  type FaultStack,
  twoWorkers,
} from './harness.js';
import { scenario } from '../support/scenario.js';

let stack: FaultStack;
scenario(async () => (stack = await startStack('mlflow-outage')), twoWorkers);

const STEPS = 500;
const EVAL_EVERY = 100;
const OUTAGE_MS = 30_000;

/** The highest step any running trial has reached. */
async function furthestStep(sweepId: string): Promise<number> {
  const { progress } = await snapshot(stack, sweepId);
  const steps = await Promise.all(
    progress.trials
      .filter((t) => t.state === 'running')
      .map(async (t) => (await heartbeatOf(stack, t.trialId))?.beat.step ?? 0),
  );
  return Math.max(0, ...steps);
}

test(
  'MLflow down for 30 s mid-sweep: training goes on, nothing is lost or doubled once it is back',
  { timeout: 420_000 },
  async () => {
    const sweepId = await launch(
      stack,
      'mlflow-outage',
      [
        'trial:',
        ...TINY,
        `  steps: ${STEPS}`,
        '  log_interval: 1',
        `  eval_interval: ${EVAL_EVERY}`,
        'seeds: 3',
        'max_concurrent_trials: 2',
      ],
      '--checkpoint-every',
      '50',
    );
    await waitFor(
      'a trial past step 30',
      async () => ((await furthestStep(sweepId)) >= 30 ? true : undefined),
      120_000,
      300,
    );
    await stack.mlflowServer.kill();
    const before = await furthestStep(sweepId);
    await sleep(OUTAGE_MS);
    const during = await furthestStep(sweepId);
    const doneDuring = (await snapshot(stack, sweepId)).progress.counts.done;
    await stack.mlflowServer.start();
    assert.ok(
      during > before || doneDuring > 0,
      `training went on while MLflow was down (step ${before} -> ${during}, ${doneDuring} done)`,
    );

    const closed = await untilClosed(stack, sweepId, 300_000);
    assert.equal(closed.status, 'COMPLETED');
    assert.deepEqual(
      closed.progress.counts,
      { pending: 0, running: 0, done: 3, failed: 0, cancelled: 0, pruned: 0 },
      JSON.stringify(closed.progress.trials.map((t) => t.error)),
    );
    for (const t of closed.progress.trials)
      assert.equal((await outcomeOf(stack, t.trialId)).result!.attempt, 1, `${t.trialId}: the outage cost no attempt`);
    await assertExactlyOnce(
      stack,
      sweepId,
      'mlflow-outage',
      closed.progress.trials.map((t) => t.trialId),
      STEPS,
      EVAL_EVERY,
    );
  },
);
