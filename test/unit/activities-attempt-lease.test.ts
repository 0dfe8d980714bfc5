import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { AttemptLease, leaseTimings, type Renewal } from '../../activities/attempt-lease.js';

const T = 12_000;
const { renewEveryMs, marginMs } = leaseTimings(T);

/** Lets promise callbacks run between fake-clock ticks. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Advances the fake clock in small steps; returns the time (ms from start) the lease was lost, or null. */
async function run(lease: AttemptLease, forMs: number, stepMs = 50): Promise<number | null> {
  const t0 = Date.now();
  lease.start();
  await settle();
  for (let t = 0; t < forMs; t += stepMs) {
    if (lease.lost) return Date.now() - t0;
    mock.timers.tick(stepMs);
    await settle();
  }
  return lease.lost ? Date.now() - t0 : null;
}

describe('AttemptLease', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('renews every sixth of the heartbeat timeout and stops writing a third of it before the server could retry', () => {
    assert.deepEqual(leaseTimings(12_000), { renewEveryMs: 2_000, marginMs: 4_000 });
    assert.equal(leaseTimings(600).renewEveryMs, 250, 'never renews more often than every 250 ms');
  });

  it('is held as long as the server takes heartbeats', async () => {
    let renewals = 0;
    const lease = new AttemptLease({ heartbeatTimeoutMs: T, renew: async () => (renewals++, 'held') });
    assert.equal(await run(lease, 10 * T), null);
    lease.stop();
    assert.ok(renewals >= (10 * T) / renewEveryMs - 1, `${renewals} renewals`);
    assert.equal(lease.signal.aborted, false);
  });

  it('is lost when no heartbeat reaches the server, before the heartbeat timeout could start a retry', async () => {
    const lost: string[] = [];
    const lease = new AttemptLease({
      heartbeatTimeoutMs: T,
      renew: () => Promise.reject(new Error('unreachable')),
      onLost: (r) => lost.push(r),
    });
    const at = await run(lease, 2 * T);
    assert.ok(at !== null && at >= T - marginMs && at <= T - marginMs + renewEveryMs, `lost at ${at} ms`);
    assert.ok(at! < T, 'before the server could time the attempt out');
    assert.equal(lost.length, 1);
    assert.match(lost[0]!, /no heartbeat reached Temporal for \d+\.\d s of a 12 s heartbeat timeout/);
    assert.equal(lease.signal.aborted, true);
    assert.equal(lease.reason, lost[0]);
  });

  it('is lost as soon as the server no longer knows the attempt', async () => {
    const lease = new AttemptLease({ heartbeatTimeoutMs: T, renew: async (): Promise<Renewal> => 'superseded' });
    const at = await run(lease, T);
    assert.equal(at, 0);
    assert.match(lease.reason!, /no longer knows this attempt/);
  });

  it('is lost on time even when a renewal hangs', async () => {
    const lease = new AttemptLease({ heartbeatTimeoutMs: T, renew: () => new Promise<Renewal>(() => {}) });
    const at = await run(lease, 2 * T);
    assert.ok(at !== null && at >= T - marginMs && at <= T - marginMs + renewEveryMs, `lost at ${at} ms`);
  });

  it('survives failed renewals that stop short of the margin, counting from the last heartbeat taken', async () => {
    let failFrom = 0;
    let failUntil = 0;
    const lease = new AttemptLease({
      heartbeatTimeoutMs: T,
      renew: async () => {
        const now = Date.now();
        if (now >= failFrom && now < failUntil) throw new Error('blip');
        return 'held';
      },
    });
    // Just after the renewal at T succeeds: those at T + 2 s and T + 4 s fail, the one at T + 6 s is taken.
    failFrom = Date.now() + T + 1;
    failUntil = failFrom + T - marginMs - renewEveryMs - 100;
    assert.equal(await run(lease, 4 * T), null);
    lease.stop();
  });

  it('without a heartbeat timeout it never runs out, and is lost only when told', async () => {
    const lost: string[] = [];
    const lease = new AttemptLease({
      renew: () => Promise.reject(new Error('never called')),
      onLost: (r) => lost.push(r),
    });
    assert.equal(await run(lease, 10 * T), null);
    lease.lose('Temporal cancelled the attempt as timed out');
    lease.lose('twice');
    assert.deepEqual(lost, ['Temporal cancelled the attempt as timed out']);
    assert.equal(lease.signal.reason, 'Temporal cancelled the attempt as timed out');
  });
});
