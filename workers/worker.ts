// A mirl worker process: runs trial activities from one resource queue (mirl-cpu or
// mirl-gpu) and, unless told otherwise, the sweep/trial workflows from mirl-sweeps, so a
// single `mirl worker` is a complete installation. SIGINT/SIGTERM (handled by the
// Temporal runtime) shut down gracefully: running trials are cancelled, checkpoint, and
// fail retryably, so the server hands them to another worker which resumes them.
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import type { BackendRequest } from '../ml/backend.js';
import {
  createActivities,
  createSweepActivities,
  LocalCheckpointStore,
  MlflowTracking,
  nullMetricsSink,
  type CheckpointStore,
  type MetricsSink,
  type MlflowTrackingOptions,
} from '../activities/index.js';
import { MlflowClient } from '../tracking/index.js';
import { temporalSettings } from '../servers/temporal-connection.js';
import { connectWorker } from './worker-connection.js';
import { checkTrackingCredentials } from './tracking-check.js';
import { SWEEP_TASK_QUEUE } from '../workflows/types.js';
import { bundleWorkflows } from './bundle.js';
import { defaultBackend, defaultMaxConcurrent } from './worker-defaults.js';

export interface MirlWorkerOptions {
  /** Activity queue: mirl-cpu or mirl-gpu. */
  taskQueue: string;
  maxConcurrent?: number;
  backend?: BackendRequest;
  /** Also run the sweep and trial workflows (queue mirl-sweeps). */
  workflows?: boolean;
  /** A prebuilt bundle (MIRL_WORKFLOW_BUNDLE): skips webpack at start-up. */
  workflowBundlePath?: string;
  store?: CheckpointStore;
  sink?: MetricsSink;
  /** auto (default): MLflow when MLFLOW_TRACKING_URI is set; off: local checkpoints, no metrics. */
  tracking?: TrackingMode;
  /** Extra settings of the MLflow tracking (tests shorten buffers). */
  mlflow?: Partial<Omit<MlflowTrackingOptions, 'client'>>;
  /** Called once both workers poll; the CLI prints its banner from here. */
  onReady?(summary: {
    identity: string;
    taskQueue: string;
    maxConcurrent: number;
    backend: BackendRequest;
    workflows: boolean;
    tracking: string;
  }): void;
}

import type { TrackingMode } from './tracking-modes.js';
export { TRACKING_MODES, type TrackingMode } from './tracking-modes.js';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The commit of the code this worker runs, when it runs from a git checkout. */
export function gitCommit(dir = REPO_ROOT): string | null {
  try {
    return (
      execFileSync('git', ['rev-parse', 'HEAD'], {
        cwd: dir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() || null
    );
  } catch {
    return null;
  }
}

/** The MLflow tracking a worker uses, or null; `auto` without MLFLOW_TRACKING_URI warns once. */
export function trackingFor(
  mode: TrackingMode,
  options: Partial<Omit<MlflowTrackingOptions, 'client'>> = {},
  env: NodeJS.ProcessEnv = process.env,
  warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): MlflowTracking | null {
  if (mode === 'off') return null;
  if (mode === 'auto' && !env.MLFLOW_TRACKING_URI) {
    warn(
      'mirl worker: MLFLOW_TRACKING_URI is not set, tracking is off (metrics stay in Temporal, checkpoints on local disk)',
    );
    return null;
  }
  return new MlflowTracking({ client: MlflowClient.fromEnv({}, env), gitCommit: gitCommit(), ...options });
}

let runtimeInstalled = false;
function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level = (process.env.MIRL_LOG_LEVEL ?? 'WARN').toUpperCase() as LogLevel;
  Runtime.install({ logger: new DefaultLogger(level) });
}

export async function runMirlWorker(opts: MirlWorkerOptions): Promise<void> {
  installRuntime();
  const settings = temporalSettings();
  const connection = await connectWorker(settings);
  const maxConcurrent = opts.maxConcurrent ?? defaultMaxConcurrent(opts.taskQueue);
  const backend = opts.backend ?? defaultBackend();
  const runWorkflows = opts.workflows ?? true;
  // Under `mirl worker --supervise` the identity also ends with the supervisor's pid, the
  // one the stack records, so its readiness check recognises every restarted worker.
  const supervisor = process.env.MIRL_SUPERVISOR_PID;
  const identity = `mirl-worker@${os.hostname()}:${process.pid}${supervisor ? `:${supervisor}` : ''}`;
  const tracking = opts.store && opts.sink ? null : trackingFor(opts.tracking ?? 'auto', { backend, ...opts.mlflow });
  const common = {
    connection,
    namespace: settings.namespace,
    identity,
    // Trials get a moment, then are cancelled so they checkpoint before the process exits.
    shutdownGraceTime: '1s',
    shutdownForceTime: '45s',
  };
  try {
    // Before polling: a worker the tracking server refuses must not take trials it cannot log.
    if (tracking) await checkTrackingCredentials();
    const workers: Worker[] = [
      await Worker.create({
        ...common,
        taskQueue: opts.taskQueue,
        activities: createActivities({
          store: opts.store ?? tracking?.store ?? new LocalCheckpointStore(),
          sink: opts.sink ?? tracking?.sink ?? nullMetricsSink,
          backend,
          identity,
          maxConcurrent,
        }),
        maxConcurrentActivityTaskExecutions: maxConcurrent,
        // Cancellation reaches an activity only through a heartbeat response: keep that prompt.
        maxHeartbeatThrottleInterval: '2s',
        defaultHeartbeatThrottleInterval: '2s',
      }),
    ];
    if (runWorkflows) {
      const bundlePath = opts.workflowBundlePath ?? process.env.MIRL_WORKFLOW_BUNDLE;
      const workflowBundle = bundlePath ? { code: await readFile(bundlePath, 'utf8') } : await bundleWorkflows();
      workers.push(
        await Worker.create({
          ...common,
          taskQueue: SWEEP_TASK_QUEUE,
          workflowBundle,
          activities: createSweepActivities(tracking),
        }),
      );
    }
    opts.onReady?.({
      identity,
      taskQueue: opts.taskQueue,
      maxConcurrent,
      backend,
      workflows: runWorkflows,
      tracking: tracking ? `mlflow ${tracking.trackingUri}` : 'off',
    });
    // One worker failing (e.g. a broken bundle) must not leave the other polling forever.
    await Promise.all(
      workers.map((w) =>
        w.run().catch((err) => {
          for (const other of workers) if (other !== w && other.getState() === 'RUNNING') other.shutdown();
          throw err;
        }),
      ),
    );
  } finally {
    await connection.close();
  }
}
