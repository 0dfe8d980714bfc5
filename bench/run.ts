// `mirl bench`: every measurement for every available backend, side by side in one run
// (these machines are shared and noisy, so only same-run comparisons mean anything).
import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '../ml/backend.js';
import type { MeasureRequest } from './measure.js';
import { BENCH_CASES } from './cases.js';

const MEASURE = fileURLToPath(new URL('./measure.ts', import.meta.url));

export interface BenchOptions {
  backends: BackendName[];
  cases: string[];
  steps: number;
  warmup: number;
  /** Steps for models slower than ~0.3 s a step, so the run stays within minutes. */
  slowSteps: number;
  linearEvalMaxIter: number;
  jacobianInputs: number;
  log: (line: string) => void;
}

export interface BenchResult {
  machine: { cpus: string; cores: number; memory_gb: number; node: string; platform: string };
  started: string;
  seconds: number;
  rows: Record<string, unknown>[];
}

export function measure(req: MeasureRequest): Promise<Record<string, number | string> | { error: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MEASURE, JSON.stringify(req)], { stdio: ['ignore', 'pipe', 'pipe'] });
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

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const t0 = performance.now();
  const rows: Record<string, unknown>[] = [];
  const add = (row: Record<string, unknown>) => {
    rows.push(row);
    o.log(JSON.stringify(row));
  };
  for (const backend of o.backends) add({ measure: 'matmul_1024', ...(await measure({ kind: 'matmul', backend })) });
  for (const name of o.cases) {
    // Slow models on the plain JS backend would take hours: it is the last resort, not a target.
    for (const backend of o.backends) {
      if (backend === 'cpu' && name !== 'mlp+bilinear' && name !== 'mlp+concat') continue;
      const slow = SLOW.has(name) || backend === 'cpu';
      const steps = slow ? o.slowSteps : o.steps;
      add({ measure: 'train_step', case: name, ...(await measure({ kind: 'step', backend, name, steps, warmup: slow ? 2 : o.warmup })) });
    }
  }
  for (const backend of o.backends.filter((b) => b !== 'cpu')) {
    add({ measure: 'linear_eval_60000x100', ...(await measure({ kind: 'linear-eval', backend, maxIter: o.linearEvalMaxIter, referenceMaxIter: 1000 })) });
    add({ measure: 'jacobian_392', ...(await measure({ kind: 'jacobian', backend, inputs: o.jacobianInputs })) });
  }
  const cpus = os.cpus();
  return {
    machine: { cpus: cpus[0]?.model ?? 'unknown', cores: cpus.length, memory_gb: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}` },
    started: new Date().toISOString(),
    seconds: (performance.now() - t0) / 1000,
    rows,
  };
}

export const ALL_CASES = Object.keys(BENCH_CASES);
