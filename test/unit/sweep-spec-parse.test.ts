import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CRITICS, EVALUATIONS } from '../../ml/config.js';
import { formatSpecError, isSpecError, ROOT_PATH, SpecError, type SpecIssue } from '../../sweep-spec/errors.js';
import { parseSpec, parseSpecData } from '../../sweep-spec/parse.js';
import { loadSpecFile } from '../../sweep-spec/load.js';
import { DEFAULT_MAX_CONCURRENT_TRIALS, MAX_TRIALS } from '../../sweep-spec/schema.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/specs/${name}`, import.meta.url));
const FILE = 'sweeps/x.yaml';

const HEAD = 'name: demo\nstudy: demo-study\n';

function rejects(source: string | Uint8Array): SpecError {
  try {
    parseSpec(source, FILE);
  } catch (err) {
    assert.ok(isSpecError(err), `expected a SpecError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the spec to be rejected');
}

function issueAt(err: SpecError, path: string): SpecIssue {
  const issue = err.issues.find((i) => i.path === path);
  assert.ok(issue, `no issue at ${path}; got ${err.issues.map((i) => i.path).join(', ')}`);
  return issue;
}

describe('parseSpec: valid specs', () => {
  it('fills defaults for everything left out', () => {
    const spec = parseSpec(HEAD);
    assert.deepEqual(spec, {
      name: 'demo',
      study: 'demo-study',
      description: '',
      trial: {},
      grid: {},
      zip: [],
      seeds: 1,
      profiles: {},
      max_concurrent_trials: DEFAULT_MAX_CONCURRENT_TRIALS,
      resources: { queue: 'cpu' },
    });
  });

  it('keeps trial settings as written, without trial defaults mixed in', () => {
    const spec = parseSpec(`${HEAD}trial:\n  steps: 10\n  critic: concat\n`);
    assert.deepEqual(spec.trial, { steps: 10, critic: 'concat' });
  });

  it('reads a full spec with grid, zip, seeds list, profiles and resources', () => {
    const spec = loadSpecFile(fixture('critic-capacity.yaml'));
    assert.equal(spec.name, 'critic-capacity');
    assert.deepEqual(spec.grid, { critic: ['bilinear', 'separable', 'concat'], estimator: ['nce', 'nwj'] });
    assert.deepEqual(spec.zip, [{ learning_rate: [0.0001, 0.001], batch_size: [128, 256] }]);
    assert.deepEqual(spec.seeds, [0, 1, 2]);
    assert.equal(spec.max_concurrent_trials, 8);
    assert.equal(spec.resources.queue, 'gpu');
    assert.deepEqual(Object.keys(spec.profiles), ['quick', 'bilinear-only']);
    assert.equal(
      spec.description.trim(),
      'MLP encoders with bilinear, separable and concat critics under NCE and NWJ.',
    );
  });

  it('keeps grid axes, zip settings and trial settings in written order, not schema order', () => {
    const spec = parseSpec(
      `${HEAD}trial: {steps: 5, noise: 0.1}\ngrid:\n  estimator: [nce]\n  critic: [inner]\n  batch_size: [64]\n`,
    );
    assert.deepEqual(Object.keys(spec.grid), ['estimator', 'critic', 'batch_size']);
    assert.deepEqual(Object.keys(spec.trial), ['steps', 'noise']);
    const zipped = parseSpec(`${HEAD}zip:\n  - {target: [1, 2], estimator: [nce, nwj]}\n`);
    assert.deepEqual(Object.keys(zipped.zip[0]), ['target', 'estimator']);
  });

  it('accepts bytes with a UTF-8 byte-order mark and non-ASCII text', () => {
    const bytes = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(`${HEAD}description: "µ-law, naïve, 互信息"\n`, 'utf8'),
    ]);
    assert.equal(parseSpec(bytes).description, 'µ-law, naïve, 互信息');
  });

  it('accepts nullable settings as grid values and lists as values of list settings', () => {
    const spec = parseSpec(
      `${HEAD}grid:\n  linear_eval_train_size: [null, 5000]\n  critic_hidden: [[200], [100, 100]]\n`,
    );
    assert.deepEqual(spec.grid.linear_eval_train_size, [null, 5000]);
    assert.deepEqual(spec.grid.critic_hidden, [[200], [100, 100]]);
  });

  it('validates plain data the same way (specs that arrive as JSON)', () => {
    const spec = parseSpecData({ name: 'a', study: 'b', grid: { critic: ['inner'] } });
    assert.deepEqual(spec.grid, { critic: ['inner'] });
    assert.throws(() => parseSpecData({ name: 'a', study: 'b', grid: { critic: ['x'] } }), SpecError);
  });
});

describe('parseSpec: errors name the field', () => {
  it('an invalid enum value in a grid list: path with index, value, allowed values from the schema', () => {
    const err = rejects(`${HEAD}grid:\n  critic: [bilinear, separable, foo]\n`);
    const issue = issueAt(err, 'grid.critic[2]');
    assert.equal(issue.value, '"foo"');
    assert.equal(issue.file, FILE);
    assert.deepEqual(issue.allowed, [...CRITICS]);
    assert.equal(
      formatSpecError(err),
      'sweeps/x.yaml: grid.critic[2]: "foo" is not a valid critic; allowed: inner, bilinear, separable, concat',
    );
    assert.equal(issue.line, 4);
  });

  it('a value out of range in trial:', () => {
    const err = rejects(`${HEAD}trial:\n  batch_size: 1\n`);
    const issue = issueAt(err, 'trial.batch_size');
    assert.equal(issue.value, '1');
    assert.match(issue.message, />= 2/);
    assert.equal(issue.line, 4);
    assert.equal(issue.column, 3);
  });

  it('reports the tightest bound once, not every failed check', () => {
    const err = rejects(`${HEAD}trial:\n  batch_size: -1\n`);
    assert.equal(err.issues.length, 1);
    assert.match(err.issues[0].message, /must be >= 2, got -1/);
  });

  it('an enum inside a list setting', () => {
    const err = rejects(`${HEAD}trial:\n  evaluations: [linear_eval, nope]\n`);
    const issue = issueAt(err, 'trial.evaluations[1]');
    assert.deepEqual(issue.allowed, [...EVALUATIONS]);
    assert.match(issue.message, /"nope" is not a valid evaluation/);
  });

  it('a bad value in a zip group', () => {
    const err = rejects(`${HEAD}trial: {objective: target}\nzip:\n  - {estimator: [nce, nwj], target: [2, four]}\n`);
    const issue = issueAt(err, 'zip[0].target[1]');
    assert.equal(issue.value, '"four"');
    assert.match(issue.message, /expected a number/);
  });

  it('a zip list that is not a list', () => {
    const err = rejects(`${HEAD}zip:\n  - {estimator: [nce, nwj], target: 2}\n`);
    assert.match(issueAt(err, 'zip[0].target').message, /expected a list/);
  });

  it('unknown keys at every level, with a suggestion when one is close', () => {
    const err = rejects(
      `${HEAD}trial:\n  foo: 1\n  critc: bilinear\ngird: {}\nprofiles:\n  quick: {seedz: 1}\nresources: {queue: cpu, gpus: 1}\n`,
    );
    assert.match(issueAt(err, 'trial.foo').message, /unknown trial setting "foo"/);
    assert.ok(issueAt(err, 'trial.foo').allowed?.includes('critic'));
    assert.match(issueAt(err, 'trial.critc').message, /did you mean "critic"/);
    assert.match(issueAt(err, 'gird').message, /did you mean "grid"/);
    assert.match(issueAt(err, 'profiles.quick.seedz').message, /did you mean "seeds"/);
    assert.match(issueAt(err, 'resources.gpus').message, /unknown key "gpus"/);
  });

  it('seed is owned by seeds:, with a message that says so', () => {
    const err = rejects(`${HEAD}trial: {seed: 3}\ngrid: {seed: [1, 2]}\n`);
    assert.match(issueAt(err, 'trial.seed').message, /top-level `seeds:`/);
    assert.match(issueAt(err, 'grid.seed').message, /top-level `seeds:`/);
  });

  it('unequal zip lengths point at the list that differs', () => {
    const err = rejects(`${HEAD}zip:\n  - {estimator: [nce, nwj], target: [2, 4, 6]}\n`);
    const issue = issueAt(err, 'zip[0].target');
    assert.match(issue.message, /has 3 values but zip\[0\]\.estimator has 2/);
  });

  it('an empty grid list, an empty zip group', () => {
    let err = rejects(`${HEAD}grid:\n  critic: []\n`);
    assert.match(issueAt(err, 'grid.critic').message, /empty list/);
    err = rejects(`${HEAD}zip:\n  - {}\n`);
    assert.match(issueAt(err, 'zip[0]').message, /empty zip group/);
  });

  it('seeds: 0, negative seeds, repeated seeds, a bad type', () => {
    assert.match(issueAt(rejects(`${HEAD}seeds: 0\n`), 'seeds').message, /must be >= 1, got 0/);
    assert.match(issueAt(rejects(`${HEAD}seeds: [0, -1]\n`), 'seeds[1]').message, /must be >= 0/);
    assert.match(issueAt(rejects(`${HEAD}seeds: [4, 5, 4]\n`), 'seeds[2]').message, /repeats seeds\[0\]/);
    assert.match(issueAt(rejects(`${HEAD}seeds: two\n`), 'seeds').message, /a count .* or a list of seeds/);
    assert.match(issueAt(rejects(`${HEAD}seeds: []\n`), 'seeds').message, /empty list/);
    assert.match(issueAt(rejects(`${HEAD}seeds: 1.5\n`), 'seeds').message, /integer/);
  });

  it('a repeated grid value and a repeated zip row', () => {
    assert.match(
      issueAt(rejects(`${HEAD}grid: {critic: [inner, concat, inner]}\n`), 'grid.critic[2]').message,
      /repeats grid\.critic\[0\]/,
    );
    const err = rejects(`${HEAD}zip:\n  - {estimator: [nce, nce], target: [2, 2]}\n`);
    assert.match(issueAt(err, 'zip[0]').message, /row 1 repeats row 0/);
  });

  it('a setting both fixed and varied, or varied twice', () => {
    assert.match(
      issueAt(rejects(`${HEAD}trial: {critic: inner}\ngrid: {critic: [inner, concat]}\n`), 'grid.critic').message,
      /also fixed in trial\.critic/,
    );
    assert.match(
      issueAt(
        rejects(`${HEAD}grid: {estimator: [nce, nwj]}\nzip: [{estimator: [nce, nwj], target: [1, 2]}]\n`),
        'zip[0].estimator',
      ).message,
      /also a grid axis/,
    );
    assert.match(
      issueAt(rejects(`${HEAD}zip: [{target: [1, 2]}, {target: [3, 4]}]\n`), 'zip[1].target').message,
      /also in zip\[0\]/,
    );
  });

  it('missing name and study; names must be slugs', () => {
    const err = rejects('trial: {}\n');
    assert.match(issueAt(err, 'name').message, /required/);
    assert.match(issueAt(err, 'study').message, /required/);
    assert.match(issueAt(rejects('name: Critic Capacity\nstudy: x\n'), 'name').message, /lowercase slug/);
    assert.match(issueAt(rejects(`${HEAD}profiles: {Quick: {}}\n`), 'profiles.Quick').message, /profile name "Quick"/);
  });

  it('too many trials, with the count and the factors', () => {
    const err = rejects(
      `${HEAD}grid:\n  noise: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n  steps: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n  log_interval: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nseeds: 101\n`,
    );
    const issue = issueAt(err, ROOT_PATH);
    assert.match(issue.message, /101,000 trials \(noise 10 x steps 10 x log_interval 10 x seeds 101\)/);
    assert.match(issue.message, new RegExp(`limit of ${MAX_TRIALS.toLocaleString('en-US')}`));
    assert.equal(formatSpecError(err).startsWith('sweeps/x.yaml: the spec expands to 101,000 trials'), true);
  });

  it('a profile that expands to too many trials names the profile', () => {
    const err = rejects(`${HEAD}profiles:\n  huge: {seeds: 100000, grid: {critic: [inner, concat]}}\n`);
    assert.match(issueAt(err, 'profiles.huge').message, /profile "huge" expands to 200,000 trials/);
  });

  it('cross-field rules of the resolved trial, naming the failing configuration', () => {
    const err = rejects(`${HEAD}grid:\n  objective: [maximize, target]\n  estimator: [nce, nwj]\n`);
    assert.equal(err.issues.length, 1);
    const issue = issueAt(err, 'trial.target');
    assert.match(issue.message, /objective "target" needs a number in `target`/);
    assert.match(issue.message, /fails in 2 of 4 configurations, e\.g\. objective=target, estimator=nce/);
    assert.deepEqual(issue.trial, { objective: 'target', estimator: 'nce' });
  });

  it('combinations nothing can train, and trials of no steps, are refused before launch', () => {
    const none = rejects(`${HEAD}trial: {encoder: identity}\ngrid:\n  critic: [bilinear, inner]\n`);
    assert.equal(none.issues.length, 1);
    assert.equal(none.issues[0].path, 'grid.critic[1]');
    assert.match(none.issues[0].message, /encoder "identity" and critic "inner" have no weights between them/);
    const zero = rejects(`${HEAD}trial: {steps: 0}\n`);
    assert.equal(zero.issues[0].path, 'trial.steps');
    assert.match(formatSpecError(zero), /trial\.steps/);
  });

  it('cross-field failures blame the axis value that caused them', () => {
    const err = rejects(`${HEAD}grid:\n  procedure: [infomax, adversarial]\n`);
    const issue = issueAt(err, 'trial.encoder');
    assert.match(issue.message, /use encoder "realnvp"/);
    const viaAxis = rejects(`${HEAD}trial: {procedure: adversarial}\ngrid:\n  encoder: [realnvp, mlp]\n`);
    assert.equal(viaAxis.issues[0].path, 'grid.encoder[1]');
    assert.equal(viaAxis.issues[0].value, '"mlp"');
  });

  it('cross-field failures that only a profile causes name the profile', () => {
    const err = rejects(`${HEAD}profiles:\n  tgt:\n    trial: {objective: target}\n`);
    const issue = issueAt(err, 'trial.target');
    assert.match(issue.message, /^with profile "tgt": objective "target"/);
    const pinned = rejects(
      `${HEAD}trial: {objective: target, target: 2}\nprofiles:\n  tgt:\n    trial: {target: null}\n`,
    );
    assert.equal(pinned.issues[0].path, 'profiles.tgt.trial.target');
  });

  it('YAML syntax errors give line and column', () => {
    const err = rejects(`${HEAD}grid:\n  critic: [bilinear, separable\ntrial: {}\n`);
    const issue = err.issues[0];
    assert.equal(issue.path, ROOT_PATH);
    assert.equal(issue.line, 5);
    assert.equal(typeof issue.column, 'number');
    assert.match(formatSpecError(err), /^sweeps\/x\.yaml:5:\d+: YAML: /);
  });

  it('duplicate keys, tabs, several documents and unknown tags are YAML errors', () => {
    assert.match(rejects(`${HEAD}name: again\n`).issues[0].message, /DUPLICATE_KEY/);
    assert.equal(rejects(`${HEAD}name: again\n`).issues[0].line, 3);
    assert.match(rejects(`${HEAD}trial:\n\tsteps: 1\n`).issues[0].message, /YAML/);
    assert.match(rejects(`${HEAD}---\nname: b\n`).issues[0].message, /MULTIPLE_DOCS/);
    assert.match(rejects(`${HEAD}trial: {steps: !big 5}\n`).issues[0].message, /TAG/);
  });

  it('invalid UTF-8 bytes are rejected with their position', () => {
    const bytes = Buffer.concat([Buffer.from(`${HEAD}description: caf`), Buffer.from([0xe9]), Buffer.from('\n')]);
    const err = rejects(bytes);
    const issue = err.issues[0];
    assert.equal(issue.path, ROOT_PATH);
    assert.equal(issue.line, 3);
    assert.equal(issue.column, 17);
    assert.match(issue.message, /not valid UTF-8: byte 0xe9 at offset 45/);
  });

  it('an empty file and a non-mapping document', () => {
    assert.match(rejects('').issues[0].message, /the spec is empty/);
    assert.match(rejects('# only a comment\n').issues[0].message, /the spec is empty/);
    assert.match(rejects('- a\n- b\n').issues[0].message, /got a list/);
    assert.match(rejects('just text\n').issues[0].message, /got a string/);
  });

  it('alias bombs are refused', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      lines.push(
        `${cur}: &${cur} [*${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}]`,
      );
    }
    assert.match(rejects(`${lines.join('\n')}\n`).issues[0].message, /alias/i);
  });

  it('collects several problems at once, one line each', () => {
    const err = rejects(`${HEAD}trial:\n  batch_size: 0\n  foo: 1\ngrid:\n  critic: [foo]\nseeds: 0\n`);
    assert.deepEqual(
      err.issues.map((i) => i.path),
      ['trial.batch_size', 'trial.foo', 'grid.critic[0]', 'seeds'],
    );
    assert.equal(formatSpecError(err).split('\n').length, 4);
    assert.equal(err.message, formatSpecError(err));
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'SpecError');
  });

  it('loadSpecFile reports an unreadable file as a SpecError', () => {
    assert.throws(
      () => loadSpecFile(fixture('no-such-file.yaml')),
      (err: unknown) => isSpecError(err) && /no such file/.test(err.message),
    );
  });

  it('the fixture files are valid', () => {
    for (const name of ['critic-capacity.yaml', 'encoder-impact.yaml']) {
      assert.doesNotThrow(() => parseSpec(readFileSync(fixture(name)), name));
    }
  });
});
