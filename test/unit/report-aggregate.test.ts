// mirl report's aggregation on fixed trials: mean and sample sd over seeds per step,
// steps aligned by value with n where seeds differ, failed and missing trials listed
// but never averaged, the adversarial round axis, and the figure catalogue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregateCurves, configLabel, curveOf, MISSING, type ReportTrial } from '../../report/aggregate.js';
import { CATALOGUE, figuresFor, roundOf, trueMiOf } from '../../report/catalogue.js';
import { buildReport, computeOf, reportMetrics, timeBreakdown, type SweepData } from '../../report/build.js';
import { formatDuration } from '../../report/html.js';
import { bandRows, curveRows } from '../../report/vega-specs.js';
import { gaussianTrueMi } from '../../ml/data/pairs.js';

let next = 0;
function trial(
  critic: string,
  seed: number,
  status: ReportTrial['status'],
  histories: Record<string, [number, number][]>,
  extra: Partial<ReportTrial> = {},
): ReportTrial {
  const index = next++;
  const h = Object.fromEntries(
    Object.entries(histories).map(([k, pts]) => [k, pts.map(([step, value]) => ({ step, value }))]),
  );
  const metrics = Object.fromEntries(
    Object.entries(h).flatMap(([k, pts]) => (pts.length ? [[k, pts[pts.length - 1].value]] : [])),
  );
  return {
    trialId: `trial-${index}`,
    index,
    axes: [
      ['critic', critic],
      ['seed', seed],
    ],
    status,
    metrics,
    params: { critic, seed: String(seed) },
    histories: h,
    startTime: 1000 + index,
    runId: `run-${index}`,
    ...extra,
  };
}

const close = (a: number | null, b: number) => assert.ok(a !== null && Math.abs(a - b) < 1e-12, `${a} != ${b}`);

test('curveOf: mean and sample sd over seeds at each step; a step some seeds lack uses the others and says n', () => {
  next = 0;
  const a = trial('bilinear', 0, 'FINISHED', {
    acc: [
      [0, 0.1],
      [100, 0.5],
      [200, 0.7],
    ],
  });
  const b = trial('bilinear', 1, 'FINISHED', {
    acc: [
      [0, 0.3],
      [100, 0.7],
    ],
  });
  const c = trial('bilinear', 2, 'FINISHED', {
    acc: [
      [0, 0.2],
      [150, 0.9],
      [200, 0.8],
    ],
  });
  const curve = curveOf([a, b, c], 'acc');
  assert.deepEqual(
    curve.map((p) => [p.x, p.n]),
    [
      [0, 3],
      [100, 2],
      [150, 1],
      [200, 2],
    ],
  );
  close(curve[0].mean, 0.2);
  close(curve[0].sd, 0.1);
  close(curve[1].mean, 0.6);
  close(curve[1].sd, Math.sqrt(0.02));
  assert.equal(curve[2].mean, 0.9);
  assert.equal(curve[2].sd, null);
  close(curve[3].mean, 0.75);
});

test('curveOf: a step logged twice counts once (last value), non-finite values are dropped', () => {
  next = 0;
  const a = trial('inner', 0, 'FINISHED', {
    i: [
      [10, 1],
      [10, 2],
      [20, NaN],
    ],
  });
  const b = trial('inner', 1, 'FINISHED', {
    i: [
      [10, 4],
      [20, 3],
    ],
  });
  const curve = curveOf([a, b], 'i');
  assert.deepEqual(
    curve.map((p) => [p.x, p.mean, p.n]),
    [
      [10, 3, 2],
      [20, 3, 1],
    ],
  );
});

test('aggregateCurves: one configuration per axis values without the seed; failed, running and missing trials listed, not averaged', () => {
  next = 0;
  const trials = [
    trial('bilinear', 0, 'FINISHED', {
      acc: [
        [0, 0.5],
        [10, 0.8],
      ],
    }),
    trial('bilinear', 1, 'FINISHED', {
      acc: [
        [0, 0.7],
        [10, 0.9],
      ],
    }),
    trial('bilinear', 2, 'FAILED', {
      acc: [
        [0, 0.0],
        [10, 0.0],
      ],
    }),
    trial('separable', 0, 'FINISHED', { acc: [[0, 0.6]] }),
    trial('separable', 1, 'RUNNING', { acc: [[0, 0.1]] }),
    trial('separable', 2, MISSING, {}, { runId: undefined }),
    trial('concat', 0, MISSING, {}, { runId: undefined }),
  ];
  const set = aggregateCurves(trials, ['acc', 'absent']);
  assert.deepEqual(set.axes, ['critic']);
  assert.deepEqual(
    set.configs.map((c) => [c.label, c.trials, c.finished]),
    [
      ['bilinear', 3, 2],
      ['separable', 3, 1],
      ['concat', 1, 0],
    ],
  );
  const [bil, sep, con] = set.configs;
  assert.deepEqual(
    bil.curves.acc.map((p) => [p.x, p.n]),
    [
      [0, 2],
      [10, 2],
    ],
  );
  close(bil.curves.acc[0].mean, 0.6);
  close(bil.curves.acc[1].sd, Math.sqrt(0.005));
  assert.deepEqual(bil.excluded, [{ trialId: 'trial-2', index: 2, seed: 2, status: 'FAILED' }]);
  assert.deepEqual(sep.curves.acc, [{ x: 0, mean: 0.6, sd: null, n: 1 }]);
  assert.deepEqual(
    sep.excluded.map((e) => [e.seed, e.status]),
    [
      [1, 'RUNNING'],
      [2, MISSING],
    ],
  );
  assert.deepEqual(con.curves, { acc: [], absent: [] });
  assert.deepEqual(bil.curves.absent, []);
});

test('aggregateCurves: a superseded run and an older run of the same trial do not count twice', () => {
  next = 0;
  const old = trial('bilinear', 0, 'FINISHED', { acc: [[0, 0.0]] }, { superseded: true });
  const fresh = trial('bilinear', 0, 'FINISHED', { acc: [[0, 1.0]] }, { trialId: 'trial-0', index: 0 });
  const set = aggregateCurves([old, fresh], ['acc']);
  assert.deepEqual(set.configs[0].curves.acc, [{ x: 0, mean: 1, sd: null, n: 1 }]);
});

test('the adversarial figure puts rounds on x: the step minus the warm-up steps', () => {
  next = 0;
  const params = { adv_warmup_steps: '200' };
  const a = trial(
    'x',
    0,
    'FINISHED',
    {
      linear_eval_accuracy: [
        [200, 0.9],
        [250, 0.6],
        [300, 0.4],
      ],
    },
    { params },
  );
  const b = trial(
    'x',
    1,
    'FINISHED',
    {
      linear_eval_accuracy: [
        [200, 0.8],
        [250, 0.5],
        [300, 0.2],
      ],
    },
    { params },
  );
  const set = aggregateCurves([a, b], ['linear_eval_accuracy'], { x: roundOf });
  assert.deepEqual(
    set.configs[0].curves.linear_eval_accuracy.map((p) => p.x),
    [0, 50, 100],
  );
  close(set.configs[0].curves.linear_eval_accuracy[2].mean, 0.3);
  const [accuracy] = CATALOGUE.adversarial;
  assert.equal(accuracy.x, 'round');
});

test('configLabel: enum values bare, other values named', () => {
  assert.equal(configLabel({ encoder: 'mlp', estimator: 'nce', target: 2 }), 'mlp, nce, target=2');
  assert.equal(configLabel({}), 'all trials');
});

test('catalogue: each of the six studies has figures; unknown studies get one per logged metric, evaluations first', () => {
  for (const study of [
    'invertible',
    'adversarial',
    'hard-to-invert',
    'critic-capacity',
    'encoder-architecture',
    'noniid',
  ]) {
    assert.ok(figuresFor(study, []).length > 0, study);
  }
  assert.deepEqual(
    figuresFor('smoke', ['loss', 'zeta', 'i_est_train', 'linear_eval_accuracy', 'i_est_test']).map((f) => f.name),
    ['linear_eval_accuracy', 'i_est_test', 'i_est_train', 'loss', 'zeta'],
  );
  // A trainer's system/ metrics are no figure; a name with a slash still makes one file.
  assert.deepEqual(
    figuresFor('smoke', ['system/process_cpu_percent', 'loss', 'system/steps_per_second', 'custom/score']).map((f) => [
      f.name,
      f.kind === 'curves' && f.metric,
    ]),
    [
      ['loss', 'loss'],
      ['custom_score', 'custom/score'],
    ],
  );
  assert.deepEqual(
    reportMetrics('hard-to-invert', [])
      .filter((m) => m.startsWith('log_condition'))
      .sort(),
    [0, 100, 20, 40, 60, 80].map((p) => `log_condition_number_p${p}`),
  );
});

test('true MI: the Gaussian study has it in closed form (rho = 0.4 / 2 in the summed covariance), MNIST has none', () => {
  next = 0;
  const g = trial('concat', 0, 'FINISHED', {}, { params: { data: 'gaussian' } });
  const m = trial('concat', 0, 'FINISHED', {}, { params: { data: 'mnist' } });
  assert.equal(trueMiOf([g]), gaussianTrueMi());
  close(gaussianTrueMi(), -0.5 * Math.log(1 - (0.4 / 2) ** 2));
  assert.equal(trueMiOf([m]), null);
});

test('chart rows: mean ± sd band per configuration; condition bands join each percentile pair on x', () => {
  next = 0;
  const pcts = (base: number) =>
    Object.fromEntries(
      [0, 20, 40, 60, 80, 100].map((p) => [
        `log_condition_number_p${p}`,
        [
          [0, base + p / 10],
          [5, base + 1 + p / 10],
        ] as [number, number][],
      ]),
    );
  const trials = [
    trial('nce', 0, 'FINISHED', {
      ...pcts(1),
      acc: [
        [0, 1],
        [5, 3],
      ],
    }),
    trial('nce', 1, 'FINISHED', { ...pcts(3), acc: [[0, 3]] }),
  ];
  const set = aggregateCurves(trials, ['acc', ...reportMetrics('hard-to-invert', [])]);
  const rows = curveRows(set.configs, 'acc');
  assert.deepEqual(
    rows.map((r) => [r.x, r.n]),
    [
      [0, 2],
      [5, 1],
    ],
  );
  close(rows[0].lo, 2 - Math.SQRT2);
  close(rows[0].hi, 2 + Math.SQRT2);
  assert.deepEqual([rows[1].lo, rows[1].hi], [3, 3]);
  const [bands] = CATALOGUE['hard-to-invert'];
  assert.equal(bands.kind, 'bands');
  if (bands.kind !== 'bands') return;
  const b = bandRows(set.configs, bands);
  assert.equal(b.length, 6);
  const outer = b.find((r) => r.x === 0 && r.band === 'p0 to p100 (min to max)')!;
  assert.deepEqual([outer.lo, outer.hi, outer.n], [2, 12, 2]);
  const inner = b.find((r) => r.x === 5 && r.band === 'p40 to p60')!;
  assert.deepEqual([inner.lo, inner.hi], [7, 9]);
});

test('buildReport: figures with data, skipped figures named, trial states counted, final values as mirl compare gives them', () => {
  next = 0;
  const trials = [
    trial(
      'bilinear',
      0,
      'FINISHED',
      {
        linear_eval_accuracy: [
          [0, 0.5],
          [10, 0.8],
        ],
      },
      { startTime: 1_000, endTime: 601_000 },
    ),
    trial('bilinear', 1, 'FAILED', { linear_eval_accuracy: [[0, 0.5]] }, { startTime: 0, endTime: 30_500 }),
    trial('bilinear', 2, MISSING, {}, { runId: undefined }),
  ];
  const data: SweepData = {
    sweepId: 'critic-capacity-20260101-000000-abcd',
    experiment: { id: '1', name: 'critic-capacity' },
    study: 'critic-capacity',
    profile: 'quick',
    parentRun: null,
    status: 'FINISHED',
    trials,
    expected: 3,
    notes: [],
  };
  const { report, specs } = buildReport(data, new Date(0));
  assert.deepEqual(
    report.figures.map((f) => f.name),
    ['linear_eval_accuracy'],
  );
  assert.deepEqual(
    specs.map((s) => s.name),
    ['linear_eval_accuracy'],
  );
  assert.deepEqual(report.skipped, [{ name: 'i_est_test', reason: 'no finished trial logged i_est_test' }]);
  assert.deepEqual(report.trialStates, { FINISHED: 1, FAILED: 1, [MISSING]: 1 });
  assert.deepEqual(report.final.metrics, ['linear_eval_accuracy']);
  assert.deepEqual(report.final.rows[0].metrics.linear_eval_accuracy, { mean: 0.8, sd: null, n: 1 });
  assert.equal(report.generatedAt, '1970-01-01T00:00:00.000Z');
  // The failed run cost time too; the missing trial has no run.
  assert.deepEqual(report.compute, { runs: 2, trialSeconds: 631, longestSeconds: 600, breakdown: null });
});

test('computeOf counts closed runs only, and formatDuration picks a readable unit', () => {
  assert.deepEqual(computeOf([{ startTime: 0 }, { startTime: 0, endTime: 90_000 }, {}]), {
    runs: 1,
    trialSeconds: 90,
    longestSeconds: 90,
    breakdown: null,
  });
  assert.deepEqual(
    [95, 750, 11_520].map((s) => formatDuration(s)),
    ['95 s', '12.5 min', '3.2 h'],
  );
});

test("the report's compute breakdown sums each finished trial's timing histories per part", () => {
  const point = (step: number, value: number) => ({ step, value });
  const timings = (train: number, evalS: number) => ({
    'system/time_train_seconds': [point(0, 0), point(1000, train), point(2000, train)],
    'system/time_eval_seconds': [point(0, evalS), point(1000, evalS), point(2000, evalS)],
    'system/time_linear_eval_seconds': [point(0, evalS / 2), point(1000, evalS / 2), point(2000, evalS / 2)],
    linear_eval_accuracy: [point(2000, 0.9)],
  });
  const breakdown = timeBreakdown([
    { status: 'FINISHED', histories: timings(4, 2) },
    { status: 'FINISHED', histories: timings(6, 3) },
    // A failed run's partial timings and a trial that logged none are left out.
    { status: 'FAILED', histories: timings(100, 100) },
    { status: 'FINISHED', histories: {} },
  ]);
  assert.deepEqual(breakdown, {
    trials: 2,
    seconds: { train: 20, eval: 15, linear_eval: 7.5 },
    evalShare: 0.429,
  });
  assert.equal(timeBreakdown([{ status: 'FINISHED', histories: { linear_eval_accuracy: [point(1, 1)] } }]), null);
  assert.ok(
    reportMetrics('smoke', ['system/time_train_seconds', 'system/process_cpu_percent']).includes(
      'system/time_train_seconds',
    ),
  );
  assert.ok(!reportMetrics('smoke', ['system/process_cpu_percent']).includes('system/process_cpu_percent'));
});
