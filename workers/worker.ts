// A mirl worker process: runs trial activities from one resource queue (mirl-cpu or
// mirl-gpu) and, unless told otherwise, the sweep/trial workflows from mirl-sweeps, so a
// single `mirl worker` is a complete installation. SIGINT/SIGTERM (handled by the
// Temporal runtime) shut down gracefully: running trials are cancelled, checkpoint, and
// fail retryably, so the server hands them to another worker which resumes them.
import os from 'node:os';
import { readFile } from 'node:fs/promises';
import { DefaultLogger, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import type { BackendRequest } from '../ml/backend.js';
import { createActivities, LocalCheckpointStore, nullMetricsSink, type CheckpointStore, type MetricsSink } from '../activities/index.js';
import { connectWorker, temporalSettings } from '../cli/temporal-connection.js';
import { SWEEP_TASK_QUEUE } from '../workflows/types.js';
import { bundleWorkflows } from './bundle.js';
import { defaultBackendFor, defaultMaxConcurrent } from './worker-defaults.js';

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
  /** Called once both workers poll; the CLI prints its banner from here. */
  onReady?(summary: { identity: string; taskQueue: string; maxConcurrent: number; backend: BackendRequest; workflows: boolean }): void;
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
  const backend = opts.backend ?? defaultBackendFor(opts.taskQueue);
  const runWorkflows = opts.workflows ?? true;
  const identity = `mirl-worker@${os.hostname()}:${process.pid}`;
  const common = {
    connection,
    namespace: settings.namespace,
    identity,
    // Trials get a moment, then are cancelled so they checkpoint before the process exits.
    shutdownGraceTime: '1s',
    shutdownForceTime: '45s',
  };
  try {
    const workers: Worker[] = [
      await Worker.create({
        ...common,
        taskQueue: opts.taskQueue,
        activities: createActivities({ store: opts.store ?? new LocalCheckpointStore(), sink: opts.sink ?? nullMetricsSink, backend, identity }),
        maxConcurrentActivityTaskExecutions: maxConcurrent,
        // Cancellation reaches an activity only through a heartbeat response: keep that prompt.
        maxHeartbeatThrottleInterval: '2s',
        defaultHeartbeatThrottleInterval: '2s',
      }),
    ];
    if (runWorkflows) {
      const bundlePath = opts.workflowBundlePath ?? process.env.MIRL_WORKFLOW_BUNDLE;
      const workflowBundle = bundlePath ? { code: await readFile(bundlePath, 'utf8') } : await bundleWorkflows();
      workers.push(await Worker.create({ ...common, taskQueue: SWEEP_TASK_QUEUE, workflowBundle }));
    }
    opts.onReady?.({ identity, taskQueue: opts.taskQueue, maxConcurrent, backend, workflows: runWorkflows });
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
