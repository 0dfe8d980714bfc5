// Which trainer failures are retried: a table of errors -> retryable or not, then the
// runTrial activity with a stand-in trainer (a tiny forked script that answers 'start'
// with an error), to see the failure Temporal gets and the text the MLflow run and
// `mirl sweep status` show.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { ActivityFailure, RetryState } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import {
  CONFIGURATION_ERROR_TYPES,
  failureClassOf,
  PROGRAMMING_ERROR_TYPES,
  throwSite,
  trialFailureOf,
  type FailureClass,
  type TrainerError,
} from '../../activities/failure-class.js';
import { createActivities } from '../../activities/run-trial.js';
import { TrainerPool } from '../../activities/trainer-pool.js';
import type { MetricsSink, TrialMetricsWriter } from '../../activities/metrics-sink.js';
import type { CheckpointStore } from '../../activities/checkpoint-store.js';
import type { FromTrainer } from '../../activities/trainer-protocol.js';
import { parseTrialConfig } from '../../ml/config.js';
import { DATA_PATH_VERSION } from '../../ml/data-path.js';
import { describeFailure } from '../../workflows/trial.js';
import { NON_RETRYABLE_ERROR_TYPES, type RunTrialActivityInput } from '../../workflows/types.js';

const OURS = (fn: string, file = '/srv/mirl/ml/infomax-trial.ts:77:27') => `    at ${fn} (${file})`;
const stack = (head: string, ...frames: string[]) => [head, ...frames].join('\n');

const MINIMIZE: TrainerError = {
  name: 'TypeError',
  message: "Cannot read properties of undefined (reading 'minimize')",
  stack: stack(
    "TypeError: Cannot read properties of undefined (reading 'minimize')",
    OURS('InfomaxTrial.advance'),
    OURS('runTrial', '/srv/mirl/ml/run-trial.ts:120:27'),
  ),
};

const ZOD_MESSAGE = JSON.stringify(
  [
    {
      origin: 'number',
      code: 'too_small',
      minimum: 0,
      path: ['steps'],
      message: 'Too small: expected number to be >0',
    },
    { code: 'custom', path: ['critic'], message: 'encoder "identity" and critic "inner" have no weights between them' },
  ],
  null,
  2,
);

const CASES: { what: string; err: TrainerError; is: FailureClass }[] = [
  { what: 'a TypeError thrown in our step', err: MINIMIZE, is: 'programming' },
  {
    what: 'a TypeError thrown in our code called back from a built-in',
    err: {
      name: 'TypeError',
      message: "Cannot read properties of null (reading 'x')",
      stack: stack(
        'TypeError: x',
        '    at <anonymous> (file:///srv/mirl/ml/critics.ts:3:33)',
        '    at Array.forEach (<anonymous>)',
      ),
    },
    is: 'programming',
  },
  { what: 'a TypeError with no stack', err: { name: 'TypeError', message: 'x is not a function' }, is: 'programming' },
  {
    what: 'a ReferenceError in our set-up',
    err: {
      name: 'ReferenceError',
      message: 'cfg is not defined',
      stack: stack('ReferenceError', OURS('new InfomaxTrial')),
    },
    is: 'programming',
  },
  {
    what: 'a RangeError from runaway recursion',
    err: { name: 'RangeError', message: 'Maximum call stack size exceeded', stack: stack('RangeError', OURS('f')) },
    is: 'programming',
  },
  {
    what: 'a RangeError of our own check (views of two shapes)',
    err: {
      name: 'RangeError',
      message: 'shared noise needs views of one shape, got 392 and 196 values',
      stack: stack('RangeError', OURS('addSharedNoise', '/srv/mirl/ml/data/pairs.ts:47:11')),
    },
    is: 'programming',
  },
  {
    what: 'a flat Adam missing a gradient',
    err: { name: 'MissingGradientError', message: 'no gradient for g1/w' },
    is: 'programming',
  },
  {
    what: 'a configuration the trainer refused',
    err: { name: 'TrialConfigError', message: 'batch_size 20000 is larger' },
    is: 'configuration',
  },
  { what: "zod's refusal of the settings", err: { name: 'ZodError', message: ZOD_MESSAGE }, is: 'configuration' },
  {
    what: 'a diverged loss',
    err: { name: 'NonFiniteError', message: 'loss became NaN at step 3' },
    is: 'deterministic',
  },
  {
    what: 'a corrupt checkpoint',
    err: { name: 'CheckpointCorruptError', message: 'bad checksum' },
    is: 'deterministic',
  },
  {
    what: "Node's fetch failing to connect (a TypeError)",
    err: {
      name: 'TypeError',
      message: 'fetch failed',
      stack: stack('TypeError: fetch failed', '    at node:internal/deps/undici/undici:14976:13', OURS('post')),
    },
    is: 'retryable',
  },
  {
    what: 'a response cut off mid-body (a TypeError)',
    err: { name: 'TypeError', message: 'terminated' },
    is: 'retryable',
  },
  {
    what: 'a TypeError naming a reset socket',
    err: { name: 'TypeError', message: 'read ECONNRESET', stack: stack('TypeError', OURS('read')) },
    is: 'retryable',
  },
  {
    what: 'a TypeError inside a package (a GPU device gone under it)',
    err: {
      name: 'TypeError',
      message: "Cannot read properties of null (reading 'createBuffer')",
      stack: stack(
        'TypeError',
        '    at W.acquire (/srv/mirl/node_modules/@tensorflow/tfjs-backend-webgpu/dist/x.js:1:2)',
        OURS('advance'),
      ),
    },
    is: 'retryable',
  },
  {
    what: 'memory the machine refused (a RangeError)',
    err: { name: 'RangeError', message: 'Array buffer allocation failed', stack: stack('RangeError', OURS('alloc')) },
    is: 'retryable',
  },
  {
    what: 'a WebAssembly heap at its limit (a RangeError)',
    err: { name: 'RangeError', message: 'WebAssembly.Memory.grow(): Maximum memory size exceeded' },
    is: 'retryable',
  },
  {
    what: 'MLflow unreachable',
    err: { name: 'MlflowNetworkError', message: 'connect ECONNREFUSED 127.0.0.1:5000' },
    is: 'retryable',
  },
  {
    what: 'a backend missing on this worker',
    err: { name: 'BackendUnavailableError', message: 'no webgpu' },
    is: 'retryable',
  },
  { what: 'MNIST missing on this worker', err: { name: 'MnistDataError', message: 'not installed' }, is: 'retryable' },
  {
    what: 'a plain Error of ours',
    err: { name: 'Error', message: 'something', stack: stack('Error', OURS('f')) },
    is: 'retryable',
  },
];

describe('failureClassOf', () => {
  for (const { what, err, is } of CASES) {
    it(`${what}: ${is}`, () => {
      assert.equal(failureClassOf(err), is);
      assert.equal(trialFailureOf(err, null).nonRetryable, is !== 'retryable');
    });
  }

  it("the workflow's list holds every configuration error and no programming error", () => {
    for (const t of CONFIGURATION_ERROR_TYPES) assert.ok(NON_RETRYABLE_ERROR_TYPES.includes(t), t);
    // Listed there, a refused connection (a TypeError from fetch) anywhere in the activity would never be retried.
    for (const t of PROGRAMMING_ERROR_TYPES) assert.ok(!NON_RETRYABLE_ERROR_TYPES.includes(t), t);
  });

  it('throwSite names the first frame with a position, and whether it is ours', () => {
    assert.deepEqual(throwSite(MINIMIZE.stack), { own: true, where: 'ml/infomax-trial.ts:77' });
    assert.deepEqual(throwSite('TypeError: fetch failed\n    at node:internal/deps/undici/undici:14976:13'), {
      own: false,
      where: 'undici/undici:14976',
    });
    assert.equal(throwSite(undefined), null);
    assert.equal(throwSite('Error: x\n    at new Promise (<anonymous>)'), null);
  });
});

describe('trialFailureOf: what people read', () => {
  it('a programming error says so, when, and where, and keeps its type', () => {
    assert.deepEqual(trialFailureOf(MINIMIZE, null), {
      type: 'TypeError',
      nonRetryable: true,
      message:
        "programming error in trial set-up (not retried): Cannot read properties of undefined (reading 'minimize') (at ml/infomax-trial.ts:77)",
    });
    assert.match(
      trialFailureOf(MINIMIZE, 40).message,
      /^programming error in training after step 40 \(not retried\): /,
    );
  });

  it("a configuration error says so, zod's JSON list flattened to one line", () => {
    const f = trialFailureOf({ name: 'ZodError', message: ZOD_MESSAGE }, null);
    assert.equal(f.type, 'ZodError');
    assert.equal(
      f.message,
      'configuration error (not retried): steps: Too small: expected number to be >0; ' +
        'critic: encoder "identity" and critic "inner" have no weights between them',
    );
    assert.equal(
      trialFailureOf({ name: 'TrialConfigError', message: 'batch_size 20000\n is larger' }, 3).message,
      'configuration error (not retried): batch_size 20000 is larger',
    );
  });

  it('other failures keep their text as it was', () => {
    const nan = { name: 'NonFiniteError', message: 'loss became NaN at step 3' };
    assert.deepEqual(trialFailureOf(nan, 2), { type: 'NonFiniteError', nonRetryable: true, message: nan.message });
    const fetchFailed = CASES.find((c) => c.err.message === 'fetch failed')!.err;
    assert.deepEqual(trialFailureOf(fetchFailed, null), {
      type: 'TypeError',
      nonRetryable: false,
      message: 'fetch failed',
    });
  });
});

// A stand-in trainer: says ready, then answers 'start' with the messages and error in its environment.
const FAKE_TRAINER = `
const { before, error } = JSON.parse(process.env.FAKE_TRAINER);
process.on('message', (msg) => {
  if (msg.type !== 'start') return;
  for (const m of before) process.send(m);
  process.send({ type: 'error', ...error });
});
process.send({ type: 'ready' });
`;

let dir: string;
const spawned: ChildProcess[] = [];
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mirl-failure-class-'));
  await writeFile(path.join(dir, 'trainer.mjs'), FAKE_TRAINER);
});
after(async () => {
  for (const c of spawned) c.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

const noCheckpoints: CheckpointStore = {
  latest: async () => null,
  save: async () => assert.fail('nothing to save'),
};

async function attemptFailing(first: FromTrainer[], error: TrainerError) {
  const closed: Parameters<TrialMetricsWriter['close']>[0][] = [];
  const sink: MetricsSink = {
    async open() {
      return { train() {}, eval() {}, close: async (outcome) => void closed.push(outcome) };
    },
  };
  const trainers = new TrainerPool({
    spawn: () => {
      const child = fork(path.join(dir, 'trainer.mjs'), [], {
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: { ...process.env, FAKE_TRAINER: JSON.stringify({ before: first, error }) },
      });
      spawned.push(child);
      return child;
    },
  });
  const { runTrial } = createActivities({ store: noCheckpoints, sink, backend: 'cpu', identity: 't', trainers });
  const input: RunTrialActivityInput = {
    sweepId: 'sweep-f',
    trialId: 'trial-f',
    runName: 'f',
    checkpointKey: 'f',
    checkpointEvery: 0,
    config: parseTrialConfig({}),
    dataPath: DATA_PATH_VERSION,
    maxAttempts: 5,
  };
  const env = new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });
  const failure = await env.run(runTrial, input).then(
    () => assert.fail('the attempt should have failed'),
    (err: unknown) => err,
  );
  assert.ok(failure instanceof ApplicationFailure, `got ${String(failure)}`);
  assert.equal(closed.length, 1);
  // What `mirl sweep status` shows: the trial workflow's text of the activity failure around it.
  const status = describeFailure(
    new ActivityFailure('activity failed', 'runTrial', '1', RetryState.NON_RETRYABLE_FAILURE, 't', failure),
  );
  return { failure, record: closed[0], status };
}

describe('the runTrial activity, its trainer failing', () => {
  it('a programming error fails once, and the run and the status say why', async () => {
    const { failure, record, status } = await attemptFailing([], MINIMIZE);
    assert.equal(failure.nonRetryable, true);
    assert.equal(failure.type, 'TypeError');
    const text =
      "TypeError: programming error in trial set-up (not retried): Cannot read properties of undefined (reading 'minimize') (at ml/infomax-trial.ts:77)";
    assert.deepEqual(record, { status: 'failed', error: text, willRetry: false });
    assert.equal(status, text);
  });

  it('after the trainer reported a step, the error is placed in training', async () => {
    const { failure } = await attemptFailing([{ type: 'train', step: 40, metrics: { loss: 1 } }], MINIMIZE);
    assert.match(failure.message, /^programming error in training after step 40 \(not retried\)/);
  });

  it('an outage stays retryable and the run stays open for the retry', async () => {
    const fetchFailed = CASES.find((c) => c.err.message === 'fetch failed')!.err;
    const { failure, record } = await attemptFailing([], fetchFailed);
    assert.equal(failure.nonRetryable, false);
    assert.deepEqual(record, { status: 'failed', error: 'TypeError: fetch failed', willRetry: true });
  });
});
