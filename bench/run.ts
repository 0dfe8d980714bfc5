// `mirl bench`: every measurement for every available backend, side by side in one run
// (these machines are shared and noisy, so only same-run comparisons mean anything),
// then the targets checked against what was measured.
import type { StepPath } from '../ml/step-path.js';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '../ml/backend.js';
import type { MeasureRequest } from './measure.js';
import { BENCH_CASES } from './cases.js';
import { parseTrialConfig } from '../ml/config.js';
import { stackRefusal } from '../ml/stackable.js';
import { describeMachine, type MachineDescription } from './machine.js';
import { evaluateTargets, evaluatePeerTargets, type BenchRow, type TargetCheck } from './targets.js';
import { runPeerComparison, partitionCases, type PeerName, type StepPlan } from './peer/compare.js';
import { ensureJax, measureJax } from './peer/jax.js';

// scripts/gpu-check.sh runs this module bundled (no tsx there), beside measure.ts's bundle.
const BUNDLED = import.meta.url.endsWith('.mjs');
const MEASURE = fileURLToPath(new URL(BUNDLED ? './measure.mjs' : './measure.ts', import.meta.url));

export interface BenchOptions {
  backends: BackendName[];
  cases: string[];
  steps: number;
  warmup: number;
  /** Steps for models slower than ~0.3 s a step, so the run stays within minutes. */
  slowSteps: number;
  linearEvalMaxIter: number;
  linearEvalReferenceMaxIter: number;
  jacobianInputs: number;
  /** Jacobians also put through the full SVD, to show the fast path's agreement. */
  jacobianSvdCheck: number;
  /** One-step trials through a throwaway stack; 0 skips. */
  orchestrationTrials: number;
  orchestrationConcurrency: number;
  /** Steps of the trainer-memory run; 0 skips. */
  memorySteps: number;
  /** Seeds per stack in the seed_stack rows (one trial's step against S stacked); 0 skips. */
  seedStack: number;
  /** A study's stackable trials alone against stacked, in trials per hour (the stack_study row). */
  stackStudy?: { spec: string; profile: string | null; lanes: number; rounds: number };
  pathStudy?: { spec: string; profile: string | null; lanes: number; rounds: number; paths: StepPath[] };
  /** The same train steps in a peer framework, alternating with mirl's, `rounds` turns each. */
  peer?: { name: PeerName; rounds: number };
  log: (line: string) => void;
}

export interface BenchResult {
  machine: MachineDescription;
  started: string;
  seconds: number;
  targets: TargetCheck[];
  rows: BenchRow[];
}

/** One measurement in a child process; `env` adds to this process's environment there. */
export function measure(
  req: MeasureRequest,
  env: Record<string, string> = {},
): Promise<Record<string, number | string> | { error: string }> {
  return new Promise((resolve) => {
    const loader = BUNDLED ? [] : ['--import', 'tsx'];
    const child = spawn(process.execPath, ['--expose-gc', ...loader, MEASURE, JSON.stringify(req)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line));
      else resolve({ error: (err.trim().split('\n').pop() ?? `exit ${code}`).slice(0, 300) });
    });
  });
}

const SLOW = new Set(['convnet+bilinear', 'realnvp-shift+bilinear', 'adversarial-realnvp-affine']);
const MEMORY_CASE = 'mlp+bilinear';

/** Timed steps and warm-up of a case on a backend, or null where the case is not run there. */
export function stepPlan(
  name: string,
  backend: string,
  o: Pick<BenchOptions, 'steps' | 'slowSteps' | 'warmup'>,
): StepPlan | null {
  // Slow models on the plain JS backend would take hours: it is the last resort, not a target.
  if (backend === 'cpu' && name !== 'mlp+bilinear' && name !== 'mlp+concat') return null;
  const slow = SLOW.has(name) || backend === 'cpu';
  return slow ? { steps: o.slowSteps, warmup: 2 } : { steps: o.steps, warmup: o.warmup };
}

async function peerRows(
  o: BenchOptions,
  peer: NonNullable<BenchOptions['peer']>,
  add: (row: BenchRow) => void,
): Promise<void> {
  let python: string;
  try {
    const t0 = performance.now();
    python = await ensureJax(o.log);
    o.log(`[bench] ${peer.name} peer ready (${((performance.now() - t0) / 1000).toFixed(1)} s): ${python}`);
  } catch (err) {
    // Without the peer every comparison it could have made is an error row, not a silent gap.
    const msg = String(err instanceof Error ? err.message : err).slice(0, 400);
    for (const name of partitionCases(o.cases).run) add({ measure: 'peer', case: name, peer: peer.name, error: msg });
    return;
  }
  await runPeerComparison({
    peer: peer.name,
    cases: o.cases,
    backends: o.backends,
    rounds: peer.rounds,
    plan: (name, backend) => stepPlan(name, backend, o),
    measureMirl: (name, backend, plan) => measure({ kind: 'step', backend: backend as BackendName, name, ...plan }),
    measurePeer: (name, plan) => measureJax(python, name, plan.steps, plan.warmup),
    add,
  });
}

/** Cases whose configuration trains as a seed stack (ml/seed-stack.ts); the others are left out. */
export function stackableCases(cases: readonly string[]): string[] {
  return cases.filter((name) => {
    const cfg = parseTrialConfig({ ...BENCH_CASES[name], evaluations: [] });
    return stackRefusal([cfg, { ...cfg, seed: cfg.seed + 1 }]) === null;
  });
}

async function seedStackRows(o: BenchOptions, add: (row: BenchRow) => void): Promise<void> {
  for (const name of stackableCases(o.cases))
    for (const backend of o.backends.filter((b) => b !== 'cpu'))
      add({
        measure: 'seed_stack',
        case: name,
        ...(await measure({ kind: 'seed-stack', backend, name, seeds: o.seedStack, steps: o.steps, warmup: o.warmup })),
      });
}

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const started = new Date().toISOString();
  const machine = describeMachine(o.backends);
  const t0 = performance.now();
  const rows: BenchRow[] = [];
  const add = (row: BenchRow) => {
    rows.push(row);
    o.log(JSON.stringify(row));
  };
  for (const backend of o.backends) add({ measure: 'matmul_1024', ...(await measure({ kind: 'matmul', backend })) });
  for (const name of o.cases) {
    for (const backend of o.backends) {
      const plan = stepPlan(name, backend, o);
      if (plan)
        add({ measure: 'train_step', case: name, ...(await measure({ kind: 'step', backend, name, ...plan })) });
    }
  }
  if (o.seedStack > 0) await seedStackRows(o, add);
  if (o.stackStudy) {
    const backend = o.backends.find((b) => b !== 'cpu') ?? o.backends[0];
    // Imported here: it brings the spec layer, which the bundled GPU check leaves out.
    const { measureStackStudy } = await import('./stack-study.js');
    add(await measureStackStudy({ ...o.stackStudy, backend }, measure));
  }
  if (o.pathStudy) {
    const backend = o.backends.find((b) => b !== 'cpu') ?? o.backends[0];
    const { measurePathStudy } = await import('./path-study.js');
    add(await measurePathStudy({ ...o.pathStudy, backend }, measure));
  }
  if (o.peer) await peerRows(o, o.peer, add);
  const fast = o.backends.filter((b) => b !== 'cpu');
  for (const backend of fast) {
    add({
      measure: 'linear_eval_60000x100',
      ...(await measure({
        kind: 'linear-eval',
        backend,
        maxIter: o.linearEvalMaxIter,
        referenceMaxIter: o.linearEvalReferenceMaxIter,
      })),
    });
    add({
      measure: 'jacobian_392',
      ...(await measure({ kind: 'jacobian', backend, inputs: o.jacobianInputs, svdCheck: o.jacobianSvdCheck })),
    });
  }
  // Memory and orchestration on the backend a worker would pick: the first (fastest) available.
  const primary = fast[0] ?? o.backends[0];
  if (o.memorySteps > 0 && primary) {
    const warmup = Math.min(1000, Math.floor(o.memorySteps / 5));
    add({
      measure: 'worker_memory',
      case: MEMORY_CASE,
      ...(await measure({
        kind: 'memory',
        backend: primary,
        name: MEMORY_CASE,
        steps: o.memorySteps,
        sampleEvery: Math.max(10, Math.floor(o.memorySteps / 100)),
        warmup,
      })),
    });
  }
  if (o.orchestrationTrials > 0 && primary) {
    try {
      // Imported here: it brings Temporal, which the bundled GPU check leaves out.
      const { measureOrchestration } = await import('./orchestration.js');
      add({
        measure: 'orchestration',
        ...(await measureOrchestration({
          trials: o.orchestrationTrials,
          backend: primary,
          concurrency: o.orchestrationConcurrency,
          log: o.log,
        })),
      });
    } catch (err) {
      add({ measure: 'orchestration', error: String(err instanceof Error ? err.message : err).slice(0, 500) });
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  // Listed on every run, so that a run without --peer reads 'not measured' for them rather than omitting the claim.
  const targets = [...evaluateTargets(rows, seconds), ...evaluatePeerTargets(rows)];
  return { machine, started, seconds, targets, rows };
}

export const ALL_CASES = Object.keys(BENCH_CASES);
