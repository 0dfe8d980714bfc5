// A real `mlflow server` for integration tests: fresh SQLite store and artifact
// folder in a temp dir, a free port, and a process group so its uvicorn children
// die with it. It can be stopped and started again on the same port and data, which
// is how the tests stage an outage.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 5_000;

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
  const venv = path.resolve(REPO_ROOT, process.env.MIRL_VENV ?? '.venv');
  const exe = path.join(venv, 'bin', 'mlflow');
  if (!existsSync(exe)) {
    throw new Error(`${exe} not found: run \`bash scripts/setup-python.sh\` to create the Python venv with mlflow`);
  }
  return exe;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

// Groups still alive when the test process exits (a crash, a forgotten stop()).
const liveGroups = new Set<number>();
process.on('exit', () => {
  for (const pgid of liveGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function killGroup(pgid: number): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pgid, sig);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + STOP_GRACE_MS;
  while (groupAlive(pgid) && Date.now() < deadline) await sleep(100);
  if (groupAlive(pgid)) {
    signal('SIGKILL');
    while (groupAlive(pgid)) await sleep(50);
  }
  liveGroups.delete(pgid);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function healthy(uri: string): Promise<boolean> {
  try {
    const response = await fetch(`${uri}/health`, { signal: AbortSignal.timeout(2000) });
    return response.status === 200;
  } catch {
    return false;
  }
}

export async function startMlflowServer(options: { readyTimeoutMs?: number } = {}): Promise<MlflowServer> {
  const exe = mlflowExecutable();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'mirl-mlflow-'));
  const port = await freePort();
  const uri = `http://127.0.0.1:${port}`;
  const logPath = path.join(dataDir, 'server.log');
  const readyTimeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  let child: ChildProcess | undefined;

  const startProcess = async () => {
    const logStream = createWriteStream(logPath, { flags: 'a' });
    const proc = spawn(
      exe,
      [
        'server',
        '--backend-store-uri', `sqlite:///${path.join(dataDir, 'mlflow.db')}`,
        '--artifacts-destination', path.join(dataDir, 'artifacts'),
        '--serve-artifacts',
        '--host', '127.0.0.1',
        '--port', String(port),
        '--workers', '1',
      ],
      {
        cwd: dataDir,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          // The job runner (a handful of huey consumers) only serves GenAI features;
          // without it startup and shutdown are quicker and 2-core machines breathe.
          MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false',
          PYTHONUNBUFFERED: '1',
        },
      },
    );
    proc.stdout?.pipe(logStream);
    proc.stderr?.pipe(logStream);
    if (proc.pid === undefined) throw new Error(`could not spawn ${exe}`);
    liveGroups.add(proc.pid);
    child = proc;

    let exited: string | undefined;
    proc.once('exit', (code, sig) => {
      exited = `exited with ${code ?? sig}`;
    });
    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      if (exited) break;
      if (await healthy(uri)) return;
      await sleep(250);
    }
    const reason = exited ?? `did not answer ${uri}/health within ${readyTimeoutMs} ms`;
    await killGroup(proc.pid);
    child = undefined;
    throw new Error(`mlflow server ${reason}; log tail:\n${(await readLog()).slice(-3000)}`);
  };

  const readLog = async () => {
    try {
      return await readFile(logPath, 'utf8');
    } catch {
      return '';
    }
  };

  const kill = async () => {
    const pid = child?.pid;
    child = undefined;
    if (pid !== undefined) await killGroup(pid);
  };

  try {
    await startProcess();
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }

  return {
    uri,
    port,
    dataDir,
    kill,
    start: async () => {
      if (child) throw new Error('mlflow server is already running');
      await startProcess();
    },
    restart: async () => {
      await kill();
      await startProcess();
    },
    stop: async () => {
      await kill();
      await rm(dataDir, { recursive: true, force: true });
    },
    log: readLog,
  };
}
