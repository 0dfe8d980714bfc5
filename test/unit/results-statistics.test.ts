// The intervals behind the study verdicts, against SciPy: Student-t quantiles and CDF
// (whole and fractional degrees of freedom), Welch's interval with Welch–Satterthwaite
// df, the paired and one-sample intervals, the verdict and seed-spread rules.
// The hard-coded references were computed with SciPy 1.17.1 (scipy.stats.t.ppf / t.cdf,
// ttest_ind(equal_var=False), ttest_rel, ttest_1samp and their .confidence_interval(0.95));
// where the project's Python venv has SciPy, the test also asks it afresh on more points.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { summarise } from '../../results/aggregate.js';
import {
  exceedsSeedSpread,
  logGamma,
  oneSampleInterval,
  tCdf,
  tQuantile,
  verdictOf,
  welchInterval,
  type Interval,
} from '../../results/statistics.js';

const near = (actual: number, expected: number, rel = 1e-9) =>
  assert.ok(
    Math.abs(actual - expected) <= rel * Math.max(1, Math.abs(expected)),
    `${actual} != ${expected} (relative tolerance ${rel})`,
  );

// [df, t.ppf(0.975, df), t.ppf(0.9, df), t.cdf(-1.3, df)] from SciPy 1.17.1.
const T_TABLE: [number, number, number, number][] = [
  [1, 12.706204736174694, 3.0776835371752544, 0.20871440016015272],
  [1.5, 6.016663104427929, 2.1963984175655376, 0.17901469560079042],
  [2, 4.302652729749462, 1.8856180831641272, 0.16162351590802015],
  [2.7, 3.3921483831737507, 1.6881081751466425, 0.14672632185192266],
  [3, 3.1824463052837078, 1.637744353696209, 0.14223375436394853],
  [4.3, 2.70169489828223, 1.512770878112436, 0.12945527819520186],
  [5, 2.5705818356363146, 1.4758840488244815, 0.12515031708533855],
  [10, 2.228138851986274, 1.372183641110336, 0.1113829086034223],
  [30, 2.0422724563012378, 1.3104150253913955, 0.10175047926905843],
  [100, 1.9839715185235518, 1.290074761346516, 0.09829473171118308],
];

test('tQuantile and tCdf match SciPy at whole and fractional degrees of freedom', () => {
  for (const [df, q975, q90, cdf] of T_TABLE) {
    near(tQuantile(0.975, df), q975);
    near(tQuantile(0.9, df), q90);
    near(tQuantile(0.025, df), -q975);
    near(tCdf(-1.3, df), cdf);
    near(tCdf(1.3, df), 1 - cdf);
    near(tCdf(tQuantile(0.975, df), df), 0.975, 1e-12);
  }
  // Far tails: the bracket grows until it holds the quantile (SciPy: t.ppf(1e-9, df)).
  near(tQuantile(1e-9, 1), -318309886.1837907, 1e-8);
  near(tQuantile(1e-9, 2.7), -2026.4089564536007, 1e-8);
  assert.equal(tQuantile(0.5, 3), 0);
  assert.throws(() => tQuantile(1, 3), RangeError);
  assert.throws(() => tQuantile(0.5, 0), RangeError);
  near(logGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-13);
  near(logGamma(10), Math.log(362880), 1e-13);
});

const A = [0.8951, 0.8937, 0.896, 0.8942];
const B = [0.888, 0.8901, 0.8869];
const C = [3.1, 2.9, 3.4, 3.0, 2.7, 3.3];
const D = [1.0, 4.2, 2.5];
const FIRST = [0.866, 0.861, 0.87];
const LAST = [0.903, 0.899, 0.905];
const NONIID = [0.204, 0.197, 0.211];

function checkInterval(iv: Interval | null, ref: { diff: number; df: number; lo: number; hi: number }) {
  assert.ok(iv);
  near(iv.diff, ref.diff, 1e-12);
  near(iv.df, ref.df, 1e-10);
  near(iv.lo, ref.lo, 1e-10);
  near(iv.hi, ref.hi, 1e-10);
  near(iv.hi - iv.diff, iv.diff - iv.lo, 1e-12);
  assert.equal(iv.level, 0.95);
}

test("Welch's interval and df, the paired and the one-sample interval match SciPy", () => {
  checkInterval(welchInterval(summarise(A), summarise(B)), {
    diff: 0.006416666666666737,
    df: 3.1598755744291864,
    lo: 0.0031159744922205916,
    hi: 0.009717358841112883,
  });
  // Very unequal spreads: the df falls towards the noisier group's n - 1.
  checkInterval(welchInterval(summarise(C), summarise(D)), {
    diff: 0.5,
    df: 2.052214994563756,
    lo: -3.406949038400058,
    hi: 4.406949038400057,
  });
  checkInterval(oneSampleInterval(summarise(LAST.map((x, i) => x - FIRST[i]))), {
    diff: 0.0366666666666666,
    df: 2,
    lo: 0.03287208363306994,
    hi: 0.04046124970026346,
  });
  checkInterval(oneSampleInterval(summarise(NONIID), 0.0204), {
    diff: 0.204 - 0.0204,
    df: 2,
    lo: 0.1866110360177477 - 0.0204,
    hi: 0.22138896398225227 - 0.0204,
  });
});

const PYTHON = fileURLToPath(new URL('../../.venv/bin/python', import.meta.url));

function scipy(script: string, input: unknown): unknown | null {
  if (!existsSync(PYTHON)) return null;
  const r = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(input), encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) return null;
  return JSON.parse(r.stdout) as unknown;
}

const SCIPY_SCRIPT = `
import json, sys
from scipy import stats
q = json.load(sys.stdin)
out = {"ppf": [[df, p, float(stats.t.ppf(p, df))] for df, p in q["ppf"]], "welch": []}
for a, b in q["welch"]:
    r = stats.ttest_ind(a, b, equal_var=False)
    ci = r.confidence_interval(0.95)
    out["welch"].append([float(r.df), float(ci.low), float(ci.high)])
print(json.dumps(out))
`;

test('against SciPy afresh from the venv: quantiles on a grid, Welch on uneven groups', () => {
  const dfs = [1, 1.01, 1.3, 2.2, 3.7, 6.5, 11.1, 19, 47.5, 250];
  const ps = [0.6, 0.8, 0.95, 0.975, 0.995, 0.9995, 0.01];
  const groups: [number[], number[]][] = [
    [A, B],
    [C, D],
    [
      [0.81, 0.84, 0.83],
      [0.88, 0.881, 0.879, 0.882, 0.8805],
    ],
    [
      [5, 7],
      [1, 2, 3, 9, 11, 4],
    ],
  ];
  const ref = scipy(SCIPY_SCRIPT, { ppf: dfs.flatMap((df) => ps.map((p) => [df, p])), welch: groups }) as {
    ppf: [number, number, number][];
    welch: [number, number, number][];
  } | null;
  // The venv is part of every install (scripts/setup-python.sh; MLflow brings SciPy): its absence is a broken install.
  assert.ok(ref, 'no SciPy in .venv: run scripts/setup-python.sh');
  for (const [df, p, q] of ref.ppf) near(tQuantile(p, df), q, 1e-9);
  groups.forEach(([a, b], i) => {
    const iv = welchInterval(summarise(a), summarise(b))!;
    const [df, lo, hi] = ref.welch[i];
    near(iv.df, df, 1e-10);
    near(iv.lo, lo, 1e-10);
    near(iv.hi, hi, 1e-10);
  });
});

test('no interval below two values a side; groups without spread give a zero-width interval', () => {
  assert.equal(welchInterval(summarise([0.9]), summarise(B)), null);
  assert.equal(welchInterval(summarise(A), summarise([])), null);
  assert.equal(oneSampleInterval(summarise([0.1])), null);
  const flat = welchInterval(summarise([0.5, 0.5]), summarise([0.25, 0.25, 0.25]))!;
  assert.equal(flat.diff, 0.25);
  assert.deepEqual([flat.se, flat.df, flat.hi - flat.lo], [0, 3, 0]);
});

test("verdicts: the interval's side of zero against the paper's direction; seed spread is the larger sd", () => {
  const iv = (lo: number, hi: number): Interval => ({ diff: (lo + hi) / 2, se: 1, df: 3, lo, hi, level: 0.95 });
  assert.equal(verdictOf(iv(0.1, 0.3), 'higher'), 'shown');
  assert.equal(verdictOf(iv(0.1, 0.3), 'lower'), 'opposite');
  assert.equal(verdictOf(iv(-0.3, -0.1), 'lower'), 'shown');
  assert.equal(verdictOf(iv(-0.3, -0.1), 'higher'), 'opposite');
  assert.equal(verdictOf(iv(-0.1, 0.3), 'higher'), 'not decided');
  assert.equal(verdictOf(iv(0, 0.3), 'higher'), 'not decided', 'an interval touching zero does not exclude it');
  assert.equal(verdictOf(null, 'higher'), 'too few seeds');
  assert.equal(exceedsSeedSpread(0.05, [0.01, 0.04]), true);
  assert.equal(exceedsSeedSpread(-0.05, [0.06, 0.01]), false);
  assert.equal(exceedsSeedSpread(0.05, [0.01, null]), null);
  assert.equal(exceedsSeedSpread(null, [0.01]), null);
});
