// The paper's values (read off its figures) are looked up per study, figure metric and
// configuration, placed on the sweep's series, drawn on the same axes as mirl's curves,
// and listed in report.json; figures and studies without values draw none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile } from 'vega-lite';
import type { ReportTrial } from '../../report/aggregate.js';
import { buildReport, type SweepData } from '../../report/build.js';
import { renderHtml } from '../../report/html.js';
import {
  PAPER_LEGEND,
  PAPER_SOURCE,
  PAPER_VALUES,
  paperValuesFor,
  placePaperValues,
  seriesSettings,
} from '../../report/paper-values.js';
import { renderSvg } from '../../report/render.js';

const NOTEBOOK = 'linear_eval_notebook_accuracy';
const CONVERGED = 'linear_eval_accuracy';

/** One finished seed per configuration; every metric at steps 0 and 1000, distinct per configuration. */
function sweep(
  study: string,
  configs: Record<string, string>[],
  metrics: string[],
  fixed: Record<string, string> = {},
): SweepData {
  const trials: ReportTrial[] = configs.map((config, c) => {
    const histories = Object.fromEntries(
      metrics.map((m) => [
        m,
        [
          { step: 0, value: 0.8 + c * 0.001 },
          { step: 1000, value: 0.86 + c * 0.001 },
        ],
      ]),
    );
    return {
      trialId: `t${c}`,
      index: c,
      axes: [...Object.entries(config), ['seed', 0]],
      status: 'FINISHED',
      metrics: Object.fromEntries(metrics.map((m) => [m, histories[m][1].value])),
      params: { ...fixed, ...config, seed: '0' },
      histories,
      runId: `r${c}`,
    };
  });
  return {
    sweepId: `${study}-20260101-000000-abcd`,
    experiment: { id: '1', name: study },
    study,
    profile: null,
    parentRun: null,
    status: 'FINISHED',
    trials,
    expected: trials.length,
    notes: [],
  };
}

const grid = (axes: Record<string, string[]>): Record<string, string>[] =>
  Object.entries(axes).reduce<Record<string, string>[]>(
    (acc, [k, vs]) => acc.flatMap((c) => vs.map((v) => ({ ...c, [k]: v }))),
    [{}],
  );

const CRITIC_GRID = grid({ critic: ['bilinear', 'separable', 'concat'], estimator: ['nce', 'nwj'] });

/** Every layer of a spec, with the data it carries inline. */
const layersOf = (spec: unknown) =>
  (spec as { layer: { data?: { values: Record<string, unknown>[] }; mark: { type: string } }[] }).layer;

/** The (configuration, lo, hi) rows of the spec's dashed paper rules. */
function paperRules(spec: unknown): { configuration: unknown; lo: number; hi: number }[] {
  const seen = new Map<string, { configuration: unknown; lo: number; hi: number }>();
  for (const l of layersOf(spec))
    for (const r of l.data?.values ?? [])
      if (l.mark.type === 'rule' && r.source === PAPER_LEGEND)
        seen.set(JSON.stringify(r), { configuration: r.configuration, lo: Number(r.lo), hi: Number(r.hi) });
  return [...seen.values()];
}

test('the table: critic capacity under NWJ per critic, on the notebook protocol only', () => {
  const byCritic = Object.fromEntries(paperValuesFor('critic-capacity', NOTEBOOK).map((v) => [v.where.critic, v]));
  assert.deepEqual(Object.keys(byCritic).sort(), ['bilinear', 'concat', 'separable']);
  assert.equal(byCritic.bilinear.lo, 0.89);
  assert.equal(byCritic.separable.lo, 0.87);
  assert.equal(byCritic.concat.hi, 0.84);
  for (const v of Object.values(byCritic)) {
    assert.equal(v.where.estimator, 'nwj');
    assert.equal(v.protocol, 'notebook');
    assert.equal(v.source, PAPER_SOURCE);
    assert.equal(v.at, 'final');
  }
  // The paper's accuracies are the notebook fit's: the converged protocol's figure gets none.
  assert.deepEqual(paperValuesFor('critic-capacity', CONVERGED), []);
  assert.deepEqual(paperValuesFor('critic-capacity', 'i_est_test'), []);
  assert.deepEqual(paperValuesFor('smoke', NOTEBOOK), []);
});

test('the table: each study reading REFERENCE.md gives, ranges as ranges', () => {
  const one = (study: string, label: string, metric = NOTEBOOK) => {
    const found = paperValuesFor(study, metric).filter((v) => v.label === label);
    assert.equal(found.length, 1, `${study} ${label}`);
    return found[0];
  };
  assert.deepEqual([one('invertible', 'NCE').lo, one('invertible', 'NWJ').lo], [0.89, 0.9]);
  assert.deepEqual(one('invertible', 'NWJ').where, { estimator: 'nwj' });
  assert.equal(one('invertible', 'pixel baseline').lo, 0.85);
  assert.equal(one('adversarial', 'final').hi, 0.4);
  assert.equal(one('adversarial', 'pixel baseline').lo, 0.85);
  assert.deepEqual([one('hard-to-invert', 'start').at, one('hard-to-invert', 'start').lo], ['start', 0.84]);
  assert.deepEqual([one('hard-to-invert', 'end').at, one('hard-to-invert', 'end').lo], ['final', 0.9]);
  assert.deepEqual([one('encoder-architecture', 'ConvNet').lo, one('encoder-architecture', 'ConvNet').hi], [0.9, 0.92]);
  assert.deepEqual([one('encoder-architecture', 'MLP').lo, one('encoder-architecture', 'MLP').hi], [0.8, 0.84]);
  const trueMi = one('noniid', 'true MI', 'i_est_test');
  assert.deepEqual([trueMi.lo, trueMi.protocol, trueMi.sameAsTrueMi], [0.0204, null, true]);
  for (const v of PAPER_VALUES) {
    assert.ok(v.lo <= v.hi, `${v.study} ${v.label}`);
    assert.equal(v.protocol === 'notebook', v.metric === NOTEBOOK, `${v.study} ${v.label}: protocol and metric agree`);
  }
});

test('placing: a value takes the colour of the one series it names, a fixed setting counts, a missing one drops it', () => {
  const values = paperValuesFor('critic-capacity', NOTEBOOK);
  const full = placePaperValues(
    values,
    seriesSettings(
      CRITIC_GRID.map((config) => ({ label: `${config.critic}, ${config.estimator}`, config })),
      [{ params: { encoder: 'mlp' } }],
    ),
  );
  assert.deepEqual(
    full.map((m) => [m.configuration, m.lo]),
    [
      ['bilinear, nwj', 0.89],
      ['separable, nwj', 0.87],
      ['concat, nwj', 0.84],
    ],
  );
  // A sweep that fixes the estimator to NWJ names its series by the critic alone.
  const nwjOnly = [
    { params: { estimator: 'nwj', critic: 'bilinear' } },
    { params: { estimator: 'nwj', critic: 'concat' } },
  ];
  const fixed = placePaperValues(
    values,
    seriesSettings(
      ['bilinear', 'concat'].map((critic) => ({ label: critic, config: { critic } })),
      nwjOnly,
    ),
  );
  assert.deepEqual(
    fixed.map((m) => [m.configuration, m.lo]),
    [
      ['bilinear', 0.89],
      ['concat', 0.84],
    ],
  );
  // Run under NCE only: the NWJ readings would sit on curves of another estimator.
  const nceOnly = seriesSettings(
    ['bilinear', 'separable', 'concat'].map((critic) => ({ label: critic, config: { critic } })),
    [{ params: { estimator: 'nce', critic: 'bilinear' } }, { params: { estimator: 'nce', critic: 'concat' } }],
  );
  assert.deepEqual(placePaperValues(values, nceOnly), []);
});

test('placing: a value several series match, a baseline, and the closed-form true MI are drawn neutral or not at all', () => {
  const series = seriesSettings(
    grid({ encoder: ['convnet', 'mlp'], target: ['2', '4'] }).map((config) => ({
      label: `${config.encoder}, target=${config.target}`,
      config: { ...config, target: Number(config.target) },
    })),
    [],
  );
  const enc = placePaperValues(paperValuesFor('encoder-architecture', NOTEBOOK), series);
  assert.deepEqual(
    enc.map((m) => [m.label, m.configuration, m.lo, m.hi]),
    [
      ['ConvNet', null, 0.9, 0.92],
      ['MLP', null, 0.8, 0.84],
    ],
  );
  const inv = placePaperValues(
    paperValuesFor('invertible', NOTEBOOK),
    ['nce', 'nwj'].map((e) => ({ label: e, settings: { estimator: e } })),
  );
  assert.deepEqual(
    inv.map((m) => [m.label, m.configuration]),
    [
      ['NCE', 'nce'],
      ['NWJ', 'nwj'],
      ['pixel baseline', null],
    ],
  );
  const noniid = paperValuesFor('noniid', 'i_est_test');
  assert.deepEqual(placePaperValues(noniid, [], { drawsTrueMi: true }), []);
  assert.equal(placePaperValues(noniid, [], { drawsTrueMi: false })[0].lo, 0.0204);
});

test('critic capacity: the notebook figure draws the three NWJ readings in their series colours; the converged one none', async () => {
  const built = buildReport(
    sweep('critic-capacity', CRITIC_GRID, [CONVERGED, 'i_est_test', NOTEBOOK], { encoder: 'mlp' }),
    new Date(0),
  );
  const spec = (name: string) => built.specs.find((s) => s.name === name)!.spec;
  const fig = (name: string) => built.report.figures.find((f) => f.name === name)!;
  const rules = paperRules(spec(NOTEBOOK)).sort((a, b) => b.lo - a.lo);
  assert.deepEqual(rules, [
    { configuration: 'bilinear, nwj', lo: 0.89, hi: 0.89 },
    { configuration: 'separable, nwj', lo: 0.87, hi: 0.87 },
    { configuration: 'concat, nwj', lo: 0.84, hi: 0.84 },
  ]);
  // Drawn in the series' colour scale, dashed, under one legend entry.
  const ruleLayer = layersOf(spec(NOTEBOOK)).find((l) => l.mark.type === 'rule') as unknown as {
    encoding: { color: { field: string; scale: { domain: string[] } }; strokeDash: { scale: { domain: string[] } } };
  };
  assert.equal(ruleLayer.encoding.color.field, 'configuration');
  assert.ok(ruleLayer.encoding.color.scale.domain.includes('bilinear, nwj'));
  assert.deepEqual(ruleLayer.encoding.strokeDash.scale.domain, [PAPER_LEGEND]);
  assert.deepEqual(
    fig(NOTEBOOK).paperValues.map((v) => [v.configuration, v.lo, v.protocol, v.source]),
    rules.map((r) => [r.configuration, r.lo, 'notebook', PAPER_SOURCE]),
  );
  for (const name of [CONVERGED, 'i_est_test']) {
    assert.deepEqual(paperRules(spec(name)), [], name);
    assert.deepEqual(fig(name).paperValues, [], name);
  }
  assert.deepEqual(built.report.notes, []);
  const svg = await renderSvg(spec(NOTEBOOK));
  assert.ok(svg.includes(PAPER_LEGEND), 'legend entry');
  const html = renderHtml(built.report, new Map());
  assert.match(
    html,
    /Dashed marks[^<]*the paper&#39;s values read from its figures[^<]*bilinear \(NWJ\) 0\.89 \(final\)/,
  );
});

test("the y axis reaches the paper's values though the curves stay far from them", async () => {
  const data = sweep('critic-capacity', CRITIC_GRID, [NOTEBOOK]);
  for (const t of data.trials)
    t.histories[NOTEBOOK] = [
      { step: 0, value: 0.5 },
      { step: 1000, value: 0.55 },
    ];
  const { spec } = buildReport(data, new Date(0)).specs[0];
  const compiled = compile(spec).spec as { scales?: { name: string; domain: unknown }[] };
  const y = compiled.scales!.find((s) => s.name === 'y')!;
  // The y domain unions the curves' fields with the rules' lo/hi.
  const fields = JSON.stringify(y.domain);
  assert.match(fields, /"lo"/);
  assert.match(fields, /"hi"/);
  const svg = await renderSvg(spec);
  const ticks = [...svg.matchAll(/<text[^>]*>(0\.\d+)<\/text>/g)].map((m) => Number(m[1]));
  assert.ok(Math.max(...ticks) >= 0.89, `y ticks reach ${Math.max(...ticks)}`);
});

test('encoder architecture: each range is a shaded band between two dashed rules, labelled', () => {
  const configs = grid({ encoder: ['convnet', 'mlp'], estimator: ['nce', 'nwj'] });
  const built = buildReport(sweep('encoder-architecture', configs, [CONVERGED, 'i_est_test', NOTEBOOK]), new Date(0));
  const spec = built.specs.find((s) => s.name === NOTEBOOK)!.spec;
  const bands = layersOf(spec).filter((l) => l.mark.type === 'rect');
  assert.deepEqual(
    bands.flatMap((l) => l.data!.values.map((r) => [r.lo, r.hi])),
    [
      [0.9, 0.92],
      [0.8, 0.84],
    ],
  );
  const labels = layersOf(spec)
    .filter((l) => l.mark.type === 'text')
    .flatMap((l) => l.data!.values.map((r) => r.label));
  assert.deepEqual(labels, ['paper ConvNet ≈ 0.90–0.92', 'paper MLP ≈ 0.80–0.84']);
  assert.deepEqual(
    paperRules(spec)
      .flatMap((r) => [r.lo, r.hi])
      .filter((v, i, a) => a.indexOf(v) === i)
      .sort(),
    [0.8, 0.84, 0.9, 0.92],
  );
});

test('a study without values, and a sweep without the notebook protocol, draw none', () => {
  const smoke = buildReport(
    sweep('smoke', grid({ critic: ['bilinear', 'separable'] }), [CONVERGED, 'loss']),
    new Date(0),
  );
  assert.ok(smoke.specs.length > 0);
  for (const { spec } of smoke.specs) {
    assert.deepEqual(paperRules(spec), []);
    assert.ok(!JSON.stringify(spec).includes(PAPER_LEGEND));
  }
  assert.ok(smoke.report.figures.every((f) => f.paperValues.length === 0));
  assert.doesNotMatch(renderHtml(smoke.report, new Map()), /Dashed marks/);

  const converged = buildReport(sweep('critic-capacity', CRITIC_GRID, [CONVERGED, 'i_est_test']), new Date(0));
  for (const { spec } of converged.specs) assert.deepEqual(paperRules(spec), []);
  assert.equal(converged.report.notes.length, 1);
  assert.match(converged.report.notes[0], /notebook's linear-evaluation protocol/);
});

test('noniid: the true MI rule is drawn once, from its closed form, not again as a paper value', () => {
  const built = buildReport(
    sweep('noniid', grid({ negatives: ['noniid', 'iid'] }), ['i_est_test', 'i_est_train'], { data: 'gaussian' }),
    new Date(0),
  );
  for (const { spec } of built.specs) {
    assert.deepEqual(paperRules(spec), []);
    assert.ok(JSON.stringify(spec).includes('"trueMi"'));
  }
  assert.ok(built.report.figures.every((f) => f.trueMi !== null && f.paperValues.length === 0));
});
