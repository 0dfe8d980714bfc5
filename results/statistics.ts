// Intervals behind the study verdicts: Welch's two-sample interval for configurations
// compared across seeds, and the one-sample interval (paired differences, or values
// against a fixed number) for changes within trials. Pure functions.
//
// The Student-t quantile is computed here rather than taken from a package: Welch's
// degrees of freedom are not integers, so a table will not do, and the two packages that
// fit (jstat: untyped, last released 2022; @stdlib's t-quantile: a tree of micro-packages)
// would add a dependency for ~60 lines of textbook numerics. The method: the t CDF through
// the regularised incomplete beta function (continued fraction by the modified Lentz
// method, Numerical Recipes 3rd ed. §6.4), log-gamma by Lanczos' approximation (g = 7,
// 9 terms), and the quantile by bisection on the monotone CDF, which cannot fail to
// converge. test/unit/results-statistics.test.ts checks it against SciPy.

/** Lanczos coefficients for g = 7, n = 9: ~15 significant digits for positive arguments. */
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

export function logGamma(x: number): number {
  // Reflection keeps the series where it is accurate.
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) a += LANCZOS[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

const TINY = 1e-300;

/** The continued fraction of I_x(a, b); converges fast for x < (a + 1) / (a + b + 2). */
function betaFraction(x: number, a: number, b: number): number {
  let c = 1;
  let d = 1 / nonZero(1 - ((a + b) * x) / (a + 1));
  let h = d;
  for (let m = 1; m <= 10000; m++) {
    const m2 = 2 * m;
    // Even then odd term of the fraction, each a Lentz update of c, d and h.
    const even = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 / nonZero(1 + even * d);
    c = nonZero(1 + even / c);
    h *= d * c;
    const odd = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 / nonZero(1 + odd * d);
    c = nonZero(1 + odd / c);
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) return h;
  }
  throw new Error(`incomplete beta: no convergence at x=${x}, a=${a}, b=${b}`);
}

/** Lentz's guard: a zero denominator is nudged to a tiny one, as the method prescribes. */
function nonZero(v: number): number {
  return Math.abs(v) < TINY ? TINY : v;
}

/** The regularised incomplete beta function I_x(a, b). */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x));
  // The fraction is evaluated on whichever side of the mean it converges quickly.
  return x < (a + 1) / (a + b + 2) ? (front * betaFraction(x, a, b)) / a : 1 - (front * betaFraction(1 - x, b, a)) / b;
}

/** P(T > t) for t >= 0, T Student-t with df degrees of freedom. */
function upperTail(t: number, df: number): number {
  return 0.5 * regularizedBeta(df / (df + t * t), df / 2, 0.5);
}

export function tCdf(t: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`t distribution: degrees of freedom must be positive, got ${df}`);
  return t >= 0 ? 1 - upperTail(t, df) : upperTail(-t, df);
}

/** The p-quantile of Student's t with df (> 0, not necessarily whole) degrees of freedom. */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`t quantile: p must lie in (0, 1), got ${p}`);
  if (!(df > 0)) throw new RangeError(`t quantile: degrees of freedom must be positive, got ${df}`);
  if (p === 0.5) return 0;
  const tail = Math.min(p, 1 - p);
  let lo = 0;
  let hi = 1;
  while (upperTail(hi, df) > tail) {
    lo = hi;
    hi *= 2;
  }
  // Bisection to the last bit: ~60 halvings, each one incomplete-beta evaluation.
  for (let i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (upperTail(mid, df) > tail) lo = mid;
    else hi = mid;
  }
  const t = (lo + hi) / 2;
  return p > 0.5 ? t : -t;
}

/** A group's values over seeds as `summarise` gives them. */
export interface SampleSummary {
  mean: number | null;
  sd: number | null;
  n: number;
}

export interface Interval {
  /** The estimate: a difference of means, a mean difference, or a mean minus a fixed value. */
  diff: number;
  /** Its standard error. */
  se: number;
  df: number;
  lo: number;
  hi: number;
  level: number;
}

function interval(diff: number, se: number, df: number, level: number): Interval {
  const half = se === 0 ? 0 : tQuantile(1 - (1 - level) / 2, df) * se;
  return { diff, se, df, lo: diff - half, hi: diff + half, level };
}

/**
 * Welch's interval for mean(a) - mean(b): unequal variances, Welch–Satterthwaite degrees
 * of freedom. Null below two values on either side (no sd, so no spread to judge by).
 */
export function welchInterval(a: SampleSummary, b: SampleSummary, level = 0.95): Interval | null {
  if (a.n < 2 || b.n < 2 || a.mean === null || b.mean === null || a.sd === null || b.sd === null) return null;
  const va = (a.sd * a.sd) / a.n;
  const vb = (b.sd * b.sd) / b.n;
  const v = va + vb;
  // Both groups without spread (identical seeds): the width is 0 whatever the df, which
  // Welch–Satterthwaite leaves undefined (0/0); the pooled df stands in.
  const df = v === 0 ? a.n + b.n - 2 : (v * v) / ((va * va) / (a.n - 1) + (vb * vb) / (b.n - 1));
  return interval(a.mean - b.mean, Math.sqrt(v), df, level);
}

/** The one-sample t interval for mean - reference (paired differences use reference 0). */
export function oneSampleInterval(s: SampleSummary, reference = 0, level = 0.95): Interval | null {
  if (s.n < 2 || s.mean === null || s.sd === null) return null;
  return interval(s.mean - reference, s.sd / Math.sqrt(s.n), s.n - 1, level);
}

/** What the paper says about a - b (or the change, or the value against a fixed number). */
export type Direction = 'higher' | 'lower';

export type ComparisonVerdict = 'shown' | 'opposite' | 'not decided' | 'too few seeds';

/**
 * 'shown' when the interval excludes zero on the paper's side, 'opposite' when it
 * excludes zero on the other side, 'not decided' when it holds zero, and 'too few
 * seeds' when there is no interval (below two values on a side).
 */
export function verdictOf(iv: Interval | null, direction: Direction): ComparisonVerdict {
  if (!iv) return 'too few seeds';
  const above = iv.lo > 0;
  const below = iv.hi < 0;
  if (!above && !below) return 'not decided';
  return above === (direction === 'higher') ? 'shown' : 'opposite';
}

/**
 * The seed-spread rule: a difference "exceeds the seed spread" when |diff| is larger
 * than the larger sample sd of the groups compared, i.e. the configurations differ by
 * more than one seed differs from the next within either of them. The interval says
 * whether a difference is there; this says whether it is large next to the seed noise,
 * which an interval from many seeds can shrink below. Null without an sd on some side.
 */
export function exceedsSeedSpread(diff: number | null, sds: (number | null)[]): boolean | null {
  if (diff === null || sds.length === 0 || sds.some((s) => s === null)) return null;
  return Math.abs(diff) > Math.max(...(sds as number[]));
}
