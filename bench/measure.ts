// One benchmark measurement in a process of its own (clean peak RSS, no state shared with
// other backends). Prints one JSON object on stdout.
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../ml/backend.js';
import { parseTrialConfig } from '../ml/config.js';
import { createTrial } from '../ml/run-trial.js';
import { trainingStepFlops } from '../ml/flops.js';
import { percentile } from '../ml/eval/stats.js';
import { BENCH_CASES } from './cases.js';
import { mnistEvalData, encodeSplits } from '../ml/eval-data.js';
import { linearEvaluation } from '../ml/eval/linear.js';
import { jacobians, singularValues } from '../ml/eval/jacobian.js';
import { InfomaxTrial } from '../ml/infomax-trial.js';

export type MeasureRequest =
  | { kind: 'matmul'; backend: BackendName }
  | { kind: 'step'; backend: BackendName; name: string; steps: number; warmup: number }
  | { kind: 'linear-eval'; backend: BackendName; maxIter: number; referenceMaxIter: number }
  | { kind: 'jacobian'; backend: BackendName; inputs: number };

function median(xs: number[]): number {
  return percentile(xs, 50);
}

async function matmul(): Promise<Record<string, number>> {
  const n = 1024;
  const a = tf.randomUniform([n, n]) as tf.Tensor2D;
  const times: number[] = [];
  for (let i = 0; i < 12; i++) {
    const t0 = performance.now();
    const c = tf.matMul(a, a);
    // Read outside tf.tidy: tidy walks a returned typed array element by element.
    c.dataSync();
    c.dispose();
    if (i >= 2) times.push(performance.now() - t0);
  }
  const ms = median(times);
  return { matmul_ms: ms, matmul_gflops: (2 * n ** 3) / (ms * 1e6) };
}

async function step(name: string, steps: number, warmup: number): Promise<Record<string, number>> {
  const cfg = parseTrialConfig({ ...BENCH_CASES[name], batch_size: 128, evaluations: [] });
  const trial = createTrial(cfg);
  const times: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    const scalars = trial.advance();
    // Reading the loss makes the step's work finish inside the timed interval.
    Object.values(scalars)[0].dataSync();
    tf.dispose(Object.values(scalars));
    trial.step++;
    if (i >= warmup) times.push(performance.now() - t0);
  }
  const flops = trainingStepFlops(cfg);
  const ms = median(times);
  trial.dispose();
  return { ms_per_step: ms, ms_p90: percentile(times, 90), gflop_per_step: flops / 1e9, gflops: flops / (ms * 1e6), steps };
}

async function linearEval(maxIter: number, referenceMaxIter: number): Promise<Record<string, number>> {
  // 60,000 x 100 codes from an untrained MLP encoder: the shape every MLP study evaluates.
  const cfg = parseTrialConfig({ encoder: 'mlp', critic: 'bilinear' });
  const trial = new InfomaxTrial(cfg);
  const e = mnistEvalData(cfg);
  const g = (x: tf.Tensor2D) => trial.g1.apply(x);
  const t0 = performance.now();
  const { train, test } = encodeSplits(g, e);
  const encodeS = (performance.now() - t0) / 1000;
  const fast = linearEvaluation(train, test, { c: 10, maxIter });
  const ref = linearEvaluation(train, test, { c: 10, maxIter: referenceMaxIter });
  trial.dispose();
  return {
    encode_70000_s: encodeS,
    fit_s: fast.seconds,
    accuracy: fast.accuracy,
    iterations: fast.iterations,
    reference_accuracy: ref.accuracy,
    reference_iterations: ref.iterations,
    reference_converged: ref.converged ? 1 : 0,
    gap_points: 100 * (ref.accuracy - fast.accuracy),
  };
}

async function jacobian(inputs: number): Promise<Record<string, number>> {
  const cfg = parseTrialConfig({ encoder: 'mlp-shortcut', critic: 'bilinear', noise: 0.05 });
  const trial = new InfomaxTrial(cfg);
  const e = mnistEvalData(cfg);
  const t0 = performance.now();
  const js = jacobians((x) => trial.g1.apply(x), e.testX, inputs, e.dim, trial.g1.outDim);
  const t1 = performance.now();
  for (const j of js) singularValues(j, trial.g1.outDim, e.dim);
  const t2 = performance.now();
  trial.dispose();
  return { inputs, jacobians_s: (t1 - t0) / 1000, svd_s: (t2 - t1) / 1000, total_s: (t2 - t0) / 1000 };
}

async function main(): Promise<void> {
  const req = JSON.parse(process.argv[2]) as MeasureRequest;
  const backend = await initBackend(req.backend);
  let out: Record<string, number>;
  if (req.kind === 'matmul') out = await matmul();
  else if (req.kind === 'step') out = await step(req.name, req.steps, req.warmup);
  else if (req.kind === 'linear-eval') out = await linearEval(req.maxIter, req.referenceMaxIter);
  else out = await jacobian(req.inputs);
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ backend, ...out, peak_rss_mb: peakRssMb }) + '\n');
}

await main();
