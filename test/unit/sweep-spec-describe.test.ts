import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describeSpec, renderValidateText } from '../../sweep-spec/describe.js';
import { isSpecError } from '../../sweep-spec/errors.js';
import { expandSpec } from '../../sweep-spec/expand.js';
import { loadSpecFile } from '../../sweep-spec/load.js';
import { MAX_TRIALS } from '../../sweep-spec/schema.js';
import { DATA_PATH_VERSION } from '../../ml/data-path.js';

const spec = loadSpecFile(fileURLToPath(new URL('../fixtures/specs/critic-capacity.yaml', import.meta.url)));

describe('describeSpec', () => {
  it('counts trials and configurations and lists the axes in expansion order', () => {
    const d = describeSpec(spec);
    assert.equal(d.trialCount, 36);
    assert.equal(d.configurationCount, 12);
    assert.equal(d.trialCount, expandSpec(spec, { dataPath: DATA_PATH_VERSION, sweepId: 'x-1' }).length);
    assert.deepEqual(d.seeds, [0, 1, 2]);
    assert.deepEqual(
      d.axes.map((a) => [a.name, a.count, a.source]),
      [
        ['critic', 3, 'grid.critic'],
        ['estimator', 2, 'grid.estimator'],
        ['learning_rate', 2, 'zip[0]'],
        ['batch_size', 2, 'zip[0]'],
        ['seed', 3, 'seeds'],
      ],
    );
    assert.deepEqual(d.axes[0].values, ['bilinear', 'separable', 'concat']);
    assert.deepEqual(d.fixed, {
      encoder: 'mlp',
      steps: 21000,
      eval_interval: 1000,
      evaluations: ['i_est_test', 'linear_eval'],
    });
    assert.deepEqual(d.profiles, [
      { name: 'quick', description: 'tiny run', trialCount: 24 },
      { name: 'bilinear-only', description: '', trialCount: 12 },
    ]);
    assert.equal(d.taskQueue, 'mirl-gpu');
    assert.equal(d.maxConcurrentTrials, 8);
    assert.equal(d.trialLimit, MAX_TRIALS);
    assert.equal(d.profile, null);
  });

  it('applies a profile', () => {
    const d = describeSpec(spec, 'bilinear-only');
    assert.equal(d.profile, 'bilinear-only');
    assert.equal(d.trialCount, 12);
    assert.equal(d.fixed.critic, 'bilinear');
    assert.equal(d.taskQueue, 'mirl-cpu');
    assert.deepEqual(
      d.axes.map((a) => a.source),
      ['profiles.bilinear-only.grid.estimator', 'profiles.bilinear-only.grid.noise', 'zip[0]', 'zip[0]', 'seeds'],
    );
  });

  it('rejects an unknown profile', () => {
    assert.throws(() => describeSpec(spec, 'nope'), isSpecError);
  });

  it('is plain JSON (for --json)', () => {
    const d = describeSpec(spec);
    assert.deepEqual(JSON.parse(JSON.stringify(d)), d);
  });
});

describe('renderValidateText', () => {
  it('shows counts, fixed settings, an axis table and the profiles', () => {
    const text = renderValidateText(describeSpec(spec), 'sweeps/critic-capacity.yaml');
    const lines = text.split('\n');
    assert.equal(lines[0], 'sweeps/critic-capacity.yaml: OK  sweep "critic-capacity" (study critic-capacity)');
    assert.ok(text.includes('trials:      36 (12 configurations x 3 seeds; limit 100,000)'));
    assert.ok(text.includes('task queue:  mirl-gpu, at most 8 trials at a time'));
    assert.match(text, /^ {2}encoder +mlp$/m);
    assert.match(text, /^ {2}evaluations +\["i_est_test","linear_eval"\]$/m);
    assert.match(text, /^ {2}setting +count +values +from$/m);
    assert.match(text, /^ {2}critic +3 +bilinear, separable, concat +grid\.critic$/m);
    assert.match(text, /^ {2}learning_rate +2 +0\.0001, 0\.001 +zip\[0\]$/m);
    assert.match(text, /^ {2}seed +3 +0, 1, 2 +seeds$/m);
    assert.match(text, /^ {2}quick +24 trials +tiny run$/m);
    assert.ok(text.endsWith('\n'));
  });

  it('marks the chosen profile and shortens long value lists', () => {
    const many = { ...spec, seeds: 40 };
    const text = renderValidateText(describeSpec(many, 'bilinear-only'));
    assert.match(text, /profile "bilinear-only"/);
    assert.match(text, /^ {2}bilinear-only \* +/m);
    assert.match(text, /0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, \.\.\. \(28 more\)/);
  });
});
