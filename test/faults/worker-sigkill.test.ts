// Scenario 1: workers SIGKILLed mid-trial, twice in one sweep. Every trial finishes,
// each killed trial resumes from its last checkpoint (step > 0) in its one MLflow run,
// no metric step is logged twice or missing, and the dead workers' trainers are gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertExactlyOnce,
  assertGone,
  childPids,
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
scenario(async () => (stack = await startStack('sigkill')), twoWorkers);

const STEPS = 600;
const EVAL_EVERY = 200;

/** A running trial (not in `exclude`) with steps logged past a checkpoint at step >= 50, on a live worker. */
async function victim(
  sweepId: string,
  exclude: Set<string>,
): Promise<{ trialId: string; pid: number; checkpointStep: number } | undefined> {
  const { progress } = await snapshot(stack, sweepId);
  for (const t of progress.trials.filter((t) => t.state === 'running' && !exclude.has(t.trialId))) {
    const h = await heartbeatOf(stack, t.trialId);
    const checkpoint = h?.beat.checkpointStep ?? 0;
    if (h && checkpoint >= 50 && h.beat.step >= checkpoint + 10 && stack.pool.workers.has(h.pid))
      return { trialId: t.trialId, pid: h.pid, checkpointStep: checkpoint };
  }
  return undefined;
}

test(
  'two workers SIGKILLed mid-trial in one sweep: every trial finishes from its checkpoint, once in MLflow, no orphaned trainer',
  { timeout: 480_000 },
  async () => {
    const sweepId = await launch(
      stack,
      'sigkill',
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
    const killed = new Set<string>();
    const orphans: number[] = [];
    const replacements: Promise<number>[] = [];
    for (const round of [1, 2]) {
      const v = await waitFor(`a trial to kill (round ${round})`, () => victim(sweepId, killed), 120_000, 150);
      const trainers = childPids(v.pid);
      assert.ok(trainers.length > 0, `worker ${v.pid} runs a trainer`);
      await stack.pool.stop(v.pid, 'SIGKILL');
      killed.add(v.trialId);
      orphans.push(...trainers);
      replacements.push(stack.pool.start(`worker-after-kill-${round}`));
    }
    await assertGone(orphans, "the killed workers' trainer processes");

    const closed = await untilClosed(stack, sweepId, 360_000);
    await Promise.all(replacements);
    assert.equal(closed.status, 'COMPLETED');
    assert.deepEqual(
      closed.progress.counts,
      { pending: 0, running: 0, done: 3, failed: 0, cancelled: 0, pruned: 0 },
      JSON.stringify(closed.progress.trials.map((t) => [t.state, t.error])),
    );
    assert.equal(killed.size, 2, 'two different trials were killed');
    for (const trialId of killed) {
      const { result } = await outcomeOf(stack, trialId);
      assert.ok(result!.attempt >= 2, `${trialId}: attempt ${result!.attempt}`);
      assert.ok((result!.resumedFrom ?? 0) > 0, `${trialId} resumed from ${result!.resumedFrom}`);
      assert.equal(result!.step, STEPS);
    }
    const runs = await assertExactlyOnce(
      stack,
      sweepId,
      'sigkill',
      closed.progress.trials.map((t) => t.trialId),
      STEPS,
      EVAL_EVERY,
    );
    for (const run of runs.filter((r) => killed.has(r.data.tags['mirl.trial_id']))) {
      assert.ok(Number(run.data.tags['mirl.attempt']) >= 2, `${run.info.runName} records its last attempt`);
    }
  },
);
