// A scrambled Sobol sequence whose n-th point is a pure function of (seed, n): no state
// to carry across continue-as-new, and trial n keeps its configuration whatever ran
// before it. Hand-written because the one npm package (`sobol`) reads its table with
// node:fs (not allowed in workflow code), shifts 52-bit integers with 32-bit operators
// and cannot scramble.
//
// Method: Sobol's construction with Joe and Kuo's direction numbers (joe-kuo.ts), points
// in Gray-code order (Antonov and Saleev), randomised by a linear matrix scramble plus a
// digital shift (J. Matousek, "On the L2-discrepancy for anchored boxes", J. Complexity
// 14 (1998) 527-556; the scheme scipy.stats.qmc.Sobol uses). Both keep the (t, m, s)-net
// property, so every 2^m consecutive points from 0 still fall one per elementary interval;
// the scramble removes the unscrambled sequence's point at the origin and its alignment.
import { JOE_KUO_ROWS } from './joe-kuo.js';
import { streamRng, STREAMS } from './streams.js';

const BITS = 32;
const TWO_32 = 4294967296;

/** The largest dimension the table covers. */
export const SOBOL_MAX_DIMS = JOE_KUO_ROWS.length + 1;

/** Direction integers of one dimension, most significant bit first (v[k] is 2^-(k+1)-scaled). */
function directions(dim: number): Uint32Array {
  const v = new Uint32Array(BITS);
  if (dim === 0) {
    for (let k = 0; k < BITS; k++) v[k] = 2 ** (BITS - 1 - k);
    return v;
  }
  const [s, a, m] = JOE_KUO_ROWS[dim - 1];
  for (let k = 0; k < s; k++) v[k] = (m[k] * 2 ** (BITS - 1 - k)) >>> 0;
  for (let k = s; k < BITS; k++) {
    let x = v[k - s] ^ (v[k - s] >>> s);
    for (let j = 1; j < s; j++) if ((a >>> (s - 1 - j)) & 1) x ^= v[k - j];
    v[k] = x >>> 0;
  }
  return v;
}

function parity(x: number): number {
  x ^= x >>> 16;
  x ^= x >>> 8;
  x ^= x >>> 4;
  x ^= x >>> 2;
  x ^= x >>> 1;
  return x & 1;
}

/** y times a random lower-triangular GF(2) matrix with a unit diagonal (digit 0 = the top bit). */
function scrambleMatrix(next: () => number): (y: number) => number {
  const rows = new Uint32Array(BITS);
  for (let i = 0; i < BITS; i++) {
    const higher = i === 0 ? 0 : (0xffffffff << (BITS - i)) >>> 0;
    rows[i] = ((2 ** (BITS - 1 - i)) | (next() & higher)) >>> 0;
  }
  return (y) => {
    let out = 0;
    for (let i = 0; i < BITS; i++) if (parity(rows[i] & y)) out |= 2 ** (BITS - 1 - i);
    return out >>> 0;
  };
}

interface Scrambled {
  dirs: Uint32Array[];
  shifts: Uint32Array;
}

const cache = new Map<string, Scrambled>();
const CACHE_MAX = 16;

// Each dimension scrambles from its own stream, so adding a searched setting leaves the
// values of the settings before it unchanged.
function scrambled(seed: number | null, dims: number): Scrambled {
  const key = `${seed}|${dims}`;
  const known = cache.get(key);
  if (known) return known;
  const dirs: Uint32Array[] = [];
  const shifts = new Uint32Array(dims);
  for (let d = 0; d < dims; d++) {
    const plain = directions(d);
    if (seed === null) {
      dirs.push(plain);
      continue;
    }
    const rng = streamRng(seed, STREAMS.sobolScramble, d);
    const next = () => rng.nextUint32();
    const apply = scrambleMatrix(next);
    dirs.push(plain.map(apply));
    shifts[d] = next();
  }
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(key, { dirs, shifts });
  return { dirs, shifts };
}

/**
 * The index-th point of a `dims`-dimensional Sobol sequence in [0, 1)^dims, scrambled by
 * `seed` (null: the plain sequence, for tests against published values).
 */
export function sobolPoint(seed: number | null, index: number, dims: number): number[] {
  if (!Number.isInteger(dims) || dims < 1 || dims > SOBOL_MAX_DIMS)
    throw new RangeError(`sobolPoint: dims must be 1..${SOBOL_MAX_DIMS}, got ${dims}`);
  if (!Number.isInteger(index) || index < 0 || index >= TWO_32)
    throw new RangeError(`sobolPoint: index must be 0..2^32-1, got ${index}`);
  const { dirs, shifts } = scrambled(seed, dims);
  const gray = (index ^ Math.floor(index / 2)) >>> 0;
  return dirs.map((v, d) => {
    let x = shifts[d];
    for (let k = 0, g = gray; g !== 0; k++, g >>>= 1) if (g & 1) x ^= v[k];
    return (x >>> 0) / TWO_32;
  });
}
