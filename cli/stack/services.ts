// The three processes of the local stack: how each is started, what identifies it on
// the process table, which ports it takes, and when it counts as ready.
import { TEMPORAL_DYNAMIC_CONFIG } from '../../servers/temporal-dev-server.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { localOnly } from '../../servers/processes.js';
import { mlflowReady, temporalReady, workerPolling } from './health.js';
import type { StackPaths } from './home.js';
import type { ServiceName, StackPorts } from './state.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface WorkerSettings {
  taskQueue: string;
  maxConcurrent?: number;
  backend?: string;
}

export interface StackContext {
  paths: StackPaths;
  ports: StackPorts;
  worker: WorkerSettings;
  env: NodeJS.ProcessEnv;
}

export interface PortClaim {
  port: number;
  what: string;
  flag: string;
}

export interface ServiceDef {
  name: ServiceName;
  /** How long a fresh start may take before it counts as failed (MLflow on 2 cores is slow). */
  readyTimeoutMs: number;
  /** SIGTERM grace before SIGKILL on `down` (the worker checkpoints running trials). */
  stopGraceMs: number;
  ports(ctx: StackContext): PortClaim[];
  command(ctx: StackContext): { argv: string[]; env: NodeJS.ProcessEnv; marker: string };
  ready(ctx: StackContext, pid: number): Promise<boolean>;
}

function venvExecutable(name: string, env: NodeJS.ProcessEnv): string {
  const exe = path.resolve(REPO_ROOT, env.MIRL_VENV ?? '.venv', 'bin', name);
  if (!existsSync(exe))
    throw new Error(
      `${exe} not found: run \`bash scripts/install.sh\` (builds the Python venv with the Temporal CLI and MLflow)`,
    );
  return exe;
}

export const temporalAddress = (ports: StackPorts) => `127.0.0.1:${ports.temporal}`;
export const temporalUiUrl = (ports: StackPorts) => `http://127.0.0.1:${ports.temporalUi}`;
export const mlflowUrl = (ports: StackPorts) => `http://127.0.0.1:${ports.mlflow}`;

const temporalService: ServiceDef = {
  name: 'temporal',
  readyTimeoutMs: 60_000,
  stopGraceMs: 10_000,
  ports: (ctx) => [
    { port: ctx.ports.temporal, what: 'Temporal gRPC', flag: '--temporal-port' },
    { port: ctx.ports.temporalUi, what: 'Temporal UI', flag: '--temporal-ui-port' },
  ],
  command: (ctx) => ({
    argv: [
      venvExecutable('temporal', ctx.env),
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(ctx.ports.temporal),
      '--ui-port',
      String(ctx.ports.temporalUi),
      '--db-filename',
      ctx.paths.temporalDb,
      '--namespace',
      'default',
      '--log-level',
      'warn',
      '--ui-disable-news-fetch',
      ...TEMPORAL_DYNAMIC_CONFIG.flatMap((v) => ['--dynamic-config-value', v]),
      '--search-attribute',
      'MirlSweep=Keyword',
      '--search-attribute',
      'MirlStudy=Keyword',
    ],
    env: ctx.env,
    marker: ctx.paths.temporalDb,
  }),
  ready: (ctx) => temporalReady(ctx.ports.temporal, ctx.ports.temporalUi),
};

const mlflowService: ServiceDef = {
  name: 'mlflow',
  readyTimeoutMs: 120_000,
  stopGraceMs: 10_000,
  ports: (ctx) => [{ port: ctx.ports.mlflow, what: 'MLflow', flag: '--mlflow-port' }],
  command: (ctx) => ({
    argv: [
      venvExecutable('mlflow', ctx.env),
      'server',
      '--backend-store-uri',
      `sqlite:///${ctx.paths.mlflowDb}`,
      '--serve-artifacts',
      '--artifacts-destination',
      ctx.paths.mlflowArtifacts,
      '--host',
      '127.0.0.1',
      '--port',
      String(ctx.ports.mlflow),
      '--workers',
      '1',
    ],
    // The job runner only serves MLflow's GenAI features; without it start-up is quicker.
    env: { ...ctx.env, MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false', PYTHONUNBUFFERED: '1' },
    marker: ctx.paths.mlflowDb,
  }),
  ready: (ctx) => mlflowReady(ctx.ports.mlflow),
};

const WORKER_MARKER = 'bin/mirl.js worker';

const workerService: ServiceDef = {
  name: 'worker',
  // The worker bundles the workflow code with webpack before it polls.
  readyTimeoutMs: 180_000,
  stopGraceMs: 30_000,
  ports: () => [],
  command: (ctx) => {
    const w = ctx.worker;
    return {
      argv: [
        process.execPath,
        path.join(REPO_ROOT, 'bin', 'mirl.js'),
        'worker',
        '--supervise',
        '--task-queue',
        w.taskQueue,
        ...(w.maxConcurrent !== undefined ? ['--max-concurrent', String(w.maxConcurrent)] : []),
        ...(w.backend ? ['--backend', w.backend] : []),
      ],
      env: {
        ...localOnly(ctx.env),
        TEMPORAL_ADDRESS: temporalAddress(ctx.ports),
        TEMPORAL_NAMESPACE: 'default',
        MLFLOW_TRACKING_URI: mlflowUrl(ctx.ports),
        MIRL_CHECKPOINT_DIR: ctx.env.MIRL_CHECKPOINT_DIR || ctx.paths.checkpoints,
        // The worker finds its stack as every command does; a MIRL_HOME of another stack
        // inherited from `up`'s caller would contradict the addresses above and stop it.
        MIRL_HOME: ctx.paths.home,
      },
      marker: WORKER_MARKER,
    };
  },
  ready: (ctx, pid) => workerPolling(ctx.ports.temporal, pid, ctx.worker.taskQueue),
};

/** By name; stackUp starts the two servers side by side, then the worker, which needs both. */
export const SERVICE_DEFS: Record<ServiceName, ServiceDef> = {
  temporal: temporalService,
  mlflow: mlflowService,
  worker: workerService,
};
