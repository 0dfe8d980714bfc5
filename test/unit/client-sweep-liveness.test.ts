// Liveness of running trials as `sweep status` shows it: a heartbeat older than a live
// worker ever leaves it is stale; a closed trial workflow is named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { livenessOf, staleAfterMs } from '../../client/sweep-liveness.js';
import { renderStatus } from '../../cli/commands/sweep-render.js';
import type { SweepProgress, TrialProgress } from '../../workflows/types.js';

const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);
const at = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });

test('a heartbeat within the SDK throttle is live; past it, stale with its age', () => {
  assert.equal(staleAfterMs(60_000), 50_000);
  const live = livenessOf(
    { status: 'RUNNING', pending: { lastHeartbeatTime: at(NOW - 30_000), attempt: 1 } as never },
    NOW,
    60_000,
  );
  assert.deepEqual(live, { heartbeatAgeS: 30, attempt: 1, stale: false });
  const quiet = livenessOf(
    { status: 'RUNNING', pending: { lastHeartbeatTime: at(NOW - 55_000), attempt: 2 } as never },
    NOW,
    60_000,
  );
  assert.deepEqual(quiet, { heartbeatAgeS: 55, attempt: 2, stale: true });
  const fresh = livenessOf(
    { status: 'RUNNING', pending: { lastStartedTime: at(NOW - 1_000), attempt: 1 } as never },
    NOW,
    60_000,
  );
  assert.equal(fresh.heartbeatAgeS, 1, 'before its first heartbeat, the attempt start counts');
  assert.deepEqual(livenessOf({ status: 'RUNNING' }, NOW, 60_000), { heartbeatAgeS: null, attempt: 0, stale: false });
  assert.equal(livenessOf({ status: 'TERMINATED' }, NOW, 60_000).closed, 'TERMINATED');
});

test('a retry waiting for a worker slot is queued, not stale, though its last heartbeat is old', () => {
  // As Temporal describes it after `mirl down`: state SCHEDULED (1), the next attempt, the old beat.
  const waiting = livenessOf(
    { status: 'RUNNING', pending: { state: 1, lastHeartbeatTime: at(NOW - 1_636_000), attempt: 2 } as never },
    NOW,
    60_000,
  );
  assert.deepEqual(waiting, { heartbeatAgeS: null, attempt: 2, stale: false, queued: true });
  // The same beat on an attempt a worker holds (STARTED, 2) is stale.
  const held = livenessOf(
    { status: 'RUNNING', pending: { state: 2, lastHeartbeatTime: at(NOW - 1_636_000), attempt: 2 } as never },
    NOW,
    60_000,
  );
  assert.equal(held.stale, true);
});

test('status marks stale and closed trials and says how to page and reconcile', () => {
  const trial = (index: number, extra: Partial<TrialProgress>): TrialProgress => ({
    index,
    trialId: `t${index}`,
    runName: `mlp|seed=${index}`,
    axes: {},
    state: 'running',
    runs: 1,
    step: 120,
    metrics: {},
    resumedFrom: null,
    backend: null,
    error: null,
    startedAt: null,
    recordedAt: null,
    ...extra,
  });
  const p: SweepProgress = {
    sweepId: 's-1',
    name: 's',
    study: 't',
    profile: null,
    taskQueue: 'mirl-cpu',
    heartbeatTimeoutMs: 60_000,
    total: 5000,
    paused: false,
    cancelRequested: false,
    maxConcurrent: 2,
    generation: 3,
    startedTotal: 10,
    finished: false,
    counts: { pending: 4990, running: 2, done: 8, failed: 0, cancelled: 0, pruned: 0 },
    axes: {},
    durations: { count: 8, totalMs: 8000 },
    trials: [
      trial(8, { liveness: { heartbeatAgeS: 71, attempt: 1, stale: true } }),
      trial(9, { liveness: { heartbeatAgeS: null, attempt: 0, stale: false, closed: 'TERMINATED' } }),
      trial(10, { liveness: { heartbeatAgeS: null, attempt: 2, stale: false, queued: true } }),
    ],
    page: { offset: 0, limit: 100, states: ['running', 'failed'], matching: 2 },
    recent: [],
  };
  const text = renderStatus('RUNNING', p);
  assert.match(text, /8 running\s+mlp\|seed=8 step 120 \[stale: no heartbeat for 71 s\]/);
  assert.match(text, /9 running\s+mlp\|seed=9 step 120 \[trial workflow terminated\]/);
  assert.match(text, /10 running\s+mlp\|seed=10 step 120 \[queued for a worker, attempt 2\]/);
  assert.match(text, /mirl sweep reconcile s-1/);
  const paged = renderStatus('RUNNING', { ...p, page: { offset: 0, limit: 2, states: null, matching: 5000 } });
  assert.match(paged, /trials 1-3 of 5000; --state, --offset and --limit show others/);
});

test('status sums up an axis with many values instead of listing each', () => {
  const counts = (done: number, pending: number) => ({ pending, running: 0, done, failed: 0, cancelled: 0, pruned: 0 });
  const seeds = Object.fromEntries(
    Array.from({ length: 40 }, (_, i) => [String(i), i < 30 ? counts(1, 0) : counts(0, 1)]),
  );
  const p = {
    sweepId: 's-2',
    name: 's',
    study: 't',
    profile: null,
    taskQueue: 'mirl-cpu',
    total: 80,
    paused: false,
    cancelRequested: false,
    maxConcurrent: 2,
    generation: 0,
    startedTotal: 30,
    finished: false,
    counts: counts(30, 10),
    durations: { count: 0, totalMs: 0 },
    axes: { critic: { bilinear: counts(15, 5), separable: counts(15, 5) }, seed: seeds },
    trials: [],
    page: { offset: 0, limit: 100, states: null, matching: 40 },
    recent: [],
  } as SweepProgress;
  const text = renderStatus('RUNNING', p);
  assert.match(text, /critic: bilinear 15\/20, separable 15\/20/);
  assert.match(text, /seed: 40 values: 30 with every trial done, 0 partly, 10 with none done/);
});
