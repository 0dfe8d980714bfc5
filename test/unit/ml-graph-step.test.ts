// The graph step (ml/graph/: the whole training step as one TensorFlow session call) must
// train the same model as the plain tfjs reference path: 50 seeded steps of every model
// it covers, loss by loss, and its checkpoints must be the eager paths' checkpoints.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createTrial } from '../../ml/run-trial.js';
import {
  STEPS,
  STEP_TEST_BASE,
  stepMetrics,
  lossesAndCheckpoint,
  checkpointLayout,
  tensorsLeftBehind,
} from '../support/step-paths.js';
import { availableBackends, initBackend } from '../../ml/backend.js';
import { setStepPath, type StepPath } from '../../ml/step-path.js';
import { parseTrialConfig, type TrialConfigInput } from '../../ml/config.js';
import { decodeCheckpoint } from '../../ml/checkpoint.js';
import { InfomaxTrial } from '../../ml/infomax-trial.js';
import { graphStepRefusal } from '../../ml/graph/infomax-step.js';

/**
 * Relative tolerance on each step's metrics (absolute below 1). The graph runs the eager
 * path's operations in the same order, but TensorFlow's graph optimizer may fuse some,
 * which can round differently: measured over these 50 steps, at most 1.9e-6 (printed
 * below). A wrong gradient or Adam term moves the loss by more than 1e-3 within a few
 * steps. The cases avoid chaotic ones: mlp+concat [16, 16] with target 1 at batch 8 goes
 * from 2e-7 to 1e-5 at step 26 and 6e-3 by step 50, and the reference path on wasm against
 * itself on tensorflow does exactly the same there, so such a case tests nothing.
 */
const TOLERANCE = 1e-4;
const base = STEP_TEST_BASE;
const CASES: Record<string, TrialConfigInput> = {
  'mlp+bilinear nce': { encoder: 'mlp', critic: 'bilinear' },
  'mlp+bilinear nwj target': { encoder: 'mlp', critic: 'bilinear', estimator: 'nwj', objective: 'target', target: 2 },
  'mlp+separable': { encoder: 'mlp', critic: 'separable' },
  'mlp+concat nwj': { encoder: 'mlp', critic: 'concat', critic_hidden: [32], estimator: 'nwj' },
  'mlp+concat nce target': { encoder: 'mlp', critic: 'concat', critic_hidden: [32, 8], objective: 'target', target: 2 },
  'mlp+inner': { encoder: 'mlp', critic: 'inner', noise: 0.05 },
  'gaussian+concat5x10': {
    data: 'gaussian',
    encoder: 'identity',
    critic: 'concat',
    critic_hidden: [10, 10, 10, 10, 10],
  },
  'gaussian noniid+concat nwj': {
    data: 'gaussian',
    negatives: 'noniid',
    encoder: 'identity',
    critic: 'concat',
    estimator: 'nwj',
    critic_hidden: [10, 10],
  },
  'realnvp-shift+bilinear': {
    encoder: 'realnvp',
    critic: 'bilinear',
    coupling: 'shift',
    realnvp_layers: 3,
    realnvp_hidden: 32,
  },
  'realnvp-affine+separable nwj': {
    encoder: 'realnvp',
    critic: 'separable',
    estimator: 'nwj',
    coupling: 'affine',
    realnvp_layers: 3,
    realnvp_hidden: 32,
  },
};

after(() => setStepPath(null));

const native = (await availableBackends()).includes('tensorflow');

const metrics = (path: StepPath, cfg: TrialConfigInput) => stepMetrics('tensorflow', path, cfg);

function worstDifference(a: number[][], b: number[][], label: string): number {
  assert.equal(a.length, b.length, label);
  let worst = 0;
  a.forEach((row, i) =>
    row.forEach((r, j) => {
      const rel = Math.abs(b[i][j] - r) / Math.max(1, Math.abs(r));
      worst = Math.max(worst, rel);
      assert.ok(rel <= TOLERANCE, `${label} step ${i + 1}: ${b[i][j]} against ${r}`);
    }),
  );
  return worst;
}

// The graph step runs on the native backend only.
if (native) {
  test(`graph and reference paths give the same ${STEPS}-step losses`, async () => {
    const worst: string[] = [];
    for (const [name, cfg] of Object.entries(CASES)) {
      const ref = await metrics('reference', cfg);
      const graph = await metrics('graph', cfg);
      worst.push(`${name} ${worstDifference(ref, graph, name).toExponential(1)}`);
      // Trained, not stuck: the loss moved over the run.
      assert.notEqual(graph[0][0], graph[STEPS - 1][0], name);
    }
    console.log(`graph against reference, max relative difference: ${worst.join(', ')}`);
  });

  test('the graph step covers identity, MLP and RealNVP encoders with every critic, nothing else', async () => {
    await initBackend('tensorflow');
    setStepPath('graph');
    const ran = (cfg: TrialConfigInput) => {
      const trial = new InfomaxTrial(parseTrialConfig({ ...base, ...cfg }));
      tf.dispose(Object.values(trial.advance()));
      const nodes = trial.graphNodes;
      trial.dispose();
      return nodes;
    };
    for (const [name, cfg] of Object.entries(CASES)) assert.ok((ran(cfg) ?? 0) > 100, name);
    assert.equal(ran({ encoder: 'convnet', critic: 'bilinear' }), null);
    assert.match(graphStepRefusal(parseTrialConfig({ encoder: 'mlp-shortcut' }))!, /mlp-shortcut/);
    assert.match(graphStepRefusal(parseTrialConfig({ procedure: 'adversarial', encoder: 'realnvp' }))!, /adversarial/);
    setStepPath('fast');
    assert.equal(ran(CASES['mlp+bilinear nce']), null);
  });

  test('a graph checkpoint resumes bit for bit on the graph path and to rounding on the eager ones', async () => {
    const cfg = { ...base, ...CASES['mlp+concat nwj'], steps: 8 };
    const capture = (path: StepPath, resumeFrom?: Uint8Array) =>
      lossesAndCheckpoint('tensorflow', path, cfg, 4, resumeFrom);
    const graph = await capture('graph');
    const ref = await capture('reference');
    assert.deepEqual(checkpointLayout(graph.bytes), checkpointLayout(ref.bytes));
    // The checkpoint holds the trained state, not the initial one: its Adam moments are set.
    const m = decodeCheckpoint(graph.bytes).arrays.find((a) => a.name.endsWith('/m'))!;
    assert.ok(m.values.some((v) => v !== 0));
    const again = await capture('graph', graph.bytes);
    assert.deepEqual(again.seen, graph.seen.slice(4));
    for (const run of [await capture('reference', graph.bytes), await capture('graph', ref.bytes)])
      run.seen.forEach((v, i) =>
        assert.ok(Math.abs(v - graph.seen[i + 4]) <= TOLERANCE * Math.max(1, Math.abs(v)), `step ${i + 5}`),
      );
  });

  test('reading a graph trial’s parameters sees the steps it took', async () => {
    await initBackend('tensorflow');
    setStepPath('graph');
    const trial = createTrial(parseTrialConfig({ ...base, ...CASES['mlp+bilinear nce'] }));
    const kernel = 'g1/dense0/kernel';
    const before = trial.store.get(kernel).dataSync().slice();
    for (let i = 0; i < 3; i++) tf.dispose(Object.values(trial.advance()));
    const after = trial.store.get(kernel).dataSync();
    assert.ok(
      after.some((v, i) => v !== before[i]),
      'the store still holds the initial weights',
    );
    trial.dispose();
  });

  test('the graph path leaves no tensors behind across steps, checkpoints and restores', async () => {
    const { before, after } = await tensorsLeftBehind('graph', CASES['mlp+concat nwj']);
    assert.equal(after, before);
  });
}
