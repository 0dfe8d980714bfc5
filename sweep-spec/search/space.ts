// A search space: the searched settings, each with its distribution, and the maps
// between a setting's values and the unit interval (where random and Sobol points live)
// or the model's coordinate (where TPE's Parzen estimators live).

export const DISTRIBUTIONS = ['uniform', 'log_uniform', 'int_uniform', 'choice'] as const;
export type DistributionName = (typeof DISTRIBUTIONS)[number];

export type Distribution =
  | { distribution: 'uniform' | 'log_uniform' | 'int_uniform'; low: number; high: number }
  | { distribution: 'choice'; values: number[] };

export interface SearchParam {
  key: string;
  dist: Distribution;
  /** The setting only takes integers (log_uniform values are rounded for it). */
  integer: boolean;
}

/** Sampled values keep this many significant digits: readable run names, and equal text for equal values. */
export const SIGNIFICANT_DIGITS = 6;

function roundSignificant(x: number): number {
  return x === 0 ? 0 : Number(x.toPrecision(SIGNIFICANT_DIGITS));
}

const clamp = (x: number, low: number, high: number) => Math.min(high, Math.max(low, x));

/** Rounds a raw value to what the setting can take, inside the distribution's bounds. */
export function settle(param: SearchParam, raw: number): number {
  const { dist } = param;
  if (dist.distribution === 'choice') return dist.values[clamp(Math.round(raw), 0, dist.values.length - 1)];
  const value = dist.distribution === 'int_uniform' || param.integer ? Math.round(raw) : roundSignificant(raw);
  // Rounding can step just outside a bound (0.0001234567 -> 0.000123457 > 0.0001234565).
  return clamp(value, dist.low, dist.high);
}

/** The value at u in [0, 1): uniform in the distribution's own scale. */
export function fromUnit(param: SearchParam, u: number): number {
  const { dist } = param;
  switch (dist.distribution) {
    case 'choice':
      return dist.values[Math.min(dist.values.length - 1, Math.floor(u * dist.values.length))];
    case 'int_uniform':
      return Math.min(dist.high, dist.low + Math.floor(u * (dist.high - dist.low + 1)));
    case 'log_uniform':
      return settle(param, Math.exp(Math.log(dist.low) + u * (Math.log(dist.high) - Math.log(dist.low))));
    case 'uniform':
      return settle(param, dist.low + u * (dist.high - dist.low));
  }
}

/**
 * How many distinct values the parameter can take (Infinity for a continuous one, whose
 * six significant digits are plenty): a budget larger than the space's size could never
 * be filled with distinct points.
 */
export function distinctValues(param: SearchParam): number {
  const { dist } = param;
  if (dist.distribution === 'choice') return new Set(dist.values).size;
  if (dist.distribution === 'int_uniform' || param.integer) return Math.floor(dist.high) - Math.ceil(dist.low) + 1;
  return Infinity;
}

export function spaceSize(params: readonly SearchParam[]): number {
  return params.reduce((n, p) => n * distinctValues(p), 1);
}

/** A point's text key: two points with equal keys would run the same trials. */
export function pointKey(values: readonly number[]): string {
  return values.map((v) => String(v)).join(',');
}
