import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandSpec, parseSpec } from '../../spec/index.js';
import {
  applyOutcome,
  buildProgress,
  cancelPending,
  countStates,
  initialCarry,
  isSettled,
  markStarted,
  nextToStart,
  requeueForRerun,
} from '../../workflows/sweep-state.js';

const spec = parseSpec(
  ['name: s', 'study: t', 'trial: {steps: 1}', 'grid:', '  critic: [bilinear, separable, inner]', 'seeds: 2', 'max_concurrent_trials: 2'].join('\n'),
  'inline.yaml',
);
const trials = expandSpec(spec, { sweepId: 's-1' });
const meta = { sweepId: 's-1', name: 's', study: 't', profile: null, taskQueue: 'mirl-cpu' };

test('the window starts the lowest pending trials up to the concurrency limit', () => {
  const carry = initialCarry(trials.length, 2);
  assert.deepEqual(nextToStart(carry), [0, 1]);
  markStarted(carry, 0, 1);
  markStarted(carry, 1, 1);
  assert.deepEqual(nextToStart(carry), []);
  carry.maxConcurrent = 4;
  assert.deepEqual(nextToStart(carry), [2, 3]);
  carry.paused = true;
  assert.deepEqual(nextToStart(carry), []);
});

test('outcomes apply once, to the current start only', () => {
  const carry = initialCarry(trials.length, 2);
  markStarted(carry, 0, 10);
  const outcome = { index: 0, trialId: trials[0].trialId, run: 1, state: 'failed' as const, error: 'NonFiniteError: loss became NaN' };
  assert.equal(applyOutcome(carry, outcome, 20), true);
  assert.equal(applyOutcome(carry, outcome, 21), false, 'the second path (child result) is ignored');
  assert.equal(carry.trials[0].state, 'failed');
  assert.equal(carry.trials[0].recordedAt, 20);
  assert.deepEqual(requeueForRerun(carry, { overrides: { learning_rate: 1e-4 } }), [0]);
  markStarted(carry, 0, 30);
  assert.equal(applyOutcome(carry, { ...outcome, run: 1 }, 31), false, 'a report of the superseded start is stale');
  assert.equal(carry.trials[0].state, 'running');
  assert.deepEqual(carry.trials[0].overrides, { learning_rate: 1e-4 });
});

test('rerun honours indices and only touches failed or cancelled trials', () => {
  const carry = initialCarry(trials.length, 6);
  for (const i of nextToStart(carry)) markStarted(carry, i, 0);
  applyOutcome(carry, { index: 0, trialId: '', run: 1, state: 'failed' }, 1);
  applyOutcome(carry, { index: 1, trialId: '', run: 1, state: 'cancelled' }, 1);
  applyOutcome(carry, { index: 2, trialId: '', run: 1, state: 'done' }, 1);
  assert.deepEqual(requeueForRerun(carry, { indices: [1, 2] }), [1]);
  assert.deepEqual(requeueForRerun(carry), [0]);
});

test('cancel empties the queue and progress counts per axis value', () => {
  const carry = initialCarry(trials.length, 2);
  markStarted(carry, 0, 0);
  applyOutcome(carry, { index: 0, trialId: '', run: 1, state: 'done', result: fakeResult(1) }, 5);
  markStarted(carry, 1, 0);
  cancelPending(carry);
  assert.deepEqual(countStates(carry), { pending: 0, running: 1, done: 1, failed: 0, cancelled: 4 });
  assert.equal(isSettled(carry), false);
  assert.deepEqual(nextToStart(carry), []);
  const p = buildProgress(carry, trials, meta);
  assert.deepEqual(p.axes.critic.bilinear, { pending: 0, running: 1, done: 1, failed: 0, cancelled: 0 });
  assert.equal(p.axes.seed['0'].done, 1);
  assert.equal(p.trials[0].step, 1);
  assert.equal(p.trials[0].metrics.i_est_test, 0.5);
});

function fakeResult(step: number) {
  return {
    status: 'finished' as const,
    step,
    backend: 'wasm',
    resumedFrom: null,
    train: { loss: 1 },
    eval: { i_est_test: 0.5 },
    seconds: 0,
    msPerStep: 0,
    attempt: 1,
    worker: 'w',
    activityStartedAt: 0,
    trainerStartedAt: 0,
    finishedAt: 0,
  };
}
