// The cluster of deploy/README.md on one machine: four hosts (network namespaces on a
// bridge), control running PostgreSQL, MLflow (basic auth, PostgreSQL store, served
// artifacts) and the Temporal dev server; workers on worker-a and worker-b; the CLI on
// client. Only the bridge joins them. The test process, in the root namespace, reads
// Temporal and MLflow over the bridge as an operator would, through the same `Stack`
// the fault tests assert with, so their checks (test/faults/harness.ts) apply unchanged.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MlflowClient, silentLogger } from '../../tracking/index.js';
import { startMlflowServer, type MlflowServer } from '../support/mlflow-server.js';
import { exited, REPO_ROOT, serverProcess, type ServerProcess } from '../support/processes.js';
import type { Stack } from '../support/stack.js';
import { startTemporalServer, workflowBundleFile } from '../support/temporal-server.js';
import { WorkerPool } from '../support/worker-pool.js';
import { createNetwork, onHost, removeNetwork, removeStale, TEMP_PREFIX, type Host, type Network } from './netns.js';
import { startPostgres, type Postgres } from './postgres.js';

export const HOSTS = ['control', 'worker-a', 'worker-b', 'client'] as const;
export type HostName = (typeof HOSTS)[number];
export const TEMPORAL_PORT = 7233;
export const MLFLOW_PORT = 5000;
/** The service account every worker and the CLI log in as (deploy/README.md). */
export const MLFLOW_USER = 'mirl';

export interface HostWorker {
  host: HostName;
  /** mirl-worker@<host>:<pid>, from its ready line. */
  identity: string;
  log(): Promise<string>;
  stop(): Promise<void>;
}

export interface Cluster {
  network: Network;
  dir: string;
  postgres: Postgres;
  /** Temporal and MLflow as the test process reads them (MLflow as admin). */
  stack: Stack;
  /** The password of MLFLOW_USER. */
  password: string;
  envFor(host: HostName, extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** Starts `mirl worker ARGS` on `host` and resolves once it polls. */
  startWorker(host: HostName, args: string[], env?: NodeJS.ProcessEnv): Promise<HostWorker>;
  /** Runs `mirl worker ARGS` on `host` until it exits by itself (a worker expected to refuse to start). */
  workerUntilExit(
    host: HostName,
    args: string[],
    env: NodeJS.ProcessEnv,
    timeoutMs?: number,
  ): Promise<{ code: number | null; output: string }>;
  /** `mirl ARGS` on the client host. */
  client(args: string[]): SpawnSyncReturns<string>;
  stop(): Promise<void>;
}

const secret = () => randomBytes(12).toString('base64url');
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/**
 * Everything the suite made, removed without awaiting anything: runs from 'exit' and
 * signal handlers too, so an interrupted run leaves no namespace, link or temp dir.
 */
function teardownSync(network: Network, dir: string): void {
  removeNetwork(network);
  if (process.env.MIRL_KEEP_TEST_DIR !== '1') rmSync(dir, { recursive: true, force: true });
}

function guardProcess(network: Network, dir: string): () => void {
  const onExit = () => teardownSync(network, dir);
  const onSignal = (signal: NodeJS.Signals) => {
    teardownSync(network, dir);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

export async function startCluster(): Promise<Cluster> {
  removeStale();
  const dir = await mkdtemp(path.join(os.tmpdir(), `${TEMP_PREFIX}${process.pid}-`));
  // The postgres user must reach its data dir inside; nobody may list what else is here.
  chmodSync(dir, 0o711);
  const network = createNetwork([...HOSTS]);
  const unguard = guardProcess(network, dir);
  try {
    return await startControl(network, dir, unguard);
  } catch (err) {
    teardownSync(network, dir);
    unguard();
    throw err;
  }
}

async function startControl(network: Network, dir: string, unguard: () => void): Promise<Cluster> {
  const control = network.hosts.control;
  const dbPassword = secret();
  const postgres = await startPostgres(
    control,
    dir,
    'mlflow',
    dbPassword,
    ['mlflow', 'mlflow_auth'],
    [control.address],
  );
  const [temporal, mlflowServer] = await Promise.all([
    startTemporalServer({ placement: await temporalPlacement(control, dir) }),
    startMlflowWithAuth(control, dir, postgres),
  ]);
  const password = secret();
  await createMlflowUser(mlflowServer.server, mlflowServer.adminPassword, MLFLOW_USER, password);
  const bundle = await workflowBundleFile();
  const envFor = (host: HostName, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TEMPORAL_ADDRESS: temporal.address,
    MLFLOW_TRACKING_URI: mlflowServer.server.uri,
    MLFLOW_TRACKING_USERNAME: MLFLOW_USER,
    MLFLOW_TRACKING_PASSWORD: password,
    MIRL_WORKFLOW_BUNDLE: bundle,
    MIRL_BACKEND: 'wasm',
    MIRL_HOME: path.join(dir, host, 'mirl-home'),
    MIRL_CHECKPOINT_DIR: path.join(dir, host, 'checkpoints'),
    ...extra,
  });
  const stack: Stack = {
    temporal,
    mlflowServer: mlflowServer.server,
    mlflow: new MlflowClient({
      trackingUri: mlflowServer.server.uri,
      username: 'admin',
      password: mlflowServer.adminPassword,
      logger: silentLogger,
    }),
    // Workers of this suite run on hosts (cluster.startWorker), none in the root namespace.
    pool: new WorkerPool(dir, () => envFor('client')),
    dir,
    env: envFor('client'),
    stop: async () => {},
  };
  const workers = new Set<ServerProcess>();
  const cluster: Cluster = {
    network,
    dir,
    postgres,
    stack,
    password,
    envFor,
    startWorker: (host, args, env) =>
      startHostWorker(network.hosts[host], host, args, env ?? envFor(host), dir, workers),
    workerUntilExit: (host, args, env, timeoutMs) => workerUntilExit(network.hosts[host], args, env, timeoutMs),
    client: (args) => {
      const [exe, ...argv] = onHost(network.hosts.client, [process.execPath, 'bin/mirl.js', ...args]);
      return spawnSync(exe, argv, { cwd: REPO_ROOT, env: envFor('client'), encoding: 'utf8', timeout: 120_000 });
    },
    stop: async () => {
      await Promise.all([...workers].map((w) => w.kill()));
      await Promise.all([temporal.stop(), mlflowServer.server.stop()]);
      await postgres.close();
      teardownSync(network, dir);
      unguard();
    },
  };
  stack.stop = cluster.stop;
  return cluster;
}

async function temporalPlacement(control: Host, dir: string) {
  const dataDir = path.join(dir, 'temporal');
  await mkdir(dataDir, { recursive: true });
  // 0.0.0.0 inside control's namespace means its bridge address and its own loopback: the
  // dev server's services dial each other on 127.0.0.1, and with --ip set to the bridge
  // address alone they cannot, so no workflow would start.
  return {
    bindIp: '0.0.0.0',
    host: control.address,
    port: TEMPORAL_PORT,
    uiPort: 8233,
    command: (argv: string[]) => onHost(control, argv),
    dataDir,
  };
}

/** MLflow's basic-auth app, its users in PostgreSQL next to the tracking data. */
async function startMlflowWithAuth(
  control: Host,
  dir: string,
  postgres: Postgres,
): Promise<{ server: MlflowServer; adminPassword: string }> {
  const dataDir = path.join(dir, 'mlflow');
  await mkdir(dataDir, { recursive: true });
  const adminPassword = secret();
  const authConfig = path.join(dataDir, 'basic_auth.ini');
  await writeFile(
    authConfig,
    [
      '[mlflow]',
      'default_permission = READ',
      `database_uri = ${postgres.uri('mlflow_auth')}`,
      'admin_username = admin',
      'authorization_function = mlflow.server.auth:authenticate_request_basic_auth',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const server = await startMlflowServer({
    placement: {
      host: control.address,
      port: MLFLOW_PORT,
      dataDir,
      backendStoreUri: postgres.uri('mlflow'),
      command: (argv) => onHost(control, argv),
      extraArgs: ['--app-name', 'basic-auth'],
      env: {
        MLFLOW_AUTH_CONFIG_PATH: authConfig,
        MLFLOW_AUTH_ADMIN_PASSWORD: adminPassword,
        MLFLOW_FLASK_SERVER_SECRET_KEY: secret(),
      },
    },
  });
  return { server, adminPassword };
}

/** A user without admin rights: it owns the experiments it creates, as a team's service account would. */
async function createMlflowUser(
  server: MlflowServer,
  adminPassword: string,
  username: string,
  password: string,
): Promise<void> {
  const res = await fetch(`${server.uri}/api/2.0/mlflow/users/create`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: basic('admin', adminPassword) },
    body: JSON.stringify({ username, password }),
  });
  if (!res.ok) throw new Error(`creating MLflow user ${username}: ${res.status} ${await res.text()}`);
}

/** Numbers the workers' logs: counted when a start is asked for, since starts run side by side. */
let workersAsked = 0;

async function startHostWorker(
  host: Host,
  name: HostName,
  args: string[],
  env: NodeJS.ProcessEnv,
  dir: string,
  workers: Set<ServerProcess>,
): Promise<HostWorker> {
  const logPath = path.join(dir, `worker-${name}-${++workersAsked}.log`);
  const [exe, ...argv] = onHost(host, [process.execPath, 'bin/mirl.js', 'worker', ...args]);
  const readyLine = async () => /mirl worker ready: (\S+)/.exec(await readFile(logPath, 'utf8').catch(() => ''))?.[1];
  const proc = serverProcess({
    name: `mirl worker on ${name}`,
    exe,
    args: argv,
    logPath,
    options: { cwd: REPO_ROOT, env },
    ready: async () => (await readyLine()) !== undefined,
    readyTimeoutMs: 90_000,
  });
  await proc.start();
  workers.add(proc);
  return {
    host: name,
    identity: (await readyLine())!,
    log: proc.log,
    stop: async () => {
      await proc.kill();
      workers.delete(proc);
    },
  };
}

async function workerUntilExit(
  host: Host,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 90_000,
): Promise<{ code: number | null; output: string }> {
  const [exe, ...argv] = onHost(host, [process.execPath, 'bin/mirl.js', 'worker', ...args]);
  const child = spawn(exe, argv, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), timeoutMs);
  await exited(child);
  clearTimeout(timer);
  return { code: child.exitCode, output };
}
