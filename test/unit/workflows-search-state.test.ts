// A TPE search driven through the sweep workflow's own state code (openSearch,
// ensurePoint, applyTrialOutcome, sweepCarry: what sweep.ts calls, minus the Temporal
// calls), as a deterministic schedule of starts and outcomes. Recording a Temporal
// history of it needs a Temporal server (the integration test records
// sweep-search-tpe-last-run.json with MIRL_RECORD_HISTORIES=1); these tests show the
// property a replay relies on instead: the same inputs give the same trials, whether the
// sweep runs in one go, continues as new every few starts, or restarts from its carry.
import { test } from 'node:test';
import { DATA_PATH_VERSION } from '../../ml/data-path.js';
import assert from 'node:assert/strict';
import { probeObjective } from '../../activities/run-trial.js';
import { parseSpec, trialSource, type Spec, type TrialSource } from '../../sweep-spec/index.js';
import { MAX_TPE_BUDGET } from '../../sweep-spec/schema.js';
import { buildProgress } from '../../workflows/progress.js';
import { applyTrialOutcome, objectiveValue, openSearch, type SearchBook } from '../../workflows/search-state.js';
import { sweepCarry } from '../../workflows/sweep-carry.js';
import { SweepBook } from '../../workflows/sweep-state.js';
import type { RunTrialActivityResult, SweepCarry, TrialOutcome } from '../../workflows/types.js';

const SWEEP_ID = 'tpe-1';

function tpeSpec(lines: string[] = []): Spec {
  return parseSpec(
    [
      'name: tpe',
      'study: t',
      'search:',
      '  method: tpe',
      '  budget: 24',
      '  startup: 5',
      '  objective: {metric: i_est_test, mode: max}',
      '  params:',
      '    noise: {distribution: uniform, low: 0, high: 1}',
      '    batch_size: {distribution: int_uniform, low: 16, high: 64}',
      'grid: {critic: [bilinear, concat]}',
      'max_concurrent_trials: 6',
      ...lines,
    ].join('\n'),
    'inline.yaml',
  );
}

/** The stand-in trainer: i_est_test peaks at noise 0.3, batch size 40. */
function result(config: { noise: number; batch_size: number }): RunTrialActivityResult {
  const value = 1 - (config.noise - 0.3) ** 2 - ((config.batch_size - 40) / 48) ** 2;
  return {
    status: 'finished',
    step: 1,
    backend: 'fake',
    resumedFrom: null,
    train: { loss: 0 },
    eval: { i_est_test: value },
    seconds: 0,
    msPerStep: 0,
    attempt: 1,
    worker: 'w',
    activityStartedAt: 0,
    trainerStartedAt: 0,
    finishedAt: 0,
  };
}

interface Run {
  source: TrialSource;
  book: SweepBook;
  search: SearchBook | null;
}

/** What openRun in sweep.ts does with a spec and a carry. */
function openRun(spec: Spec, carry?: SweepCarry): Run {
  const source = trialSource(spec, { dataPath: DATA_PATH_VERSION, sweepId: SWEEP_ID });
  const book = carry ? SweepBook.fromCarry(carry) : SweepBook.create(source.count, source.plan.maxConcurrentTrials);
  return { source, book, search: openSearch(source, book, carry?.search) };
}

/**
 * Runs the sweep to the end: fill the window (startTrial: ensurePoint, markStarted, the
 * child's config), then finish the oldest running trial, reporting it twice (signal and
 * child result) as the workflow sees it. Every `continueEvery` starts the state goes
 * through JSON and a fresh run, as at a continue-as-new.
 */
function runSweep(spec: Spec, continueEvery = Infinity): { configs: string[]; ids: string[]; carry: SweepCarry } {
  let run = openRun(spec);
  const configs: string[] = [];
  const ids: string[] = [];
  let startedThisRun = 0;
  for (let t = 0; !run.book.isSettled(); t++) {
    for (const index of run.book.nextToStart()) {
      run.search?.ensurePoint(index);
      const trialRun = run.book.markStarted(index, t);
      const trial = run.source.at(index);
      configs[index] = JSON.stringify(trial.config);
      ids[index] = trial.trialId;
      startedThisRun++;
      assert.equal(trialRun, 1);
    }
    const [oldest] = [...run.book.running.keys()].sort((a, b) => a - b);
    const trial = run.source.at(oldest);
    const outcome: TrialOutcome = {
      index: oldest,
      trialId: trial.trialId,
      run: 1,
      state: 'done',
      result: result(trial.config),
    };
    assert.equal(applyTrialOutcome(run.book, run.search, outcome, t), true);
    assert.equal(applyTrialOutcome(run.book, run.search, outcome, t), false, 'the second report is ignored');
    if (startedThisRun >= continueEvery) {
      run = openRun(spec, JSON.parse(JSON.stringify(sweepCarry(run))) as SweepCarry);
      startedThisRun = 0;
    }
  }
  return { configs, ids, carry: sweepCarry(run) };
}

test('the same sweep twice suggests the same points and trial ids', () => {
  const a = runSweep(tpeSpec());
  const b = runSweep(tpeSpec());
  assert.equal(a.configs.length, 48);
  assert.deepEqual(b.configs, a.configs);
  assert.deepEqual(b.ids, a.ids);
});

test('continue-as-new after every 1, 3 or 7 starts changes no suggestion: the carry rebuilds the search', () => {
  const straight = runSweep(tpeSpec());
  for (const every of [1, 3, 7]) {
    const continued = runSweep(tpeSpec(), every);
    assert.deepEqual(continued.ids, straight.ids, `continue-as-new every ${every} starts`);
    assert.deepEqual(continued.carry.search, straight.carry.search);
  }
});

test('every point is distinct, including those suggested while others were still running', () => {
  const { configs, carry } = runSweep(tpeSpec());
  const points = configs.map((c) => {
    const { noise, batch_size } = JSON.parse(c) as { noise: number; batch_size: number };
    return `${noise}/${batch_size}`;
  });
  // Two trials per point (the critic axis), so 24 points in 48 trials.
  assert.equal(new Set(points).size, 24);
  for (let p = 0; p < 24; p++) assert.equal(points[2 * p], points[2 * p + 1]);
  assert.equal(Object.keys(carry.search!.points).length, 24 - 5, 'only model-suggested points are carried');
  assert.deepEqual(
    Object.values(carry.search!.objectives).map(([, n]) => n),
    new Array(24).fill(2),
    'each point observed once per trial',
  );
});

test('the search moves towards the optimum: the last points beat the quasi-random start', () => {
  const { configs } = runSweep(tpeSpec());
  const values = configs.map((c) => result(JSON.parse(c)).eval.i_est_test);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(
    mean(values.slice(-16)) > mean(values.slice(0, 10)),
    `start ${mean(values.slice(0, 10))}, end ${mean(values.slice(-16))}`,
  );
});

test('a sweep restarted from its final carry shows every trial with its point; one without search carries nothing new', () => {
  const spec = tpeSpec();
  const { carry, ids } = runSweep(spec);
  const reopened = openRun(spec, JSON.parse(JSON.stringify(carry)) as SweepCarry);
  const meta = {
    sweepId: SWEEP_ID,
    name: 'tpe',
    study: 't',
    profile: null,
    taskQueue: 'mirl-cpu',
    heartbeatTimeoutMs: 60_000,
  };
  const progress = buildProgress(
    reopened.book,
    trialSource(spec, { dataPath: DATA_PATH_VERSION, sweepId: SWEEP_ID, points: carry.search!.points }),
    meta,
  );
  assert.deepEqual(
    progress.trials.map((t) => t.trialId),
    ids,
  );
  assert.deepEqual(Object.keys(progress.axes), ['critic', 'seed'], 'sampled values are not counted as axes');

  const plain = parseSpec('name: p\nstudy: t\ngrid: {critic: [bilinear, concat]}\n', 'inline.yaml');
  const run = openRun(plain);
  assert.equal(run.search, null);
  assert.equal('search' in sweepCarry(run), false);
});

test('a failed trial adds no observation and its point counts as pending, the worst', () => {
  const run = openRun(tpeSpec());
  const [first] = run.book.nextToStart();
  run.search!.ensurePoint(first);
  run.book.markStarted(first, 0);
  const failed: TrialOutcome = { index: first, trialId: 'x', run: 1, state: 'failed', error: 'NonFiniteError: loss' };
  assert.equal(applyTrialOutcome(run.book, run.search, failed, 1), true);
  assert.deepEqual(run.search!.observations(), []);
  assert.equal(objectiveValue(failed, { metric: 'i_est_test', mode: 'max', step: 'last' }), undefined);
});

test('the objective is read at the end, or at a step when the trial probed it', () => {
  const done = (extra: Partial<RunTrialActivityResult>): TrialOutcome => ({
    index: 0,
    trialId: 'x',
    run: 1,
    state: 'done',
    result: { ...result({ noise: 0.3, batch_size: 40 }), ...extra },
  });
  assert.equal(objectiveValue(done({}), { metric: 'i_est_test', mode: 'max', step: 'last' }), 1);
  assert.equal(objectiveValue(done({}), { metric: 'loss', mode: 'min', step: 'last' }), 0);
  assert.equal(
    objectiveValue(done({ objective: { step: 500, value: 0.25 } }), { metric: 'i_est_test', mode: 'max', step: 500 }),
    0.25,
  );
  assert.equal(
    objectiveValue(done({}), { metric: 'i_est_test', mode: 'max', step: 500 }),
    undefined,
    'never reached the step',
  );
  assert.equal(
    objectiveValue(done({ eval: { i_est_test: Number.NaN } }), { metric: 'i_est_test', mode: 'max', step: 'last' }),
    undefined,
  );
});

test('a trial probes its objective at the first report at or after the step, once, and keeps it across a retry', () => {
  const probe = { metric: 'linear_eval_accuracy', step: 300 };
  const beat = { step: 0, checkpointStep: null, checkpointRef: null };
  assert.deepEqual(probeObjective(probe, beat, { step: 200, metrics: { linear_eval_accuracy: 0.9 } }), {}, 'too early');
  assert.deepEqual(probeObjective(probe, beat, { step: 310, metrics: { loss: 1 } }), {}, 'a report without the metric');
  const reached = probeObjective(probe, beat, { step: 400, metrics: { linear_eval_accuracy: 0.7 } });
  assert.deepEqual(reached, { objective: { step: 400, value: 0.7 } });
  assert.deepEqual(
    probeObjective(probe, { ...beat, ...reached }, { step: 500, metrics: { linear_eval_accuracy: 0.5 } }),
    {},
    'the first one stays',
  );
  assert.deepEqual(
    probeObjective(undefined, beat, { step: 400, metrics: { linear_eval_accuracy: 0.7 } }),
    {},
    'not asked for',
  );
});

test('the carry of the largest TPE search stays small', () => {
  const spec = parseSpec(
    [
      'name: big',
      'study: t',
      'search:',
      '  method: tpe',
      `  budget: ${MAX_TPE_BUDGET}`,
      '  objective: {metric: loss, mode: min}',
      '  params:',
      ...['noise', 'learning_rate', 'linear_eval_c', 'adv_encoder_lr', 'adv_classifier_lr'].map(
        (k) => `    ${k}: {distribution: uniform, low: 0.001, high: 1}`,
      ),
    ].join('\n'),
    'inline.yaml',
  );
  const run = openRun(spec);
  // All started before any result (the cheap quasi-random path), then all observed.
  for (let i = 0; i < MAX_TPE_BUDGET; i++) {
    run.search!.ensurePoint(i);
    run.book.markStarted(i, 0);
  }
  for (let i = 0; i < MAX_TPE_BUDGET; i++) {
    const outcome: TrialOutcome = {
      index: i,
      trialId: 'x',
      run: 1,
      state: 'done',
      result: { ...result({ noise: 0, batch_size: 40 }), train: { loss: 0.123456789 * i } },
    };
    applyTrialOutcome(run.book, run.search, outcome, 0);
  }
  const carried = sweepCarry(run).search!;
  assert.equal(Object.keys(carried.points).length, MAX_TPE_BUDGET - 10);
  assert.equal(Object.keys(carried.objectives).length, MAX_TPE_BUDGET);
  const bytes = JSON.stringify(sweepCarry(run).search).length;
  assert.ok(bytes < 200_000, `${bytes} bytes`);
});

test('progress answers while TPE points are still unsuggested (`sweep status` on a running search)', () => {
  const run = openRun(tpeSpec());
  for (const index of run.book.nextToStart()) {
    run.search?.ensurePoint(index);
    run.book.markStarted(index, 0);
  }
  const meta = {
    sweepId: SWEEP_ID,
    name: 'tpe',
    study: 't',
    profile: null,
    taskQueue: 'mirl-cpu',
    heartbeatTimeoutMs: 60_000,
  };
  const progress = buildProgress(run.book, run.source, meta, {});
  assert.deepEqual([progress.counts.running, progress.counts.pending], [6, 42]);
  assert.equal(progress.axes.critic.bilinear.running + progress.axes.critic.concat.running, 6);
});
