import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leastSquaresSlope, memoryTrend } from '../../bench/trend.js';
import { evaluateTargets, FLAT_MEMORY_MB_PER_1000_STEPS, type BenchRow } from '../../bench/targets.js';
import { orchestrationSpec } from '../../bench/orchestration.js';
import { countTrials } from '../../sweep-spec/index.js';

test('least-squares slope recovers a line and is NaN without spread in x', () => {
  const xs = [0, 1, 2, 3, 4];
  assert.ok(
    Math.abs(
      leastSquaresSlope(
        xs,
        xs.map((x) => 3 * x - 2),
      ) - 3,
    ) < 1e-12,
  );
  assert.ok(Math.abs(leastSquaresSlope(xs, [1, -1, 1, -1, 1])) < 1e-12);
  assert.ok(Number.isNaN(leastSquaresSlope([2, 2], [1, 5])));
  assert.throws(() => leastSquaresSlope([1, 2], [1]), RangeError);
});

test('memory trend ignores warm-up growth and reports a leak per 1000 steps', () => {
  // Fast growth over the first 1,000 steps, then flat: the fitted slope is zero.
  const flat = Array.from({ length: 51 }, (_, i) => ({
    step: i * 100,
    rssMb: 500 + Math.min(i * 100, 1000) / 10,
    tensors: 40,
  }));
  const t = memoryTrend(flat, 1000);
  assert.equal(t.start_mb, 500);
  assert.equal(t.end_mb, 600);
  assert.equal(t.max_mb, 600);
  assert.equal(t.samples_fitted, 41);
  assert.ok(Math.abs(t.slope_mb_per_1000_steps) < 1e-9);
  // A leak of 51 KB a step (one 128 x 100 float32 tensor) is about 50 MB per 1000 steps.
  const leak = flat.map((s) => ({ ...s, rssMb: s.rssMb + (s.step * 128 * 100 * 4) / 2 ** 20, tensors: 40 + s.step }));
  const l = memoryTrend(leak, 1000);
  assert.ok(Math.abs(l.slope_mb_per_1000_steps - 48.828125) < 1e-6, `${l.slope_mb_per_1000_steps}`);
  assert.equal(l.tensors_end - l.tensors_start, 5000);
  assert.throws(() => memoryTrend([], 0), RangeError);
});

function rows(overrides: Partial<Record<string, Record<string, unknown>>> = {}): BenchRow[] {
  const base: Record<string, BenchRow> = {
    nativeBilinear: { measure: 'train_step', case: 'mlp+bilinear', backend: 'tensorflow', ms_per_step: 13 },
    nativeConcat: { measure: 'train_step', case: 'mlp+concat', backend: 'tensorflow', ms_per_step: 26 },
    wasmBilinear: { measure: 'train_step', case: 'mlp+bilinear', backend: 'wasm', ms_per_step: 21 },
    wasmConcat: { measure: 'train_step', case: 'mlp+concat', backend: 'wasm', ms_per_step: 30 },
    nativeRealnvp: { measure: 'train_step', case: 'realnvp-shift+bilinear', backend: 'tensorflow', gflops: 175 },
    nativeConvnet: { measure: 'train_step', case: 'convnet+bilinear', backend: 'tensorflow', gflops: 140 },
    nativeAdversarial: {
      measure: 'train_step',
      case: 'adversarial-realnvp-affine',
      backend: 'tensorflow',
      ms_per_step: 543,
    },
    nativeLinear: {
      measure: 'linear_eval_60000x100',
      backend: 'tensorflow',
      fit_s: 6,
      gap_points: -0.2,
      reference_converged: 1,
    },
    wasmLinear: {
      measure: 'linear_eval_60000x100',
      backend: 'wasm',
      fit_s: 14,
      gap_points: 0.3,
      reference_converged: 0,
    },
    orchestration: { measure: 'orchestration', backend: 'tensorflow', trials: 100, done: 100, seconds_per_trial: 1.4 },
    memory: {
      measure: 'worker_memory',
      backend: 'tensorflow',
      slope_mb_per_1000_steps: 0.5,
      tensors_start: 42,
      tensors_end: 42,
    },
  };
  return Object.entries(base).map(([k, r]) => ({ ...r, ...(overrides[k] ?? {}) }) as BenchRow);
}

function verdicts(rs: BenchRow[], seconds = 600) {
  return evaluateTargets(rs, seconds).map(
    (t) =>
      `${t.target}${t.backend ? ` [${t.backend}]` : ''} ${t.pass} ${t.measured === null ? null : Number(t.measured.toFixed(3))}`,
  );
}

test('targets: each measured value is checked against its limit', () => {
  assert.deepEqual(verdicts(rows()), [
    'MLP encoder + bilinear critic training step, batch 128 [tensorflow] true 13',
    'MLP encoder + bilinear critic training step, batch 128 [wasm] true 21',
    'concat-critic step over bilinear-critic step [tensorflow] false 2',
    'concat-critic step over bilinear-critic step [wasm] true 1.429',
    // Rates pass at or above their limit.
    'RealNVP shift + bilinear critic step rate [tensorflow] true 175',
    'ConvNet + bilinear critic step rate [tensorflow] false 140',
    'adversarial round (10 classifier steps, 1 encoder step) [tensorflow] false 543',
    'linear evaluation fit on 60,000 x 100 codes [tensorflow] true 6',
    // |gap| counts: a fit better than the reference by chance is still within the target.
    'linear evaluation accuracy below a converged fit [tensorflow] true 0.2',
    'linear evaluation fit on 60,000 x 100 codes [wasm] false 14',
    // A reference that did not converge cannot vouch for the gap.
    'linear evaluation accuracy below a converged fit [wasm] null null',
    'orchestration overhead per trial (100 trials of 1 step, local stack) [tensorflow] false 1.4',
    'trainer RSS growth over a 5,000-step run, after warm-up [tensorflow] true 0.5',
    'live tensors gained over the same run [tensorflow] true 0',
    '`mirl bench --json` wall time true 600',
  ]);
});

test('targets: a study measured on the plain and graph paths is held to a threefold gain', () => {
  const study = {
    measure: 'path_study',
    spec: 'sweeps/critic-capacity.yaml',
    profile: 'quick',
    backend: 'tensorflow',
    paths: 'reference,graph',
    gain: 2.23,
  };
  assert.ok(
    verdicts([...rows(), study]).includes(
      'sweeps/critic-capacity.yaml (quick) trials per hour, graph over plain path [tensorflow] false 2.23',
    ),
  );
  // Another baseline (the fast path) is a different question: no verdict from it.
  assert.ok(!verdicts([...rows(), { ...study, paths: 'fast,graph' }]).some((v) => v.includes('trials per hour')));
});

test('targets: missing, failed or partial measurements are not measured rather than passed', () => {
  const rs = rows({
    wasmBilinear: { error: 'wasm failed to load' },
    orchestration: { done: 97 },
    memory: { slope_mb_per_1000_steps: FLAT_MEMORY_MB_PER_1000_STEPS + 0.1, tensors_end: 43 },
  }).filter((r) => r.measure !== 'linear_eval_60000x100');
  const v = verdicts(rs, 901);
  assert.ok(v.includes('MLP encoder + bilinear critic training step, batch 128 [wasm] null null'));
  assert.ok(v.includes('concat-critic step over bilinear-critic step [wasm] null null'));
  assert.ok(v.includes('linear evaluation fit on 60,000 x 100 codes [tensorflow] null null'));
  assert.ok(v.includes('orchestration overhead per trial (100 trials of 1 step, local stack) [tensorflow] null null'));
  assert.ok(v.includes('trainer RSS growth over a 5,000-step run, after warm-up [tensorflow] false 2.1'));
  assert.ok(v.includes('live tensors gained over the same run [tensorflow] false 1'));
  assert.ok(v.includes('`mirl bench --json` wall time false 901'));
});

test('the orchestration sweep is the requested number of one-step trials without evaluations', () => {
  const spec = orchestrationSpec(100, 2);
  assert.equal(countTrials(spec, null), 100);
  assert.equal(spec.trial.steps, 1);
  assert.deepEqual(spec.trial.evaluations, []);
  assert.equal(spec.max_concurrent_trials, 2);
});
