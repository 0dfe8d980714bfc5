// A real `mlflow server` for integration tests: fresh SQLite store and artifact
// folder in a temp dir, a free port, and a process group so its uvicorn children
// die with it. It can be stopped and started again on the same port and data, which
// is how the tests stage an outage.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, serverProcess, venvExecutable } from './processes.js';

const READY_TIMEOUT_MS = 90_000;

export interface MlflowServer {
  /** e.g. http://127.0.0.1:41234 */
  uri: string;
  port: number;
  dataDir: string;
  /** Stops the server for good and deletes its data. */
  stop(): Promise<void>;
  /** Stops the process only; data and port are kept for start(). */
  kill(): Promise<void>;
  /** Starts again on the same port and data (after kill()). */
  start(): Promise<void>;
  restart(): Promise<void>;
  /** The server's combined stdout/stderr so far, for failure messages. */
  log(): Promise<string>;
}

export function mlflowExecutable(): string {
  return venvExecutable('mlflow', 'mlflow');
}

async function healthy(uri: string): Promise<boolean> {
  try {
    const response = await fetch(`${uri}/health`, { signal: AbortSignal.timeout(2000) });
    return response.status === 200;
  } catch {
    return false;
  }
}

/** A server on another host (a network namespace of the multi-host tests) with its own store and auth. */
export interface MlflowPlacement {
  /** --host, and the host of its URI. */
  host: string;
  port: number;
  /** Where its artifacts and log go (removed by stop()). */
  dataDir: string;
  backendStoreUri: string;
  /** Wraps the server's argv so it runs on that host. */
  command: (argv: string[]) => string[];
  /** e.g. --app-name basic-auth. */
  extraArgs: string[];
  env: NodeJS.ProcessEnv;
}

async function loopbackPlacement(): Promise<MlflowPlacement> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'mirl-mlflow-'));
  return {
    host: '127.0.0.1',
    port: await freePort(),
    dataDir,
    backendStoreUri: `sqlite:///${path.join(dataDir, 'mlflow.db')}`,
    command: (argv) => argv,
    extraArgs: [],
    env: {},
  };
}

/** Set by test/support/tier.ts: the URI of an MLflow server the tier's files share. */
export const SHARED_MLFLOW_ENV = 'MIRL_TEST_MLFLOW_URI';

/**
 * Inside a tier that shares one MLflow server, that server, unless the test must stop or
 * restart it (`own: true`) or place it on another host; tests there keep apart by
 * experiment (each sweep's name, each test's own experiment names).
 */
export async function startMlflowServer(
  options: { readyTimeoutMs?: number; placement?: MlflowPlacement; own?: boolean } = {},
): Promise<MlflowServer> {
  const shared = process.env[SHARED_MLFLOW_ENV];
  if (shared && !options.own && !options.placement) return sharedMlflow(shared);
  return startOwnMlflow(options);
}

function sharedMlflow(uri: string): MlflowServer {
  const notOwned = async () => {
    throw new Error(`the tier's shared MLflow server (${uri}) cannot be stopped by a test: start with { own: true }`);
  };
  return {
    uri,
    port: Number(new URL(uri).port),
    dataDir: '',
    stop: async () => {},
    kill: notOwned,
    start: notOwned,
    restart: notOwned,
    log: async () => `(shared server at ${uri}; its log is the tier's)`,
  };
}

async function startOwnMlflow(options: {
  readyTimeoutMs?: number;
  placement?: MlflowPlacement;
}): Promise<MlflowServer> {
  const { host, port, dataDir, backendStoreUri, command, extraArgs, env } =
    options.placement ?? (await loopbackPlacement());
  const uri = `http://${host}:${port}`;
  const [exe, ...args] = command([
    mlflowExecutable(),
    'server',
    '--backend-store-uri',
    backendStoreUri,
    '--artifacts-destination',
    path.join(dataDir, 'artifacts'),
    '--serve-artifacts',
    '--host',
    host,
    '--port',
    String(port),
    '--workers',
    '1',
    ...extraArgs,
  ]);
  const server = serverProcess({
    name: 'mlflow server',
    exe,
    args,
    logPath: path.join(dataDir, 'server.log'),
    options: {
      cwd: dataDir,
      env: {
        ...process.env,
        // The job runner (a handful of huey consumers) only serves GenAI features;
        // without it startup and shutdown are quicker and 2-core machines breathe.
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false',
        PYTHONUNBUFFERED: '1',
        ...env,
      },
    },
    ready: () => healthy(uri),
    readyTimeoutMs: options.readyTimeoutMs ?? READY_TIMEOUT_MS,
  });

  try {
    await server.start();
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }

  return {
    uri,
    port,
    dataDir,
    kill: server.kill,
    start: async () => {
      if (server.running) throw new Error('mlflow server is already running');
      await server.start();
    },
    restart: async () => {
      await server.kill();
      await server.start();
    },
    stop: async () => {
      await server.kill();
      await rm(dataDir, { recursive: true, force: true });
    },
    log: server.log,
  };
}
