// The `mirl sweep watch` views on fixed progress: the terminal frame, the plain lines
// printed per change, the ETA from completed trials, the exit code, and the in-place
// redraw's escape sequences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SweepProgress, TrialProgress, TrialStateName } from '../../workflows/types.js';
import {
  changeLines,
  estimateRemainingMs,
  exitCodeFor,
  finalLine,
  formatDuration,
  renderFrame,
  type WatchView,
} from '../../cli/watch/view.js';
import { FrameWriter } from '../../cli/watch/terminal.js';

const T0 = 1_700_000_000_000;

function trial(index: number, state: TrialStateName, extra: Partial<TrialProgress> = {}): TrialProgress {
  return {
    index,
    trialId: `trial-${index}`,
    runName: `mlp|${index % 2 ? 'separable' : 'bilinear'}|seed=${index >> 1}`,
    axes: {},
    state,
    runs: state === 'pending' ? 0 : 1,
    step: null,
    metrics: {},
    resumedFrom: null,
    backend: null,
    error: null,
    startedAt: null,
    recordedAt: null,
    ...extra,
  };
}

function progress(trials: TrialProgress[], maxConcurrent = 2): SweepProgress {
  const counts = { pending: 0, running: 0, done: 0, failed: 0, cancelled: 0, pruned: 0 };
  for (const t of trials) counts[t.state]++;
  const done = trials.filter((t) => t.state === 'done' && t.startedAt !== null && t.recordedAt !== null);
  return {
    sweepId: 'smoke-20261129-031955-ab12',
    name: 'smoke',
    study: 'smoke',
    profile: null,
    taskQueue: 'mirl-cpu',
    total: trials.length,
    paused: false,
    cancelRequested: false,
    maxConcurrent,
    generation: 0,
    startedTotal: trials.filter((t) => t.state !== 'pending').length,
    finished: false,
    counts,
    axes: {},
    // As the sweep reports them: running totals of done trials' time, its log of outcomes.
    durations: done.reduce((d, t) => ({ count: d.count + 1, totalMs: d.totalMs + (t.recordedAt! - t.startedAt!) }), {
      count: 0,
      totalMs: 0,
    }),
    trials,
    page: { offset: 0, limit: 1000, states: null, matching: trials.length },
    recent: trials
      .filter((t) => t.state !== 'running' && t.state !== 'pending')
      .sort((a, b) => (a.recordedAt ?? 0) - (b.recordedAt ?? 0)),
  };
}

const view = (status: string, p: SweepProgress, now = T0 + 90_000): WatchView => ({
  status,
  progress: p,
  now,
  startedAt: T0,
  steps: { 0: 200, 1: 200, 2: 200, 3: 200 },
});

test('formatDuration: m:ss below an hour, h:mm:ss above', () => {
  assert.equal(formatDuration(0), '0:00');
  assert.equal(formatDuration(61_400), '1:01');
  assert.equal(formatDuration(3_723_000), '1:02:03');
});

test('ETA: unknown before a trial completes; running trials finish their share, pending ones fill the freed slots', () => {
  const none = progress([trial(0, 'running', { startedAt: T0 }), trial(1, 'pending')]);
  assert.equal(estimateRemainingMs(none, T0 + 10_000), null);
  // Mean duration 60 s; two slots: trial 2 at step 100/200 needs 30 s, trial 3 started 20 s ago needs 40 s;
  // the pending trial takes the slot free at 30 s and ends at 90 s.
  const p = progress([
    trial(0, 'done', { startedAt: T0, recordedAt: T0 + 50_000 }),
    trial(1, 'done', { startedAt: T0, recordedAt: T0 + 70_000 }),
    trial(2, 'running', { startedAt: T0 + 70_000, step: 100 }),
    trial(3, 'running', { startedAt: T0 + 70_000 }),
    trial(4, 'pending'),
  ]);
  assert.equal(estimateRemainingMs(p, T0 + 90_000, { 2: 200 }), 90_000);
  // Nothing left to run: zero.
  const over = progress([trial(0, 'done', { startedAt: T0, recordedAt: T0 + 1000 }), trial(1, 'failed')]);
  assert.equal(estimateRemainingMs(over, T0 + 5000), 0);
  // Pending trials with no running ones use the sweep's concurrency as slots: 3 trials of 10 s on 2 slots.
  const queued = progress([
    trial(0, 'done', { startedAt: T0, recordedAt: T0 + 10_000 }),
    trial(1, 'pending'),
    trial(2, 'pending'),
    trial(3, 'pending'),
  ]);
  assert.equal(estimateRemainingMs(queued, T0 + 20_000), 20_000);
});

test('frame: a bar per state, running trials with step/total and metrics, lines cut to the terminal width', () => {
  const p = progress([
    trial(0, 'done', { startedAt: T0, recordedAt: T0 + 60_000 }),
    trial(1, 'running', { startedAt: T0 + 60_000, step: 120, metrics: { loss: -1.25, i_est_test: 2.5 } }),
    trial(2, 'pending'),
    trial(3, 'failed', { error: 'NonFiniteError: loss is NaN at step 7' }),
  ]);
  const frame = renderFrame(view('RUNNING', p), 200);
  assert.match(frame[0], /^sweep smoke-20261129-031955-ab12 \(smoke\): running · 1:30 elapsed · ETA 1:24$/);
  assert.equal(frame[1], `  pending   ${'█'.repeat(8)}${'░'.repeat(22)} 1/4`);
  assert.equal(frame[2], `  running   ${'█'.repeat(8)}${'░'.repeat(22)} 1/4`);
  assert.equal(frame[3], `  done      ${'█'.repeat(8)}${'░'.repeat(22)} 1/4`);
  assert.equal(frame[5], `  cancelled ${'░'.repeat(30)} 0/4`);
  assert.equal(frame[6], '  running trials:');
  assert.equal(frame[7], '      1 mlp|separable|seed=0  step 120/200  loss=-1.2500 i_est_test=2.5000');
  assert.equal(frame[8], '  failed 3 mlp|separable|seed=1: NonFiniteError: loss is NaN at step 7');
  const narrow = renderFrame(view('RUNNING', p), 40);
  assert.ok(
    narrow.every((l) => [...l].length <= 39),
    narrow.join('\n'),
  );
  assert.ok(narrow[0].endsWith('…'));
  const before = renderFrame(view('RUNNING', progress([trial(0, 'running', { startedAt: T0 }), trial(1, 'pending')])));
  assert.match(before[0], /ETA after the first trial/);
  assert.match(before.at(-1)!, /0 mlp\|bilinear\|seed=0  starting$/);
});

test('plain lines: the first look lists what has happened, later looks only the changes', () => {
  const p1 = progress([trial(0, 'running', { step: 10 }), trial(1, 'pending'), trial(2, 'pending')]);
  const v1 = view('RUNNING', p1);
  assert.deepEqual(changeLines(undefined, v1), [
    'sweep smoke-20261129-031955-ab12 (smoke): running · 1:30 elapsed · ETA after the first trial',
    'trial 0 mlp|bilinear|seed=0: running',
    '0/3 done, 1 running, 2 pending, 0 failed, 0 cancelled',
  ]);
  const p1b = progress([trial(0, 'running', { step: 20 }), trial(1, 'pending'), trial(2, 'pending')]);
  assert.deepEqual(changeLines(v1, view('RUNNING', p1b)), [], 'a step alone is no change');
  const p2 = progress([
    trial(0, 'done', { startedAt: T0, recordedAt: T0 + 30_000, metrics: { i_est_test: 2 } }),
    trial(1, 'running', { startedAt: T0 + 30_000 }),
    trial(2, 'failed', { error: 'boom' }),
  ]);
  const v2 = view('RUNNING', p2, T0 + 40_000);
  assert.deepEqual(changeLines(v1, v2), [
    'trial 1 mlp|separable|seed=0: running',
    'trial 2 mlp|bilinear|seed=1: failed (boom)',
    'trial 0 mlp|bilinear|seed=0: done i_est_test=2',
    '1/3 done, 1 running, 0 pending, 1 failed, 0 cancelled; ETA 0:20',
  ]);
  const done = view('COMPLETED', progress([trial(0, 'done'), trial(1, 'done'), trial(2, 'failed')]));
  assert.equal(finalLine(done), 'sweep completed: 2/3 done, 0 running, 0 pending, 1 failed, 0 cancelled');
});

test('exit code: 0 only for a completed sweep whose every trial is done', () => {
  assert.equal(exitCodeFor('COMPLETED', progress([trial(0, 'done')])), 0);
  assert.equal(exitCodeFor('COMPLETED', progress([trial(0, 'done'), trial(1, 'failed')])), 1);
  assert.equal(exitCodeFor('COMPLETED', progress([trial(0, 'cancelled')])), 1);
  assert.equal(exitCodeFor('FAILED', progress([trial(0, 'done')])), 1);
  assert.equal(exitCodeFor('CANCELED', progress([])), 1);
});

test('the frame writer moves back over the previous frame before drawing the next', () => {
  let written = '';
  const out = { write: (s: string) => ((written += s), true) } as unknown as NodeJS.WriteStream;
  const w = new FrameWriter(out);
  w.draw(['a', 'b', 'c']);
  assert.equal(written, '\r\x1b[0Ja\nb\nc\n');
  written = '';
  w.draw(['d']);
  assert.equal(written, '\x1b[3A\r\x1b[0Jd\n');
  written = '';
  w.draw(['e', 'f']);
  assert.equal(written, '\x1b[1A\r\x1b[0Je\nf\n');
});
