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
  const activities = createSweepActivities(slowTracking(120, calls), { report: false, heartbeatMs: 20 });
  const env = new MockActivityEnvironment();
  const beats: number[] = [];
  env.on('heartbeat', () => beats.push(performance.now()));
  const t0 = performance.now();
  await env.run(activities.finishSweepRun, {} as FinishSweepRunInput);
  const done = performance.now();
  assert.deepEqual(calls, ['finish']);
  // One at the start, then one per period while the 120 ms close runs.
  assert.ok(beats.length >= 4, `${beats.length} heartbeats in ${Math.round(done - t0)} ms`);
  assert.ok(beats[0] - t0 < 15, 'the first heartbeat comes at the start');
  const countAtEnd = beats.length;
  await sleep(60);
  assert.equal(beats.length, countAtEnd, 'no heartbeat after the activity returned');
});

test('finishSweepRun without tracking returns at once, and runs outside an activity too', async () => {
  assert.equal(await createSweepActivities(null).finishSweepRun({} as FinishSweepRunInput), undefined);
  const calls: string[] = [];
  await createSweepActivities(slowTracking(5, calls), { report: false }).finishSweepRun({} as FinishSweepRunInput);
  assert.deepEqual(calls, ['finish']);
});
