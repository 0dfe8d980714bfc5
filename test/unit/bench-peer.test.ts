// The pure parts of `mirl bench --peer jax`: no JAX is installed or run here, and no time is asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  alternationSchedule,
  peerRow,
  partitionCases,
  runPeerComparison,
  type StepPlan,
} from '../../bench/peer/compare.js';
import { JAX_CASES, JAX_STEP, parsePeerOutput, peerSkipReason, type PeerMeasurement } from '../../bench/peer/jax.js';
import { BENCH_CASES } from '../../bench/cases.js';
import { evaluatePeerTargets, PEER_RATIO_TARGETS, type BenchRow } from '../../bench/targets.js';
import { stepPlan } from '../../bench/run.js';

test('the schedule alternates mirl and the peer, mirl first, rounds turns each', () => {
  assert.deepEqual(alternationSchedule(1), ['mirl', 'peer']);
  assert.deepEqual(alternationSchedule(3), ['mirl', 'peer', 'mirl', 'peer', 'mirl', 'peer']);
  assert.throws(() => alternationSchedule(0), RangeError);
  assert.throws(() => alternationSchedule(1.5), RangeError);
});

test('a row keeps each side its best round and reports mirl/peer', () => {
  const row = peerRow('mlp+bilinear', 'tensorflow', 'jax', 2, {
    mirl: [12, 9],
    peer: [6, 8],
    errors: [],
    peerVersion: '0.10.2',
    peerInitialLoss: 0.1,
  });
  assert.equal(row.measure, 'peer');
  assert.equal(row.mirl_ms, 9);
  assert.equal(row.peer_ms, 6);
  assert.equal(row.ratio, 1.5);
  assert.equal(row.peer_version, '0.10.2');
  assert.equal(row.rounds, 2);
  assert.deepEqual(row.mirl_round_ms, [12, 9]);
  assert.equal(row.error, undefined);
});

test('a side without a successful round makes an error row, not a ratio', () => {
  const row = peerRow('mlp+concat', 'tensorflow', 'jax', 2, {
    mirl: [20],
    peer: [],
    errors: ['jax: out of memory'],
    peerVersion: null,
    peerInitialLoss: null,
  });
  assert.equal(row.ratio, undefined);
  assert.match(String(row.error), /no successful jax round: jax: out of memory/);
});

test('the JSON jax_step.py prints is parsed; failures and partial output become errors', () => {
  const line = JSON.stringify({
    case: 'mlp+bilinear',
    ms_per_step_median: 4.7,
    ms_per_step_min: 4.1,
    steps: 50,
    warmup: 10,
    jax_version: '0.10.2',
    devices: ['cpu:0'],
    initial_loss: 0.17,
  });
  const ok = parsePeerOutput(`compiling\n${line}\n`, 0) as PeerMeasurement;
  assert.equal(ok.ms_per_step_median, 4.7);
  assert.equal(ok.jax_version, '0.10.2');
  assert.deepEqual(ok.devices, ['cpu:0']);
  assert.equal(ok.initial_loss, 0.17);
  assert.deepEqual(parsePeerOutput('', 1, 'Traceback\nModuleNotFoundError: No module named jax'), {
    error: 'ModuleNotFoundError: No module named jax',
  });
  assert.match((parsePeerOutput('{"case": "x", "ms_per', 0) as { error: string }).error, /malformed/);
  assert.match((parsePeerOutput('{"case": "x", "ms_per_step_median": null}', 0) as { error: string }).error, /lacks/);
});

test('every bench case either runs in the peer or is skipped with a reason', () => {
  const { run, skipped } = partitionCases(Object.keys(BENCH_CASES));
  assert.ok(
    run.includes('mlp+bilinear') &&
      run.includes('mlp+separable') &&
      run.includes('mlp+concat') &&
      run.includes('realnvp-shift+bilinear'),
  );
  assert.deepEqual(
    skipped.map((s) => s.name),
    ['adversarial-realnvp-affine'],
  );
  assert.match(skipped[0].reason, /different procedure/);
  assert.equal(peerSkipReason('no-such-case'), 'unknown bench case');
});

test("the TypeScript list of peer cases is the Python script's CASES table", () => {
  const py = readFileSync(JAX_STEP, 'utf8');
  const table = py.slice(py.indexOf('CASES = {'), py.indexOf('\n}\n', py.indexOf('CASES = {')));
  const names = [...table.matchAll(/^ {4}"([^"]+)": dict\(/gm)].map((m) => m[1]);
  assert.deepEqual(names.sort(), Object.keys(JAX_CASES).sort());
  for (const name of names) assert.ok(BENCH_CASES[name], `${name} is not a bench case`);
});

test('the comparison skips, alternates per case and backend, and uses one plan for both sides', async () => {
  const calls: string[] = [];
  const rows: BenchRow[] = [];
  const plans: StepPlan[] = [];
  let mirlMs = 10;
  await runPeerComparison({
    peer: 'jax',
    cases: ['mlp+bilinear', 'adversarial-realnvp-affine', 'realnvp-shift+bilinear'],
    backends: ['tensorflow', 'cpu'],
    rounds: 2,
    plan: (name, backend) => stepPlan(name, backend, { steps: 50, slowSteps: 8, warmup: 10 }),
    measureMirl: async (name, backend, plan) => {
      calls.push(`mirl ${name} ${backend}`);
      plans.push(plan);
      return { ms_per_step: mirlMs-- };
    },
    measurePeer: async (name, plan) => {
      calls.push(`jax ${name}`);
      plans.push(plan);
      return {
        case: name,
        ms_per_step_median: 4,
        ms_per_step_min: 3,
        steps: plan.steps,
        jax_version: '0.10.2',
        devices: [],
      };
    },
    add: (r) => rows.push(r),
  });
  assert.deepEqual(rows[0], {
    measure: 'peer',
    case: 'adversarial-realnvp-affine',
    peer: 'jax',
    skipped: rows[0].skipped,
  });
  assert.deepEqual(calls.slice(0, 4), [
    'mirl mlp+bilinear tensorflow',
    'jax mlp+bilinear',
    'mirl mlp+bilinear tensorflow',
    'jax mlp+bilinear',
  ]);
  // The plain JS backend runs mlp+bilinear but not RealNVP (hours a run).
  assert.deepEqual(
    rows.slice(1).map((r) => `${r.case} ${r.backend} ${r.ratio}`),
    ['mlp+bilinear tensorflow 2.25', 'mlp+bilinear cpu 1.75', 'realnvp-shift+bilinear tensorflow 1.25'],
  );
  assert.deepEqual(plans.slice(-4), Array(4).fill({ steps: 8, warmup: 2 }));
});

test("peer targets read pass/FAIL from the native backend's ratios and not measured otherwise", () => {
  const rows: BenchRow[] = [
    { measure: 'peer', case: 'mlp+bilinear', backend: 'tensorflow', peer: 'jax', ratio: 0.8 },
    { measure: 'peer', case: 'mlp+concat', backend: 'tensorflow', peer: 'jax', ratio: 1.3 },
    { measure: 'peer', case: 'mlp+concat', backend: 'wasm', peer: 'jax', ratio: 0.5 },
    { measure: 'peer', case: 'realnvp-shift+bilinear', backend: 'tensorflow', peer: 'jax', ratio: 1.1 },
    { measure: 'peer', case: 'mlp+separable', backend: 'tensorflow', peer: 'jax', error: 'no successful jax round' },
  ];
  assert.deepEqual(
    evaluatePeerTargets(rows).map((t) => `${t.target} ${t.pass} ${t.measured} <= ${t.limit}`),
    [
      'MLP + bilinear critic step over JAX true 0.8 <= 1',
      'MLP + separable critic step over JAX null null <= 1',
      'MLP + concat critic step over JAX false 1.3 <= 1',
      'RealNVP shift + bilinear critic step over JAX true 1.1 <= 1.2',
    ],
  );
  assert.ok(evaluatePeerTargets([]).every((t) => t.pass === null));
  assert.equal(PEER_RATIO_TARGETS.length, 4);
});
