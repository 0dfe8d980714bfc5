// The sweep's closing activity heartbeats while it works, so a worker killed mid-close is
// noticed by its heartbeat timeout instead of the 5-minute start-to-close timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createSweepActivities } from '../../activities/mlflow-sweep-activities.js';
import type { MlflowTracking } from '../../activities/mlflow-tracking.js';
import type { FinishSweepRunInput } from '../../workflows/types.js';

function slowTracking(ms: number, calls: string[]): MlflowTracking {
  return {
    finishSweepRun: async () => {
      calls.push('finish');
      await sleep(ms);
    },
  } as unknown as MlflowTracking;
}

test('finishSweepRun heartbeats from its start until the close is done', async () => {
  const calls: string[] = [];
  // A close long against the period, so a loaded machine's late timers still leave
  // several periodic beats; the order, not a clock, says the first beat came first.
  const activities = createSweepActivities(slowTracking(400, calls), { report: false, heartbeatMs: 25 });
  const env = new MockActivityEnvironment();
  let beats = 0;
  env.on('heartbeat', () => {
    beats += 1;
    calls.push('beat');
  });
  await env.run(activities.finishSweepRun, {} as FinishSweepRunInput);
  assert.equal(calls[0], 'beat', 'the first heartbeat comes before the close starts');
  assert.ok(calls.includes('finish'));
  assert.ok(beats >= 3, `only ${beats} heartbeats during a 400 ms close at a 25 ms period`);
  const countAtEnd = beats;
  await sleep(100);
  assert.equal(beats, countAtEnd, 'no heartbeat after the activity returned');
});

test('finishSweepRun without tracking returns at once, and runs outside an activity too', async () => {
  assert.equal(await createSweepActivities(null).finishSweepRun({} as FinishSweepRunInput), undefined);
  const calls: string[] = [];
  await createSweepActivities(slowTracking(5, calls), { report: false }).finishSweepRun({} as FinishSweepRunInput);
  assert.deepEqual(calls, ['finish']);
});
