// The studies' claims tested on constructed trial runs: comparisons across configurations
// (Welch), changes within trials (paired), values against a known number, each verdict
// (shown / opposite / not decided / too few seeds), the study verdict per linear-evaluation
// protocol, and where they show: below `mirl compare`'s table and in report.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate, type TrialStatus } from '../../results/aggregate.js';
import { CLAIMS, claimFor, claimHistoryMetrics, PROTOCOL_METRICS } from '../../results/claims.js';
import { renderTable, renderVerdicts } from '../../results/render.js';
import { evaluateClaim, firstAndLast, studyVerdict, type EvidenceTrial } from '../../results/verdicts.js';
import { buildReport, reportMetrics, type SweepData } from '../../report/build.js';
import { figuresFor } from '../../report/catalogue.js';
import { renderHtml } from '../../report/html.js';
import { gaussianTrueMi } from '../../ml/data/pairs.js';

let next = 0;
function trial(
  axes: Record<string, string | number>,
  metrics: Record<string, number>,
  extra: Partial<EvidenceTrial> & { status?: TrialStatus } = {},
): EvidenceTrial {
  const index = next++;
  return {
    trialId: `trial-${index}`,
    index,
    axes: [...Object.entries(axes), ['seed', index]],
    status: 'FINISHED',
    metrics,
    startTime: 1000 + index,
    ...extra,
  };
}

const acc = (critic: string, estimator: string, values: number[], notebook?: number[], status?: TrialStatus) =>
  values.map((v, i) =>
    trial(
      { critic, estimator },
      {
        [PROTOCOL_METRICS.converged]: v,
        ...(notebook ? { [PROTOCOL_METRICS.notebook]: notebook[i] } : {}),
        i_est_test: 4,
      },
      status ? { status } : {},
    ),
  );

/** Under NCE bilinear clearly above concat, separable level with it; under NWJ bilinear clearly below, separable one seed. */
function criticCapacityTrials(): EvidenceTrial[] {
  next = 0;
  return [
    ...acc('bilinear', 'nce', [0.895, 0.894, 0.896], [0.87, 0.871, 0.869]),
    ...acc('bilinear', 'nwj', [0.86, 0.861, 0.859], [0.868, 0.87, 0.869]),
    ...acc('separable', 'nce', [0.888, 0.891, 0.885], [0.866, 0.865, 0.867]),
    ...acc('separable', 'nwj', [0.88], [0.866]),
    ...acc('separable', 'nwj', [0.2, 0.1], [0.2, 0.1], 'FAILED'),
    ...acc('concat', 'nce', [0.888, 0.887, 0.889], [0.855, 0.856, 0.854]),
    ...acc('concat', 'nwj', [0.884, 0.883, 0.885], [0.855, 0.854, 0.856]),
  ];
}

test('every study of the paper has a claim; tests name the specs axis values', () => {
  assert.deepEqual(Object.keys(CLAIMS).sort(), [
    'adversarial',
    'critic-capacity',
    'encoder-architecture',
    'hard-to-invert',
    'invertible',
    'noniid',
  ]);
  for (const c of Object.values(CLAIMS)) assert.ok(c.tests.length > 0, c.study);
  assert.equal(claimFor('smoke'), undefined);
  assert.equal(evaluateClaim('smoke', criticCapacityTrials()), null);
});

test('critic capacity: one Welch test per estimator and critic pair, each verdict, per protocol', () => {
  const v = evaluateClaim('critic-capacity', criticCapacityTrials())!;
  assert.deepEqual(
    v.protocols.map((p) => [p.protocol, p.metrics]),
    [
      ['converged', ['linear_eval_accuracy']],
      ['notebook', ['linear_eval_notebook_accuracy']],
    ],
  );
  const [converged, notebook] = v.protocols;
  const byPair = Object.fromEntries(converged.comparisons.map((c) => [`${c.expected} ${c.within.estimator}`, c]));
  assert.deepEqual(Object.keys(byPair).sort(), [
    'bilinear > concat nce',
    'bilinear > concat nwj',
    'separable > concat nce',
    'separable > concat nwj',
  ]);
  assert.equal(byPair['bilinear > concat nce'].verdict, 'shown');
  assert.equal(byPair['bilinear > concat nce'].exceedsSeedSpread, true);
  assert.equal(byPair['bilinear > concat nwj'].verdict, 'opposite');
  assert.equal(byPair['separable > concat nce'].verdict, 'not decided');
  assert.equal(byPair['separable > concat nce'].exceedsSeedSpread, false);
  // The failed trials never count: one finished seed is too few.
  assert.equal(byPair['separable > concat nwj'].verdict, 'too few seeds');
  assert.equal(byPair['separable > concat nwj'].a.n, 1);
  assert.equal(byPair['separable > concat nwj'].interval, null);
  const welch = byPair['bilinear > concat nce'];
  assert.deepEqual([welch.a.label, welch.b!.label, welch.a.n, welch.b!.n], ['bilinear', 'concat', 3, 3]);
  assert.ok(Math.abs(welch.interval!.diff - 0.007) < 1e-12);
  assert.equal(converged.verdict, 'mixed');
  assert.deepEqual(converged.counts, { shown: 1, opposite: 1, 'not decided': 1, 'too few seeds': 1 });
  assert.deepEqual(
    notebook.comparisons.map((c) => c.verdict),
    ['shown', 'shown', 'shown', 'too few seeds'],
  );
  assert.equal(notebook.verdict, 'partly shown');
});

test('the study verdict: all shown, partly, mixed, opposite, undecided, too few seeds', () => {
  assert.equal(studyVerdict(['shown', 'shown']), 'shown');
  assert.equal(studyVerdict(['shown', 'not decided', 'too few seeds']), 'partly shown');
  assert.equal(studyVerdict(['shown', 'opposite']), 'mixed');
  assert.equal(studyVerdict(['opposite', 'not decided']), 'opposite');
  assert.equal(studyVerdict(['not decided', 'too few seeds']), 'not decided');
  assert.equal(studyVerdict(['too few seeds', 'too few seeds']), 'too few seeds');
});

test('a claim on accuracy is tested only for the protocols the trials logged', () => {
  next = 0;
  const trials = [...acc('bilinear', 'nce', [0.9, 0.91]), ...acc('concat', 'nce', [0.8, 0.81])];
  const v = evaluateClaim('critic-capacity', trials)!;
  assert.deepEqual(
    v.protocols.map((p) => [p.protocol, p.verdict]),
    [['converged', 'shown']],
  );
  const none = evaluateClaim(
    'critic-capacity',
    trials.map((t) => ({ ...t, metrics: { i_est_test: 1 } })),
  )!;
  assert.deepEqual(none.protocols, []);
  assert.match(none.notes[0], /no finished trial logged linear_eval_accuracy or linear_eval_notebook_accuracy/);
  const unrelated = evaluateClaim('encoder-architecture', trials)!;
  assert.deepEqual(unrelated.protocols, []);
  assert.match(unrelated.notes.join('\n'), /none of the configurations the claim compares/);
});

const history = (values: [number, number][]) => values.map(([step, value]) => ({ step, value }));

function invertibleTrial(estimator: string, curve: [number, number][], notebook?: [number, number][]): EvidenceTrial {
  const histories = {
    linear_eval_accuracy: history(curve),
    ...(notebook ? { linear_eval_notebook_accuracy: history(notebook) } : {}),
  };
  const metrics = Object.fromEntries(Object.entries(histories).map(([k, h]) => [k, h[h.length - 1].value]));
  return trial({ estimator }, metrics, { histories });
}

test('changes within trials: paired first vs last evaluation per configuration (invertible, adversarial)', () => {
  next = 0;
  const trials = [
    invertibleTrial(
      'nce',
      [
        [0, 0.866],
        [1000, 0.88],
        [21000, 0.903],
      ],
      [
        [0, 0.85],
        [21000, 0.86],
      ],
    ),
    invertibleTrial(
      'nce',
      [
        [0, 0.861],
        [21000, 0.899],
      ],
      [
        [0, 0.85],
        [21000, 0.84],
      ],
    ),
    invertibleTrial(
      'nce',
      [
        [0, 0.87],
        [21000, 0.905],
      ],
      [
        [0, 0.85],
        [21000, 0.86],
      ],
    ),
    invertibleTrial('nwj', [
      [0, 0.866],
      [21000, 0.905],
    ]),
  ];
  const v = evaluateClaim('invertible', trials)!;
  const [converged, notebook] = v.protocols;
  assert.deepEqual(
    converged.comparisons.map((c) => [c.within.estimator, c.expected, c.verdict]),
    [
      ['nce', 'last > first evaluation', 'shown'],
      ['nwj', 'last > first evaluation', 'too few seeds'],
    ],
  );
  const nce = converged.comparisons[0];
  assert.equal(nce.a.label, 'last evaluation (step 21000)');
  assert.equal(nce.b!.label, 'first evaluation (step 0)');
  assert.ok(Math.abs(nce.interval!.diff - 0.11 / 3) < 1e-12);
  assert.equal(nce.interval!.df, 2);
  assert.equal(converged.verdict, 'partly shown');
  assert.equal(notebook.comparisons[0].verdict, 'not decided');
  // The adversarial claim runs the other way: a fall is shown, a rise is opposite.
  assert.equal(evaluateClaim('adversarial', trials)!.protocols[0].comparisons[0].verdict, 'opposite');
});

test('without histories a change over training is not tested, and a note says so', () => {
  next = 0;
  const trials = [
    trial({ estimator: 'nce' }, { log_condition_number_p40: 4.5, log_condition_number_p60: 4.7 }),
    trial({ estimator: 'nce' }, { log_condition_number_p40: 4.6, log_condition_number_p60: 4.8 }),
  ];
  const v = evaluateClaim('hard-to-invert', trials)!;
  assert.equal(v.protocols[0].protocol, null);
  assert.equal(v.protocols[0].verdict, 'too few seeds');
  assert.match(v.notes.join('\n'), /history of log_condition_number_p40 was not read/);
  assert.deepEqual(claimHistoryMetrics('hard-to-invert', new Set(Object.keys(trials[0].metrics))), [
    'log_condition_number_p40',
    'log_condition_number_p60',
  ]);
  assert.deepEqual(claimHistoryMetrics('critic-capacity', new Set(['linear_eval_accuracy'])), []);
});

test('firstAndLast: by step, a step logged twice keeps its last value, non-finite values dropped', () => {
  assert.deepEqual(
    firstAndLast(
      history([
        [5, 1],
        [0, 2],
        [5, 3],
        [9, NaN],
      ]),
    ),
    history([
      [0, 2],
      [5, 3],
    ]),
  );
  assert.equal(firstAndLast(history([[0, 1]])), null);
  assert.equal(firstAndLast(undefined), null);
});

test('noniid: dependent above i.i.d. (Welch) and above the true MI (one-sample), per estimator', () => {
  next = 0;
  const run = (negatives: string, estimator: string, values: number[]) =>
    values.map((v) => trial({ negatives, estimator }, { i_est_test: v }));
  const trials = [
    ...run('noniid', 'nce', [0.204, 0.197, 0.211]),
    ...run('noniid', 'nwj', [0.107, 0.104, 0.11]),
    ...run('iid', 'nce', [0.0187, 0.0177, 0.0197]),
    ...run('iid', 'nwj', [0.0185, 0.0173, 0.0197]),
  ];
  const [p] = evaluateClaim('noniid', trials)!.protocols;
  assert.equal(p.protocol, null);
  assert.deepEqual(p.metrics, ['i_est_test']);
  assert.deepEqual(
    p.comparisons.map((c) => [c.kind, c.within.estimator, c.verdict]),
    [
      ['between', 'nce', 'shown'],
      ['between', 'nwj', 'shown'],
      ['against-value', 'nce', 'shown'],
      ['against-value', 'nwj', 'shown'],
    ],
  );
  const against = p.comparisons[2];
  assert.equal(against.b, null);
  assert.equal(against.value, gaussianTrueMi());
  assert.match(against.expected, /^noniid > true MI \(0\.0204\)$/);
  assert.equal(p.verdict, 'shown');
});

test('mirl compare: the table gives se and n; the verdicts print below it', () => {
  const trials = criticCapacityTrials();
  const table = renderTable(aggregate(trials, { metrics: ['linear_eval_accuracy'] })).split('\n');
  assert.match(table[1], /^bilinear\s+nce\s+3\/3\s+0\s+0\.895 ± 0\.00100 \(se 0\.000577, n=3\)$/);
  assert.match(
    table.find((l) => l.startsWith('separable  nwj'))!,
    /0\.880 \(n=1\)$/,
  );
  const text = renderVerdicts(evaluateClaim('critic-capacity', trials)!).split('\n');
  assert.match(text[0], /^claim \(critic-capacity\): within each estimator/);
  assert.match(
    text[1],
    /^verdict, converged linear evaluation \(linear_eval_accuracy\): MIXED \(1 shown, 1 opposite, 1 not decided, 1 too few seeds of 4 comparisons\)$/,
  );
  assert.match(text[2], /^ {2}metric\s+paper\s+within\s+a\s+b\s+a - b\s+95% interval\s+df\s+> seed sd\s+verdict$/);
  assert.match(
    text[3],
    /^ {2}linear_eval_accuracy\s+bilinear > concat\s+estimator=nce\s+0\.895 ± 0\.00100 \(n=3\)\s+0\.888 ± 0\.00100 \(n=3\)\s+\+0\.00700\s+\[\+0\.00473, \+0\.00927\]\s+4\.0\s+yes\s+shown$/,
  );
  assert.ok(text.some((l) => /separable > concat\s+estimator=nwj.*\(n=1\).*-\s+-\s+-\s+-\s+too few seeds$/.test(l)));
  assert.ok(text.some((l) => l.startsWith('verdict, notebook linear evaluation')));
  assert.ok(text.some((l) => l.startsWith('not tested: ')));
});

test("report.json carries the claim's verdicts; the report reads the histories the claim needs", () => {
  next = 0;
  const trials = [
    invertibleTrial(
      'nce',
      [
        [0, 0.866],
        [21000, 0.903],
      ],
      [
        [0, 0.85],
        [21000, 0.87],
      ],
    ),
    invertibleTrial(
      'nce',
      [
        [0, 0.861],
        [21000, 0.899],
      ],
      [
        [0, 0.85],
        [21000, 0.871],
      ],
    ),
  ].map((t) => ({ ...t, params: {}, histories: t.histories! }));
  const data: SweepData = {
    sweepId: 'invertible-20261201-181126-ggg2q',
    experiment: { id: '1', name: 'invertible' },
    study: 'invertible',
    profile: null,
    parentRun: null,
    status: 'FINISHED',
    trials,
    expected: 2,
    notes: [],
  };
  const { report } = buildReport(data, new Date(0));
  assert.deepEqual(
    report.verdicts!.protocols.map((p) => [p.protocol, p.verdict]),
    [
      ['converged', 'shown'],
      ['notebook', 'shown'],
    ],
  );
  assert.ok(report.figures.some((f) => f.name === 'linear_eval_notebook_accuracy'));
  assert.ok('se' in report.final.rows[0].metrics.linear_eval_accuracy);
  assert.deepEqual(
    reportMetrics('invertible', ['linear_eval_accuracy', 'linear_eval_notebook_accuracy', 'i_est_test']),
    ['linear_eval_accuracy', 'i_est_test', 'linear_eval_notebook_accuracy'],
  );
  // Without the notebook protocol's metric no figure of it is drawn.
  assert.ok(!figuresFor('invertible', ['linear_eval_accuracy']).some((f) => f.name.includes('notebook')));
  const html = renderHtml(report, new Map());
  assert.match(html, /<h2>The paper's claim<\/h2>/);
  assert.match(html, /<h3>converged linear evaluation \(linear_eval_accuracy\): shown<\/h3>/);
  assert.match(html, /<td>last &gt; first evaluation<\/td>/);
  assert.match(html, /\(se [\d.]+, n=2\)/);
  const smoke = buildReport({ ...data, study: 'smoke' }, new Date(0)).report;
  assert.equal(smoke.verdicts, null);
  assert.doesNotMatch(renderHtml(smoke, new Map()), /The paper's claim/);
});

test('mirl compare reads the histories a within-trial claim needs: finished latest runs, only the metrics asked', async () => {
  const { readTrialHistories } = await import('../../results/trial-histories.js');
  const runOf = (id: string, index: number, status: string, startTime: number, tags: Record<string, string> = {}) => ({
    info: {
      runId: id,
      experimentId: '1',
      runName: id,
      userId: '',
      status,
      startTime,
      artifactUri: '',
      lifecycleStage: 'active',
    },
    data: {
      metrics: [
        { key: 'linear_eval_accuracy', value: 0.9, timestamp: 0, step: 20 },
        { key: 'i_est_test', value: 4, timestamp: 0, step: 20 },
      ],
      params: {},
      tags: {
        'mirl.role': 'trial',
        'mirl.trial_id': `trial-${index}`,
        'mirl.index': String(index),
        'mirl.axes': JSON.stringify({ estimator: 'nce', seed: index }),
        ...tags,
      },
    },
  });
  const asked: string[] = [];
  const client = {
    async *searchAllRuns() {
      yield runOf('sweep-run', -1, 'FINISHED', 0, { 'mirl.role': 'sweep' });
      yield runOf('old', 0, 'FAILED', 1);
      yield runOf('new', 0, 'FINISHED', 2);
      yield runOf('other', 1, 'FINISHED', 3);
      yield runOf('failed', 2, 'FAILED', 4);
    },
    async getFullMetricHistory(runId: string, key: string) {
      asked.push(`${runId}/${key}`);
      return [
        { key, value: 0.8, timestamp: 0, step: 0 },
        { key, value: 0.9, timestamp: 0, step: 20 },
      ];
    },
  } as unknown as import('../../tracking/index.js').MlflowClient;
  const trials = await readTrialHistories(client, '1', 'invertible-20261201-181126-ggg2q', ['linear_eval_accuracy']);
  assert.deepEqual(asked.sort(), ['new/linear_eval_accuracy', 'other/linear_eval_accuracy']);
  assert.equal(trials.length, 4);
  const v = evaluateClaim('invertible', trials)!;
  assert.deepEqual(
    v.protocols.map((p) => [p.protocol, p.comparisons[0].a.n, p.comparisons[0].verdict]),
    [['converged', 2, 'shown']],
  );
});
