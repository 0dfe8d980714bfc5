// A torn or corrupt checkpoint must not end a trial: the store passes over it to an
// older intact one (or none), and the runTrial activity resumes from there and says so
// in the trial's record. The activity runs here in Temporal's mock activity context with
// a real trainer process.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { encodeCheckpoint } from '../../ml/checkpoint.js';
import { parseTrialConfig } from '../../ml/config.js';
import {
  describeFallback,
  LocalCheckpointStore,
  newestIntact,
  type DamagedCheckpoint,
} from '../../activities/checkpoint-store.js';
import { createActivities } from '../../activities/run-trial.js';
import type { MetricsSink } from '../../activities/metrics-sink.js';
import type { RunTrialActivityInput, RunTrialActivityResult } from '../../workflows/types.js';
import { DATA_PATH_VERSION } from '../../ml/data-path.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mirl-ckpt-fallback-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bytesAt = (step: number) =>
  encodeCheckpoint({ step, arrays: [{ name: 'w', shape: [2], values: new Float32Array([step, 1]) }], state: {} });

describe('checkpoint stores pass over damaged checkpoints', () => {
  it('a truncated newest checkpoint: the older intact one is returned and the damaged one reported', async () => {
    const store = new LocalCheckpointStore(path.join(dir, 'local-a'));
    await store.save('k', 100, bytesAt(100));
    const newest = await store.save('k', 200, bytesAt(200));
    await truncate(newest, 60);
    const damaged: DamagedCheckpoint[] = [];
    const latest = await store.latest('k', (d) => damaged.push(d));
    assert.equal(latest?.step, 100);
    assert.deepEqual(Buffer.from(latest!.bytes), bytesAt(100));
    assert.deepEqual(
      damaged.map((d) => [d.step, d.ref]),
      [[200, newest]],
    );
    assert.match(damaged[0].reason, /checksum mismatch.*60 bytes/);
  });

  it('every checkpoint damaged: none is returned, each is reported newest first', async () => {
    const store = new LocalCheckpointStore(path.join(dir, 'local-b'));
    const older = await store.save('k', 100, bytesAt(100));
    const newer = await store.save('k', 200, bytesAt(200));
    const flipped = bytesAt(100);
    flipped[20] ^= 0xff;
    await writeFile(older, flipped);
    await writeFile(newer, Buffer.from('not a checkpoint'));
    const damaged: DamagedCheckpoint[] = [];
    assert.equal(await store.latest('k', (d) => damaged.push(d)), null);
    assert.deepEqual(
      damaged.map((d) => d.step),
      [200, 100],
    );
    assert.match(damaged[0].reason, /bad magic/);
    assert.match(damaged[1].reason, /checksum mismatch/);
  });

  it('reads no older candidate once an intact one is found', async () => {
    const reads: number[] = [];
    const candidate = (step: number, bytes: Uint8Array) => ({
      step,
      ref: `r${step}`,
      read: async () => (reads.push(step), bytes),
    });
    const found = await newestIntact([
      candidate(3, bytesAt(3).subarray(0, 10)),
      candidate(2, bytesAt(2)),
      candidate(1, bytesAt(1)),
    ]);
    assert.equal(found?.step, 2);
    assert.deepEqual(reads, [3, 2]);
  });

  it('describes the fallback in one line', () => {
    const d = [
      {
        step: 200,
        ref: 'runs:/r/checkpoints/step-0000000200.ckpt',
        reason: 'checkpoint checksum mismatch (truncated or corrupt), 60 bytes',
      },
    ];
    assert.equal(
      describeFallback(d, 100),
      'passed over damaged checkpoint step 200 (runs:/r/checkpoints/step-0000000200.ckpt): checkpoint checksum mismatch (truncated or corrupt), 60 bytes; resumed from step 100',
    );
    assert.match(describeFallback(d, null), /; started from scratch$/);
  });
});

describe('the runTrial activity with a damaged checkpoint', () => {
  const notes: string[] = [];
  const sink: MetricsSink = {
    async open() {
      return {
        train() {},
        eval() {},
        async close() {},
        noteCheckpointFallback: async (text: string) => void notes.push(text),
      };
    },
  };
  const input = (steps: number): RunTrialActivityInput => ({
    sweepId: 'sweep-fallback',
    trialId: 'trial-fallback',
    runName: 'trial-fallback',
    checkpointKey: 'fallback-key',
    checkpointEvery: 4,
    config: parseTrialConfig({
      encoder: 'mlp',
      critic: 'bilinear',
      batch_size: 16,
      steps,
      log_interval: 4,
      eval_interval: 1000,
      evaluations: [],
      seed: 3,
    }),
    dataPath: DATA_PATH_VERSION,
  });
  const run = (steps: number, attempt: number) => {
    const store = new LocalCheckpointStore(path.join(dir, 'activity'));
    const { runTrial } = createActivities({ store, sink, backend: 'wasm', identity: 'test' });
    return new MockActivityEnvironment({ attempt }).run(runTrial, input(steps)) as Promise<RunTrialActivityResult>;
  };
  const files = async () =>
    (await readdir(path.join(dir, 'activity', 'fallback-key')))
      .sort()
      .map((f) => path.join(dir, 'activity', 'fallback-key', f));

  it('resumes from the previous good checkpoint, then from scratch when none is left, and notes each', async () => {
    const first = await run(8, 1);
    assert.equal(first.step, 8);
    assert.equal(first.resumedFrom, null);
    assert.deepEqual(notes, [], 'nothing to note without damage');
    const [, step8] = await files();
    assert.match(step8, /step-0000000008\.ckpt$/);
    await truncate(step8, 100);

    const second = await run(12, 2);
    assert.equal(second.resumedFrom, 4, 'the previous good checkpoint');
    assert.equal(second.step, 12);
    assert.equal(notes.length, 1);
    assert.match(
      notes[0],
      /^passed over damaged checkpoint step 8 \(.*step-0000000008\.ckpt\): checkpoint checksum mismatch \(truncated or corrupt\), 100 bytes; resumed from step 4$/,
    );

    for (const file of await files()) await truncate(file, 10);
    const third = await run(16, 3);
    assert.equal(third.resumedFrom, null, 'from scratch');
    assert.equal(third.step, 16);
    assert.equal(notes.length, 2);
    assert.match(notes[1], /^passed over damaged checkpoint step 12 .*; step 8 .*; started from scratch$/);
  });
});
