// Scenario 4: the Temporal dev server restarts (same SQLite file, same port) while a
// sweep runs. Workers, their running trials and the sweep ride it out with no manual
// action: the sweep completes and every trial has exactly one FINISHED MLflow run with
// every step once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertExactlyOnce,
  heartbeatOf,
  launch,
  outcomeOf,
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
scenario(async () => (stack = await startStack('temporal-restart')), twoWorkers);

const STEPS = 400;
const EVAL_EVERY = 200;
/** Down long enough for pollers, heartbeats and completions to fail and back off. */
const DOWN_MS = 15_000;

test(
  'a Temporal server restart mid-sweep: the sweep completes by itself, each trial once in MLflow',
  { timeout: 420_000 },
  async () => {
    const sweepId = await launch(
      stack,
      'temporal-restart',
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
      'a trial past step 20',
      async () => {
        const { progress } = await snapshot(stack, sweepId);
        for (const t of progress.trials.filter((t) => t.state === 'running'))
          if (((await heartbeatOf(stack, t.trialId))?.beat.step ?? 0) >= 20) return true;
        return undefined;
      },
      120_000,
      300,
    );
    const workersBefore = [...stack.pool.workers.keys()];

    await stack.temporal.restart(DOWN_MS);

    const closed = await untilClosed(stack, sweepId, 300_000);
    assert.equal(closed.status, 'COMPLETED');
    assert.deepEqual(
      closed.progress.counts,
      { pending: 0, running: 0, done: 3, failed: 0, cancelled: 0, pruned: 0 },
      JSON.stringify(closed.progress.trials.map((t) => t.error)),
    );
    assert.deepEqual([...stack.pool.workers.keys()], workersBefore, 'no worker was restarted');
    for (const t of closed.progress.trials) assert.equal((await outcomeOf(stack, t.trialId)).result!.step, STEPS);
    await assertExactlyOnce(
      stack,
      sweepId,
      'temporal-restart',
      closed.progress.trials.map((t) => t.trialId),
      STEPS,
      EVAL_EVERY,
    );
  },
);
