// Seeds trained as one stacked computation must each train the trial they would train
// alone: same initial weights, same data, same losses and weights to float rounding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../ml/backend.js';
import { parseTrialConfig, type TrialConfigInput } from '../../ml/config.js';
import { InfomaxTrial } from '../../ml/infomax-trial.js';
import { SeedStack, SeedStackError } from '../../ml/seed-stack.js';
import { stackRefusal } from '../../ml/stackable.js';

const STEPS = 15;
const SEEDS = [0, 4, 9];
/**
 * Relative, absolute below 1 (as test/unit/ml-fast-path.test.ts). A batched product or
 * a reduction over another axis may sum in another order; a wrong gradient, a seed
 * trained on another's data or weights, moves a loss by far more within a few steps.
 */
const TOLERANCE = 1e-4;

const base: TrialConfigInput = { batch_size: 16, steps: STEPS, evaluations: [] };
const CASES: Record<string, TrialConfigInput> = {
  'bilinear nce': { critic: 'bilinear', estimator: 'nce' },
  'separable nwj': { critic: 'separable', estimator: 'nwj' },
  'inner target': { critic: 'inner', estimator: 'nce', objective: 'target', target: 1 },
};

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));

type Weights = Map<string, Float32Array>;

async function weightsOf(trial: InfomaxTrial): Promise<Weights> {
  const out: Weights = new Map();
  for (const name of trial.store.names()) out.set(name, (await trial.store.get(name).data()) as Float32Array);
  return out;
}

async function soloRun(
  cfg: TrialConfigInput,
  steps = STEPS,
): Promise<{ est: number[]; weights: Weights; initial: Weights }> {
  const trial = new InfomaxTrial(parseTrialConfig(cfg));
  const initial = await weightsOf(trial);
  const est: number[] = [];
  for (let i = 0; i < steps; i++) {
    const r = trial.advance();
    est.push((await r.i_est_train.data())[0]);
    tf.dispose(Object.values(r));
  }
  const weights = await weightsOf(trial);
  trial.dispose();
  return { est, weights, initial };
}

for (const backend of ['tensorflow', 'wasm'] as const) {
  for (const [label, c] of Object.entries(CASES)) {
    test(`${backend}: ${label}: each stacked seed trains its solo trial`, async () => {
      await initBackend(backend);
      const cfgs = SEEDS.map((seed) => parseTrialConfig({ ...base, ...c, seed }));
      const stack = new SeedStack(cfgs);
      const stacked = await stackEstimates(stack, STEPS);
      let worst = 0;
      let drift = 0;
      for (const [s, seed] of SEEDS.entries()) {
        const solo = await soloRun({ ...base, ...c, seed });
        solo.est.forEach((e, i) => (worst = Math.max(worst, rel(stacked[i][s], e))));
        const w = stack.weightsOf(s);
        let diff = 0;
        let moved = 0;
        for (const [name, values] of solo.weights) {
          const got = (await w.get(name)!.data()) as Float32Array;
          const init = solo.initial.get(name)!;
          assert.equal(got.length, values.length, name);
          for (let j = 0; j < got.length; j++) {
            diff += (got[j] - values[j]) ** 2;
            moved += (values[j] - init[j]) ** 2;
          }
        }
        drift = Math.max(drift, Math.sqrt(diff / moved));
        tf.dispose([...w.values()]);
      }
      stack.dispose();
      assert.ok(worst < TOLERANCE, `worst relative difference of I_EST ${worst}`);
      // Adam moves a weight whose gradient is at rounding level by a whole learning rate
      // either way, so weights are compared as a whole: the stack's distance from the solo
      // weights against how far training moved them.
      assert.ok(drift < 0.01, `weights differ by ${drift} of their training change`);
      console.log(`${backend} ${label}: I_EST ${worst.toExponential(1)}, weights ${drift.toExponential(1)}`);
      // Seeds that trained on each other's data would agree with their solo runs nowhere.
      assert.notEqual(stacked[STEPS - 1][0], stacked[STEPS - 1][1]);
    });
  }
}

async function stackEstimates(stack: SeedStack, steps: number): Promise<number[][]> {
  const out: number[][] = [];
  for (let i = 0; i < steps; i++) {
    const { i_est_train: est, loss } = stack.advance();
    out.push([...(await est.data())]);
    tf.dispose([est, loss]);
  }
  return out;
}

for (const backend of ['tensorflow', 'wasm'] as const) {
  test(`${backend}: a seed's checkpoint from a stack resumes it alone, and checkpoints of one step resume a stack exactly`, async () => {
    await initBackend(backend);
    const c = { ...base, critic: 'bilinear' as const, estimator: 'nwj' as const };
    const cfgs = SEEDS.map((seed) => parseTrialConfig({ ...c, seed }));
    const stack = new SeedStack(cfgs);
    await stackEstimates(stack, 6);
    const saved = await Promise.all(SEEDS.map((_, i) => stack.checkpointOf(i)));
    const resumed = new SeedStack(cfgs);
    await resumed.restore(saved);
    assert.deepEqual(resumed.steps, [6, 6, 6]);
    // The same computation from the same state: bit for bit.
    assert.deepEqual(await stackEstimates(resumed, 6), await stackEstimates(stack, 6));
    stack.dispose();
    resumed.dispose();

    // Seed 1 alone from the stack's checkpoint against seed 1 alone all along.
    const alone = await soloRun({ ...c, seed: SEEDS[1] }, 12);
    const solo = new InfomaxTrial(cfgs[1]);
    await solo.restore(saved[1]);
    for (let i = 0; i < 6; i++) {
      const r = solo.advance();
      const e = (await r.i_est_train.data())[0];
      tf.dispose(Object.values(r));
      assert.ok(rel(e, alone.est[6 + i]) < TOLERANCE, `step ${7 + i}: ${e} vs ${alone.est[6 + i]}`);
    }
    solo.dispose();
    const short = new SeedStack(cfgs);
    await assert.rejects(short.restore([saved[0], saved[1]]), /2 checkpoints for 3 seeds/);
    short.dispose();
  });

  test(`${backend}: a seed resumed at step 4 and a fresh one share a stack, each on its own schedule`, async () => {
    await initBackend(backend);
    const c = { ...base, critic: 'separable' as const, estimator: 'nce' as const };
    const [a, b] = [SEEDS[0], SEEDS[1]];
    const aloneA = await soloRun({ ...c, seed: a }, 9);
    const aloneB = await soloRun({ ...c, seed: b }, 5);
    // Seed a's trial ran 4 steps alone and checkpointed, as a crashed worker's trial would have.
    const first = new InfomaxTrial(parseTrialConfig({ ...c, seed: a }));
    for (let i = 0; i < 4; i++) tf.dispose(Object.values(first.advance()));
    first.step = 4;
    const saved = await first.checkpoint();
    first.dispose();
    const stack = new SeedStack([a, b].map((seed) => parseTrialConfig({ ...c, seed })));
    await stack.restore([saved, null]);
    assert.deepEqual(stack.steps, [4, 0]);
    const est = await stackEstimates(stack, 5);
    assert.deepEqual(stack.steps, [9, 5]);
    stack.dispose();
    for (let i = 0; i < 5; i++) {
      assert.ok(
        rel(est[i][0], aloneA.est[4 + i]) < TOLERANCE,
        `seed ${a} step ${5 + i}: ${est[i][0]} vs ${aloneA.est[4 + i]}`,
      );
      assert.ok(rel(est[i][1], aloneB.est[i]) < TOLERANCE, `seed ${b} step ${1 + i}: ${est[i][1]} vs ${aloneB.est[i]}`);
    }
  });
}

test('a stack refuses what it cannot train, naming why', async () => {
  await initBackend('tensorflow');
  const cfg = (c: TrialConfigInput) => parseTrialConfig({ ...base, ...c });
  assert.match(stackRefusal([cfg({ encoder: 'convnet' }), cfg({ encoder: 'convnet', seed: 1 })])!, /encoder "convnet"/);
  assert.match(stackRefusal([cfg({ critic: 'concat' })])!, /critic "concat".*inner, bilinear, separable/);
  assert.match(stackRefusal([cfg({ seed: 1 }), cfg({ seed: 2, learning_rate: 0.1 })])!, /more than their seed/);
  assert.match(stackRefusal([cfg({ seed: 1 }), cfg({ seed: 1 })])!, /seed appears twice/);
  assert.equal(stackRefusal([cfg({ seed: 1 }), cfg({ seed: 2 })]), null);
  assert.throws(() => new SeedStack([cfg({ critic: 'concat' })]), SeedStackError);
});
