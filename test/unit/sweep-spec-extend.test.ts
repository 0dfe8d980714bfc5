// `mirl sweep extend`: the extended spec (which layer each addition goes to), what an
// extension may not change, and the extended sweep's trial order: every old trial keeps its
// index and id, the new ones follow, and together they are exactly the new spec's trials.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DATA_PATH_VERSION } from '../../ml/data-path.js';
import { formatSpecError, isSpecError } from '../../sweep-spec/errors.js';
import { expandSpec, trialSource } from '../../sweep-spec/expand.js';
import {
  checkExtension,
  extendSpec,
  extensionProblem,
  parseAxisArgument,
  type ExtendRequest,
} from '../../sweep-spec/extend.js';
import { parseSpec } from '../../sweep-spec/parse.js';
import { planSpec } from '../../sweep-spec/plan.js';
import type { Spec } from '../../sweep-spec/schema.js';
import { buildProgress } from '../../workflows/progress.js';
import { SweepBook } from '../../workflows/sweep-state.js';

const base = (extra = '') =>
  parseSpec(
    [
      'name: ext',
      'study: ext-study',
      'trial: {steps: 10}',
      'grid: {critic: [bilinear, separable], learning_rate: [0.001, 0.0001]}',
      'seeds: 2',
      extra,
    ].join('\n'),
    'x.yaml',
  );

function refusal(spec: Spec, profile: string | null, request: ExtendRequest): string {
  try {
    extendSpec(spec, profile, request, 'sweep ext-1');
  } catch (err) {
    assert.ok(isSpecError(err), String(err));
    const text = formatSpecError(err);
    assert.equal(text.split('\n').length, 1, text);
    return text;
  }
  assert.fail('expected a refusal');
}

const ids = (spec: Spec, extensions: Spec[] = [], profile: string | null = null) => {
  const source = trialSource(spec, { sweepId: 's-1', dataPath: DATA_PATH_VERSION, extensions, profile });
  return Array.from({ length: source.count }, (_, i) => source.at(i));
};

describe('extendSpec', () => {
  it('adds seeds, axis values and points where the plan reads them', () => {
    const spec = base('profiles:\n  quick: {seeds: [3, 7], grid: {critic: [bilinear]}}');
    assert.equal(extendSpec(spec, null, { seeds: 4 }).seeds, 4);
    assert.deepEqual(extendSpec(spec, 'quick', { seeds: 4 }).profiles.quick.seeds, [3, 7, 0, 1]);
    assert.deepEqual(extendSpec(spec, null, { axes: { critic: ['concat'] } }).grid.critic, [
      'bilinear',
      'separable',
      'concat',
    ]);
    assert.deepEqual(extendSpec(spec, 'quick', { axes: { critic: ['concat'] } }).profiles.quick.grid?.critic, [
      'bilinear',
      'concat',
    ]);
    assert.deepEqual(spec.grid.critic, ['bilinear', 'separable'], 'the original is left as it was');
    const searched = parseSpec(
      'name: s\nstudy: s\nsearch: {method: sobol, budget: 4, params: {noise: {distribution: uniform, low: 0, high: 1}}}\n',
      'x.yaml',
    );
    assert.equal(extendSpec(searched, null, { budget: 9 }).search?.budget, 9);
    assert.deepEqual(parseAxisArgument('learning_rate=1e-5,0.01'), ['learning_rate', [1e-5, 0.01]]);
  });

  it('refuses what would not add trials, in one line naming the flag', () => {
    const spec = base('zip: [{estimator: [nce, nwj], objective: [maximize, maximize]}]');
    assert.match(refusal(spec, null, { seeds: 2 }), /--seeds: the sweep has 2 seeds per configuration/);
    assert.match(
      refusal(spec, null, { axes: { critic: ['bilinear'] } }),
      /--axis critic: "bilinear" is already a value of grid\.critic/,
    );
    assert.match(
      refusal(spec, null, { axes: { critic: ['quadratic'] } }),
      /--axis critic: "quadratic" is not a valid critic/,
    );
    assert.match(
      refusal(spec, null, { axes: { steps: [20] } }),
      /"steps" is fixed for every trial, not an axis.*allowed: critic, learning_rate/,
    );
    assert.match(refusal(spec, null, { axes: { estimator: ['dv'] } }), /varied in a zip group/);
    assert.match(refusal(spec, null, { budget: 10 }), /--budget: the sweep samples nothing/);
    assert.match(refusal(spec, null, {}), /nothing to add/);
  });
});

describe('extensionProblem', () => {
  it('accepts added trials and refuses changes to what exists', () => {
    const spec = base();
    const plan = (s: Spec) => planSpec(s, null);
    assert.equal(extensionProblem(plan(spec), plan(extendSpec(spec, null, { seeds: 3 })), 0), null);
    const changed = { ...spec, trial: { steps: 20 } };
    assert.match(extensionProblem(plan(spec), plan(changed), 0) ?? '', /fixed settings differ/);
    assert.match(extensionProblem(plan(spec), plan(spec), 0) ?? '', /adds no trials/);
    assert.match(
      extensionProblem(plan(spec), plan(extendSpec(spec, null, { seeds: 3 })), 20) ?? '',
      /extended 20 times/,
    );
    const tpe = parseSpec(
      'name: t\nstudy: t\nsearch: {method: tpe, budget: 4, objective: {metric: loss, mode: min}, params: {noise: {distribution: uniform, low: 0, high: 1}}}\nseeds: 2\n',
      'x.yaml',
    );
    assert.equal(extensionProblem(plan(tpe), plan(extendSpec(tpe, null, { budget: 8 })), 0), null);
    assert.throws(
      () => checkExtension([tpe], extendSpec(tpe, null, { seeds: 3 }), null, 'sweep t-1'),
      /a TPE search can only grow its budget/,
    );
  });
});

describe("an extended sweep's trials", () => {
  it("keep every old index and id; the new ones follow, and together they are the new spec's trials", () => {
    const spec = base();
    const more = extendSpec(spec, null, { seeds: 3 });
    const wider = extendSpec(more, null, { axes: { critic: ['concat'], learning_rate: [0.01] } });
    const before = ids(spec);
    const after = ids(spec, [more, wider]);
    assert.equal(after.length, 3 * 3 * 3);
    before.forEach((t, i) => assert.equal(after[i].trialId, t.trialId, `trial ${i}`));
    after.forEach((t, i) => assert.equal(t.index, i));
    const expected = expandSpec(wider, { sweepId: 's-1', dataPath: DATA_PATH_VERSION })
      .map((t) => t.trialId)
      .sort();
    assert.deepEqual(after.map((t) => t.trialId).sort(), expected);
    // The seed extension's trials come first among the new ones, in the plan's order.
    assert.deepEqual(
      after.slice(8, 12).map((t) => t.runName),
      [
        'bilinear|learning_rate=0.001|seed=2',
        'bilinear|learning_rate=0.0001|seed=2',
        'separable|learning_rate=0.001|seed=2',
        'separable|learning_rate=0.0001|seed=2',
      ],
    );
  });

  it("a grown search budget is the new plan's tail: the plan's own order holds", () => {
    const sobol = parseSpec(
      'name: s\nstudy: s\nsearch: {method: sobol, budget: 3, params: {noise: {distribution: uniform, low: 0, high: 1}}}\nseeds: 2\n',
      'x.yaml',
    );
    const bigger = extendSpec(sobol, null, { budget: 5 });
    const source = trialSource(sobol, { sweepId: 's-1', dataPath: DATA_PATH_VERSION, extensions: [bigger] });
    assert.equal(source.rowsOf, undefined);
    assert.deepEqual(
      ids(sobol, [bigger]).map((t) => t.trialId),
      expandSpec(bigger, { sweepId: 's-1', dataPath: DATA_PATH_VERSION }).map((t) => t.trialId),
    );
  });

  it('progress counts every axis value over the grown book, as if counted trial by trial', () => {
    const spec = base();
    const wider = extendSpec(extendSpec(spec, null, { seeds: 3 }), null, { axes: { critic: ['concat'] } });
    const source = trialSource(spec, {
      sweepId: 's-1',
      dataPath: DATA_PATH_VERSION,
      extensions: [extendSpec(spec, null, { seeds: 3 }), wider],
    });
    const book = SweepBook.create(8, 4);
    for (const i of book.nextToStart()) book.markStarted(i, 0);
    book.applyOutcome({ index: 0, trialId: 'x', run: 1, state: 'done' }, 1);
    book.grow(source.count);
    assert.deepEqual([book.total, book.counts.pending, book.counts.running, book.counts.done], [18, 14, 3, 1]);
    assert.deepEqual(SweepBook.fromCarry(JSON.parse(JSON.stringify(book.toCarry()))).counts, book.counts);
    const p = buildProgress(
      book,
      source,
      { sweepId: 's-1', name: 'ext', study: 'e', profile: null, taskQueue: 'q', heartbeatTimeoutMs: 1 },
      {},
    );
    const naive: Record<string, Record<string, number>> = {};
    for (let i = 0; i < source.count; i++) {
      for (const [axis, label] of source.axisLabels(i))
        (naive[axis] ??= {})[label] = ((naive[axis] ??= {})[label] ?? 0) + (book.state(i) === 'pending' ? 1 : 0);
    }
    for (const [axis, values] of Object.entries(naive))
      for (const [label, n] of Object.entries(values)) assert.equal(p.axes[axis][label].pending, n, `${axis}=${label}`);
    assert.equal(p.axes.critic.concat.pending, 6);
  });
});
