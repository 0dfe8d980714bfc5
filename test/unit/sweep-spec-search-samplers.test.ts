// The samplers behind `search:`: Sobol against published values, the scramble's net
// property and its discrepancy against random points, bounds and rounding of every
// distribution, determinism for a seed, and TPE homing in on a known optimum.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NUMERIC_SETTING_KEYS } from '../../sweep-spec/schema.js';
import { streamPoint, streamPoints } from '../../sweep-spec/search/points.js';
import { SOBOL_MAX_DIMS, sobolPoint } from '../../sweep-spec/search/sobol.js';
import { fromUnit, pointKey, spaceSize, type SearchParam } from '../../sweep-spec/search/space.js';
import { belowCount, suggestTpe, type Observation } from '../../sweep-spec/search/tpe.js';

const uniform01: SearchParam = { key: 'noise', dist: { distribution: 'uniform', low: 0, high: 1 }, integer: false };

/** Warnock's closed form of the L2-star discrepancy of points in [0, 1)^d (lower is more even). */
function l2StarDiscrepancy(points: number[][]): number {
  const n = points.length;
  const d = points[0].length;
  let single = 0;
  let pairs = 0;
  for (const x of points) single += x.reduce((prod, v) => prod * (1 - v * v), 1);
  for (const x of points) for (const y of points) pairs += x.reduce((prod, v, k) => prod * (1 - Math.max(v, y[k])), 1);
  return Math.sqrt(3 ** -d - (2 ** (1 - d) / n) * single + pairs / (n * n));
}

describe('sobolPoint', () => {
  it('matches scipy.stats.qmc.Sobol(scramble=False) (Joe-Kuo directions)', () => {
    assert.deepEqual(sobolPoint(null, 0, 2), [0, 0]);
    assert.deepEqual(sobolPoint(null, 1, 2), [0.5, 0.5]);
    assert.deepEqual(sobolPoint(null, 2, 2), [0.75, 0.25]);
    assert.deepEqual(sobolPoint(null, 4, 3), [0.375, 0.375, 0.625]);
    // scipy 1.17: Sobol(21, scramble=False).random(1001)[1000], to six places.
    const expected = [
      0.219727, 0.09668, 0.518555, 0.676758, 0.280273, 0.907227, 0.045898, 0.899414, 0.500977, 0.069336, 0.084961,
      0.254883, 0.161133, 0.383789, 0.143555, 0.370117, 0.719727, 0.344727, 0.991211, 0.725586, 0.522461,
    ];
    sobolPoint(null, 1000, 21).forEach((v, d) => assert.ok(Math.abs(v - expected[d]) < 1e-6, `dimension ${d}: ${v}`));
  });

  it('has a dimension for every numeric setting', () => {
    assert.ok(SOBOL_MAX_DIMS >= NUMERIC_SETTING_KEYS.length, `${SOBOL_MAX_DIMS} < ${NUMERIC_SETTING_KEYS.length}`);
  });

  it('scrambled, keeps one point per interval of 1/2^m in every coordinate over the first 2^m points', () => {
    for (const seed of [0, 1, 12345]) {
      const points = Array.from({ length: 64 }, (_, i) => sobolPoint(seed, i, 5));
      for (let d = 0; d < 5; d++) {
        const cells = new Set(points.map((p) => Math.floor(p[d] * 64)));
        assert.equal(cells.size, 64, `seed ${seed}, dimension ${d}`);
      }
      assert.notDeepEqual(points[0], [0, 0, 0, 0, 0]);
    }
  });

  it('is a pure function of (seed, index): same seed same point, other seed other point', () => {
    assert.deepEqual(sobolPoint(7, 123, 4), sobolPoint(7, 123, 4));
    assert.notDeepEqual(sobolPoint(7, 123, 4), sobolPoint(8, 123, 4));
    // A dimension's scramble does not depend on how many dimensions there are.
    assert.deepEqual(sobolPoint(7, 123, 2), sobolPoint(7, 123, 4).slice(0, 2));
  });

  it('is far more even than random points (L2-star discrepancy, 256 points in 2 and 4 dimensions)', () => {
    for (const dims of [2, 4]) {
      const params = Array.from({ length: dims }, () => uniform01);
      let sobol = 0;
      let random = 0;
      for (const seed of [0, 1, 2, 3]) {
        sobol += l2StarDiscrepancy(Array.from({ length: 256 }, (_, i) => sobolPoint(seed, i, dims)));
        random += l2StarDiscrepancy(Array.from({ length: 256 }, (_, i) => streamPoint('random', seed, params, i)));
      }
      assert.ok(sobol * 2 < random, `${dims} dims: sobol ${sobol / 4} vs random ${random / 4}`);
    }
  });
});

describe('distributions', () => {
  const params: SearchParam[] = [
    { key: 'learning_rate', dist: { distribution: 'log_uniform', low: 1e-6, high: 1e-2 }, integer: false },
    { key: 'batch_size', dist: { distribution: 'int_uniform', low: 32, high: 40 }, integer: true },
    { key: 'noise', dist: { distribution: 'uniform', low: 0.5, high: 2 }, integer: false },
    { key: 'realnvp_layers', dist: { distribution: 'choice', values: [2, 4, 8] }, integer: true },
    { key: 'realnvp_hidden', dist: { distribution: 'log_uniform', low: 16, high: 4096 }, integer: true },
  ];

  for (const method of ['random', 'sobol'] as const) {
    it(`${method}: every value lies within its bounds, integers where the setting needs them`, () => {
      for (const point of streamPoints(method, 3, params, 500)) {
        const [lr, batch, noise, layers, hidden] = point;
        assert.ok(lr >= 1e-6 && lr <= 1e-2, `learning_rate ${lr}`);
        assert.ok(Number.isInteger(batch) && batch >= 32 && batch <= 40, `batch_size ${batch}`);
        assert.ok(noise >= 0.5 && noise <= 2, `noise ${noise}`);
        assert.ok([2, 4, 8].includes(layers), `realnvp_layers ${layers}`);
        assert.ok(Number.isInteger(hidden) && hidden >= 16 && hidden <= 4096, `realnvp_hidden ${hidden}`);
        assert.equal(Number(lr.toPrecision(6)), lr, 'six significant digits');
      }
    });

    it(`${method}: deterministic for a seed, different for another, and never repeats a point`, () => {
      const a = streamPoints(method, 11, params, 200);
      assert.deepEqual(streamPoints(method, 11, params, 200), a);
      assert.notDeepEqual(streamPoints(method, 12, params, 200), a);
      assert.equal(new Set(a.map(pointKey)).size, 200);
    });
  }

  it('log_uniform spreads evenly over orders of magnitude', () => {
    const lr = [params[0]];
    const decades = [0, 0, 0, 0];
    for (const [v] of streamPoints('sobol', 0, lr, 400)) decades[Math.min(3, Math.floor(Math.log10(v) + 6))]++;
    for (const count of decades) assert.ok(count >= 90 && count <= 110, `per decade: ${decades.join(', ')}`);
  });

  it('int_uniform reaches both ends; a full small space is filled without repeats', () => {
    const small: SearchParam[] = [params[1], params[3]];
    assert.equal(spaceSize(small), 27);
    const all = streamPoints('random', 0, small, 27);
    assert.equal(new Set(all.map(pointKey)).size, 27);
    assert.ok(all.some(([b]) => b === 32) && all.some(([b]) => b === 40));
    assert.throws(() => streamPoints('random', 0, small, 28), /nearly exhausted/);
  });

  it('fromUnit maps the ends of [0, 1) onto the bounds', () => {
    assert.equal(fromUnit(params[1], 0), 32);
    assert.equal(fromUnit(params[1], 0.999999), 40);
    assert.equal(fromUnit(params[0], 0), 1e-6);
  });
});

describe('suggestTpe', () => {
  const f = (x: number) => (x - 0.3) ** 2;

  /** 10 Sobol points, then 30 TPE suggestions one at a time: the x of each. */
  function tpeRun(seed: number): number[] {
    const observed: Observation[] = [];
    const used = new Set<string>();
    for (let point = 0; point < 40; point++) {
      const values =
        point < 10
          ? streamPoint('sobol', seed, [uniform01], point)
          : suggestTpe({ params: [uniform01], observed, pending: [], used, seed, point });
      used.add(pointKey(values));
      observed.push({ values, y: f(values[0]) });
    }
    return observed.map((o) => o.values[0]);
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

  it('concentrates near the optimum of (x - 0.3)^2 after 20 observations, unlike random points', () => {
    const tpe: number[] = [];
    const random: number[] = [];
    for (const seed of [0, 1, 2, 3, 4]) {
      tpe.push(
        ...tpeRun(seed)
          .slice(20)
          .map((x) => Math.abs(x - 0.3)),
      );
      random.push(
        ...Array.from({ length: 20 }, (_, k) => Math.abs(streamPoint('random', seed, [uniform01], 20 + k)[0] - 0.3)),
      );
    }
    assert.ok(median(tpe) < median(random) / 2, `median distance: tpe ${median(tpe)}, random ${median(random)}`);
  });

  it('is deterministic for its inputs and differs per point (each point has its own stream)', () => {
    assert.deepEqual(tpeRun(5), tpeRun(5));
    const observed = tpeRun(5)
      .slice(0, 15)
      .map((x) => ({ values: [x], y: f(x) }));
    const ask = (point: number) =>
      suggestTpe({ params: [uniform01], observed, pending: [], used: new Set(), seed: 5, point });
    assert.notDeepEqual(ask(15), ask(16));
  });

  it('moves away from pending points: concurrent suggestions do not pile onto one spot', () => {
    const observed = [0.1, 0.25, 0.3, 0.32, 0.5, 0.7, 0.9, 0.05, 0.6, 0.8].map((x) => ({ values: [x], y: f(x) }));
    const pending: number[][] = [];
    const used = new Set(observed.map((o) => pointKey(o.values)));
    for (let point = 10; point < 18; point++) {
      const values = suggestTpe({ params: [uniform01], observed, pending, used, seed: 1, point });
      assert.ok(!used.has(pointKey(values)), `point ${point} repeats ${values}`);
      used.add(pointKey(values));
      pending.push(values);
    }
    assert.equal(new Set(pending.map(pointKey)).size, 8);
  });

  it('never suggests a used point, even in a tiny discrete space', () => {
    const choice: SearchParam = {
      key: 'realnvp_layers',
      dist: { distribution: 'choice', values: [1, 2, 3] },
      integer: true,
    };
    const observed = [
      { values: [1], y: 0 },
      { values: [2], y: 1 },
    ];
    const used = new Set(['1', '2']);
    assert.deepEqual(suggestTpe({ params: [choice], observed, pending: [], used, seed: 0, point: 2 }), [3]);
  });

  it('splits off the best 10% (at least 1, at most 25) as Optuna does', () => {
    assert.deepEqual([1, 10, 11, 100, 1000].map(belowCount), [1, 1, 2, 10, 25]);
  });
});
