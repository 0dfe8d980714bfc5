// The adversarial procedure's graph (ml/graph/adversarial-step.ts: a warm-up step or a
// whole round, unrolled classifier updates included, as one session call) must train the
// same model as the plain tfjs path, write the checkpoints the eager paths write and
// resume from theirs.
import { describe, test, after } from 'node:test';
import { nativeOnly } from '../support/tf.js';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createTrial } from '../../ml/run-trial.js';
import { initBackend } from '../../ml/backend.js';
import { setGraphAdam, setStepPath, type GraphAdam, type StepPath } from '../../ml/step-path.js';
import { parseTrialConfig, type TrialConfigInput } from '../../ml/config.js';
import {
  STEP_TEST_BASE,
  stepMetrics,
  checkpointLayout,
  metricsAndCheckpoint,
  tensorsLeftBehind,
} from '../support/step-paths.js';

/** Relative, absolute below 1. Measured over these 15 steps: 2.2e-7 (exact Adam), 7.0e-7 (fused). */
const TOLERANCE = 1e-4;
// A small flow, 3 warm-up steps then 12 rounds of 3 classifier updates and 1 encoder update.
const CFG: TrialConfigInput = {
  procedure: 'adversarial',
  encoder: 'realnvp',
  coupling: 'affine',
  realnvp_layers: 3,
  realnvp_hidden: 32,
  adv_warmup_steps: 3,
  adv_rounds: 12,
  adv_classifier_steps: 3,
};

after(() => {
  setStepPath(null);
  setGraphAdam(null);
});

function assertClose(a: number[][], b: number[][], label: string): void {
  assert.equal(a.length, b.length, label);
  a.forEach((row, i) =>
    row.forEach((r, j) =>
      assert.ok(
        Math.abs(b[i][j] - r) <= TOLERANCE * Math.max(1, Math.abs(r)),
        `${label} step ${i + 1}: ${b[i][j]} against ${r}`,
      ),
    ),
  );
}

/** Classifier and encoder losses (resumed runs from `at` on), and the checkpoint written at `at`. */
const capture = (path: StepPath, at: number, resumeFrom?: Uint8Array) =>
  metricsAndCheckpoint(
    'tensorflow',
    path,
    { ...STEP_TEST_BASE, ...CFG },
    at,
    ['classifier_loss', 'encoder_loss'],
    resumeFrom,
  );

describe('on native TensorFlow', nativeOnly(), () => {
  test('warm-up steps and rounds as graphs give the reference path’s losses, with either Adam', async () => {
    const ref = await stepMetrics('tensorflow', 'reference', CFG);
    assert.equal(ref.length, 15);
    for (const kind of ['exact', 'fused'] as GraphAdam[]) {
      setGraphAdam(kind);
      const graph = await stepMetrics('tensorflow', 'graph', CFG);
      assertClose(ref, graph, kind);
      assert.notEqual(graph[3][0], graph[14][0], `${kind}: the classifier trained`);
    }
  });

  test('an adversarial graph checkpoint resumes bit for bit on the graph path and to rounding on the reference one', async () => {
    setGraphAdam(null);
    const at = 6; // inside the rounds: both optimizers have state
    const graph = await capture('graph', at);
    const ref = await capture('reference', at);
    assert.deepEqual(checkpointLayout(graph.bytes), checkpointLayout(ref.bytes));
    const again = await capture('graph', at, graph.bytes);
    assert.deepEqual(again.seen, graph.seen.slice(at));
    for (const run of [await capture('reference', at, graph.bytes), await capture('graph', at, ref.bytes)])
      assertClose(graph.seen.slice(at), run.seen, 'resumed');
  });

  test('the adversarial procedure runs as a graph on the graph path only, and leaves no tensors behind', async () => {
    await initBackend('tensorflow');
    const nodes = (path: StepPath) => {
      setStepPath(path);
      const trial = createTrial(parseTrialConfig({ ...STEP_TEST_BASE, ...CFG }));
      for (let i = 0; i < 4; i++) tf.dispose(Object.values(trial.advance()));
      const n = trial.graphNodes;
      trial.dispose();
      return n;
    };
    assert.ok((nodes('graph') ?? 0) > 1000);
    assert.equal(nodes('fast'), null);
    // tensorsLeftBehind does not advance the step counter: warm-up steps, then rounds only.
    for (const cfg of [CFG, { ...CFG, adv_warmup_steps: 0 }]) {
      const { before, after: left } = await tensorsLeftBehind('graph', cfg);
      assert.equal(left, before);
    }
  });
});
