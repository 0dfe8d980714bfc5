import { spawn } from 'node:child_process';
import type { CommandModule } from 'yargs';
import { BACKENDS } from '../../ml/config.js';
import type { BackendRequest } from '../../ml/backend.js';
import { TASK_QUEUES } from '../../sweep-spec/index.js';
import { TRACKING_MODES, type TrackingMode } from '../../workers/tracking-modes.js';
import { SWEEP_TASK_QUEUE } from '../../workflows/types.js';
import { UsageError } from '../errors.js';

interface Args {
  'task-queue': string;
  'max-concurrent'?: number;
  backend?: BackendRequest;
  workflows: boolean;
  tracking: TrackingMode;
  supervise: boolean;
  'allow-cpu': boolean;
}

export const workerCommand: CommandModule<object, Args> = {
  command: 'worker',
  describe: `Run trials from a task queue (and the sweep workflows from ${SWEEP_TASK_QUEUE})`,
  builder: (y) =>
    y
      .option('task-queue', {
        type: 'string',
        default: TASK_QUEUES.cpu,
        describe: `${TASK_QUEUES.cpu} or ${TASK_QUEUES.gpu}`,
      })
      .option('max-concurrent', {
        type: 'number',
        describe: 'trials at once (default: cores on mirl-cpu, 1 on mirl-gpu)',
      })
      .option('backend', {
        choices: BACKENDS,
        describe: 'TensorFlow.js backend for trainers (default: MIRL_BACKEND or auto)',
      })
      .option('workflows', {
        type: 'boolean',
        default: true,
        describe: `also run sweep workflows (${SWEEP_TASK_QUEUE}); --no-workflows for trial-only workers`,
      })
      .option('tracking', {
        choices: TRACKING_MODES,
        default: 'auto' as TrackingMode,
        describe: 'MLflow tracking: auto = mlflow when MLFLOW_TRACKING_URI is set, else off',
      })
      .option('allow-cpu', {
        type: 'boolean',
        default: false,
        describe: `serve ${TASK_QUEUES.gpu} on a host without a usable GPU (tests, dry runs): its trials train on the CPU`,
      })
      .option('supervise', {
        type: 'boolean',
        default: false,
        describe: 'run the worker as a child and restart it whenever it dies (what `mirl up` does)',
      }),
  handler: async (args) => {
    if (
      args['max-concurrent'] !== undefined &&
      (!Number.isInteger(args['max-concurrent']) || args['max-concurrent'] < 1)
    ) {
      throw new RangeError(`--max-concurrent must be a positive integer, got ${args['max-concurrent']}`);
    }
    if (args['task-queue'] === TASK_QUEUES.gpu && !args['allow-cpu']) await refuseWithoutGpu(args.backend);
    if (args.supervise) return superviseWorker();
    watchSupervisor();
    // Loaded on use: every `mirl` command would otherwise pay for a worker's dependencies at start-up.
    const { runMirlWorker } = await import('../../workers/worker.js');
    await runMirlWorker({
      taskQueue: args['task-queue'],
      maxConcurrent: args['max-concurrent'],
      backend: args.backend,
      workflows: args.workflows,
      tracking: args.tracking,
      onReady: (s) =>
        process.stderr.write(
          `mirl worker ready: ${s.identity} on ${s.taskQueue} (${s.maxConcurrent} at once, backend ${s.backend})` +
            `${s.workflows ? ` + workflows on ${SWEEP_TASK_QUEUE}` : ''}, tracking ${s.tracking}\n`,
        ),
    });
  },
};

/** A GPU worker that would train on the CPU stops here, in one line, before connecting anywhere. */
async function refuseWithoutGpu(backend: BackendRequest | undefined): Promise<void> {
  const { gpuQueueProblem, probeGpu } = await import('../../workers/gpu-probe.js');
  const { defaultBackend } = await import('../../workers/worker-defaults.js');
  const problem = gpuQueueProblem(await probeGpu(), backend ?? defaultBackend());
  if (problem) {
    throw new UsageError(
      `--task-queue ${TASK_QUEUES.gpu}: ${problem}; run it on a GPU host, or pass --allow-cpu to train its trials on the CPU`,
    );
  }
}

/** The same command without --supervise, as a child that is restarted whenever it dies. */
async function superviseWorker(): Promise<void> {
  const { supervise } = await import('../../workers/supervise.js');
  const argv = process.argv.slice(1).filter((a) => a !== '--supervise');
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    for (const s of ['SIGTERM', 'SIGINT'] as const) process.once(s, () => resolve(s));
  });
  process.exitCode = await supervise({
    spawn: () =>
      spawn(process.execPath, argv, {
        stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
        env: { ...process.env, MIRL_SUPERVISOR_PID: String(process.pid) },
      }),
    log: (line) => process.stderr.write(line + '\n'),
    stopRequested,
  });
}

/** A supervised worker whose supervisor vanished (SIGKILL) stops as if told to, rather than run on unseen. */
function watchSupervisor(): void {
  if (!process.env.MIRL_SUPERVISOR_PID || !process.send) return;
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  process.channel?.unref();
}
