import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from '../support/tf.js';
import { runTrial, type MetricsReport } from '../../ml/run-trial.js';
import { NonFiniteError } from '../../ml/errors.js';
import { NON_RETRYABLE_ERROR_TYPES } from '../../workflows/types.js';
import { CheckpointCorruptError } from '../../ml/checkpoint.js';
import { gaussianTrueMi, MnistPairSource } from '../../ml/data/pairs.js';
import { parseTrialConfig, type TrialConfigInput } from '../../ml/config.js';
import { InfomaxTrial } from '../../ml/infomax-trial.js';
import { decodeCheckpoint } from '../../ml/checkpoint.js';
import { jacobianConditionMetrics } from '../../ml/eval/jacobian.js';
import { mnistEvalData } from '../../ml/eval-data.js';

let backend: string;
before(async () => {
  backend = await useTestBackend();
});

const small: TrialConfigInput = {
  encoder: 'mlp',
  critic: 'bilinear',
  estimator: 'nce',
  batch_size: 32,
  steps: 24,
  log_interval: 4,
  eval_interval: 12,
  evaluations: ['i_est_test', 'linear_eval'],
  linear_eval_train_size: 600,
  linear_eval_test_size: 300,
  linear_eval_max_iter: 30,
  i_est_test_batches: 3,
  seed: 7,
};

async function record(cfg: TrialConfigInput, extra: Parameters<typeof runTrial>[1] = {}) {
  const train: MetricsReport[] = [];
  const evals: MetricsReport[] = [];
  const result = await runTrial(cfg, {
    backend: backend as 'wasm',
    onTrainMetrics: (m) => void train.push(m),
    onEvalMetrics: (m) => void evals.push(m),
    ...extra,
  });
  return { train, evals, result };
}

test('a seeded trial gives the same numbers twice and reports metrics on schedule', async () => {
  const a = await record(small);
  const b = await record(small);
  assert.deepEqual(a.train, b.train);
  assert.deepEqual(a.evals, b.evals);
  assert.deepEqual(
    a.train.map((m) => m.step),
    [4, 8, 12, 16, 20, 24],
  );
  assert.deepEqual(
    a.evals.map((m) => m.step),
    [0, 12, 24],
  );
  assert.equal(a.result.status, 'finished');
  assert.equal(a.result.backend, backend);
  const other = await record({ ...small, seed: 8 });
  assert.notDeepEqual(other.train, a.train);
});

test('training increases I_NCE on MNIST views', async () => {
  const { train } = await record({ ...small, batch_size: 64, steps: 60, evaluations: [], learning_rate: 1e-3 });
  assert.ok(
    train[train.length - 1].metrics.i_est_train > train[0].metrics.i_est_train + 0.5,
    JSON.stringify(train.map((t) => t.metrics.i_est_train)),
  );
});

test('no tensors leak across training steps and evaluations', async () => {
  const counts: number[] = [];
  const cfg: TrialConfigInput = {
    ...small,
    steps: 40,
    log_interval: 5,
    eval_interval: 10,
    critic: 'concat',
    estimator: 'nwj',
  };
  // A first run fills the estimators' per-batch-size constant cache, which is meant to stay.
  await runTrial({ ...cfg, steps: 1 }, { backend: backend as 'wasm' });
  const before = tf.memory().numTensors;
  await runTrial(cfg, {
    backend: backend as 'wasm',
    // Checkpoints too: a long trial takes one every eval_interval steps.
    checkpointEvery: 10,
    onCheckpoint: () => {},
    onTrainMetrics: () => void counts.push(tf.memory().numTensors),
  });
  assert.ok(
    counts.slice(1).every((c) => c === counts[1]),
    `tensor counts ${counts}`,
  );
  assert.equal(tf.memory().numTensors, before, 'everything is released when the trial ends');
});

test('a trial resumed from a checkpoint at step k ends with the same metrics as one that never stopped', async () => {
  const noisyJacobian: TrialConfigInput = {
    ...small,
    noise: 0.05,
    evaluations: ['i_est_test', 'jacobian'],
    jacobian_inputs: 3,
  };
  for (const cfg of [
    small,
    noisyJacobian,
    {
      ...small,
      encoder: 'realnvp',
      coupling: 'affine',
      realnvp_layers: 2,
      realnvp_hidden: 16,
      evaluations: ['i_est_test'],
    } as TrialConfigInput,
  ]) {
    const straight = await record(cfg);
    const checkpoints = new Map<number, Buffer>();
    await record(cfg, { checkpointEvery: 8, onCheckpoint: (step, bytes) => void checkpoints.set(step, bytes) });
    assert.deepEqual([...checkpoints.keys()], [8, 16, 24]);
    const resumed = await record(cfg, { resumeFrom: checkpoints.get(8) });
    assert.equal(resumed.result.resumedFrom, 8);
    assert.deepEqual(
      resumed.train,
      straight.train.filter((m) => m.step > 8),
    );
    assert.deepEqual(
      resumed.evals,
      straight.evals.filter((m) => m.step > 8),
    );
    assert.deepEqual(resumed.result.eval, straight.result.eval);
  }
});

test('the Jacobian evaluation uses the noisy training batch the next step trains on, and leaves the stream alone', async () => {
  const cfg = parseTrialConfig({
    ...small,
    noise: 0.05,
    batch_size: 16,
    evaluations: ['jacobian'],
    jacobian_inputs: 3,
  });
  const trial = new InfomaxTrial(cfg);
  try {
    for (let s = 0; s < 2; s++) tf.dispose(Object.values(trial.advance()));
    const before = decodeCheckpoint(await trial.checkpoint()).state;
    const got = await trial.evaluate();
    assert.deepEqual(
      decodeCheckpoint(await trial.checkpoint()).state,
      before,
      'the evaluation moved the training stream',
    );
    // A source of the same seed that has handed out the two batches trained on: its next one.
    const twin = MnistPairSource.train(cfg.view1, cfg.view2, cfg.noise, cfg.seed);
    twin.next(16);
    twin.next(16);
    const batch = twin.next(16);
    const g = (x: tf.Tensor2D) => trial.g1.apply(x);
    assert.deepEqual(got, await jacobianConditionMetrics(g, batch.x, 3, twin.dimX, trial.g1.outDim));
    // Not the first noisy test inputs, which the evaluation used before.
    const e = mnistEvalData(cfg);
    assert.notDeepEqual(got, await jacobianConditionMetrics(g, e.testX, 3, e.dim, trial.g1.outDim));
  } finally {
    trial.dispose();
  }
});

test('shouldStop checkpoints and stops after the current step', async () => {
  let saved: [number, Buffer] | null = null;
  let steps = 0;
  const r = await record(
    { ...small, evaluations: [] },
    {
      shouldStop: () => ++steps > 5,
      onCheckpoint: (s, b) => void (saved = [s, b]),
    },
  );
  assert.equal(r.result.status, 'stopped');
  assert.equal(r.result.step, 5);
  assert.equal(saved![0], 5);
});

test('a corrupt or foreign checkpoint is refused', async () => {
  let bytes: Buffer | null = null;
  await record(
    { ...small, steps: 4, evaluations: [] },
    { checkpointEvery: 4, onCheckpoint: (_s, b) => void (bytes = b) },
  );
  const flipped = Buffer.from(bytes!);
  flipped[flipped.length >> 1] ^= 0xff;
  await assert.rejects(record(small, { resumeFrom: flipped }), CheckpointCorruptError);
  await assert.rejects(record(small, { resumeFrom: bytes!.subarray(0, 100) }), CheckpointCorruptError);
  await assert.rejects(record({ ...small, critic: 'separable' }, { resumeFrom: bytes! }), /does not match this model/);
});

test('a diverging loss stops the trial naming the step and the quantity', async () => {
  await assert.rejects(
    record({ ...small, estimator: 'nwj', learning_rate: 5, steps: 200, log_interval: 50, evaluations: [] }),
    (e: unknown) => {
      assert.ok(e instanceof NonFiniteError);
      assert.ok(e.step > 0 && e.step < 200);
      assert.match(e.message, /(loss|i_est_train) became (NaN|Infinity|-Infinity) at step \d+/);
      return true;
    },
  );
});

test('impossible combinations fail before training starts', async () => {
  let trained = false;
  const onTrainMetrics = () => void (trained = true);
  await assert.rejects(
    runTrial({ ...small, encoder: 'convnet', data: 'gaussian', evaluations: ['i_est_test'] }, { onTrainMetrics }),
    /identity/,
  );
  await assert.rejects(
    runTrial({ ...small, data: 'gaussian', encoder: 'identity', evaluations: ['linear_eval'] }, { onTrainMetrics }),
    /evaluations/,
  );
  await assert.rejects(runTrial({ ...small, batch_size: 20_000, steps: 1 }, { onTrainMetrics }), /batch_size/);
  assert.equal(trained, false);
});

test('the non-i.i.d. Gaussian study trains a 5-layer concat critic and reports I_EST near the true MI', async () => {
  const { evals } = await record({
    data: 'gaussian',
    negatives: 'iid',
    encoder: 'identity',
    critic: 'concat',
    critic_hidden: [10, 10, 10, 10, 10],
    estimator: 'nce',
    learning_rate: 1e-3,
    batch_size: 64,
    steps: 100,
    log_interval: 20,
    eval_interval: 100,
    evaluations: ['i_est_test'],
    i_est_test_batches: 50,
  });
  const last = evals[evals.length - 1].metrics.i_est_test;
  assert.ok(Number.isFinite(last) && last < gaussianTrueMi() + 0.1, `I_NCE ${last} vs true ${gaussianTrueMi()}`);
});

test('the adversarial procedure alternates classifier and encoder steps and evaluates on schedule', async () => {
  const { train, evals } = await record({
    procedure: 'adversarial',
    encoder: 'realnvp',
    coupling: 'affine',
    realnvp_layers: 2,
    realnvp_hidden: 16,
    batch_size: 32,
    adv_warmup_steps: 4,
    adv_rounds: 4,
    adv_classifier_steps: 2,
    adv_eval_every_rounds: 2,
    log_interval: 2,
    evaluations: ['linear_eval'],
    linear_eval_train_size: 500,
    linear_eval_test_size: 200,
    linear_eval_max_iter: 20,
  });
  assert.deepEqual(
    evals.map((e) => e.step),
    [4, 6, 8],
  );
  assert.ok('classifier_loss' in train[0].metrics && !('encoder_loss' in train[0].metrics));
  assert.ok('encoder_loss' in train[train.length - 1].metrics);
  assert.ok(evals.every((e) => e.metrics.linear_eval_accuracy > 0.2));
});

test('invalid settings are refused with the field named', async () => {
  // Refused as a failure no retry can fix, with the field in the message.
  const configError = (field: RegExp) => (e: unknown) =>
    e instanceof Error && NON_RETRYABLE_ERROR_TYPES.includes(e.name) && field.test(e.message);
  await assert.rejects(runTrial({ ...small, objective: 'target' }), configError(/target/));
  await assert.rejects(runTrial({ ...small, critic: 'deep' } as unknown as TrialConfigInput), configError(/critic/));
  await assert.rejects(runTrial({ ...small, procedure: 'adversarial', encoder: 'mlp' }), configError(/realnvp/));
});
