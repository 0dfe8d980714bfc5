// Orchestration overhead through a throwaway local stack: its own Temporal dev server
// (temp dir, free ports) and one worker with tracking off, a sweep of one-step trials,
// wall seconds per trial from launch to the sweep's end. Never touches `mirl up`'s stack.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BackendName } from '../ml/backend.js';
import { parseSpecData } from '../sweep-spec/parse.js';
import { launchSweep, readSweep } from '../client/sweeps.js';
import { localOnly, REPO_ROOT, serverProcess, sleep } from '../servers/processes.js';
import { startTemporalServer } from '../servers/temporal-dev-server.js';
import { workflowBundleFile } from '../workers/bundle.js';

export interface OrchestrationOptions {
  trials: number;
  backend: BackendName;
  /** Trials at once, on the worker and in the sweep. */
  concurrency: number;
  log: (line: string) => void;
}

const POLL_MS = 250;
const WORKER_READY_MS = 240_000;
const SWEEP_TIMEOUT_MS = 15 * 60_000;

/** The smallest real trial: MLP encoders, a small batch, one step, no evaluations. */
export function orchestrationSpec(trials: number, concurrency: number) {
  return parseSpecData({
    name: 'bench-orchestration',
    study: 'bench',
    description: 'one-step trials: what running a trial costs beyond its training',
    trial: {
      data: 'mnist',
      encoder: 'mlp',
      critic: 'bilinear',
      estimator: 'nce',
      steps: 1,
      batch_size: 16,
      evaluations: [],
    },
    seeds: trials,
    max_concurrent_trials: concurrency,
  });
}

export async function measureOrchestration(o: OrchestrationOptions): Promise<Record<string, number | string>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mirl-bench-stack-'));
  const t0 = performance.now();
  const server = await startTemporalServer();
  const serverS = (performance.now() - t0) / 1000;
  const logPath = path.join(dir, 'worker.log');
  const worker = serverProcess({
    name: 'mirl worker',
    exe: process.execPath,
    args: [
      'bin/mirl.js',
      'worker',
      '--tracking',
      'off',
      '--backend',
      o.backend,
      '--max-concurrent',
      String(o.concurrency),
    ],
    logPath,
    options: {
      cwd: REPO_ROOT,
      env: {
        ...localOnly(process.env),
        TEMPORAL_ADDRESS: server.address,
        TEMPORAL_NAMESPACE: 'default',
        MIRL_CHECKPOINT_DIR: path.join(dir, 'checkpoints'),
        MIRL_WORKFLOW_BUNDLE: await workflowBundleFile(),
      },
    },
    ready: async () => (await worker.log()).includes('mirl worker ready'),
    readyTimeoutMs: WORKER_READY_MS,
  });
  try {
    const t1 = performance.now();
    await worker.start();
    const workerS = (performance.now() - t1) / 1000;
    o.log(
      `orchestration: Temporal up in ${serverS.toFixed(1)} s, worker in ${workerS.toFixed(1)} s; launching ${o.trials} trials`,
    );
    const t2 = performance.now();
    const sweepId = await launchSweep(server.client, orchestrationSpec(o.trials, o.concurrency), null);
    let snap = await readSweep(server.client, sweepId, false);
    while (snap.status === 'RUNNING') {
      if (performance.now() - t2 > SWEEP_TIMEOUT_MS)
        throw new Error(`sweep not done after ${SWEEP_TIMEOUT_MS / 1000} s: ${JSON.stringify(snap.progress.counts)}`);
      await sleep(POLL_MS);
      snap = await readSweep(server.client, sweepId, false);
    }
    const wallS = (performance.now() - t2) / 1000;
    const latencies = snap.progress.trials
      .filter((t) => t.startedAt !== null && t.recordedAt !== null)
      .map((t) => (t.recordedAt! - t.startedAt!) / 1000);
    return {
      backend: o.backend,
      status: snap.status,
      trials: o.trials,
      done: snap.progress.counts.done,
      failed: snap.progress.counts.failed,
      concurrency: o.concurrency,
      seconds_total: wallS,
      seconds_per_trial: wallS / o.trials,
      // Start to record of one trial, as its workflow saw it: a trainer process, one step, the result.
      mean_trial_latency_s: latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : NaN,
      temporal_start_s: serverS,
      worker_start_s: workerS,
    };
  } finally {
    await worker.kill();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
