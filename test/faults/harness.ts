// The local stack the fault tests break: a real Temporal dev server, a real MLflow
// server and `mirl worker` processes, plus the reads each test asserts its end state
// with (sweep progress from Temporal, runs and metric histories from MLflow).
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { readSweep, type SweepSnapshot } from '../../cli/commands/sweep-client.js';
import { MlflowClient, silentLogger, type Run } from '../../tracking/index.js';
import type { TrialHeartbeat, TrialOutcome } from '../../workflows/types.js';
import type { MlflowServer } from '../support/mlflow-server.js';
import { REPO_ROOT, sleep } from '../support/processes.js';
import { waitFor, workflowBundleFile, type TemporalServer } from '../support/temporal-server.js';
import { startServerPair } from '../support/server-pair.js';
import { WorkerPool } from '../support/worker-pool.js';

/** Small trials: an MLP on MNIST at batch 16, a few hundred steps, seconds each on wasm. */
export const TINY = ['  encoder: mlp', '  batch_size: 16', '  i_est_test_batches: 2', '  evaluations: [i_est_test]'];

export interface FaultStack {
  temporal: TemporalServer;
  mlflowServer: MlflowServer;
  mlflow: MlflowClient;
  pool: WorkerPool;
  dir: string;
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export async function startStack(name: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<FaultStack> {
  const { temporal, mlflowServer } = await startServerPair();
  const dir = await mkdtemp(path.join(os.tmpdir(), `mirl-fault-${name}-`));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: temporal.address,
    MLFLOW_TRACKING_URI: mlflowServer.uri,
    MIRL_WORKFLOW_BUNDLE: await workflowBundleFile(),
    MIRL_CHECKPOINT_DIR: path.join(dir, 'local-checkpoints-unused'),
    MIRL_BACKEND: 'wasm',
    ...extraEnv,
  };
  const stack: FaultStack = {
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

export function mirl(stack: FaultStack, args: string[], env: NodeJS.ProcessEnv = stack.env): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['bin/mirl.js', ...args], { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 60_000 });
}

/**
 * How soon a dead worker's trial moves on (s). Short, yet long enough that a live worker
 * on a loaded 2-core machine does not miss it (4 s did: trials timed out, were cancelled
 * and ran out of attempts while their workers were busy, not dead).
 */
export const HEARTBEAT_TIMEOUT_S = 12;

/** Writes a spec and launches it with `mirl sweep launch`. */
export async function launch(stack: FaultStack, name: string, lines: string[], ...flags: string[]): Promise<string> {
  const file = path.join(stack.dir, `${name}.yaml`);
  await writeFile(file, [`name: ${name}`, 'study: fault-test', ...lines, ''].join('\n'));
  const r = mirl(stack, ['sweep', 'launch', file, '--json', '--heartbeat-timeout', String(HEARTBEAT_TIMEOUT_S), ...flags]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout).sweepId as string;
}

export const snapshot = (stack: FaultStack, id: string) => readSweep(stack.temporal.client, id, false);

export function untilClosed(stack: FaultStack, id: string, timeoutMs = 180_000): Promise<SweepSnapshot> {
  return waitFor(`sweep ${id} to close`, async () => {
    const s = await snapshot(stack, id);
    return s.status !== 'RUNNING' ? s : undefined;
  }, timeoutMs, 500);
}

export const outcomeOf = (stack: FaultStack, trialId: string) => stack.temporal.client.workflow.getHandle(trialId).result() as Promise<TrialOutcome>;

/** The running trial's last heartbeat and the pid of the worker that sent it. */
export async function heartbeatOf(stack: FaultStack, trialId: string): Promise<{ pid: number; beat: TrialHeartbeat } | undefined> {
  const d = await stack.temporal.client.workflow.getHandle(trialId).describe();
  const pending = d.raw.pendingActivities?.[0];
  const payload = pending?.heartbeatDetails?.payloads?.[0];
  if (!pending || !payload || !pending.lastWorkerIdentity) return undefined;
  return { pid: Number(/:(\d+)$/.exec(pending.lastWorkerIdentity)?.[1]), beat: defaultPayloadConverter.fromPayload(payload) as TrialHeartbeat };
}

/** The sweep's parent run and its trial runs, all of them (superseded ones too). */
export async function runsOf(stack: FaultStack, sweepId: string, name: string): Promise<{ parent: Run; children: Run[] }> {
  const experiment = await stack.mlflow.getExperimentByName(name);
  assert.ok(experiment, `experiment ${name}`);
  const runs: Run[] = [];
  for await (const r of stack.mlflow.searchAllRuns({ experimentIds: [experiment.experimentId], filter: `tags.\`mirl.sweep_id\` = '${sweepId}'` })) runs.push(r);
  const parents = runs.filter((r) => r.data.tags['mirl.role'] === 'sweep');
  assert.equal(parents.length, 1, 'one parent run per sweep');
  return { parent: parents[0], children: runs.filter((r) => r.data.tags['mirl.role'] === 'trial') };
}

export const range = (from: number, to: number, by = 1) => Array.from({ length: Math.floor((to - from) / by) + 1 }, (_, i) => from + i * by);

/** The steps of `key` in `run`, asserting none is logged twice. */
export async function stepsOnce(stack: FaultStack, run: Run, key: string): Promise<number[]> {
  const history = await stack.mlflow.getFullMetricHistory(run.info.runId, key);
  const steps = history.map((m) => m.step).sort((a, b) => a - b);
  assert.deepEqual(steps, [...new Set(steps)], `${run.info.runName} ${key}: a step logged twice`);
  return steps;
}

/**
 * Asserts the record of a finished sweep: exactly one FINISHED run per trial, and every
 * step of `loss` (log_interval 1) and of i_est_test (every `evalEvery`) logged once.
 */
export async function assertExactlyOnce(stack: FaultStack, sweepId: string, name: string, trialIds: string[], steps: number, evalEvery: number): Promise<Run[]> {
  const { parent, children } = await runsOf(stack, sweepId, name);
  assert.equal(parent.info.status, 'FINISHED');
  assert.deepEqual(children.map((r) => r.data.tags['mirl.trial_id']).sort(), [...trialIds].sort(), 'exactly one run per trial');
  for (const run of children) {
    assert.equal(run.info.status, 'FINISHED', `${run.info.runName}`);
    assert.deepEqual(await stepsOnce(stack, run, 'loss'), range(1, steps), `${run.info.runName}: every loss step once`);
    assert.deepEqual(await stepsOnce(stack, run, 'i_est_test'), range(0, steps, evalEvery), `${run.info.runName}: every evaluation once`);
  }
  return children;
}

export { alive, assertGone, childPids } from '../support/processes.js';
export { sleep, waitFor };
