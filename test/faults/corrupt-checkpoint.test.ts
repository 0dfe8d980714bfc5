// Scenario 7: a trial's newest checkpoint is truncated in the MLflow artifact store while
// its worker is dead. The next attempt notices (SHA-256 trailer), resumes from the
// previous good checkpoint, says so in the run's mirl.checkpoint_fallback tag, and the
// run still holds every step once. (From scratch, when no checkpoint is intact, is
// proven against the activity in test/unit/activities-checkpoint-store.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import {
  assertExactlyOnce,
  heartbeatOf,
  launch,
  outcomeOf,
  runsOf,
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
scenario(async () => (stack = await startStack('corrupt-checkpoint')), twoWorkers);

const STEPS = 600;
const EVAL_EVERY = 200;

/** The checkpoint files of a run in the MLflow server's artifact folder, oldest first. */
async function checkpointFiles(experimentId: string, runId: string): Promise<{ step: number; file: string }[]> {
  const dir = path.join(stack.mlflowServer.dataDir, 'artifacts', experimentId, runId, 'artifacts', 'checkpoints');
  const names = (await readdir(dir)).filter((n) => /^step-\d+\.ckpt$/.test(n)).sort();
  return names.map((n) => ({ step: Number(/\d+/.exec(n)![0]), file: path.join(dir, n) }));
}

test(
  'a truncated newest checkpoint: the trial resumes from the previous good one and tags its run',
  { timeout: 300_000 },
  async () => {
    const sweepId = await launch(
      stack,
      'corrupt-checkpoint',
      ['trial:', ...TINY, `  steps: ${STEPS}`, '  log_interval: 1', `  eval_interval: ${EVAL_EVERY}`],
      '--checkpoint-every',
      '50',
    );
    const trialId = await waitFor(
      'the trial to start',
      async () => (await snapshot(stack, sweepId)).progress.trials[0]?.trialId,
      60_000,
    );
    const victim = await waitFor(
      'two checkpoints stored',
      async () => {
        const h = await heartbeatOf(stack, trialId);
        return h && (h.beat.checkpointStep ?? 0) >= 100 ? h : undefined;
      },
      120_000,
      200,
    );
    await stack.pool.stop(victim.pid, 'SIGKILL');

    const { children } = await runsOf(stack, sweepId, 'corrupt-checkpoint');
    const files = await checkpointFiles(children[0].info.experimentId, children[0].info.runId);
    assert.ok(files.length >= 2, JSON.stringify(files));
    const [previous, newest] = files.slice(-2);
    await truncate(newest.file, Math.floor((await stat(newest.file)).size / 2));

    const closed = await untilClosed(stack, sweepId);
    assert.equal(closed.progress.counts.done, 1, JSON.stringify(closed.progress.trials[0]));
    const { result } = await outcomeOf(stack, trialId);
    assert.ok(result!.attempt >= 2);
    assert.equal(result!.resumedFrom, previous.step, 'the previous good checkpoint');
    const [run] = await assertExactlyOnce(stack, sweepId, 'corrupt-checkpoint', [trialId], STEPS, EVAL_EVERY);
    const ref = `runs:/${run.info.runId}/checkpoints/step-${String(newest.step).padStart(10, '0')}.ckpt`;
    assert.match(
      run.data.tags['mirl.checkpoint_fallback'] ?? '',
      new RegExp(
        `^passed over damaged checkpoint step ${newest.step} \\(${ref.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\): checkpoint checksum mismatch \\(truncated or corrupt\\), \\d+ bytes; resumed from step ${previous.step}$`,
      ),
    );
  },
);
