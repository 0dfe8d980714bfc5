import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chunkBatch,
  prepareBatch,
  pythonNormpath,
  SERVER_LIMITS,
  truncateValue,
  validateKey,
} from '../../tracking/batch.js';
import { MlflowValidationError } from '../../tracking/errors.js';
import type { TrackingLogger } from '../../tracking/logger.js';

function capturingLogger(): TrackingLogger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (m) => lines.push(m) };
}

const now = () => 1_700_000_000_000;

describe('key validation', () => {
  it('accepts the characters the server accepts', () => {
    for (const key of [
      'loss',
      'i_est_train',
      'log_condition_number_p20',
      'mirl.trial_id',
      'a/b/c',
      'a-b c',
      'x.y.z',
      'é_ü',
    ]) {
      assert.doesNotThrow(() => validateKey('metric', key), key);
    }
  });

  it('refuses other characters, empty keys and over-long keys', () => {
    for (const key of ['', 'a$b', 'a\\b', 'a\nb', 'a,b', 'x'.repeat(251)]) {
      assert.throws(() => validateKey('param', key), MlflowValidationError, JSON.stringify(key));
    }
    assert.doesNotThrow(() => validateKey('param', 'x'.repeat(250)));
  });

  it('refuses keys that would alias another key as a path', () => {
    for (const key of ['a//b', 'a/', './a', 'a/./b', 'a/../b', '..', '../a', '/a', '.', '..x']) {
      assert.throws(() => validateKey('tag', key), MlflowValidationError, key);
    }
  });

  it('normalizes paths like posixpath.normpath', () => {
    const cases: [string, string][] = [
      ['', '.'],
      ['a/b', 'a/b'],
      ['a//b/', 'a/b'],
      ['./a/./b', 'a/b'],
      ['a/../..', '..'],
      ['/../a', '/a'],
      ['//a', '//a'],
      ['///a', '/a'],
      ['../../x', '../../x'],
    ];
    for (const [input, expected] of cases) assert.equal(pythonNormpath(input), expected, input);
  });
});

describe('value truncation', () => {
  it('truncates param and tag values at the server limits with a warning naming the key', () => {
    const logger = capturingLogger();
    const batch = prepareBatch(
      { params: { long: 'p'.repeat(7000), short: 'ok' }, tags: { t: 't'.repeat(9000) } },
      logger,
      now,
    );
    assert.equal(batch.params[0].value.length, SERVER_LIMITS.paramValueLength);
    assert.equal(batch.params[1].value, 'ok');
    assert.equal(batch.tags[0].value.length, SERVER_LIMITS.tagValueLength);
    assert.equal(logger.lines.length, 2);
    assert.match(logger.lines[0], /param 'long'.*7000.*6000/);
    assert.ok(!logger.lines.join('').includes('pppp'), 'the value itself is not logged');
  });

  it('counts code points like Python, never splitting a surrogate pair', () => {
    const logger = capturingLogger();
    const emoji = '😀'.repeat(5); // 10 UTF-16 units, 5 code points
    assert.equal(truncateValue('tag', 'k', emoji, 5, logger), emoji);
    assert.equal(truncateValue('tag', 'k', emoji, 3, logger), '😀😀😀');
    assert.equal(logger.lines.length, 1);
  });
});

describe('prepareBatch', () => {
  it('fills in step 0 and the current time, and refuses bad steps and values', () => {
    const { metrics } = prepareBatch({ metrics: [{ key: 'm', value: 1 }] }, capturingLogger(), now);
    assert.deepEqual(metrics, [{ key: 'm', value: 1, step: 0, timestamp: now() }]);
    assert.throws(() => prepareBatch({ metrics: [{ key: 'm', value: 1, step: 1.5 }] }, capturingLogger(), now));
    assert.throws(() => prepareBatch({ metrics: [{ key: 'm', value: 1, timestamp: -1 }] }, capturingLogger(), now));
    assert.throws(() =>
      prepareBatch({ metrics: [{ key: 'm', value: '1' as unknown as number }] }, capturingLogger(), now),
    );
  });

  it('drops identical param repeats and refuses conflicting ones', () => {
    const same = prepareBatch(
      {
        params: [
          { key: 'a', value: '1' },
          { key: 'a', value: '1' },
        ],
      },
      capturingLogger(),
      now,
    );
    assert.equal(same.params.length, 1);
    assert.throws(
      () =>
        prepareBatch(
          {
            params: [
              { key: 'a', value: '1' },
              { key: 'a', value: '2' },
            ],
          },
          capturingLogger(),
          now,
        ),
      /param 'a' given twice/,
    );
  });
});

describe('chunkBatch', () => {
  const metrics = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ key: 'loss', value: i / 7, step: i, timestamp: 1000 + i }));
  const params = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `p${i}`, value: String(i) }));
  const tags = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `t${i}`, value: String(i) }));

  it('sends nothing for an empty batch', () => {
    assert.deepEqual(chunkBatch('r', { metrics: [], params: [], tags: [] }), []);
  });

  it('splits metrics at 1000 per request, keeping order', () => {
    const bodies = chunkBatch('r', { metrics: metrics(2500), params: [], tags: [] });
    assert.deepEqual(
      bodies.map((b) => b.metrics.length),
      [1000, 1000, 500],
    );
    assert.deepEqual(
      bodies.flatMap((b) => b.metrics.map((m) => m.step)),
      [...Array(2500).keys()],
    );
    assert.ok(bodies.every((b) => b.run_id === 'r'));
  });

  it('splits params and tags at 100 per request and at 1000 entities in all', () => {
    const bodies = chunkBatch('r', { metrics: metrics(950), params: params(250), tags: tags(30) });
    for (const body of bodies) {
      assert.ok(body.params.length <= 100);
      assert.ok(body.tags.length <= 100);
      assert.ok(body.metrics.length + body.params.length + body.tags.length <= 1000);
    }
    assert.equal(
      bodies.reduce((n, b) => n + b.params.length, 0),
      250,
    );
    assert.equal(
      bodies.reduce((n, b) => n + b.tags.length, 0),
      30,
    );
    assert.equal(
      bodies.reduce((n, b) => n + b.metrics.length, 0),
      950,
    );
    // params are sent before the metrics
    assert.equal(bodies[0].metrics.length, 0);
  });

  it('keeps every request body under the byte limit', () => {
    const big = Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(7990) }));
    const bodies = chunkBatch('r', { metrics: [], params: [], tags: big });
    assert.ok(bodies.length >= 3);
    for (const body of bodies) assert.ok(Buffer.byteLength(JSON.stringify(body)) <= SERVER_LIMITS.requestBytes);
    assert.equal(
      bodies.reduce((n, b) => n + b.tags.length, 0),
      300,
    );
  });

  it('honours lower limits (used to exercise chunking cheaply)', () => {
    const bodies = chunkBatch(
      'r',
      { metrics: metrics(10), params: [], tags: [] },
      { ...SERVER_LIMITS, metricsPerBatch: 3 },
    );
    assert.deepEqual(
      bodies.map((b) => b.metrics.length),
      [3, 3, 3, 1],
    );
  });

  it('encodes non-finite values as MLflow strings', () => {
    const [body] = chunkBatch('r', {
      metrics: [
        { key: 'a', value: NaN, step: 0, timestamp: 1 },
        { key: 'a', value: Infinity, step: 1, timestamp: 1 },
        { key: 'a', value: -Infinity, step: 2, timestamp: 1 },
      ],
      params: [],
      tags: [],
    });
    assert.deepEqual(
      body.metrics.map((m) => m.value),
      ['NaN', 'Infinity', '-Infinity'],
    );
  });
});
