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

export async function startMlflowServer(options: { readyTimeoutMs?: number } = {}): Promise<MlflowServer> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'mirl-mlflow-'));
  const port = await freePort();
  const uri = `http://127.0.0.1:${port}`;
  const server = serverProcess({
    name: 'mlflow server',
    exe: mlflowExecutable(),
    args: [
      'server',
      '--backend-store-uri', `sqlite:///${path.join(dataDir, 'mlflow.db')}`,
      '--artifacts-destination', path.join(dataDir, 'artifacts'),
      '--serve-artifacts',
      '--host', '127.0.0.1',
      '--port', String(port),
      '--workers', '1',
    ],
    logPath: path.join(dataDir, 'server.log'),
    options: {
      cwd: dataDir,
      env: {
        ...process.env,
        // The job runner (a handful of huey consumers) only serves GenAI features;
        // without it startup and shutdown are quicker and 2-core machines breathe.
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false',
        PYTHONUNBUFFERED: '1',
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
