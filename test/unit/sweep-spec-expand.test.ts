import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { trialConfigSchema } from '../../ml/config.js';
import { isSpecError, SpecError } from '../../sweep-spec/errors.js';
import { countTrials, expandSpec, runNameOf, trialAt } from '../../sweep-spec/expand.js';
import { loadSpecFile } from '../../sweep-spec/load.js';
import { parseSpec } from '../../sweep-spec/parse.js';
import type { Spec } from '../../sweep-spec/schema.js';
import { canonicalJson, makeLaunchToken, makeSweepId, makeTrialId } from '../../sweep-spec/trial-id.js';
import { DATA_PATH_VERSION, DataPathVersionError, LEGACY_DATA_PATH_VERSION } from '../../ml/data-path.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/specs/${name}`, import.meta.url));
const HEAD = 'name: demo\nstudy: demo-study\n';
const SWEEP = 'demo-20261129-031955-ab12';

const expand = (yaml: string, profile?: string) =>
  expandSpec(parseSpec(HEAD + yaml), { dataPath: DATA_PATH_VERSION, sweepId: SWEEP, profile });

describe('expandSpec: order and count', () => {
  it('a Cartesian product in written order, first axis slowest, seeds fastest', () => {
    const trials = expand('grid:\n  critic: [bilinear, separable]\n  estimator: [nce, nwj]\nseeds: 2\n');
    assert.equal(trials.length, 8);
    assert.deepEqual(
      trials.map((t) => t.runName),
      [
        'bilinear|nce|seed=0',
        'bilinear|nce|seed=1',
        'bilinear|nwj|seed=0',
        'bilinear|nwj|seed=1',
        'separable|nce|seed=0',
        'separable|nce|seed=1',
        'separable|nwj|seed=0',
        'separable|nwj|seed=1',
      ],
    );
    assert.deepEqual(
      trials.map((t) => t.index),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
    assert.deepEqual(trials[5].axes, { critic: 'separable', estimator: 'nce', seed: 1 });
    assert.deepEqual(Object.keys(trials[5].axes), ['critic', 'estimator', 'seed']);
  });

  it('written order decides, not the schema order of settings', () => {
    const trials = expand('grid:\n  estimator: [nce, nwj]\n  critic: [bilinear, separable]\n');
    assert.deepEqual(
      trials.map((t) => t.runName),
      ['nce|bilinear|seed=0', 'nce|separable|seed=0', 'nwj|bilinear|seed=0', 'nwj|separable|seed=0'],
    );
  });

  it('zip groups vary together, after the grid axes, before seeds', () => {
    const trials = expand(
      'trial: {objective: target}\nzip:\n  - {estimator: [nce, nwj], target: [2, 4]}\ngrid:\n  encoder: [convnet, mlp]\nseeds: [7, 9]\n',
    );
    assert.equal(trials.length, 2 * 2 * 2);
    assert.deepEqual(
      trials.map((t) => t.runName),
      [
        'convnet|nce|target=2|seed=7',
        'convnet|nce|target=2|seed=9',
        'convnet|nwj|target=4|seed=7',
        'convnet|nwj|target=4|seed=9',
        'mlp|nce|target=2|seed=7',
        'mlp|nce|target=2|seed=9',
        'mlp|nwj|target=4|seed=7',
        'mlp|nwj|target=4|seed=9',
      ],
    );
    assert.equal(trials[2].config.target, 4);
    assert.equal(trials[2].config.estimator, 'nwj');
  });

  it('several zip groups multiply with each other', () => {
    const trials = expand(
      'zip:\n  - {estimator: [nce, nwj]}\n  - {noise: [0, 0.05, 0.1], learning_rate: [0.001, 0.0001, 0.00001]}\n',
    );
    assert.equal(trials.length, 6);
    assert.deepEqual(trials[4].axes, { estimator: 'nwj', noise: 0.05, learning_rate: 0.0001, seed: 0 });
  });

  it('no axes: one trial per seed; seeds as a count start at 0', () => {
    const trials = expand('seeds: 3\n');
    assert.deepEqual(
      trials.map((t) => t.axes),
      [{ seed: 0 }, { seed: 1 }, { seed: 2 }],
    );
    assert.deepEqual(
      trials.map((t) => t.runName),
      ['seed=0', 'seed=1', 'seed=2'],
    );
    assert.equal(countTrials(parseSpec(`${HEAD}seeds: 3\n`)), 3);
  });

  it('configs are fully resolved with defaults and carry the seed', () => {
    const [trial] = expand('trial: {steps: 10}\nseeds: [5]\n');
    const defaults = trialConfigSchema.parse({});
    assert.deepEqual(trial.config, { ...defaults, steps: 10, seed: 5 });
  });

  it('list-valued settings name themselves in the run name', () => {
    const trials = expand('grid:\n  critic_hidden: [[200], [100, 100]]\n');
    assert.deepEqual(
      trials.map((t) => t.runName),
      ['critic_hidden=[200]|seed=0', 'critic_hidden=[100,100]|seed=0'],
    );
    assert.deepEqual(trials[1].config.critic_hidden, [100, 100]);
  });

  it('trials do not share lists with the spec', () => {
    const spec = parseSpec(`${HEAD}grid:\n  critic_hidden: [[200], [100, 100]]\n`);
    const [trial] = expandSpec(spec, { dataPath: DATA_PATH_VERSION, sweepId: SWEEP });
    (trial.axes.critic_hidden as number[]).push(1);
    trial.config.critic_hidden.push(1);
    assert.deepEqual(spec.grid.critic_hidden, [[200], [100, 100]]);
  });

  it('the smoke sweep makes 4 trials', () => {
    const spec = loadSpecFile(fileURLToPath(new URL('../../sweeps/smoke.yaml', import.meta.url)));
    const trials = expandSpec(spec, {
      dataPath: DATA_PATH_VERSION,
      sweepId: makeSweepId(spec.name, '20261129-031955-ab12'),
    });
    assert.deepEqual(
      trials.map((t) => t.runName),
      ['bilinear|seed=0', 'bilinear|seed=1', 'separable|seed=0', 'separable|seed=1'],
    );
    for (const t of trials) {
      assert.equal(t.config.encoder, 'mlp');
      assert.equal(t.config.data, 'mnist');
      assert.equal(t.config.estimator, 'nce');
      assert.equal(t.config.batch_size, 64);
      assert.equal(t.config.eval_interval, 100);
      assert.deepEqual(t.config.evaluations, ['i_est_test', 'linear_eval']);
      assert.equal(t.config.linear_eval_train_size, 5000);
      assert.equal(t.config.linear_eval_test_size, 2000);
      assert.equal(t.config.linear_eval_max_iter, 100);
    }
    assert.ok(
      expandSpec(spec, { dataPath: DATA_PATH_VERSION, sweepId: SWEEP, profile: 'quick' }).length < trials.length,
    );
  });

  it('trialAt gives the same trial as the full expansion', () => {
    const spec = loadSpecFile(fixture('critic-capacity.yaml'));
    const all = expandSpec(spec, { dataPath: DATA_PATH_VERSION, sweepId: SWEEP });
    assert.equal(all.length, 3 * 2 * 2 * 3);
    for (const i of [0, 1, 17, all.length - 1])
      assert.deepEqual(trialAt(spec, i, { dataPath: DATA_PATH_VERSION, sweepId: SWEEP }), all[i]);
    assert.throws(() => trialAt(spec, all.length, { dataPath: DATA_PATH_VERSION, sweepId: SWEEP }), RangeError);
    assert.throws(() => trialAt(spec, -1, { dataPath: DATA_PATH_VERSION, sweepId: SWEEP }), RangeError);
  });
});

describe('trial identity', () => {
  const yaml = 'grid:\n  critic: [bilinear, separable, concat]\n  estimator: [nce, nwj]\nseeds: 3\n';

  it('the same spec gives the same trials, ids and order every time', () => {
    const a = expand(yaml);
    const b = expand(yaml);
    assert.deepEqual(a, b);
    assert.equal(new Set(a.map((t) => t.trialId)).size, a.length);
    for (const t of a) {
      assert.match(t.trialId, /^trial-[0-9a-f]{20}$/);
      assert.equal(t.sweepId, SWEEP);
      assert.equal(t.trialId, makeTrialId(SWEEP, t.config, DATA_PATH_VERSION));
    }
  });

  it('ids are pinned: a change to the hashing would rename trials of running sweeps', () => {
    const config = trialConfigSchema.parse({ critic: 'separable', seed: 1 });
    assert.equal(
      makeTrialId('smoke-20261129-031955-ab12', config, 2),
      makeTrialId('smoke-20261129-031955-ab12', { ...config }, 2),
    );
    // sha256('mirl-trial-v1\ns\n{"a":[1,{"c":3,"d":2}],"b":1}'), computed with node:crypto:
    // the legacy data path hashes as before versions existed, so recorded sweeps keep their ids.
    assert.equal(makeTrialId('s', { b: 1, a: [1, { d: 2, c: 3 }] }, 1), 'trial-15d9d36a8e968218f959');
    // sha256('mirl-trial-v1\ns\ndata-path 2\n{"a":[1,{"c":3,"d":2}],"b":1}').
    assert.equal(makeTrialId('s', { b: 1, a: [1, { d: 2, c: 3 }] }, 2), 'trial-0e22c3ab2fb0ab1b16ee');
  });

  it('the same config under another data path is another trial', () => {
    const config = trialConfigSchema.parse({ critic: 'separable', seed: 1 });
    const ids = [1, 2].map((v) => makeTrialId(SWEEP, config, v));
    assert.equal(new Set(ids).size, 2);
    // A recorded sweep input without a version is the legacy data path.
    const legacy = expandSpec(parseSpec(HEAD + yaml), { sweepId: SWEEP, dataPath: undefined });
    const current = expand(yaml);
    for (let i = 0; i < legacy.length; i++) {
      assert.notEqual(current[i].trialId, legacy[i].trialId);
      assert.equal(current[i].trialId, makeTrialId(SWEEP, current[i].config, DATA_PATH_VERSION));
    }
  });

  it("a sweep of an older data path expands with that path's defaults, so its trials keep their configs", () => {
    const spec = parseSpec(HEAD + yaml);
    const legacy = expandSpec(spec, { sweepId: SWEEP, dataPath: LEGACY_DATA_PATH_VERSION });
    const current = expandSpec(spec, { sweepId: SWEEP, dataPath: DATA_PATH_VERSION });
    // linear_eval_max_iter was 500 until data path 2 replaced it.
    assert.ok(legacy.every((t) => t.config.linear_eval_max_iter === 500));
    assert.ok(current.every((t) => t.config.linear_eval_max_iter === trialConfigSchema.parse({}).linear_eval_max_iter));
    assert.notEqual(trialConfigSchema.parse({}).linear_eval_max_iter, 500);
    // What the spec sets wins over an old default.
    const set = expandSpec(parseSpec(`${HEAD}trial: {linear_eval_max_iter: 77}\n${yaml}`), {
      dataPath: LEGACY_DATA_PATH_VERSION,
      sweepId: SWEEP,
    });
    assert.ok(set.every((t) => t.config.linear_eval_max_iter === 77));
  });

  it('a data path this code does not know is refused, not hashed', () => {
    for (const v of [0, DATA_PATH_VERSION + 1, 1.5, Number.NaN]) {
      assert.throws(() => makeTrialId(SWEEP, {}, v), DataPathVersionError, String(v));
      assert.throws(
        () => expandSpec(parseSpec(HEAD + yaml), { sweepId: SWEEP, dataPath: v }),
        DataPathVersionError,
        String(v),
      );
    }
  });

  it('a different sweep id gives different ids for the same configs', () => {
    const a = expand(yaml);
    const b = expandSpec(parseSpec(HEAD + yaml), { dataPath: DATA_PATH_VERSION, sweepId: 'demo-20261129-031956-ffff' });
    assert.deepEqual(
      a.map((t) => t.config),
      b.map((t) => t.config),
    );
    for (let i = 0; i < a.length; i++) assert.notEqual(a[i].trialId, b[i].trialId);
  });

  it('changing a setting changes the id; reordering or adding axes keeps the ids of unchanged trials', () => {
    const base = expand(yaml);
    const changed = expand(`trial: {steps: 20999}\n${yaml}`);
    for (let i = 0; i < base.length; i++) assert.notEqual(base[i].trialId, changed[i].trialId);

    const reordered = expand(
      'grid:\n  estimator: [nwj, nce]\n  critic: [concat, separable, bilinear, inner]\nseeds: [2, 1, 0]\n',
    );
    const byId = new Map(reordered.map((t) => [t.trialId, t]));
    for (const t of base) assert.deepEqual(byId.get(t.trialId)?.config, t.config);
  });

  it('writing a default explicitly does not change the id (ids follow the resolved config)', () => {
    const implicit = expand('seeds: 1\n');
    const explicit = expand('trial: {critic: bilinear, steps: 21000}\nseeds: 1\n');
    assert.equal(implicit[0].trialId, explicit[0].trialId);
  });

  it('canonical JSON sorts keys at every depth', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [3, { f: 1, e: 2 }], c: null } }),
      '{"a":{"c":null,"d":[3,{"e":2,"f":1}]},"b":1}',
    );
    assert.throws(() => canonicalJson(Number.NaN), TypeError);
  });

  it('sweep ids and launch tokens', () => {
    const token = makeLaunchToken(new Date(Date.UTC(2026, 10, 29, 3, 19, 55)), 'ab12');
    assert.equal(token, '20261129-031955-ab12');
    assert.equal(makeSweepId('critic-capacity', token), 'critic-capacity-20261129-031955-ab12');
    assert.throws(() => makeSweepId('Critic', token), TypeError);
    assert.throws(() => makeSweepId('critic', 'has space'), TypeError);
    assert.throws(() => makeLaunchToken(new Date(Date.UTC(2026, 0, 1)), 'NOPE'), TypeError);
  });

  it('expansion needs a sweep id', () => {
    assert.throws(() => expandSpec(parseSpec(HEAD), { dataPath: DATA_PATH_VERSION, sweepId: '' }), TypeError);
  });
});

describe('profiles', () => {
  const spec = () => loadSpecFile(fixture('critic-capacity.yaml'));

  it('override fixed settings and seeds, keep the axes', () => {
    const trials = expandSpec(spec(), { dataPath: DATA_PATH_VERSION, sweepId: SWEEP, profile: 'quick' });
    assert.equal(trials.length, 3 * 2 * 2 * 2);
    assert.ok(
      trials.every((t) => t.config.steps === 100 && t.config.eval_interval === 50 && t.config.encoder === 'mlp'),
    );
    assert.deepEqual([...new Set(trials.map((t) => t.axes.seed))], [0, 1]);
  });

  it("a setting a profile fixes stops being an axis; its grid axes replace or extend the spec's", () => {
    const trials = expandSpec(spec(), { dataPath: DATA_PATH_VERSION, sweepId: SWEEP, profile: 'bilinear-only' });
    assert.equal(trials.length, 1 * 2 * 2 * 3);
    assert.deepEqual(Object.keys(trials[0].axes), ['estimator', 'noise', 'learning_rate', 'batch_size', 'seed']);
    assert.ok(trials.every((t) => t.config.critic === 'bilinear' && t.config.estimator === 'nce'));
    assert.equal(trials[0].runName, 'nce|noise=0|learning_rate=0.0001|batch_size=128|seed=0');
  });

  it('a profile zip replaces the spec zip; a profile grid axis takes a setting out of the spec zip', () => {
    const s = parseSpec(
      `${HEAD}zip:\n  - {estimator: [nce, nwj], noise: [0, 0.1]}\nprofiles:\n  a: {zip: [{critic: [inner, concat]}]}\n  b: {grid: {noise: [0.5]}}\n`,
    );
    assert.deepEqual(
      expandSpec(s, { dataPath: DATA_PATH_VERSION, sweepId: SWEEP, profile: 'a' }).map((t) => t.runName),
      ['inner|seed=0', 'concat|seed=0'],
    );
    assert.deepEqual(
      expandSpec(s, { dataPath: DATA_PATH_VERSION, sweepId: SWEEP, profile: 'b' }).map((t) => t.runName),
      ['noise=0.5|nce|seed=0', 'noise=0.5|nwj|seed=0'],
    );
  });

  it('profile trials with the same config as base trials have the same id', () => {
    const s = parseSpec(`${HEAD}grid: {critic: [inner, concat]}\nseeds: 3\nprofiles:\n  one-seed: {seeds: 1}\n`);
    const base = new Set(expandSpec(s, { dataPath: DATA_PATH_VERSION, sweepId: SWEEP }).map((t) => t.trialId));
    for (const t of expandSpec(s, { dataPath: DATA_PATH_VERSION, sweepId: SWEEP, profile: 'one-seed' }))
      assert.ok(base.has(t.trialId));
  });

  it('max_concurrent_trials and queue can be overridden', () => {
    const s: Spec = spec();
    assert.equal(s.resources.queue, 'gpu');
    assert.equal(s.profiles['bilinear-only'].resources?.queue, 'cpu');
  });

  it('an unknown profile is a SpecError listing the profiles', () => {
    assert.throws(
      () => expandSpec(spec(), { dataPath: DATA_PATH_VERSION, sweepId: SWEEP, profile: 'nope' }),
      (err: unknown) =>
        isSpecError(err) &&
        err.issues[0].path === 'profiles' &&
        err.issues[0].allowed?.join() === 'quick,bilinear-only',
    );
  });
});

describe('expandSpec on unvalidated data', () => {
  it('throws a SpecError naming the failing trial rather than returning a bad config', () => {
    const spec = parseSpec(HEAD);
    const broken = { ...spec, trial: { objective: 'target' } } as Spec;
    assert.throws(
      () => expandSpec(broken, { dataPath: DATA_PATH_VERSION, sweepId: SWEEP }),
      (err: unknown) => err instanceof SpecError && err.issues[0].path === 'trial.target',
    );
  });

  it('refuses repeated values that would give two trials one id', () => {
    const spec = parseSpec(HEAD);
    const broken = { ...spec, grid: { critic: ['inner', 'inner'] } } as Spec;
    assert.throws(
      () => expandSpec(broken, { dataPath: DATA_PATH_VERSION, sweepId: SWEEP }),
      (err: unknown) => err instanceof SpecError && err.issues[0].path === 'grid.critic',
    );
  });

  it('refuses too many trials', () => {
    const spec = { ...parseSpec(HEAD), seeds: 100_001 } as Spec;
    assert.throws(() => expandSpec(spec, { dataPath: DATA_PATH_VERSION, sweepId: SWEEP }), SpecError);
  });

  it('runNameOf', () => {
    assert.equal(
      runNameOf({ encoder: 'mlp', critic: 'bilinear', estimator: 'nce', seed: 3 }),
      'mlp|bilinear|nce|seed=3',
    );
    assert.equal(runNameOf({ target: null, seed: 0 }), 'target=null|seed=0');
  });
});
