// One benchmark measurement in a process of its own (clean peak RSS, no state shared with
// other backends). Prints one JSON object on stdout.
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../ml/backend.js';
import { parseTrialConfig, type TrialConfig } from '../ml/config.js';
import { createTrial, runTrial } from '../ml/run-trial.js';
import { trainingStepFlops } from '../ml/flops.js';
import { percentile } from '../ml/eval/stats.js';
import { BENCH_CASES } from './cases.js';
import { mnistEvalData, encodeSplits } from '../ml/eval-data.js';
import { linearEvaluation, minMaxScale } from '../ml/eval/linear.js';
import { sagaEvaluation } from '../ml/eval/saga.js';
import { NOTEBOOK_SAGA } from '../ml/eval/protocols.js';
import { jacobians, jacobianLogCondition, logConditionNumber, singularValues } from '../ml/eval/jacobian.js';
import { InfomaxTrial } from '../ml/infomax-trial.js';
import { memoryTrend, type MemorySample } from './trend.js';
import { adapterLabel, webgpuAdapter } from '../ml/webgpu.js';
import { SeedStack } from '../ml/seed-stack.js';
import { StackRun } from '../ml/run-stack.js';

export type MeasureRequest =
  | { kind: 'matmul'; backend: BackendName }
  | { kind: 'step'; backend: BackendName; name: string; steps: number; warmup: number }
  | { kind: 'seed-stack'; backend: BackendName; name: string; seeds: number; steps: number; warmup: number }
  /** Trials run to their ends one unit after another: a unit of one config runs alone, of several as a stack. */
  | { kind: 'trials'; backend: BackendName; units: TrialConfig[][] }
  | { kind: 'linear-eval'; backend: BackendName; maxIter: number; referenceMaxIter: number }
  | { kind: 'jacobian'; backend: BackendName; inputs: number; svdCheck: number }
  | { kind: 'memory'; backend: BackendName; name: string; steps: number; sampleEvery: number; warmup: number };

function median(xs: number[]): number {
  return percentile(xs, 50);
}

async function matmul(): Promise<Record<string, number>> {
  const n = 1024;
  const a = tf.randomUniform([n, n]) as tf.Tensor2D;
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < 12; i++) {
    const t0 = performance.now();
    const c = tf.matMul(a, a);
    // Read outside tf.tidy: tidy walks a returned typed array element by element.
    await c.data();
    c.dispose();
    if (i >= 2) times.push(performance.now() - t0);
    // The plain JS backend takes seconds a product: three timed ones tell its speed.
    if (times.length >= 3 && performance.now() - start > 10_000) break;
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
    await Object.values(scalars)[0].data();
    tf.dispose(Object.values(scalars));
    trial.step++;
    if (i >= warmup) times.push(performance.now() - t0);
  }
  const kernels = await kernelsPerStep(trial);
  const flops = trainingStepFlops(cfg);
  const ms = median(times);
  // A graph step (ml/graph/) is one session call that the engine's profiler does not see:
  // its size is the graph's node count.
  const graphNodes = trial.graphNodes;
  trial.dispose();
  return {
    ms_per_step: ms,
    kernels_per_step: kernels,
    ...(graphNodes === null ? {} : { graph_nodes: graphNodes }),
    ms_p90: percentile(times, 90),
    gflop_per_step: flops / 1e9,
    gflops: flops / (ms * 1e6),
    steps,
  };
}

/**
 * Kernels one more step launches, counted by the engine's profiler (untimed): the
 * dispatch count that dominates a small model's step on CPU backends, deterministic
 * where timings are noisy.
 */
async function kernelsPerStep(trial: ReturnType<typeof createTrial>): Promise<number> {
  const info = await tf.profile(() => {
    const scalars = trial.advance();
    trial.step++;
    return Object.values(scalars);
  });
  tf.dispose(info.result as tf.Tensor[]);
  return info.kernels.length;
}

/**
 * One seed's step against S seeds' stacked step, alternating in rounds within one process
 * so both see the same load: what stacking buys per trial.
 */
async function seedStack(name: string, seeds: number, steps: number, warmup: number): Promise<Record<string, number>> {
  const cfgs = Array.from({ length: seeds }, (_, seed) =>
    parseTrialConfig({ ...BENCH_CASES[name], batch_size: 128, evaluations: [], seed }),
  );
  // The stack first: it builds solo trials to draw their weights, and a trial's variable
  // names are global to the engine.
  const stack = new SeedStack(cfgs);
  const solo = createTrial(cfgs[0]);
  const soloStep = async () => {
    const scalars = solo.advance();
    solo.step++;
    await Object.values(scalars)[0].data();
    tf.dispose(Object.values(scalars));
  };
  const stackStep = async () => {
    const { i_est_train, loss } = stack.advance();
    await i_est_train.data();
    tf.dispose([i_est_train, loss]);
  };
  const soloTimes: number[] = [];
  const stackTimes: number[] = [];
  const rounds = 4;
  for (let r = 0; r < rounds; r++) {
    for (const [run, times] of [
      [soloStep, soloTimes],
      [stackStep, stackTimes],
    ] as const) {
      for (let i = 0; i < (r === 0 ? warmup : 0) + Math.ceil(steps / rounds); i++) {
        const t0 = performance.now();
        await run();
        if (r > 0 || i >= warmup) times.push(performance.now() - t0);
      }
    }
  }
  const soloKernels = await kernelsPerStep(solo);
  const stackProfile = await tf.profile(() => Object.values(stack.advance()));
  tf.dispose(stackProfile.result as tf.Tensor[]);
  const soloMs = median(soloTimes);
  const stackMs = median(stackTimes);
  solo.dispose();
  stack.dispose();
  return {
    seeds,
    steps,
    solo_ms_per_step: soloMs,
    stack_ms_per_step: stackMs,
    stack_ms_per_seed_step: stackMs / seeds,
    // Steps per hour of S stacked trials against one trial's: the gain in trials per hour, steps only.
    speedup_per_seed: (seeds * soloMs) / stackMs,
    solo_kernels_per_step: soloKernels,
    stack_kernels_per_step: stackProfile.kernels.length,
  };
}

async function trials(units: TrialConfig[][], backend: BackendName): Promise<Record<string, number>> {
  const t0 = performance.now();
  let count = 0;
  for (const unit of units) {
    if (unit.length === 1) await runTrial(unit[0], { backend });
    else {
      const members = unit.map((config) => ({ config, resumeFrom: null, checkpointEvery: 0 }));
      const outcomes = await new StackRun(members, backend).run();
      const failed = outcomes.find((o) => !o.ok);
      if (failed && !failed.ok) throw failed.error;
    }
    count += unit.length;
  }
  return { trials: count, seconds: (performance.now() - t0) / 1000 };
}

async function linearEval(maxIter: number, referenceMaxIter: number): Promise<Record<string, number>> {
  // 60,000 x 100 codes from an untrained MLP encoder: the shape every MLP study evaluates.
  const cfg = parseTrialConfig({ encoder: 'mlp', critic: 'bilinear' });
  const trial = new InfomaxTrial(cfg);
  const e = mnistEvalData(cfg);
  const g = (x: tf.Tensor2D) => trial.g1.apply(x);
  const t0 = performance.now();
  const { train, test } = await encodeSplits(g, e);
  const encodeS = (performance.now() - t0) / 1000;
  const fast = await linearEvaluation(train, test, { c: 10, maxIter });
  // A fit that stopped on its convergence test is the converged fit: more allowed
  // iterations would retrace the same path to the same stop.
  const ref = fast.converged ? fast : await linearEvaluation(train, test, { c: 10, maxIter: referenceMaxIter });
  // Before data path 4 (uncentred codes) on the same codes, and the notebook's saga.
  const before = await linearEvaluation(train, test, { c: 10, maxIter, centre: false });
  const scaled = {
    train: { ...train, values: Float32Array.from(train.values) },
    test: { ...test, values: Float32Array.from(test.values) },
  };
  minMaxScale(scaled.train, scaled.test);
  const saga = sagaEvaluation(scaled.train, scaled.test, { ...NOTEBOOK_SAGA, seed: 0 });
  trial.dispose();
  return {
    encode_70000_s: encodeS,
    fit_s: fast.seconds,
    accuracy: fast.accuracy,
    iterations: fast.iterations,
    uncentred_fit_s: before.seconds,
    uncentred_accuracy: before.accuracy,
    uncentred_iterations: before.iterations,
    centring_speedup: before.seconds / fast.seconds,
    notebook_saga_s: saga.seconds,
    notebook_saga_epochs: saga.epochs,
    notebook_saga_accuracy: saga.accuracy,
    reference_accuracy: ref.accuracy,
    reference_iterations: ref.iterations,
    reference_converged: ref.converged ? 1 : 0,
    gap_points: 100 * (ref.accuracy - fast.accuracy),
  };
}

async function jacobian(inputs: number, svdCheck: number): Promise<Record<string, number>> {
  const cfg = parseTrialConfig({ encoder: 'mlp-shortcut', critic: 'bilinear', noise: 0.05 });
  const trial = new InfomaxTrial(cfg);
  const e = mnistEvalData(cfg);
  const out = trial.g1.outDim;
  const t0 = performance.now();
  const js = await jacobians((x) => trial.g1.apply(x), e.testX, inputs, e.dim, out);
  const t1 = performance.now();
  const logConds = js.map((j) => jacobianLogCondition(j, out, e.dim));
  const t2 = performance.now();
  // The full SVD that the fast path replaced, on a few of the same matrices, alternating
  // with the fast path matrix by matrix so that both see the same load on a shared machine.
  let svdMs = 0;
  let fastMs = 0;
  let maxDiff = 0;
  for (const j of js.slice(0, svdCheck)) {
    const a = performance.now();
    const fast = jacobianLogCondition(j, out, e.dim);
    const b = performance.now();
    const full = logConditionNumber(singularValues(j, out, e.dim));
    svdMs += performance.now() - b;
    fastMs += b - a;
    maxDiff = Math.max(maxDiff, Math.abs(full - fast));
  }
  const checked = Math.min(svdCheck, js.length);
  trial.dispose();
  return {
    inputs,
    jacobians_s: (t1 - t0) / 1000,
    condition_s: (t2 - t1) / 1000,
    total_s: (t2 - t0) / 1000,
    condition_ms_per_matrix: (t2 - t1) / inputs,
    svd_checked: checked,
    checked_fast_ms_per_matrix: checked ? fastMs / checked : NaN,
    checked_svd_ms_per_matrix: checked ? svdMs / checked : NaN,
    max_abs_diff_log_condition: checked ? maxDiff : NaN,
    log_condition_median: percentile(logConds, 50),
  };
}

/** RSS of a trainer running the real trial loop (metrics, checkpoints) sampled as it goes. */
async function memory(
  name: string,
  steps: number,
  sampleEvery: number,
  warmup: number,
  backend: BackendName,
): Promise<Record<string, number>> {
  const samples: MemorySample[] = [];
  // RSS follows the JS heap's collection cycle (+-100 MB between major GCs at 5,000 steps),
  // which a 5,000-step line fit reads as a trend; collecting first leaves what is retained.
  const collect = (globalThis as { gc?: () => void }).gc;
  const sample = (step: number) => {
    collect?.();
    samples.push({ step, rssMb: process.memoryUsage().rss / 2 ** 20, tensors: tf.memory().numTensors });
  };
  const t0 = performance.now();
  const result = await runTrial(
    { ...BENCH_CASES[name], batch_size: 128, steps, evaluations: [], log_interval: sampleEvery },
    {
      backend,
      // As a worker's trainer does: serialise the whole state now and then, then drop it.
      checkpointEvery: 1000,
      onCheckpoint: () => {},
      onTrainMetrics: (r) => {
        sample(r.step);
      },
    },
  );
  return {
    steps: result.step,
    seconds: (performance.now() - t0) / 1000,
    ms_per_step: result.msPerStep,
    sample_every: sampleEvery,
    warmup_steps: warmup,
    ...memoryTrend(samples, warmup),
  };
}

async function main(): Promise<void> {
  const req = JSON.parse(process.argv[2]) as MeasureRequest;
  const backend = await initBackend(req.backend);
  let out: Record<string, number>;
  if (req.kind === 'matmul') out = await matmul();
  else if (req.kind === 'step') out = await step(req.name, req.steps, req.warmup);
  else if (req.kind === 'seed-stack') out = await seedStack(req.name, req.seeds, req.steps, req.warmup);
  else if (req.kind === 'trials') out = await trials(req.units, backend);
  else if (req.kind === 'linear-eval') out = await linearEval(req.maxIter, req.referenceMaxIter);
  else if (req.kind === 'jacobian') out = await jacobian(req.inputs, req.svdCheck);
  else out = await memory(req.name, req.steps, req.sampleEvery, req.warmup, backend);
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  // A webgpu number means little without the device it ran on (a GPU, or lavapipe on the CPU).
  const adapter = webgpuAdapter();
  const where = backend === 'webgpu' && adapter ? { adapter: adapterLabel(adapter) } : {};
  process.stdout.write(JSON.stringify({ backend, ...where, ...out, peak_rss_mb: peakRssMb }) + '\n');
}

await main();
