// Tree-structured Parzen Estimator (J. Bergstra, R. Bardenet, Y. Bengio and B. Kegl,
// "Algorithms for Hyper-Parameter Optimization", NeurIPS 2011), univariate as in
// hyperopt and Optuna's defaults: the observations are split into the best fraction
// (below) and the rest (above); each setting gets a Parzen estimator (a mixture of
// truncated Gaussians, or smoothed counts for a choice) per group, l(x) and g(x); the
// suggestion is the candidate, drawn from l, with the largest l(x) / g(x).
//
// Written here rather than taken from npm: no maintained JavaScript TPE exists, and
// this one must be a pure function of its inputs to run inside a Temporal workflow.
// Points suggested but not yet observed join the above group (Optuna's "constant
// liar"), and each point draws from its own stream: suggestions made while earlier ones
// are still running move away from them instead of repeating them.
import { pointKey, settle, type SearchParam } from './space.js';
import { streamRng, STREAMS } from './streams.js';
import type { Rng } from '../../ml/rng.js';

/** An observed point: its values (in params order) and its objective, lower is better. */
export interface Observation {
  values: number[];
  y: number;
}

export interface TpeRequest {
  params: readonly SearchParam[];
  observed: readonly Observation[];
  /** Points suggested earlier and not yet observed. */
  pending: readonly (readonly number[])[];
  /** Keys (pointKey) of every point already used: a suggestion must differ from all. */
  used: ReadonlySet<string>;
  seed: number;
  /** Which point is being suggested: its random stream. */
  point: number;
}

/** Candidates drawn from l(x) per suggestion (hyperopt's and Optuna's default). */
const CANDIDATES = 24;
/** Weight of the prior component (a wide Gaussian, or a uniform choice) in each estimator. */
const PRIOR_WEIGHT = 1;
const RESAMPLE_TRIES = 1000;

/** Optuna's default split: the best 10% of observations, at least 1, at most 25. */
export function belowCount(n: number): number {
  return Math.max(1, Math.min(Math.ceil(0.1 * n), 25));
}

// Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7): enough for mixture weights.
function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return sign * y;
}

const normalCdf = (z: number) => 0.5 * (1 + erf(z / Math.SQRT2));

interface Estimator {
  logPdf(x: number): number;
  sample(rng: Rng): number;
}

/** A setting's coordinate for the estimator: its log for log_uniform, a category index for choice. */
interface Axis {
  low: number;
  high: number;
  categorical: number | null;
  toAxis(value: number): number;
  toValue(x: number): number;
}

function axisOf(param: SearchParam): Axis {
  const { dist } = param;
  if (dist.distribution === 'choice') {
    return {
      low: 0,
      high: dist.values.length - 1,
      categorical: dist.values.length,
      toAxis: (v) => dist.values.indexOf(v),
      toValue: (x) => settle(param, x),
    };
  }
  if (dist.distribution === 'log_uniform') {
    return {
      low: Math.log(dist.low),
      high: Math.log(dist.high),
      categorical: null,
      toAxis: Math.log,
      toValue: (x) => settle(param, Math.exp(x)),
    };
  }
  // Integers own the interval around them, so the ends are as likely as the middle.
  const pad = dist.distribution === 'int_uniform' ? 0.5 : 0;
  return {
    low: dist.low - pad,
    high: dist.high + pad,
    categorical: null,
    toAxis: (v) => v,
    toValue: (x) => settle(param, x),
  };
}

function categoricalEstimator(categories: number, xs: readonly number[]): Estimator {
  const weights = new Array<number>(categories).fill(PRIOR_WEIGHT / categories);
  for (const x of xs) weights[x] += 1;
  const total = weights.reduce((a, b) => a + b, 0);
  const probs = weights.map((w) => w / total);
  return {
    logPdf: (x) => Math.log(probs[Math.round(x)]),
    sample: (rng) => {
      let u = rng.uniform();
      for (let c = 0; c < categories; c++) if ((u -= probs[c]) < 0) return c;
      return categories - 1;
    },
  };
}

/**
 * A mixture of Gaussians truncated to [low, high]: one per observation plus a wide prior
 * in the middle. Each observation's width is the larger gap to its neighbours, clipped
 * between range / min(100, 1 + n) and the range (hyperopt's adaptive Parzen estimator).
 */
function gaussianEstimator(low: number, high: number, xs: readonly number[]): Estimator {
  const range = high - low;
  const mus = [...xs, (low + high) / 2].sort((a, b) => a - b);
  const priorAt = mus.indexOf((low + high) / 2);
  const minSigma = range / Math.min(100, 1 + mus.length);
  const sigmas = mus.map((mu, i) => {
    if (i === priorAt) return range;
    const gap = Math.max(mu - (i > 0 ? mus[i - 1] : low), (i < mus.length - 1 ? mus[i + 1] : high) - mu);
    return Math.min(range, Math.max(minSigma, gap));
  });
  const weights = mus.map((_, i) => (i === priorAt ? PRIOR_WEIGHT : 1));
  const total = weights.reduce((a, b) => a + b, 0);
  // log(weight / (sigma sqrt(2 pi) mass inside the bounds)), per component: the density's constant part.
  const logCoef = mus.map((mu, i) => {
    const mass = Math.max(1e-300, normalCdf((high - mu) / sigmas[i]) - normalCdf((low - mu) / sigmas[i]));
    return Math.log(weights[i] / total) - Math.log(sigmas[i] * Math.sqrt(2 * Math.PI)) - Math.log(mass);
  });
  const terms = new Float64Array(mus.length);
  return {
    logPdf: (x) => {
      let top = -Infinity;
      for (let i = 0; i < mus.length; i++) {
        const z = (x - mus[i]) / sigmas[i];
        terms[i] = logCoef[i] - 0.5 * z * z;
        if (terms[i] > top) top = terms[i];
      }
      let sum = 0;
      for (let i = 0; i < mus.length; i++) sum += Math.exp(terms[i] - top);
      return top + Math.log(sum);
    },
    sample: (rng) => {
      let u = rng.uniform() * total;
      let i = 0;
      while (i < mus.length - 1 && (u -= weights[i]) >= 0) i++;
      for (let tries = 0; tries < 100; tries++) {
        const x = mus[i] + sigmas[i] * rng.normal();
        if (x >= low && x <= high) return x;
      }
      return low + rng.uniform() * range;
    },
  };
}

function estimator(axis: Axis, xs: readonly number[]): Estimator {
  return axis.categorical !== null
    ? categoricalEstimator(axis.categorical, xs)
    : gaussianEstimator(axis.low, axis.high, xs);
}

/** The suggested point's values (in params order), distinct from every used point. */
export function suggestTpe(request: TpeRequest): number[] {
  const { params, observed, pending, used } = request;
  const rng = streamRng(request.seed, STREAMS.tpe, request.point);
  const sorted = [...observed].sort((a, b) => a.y - b.y);
  const split = belowCount(sorted.length);
  const below = sorted.slice(0, split).map((o) => o.values);
  const above = [...sorted.slice(split).map((o) => o.values), ...pending];
  const axes = params.map(axisOf);
  const l = axes.map((axis, d) =>
    estimator(
      axis,
      below.map((v) => axis.toAxis(v[d])),
    ),
  );
  const g = axes.map((axis, d) =>
    estimator(
      axis,
      above.map((v) => axis.toAxis(v[d])),
    ),
  );

  const candidates = Array.from({ length: CANDIDATES }, () => {
    const xs = l.map((est) => est.sample(rng));
    const values = xs.map((x, d) => axes[d].toValue(x));
    // Scored where the value landed after rounding, so candidates that round alike score alike.
    const score = values.reduce(
      (sum, v, d) => sum + l[d].logPdf(axes[d].toAxis(v)) - g[d].logPdf(axes[d].toAxis(v)),
      0,
    );
    return { values, score };
  });
  candidates.sort((a, b) => b.score - a.score);
  const best = candidates.find((c) => !used.has(pointKey(c.values)));
  if (best) return best.values;
  // Every candidate repeats a used point (a small discrete space): draw from l until one is new.
  for (let tries = 0; tries < RESAMPLE_TRIES; tries++) {
    const values = l.map((est, d) => axes[d].toValue(est.sample(rng)));
    if (!used.has(pointKey(values))) return values;
  }
  throw new RangeError(`TPE found no unused point in ${RESAMPLE_TRIES} draws; the search space is nearly exhausted`);
}
