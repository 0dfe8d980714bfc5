// The whole path with real processes: `mirl sweep launch` -> sweep workflow -> trial
// workflows -> two `mirl worker` processes -> trainer child processes (wasm TensorFlow.js
// on MNIST). Covers the window with pause/resume/setConcurrency, a diverging trial that
// fails once without retries, rerun-failed with a fixed setting, and a worker killed
// (SIGTERM, then SIGKILL) mid-trial whose trial resumes from a checkpoint elsewhere.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { readSweep } from '../../client/sweeps.js';
import type { SweepProgress, TrialHeartbeat, TrialOutcome } from '../../workflows/types.js';
import { assertGone, childPids } from '../support/processes.js';
import { WorkerPool } from '../support/worker-pool.js';
import { startTemporalServer, waitFor, workflowBundleFile, type TemporalServer } from '../support/temporal-server.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
let server: TemporalServer;
let client: Client;
let dir: string;
let env: NodeJS.ProcessEnv;
let pool: WorkerPool;

function mirl(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, ['bin/mirl.js', ...args], { cwd: REPO_ROOT, env, encoding: 'utf8' });
}

async function writeSpec(name: string, lines: string[]): Promise<string> {
  const file = path.join(dir, `${name}.yaml`);
  await writeFile(file, lines.join('\n'));
  return file;
}

function launch(file: string, ...flags: string[]): string {
  const r = mirl('sweep', 'launch', file, '--json', '--heartbeat-timeout', '4', ...flags);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout).sweepId as string;
}

const snapshot = (id: string) => readSweep(client, id);
const untilClosed = (id: string, timeoutMs = 120_000) =>
  waitFor(
    `sweep ${id} to close`,
    async () => {
      const s = await readSweep(client, id, false);
      return s.status !== 'RUNNING' ? s : undefined;
    },
    timeoutMs,
    500,
  );

const trialOutcome = (trialId: string) => client.workflow.getHandle(trialId).result() as Promise<TrialOutcome>;

before(async () => {
  server = await startTemporalServer();
  client = server.client;
  dir = await mkdtemp(path.join(os.tmpdir(), 'mirl-workers-'));
  env = {
    ...process.env,
    ...server.env,
    MIRL_WORKFLOW_BUNDLE: await workflowBundleFile(),
    MIRL_CHECKPOINT_DIR: path.join(dir, 'checkpoints'),
    MIRL_BACKEND: 'wasm',
  };
  pool = new WorkerPool(dir, () => env);
  await Promise.all([pool.start('worker-a'), pool.start('worker-b')]);
});

after(async () => {
  await pool?.killAll();
  await server?.stop();
  if (process.env.MIRL_KEEP_TEST_DIR !== '1') await rm(dir, { recursive: true, force: true });
});

const TINY = ['  batch_size: 16', '  evaluations: [i_est_test]', '  i_est_test_batches: 2'];

test('12 trials through two worker processes: window, pause/resume, setConcurrency, a diverging trial, rerun-failed', async () => {
  const file = await writeSpec('mixed', [
    'name: mixed',
    'study: orchestration-test',
    'trial:',
    ...TINY,
    '  log_interval: 1',
    '  eval_interval: 4',
    'zip:',
    '  - estimator: [nce, nce, nce, nwj]',
    '    learning_rate: [0.0001, 0.001, 0.0003, 5]',
    '    steps: [4, 4, 4, 200]',
    'seeds: 3',
    'max_concurrent_trials: 3',
  ]);
  const t0 = Date.now();
  const id = launch(file);
  const pause = mirl('sweep', 'pause', id);
  assert.equal(pause.status, 0, pause.stderr);
  const paused = await waitFor('paused with nothing running', async () => {
    const { progress } = await snapshot(id);
    return progress.paused && progress.counts.running === 0 ? progress : undefined;
  });
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal((await snapshot(id)).progress.counts.pending, paused.counts.pending, 'no trial starts while paused');
  assert.equal(mirl('sweep', 'set-concurrency', id, '2').status, 0);
  assert.equal(mirl('sweep', 'resume', id).status, 0);
  const closed = await untilClosed(id);
  const wall = Date.now() - t0;
  assert.equal(closed.status, 'COMPLETED');
  assert.deepEqual(closed.progress.counts, { pending: 0, running: 0, done: 9, failed: 3, cancelled: 0, pruned: 0 });
  assert.equal(closed.progress.maxConcurrent, 2);
  const failed = closed.progress.trials.filter((t) => t.state === 'failed');
  assert.deepEqual(
    failed.map((t) => t.index),
    [9, 10, 11],
  );
  for (const t of failed) {
    assert.match(t.error ?? '', /NonFiniteError/);
    const history = await client.workflow.getHandle(t.trialId).fetchHistory();
    const attempts = history
      .events!.filter((e) => e.activityTaskStartedEventAttributes)
      .map((e) => e.activityTaskStartedEventAttributes!.attempt);
    assert.deepEqual(attempts, [1], 'a non-retryable failure runs once');
  }
  const done = closed.progress.trials.filter((t) => t.state === 'done');
  const outcomes = await Promise.all(done.map((t) => trialOutcome(t.trialId)));
  const usedWorkers = new Set(outcomes.map((o) => o.result!.worker));
  assert.equal(usedWorkers.size, 2, `trials ran on ${[...usedWorkers].join(', ')}`);
  assert.ok(outcomes.every((o) => o.result!.backend === 'wasm' && o.result!.step === 4));
  reportOverhead(closed.progress, outcomes, wall);

  const status = mirl('sweep', 'status', id);
  assert.equal(status.status, 0, status.stderr);
  assert.match(status.stdout, /9\/12 done/);

  const rerun = mirl('sweep', 'rerun-failed', id, '--set', 'learning_rate=0.0001', '--set', 'steps=4', '--json');
  assert.equal(rerun.status, 0, rerun.stderr);
  assert.deepEqual(JSON.parse(rerun.stdout).requeued, [9, 10, 11]);
  const again = await untilClosed(id);
  assert.deepEqual(again.progress.counts, { pending: 0, running: 0, done: 12, failed: 0, cancelled: 0, pruned: 0 });
  assert.deepEqual(
    again.progress.trials.filter((t) => t.runs === 2).map((t) => t.index),
    [9, 10, 11],
    'only the failed trials ran again',
  );
  const list = mirl('sweep', 'list', '--json');
  const listed = (JSON.parse(list.stdout) as { sweepId: string; status: string }[]).filter((s) => s.sweepId === id);
  assert.deepEqual(
    listed.map((s) => s.status),
    ['COMPLETED'],
    'one line per sweep, though the rerun started another run',
  );
});

function reportOverhead(progress: SweepProgress, outcomes: TrialOutcome[], wallMs: number): void {
  const byId = new Map(outcomes.map((o) => [o.trialId, o.result!]));
  const rows = progress.trials
    .filter((t) => byId.has(t.trialId))
    .map((t) => {
      const r = byId.get(t.trialId)!;
      return {
        childStartToActivity: r.activityStartedAt - t.startedAt!,
        trainerSpawn: r.trainerStartedAt - r.activityStartedAt,
        training: r.seconds * 1000,
        resultToRecorded: t.recordedAt! - r.finishedAt,
      };
    });
  const median = (k: keyof (typeof rows)[number]) =>
    Math.round([...rows.map((r) => r[k])].sort((a, b) => a - b)[Math.floor(rows.length / 2)]);
  process.stderr.write(
    `real-worker overhead (median ms over ${rows.length} trials): ${JSON.stringify({
      childStartToActivity: median('childStartToActivity'),
      trainerSpawn: median('trainerSpawn'),
      training: median('training'),
      resultToRecorded: median('resultToRecorded'),
      sweepWallMs: wallMs,
    })}\n`,
  );
}

async function runningOn(trialId: string): Promise<{ pid: number; checkpointStep: number } | undefined> {
  const d = await client.workflow.getHandle(trialId).describe();
  const pending = d.raw.pendingActivities?.[0];
  const payload = pending?.heartbeatDetails?.payloads?.[0];
  if (!pending || !payload || !pending.lastWorkerIdentity) return undefined;
  const beat = defaultPayloadConverter.fromPayload(payload) as TrialHeartbeat;
  const pid = Number(/:(\d+)$/.exec(pending.lastWorkerIdentity)?.[1]);
  return beat.checkpointStep && beat.checkpointStep >= 100 ? { pid, checkpointStep: beat.checkpointStep } : undefined;
}

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  test(`a worker stopped by ${signal} mid-trial: the trial resumes from its checkpoint on another worker`, async () => {
    const file = await writeSpec(`long-${signal}`, [
      'name: long',
      'study: orchestration-test',
      'trial:',
      ...TINY,
      '  log_interval: 10',
      '  steps: 1200',
      '  eval_interval: 1200',
    ]);
    const id = launch(file, '--checkpoint-every', '50');
    const trialId = await waitFor('the trial to start', async () => (await snapshot(id)).progress.trials[0]?.trialId);
    const victim = await waitFor('a checkpoint at step >= 100', () => runningOn(trialId), 90_000, 300);
    // Trainers outlive trials now (they are reused), so the dead worker's own are named first.
    const trainers = childPids(victim.pid);
    assert.ok(trainers.length > 0, 'the worker runs its trial in a trainer process');
    const proc = await pool.stop(victim.pid, signal);
    if (signal === 'SIGTERM') assert.equal(proc.exitCode, 0, 'a graceful shutdown exits cleanly');
    // SIGTERM: the trial stopped, checkpointed and failed retryably at once; SIGKILL: the heartbeat timed out.
    const lastFailure = await waitFor(
      'the failed attempt to be recorded',
      async () => {
        const d = await client.workflow.getHandle(trialId).describe();
        return d.raw.pendingActivities?.[0]?.lastFailure ?? undefined;
      },
      30_000,
      200,
    );
    if (signal === 'SIGTERM')
      assert.equal(lastFailure.applicationFailureInfo?.type, 'WorkerShutdown', JSON.stringify(lastFailure));
    else assert.ok(lastFailure.timeoutFailureInfo, JSON.stringify(lastFailure));
    const replacement = pool.start(`worker-after-${signal}`);
    const closed = await untilClosed(id, 150_000);
    await replacement;
    assert.equal(closed.progress.counts.done, 1, JSON.stringify(closed.progress.trials[0]));
    const outcome = await trialOutcome(trialId);
    assert.ok((outcome.result!.resumedFrom ?? 0) >= 100, `resumed from ${outcome.result!.resumedFrom}`);
    assert.equal(outcome.result!.step, 1200);
    assert.ok(outcome.result!.attempt >= 2);
    assert.notEqual(outcome.result!.worker.split(':').at(-1), String(victim.pid));
    // The stopped worker's trainers noticed their parent was gone and exited.
    await assertGone(trainers, `the ${signal} worker's trainers`);
  });
}
