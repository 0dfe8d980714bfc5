// The `search:` section: how sampled points combine with grid axes, zip groups, seeds and
// profiles, that trial ids follow configurations, and the one-line error for each kind of
// bad input (field named, allowed values listed).
import { describe, it } from 'node:test';
import { DATA_PATH_VERSION } from '../../ml/data-path.js';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describeSpec, renderValidateText } from '../../sweep-spec/describe.js';
import { formatSpecError, isSpecError, type SpecError } from '../../sweep-spec/errors.js';
import { expandSpec, PointNotSampledError, trialSource } from '../../sweep-spec/expand.js';
import { loadSpecFile } from '../../sweep-spec/load.js';
import { parseSpec } from '../../sweep-spec/parse.js';
import { NUMERIC_SETTING_KEYS } from '../../sweep-spec/schema.js';

const HEAD = 'name: demo\nstudy: demo-study\n';
const LR = 'learning_rate: {distribution: log_uniform, low: 1.0e-5, high: 1.0e-2}';

function spec(body: string) {
  return parseSpec(HEAD + body, 'sweeps/x.yaml');
}

function rejects(body: string): SpecError {
  try {
    spec(body);
  } catch (err) {
    assert.ok(isSpecError(err), String(err));
    return err;
  }
  assert.fail('expected the spec to be rejected');
}

/** The single line of a rejected spec, checked to name the field. */
function errorLine(body: string, path: string): string {
  const text = formatSpecError(rejects(body));
  assert.equal(text.split('\n').length, 1, text);
  assert.ok(text.startsWith(`sweeps/x.yaml: ${path}: `), text);
  return text;
}

describe('search: combining with grid, zip and seeds', () => {
  const s = spec(
    `search:\n  method: sobol\n  budget: 3\n  params:\n    ${LR}\n    batch_size: {distribution: int_uniform, low: 32, high: 256}\ngrid:\n  critic: [bilinear, concat]\nzip:\n  - {estimator: [nce, nwj], noise: [0, 0.1]}\nseeds: 2\n`,
  );
  const trials = expandSpec(s, { dataPath: DATA_PATH_VERSION, sweepId: 'demo-1' });

  it('crosses each sampled point with every grid/zip configuration and every seed, point slowest', () => {
    assert.equal(trials.length, 3 * 2 * 2 * 2);
    const perPoint = 2 * 2 * 2;
    for (let p = 0; p < 3; p++) {
      const block = trials.slice(p * perPoint, (p + 1) * perPoint);
      assert.equal(new Set(block.map((t) => `${t.config.learning_rate}/${t.config.batch_size}`)).size, 1, `point ${p}`);
      assert.deepEqual(
        block.map((t) => t.config.seed),
        [0, 1, 0, 1, 0, 1, 0, 1],
      );
      assert.deepEqual([...new Set(block.map((t) => t.config.critic))], ['bilinear', 'concat']);
    }
    assert.match(trials[0].runName, /^learning_rate=[0-9.e-]+\|batch_size=\d+\|bilinear\|nce\|noise=0\|seed=0$/);
  });

  it('gives every trial its own id, from its configuration: the same point gives the same ids again', () => {
    assert.equal(new Set(trials.map((t) => t.trialId)).size, trials.length);
    assert.deepEqual(
      expandSpec(s, { dataPath: DATA_PATH_VERSION, sweepId: 'demo-1' }).map((t) => t.trialId),
      trials.map((t) => t.trialId),
    );
    const reseeded = spec(
      `search:\n  method: sobol\n  budget: 3\n  seed: 9\n  params:\n    ${LR}\n    batch_size: {distribution: int_uniform, low: 32, high: 256}\ngrid:\n  critic: [bilinear, concat]\nzip:\n  - {estimator: [nce, nwj], noise: [0, 0.1]}\nseeds: 2\n`,
    );
    assert.notEqual(
      expandSpec(reseeded, { dataPath: DATA_PATH_VERSION, sweepId: 'demo-1' })[0].config.learning_rate,
      trials[0].config.learning_rate,
    );
  });

  it('keeps a point when the budget grows: point p does not depend on the budget', () => {
    const more = spec(`search: {method: random, budget: 10, params: {${LR}}}`);
    const fewer = spec(`search: {method: random, budget: 4, params: {${LR}}}`);
    assert.deepEqual(
      expandSpec(fewer, { dataPath: DATA_PATH_VERSION, sweepId: 'a-1' }).map((t) => t.trialId),
      expandSpec(more, { dataPath: DATA_PATH_VERSION, sweepId: 'a-1' })
        .slice(0, 4)
        .map((t) => t.trialId),
    );
  });

  it('method grid (or no search) expands exactly as before', () => {
    const plain = spec('grid: {critic: [bilinear, concat]}\nseeds: 2\n');
    const grid = spec(
      'search: {method: grid, objective: {metric: i_est_test, mode: max}}\ngrid: {critic: [bilinear, concat]}\nseeds: 2\n',
    );
    assert.deepEqual(
      expandSpec(grid, { dataPath: DATA_PATH_VERSION, sweepId: 'a-1' }),
      expandSpec(plain, { dataPath: DATA_PATH_VERSION, sweepId: 'a-1' }),
    );
    assert.equal(plain.search, undefined);
  });

  it('a profile overrides fields and merges params per setting; fixing a setting takes it out of the search', () => {
    const s2 = spec(
      `search: {method: sobol, budget: 20, params: {${LR}, noise: {distribution: uniform, low: 0, high: 1}}}\n` +
        'profiles:\n  quick: {search: {budget: 2}, trial: {noise: 0.5}}\n',
    );
    const quick = expandSpec(s2, { dataPath: DATA_PATH_VERSION, sweepId: 'a-1', profile: 'quick' });
    assert.equal(quick.length, 2);
    assert.ok(quick.every((t) => t.config.noise === 0.5));
    assert.deepEqual(
      describeSpec(s2, 'quick').axes.map((a) => a.source),
      ['search.params.learning_rate', 'seeds'],
    );
  });
});

describe('search: tpe', () => {
  const s = spec(
    `search: {method: tpe, budget: 12, startup: 3, params: {${LR}}, objective: {metric: i_est_test, mode: max}}\nseeds: 2\n`,
  );

  it('knows its quasi-random start before launch; later points wait for the sweep', () => {
    const source = trialSource(s, { dataPath: DATA_PATH_VERSION, sweepId: 'a-1' });
    assert.equal(source.count, 24);
    assert.ok(source.at(5).config.learning_rate > 0);
    assert.throws(() => source.at(6), PointNotSampledError);
    assert.throws(() => expandSpec(s, { dataPath: DATA_PATH_VERSION, sweepId: 'a-1' }), PointNotSampledError);
  });

  it('reads suggested points from a carry', () => {
    const source = trialSource(s, { dataPath: DATA_PATH_VERSION, sweepId: 'a-1', points: { 3: [0.000123] } });
    assert.equal(source.at(6).config.learning_rate, 0.000123);
    assert.equal(source.at(7).config.learning_rate, 0.000123);
    assert.deepEqual(source.axisLabels(7), [
      ['learning_rate', '0.000123'],
      ['seed', '1'],
    ]);
  });

  it('validate shows the method, the start, the objective and the distribution', () => {
    const text = renderValidateText(describeSpec(s));
    assert.match(text, /^search: +tpe, 12 points \(seed 0\), the first 3 quasi-random/m);
    assert.match(text, /^objective: +max i_est_test at the last report$/m);
    assert.match(
      text,
      /^ {2}learning_rate +12 +log_uniform 0\.00001\.\.0\.01: [0-9.e-]+, [0-9.e-]+, [0-9.e-]+ +search\.params\.learning_rate$/m,
    );
  });
});

describe('search: bad input is one line naming the field', () => {
  it('a distribution on a non-numeric setting lists the numeric ones', () => {
    const line = errorLine(
      'search: {method: random, budget: 2, params: {critic: {distribution: choice, values: [1]}}}',
      'search.params.critic',
    );
    assert.match(line, /"critic" is not a numeric setting/);
    assert.ok(line.includes(`allowed: ${NUMERIC_SETTING_KEYS.join(', ')}`));
  });

  it("bounds outside the setting's own range say the range", () => {
    assert.match(
      errorLine(
        'search: {method: random, budget: 2, params: {learning_rate: {distribution: uniform, low: 0.1, high: 20}}}',
        'search.params.learning_rate.high',
      ),
      /must be <= 10, got 20 \(the range of learning_rate\)$/,
    );
    assert.match(
      errorLine(
        'search: {method: random, budget: 2, params: {batch_size: {distribution: int_uniform, low: 1, high: 64}}}',
        'search.params.batch_size.low',
      ),
      /must be >= 2, got 1/,
    );
    assert.match(
      errorLine(
        'search: {method: random, budget: 2, params: {batch_size: {distribution: choice, values: [64, 9000]}}}',
        'search.params.batch_size.values[1]',
      ),
      /must be <= 8192, got 9000/,
    );
  });

  it('a budget of 0', () => {
    assert.match(
      errorLine(`search: {method: random, budget: 0, params: {${LR}}}`, 'search.budget'),
      /must be >= 1, got 0$/,
    );
  });

  it('log_uniform with a bound <= 0', () => {
    assert.match(
      errorLine(
        'search: {method: random, budget: 2, params: {noise: {distribution: log_uniform, low: 0, high: 1}}}',
        'search.params.noise.low',
      ),
      /log_uniform needs bounds > 0/,
    );
  });

  it('an objective metric no trial logs lists the metrics they do log', () => {
    const line = errorLine(
      `search: {method: tpe, budget: 20, params: {${LR}}, objective: {metric: accuracy, mode: max}}`,
      'search.objective.metric',
    );
    assert.match(
      line,
      /"accuracy" is not logged by any trial of this spec; allowed: loss, i_est_train, i_est_test, linear_eval_accuracy, linear_eval_train_accuracy, linear_eval_notebook_accuracy, linear_eval_notebook_train_accuracy$/,
    );
    assert.match(
      errorLine(
        `search: {method: random, budget: 2, params: {${LR}}, objective: {metric: linear_eval_accuracy, mode: min}}\ngrid: {evaluations: [[i_est_test], [linear_eval]]}`,
        'search.objective.metric',
      ),
      /not logged by 1 of 2 configurations, e.g. evaluations=\["i_est_test"\]/,
    );
  });

  it('an unknown method or distribution lists the allowed ones', () => {
    assert.match(errorLine('search: {method: bayes}', 'search.method'), /allowed: grid, random, sobol, tpe$/);
    assert.match(
      errorLine(
        `search: {method: random, budget: 2, params: {learning_rate: {distribution: normal, low: 1, high: 2}}}`,
        'search.params.learning_rate.distribution',
      ),
      /allowed: uniform, log_uniform, int_uniform, choice$/,
    );
  });

  it('fields the method needs or has no use for', () => {
    assert.match(
      errorLine(`search: {method: tpe, budget: 20, params: {${LR}}}`, 'search.objective'),
      /required for method tpe/,
    );
    assert.match(errorLine(`search: {method: sobol, params: {${LR}}}`, 'search.budget'), /required for method sobol/);
    assert.match(
      errorLine(`search: {method: grid, params: {${LR}}}`, 'search.params'),
      /method grid samples nothing.*allowed: random, sobol, tpe$/,
    );
    assert.match(
      errorLine(`search: {method: random, budget: 2, startup: 1, params: {${LR}}}`, 'search.startup'),
      /tpe only/,
    );
    assert.match(
      errorLine(
        `search: {method: tpe, budget: 1001, params: {${LR}}, objective: {metric: loss, mode: min}}`,
        'search.budget',
      ),
      /at most 1000/,
    );
  });

  it('a uniform on an integer setting, and a budget larger than the space', () => {
    assert.match(
      errorLine(
        'search: {method: random, budget: 2, params: {batch_size: {distribution: uniform, low: 8, high: 64}}}',
        'search.params.batch_size.distribution',
      ),
      /batch_size takes integers.*allowed: int_uniform, log_uniform, choice$/,
    );
    assert.match(
      errorLine(
        'search: {method: sobol, budget: 10, params: {batch_size: {distribution: choice, values: [8, 16]}}}',
        'search.budget',
      ),
      /allow only 2 distinct points/,
    );
  });

  it('a setting searched and also fixed or varied', () => {
    assert.match(
      errorLine(
        `trial: {learning_rate: 0.001}\nsearch: {method: random, budget: 2, params: {${LR}}}`,
        'search.params.learning_rate',
      ),
      /also set in trial\.learning_rate/,
    );
  });

  it('an objective step past the end of the trials', () => {
    assert.match(
      errorLine(
        `trial: {steps: 100}\nsearch: {method: random, budget: 2, params: {${LR}}, objective: {metric: loss, mode: min, step: 500}}`,
        'search.objective.step',
      ),
      /step 500 is past the end of the shortest trial \(100 steps\)/,
    );
  });

  it('a profile that searches without a method when the spec has no search', () => {
    assert.match(
      errorLine('profiles: {q: {search: {budget: 2}}}', 'profiles.q.search.method'),
      /with profile "q": missing/,
    );
  });
});

describe('sweeps/search-smoke.yaml', () => {
  const example = loadSpecFile(fileURLToPath(new URL('../../sweeps/search-smoke.yaml', import.meta.url)));

  it('validates, and its quick profile (all quasi-random) expands in full before launch', () => {
    assert.equal(example.search?.method, 'tpe');
    const quick = expandSpec(example, { dataPath: DATA_PATH_VERSION, sweepId: 'q-1', profile: 'quick' });
    assert.equal(quick.length, 4 * 2);
    assert.ok(
      quick.every(
        (t) =>
          t.config.learning_rate >= 1e-5 &&
          t.config.learning_rate <= 1e-2 &&
          [32, 64, 128].includes(t.config.batch_size),
      ),
    );
  });
});
