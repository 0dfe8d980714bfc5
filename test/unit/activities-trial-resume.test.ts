// Exact resume through the worker path: a real trainer process, started by the runTrial
// activity, is SIGKILLed right after it sends a checkpoint; the next attempt resumes from
// the stored checkpoint (in a warm, reused trainer) and every value it logs must equal,
// bit for bit, what an uninterrupted run of the same trial logs at the same step.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { parseTrialConfig } from '../../ml/config.js';
import { availableBackends, initBackend, type BackendName } from '../../ml/backend.js';
import { runTrial, type MetricsReport } from '../../ml/run-trial.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../ml/checkpoint.js';
import { LocalCheckpointStore } from '../../activities/checkpoint-store.js';
import { createActivities } from '../../activities/run-trial.js';
import { spawnTrainer, TrainerPool } from '../../activities/trainer-pool.js';
import type { MetricsSink } from '../../activities/metrics-sink.js';
import type { FromTrainer } from '../../activities/trainer-protocol.js';
import type { RunTrialActivityInput, RunTrialActivityResult } from '../../workflows/types.js';
import { DATA_PATH_VERSION } from '../../ml/data-path.js';

// Step 5 is one at which tfjs' Adam, restored through setWeights() alone, recomputes
// beta2^t with pow() one ulp away from the running product the live optimizer holds.
const CHECKPOINT_EVERY = 5;
// The plain-JS backend is ten times slower a step: fewer steps keep it short, and its slow
// steps still give the kill time to land before the trial ends.
const STEPS: Record<BackendName, number> = { tensorflow: 30, webgpu: 12, wasm: 30, cpu: 12 };
const configFor = (steps: number) =>
  parseTrialConfig({
    encoder: 'mlp',
    critic: 'bilinear',
    estimator: 'nce',
    batch_size: 16,
    steps,
    log_interval: 1,
    eval_interval: 10,
    evaluations: ['i_est_test', 'linear_eval'],
    i_est_test_batches: 2,
    linear_eval_train_size: 300,
    linear_eval_test_size: 200,
    linear_eval_max_iter: 20,
    learning_rate: 1e-3,
    seed: 11,
  });

interface Logged {
  kind: 'train' | 'eval' | 'resume';
  step: number;
  metrics: Record<string, number>;
}

/** A sink that keeps what one attempt logged, in order; a resume is noted as MLflow's writer notes it. */
function recordingSink(into: Logged[]): MetricsSink {
  return {
    async open() {
      return {
        train: (step: number, metrics: Record<string, number>) => void into.push({ kind: 'train', step, metrics }),
        eval: (step: number, metrics: Record<string, number>) => void into.push({ kind: 'eval', step, metrics }),
        noteResume: async (step: number) => void into.push({ kind: 'resume', step, metrics: {} }),
        async close() {},
      };
    },
  };
}

let dir: string;
const spawned: ChildProcess[] = [];
/** When set, the next trainer spawned is killed as soon as it sends a checkpoint. */
let killAtCheckpoint = false;

function spawn(): ChildProcess {
  const child = spawnTrainer();
  spawned.push(child);
  if (killAtCheckpoint) {
    killAtCheckpoint = false;
    // Attached before the activity's listener: the kill is sent before the activity has
    // even stored the checkpoint, as a crash at the worst moment would.
    child.on('message', (msg: FromTrainer) => {
      if (msg.type === 'checkpoint') child.kill('SIGKILL');
    });
  }
  return child;
}

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mirl-trial-resume-'));
});
after(async () => {
  for (const c of spawned) c.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

// The native backend is best effort (scripts/setup-native.sh): as in ml-backends.test.ts,
// each backend that loads here gets its test; webgpu (on lavapipe), wasm and cpu always load.
const BACKENDS_HERE = await availableBackends();

// The killed attempt's failure is expected: keep its warning out of the test output.
const env = (info: { attempt?: number } = {}) =>
  new MockActivityEnvironment(info, { logger: new DefaultLogger('ERROR') });

function input(key: string, backend: BackendName): RunTrialActivityInput {
  const config = configFor(STEPS[backend]);
  return {
    sweepId: 'sweep-resume',
    trialId: `trial-${key}`,
    runName: key,
    checkpointKey: key,
    checkpointEvery: CHECKPOINT_EVERY,
    config,
    dataPath: DATA_PATH_VERSION,
  };
}

async function killedThenResumed(backend: BackendName) {
  const trainers = new TrainerPool({ spawn });
  const store = new LocalCheckpointStore(path.join(dir, backend));
  const activity = (into: Logged[]) =>
    createActivities({ store, sink: recordingSink(into), backend, identity: 't', trainers }).runTrial;

  const killed: Logged[] = [];
  killAtCheckpoint = true;
  await assert.rejects(env().run(activity(killed), input('k', backend)), /trainer exited without a result .*SIGKILL/);
  const killedAt = spawned.length;

  const straight: Logged[] = [];
  const whole = (await env().run(activity(straight), input('straight', backend))) as RunTrialActivityResult;
  assert.equal(whole.resumedFrom, null);

  const resumed: Logged[] = [];
  const retried = (await env({ attempt: 2 }).run(activity(resumed), input('k', backend))) as RunTrialActivityResult;
  assert.equal(spawned.length, killedAt + 1, 'the resume ran in the warm trainer the uninterrupted run left idle');
  return { killed, straight, whole, resumed, retried };
}

describe('resume through the trainer process', () => {
  for (const backend of (['tensorflow', 'webgpu', 'wasm', 'cpu'] as const).filter((b) => BACKENDS_HERE.includes(b))) {
    it(`a trainer SIGKILLed after a checkpoint resumes bit-identical to the uninterrupted trial (${backend})`, async () => {
      const { killed, straight, whole, resumed, retried } = await killedThenResumed(backend);
      const from = retried.resumedFrom;
      assert.ok(from !== null && from >= CHECKPOINT_EVERY && from < STEPS[backend], `resumed from ${from}`);
      assert.ok(
        killed.some((m) => m.step >= from!),
        'the killed attempt got as far as its checkpoint',
      );

      const expected = straight.filter((m) => m.step > from!);
      assert.ok(
        expected.filter((m) => m.kind === 'train').length >= STEPS[backend] - from!,
        'a training value at every step after the resume',
      );
      assert.ok(expected.some((m) => m.kind === 'eval' && 'linear_eval_accuracy' in m.metrics));
      assert.deepStrictEqual(
        resumed[0],
        { kind: 'resume', step: from, metrics: {} },
        'the record notes the resume before any value',
      );
      // deepStrictEqual compares numbers with Object.is: equal bits, not merely close.
      assert.deepStrictEqual(resumed.slice(1), expected);
      assert.deepStrictEqual(retried.train, whole.train);
      assert.deepStrictEqual(retried.eval, whole.eval);
      assert.equal(retried.backend, backend);
    });
  }
});

describe('checkpoints written before the beta powers were stored', () => {
  it('still resume exactly: the powers are recomputed as the running products Adam held', async () => {
    const backend = await initBackend('wasm');
    const config = configFor(STEPS.wasm);
    const record = async (resumeFrom?: Uint8Array) => {
      const logged: MetricsReport[] = [];
      const checkpoints = new Map<number, Buffer>();
      await runTrial(config, {
        backend,
        resumeFrom,
        checkpointEvery: CHECKPOINT_EVERY,
        onCheckpoint: (step, bytes) => void checkpoints.set(step, bytes),
        onTrainMetrics: (m) => void logged.push(m),
        onEvalMetrics: (m) => void logged.push(m),
      });
      return { logged, checkpoints };
    };
    const straight = await record();
    const c = decodeCheckpoint(straight.checkpoints.get(CHECKPOINT_EVERY)!);
    const legacy = encodeCheckpoint({ ...c, arrays: c.arrays.filter((a) => !a.name.startsWith('adam-beta-powers:')) });
    assert.ok(
      legacy.length < straight.checkpoints.get(CHECKPOINT_EVERY)!.length,
      'the beta powers were in the checkpoint',
    );
    const resumed = await record(legacy);
    assert.deepStrictEqual(
      resumed.logged,
      straight.logged.filter((m) => m.step > CHECKPOINT_EVERY),
    );
  });
});
