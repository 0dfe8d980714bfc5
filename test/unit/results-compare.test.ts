// mirl compare's aggregation and output on fixed trial runs: mean and sample sd over
// seeds, missing metrics, failed and superseded trials, ordering, CSV quoting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate, summarise, sweepSummaryMetrics, type TrialRun, type TrialStatus } from '../../results/aggregate.js';
import { renderCsv, renderTable, formatSummary } from '../../results/render.js';
import { requireSweepName, toTrialRun } from '../../results/sweep-runs.js';
import type { Run } from '../../tracking/index.js';

let next = 0;
function run(
  critic: string,
  seed: number,
  status: TrialStatus,
  metrics: Record<string, number>,
  extra: Partial<TrialRun> = {},
): TrialRun {
  const index = next++;
  return {
    trialId: `trial-${index}`,
    index,
    axes: [
      ['encoder', 'mlp'],
      ['critic', critic],
      ['seed', seed],
    ],
    status,
    metrics,
    startTime: 1000 + index,
    ...extra,
  };
}

test('summarise: mean, sample sd (n - 1), se = sd/sqrt(n), n; sd and se need two values; non-finite values are dropped', () => {
  assert.deepEqual(summarise([]), { mean: null, sd: null, n: 0 });
  assert.deepEqual(summarise([0.5]), { mean: 0.5, sd: null, n: 1 });
  const s = summarise([1, 2, 3, 4]);
  assert.equal(s.mean, 2.5);
  assert.ok(Math.abs(s.sd! - Math.sqrt(5 / 3)) < 1e-12);
  assert.ok(Math.abs(s.se! - Math.sqrt(5 / 3) / 2) < 1e-12);
  assert.equal(s.n, 4);
  assert.deepEqual(summarise([2, NaN, Infinity, 4]), { mean: 3, sd: Math.SQRT2, se: 1, n: 2 });
});

test('one row per configuration, seeds pooled, failed trials counted but never averaged, missing metrics lower n', () => {
  next = 0;
  const runs = [
    run('bilinear', 0, 'FINISHED', { linear_eval_accuracy: 0.8, i_est_test: 2.0 }),
    run('bilinear', 1, 'FINISHED', { linear_eval_accuracy: 0.9, i_est_test: 2.2 }),
    run('bilinear', 2, 'FAILED', { linear_eval_accuracy: 0.1, i_est_test: 9 }),
    run('separable', 0, 'FINISHED', { i_est_test: 3.0 }),
    run('separable', 1, 'KILLED', {}),
    run('separable', 2, 'RUNNING', { i_est_test: 1 }),
  ];
  const c = aggregate(runs);
  assert.deepEqual(c.axes, ['encoder', 'critic']);
  assert.deepEqual(c.metrics, ['linear_eval_accuracy', 'i_est_test']);
  assert.equal(c.rows.length, 2);
  const [b, s] = c.rows;
  assert.deepEqual(b.config, { encoder: 'mlp', critic: 'bilinear' });
  assert.deepEqual([b.trials, b.done, b.failed, b.cancelled, b.running], [3, 2, 1, 0, 0]);
  assert.ok(Math.abs(b.metrics.linear_eval_accuracy.mean! - 0.85) < 1e-12);
  assert.ok(Math.abs(b.metrics.linear_eval_accuracy.sd! - Math.sqrt(0.005)) < 1e-12);
  assert.equal(b.metrics.linear_eval_accuracy.n, 2);
  assert.deepEqual([s.trials, s.done, s.failed, s.cancelled, s.running], [3, 1, 0, 1, 1]);
  assert.deepEqual(s.metrics.linear_eval_accuracy, { mean: null, sd: null, n: 0 });
  assert.deepEqual(s.metrics.i_est_test, { mean: 3, sd: null, n: 1 });
});

test('rows follow the spec order (smallest trial index) or the first metric, best first, unknowns last', () => {
  next = 0;
  const runs = [
    run('inner', 0, 'FINISHED', { linear_eval_accuracy: 0.7 }),
    run('bilinear', 0, 'FINISHED', { linear_eval_accuracy: 0.9 }),
    run('concat', 0, 'FAILED', {}),
    run('separable', 0, 'FINISHED', { linear_eval_accuracy: 0.8 }),
  ];
  const shuffled = [runs[2], runs[3], runs[0], runs[1]];
  assert.deepEqual(
    aggregate(shuffled).rows.map((r) => r.config.critic),
    ['inner', 'bilinear', 'concat', 'separable'],
  );
  assert.deepEqual(
    aggregate(shuffled, { sort: 'metric' }).rows.map((r) => r.config.critic),
    ['bilinear', 'separable', 'inner', 'concat'],
  );
  const byMi = aggregate(shuffled, { metrics: ['i_est_test'], sort: 'metric' });
  assert.deepEqual(byMi.metrics, ['i_est_test']);
  assert.deepEqual(
    byMi.rows.map((r) => r.config.critic),
    ['inner', 'bilinear', 'concat', 'separable'],
    'all unknown: spec order',
  );
});

test('a trial logged twice counts once (its latest run); superseded runs do not count', () => {
  next = 0;
  const first = run('bilinear', 0, 'FAILED', {}, { index: 0, trialId: 'trial-a', startTime: 1 });
  const again = run(
    'bilinear',
    0,
    'FINISHED',
    { linear_eval_accuracy: 0.5 },
    { index: 0, trialId: 'trial-a', startTime: 2 },
  );
  const old = run('bilinear', 1, 'FAILED', {}, { index: 1, trialId: 'trial-b', superseded: true });
  const rerun = run('bilinear', 1, 'FINISHED', { linear_eval_accuracy: 0.7 }, { index: 1, trialId: 'trial-c' });
  const [row] = aggregate([again, first, old, rerun]).rows;
  assert.deepEqual([row.trials, row.done, row.failed], [2, 2, 0]);
  assert.ok(Math.abs(row.metrics.linear_eval_accuracy.mean! - 0.6) < 1e-12);
});

test('axes that are lists or numbers group by value; a sweep without axes gives one row', () => {
  const mk = (i: number, axes: [string, unknown][]): TrialRun => ({
    trialId: `t${i}`,
    index: i,
    axes,
    status: 'FINISHED',
    metrics: { i_est_test: i },
  });
  const c = aggregate([
    mk(0, [
      ['hidden', [64, 64]],
      ['seed', 0],
    ]),
    mk(1, [
      ['hidden', [64, 64]],
      ['seed', 1],
    ]),
    mk(2, [
      ['hidden', [128]],
      ['seed', 0],
    ]),
  ]);
  assert.deepEqual(
    c.rows.map((r) => [r.config.hidden, r.trials]),
    [
      [[64, 64], 2],
      [[128], 1],
    ],
  );
  const single = aggregate([mk(0, [['seed', 0]]), mk(1, [['seed', 1]])]);
  assert.deepEqual(single.axes, []);
  assert.equal(single.rows.length, 1);
  assert.equal(single.rows[0].metrics.i_est_test.n, 2);
});

test('table and CSV: mean ± sd (se, n), dashes for nothing, CSV cells quoted when needed', () => {
  next = 0;
  const c = aggregate([
    run('bi,linear', 0, 'FINISHED', { linear_eval_accuracy: 0.8, i_est_test: 2 }),
    run('bi,linear', 1, 'FINISHED', { linear_eval_accuracy: 0.9, i_est_test: 2.5 }),
    run('sep', 0, 'FAILED', {}),
  ]);
  assert.equal(formatSummary({ mean: 0.85, sd: 0.0707, se: 0.05, n: 2 }), '0.850 ± 0.0707 (se 0.0500, n=2)');
  assert.equal(formatSummary({ mean: 1.5, sd: null, n: 1 }), '1.500 (n=1)');
  const table = renderTable(c).split('\n');
  assert.match(table[0], /^encoder\s+critic\s+done\s+failed\s+linear_eval_accuracy\s+i_est_test$/);
  assert.match(
    table[1],
    /^mlp\s+bi,linear\s+2\/2\s+0\s+0\.850 ± 0\.0707 \(se 0\.0500, n=2\)\s+2\.250 ± 0\.354 \(se 0\.250, n=2\)$/,
  );
  assert.match(table[2], /^mlp\s+sep\s+0\/1\s+1\s+-\s+-$/);
  const csv = renderCsv(c).trimEnd().split('\n');
  assert.equal(
    csv[0],
    'encoder,critic,trials,done,failed,cancelled,pruned,linear_eval_accuracy_mean,linear_eval_accuracy_sd,linear_eval_accuracy_se,linear_eval_accuracy_n,i_est_test_mean,i_est_test_sd,i_est_test_se,i_est_test_n',
  );
  assert.match(csv[1], /^mlp,"bi,linear",2,2,0,0,0,0\.85\d*,0\.0707\d*,0\.0[45]\d*,2,2\.25,0\.353\d*,0\.25\d*,2$/);
  assert.equal(csv[2], 'mlp,sep,1,0,1,0,0,,,,0,,,,0');
});

test('pruned trials: counted in their own column, left out of the means unless asked for', () => {
  next = 0;
  const runs = [
    run('bi', 0, 'FINISHED', { linear_eval_accuracy: 0.8 }),
    run('bi', 1, 'PRUNED', { linear_eval_accuracy: 0.2 }),
    run('bi', 2, 'KILLED', { linear_eval_accuracy: 0.1 }),
  ];
  const c = aggregate(runs);
  assert.deepEqual([c.rows[0].done, c.rows[0].pruned, c.rows[0].cancelled], [1, 1, 1]);
  assert.equal(c.rows[0].metrics.linear_eval_accuracy.mean, 0.8);
  const table = renderTable(c).split('\n');
  assert.match(table[0], /^encoder\s+critic\s+done\s+failed\s+pruned\s+linear_eval_accuracy/);
  assert.match(table[1], /^mlp\s+bi\s+1\/3\s+1\s+1\s+0\.800 \(n=1\)/);
  const included = aggregate(runs, { includePruned: true });
  assert.equal(included.rows[0].metrics.linear_eval_accuracy.n, 2);
  assert.ok(Math.abs(included.rows[0].metrics.linear_eval_accuracy.mean! - 0.5) < 1e-12);
  assert.equal(sweepSummaryMetrics(runs).trials_pruned, 1);
});

test('sweep ids name their experiment; MLflow runs become trial runs by the tracking contract', () => {
  assert.equal(requireSweepName('critic-capacity-20261129-031955-ab12'), 'critic-capacity');
  assert.equal(requireSweepName('smoke-20250101-000000-0'), 'smoke');
  assert.throws(() => requireSweepName('smoke'), /not a sweep id/);
  assert.throws(() => requireSweepName("x-20250101-000000-ab' or 1=1"), /not a sweep id/);
  const r: Run = {
    info: {
      runId: 'r1',
      experimentId: '1',
      runName: 'mlp|bilinear|seed=3',
      userId: '',
      status: 'FINISHED',
      startTime: 5,
      artifactUri: '',
      lifecycleStage: 'active',
    },
    data: {
      metrics: [{ key: 'i_est_test', value: 2.5, timestamp: 0, step: 20 }],
      params: {},
      tags: {
        'mirl.trial_id': 'trial-x',
        'mirl.index': '7',
        'mirl.axes': '{"encoder":"mlp","critic":"bilinear","seed":3}',
        'mirl.role': 'trial',
      },
    },
  };
  assert.deepEqual(toTrialRun(r), {
    trialId: 'trial-x',
    index: 7,
    axes: [
      ['encoder', 'mlp'],
      ['critic', 'bilinear'],
      ['seed', 3],
    ],
    status: 'FINISHED',
    metrics: { i_est_test: 2.5 },
    startTime: 5,
    superseded: false,
  });
  r.data.tags = { 'mirl.axes': 'not json', 'mirl.superseded_by': 'trial-y' };
  const bare = toTrialRun(r);
  assert.deepEqual([bare.trialId, bare.index, bare.axes, bare.superseded], ['r1', null, [], true]);
  // A KILLED run is cancelled, unless the sweep pruned it (the mirl.pruned tag).
  r.info.status = 'KILLED';
  assert.equal(toTrialRun(r).status, 'KILLED');
  r.data.tags['mirl.pruned'] = 'asha: ...';
  assert.equal(toTrialRun(r).status, 'PRUNED');
});

test('a snapshot is trusted only from a closed sweep run, for that sweep, and parsed whole', async () => {
  const { readTrialRunsSnapshot, trialRunsSnapshot } = await import('../../results/sweep-runs.js');
  const trialRun = (id: string): Run => ({
    info: { runId: id, status: 'FINISHED', startTime: 1 } as Run['info'],
    data: {
      metrics: [{ key: 'i_est_test', value: 2, step: 4, timestamp: 0 }],
      params: {},
      tags: { 'mirl.role': 'trial', 'mirl.trial_id': id, 'mirl.index': '0', 'mirl.axes': '{"seed":0}' },
    },
  });
  const sweepRun = { ...trialRun('p'), data: { metrics: [], params: {}, tags: { 'mirl.role': 'sweep' } } };
  const snap = trialRunsSnapshot('s-20261130-000000-ab', [trialRun('t1'), sweepRun]);
  assert.deepEqual(
    snap.trials.map((t) => [t.trialId, t.metrics.i_est_test]),
    [['t1', 2]],
    'the sweep run itself is not a trial',
  );
  let text = JSON.stringify(snap);
  const client = {
    listArtifacts: async () => [
      { path: 'summary.json', isDir: false },
      { path: 'trial-runs.json', isDir: false },
    ],
    downloadArtifact: async () => Buffer.from(text),
  } as unknown as Parameters<typeof readTrialRunsSnapshot>[0];
  const parent = (status: string) => ({ info: { runId: 'p', status } }) as Run;
  assert.deepEqual(await readTrialRunsSnapshot(client, parent('FINISHED'), 's-20261130-000000-ab'), snap);
  assert.equal(
    await readTrialRunsSnapshot(client, parent('RUNNING'), 's-20261130-000000-ab'),
    undefined,
    'trials still change',
  );
  assert.equal(await readTrialRunsSnapshot(client, parent('KILLED'), 'other-20261130-000000-ab'), undefined);
  text = text.slice(0, 20);
  assert.equal(
    await readTrialRunsSnapshot(client, parent('FINISHED'), 's-20261130-000000-ab'),
    undefined,
    'a truncated file means search',
  );
});

test('sweepSummaryMetrics: counts, and mean/min/max of each result over finished trials; system/ metrics and superseded runs left out', () => {
  const runs = [
    run('bilinear', 0, 'FINISHED', { linear_eval_accuracy: 0.8, loss: 2, 'system/process_rss_megabytes': 900 }),
    run('bilinear', 1, 'FINISHED', { linear_eval_accuracy: 0.9, loss: NaN }),
    run('separable', 0, 'FAILED', { linear_eval_accuracy: 0.1 }),
    run('separable', 1, 'KILLED', {}),
    run('separable', 2, 'FINISHED', { linear_eval_accuracy: 0.5 }, { superseded: true }),
  ];
  const m = sweepSummaryMetrics(runs);
  assert.deepEqual(Object.keys(m).sort(), [
    'linear_eval_accuracy_max',
    'linear_eval_accuracy_mean',
    'linear_eval_accuracy_min',
    'loss_max',
    'loss_mean',
    'loss_min',
    'trials_cancelled',
    'trials_done',
    'trials_failed',
    'trials_pruned',
  ]);
  assert.equal(m.trials_done, 2);
  assert.equal(m.trials_failed, 1);
  assert.equal(m.trials_cancelled, 1);
  assert.ok(Math.abs(m.linear_eval_accuracy_mean! - 0.85) < 1e-12);
  assert.equal(m.linear_eval_accuracy_min, 0.8);
  assert.equal(m.linear_eval_accuracy_max, 0.9);
  assert.deepEqual([m.loss_mean, m.loss_min, m.loss_max], [2, 2, 2], 'a non-finite value is no result');
});
