// A whole local stack for tests that run sweeps end to end: a real Temporal dev server,
// a real MLflow server, `mirl worker` processes started on demand, the environment the
// CLI and workers need to find them, and the reads a test checks a sweep with.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readSweep, type SweepSnapshot } from '../../client/sweeps.js';
import { MlflowClient, silentLogger, type Run } from '../../tracking/index.js';
import type { MlflowServer } from './mlflow-server.js';
import { REPO_ROOT } from './processes.js';
import { startServerPair, type ServerPairOptions } from './server-pair.js';
import { waitFor, workflowBundleFile, type TemporalServer } from './temporal-server.js';
import { WorkerPool } from './worker-pool.js';

export interface Stack {
  temporal: TemporalServer;
  mlflowServer: MlflowServer;
  mlflow: MlflowClient;
  pool: WorkerPool;
  dir: string;
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Added to the environment of the CLI and the workers. */
  env?: NodeJS.ProcessEnv;
  /** Serve the Temporal web UI (see TemporalServer.uiPort). */
  temporalUi?: boolean;
  /** Servers the test stops or restarts (see ServerPairOptions.own). */
  own?: ServerPairOptions['own'];
}

/** Starts both servers; workers are the test's to start (stack.pool.start). `name` labels the temp dir. */
export async function startStack(name: string, options: StackOptions = {}): Promise<Stack> {
  const { temporal, mlflowServer } = await startServerPair({ temporalUi: options.temporalUi, own: options.own });
  const dir = await mkdtemp(path.join(os.tmpdir(), `mirl-${name}-`));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...temporal.env,
    MLFLOW_TRACKING_URI: mlflowServer.uri,
    MIRL_WORKFLOW_BUNDLE: await workflowBundleFile(),
    MIRL_CHECKPOINT_DIR: path.join(dir, 'local-checkpoints-unused'),
    MIRL_BACKEND: 'wasm',
    ...options.env,
  };
  const stack: Stack = {
    temporal,
    mlflowServer,
    mlflow: new MlflowClient({ trackingUri: mlflowServer.uri, logger: silentLogger }),
    pool: new WorkerPool(dir, () => stack.env),
    dir,
    env,
    async stop() {
      await stack.pool.killAll();
      await Promise.all([temporal.stop(), mlflowServer.stop()]);
      if (process.env.MIRL_KEEP_TEST_DIR !== '1') await rm(dir, { recursive: true, force: true });
    },
  };
  return stack;
}

export function mirl(stack: Stack, args: string[], env: NodeJS.ProcessEnv = stack.env): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['bin/mirl.js', ...args], {
    cwd: REPO_ROOT,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

export const snapshot = (stack: Stack, id: string) => readSweep(stack.temporal.client, id, false);

export function untilClosed(stack: Stack, id: string, timeoutMs = 180_000): Promise<SweepSnapshot> {
  return waitFor(
    `sweep ${id} to close`,
    async () => {
      const s = await snapshot(stack, id);
      return s.status !== 'RUNNING' ? s : undefined;
    },
    timeoutMs,
    500,
  );
}

/** The sweep's parent run and its trial runs, all of them (superseded ones too). */
export async function runsOf(stack: Stack, sweepId: string, name: string): Promise<{ parent: Run; children: Run[] }> {
  const experiment = await stack.mlflow.getExperimentByName(name);
  assert.ok(experiment, `experiment ${name}`);
  const runs: Run[] = [];
  for await (const r of stack.mlflow.searchAllRuns({
    experimentIds: [experiment.experimentId],
    filter: `tags.\`mirl.sweep_id\` = '${sweepId}'`,
  }))
    runs.push(r);
  const parents = runs.filter((r) => r.data.tags['mirl.role'] === 'sweep');
  assert.equal(parents.length, 1, 'one parent run per sweep');
  return { parent: parents[0], children: runs.filter((r) => r.data.tags['mirl.role'] === 'trial') };
}
