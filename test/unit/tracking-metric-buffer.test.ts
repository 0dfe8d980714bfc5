import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MetricBuffer } from '../../tracking/metric-buffer.js';
import { silentLogger } from '../../tracking/logger.js';
import type { BatchInput, MetricInput } from '../../tracking/types.js';

/** Records logBatch calls; fails while `failing` is set; each call can be held open. */
function fakeClient() {
  const state = {
    calls: [] as MetricInput[][],
    failing: false,
    concurrent: 0,
    maxConcurrent: 0,
    hold: undefined as Promise<void> | undefined,
  };
  const client = {
    async logBatch(_runId: string, batch: BatchInput) {
      state.concurrent++;
      state.maxConcurrent = Math.max(state.maxConcurrent, state.concurrent);
      try {
        await new Promise((resolve) => setImmediate(resolve));
        if (state.hold) await state.hold;
        if (state.failing) throw new Error('server down');
        state.calls.push([...(batch.metrics ?? [])]);
        return { requests: 1 };
      } finally {
        state.concurrent--;
      }
    },
  };
  return { client, state, steps: () => state.calls.flat().map((m) => m.step) };
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('MetricBuffer', () => {
  it('flushes on explicit flush, with the timestamp fixed when added', async () => {
    const { client, state } = fakeClient();
    let t = 100;
    const buffer = new MetricBuffer(client, 'run', { flushIntervalMs: 60_000, now: () => t, logger: silentLogger });
    buffer.add('loss', 1.5, 3);
    t = 200;
    buffer.add('loss', 1.0, 4, 150);
    assert.equal(buffer.size, 2);
    await buffer.flush();
    assert.equal(buffer.size, 0);
    assert.deepEqual(state.calls, [
      [
        { key: 'loss', value: 1.5, step: 3, timestamp: 100 },
        { key: 'loss', value: 1.0, step: 4, timestamp: 150 },
      ],
    ]);
    await buffer.close();
    assert.equal(state.calls.length, 1, 'nothing left to send');
  });

  it('flushes by itself when maxEntries are pending', async () => {
    const { client, state } = fakeClient();
    const buffer = new MetricBuffer(client, 'run', { maxEntries: 3, flushIntervalMs: 60_000, logger: silentLogger });
    for (let step = 0; step < 5; step++) {
      buffer.add('m', step, step);
      await wait(5);
    }
    assert.deepEqual(
      state.calls.map((c) => c.length),
      [3],
      'the third add triggered a flush; two wait',
    );
    assert.equal(buffer.size, 2);
    await buffer.close();
    assert.deepEqual(
      state.calls.map((c) => c.length),
      [3, 2],
    );
  });

  it('flushes by itself flushIntervalMs after the first pending metric', async () => {
    const { client, state } = fakeClient();
    const buffer = new MetricBuffer(client, 'run', { maxEntries: 1000, flushIntervalMs: 30, logger: silentLogger });
    buffer.addAll({ a: 1, b: 2 }, 7);
    await wait(10);
    assert.equal(state.calls.length, 0);
    await wait(80);
    assert.equal(state.calls.length, 1);
    assert.deepEqual(
      state.calls[0].map((m) => [m.key, m.step]),
      [
        ['a', 7],
        ['b', 7],
      ],
    );
    await buffer.close();
  });

  it('keeps the metrics of a failed flush, in order, for the next flush', async () => {
    const { client, state, steps } = fakeClient();
    const buffer = new MetricBuffer(client, 'run', { flushIntervalMs: 60_000, logger: silentLogger });
    for (let step = 0; step < 5; step++) buffer.add('m', step, step);
    state.failing = true;
    await assert.rejects(buffer.flush(), /server down/);
    assert.equal(buffer.size, 5);
    for (let step = 5; step < 8; step++) buffer.add('m', step, step);
    state.failing = false;
    await buffer.flush();
    assert.deepEqual(steps(), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(buffer.size, 0);
    await buffer.close();
  });

  it('keeps metrics added while a flush is failing behind the returned ones', async () => {
    const { client, state, steps } = fakeClient();
    const buffer = new MetricBuffer(client, 'run', { flushIntervalMs: 60_000, logger: silentLogger });
    let release!: () => void;
    state.hold = new Promise<void>((resolve) => (release = resolve));
    state.failing = true;
    buffer.add('m', 0, 0);
    const first = buffer.flush();
    await wait(5);
    buffer.add('m', 1, 1); // arrives while the first flush is in flight
    release();
    await assert.rejects(first);
    state.hold = undefined;
    state.failing = false;
    await buffer.flush();
    assert.deepEqual(steps(), [0, 1]);
  });

  it('never runs two flushes for one run at once', async () => {
    const { client, state, steps } = fakeClient();
    const buffer = new MetricBuffer(client, 'run', { maxEntries: 2, flushIntervalMs: 1, logger: silentLogger });
    const flushes: Promise<void>[] = [];
    for (let step = 0; step < 50; step++) {
      buffer.add('m', step, step);
      if (step % 7 === 0) flushes.push(buffer.flush());
      if (step % 10 === 0) await wait(1);
    }
    await Promise.all(flushes);
    await buffer.close();
    assert.equal(state.maxConcurrent, 1);
    assert.deepEqual(steps(), [...Array(50).keys()]);
  });

  it('sends at most 1000 metrics per logBatch call, so a failure returns only that chunk', async () => {
    const { client, state } = fakeClient();
    const buffer = new MetricBuffer(client, 'run', {
      maxEntries: 10_000,
      flushIntervalMs: 60_000,
      logger: silentLogger,
    });
    for (let step = 0; step < 2500; step++) buffer.add('m', step, step);
    await buffer.flush();
    assert.deepEqual(
      state.calls.map((c) => c.length),
      [1000, 1000, 500],
    );
  });

  it('a background flush that fails logs a warning and retries later', async () => {
    const { client, state, steps } = fakeClient();
    const warnings: string[] = [];
    const buffer = new MetricBuffer(client, 'run', { flushIntervalMs: 20, logger: { warn: (m) => warnings.push(m) } });
    state.failing = true;
    buffer.add('m', 0, 0);
    await wait(60);
    assert.ok(warnings.some((w) => /kept for the next flush/.test(w)));
    state.failing = false;
    await wait(60);
    assert.deepEqual(steps(), [0]);
    await buffer.close();
  });

  it('refuses invalid keys at add time and adds after close', async () => {
    const { client } = fakeClient();
    const buffer = new MetricBuffer(client, 'run', { logger: silentLogger });
    assert.throws(() => buffer.add('bad$key', 1), /invalid metric key/);
    await buffer.close();
    assert.throws(() => buffer.add('m', 1), /closed/);
  });
});
