// The step measurement's kernel count: a deterministic figure for issue 13's "kernels per
// step", read from the engine's profiler on one untimed step.
import { test } from 'node:test';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { measure, stackableCases, ALL_CASES } from '../../bench/run.js';
import { nativeOnly } from '../support/tf.js';
import { measureStackStudy, stackGroups, dealLanes } from '../../bench/stack-study.js';
import { measurePathStudy } from '../../bench/path-study.js';
import { parseTrialConfig } from '../../ml/config.js';

const step = (backend: 'tensorflow' | 'wasm', path = 'fast') =>
  measure({ kind: 'step', backend, name: 'mlp+bilinear', steps: 2, warmup: 1 }, { MIRL_STEP_PATH: path }) as Promise<
    Record<string, number>
  >;

test('a step row counts the kernels of one step, the same on every run', async () => {
  const [a, b] = [await step('wasm'), await step('wasm')];
  assert.ok(Number.isInteger(a.kernels_per_step) && a.kernels_per_step > 50, JSON.stringify(a));
  assert.equal(a.kernels_per_step, b.kernels_per_step);
});

// Native TensorFlow is best effort (scripts/setup-native.sh): compared where it loads, as in ml-fast-path.

test("the native backend's fast step path launches fewer kernels than wasm's plain one", nativeOnly(), async () => {
  const [native, wasm] = [await step('tensorflow'), await step('wasm')];
  assert.ok(native.kernels_per_step < wasm.kernels_per_step, `${native.kernels_per_step} vs ${wasm.kernels_per_step}`);
});

test(
  "a graph step row gives the graph's size, the kernels the profiler sees being only the batch's",
  nativeOnly(),
  async () => {
    const [graph, fast] = [await step('tensorflow', 'graph'), await step('tensorflow', 'fast')];
    assert.ok(graph.graph_nodes > 100, JSON.stringify(graph));
    assert.ok(graph.kernels_per_step < 5, JSON.stringify(graph));
    assert.equal(fast.graph_nodes, undefined);
  },
);

test('a seed_stack row times one seed against S stacked, for the cases that stack', async () => {
  assert.deepEqual(stackableCases(ALL_CASES), ['mlp+bilinear', 'mlp+separable']);
  const row = (await measure({
    kind: 'seed-stack',
    backend: 'wasm',
    name: 'mlp+separable',
    seeds: 3,
    steps: 4,
    warmup: 1,
  })) as Record<string, number>;
  assert.equal(row.seeds, 3, JSON.stringify(row));
  assert.ok(row.solo_ms_per_step > 0 && row.stack_ms_per_step > 0, JSON.stringify(row));
  assert.equal(row.speedup_per_seed, (3 * row.solo_ms_per_step) / row.stack_ms_per_step);
  // One stacked step launches about as many kernels as one seed's, whatever S is: the point of stacking.
  assert.ok(row.stack_kernels_per_step < 2 * row.solo_kernels_per_step, JSON.stringify(row));
});

/**
 * The smoke study's grid (2 critics x 2 seeds, both stack) at 20 steps without linear
 * evaluation: what the study rows count and time is the same as at smoke's 200 steps.
 */
async function smallStudySpec(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mirl-bench-study-'));
  const file = path.join(dir, 'small.yaml');
  const trial = ['  encoder: mlp', '  steps: 20', '  batch_size: 32', '  eval_interval: 10'];
  const evals = ['  evaluations: [i_est_test]', '  i_est_test_batches: 2'];
  const lines = [
    'name: small',
    'study: smoke',
    'trial:',
    ...trial,
    ...evals,
    'grid:',
    '  critic: [bilinear, separable]',
  ];
  await writeFile(file, [...lines, 'seeds: 2', 'profiles:', '  quick:', '    seeds: 1', ''].join('\n'));
  return file;
}

test("a stack_study row runs a study's stackable trials alone and as stacks", nativeOnly(), async () => {
  const spec = await smallStudySpec();
  const row = await measureStackStudy({ spec, profile: null, backend: 'tensorflow', lanes: 2, rounds: 1 }, measure);
  assert.equal(row.error, undefined, JSON.stringify(row));
  // 2 critics x 2 seeds, both critics stack.
  assert.equal(row.trials, 4);
  assert.equal(row.stacks, 2);
  assert.ok((row.solo_trials_per_hour as number) > 0 && (row.stacked_trials_per_hour as number) > 0);
  assert.equal(row.gain, (row.solo_seconds as number[])[0] / (row.stacked_seconds as number[])[0]);
  // Its quick profile has one seed per configuration: nothing to stack, said so.
  const quick = await measureStackStudy(
    { spec, profile: 'quick', backend: 'tensorflow', lanes: 2, rounds: 1 },
    measure,
  );
  assert.match(String(quick.error), /no configuration of this study stacks/);
});

test("a path_study row runs a study's trials on each step path", nativeOnly(), async () => {
  const row = await measurePathStudy(
    {
      spec: await smallStudySpec(),
      profile: null,
      backend: 'tensorflow',
      lanes: 2,
      rounds: 1,
      paths: ['fast', 'graph'],
    },
    measure,
  );
  assert.equal(row.error, undefined, JSON.stringify(row));
  assert.equal(row.trials, 4);
  assert.ok((row.fast_trials_per_hour as number) > 0 && (row.graph_trials_per_hour as number) > 0);
  assert.equal(row.gain, (row.fast_seconds as number[])[0] / (row.graph_seconds as number[])[0]);
});

test('stack groups are the seeds of one stackable configuration; lanes are dealt in turn', () => {
  const cfg = (seed: number, critic: 'bilinear' | 'concat') => parseTrialConfig({ critic, seed });
  const groups = stackGroups([cfg(0, 'bilinear'), cfg(0, 'concat'), cfg(1, 'bilinear'), cfg(1, 'concat')]);
  assert.deepEqual(
    groups.map((g) => g.map((c) => [c.critic, c.seed])),
    [
      [
        ['bilinear', 0],
        ['bilinear', 1],
      ],
    ],
  );
  assert.deepEqual(dealLanes([1, 2, 3, 4, 5], 2), [
    [1, 3, 5],
    [2, 4],
  ]);
  assert.deepEqual(dealLanes([1], 4), [[1]]);
});
