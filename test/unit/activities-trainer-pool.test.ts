// Trainers are reused across trials: a reused trainer must give exactly what a fresh one
// gives, and anything other than a clean finish must retire it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { parseTrialConfig } from '../../ml/config.js';
import { LocalCheckpointStore } from '../../activities/checkpoint-store.js';
import { createActivities } from '../../activities/run-trial.js';
import { idleMsFromEnv, maxTrialsFromEnv, spawnTrainer, TrainerPool } from '../../activities/trainer-pool.js';
import { trainerThreadEnv } from '../../activities/trainer-threads.js';
import { nullMetricsSink } from '../../activities/metrics-sink.js';
import type { RunTrialActivityInput, RunTrialActivityResult } from '../../workflows/types.js';
import type { ChildProcess } from 'node:child_process';
import { DATA_PATH_VERSION } from '../../ml/data-path.js';

let dir: string;
const spawned: ChildProcess[] = [];
const trackedSpawn = () => {
  const child = spawnTrainer();
  spawned.push(child);
  return child;
};
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mirl-trainer-pool-'));
});
after(async () => {
  for (const c of spawned) c.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

const config = (overrides: Record<string, unknown> = {}) =>
  parseTrialConfig({
    encoder: 'mlp',
    critic: 'bilinear',
    batch_size: 16,
    steps: 6,
    log_interval: 2,
    eval_interval: 1000,
    evaluations: [],
    seed: 5,
    ...overrides,
  });
const input = (key: string, overrides: Record<string, unknown> = {}): RunTrialActivityInput => ({
  sweepId: 'sweep-pool',
  trialId: `trial-${key}`,
  runName: `trial-${key}`,
  checkpointKey: key,
  checkpointEvery: 0,
  config: config(overrides),
  dataPath: DATA_PATH_VERSION,
});

const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;
const waitExit = (c: ChildProcess) =>
  exited(c) ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r()));

describe('the trainer pool under the runTrial activity', () => {
  it('reuses one trainer for consecutive trials, with results identical to a fresh trainer', async () => {
    const trainers = new TrainerPool({ maxTrialsPerTrainer: 3, spawn: trackedSpawn });
    const { runTrial } = createActivities({
      store: new LocalCheckpointStore(path.join(dir, 'a')),
      sink: nullMetricsSink,
      backend: 'wasm',
      identity: 't',
      trainers,
    });
    const run = (key: string, overrides: Record<string, unknown> = {}) =>
      new MockActivityEnvironment().run(runTrial, input(key, overrides)) as Promise<RunTrialActivityResult>;

    const first = await run('one');
    assert.equal(spawned.length, 1);
    assert.equal(trainers.idleCount, 1, 'a clean finish hands the trainer back');
    const other = await run('two', { seed: 6 });
    const again = await run('three');
    assert.equal(spawned.length, 1, 'three trials, one process');
    assert.deepEqual(again.train, first.train, 'same seed, same numbers in a reused process');
    assert.notDeepEqual(other.train, first.train);
    // The third trial was its last: it is retired, not kept.
    assert.equal(trainers.idleCount, 0);
    await waitExit(spawned[0]);

    // A fresh process (reuse off) gives the same numbers as the reused one did.
    const fresh = new TrainerPool({ maxTrialsPerTrainer: 1, spawn: trackedSpawn });
    const { runTrial: runFresh } = createActivities({
      store: new LocalCheckpointStore(path.join(dir, 'b')),
      sink: nullMetricsSink,
      backend: 'wasm',
      identity: 't',
      trainers: fresh,
    });
    const alone = (await new MockActivityEnvironment().run(runFresh, input('four'))) as RunTrialActivityResult;
    assert.equal(spawned.length, 2);
    assert.deepEqual(alone.train, first.train);
    assert.equal(fresh.idleCount, 0);
  });

  it('an idle trainer exits once it has waited idleMs for a trial', async () => {
    const trainers = new TrainerPool({ spawn: trackedSpawn, idleMs: 300 });
    const { runTrial } = createActivities({
      store: new LocalCheckpointStore(path.join(dir, 'idle')),
      sink: nullMetricsSink,
      backend: 'wasm',
      identity: 't',
      trainers,
    });
    await new MockActivityEnvironment().run(runTrial, input('idle-1'));
    const child = spawned.at(-1)!;
    assert.equal(trainers.idleCount, 1);
    // Reused within idleMs: the timer restarts when it is handed back.
    await new MockActivityEnvironment().run(runTrial, input('idle-2'));
    assert.equal(spawned.at(-1), child, 'the idle trainer served the next trial');
    // The pool's timer and the idle child do not hold the event loop; this wait does. It
    // polls (up to 30 s) because a loaded machine can take seconds to reap a process.
    for (let waited = 0; !exited(child) && waited < 30_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(exited(child), 'the idle trainer exited');
    assert.equal(trainers.idleCount, 0, 'gone from the pool once it exited');
  });

  it('a failed trial retires its trainer', async () => {
    const trainers = new TrainerPool({ spawn: trackedSpawn });
    const { runTrial } = createActivities({
      store: new LocalCheckpointStore(path.join(dir, 'c')),
      sink: nullMetricsSink,
      backend: 'wasm',
      identity: 't',
      trainers,
    });
    const before = spawned.length;
    // A learning rate this large diverges: the trainer reports NonFiniteError.
    await assert.rejects(
      new MockActivityEnvironment().run(
        runTrial,
        input('nan', { estimator: 'nwj', learning_rate: 5, steps: 200, log_interval: 1 }),
      ),
      /loss became (NaN|-?Infinity) at step/,
    );
    assert.equal(spawned.length, before + 1);
    assert.equal(trainers.idleCount, 0);
    await waitExit(spawned.at(-1)!);
  });
});

describe('trainer pool settings', () => {
  it('reads MIRL_TRAINER_MAX_TRIALS', () => {
    assert.equal(maxTrialsFromEnv({}), 25);
    assert.equal(maxTrialsFromEnv({ MIRL_TRAINER_MAX_TRIALS: '1' }), 1);
    assert.throws(() => maxTrialsFromEnv({ MIRL_TRAINER_MAX_TRIALS: '0' }), /positive integer/);
    assert.throws(() => maxTrialsFromEnv({ MIRL_TRAINER_MAX_TRIALS: 'x' }), /MIRL_TRAINER_MAX_TRIALS/);
  });

  it('reads MIRL_TRAINER_IDLE_S', () => {
    assert.equal(idleMsFromEnv({}), 120_000);
    assert.equal(idleMsFromEnv({ MIRL_TRAINER_IDLE_S: '5' }), 5_000);
    assert.throws(
      () => idleMsFromEnv({ MIRL_TRAINER_IDLE_S: '-1' }),
      /MIRL_TRAINER_IDLE_S="-1" must be a positive integer/,
    );
  });
});

describe("trainers' TensorFlow thread pools", () => {
  it('split the cores between the trainers a worker runs at once, leaving what the environment sets', () => {
    assert.deepEqual(trainerThreadEnv(2, 2, {}), { TF_NUM_INTRAOP_THREADS: '1', TF_NUM_INTEROP_THREADS: '1' });
    assert.deepEqual(trainerThreadEnv(16, 1, {}), { TF_NUM_INTRAOP_THREADS: '16', TF_NUM_INTEROP_THREADS: '1' });
    assert.deepEqual(trainerThreadEnv(8, 3, {}), { TF_NUM_INTRAOP_THREADS: '2', TF_NUM_INTEROP_THREADS: '1' });
    assert.deepEqual(trainerThreadEnv(2, 8, {}), { TF_NUM_INTRAOP_THREADS: '1', TF_NUM_INTEROP_THREADS: '1' });
    assert.deepEqual(trainerThreadEnv(4, 2, { TF_NUM_INTRAOP_THREADS: '3' }), { TF_NUM_INTEROP_THREADS: '1' });
  });

  it('reach the trainer process', { skip: process.platform !== 'linux' }, async () => {
    const pool = new TrainerPool({
      env: { TF_NUM_INTRAOP_THREADS: '1', MIRL_POOL_PROBE: 'yes' },
      spawn: (env) => {
        const child = spawnTrainer(env);
        spawned.push(child);
        return child;
      },
    });
    const { child, ready } = pool.acquire();
    await ready;
    const environ = (await readFile(`/proc/${child.pid}/environ`, 'utf8')).split('\0');
    assert.ok(environ.includes('TF_NUM_INTRAOP_THREADS=1'), 'thread setting');
    assert.ok(environ.includes('MIRL_POOL_PROBE=yes'));
    assert.ok(
      environ.some((e) => e.startsWith('PATH=')),
      "and the worker's own environment",
    );
    child.kill('SIGKILL');
    await waitExit(child);
  });
});
