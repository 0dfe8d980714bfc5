// The points of a random or Sobol search (and a TPE search's quasi-random start): a pure
// function of the search seed and the point's position, so a trial's configuration (and
// with it its id) never depends on what ran before it or on which worker asks.
import { sobolPoint } from './sobol.js';
import { fromUnit, pointKey, type SearchParam } from './space.js';
import { streamRng, STREAMS } from './streams.js';

export type StreamMethod = 'random' | 'sobol';

/** The k-th point of the method's stream, before repeats are skipped. */
export function streamPoint(method: StreamMethod, seed: number, params: readonly SearchParam[], k: number): number[] {
  let unit: number[];
  if (method === 'sobol') {
    unit = sobolPoint(seed, k, params.length);
  } else {
    const rng = streamRng(seed, STREAMS.random, k);
    unit = params.map(() => rng.uniform());
  }
  return params.map((p, d) => fromUnit(p, unit[d]));
}

/** Stream points tried per point wanted before giving up on a space with too few distinct points. */
const TRIES_PER_POINT = 30;

/**
 * The first `count` distinct points of the stream. A stream point equal to an earlier
 * one (an integer or choice setting, or two values equal to six digits) is skipped: it
 * would run the same trials twice under the same trial ids. Validation rejects a budget
 * larger than the space, so running out of tries means a nearly full space.
 */
export function streamPoints(
  method: StreamMethod,
  seed: number,
  params: readonly SearchParam[],
  count: number,
): number[][] {
  const points: number[][] = [];
  const seen = new Set<string>();
  const limit = count * TRIES_PER_POINT + 1000;
  for (let k = 0; points.length < count; k++) {
    if (k >= limit)
      throw new RangeError(
        `found ${points.length} distinct points of ${count} in ${limit} draws; the search space is nearly exhausted`,
      );
    const point = streamPoint(method, seed, params, k);
    const key = pointKey(point);
    if (seen.has(key)) continue;
    seen.add(key);
    points.push(point);
  }
  return points;
}
