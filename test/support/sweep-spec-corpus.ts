// A generated corpus of malformed sweep specs (wrong types, unknown keys, empty grids,
// absurd sizes, YAML syntax errors, grids over the trial limit, non-UTF-8 bytes), each a
// mutation of one valid spec. Shared by the parser's unit test and the CLI fault test.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { trialConfigSchema } from '../../ml/config.js';
import { SETTING_KEYS, settingSchema } from '../../sweep-spec/schema.js';

export interface Case {
  name: string;
  bytes: Buffer;
  /** The issue paths must include one that starts with this. */
  expectPath?: string;
}

export const FILE = 'test/fixtures/specs/critic-capacity.yaml';
export const validText = readFileSync(
  fileURLToPath(new URL('../fixtures/specs/critic-capacity.yaml', import.meta.url)),
  'utf8',
);
const valid = YAML.parse(validText) as Record<string, any>;
const DEFAULTS = trialConfigSchema.parse({}) as Record<string, unknown>;

export const cases: Case[] = [];

function mutated(name: string, mutate: (spec: Record<string, any>) => void, expectPath?: string): void {
  const spec = structuredClone(valid);
  mutate(spec);
  cases.push({ name, bytes: Buffer.from(YAML.stringify(spec), 'utf8'), expectPath });
}

function text(name: string, source: string, expectPath?: string): void {
  cases.push({ name, bytes: Buffer.from(source, 'utf8'), expectPath });
}

// Values that are wrong for a setting: wrong types, out-of-range numbers, non-members of
// an enum. Each is kept only where the setting's own schema rejects it.
const BAD_VALUES: unknown[] = [{ a: 1 }, 'not-a-value-xyz', -5, 1e12, true, 1.5, [[1]]];
function badValuesFor(key: string): unknown[] {
  const schema = settingSchema(key as (typeof SETTING_KEYS)[number]);
  return BAD_VALUES.filter((v) => !schema.safeParse(v).success);
}

// 1. Every setting with every value its schema rejects, in trial:, in a grid list and in a zip group.
for (const key of SETTING_KEYS) {
  for (const bad of badValuesFor(key)) {
    mutated(`trial.${key} = ${JSON.stringify(bad)}`, (s) => (s.trial[key] = bad), `trial.${key}`);
  }
  const [firstBad] = badValuesFor(key);
  mutated(`grid.${key} has a bad value`, (s) => (s.grid[key] = [DEFAULTS[key], firstBad]), `grid.${key}`);
  mutated(`zip[0].${key} has a bad value`, (s) => (s.zip[0] = { [key]: [firstBad] }), `zip[0].${key}`);
}

// 2. Every setting as an empty grid list, an empty zip list, and a scalar where a list belongs.
for (const key of SETTING_KEYS) {
  mutated(`grid.${key} = []`, (s) => (s.grid[key] = []), `grid.${key}`);
  mutated(`zip[0].${key} = []`, (s) => (s.zip[0] = { [key]: [] }), `zip[0].${key}`);
  if (!Array.isArray(DEFAULTS[key]))
    mutated(`grid.${key} is a scalar`, (s) => (s.grid[key] = DEFAULTS[key]), `grid.${key}`);
}

// 3. Unknown keys at every level.
const unknownAt: [string, (s: Record<string, any>) => Record<string, any>][] = [
  ['', (s) => s],
  ['trial', (s) => s.trial],
  ['grid', (s) => s.grid],
  ['zip[0]', (s) => s.zip[0]],
  ['profiles.quick', (s) => s.profiles.quick],
  ['profiles.quick.trial', (s) => s.profiles.quick.trial],
  ['profiles.bilinear-only.grid', (s) => s.profiles['bilinear-only'].grid],
  ['resources', (s) => s.resources],
];
for (const [where, at] of unknownAt) {
  for (const key of ['foo', 'seed', 'Critic', 'grid_size', 'x y', '__proto__', 'constructor', '1']) {
    const plain = /^[A-Za-z_][\w-]*$/.test(key);
    const path = plain ? (where ? `${where}.${key}` : key) : `${where}[${JSON.stringify(key)}]`;
    if (where === '' && key === 'seed') continue; // `seed` at the top level is simply unknown, covered by foo
    mutated(
      `unknown key ${path}`,
      (s) => Object.defineProperty(at(s), key, { value: 1, enumerable: true, writable: true, configurable: true }),
      path,
    );
  }
}

// 4. Top-level fields of the wrong type or out of range.
const topLevel: [string, unknown][] = [
  ['name', 5],
  ['name', ''],
  ['name', 'Has Spaces'],
  ['name', 'a'.repeat(64)],
  ['name', null],
  ['name', '-lead'],
  ['name', 'double--hyphen'],
  ['study', []],
  ['study', 'UPPER'],
  ['study', { a: 1 }],
  ['description', { a: 1 }],
  ['description', 7],
  ['description', ['x']],
  ['trial', []],
  ['trial', 'x'],
  ['trial', null],
  ['trial', 3],
  ['grid', 'x'],
  ['grid', []],
  ['grid', null],
  ['grid', 12],
  ['zip', {}],
  ['zip', 'x'],
  ['zip', [[]]],
  ['zip', [{}]],
  ['zip', [null]],
  ['zip', null],
  ['seeds', 0],
  ['seeds', -3],
  ['seeds', 1.5],
  ['seeds', []],
  ['seeds', ['a']],
  ['seeds', [-1]],
  ['seeds', [1, 1]],
  ['seeds', 1e9],
  ['seeds', 'two'],
  ['seeds', null],
  ['seeds', [0.5]],
  ['seeds', [2 ** 40]],
  ['seeds', { n: 2 }],
  ['profiles', []],
  ['profiles', 'quick'],
  ['profiles', { quick: 3 }],
  ['profiles', { 'Bad Name': {} }],
  ['profiles', { q: { seeds: 0 } }],
  ['profiles', { q: { trial: { critic: 'nope' } } }],
  ['profiles', { q: { grid: { critic: [] } } }],
  ['profiles', { q: { zip: [{ target: [1], estimator: [] }] } }],
  ['profiles', { q: { max_concurrent_trials: 0 } }],
  ['profiles', { q: { resources: { queue: 'tpu' } } }],
  ['profiles', { q: null }],
  ['max_concurrent_trials', 0],
  ['max_concurrent_trials', -1],
  ['max_concurrent_trials', 1e6],
  ['max_concurrent_trials', '4'],
  ['max_concurrent_trials', 2.5],
  ['resources', 'gpu'],
  ['resources', { queue: 'tpu' }],
  ['resources', { queue: null }],
  ['resources', []],
];
for (const [key, value] of topLevel) {
  mutated(`${key} = ${JSON.stringify(value)}`, (s) => (s[key] = value), key);
}
mutated('name missing', (s) => delete s.name, 'name');
mutated('study missing', (s) => delete s.study, 'study');

// 5. Absurd sizes and combinations that only fail as a whole.
mutated('seeds make too many trials', (s) => (s.seeds = 10_000));
mutated('grid makes too many trials', (s) => (s.grid.noise = Array.from({ length: 9000 }, (_, i) => i / 1000)));
mutated('profile makes too many trials', (s) => (s.profiles.quick.seeds = 90_000), 'profiles.quick');
mutated('zip lengths differ', (s) => s.zip[0].batch_size.push(512), 'zip[0].batch_size');
mutated('setting fixed and varied', (s) => (s.trial.critic = 'inner'), 'grid.critic');
mutated('setting in grid and zip', (s) => (s.zip[0].critic = ['inner', 'concat']), 'zip[0].critic');
mutated('repeated grid value', (s) => s.grid.critic.push('bilinear'), 'grid.critic[3]');
mutated('repeated seed', (s) => s.seeds.push(0), 'seeds[3]');
mutated('objective target without target', (s) => (s.trial.objective = 'target'), 'trial.target');
mutated('adversarial procedure with MLP encoders', (s) => (s.trial.procedure = 'adversarial'), 'trial.encoder');
mutated('gaussian data with linear evaluation', (s) => (s.trial.data = 'gaussian'), 'trial.encoder');
mutated('batch size absurd', (s) => (s.trial.batch_size = 1e9), 'trial.batch_size');
mutated('steps negative', (s) => (s.trial.steps = -1), 'trial.steps');
mutated('learning rate zero', (s) => (s.grid.learning_rate = [0]), 'grid.learning_rate[0]');
mutated('noise infinite', (s) => (s.trial.noise = Infinity), 'trial.noise');
mutated('critic_hidden too long', (s) => (s.trial.critic_hidden = Array(17).fill(10)), 'trial.critic_hidden');
mutated('critic_hidden empty', (s) => (s.trial.critic_hidden = []), 'trial.critic_hidden');

// 6. YAML syntax errors.
const syntax: [string, string][] = [
  ['unclosed flow sequence', validText.replace('[bilinear, separable, concat]', '[bilinear, separable, concat')],
  ['unclosed flow mapping', 'name: a\nstudy: b\ntrial: {steps: 1\n'],
  ['unclosed quote', validText.replace('name: critic-capacity', 'name: "critic-capacity')],
  ['tab indentation', validText.replace('  encoder: mlp', '\tencoder: mlp')],
  ['duplicate key', `${validText}name: again\n`],
  ['bad indentation', validText.replace('  steps: 21000', '     steps: 21000')],
  ['two documents', `${validText}---\nname: b\n`],
  ['unknown tag', validText.replace('steps: 21000', 'steps: !big 21000')],
  ['reserved indicator', 'name: @a\nstudy: b\n'],
  ['lone colon', 'name: a\nstudy: b\n: x\n'],
  ['mapping in sequence mess', 'name: a\nstudy: b\ngrid:\n  critic:\n  - bilinear\n   - concat\n'],
  ['continuation line that looks like a key', 'name: a\nstudy: b\n  extra: indented\n'],
  ['block scalar content at column 0', 'name: a\nstudy: b\ndescription: |\nx\n'],
  ['folded scalar dedented into a key', 'name: a\nstudy: b\ndescription: >\n  x\n y: 2\n'],
  ['undefined alias', 'name: *nope\nstudy: b\n'],
  ['directive garbage', '%YAML 9.9\n---\nname: a\n'],
  ['stray closing bracket', 'name: a]\nstudy: b\ngrid: {critic: [inner]]}\n'],
  ['comma in block', 'name: a,\n  study: b\n'],
];
for (const [name, source] of syntax) text(`syntax: ${name}`, source);
text('empty file', '');
text('only comments', '# nothing here\n');
text('a list document', '- name: a\n');
text('a scalar document', '42\n');

// 7. Bytes that are not UTF-8, at the start, inside a string, inside a key and at the end.
const invalidSequences: [string, number[]][] = [
  ['0xff', [0xff]],
  ['0xfe', [0xfe]],
  ['lone continuation', [0x80]],
  ['overlong slash', [0xc0, 0xaf]],
  ['overlong 3-byte', [0xe0, 0x80, 0xaf]],
  ['surrogate', [0xed, 0xa0, 0x80]],
  ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ['5-byte lead', [0xf8, 0x88, 0x80, 0x80, 0x80]],
  ['latin-1 e-acute', [0xe9]],
  ['truncated 2-byte', [0xc3]],
];
export const validBytes = Buffer.from(validText, 'utf8');
const offsets = [0, validText.indexOf('critic-capacity'), validText.indexOf('encoder'), validBytes.length];
for (const [name, seq] of invalidSequences) {
  for (const offset of offsets) {
    cases.push({
      name: `non-UTF-8 ${name} at ${offset}`,
      bytes: Buffer.concat([validBytes.subarray(0, offset), Buffer.from(seq), validBytes.subarray(offset)]),
    });
  }
}
