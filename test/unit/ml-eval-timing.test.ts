// Where an evaluation's time goes: every part of it is timed and reported beside the
// metrics, never among them, and reaches MLflow as system/time_<part>_seconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTrial, type MetricsReport } from '../../ml/run-trial.js';
import { timingMetrics } from '../../activities/system-metrics.js';
import type { EvalTiming } from '../../ml/eval-timing.js';
import { useTestBackend } from '../support/tf.js';

test('each evaluation reports the seconds of training since the last one, of itself and of each part', async () => {
  const backend = await useTestBackend();
  const evals: (MetricsReport & { timing: EvalTiming })[] = [];
  await runTrial(
    {
      encoder: 'mlp',
      critic: 'bilinear',
      batch_size: 16,
      steps: 4,
      eval_interval: 2,
      evaluations: ['i_est_test', 'linear_eval', 'jacobian'],
      i_est_test_batches: 2,
      jacobian_inputs: 2,
      linear_eval_train_size: 300,
      linear_eval_test_size: 100,
      linear_eval_max_iter: 20,
    },
    { backend: backend as 'wasm', onEvalMetrics: (r, timing) => void evals.push({ ...r, timing: timing! }) },
  );
  assert.deepEqual(
    evals.map((e) => e.step),
    [0, 2, 4],
  );
  for (const e of evals) {
    const t = e.timing;
    const parts = ['i_est_test', 'encode', 'linear_eval', 'linear_eval_notebook', 'jacobian'];
    assert.deepEqual(Object.keys(t).sort(), [...parts, 'eval', 'train'].sort(), JSON.stringify(t));
    for (const [k, v] of Object.entries(t)) assert.ok(Number.isFinite(v) && v >= 0, `${k}: ${v}`);
    const sum = parts.reduce((s, p) => s + t[p], 0);
    assert.ok(sum <= t.eval + 1e-6, `parts ${sum} s within the evaluation's ${t.eval} s`);
    assert.ok(!Object.keys(e.metrics).some((k) => k.includes('seconds')), 'no timing among the metrics');
  }
  assert.equal(evals[0].timing.train, 0, 'nothing trained before the step-0 evaluation');
  assert.ok(evals[1].timing.train > 0);
});

test('timing reaches MLflow under system/, one metric per part', () => {
  assert.deepEqual(timingMetrics({ train: 3, linear_eval_notebook: 1.5 }), {
    'system/time_train_seconds': 3,
    'system/time_linear_eval_notebook_seconds': 1.5,
  });
  assert.deepEqual(timingMetrics(undefined), {});
});
