import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandSpec, parseSpec, trialSource } from '../../sweep-spec/index.js';
import { decodeStates, encodeStates, MAX_ERRORS, MAX_RECENT, SweepBook } from '../../workflows/sweep-state.js';
import { AXIS_VALUES_MAX, buildProgress, PROGRESS_PAGE_MAX } from '../../workflows/progress.js';
import type { LegacySweepCarry, TrialStateName } from '../../workflows/types.js';
import { DATA_PATH_VERSION } from '../../ml/data-path.js';

const spec = parseSpec(
  [
    'name: s',
    'study: t',
    'trial: {steps: 1}',
    'grid:',
    '  critic: [bilinear, separable, inner]',
    'seeds: 2',
    'max_concurrent_trials: 2',
  ].join('\n'),
  'inline.yaml',
);
const source = trialSource(spec, { dataPath: DATA_PATH_VERSION, sweepId: 's-1' });
const meta = {
  sweepId: 's-1',
  name: 's',
  study: 't',
  profile: null,
  taskQueue: 'mirl-cpu',
  heartbeatTimeoutMs: 60_000,
};
const roundTrip = (book: SweepBook) => SweepBook.fromCarry(JSON.parse(JSON.stringify(book.toCarry())));

test('trials built one at a time equal the full expansion', () => {
  const all = expandSpec(spec, { dataPath: DATA_PATH_VERSION, sweepId: 's-1' });
  assert.equal(source.count, all.length);
  all.forEach((t, i) => {
    assert.deepEqual(source.at(i), t);
    assert.deepEqual(
      source.axisLabels(i),
      Object.entries(t.axes).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    );
  });
});

test('states run-length encode and decode, and corrupt text is refused', () => {
  const states = Uint8Array.from([2, 2, 2, 1, 0, 0, 3, 4, 4, 5]);
  const text = encodeStates(states);
  assert.equal(text, 'd3r1p2f1c2x1');
  assert.deepEqual(decodeStates(text, states.length), states);
  assert.throws(() => decodeStates('d3', 4), /cover 3 trials/);
  assert.throws(() => decodeStates('z3', 3), /corrupt/);
});

test('the window starts the lowest pending trials up to the concurrency limit', () => {
  const book = SweepBook.create(source.count, 2);
  assert.deepEqual(book.nextToStart(), [0, 1]);
  book.markStarted(0, 1);
  book.markStarted(1, 1);
  assert.deepEqual(book.nextToStart(), []);
  book.maxConcurrent = 4;
  assert.deepEqual(book.nextToStart(), [2, 3]);
  book.paused = true;
  assert.deepEqual(book.nextToStart(), []);
});

test('outcomes apply once, to the current start only; reruns carry their overrides', () => {
  const book = SweepBook.create(source.count, 2);
  assert.equal(book.markStarted(0, 10), 1);
  const outcome = {
    index: 0,
    trialId: source.at(0).trialId,
    run: 1,
    state: 'failed' as const,
    error: 'NonFiniteError: loss became NaN',
  };
  assert.equal(book.applyOutcome(outcome, 20), true);
  assert.equal(book.applyOutcome(outcome, 21), false, 'the second path (child result) is ignored');
  assert.equal(book.state(0), 'failed');
  assert.equal(book.errorOf(0), outcome.error);
  assert.deepEqual(book.requeueForRerun({ overrides: { learning_rate: 1e-4 } }), [0]);
  const again = roundTrip(book);
  assert.equal(again.markStarted(0, 30), 2);
  assert.equal(again.applyOutcome({ ...outcome, run: 1 }, 31), false, 'a report of the superseded start is stale');
  assert.equal(again.state(0), 'running');
  assert.deepEqual(again.overridesOf(0), { learning_rate: 1e-4 });
  assert.equal(again.runsOf(0), 2);
});

test('rerun honours indices and only touches failed or cancelled trials', () => {
  const book = SweepBook.create(source.count, 6);
  for (const i of book.nextToStart()) book.markStarted(i, 0);
  book.applyOutcome({ index: 0, trialId: '', run: 1, state: 'failed' }, 1);
  book.applyOutcome({ index: 1, trialId: '', run: 1, state: 'cancelled' }, 1);
  book.applyOutcome({ index: 2, trialId: '', run: 1, state: 'done' }, 1);
  assert.deepEqual(book.requeueForRerun({ indices: [1, 2] }), [1]);
  assert.deepEqual(book.requeueForRerun(), [0]);
  assert.deepEqual(book.nextToStart(), [0, 1], 'requeued trials below the scan point start again');
});

test('cancel empties the queue and progress counts per axis value', () => {
  const book = SweepBook.create(source.count, 2);
  book.markStarted(0, 0);
  book.applyOutcome({ index: 0, trialId: '', run: 1, state: 'done', result: fakeResult(1) }, 5);
  book.markStarted(1, 0);
  book.cancelPending();
  assert.deepEqual(book.counts, { pending: 0, running: 1, done: 1, failed: 0, cancelled: 4, pruned: 0 });
  assert.equal(book.isSettled(), false);
  assert.deepEqual(book.nextToStart(), []);
  const p = buildProgress(roundTrip(book), source, meta);
  assert.deepEqual(p.axes.critic.bilinear, { pending: 0, running: 1, done: 1, failed: 0, cancelled: 0, pruned: 0 });
  assert.equal(p.axes.seed['0'].done, 1);
  assert.equal(p.trials[0].step, 1);
  assert.equal(p.trials[0].metrics.i_est_test, 0.5);
  assert.equal(p.trials[2].runs, 0, 'a trial cancelled before it started never ran');
  assert.deepEqual(p.durations, { count: 1, totalMs: 5 });
});

test('progress pages filter by state and never exceed the page limit', () => {
  const book = SweepBook.create(source.count, 6);
  for (const i of book.nextToStart()) book.markStarted(i, 0);
  book.applyOutcome({ index: 4, trialId: '', run: 1, state: 'failed', error: 'boom' }, 1);
  const failed = buildProgress(book, source, meta, { states: ['failed'] });
  assert.deepEqual(
    failed.trials.map((t) => [t.index, t.error]),
    [[4, 'boom']],
  );
  assert.equal(failed.page.matching, 1);
  const paged = buildProgress(book, source, meta, { offset: 2, limit: 2 });
  assert.deepEqual(
    paged.trials.map((t) => t.index),
    [2, 3],
  );
  assert.equal(paged.page.matching, 6);
  assert.equal(buildProgress(book, source, meta, { limit: 10 ** 9 }).page.limit, PROGRESS_PAGE_MAX);
  assert.equal(buildProgress(book, source, meta, { limit: 0 }).trials.length, 0);
});

test('a legacy carry (one record per trial) converts without losing state', () => {
  const legacy: LegacySweepCarry = {
    trials: [
      { state: 'done', runs: 1 },
      { state: 'failed', runs: 2, error: 'x', overrides: { learning_rate: 1e-4 } },
      { state: 'running', runs: 1, startedAt: 7 },
      { state: 'pending', runs: 0 },
      { state: 'cancelled', runs: 0 },
      { state: 'pending', runs: 1 },
    ],
    paused: true,
    cancelRequested: false,
    maxConcurrent: 3,
    startedTotal: 5,
    generation: 2,
  };
  const book = SweepBook.fromCarry(legacy);
  assert.deepEqual(
    legacy.trials.map((t, i) => [book.state(i), book.runsOf(i)]),
    legacy.trials.map((t) => [t.state, t.runs]),
  );
  assert.deepEqual(book.overridesOf(1), { learning_rate: 1e-4 });
  assert.equal(book.errorOf(1), 'x');
  assert.deepEqual(book.running.get(2), { run: 1, startedAt: 7 });
  assert.equal(book.paused, true);
  assert.equal(book.applyOutcome({ index: 2, trialId: '', run: 1, state: 'done' }, 9), true);
});

test('the carry of a 100,000-trial sweep stays small whatever happens to it', () => {
  const total = 100_000;
  const book = SweepBook.create(total, 200);
  let now = 0;
  while (!book.isSettled()) {
    for (const i of book.nextToStart()) book.markStarted(i, now);
    for (const [i, { run }] of [...book.running].slice(0, 150)) {
      const state = i % 97 === 0 ? 'failed' : 'done';
      book.applyOutcome(
        {
          index: i,
          trialId: '',
          run,
          state,
          error: state === 'failed' ? 'E'.repeat(2000) : undefined,
          result: fakeResult(1),
        },
        ++now,
      );
    }
  }
  assert.equal(book.counts.done + book.counts.failed, total);
  const carry = JSON.stringify(book.toCarry());
  assert.ok(carry.length < 512 * 1024, `carry is ${carry.length} bytes`);
  assert.equal(book.toCarry().recent.length, MAX_RECENT);
  assert.equal(Object.keys(book.toCarry().errors).length, MAX_ERRORS);
  const result = JSON.stringify(
    buildProgress(book, trialSource(bigSpec(), { dataPath: DATA_PATH_VERSION, sweepId: 'big-1' }), meta, {
      limit: 500,
    }),
  );
  assert.ok(result.length < 1024 * 1024, `a result page is ${result.length} bytes`);
});

test('an axis of more values than replies can list (seeds: 100000) is summed up, so a reply stays small', () => {
  const spec = parseSpec(['name: seeds', 'study: t', 'trial: {steps: 1}', 'seeds: 100000'].join('\n'), 'seeds.yaml');
  const src = trialSource(spec, { dataPath: DATA_PATH_VERSION, sweepId: 'seeds-1' });
  const book = SweepBook.create(src.count, 8);
  for (let i = 0; i < 10; i++) {
    book.markStarted(i, 0);
    book.applyOutcome({ index: i, trialId: '', run: 1, state: 'done', result: fakeResult(1) }, 1);
  }
  book.markStarted(10, 0);
  const p = buildProgress(book, src, meta, { limit: 0 });
  assert.equal(p.axes.seed, undefined);
  assert.deepEqual(p.axisSummaries?.seed, { values: 100_000, complete: 10, partly: 0, untouched: 99_990 });
  assert.ok(JSON.stringify(p).length < 16 * 1024, `a reply of ${JSON.stringify(p).length} bytes`);
  // At the limit an axis is still listed value by value (the 100,000-trial grid's 1,000 seeds).
  const listed = buildProgress(
    SweepBook.create(2000, 1),
    trialSource(
      parseSpec(
        [
          'name: s2',
          'study: t',
          'trial: {steps: 1}',
          'grid: {learning_rate: [0.001, 0.002]}',
          `seeds: ${AXIS_VALUES_MAX}`,
        ].join('\n'),
        's2.yaml',
      ),
      { dataPath: DATA_PATH_VERSION, sweepId: 's2-1' },
    ),
    meta,
    { limit: 0 },
  );
  assert.equal(Object.keys(listed.axes.seed).length, AXIS_VALUES_MAX);
  assert.equal(listed.axisSummaries, undefined);
});

test('random interleavings: the book agrees with a plain per-trial model, across round trips', () => {
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let round = 0; round < 30; round++) {
    const total = 1 + Math.floor(rand() * 60);
    let book = SweepBook.create(total, 1 + Math.floor(rand() * 5));
    const model: { state: TrialStateName; runs: number }[] = Array.from({ length: total }, () => ({
      state: 'pending',
      runs: 0,
    }));
    let cancelling = false;
    for (let op = 0; op < 400; op++) {
      const r = rand();
      if (r < 0.35) {
        const room = book.maxConcurrent - model.filter((m) => m.state === 'running').length;
        const lowest = model.flatMap((m, i) => (m.state === 'pending' ? [i] : [])).slice(0, Math.max(0, room));
        const next = book.nextToStart();
        assert.deepEqual(next, cancelling ? [] : lowest, 'the lowest pending trials, as many as fit');
        for (const i of next) {
          assert.equal(model[i].state, 'pending');
          book.markStarted(i, op);
          model[i] = { state: 'running', runs: model[i].runs + 1 };
        }
      } else if (r < 0.7) {
        const running = [...book.running.keys()];
        if (!running.length) continue;
        const i = running[Math.floor(rand() * running.length)];
        const state = (['done', 'failed', 'cancelled'] as const)[Math.floor(rand() * 3)];
        const stale = rand() < 0.2;
        const applied = book.applyOutcome({ index: i, trialId: '', run: model[i].runs - (stale ? 1 : 0), state }, op);
        assert.equal(applied, !stale);
        if (!stale) model[i].state = state;
      } else if (r < 0.8) {
        const requeued = book.requeueForRerun(rand() < 0.5 ? {} : { indices: [Math.floor(rand() * total)] });
        for (const i of requeued) model[i].state = 'pending';
        if (requeued.length) cancelling = false;
      } else if (r < 0.85) {
        book.cancelPending();
        cancelling = true;
        for (const m of model) if (m.state === 'pending') m.state = 'cancelled';
      } else {
        book = roundTrip(book);
      }
      model.forEach((m, i) =>
        assert.deepEqual([book.state(i), book.runsOf(i)], [m.state, m.runs], `round ${round} op ${op} trial ${i}`),
      );
    }
  }
});

function bigSpec() {
  const values = Array.from({ length: 100 }, (_, i) => 0.0001 * (i + 1));
  return parseSpec(
    ['name: big', 'study: t', 'trial: {steps: 1}', `grid: {learning_rate: [${values.join(', ')}]}`, 'seeds: 1000'].join(
      '\n',
    ),
    'big.yaml',
  );
}

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

test('axis counts agree with counting each trial by its own labels', () => {
  const three = parseSpec(
    [
      'name: a',
      'study: t',
      'trial: {steps: 1}',
      'grid: {critic: [bilinear, separable], learning_rate: [0.001, 0.002, 0.003]}',
      'seeds: 3',
    ].join('\n'),
    'a.yaml',
  );
  const src = trialSource(three, { dataPath: DATA_PATH_VERSION, sweepId: 'a-1' });
  const book = SweepBook.create(src.count, 5);
  let now = 0;
  for (let round = 0; round < 4; round++) {
    for (const i of book.nextToStart()) book.markStarted(i, now++);
    for (const [i, { run }] of [...book.running].filter((_, k) => k % 2 === 0))
      book.applyOutcome({ index: i, trialId: '', run, state: i % 3 ? 'done' : 'failed' }, now++);
  }
  const naive: Record<string, Record<string, Record<string, number>>> = {};
  for (let i = 0; i < src.count; i++) {
    for (const [axis, label] of src.axisLabels(i)) {
      const c = ((naive[axis] ??= {})[label] ??= {
        pending: 0,
        running: 0,
        done: 0,
        failed: 0,
        cancelled: 0,
        pruned: 0,
      });
      c[book.state(i)]++;
    }
  }
  assert.deepEqual(buildProgress(book, src, meta, { limit: 0 }).axes, naive);
});
