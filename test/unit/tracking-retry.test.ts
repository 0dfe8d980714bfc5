import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MlflowApiError, MlflowNetworkError } from '../../tracking/errors.js';
import { fakeTransport, mlflowErrorReply, type FakeReply } from '../../tracking/fake-transport.js';
import { HttpClient } from '../../tracking/http.js';
import { silentLogger, type TrackingLogger } from '../../tracking/logger.js';
import {
  backoffDelayMs,
  DEFAULT_RETRY_POLICY,
  isRetryableNetworkCode,
  isRetryableStatus,
  retryAfterMs,
  type RetryPolicy,
} from '../../tracking/retry.js';

/** A clock that only moves when the client sleeps, so tests take no real time. */
function fakeClock() {
  let t = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
  };
}

function client(
  replies: (i: number) => FakeReply,
  policy: Partial<RetryPolicy> = {},
  logger: TrackingLogger = silentLogger,
) {
  const clock = fakeClock();
  const fake = fakeTransport((_, i) => replies(i));
  const http = new HttpClient({
    transport: fake.transport,
    retry: { ...DEFAULT_RETRY_POLICY, ...policy },
    timeoutMs: 1000,
    logger,
    sleep: clock.sleep,
    now: clock.now,
    random: () => 1,
  });
  return { http, fake, clock };
}

const ok: FakeReply = { status: 200, json: { ok: true } };
const get = { method: 'GET' as const, path: '/api/2.0/mlflow/runs/get' };

describe('retry classification', () => {
  it('retries 429 and 5xx but no other status', () => {
    for (const s of [429, 500, 502, 503, 504]) assert.ok(isRetryableStatus(s), String(s));
    for (const s of [400, 401, 403, 404, 409, 413]) assert.ok(!isRetryableStatus(s), String(s));
  });

  it('retries transient socket errors only', () => {
    for (const c of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ECONNABORTED', 'EPIPE']) {
      assert.ok(isRetryableNetworkCode(c), c);
    }
    for (const c of ['ENOTFOUND', 'ERR_INVALID_URL', 'CERT_HAS_EXPIRED', undefined]) {
      assert.ok(!isRetryableNetworkCode(c), String(c));
    }
  });
});

describe('backoff', () => {
  const policy: RetryPolicy = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1000, maxElapsedMs: 60_000 };

  it('doubles the window up to the cap', () => {
    const windows = [1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(n, policy, () => 0.999999));
    assert.deepEqual(windows, [99, 199, 399, 799, 999, 999]);
  });

  it('draws uniformly inside the window (full jitter)', () => {
    assert.equal(
      backoffDelayMs(3, policy, () => 0),
      0,
    );
    assert.equal(
      backoffDelayMs(3, policy, () => 0.5),
      200,
    );
  });

  it('reads Retry-After as seconds or as a date', () => {
    assert.equal(retryAfterMs('2', 0), 2000);
    assert.equal(retryAfterMs(new Date(5000).toUTCString(), 1000), 4000);
    assert.equal(retryAfterMs(undefined, 0), undefined);
    assert.equal(retryAfterMs('soon', 0), undefined);
  });

  it('the default policy rides out a one-minute outage even with unlucky jitter', () => {
    // Expected wait is half of each window; a policy whose windows sum to well over
    // twice the outage, bounded by the elapsed budget, is what the default promises.
    const p = DEFAULT_RETRY_POLICY;
    let windows = 0;
    for (let n = 1; n < p.maxAttempts; n++) windows += Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** (n - 1));
    assert.ok(windows / 2 >= 90_000, `expected total wait ${windows / 2} ms`);
    assert.ok(p.maxElapsedMs >= 60_000);
  });
});

describe('HttpClient retries', () => {
  it('retries 503, 429 and refused connections, then succeeds', async () => {
    const script: FakeReply[] = [
      mlflowErrorReply(503, 'TEMPORARILY_UNAVAILABLE'),
      { networkError: 'ECONNREFUSED' },
      mlflowErrorReply(429, 'REQUEST_LIMIT_EXCEEDED'),
      { networkError: 'ECONNRESET' },
      ok,
    ];
    const { http, fake, clock } = client((i) => script[i]);
    assert.deepEqual(await http.json(get), { ok: true });
    assert.equal(fake.requests.length, 5);
    // random() = 1 gives the full window each time: 500, 1000, 2000, 4000
    assert.deepEqual(clock.sleeps, [500, 1000, 2000, 4000]);
  });

  it('does not retry other 4xx and surfaces MLflow error code, status and message', async () => {
    const { http, fake } = client(() => mlflowErrorReply(404, 'RESOURCE_DOES_NOT_EXIST', 'Run with id=x not found'));
    await assert.rejects(http.json(get), (err: unknown) => {
      assert.ok(err instanceof MlflowApiError);
      assert.equal(err.errorCode, 'RESOURCE_DOES_NOT_EXIST');
      assert.equal(err.httpStatus, 404);
      assert.equal(err.endpoint, 'GET /api/2.0/mlflow/runs/get');
      assert.match(err.message, /Run with id=x not found/);
      return true;
    });
    assert.equal(fake.requests.length, 1);
  });

  it('names an error without an MLflow body by its status', async () => {
    const { http } = client(() => ({ status: 413, body: '<html>Request Entity Too Large</html>' }));
    await assert.rejects(http.json(get), (err: unknown) => {
      assert.ok(err instanceof MlflowApiError);
      assert.equal(err.errorCode, 'BAD_REQUEST');
      assert.match(err.message, /Request Entity Too Large/);
      return true;
    });
  });

  it('gives up after maxAttempts with the last error', async () => {
    const { http, fake } = client(() => mlflowErrorReply(500, 'INTERNAL_ERROR'), { maxAttempts: 4 });
    await assert.rejects(http.json(get), (err: unknown) => err instanceof MlflowApiError && err.httpStatus === 500);
    assert.equal(fake.requests.length, 4);
  });

  it('gives up when the next wait would pass the elapsed-time budget', async () => {
    const { http, fake, clock } = client(() => ({ networkError: 'ECONNREFUSED' }), {
      maxAttempts: 100,
      baseDelayMs: 1000,
      maxDelayMs: 1000,
      maxElapsedMs: 5500,
    });
    await assert.rejects(http.json(get), (err: unknown) => {
      assert.ok(err instanceof MlflowNetworkError);
      assert.equal(err.code, 'ECONNREFUSED');
      assert.equal(err.attempts, 6);
      return true;
    });
    assert.equal(fake.requests.length, 6);
    assert.equal(clock.now(), 5000);
  });

  it('does not retry a network error that will not heal', async () => {
    const { http, fake } = client(() => ({ networkError: 'ENOTFOUND' }));
    await assert.rejects(http.json(get), MlflowNetworkError);
    assert.equal(fake.requests.length, 1);
  });

  it('waits at least as long as Retry-After asks, within the delay cap', async () => {
    const script: FakeReply[] = [
      { ...mlflowErrorReply(429, 'REQUEST_LIMIT_EXCEEDED'), headers: { 'Retry-After': '3' } },
      ok,
    ];
    const { http, clock } = client((i) => script[i]);
    await http.json(get);
    assert.deepEqual(clock.sleeps, [3000]);
  });

  it('reports each retry through the logger', async () => {
    const lines: string[] = [];
    const script: FakeReply[] = [{ networkError: 'ECONNREFUSED' }, ok];
    const { http } = client((i) => script[i], {}, { warn: (m) => lines.push(m) });
    await http.json(get);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /GET \/api\/2.0\/mlflow\/runs\/get.*ECONNREFUSED.*retry 1\/29 in 500 ms/);
  });

  it('reports a non-JSON success body as a malformed response', async () => {
    const { http } = client(() => ({ status: 200, body: 'not json' }));
    await assert.rejects(
      http.json(get),
      (err: unknown) => err instanceof MlflowApiError && err.errorCode === 'MALFORMED_RESPONSE',
    );
  });
});
