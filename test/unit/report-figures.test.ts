// Each study's figures compile from Vega-Lite, render to SVG and PNG without a browser,
// and show the series they should: one per configuration, the true MI rule for the
// Gaussian study, the nested percentile bands for the hard-to-invert study.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReportTrial } from '../../report/aggregate.js';
import { buildReport, type SweepData } from '../../report/build.js';
import { CATALOGUE, CONDITION_BANDS, figureMetrics } from '../../report/catalogue.js';
import { renderReportFiles } from '../../report/files.js';

const STUDIES: Record<string, { axes: Record<string, string[]>; params?: Record<string, string> }> = {
  invertible: { axes: { estimator: ['nce', 'nwj'] } },
  adversarial: { axes: {}, params: { adv_warmup_steps: '100' } },
  'hard-to-invert': { axes: { estimator: ['nce', 'nwj'] } },
  'critic-capacity': { axes: { critic: ['bilinear', 'concat'], estimator: ['nce'] } },
  'encoder-architecture': { axes: { encoder: ['convnet', 'mlp'] } },
  noniid: { axes: { negatives: ['noniid', 'iid'] }, params: { data: 'gaussian' } },
  smoke: { axes: { critic: ['bilinear', 'separable'] } },
};

function combos(axes: Record<string, string[]>): Record<string, string>[] {
  return Object.entries(axes).reduce<Record<string, string>[]>(
    (acc, [k, vs]) => acc.flatMap((c) => vs.map((v) => ({ ...c, [k]: v }))),
    [{}],
  );
}

/** Two seeds per configuration; every metric the study draws, at three steps, distinct per configuration. */
function sweep(study: string): SweepData {
  const { axes, params = {} } = STUDIES[study];
  const metrics = (CATALOGUE[study] ?? []).flatMap(figureMetrics);
  if (!CATALOGUE[study]) metrics.push('linear_eval_accuracy', 'loss');
  const trials: ReportTrial[] = [];
  combos(axes).forEach((config, c) => {
    for (const seed of [0, 1]) {
      const index = trials.length;
      const histories = Object.fromEntries(
        metrics.map((m, i) => [
          m,
          [100, 200, 300].map((step, s) => ({ step, value: c + seed * 0.1 + s * 0.2 + i * 0.01 })),
        ]),
      );
      trials.push({
        trialId: `t${index}`,
        index,
        axes: [...Object.entries(config), ['seed', seed]],
        status: 'FINISHED',
        metrics: Object.fromEntries(metrics.map((m) => [m, histories[m][2].value])),
        params: { ...params, ...config },
        histories,
        runId: `r${index}`,
      });
    }
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

const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);

for (const study of Object.keys(STUDIES)) {
  test(`${study}: every figure renders to SVG and PNG with a series per configuration`, async () => {
    const data = sweep(study);
    const built = buildReport(data, new Date(0));
    const expected = (CATALOGUE[study] ?? [{ name: 'linear_eval_accuracy' }, { name: 'loss' }]).map((f) => f.name);
    assert.deepEqual(
      built.report.figures.map((f) => f.name),
      expected,
    );
    const files = new Map((await renderReportFiles(built)).map((f) => [f.path, f.data]));
    const labels = built.report.figures[0].data.configs.map((c) => c.label);
    assert.equal(labels.length, combos(STUDIES[study].axes).length);
    for (const f of built.report.figures) {
      const svg = String(files.get(`${f.name}.svg`));
      assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      const shown = texts(svg);
      assert.ok(shown.includes(f.title), `${f.name}: title missing in ${shown.join(' | ')}`);
      // One legend entry or facet header per configuration (a single configuration needs no legend).
      if (labels.length > 1)
        for (const label of labels) assert.ok(shown.includes(label), `${f.name}: no series ${label}`);
      if (f.kind === 'bands')
        for (const b of CONDITION_BANDS) assert.ok(shown.includes(b.label), `${f.name}: no band ${b.label}`);
      if (f.trueMi !== null)
        assert.ok(
          shown.some((t) => t.startsWith('true MI = ')),
          `${f.name}: no true-MI rule`,
        );
      const png = files.get(`${f.name}.png`) as Buffer;
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      assert.ok(png.length > 2000, `${f.name}.png is ${png.length} bytes`);
      const spec = JSON.parse(String(files.get(`${f.name}.vl.json`)));
      assert.ok(Array.isArray(spec.data.values) && spec.data.values.length > 0);
    }
    const html = String(files.get('index.html'));
    assert.equal((html.match(/<img /g) ?? []).length, built.report.figures.length);
    assert.doesNotMatch(html, /(src|href)="https?:/, 'the page must open offline');
    const json = JSON.parse(String(files.get('report.json')));
    assert.equal(json.study, study);
  });
}

test('noniid: the rule sits at the closed-form true MI and the curves are in the figure data', async () => {
  const built = buildReport(sweep('noniid'), new Date(0));
  const fig = built.report.figures[0];
  assert.ok(fig.trueMi !== null && Math.abs(fig.trueMi - -0.5 * Math.log(1 - 0.04)) < 1e-12);
  const { spec } = built.specs[0];
  assert.ok(JSON.stringify(spec).includes(`"trueMi":${fig.trueMi}`));
});
