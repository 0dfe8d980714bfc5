// Independent random streams for the samplers, each a pure function of the search seed,
// what it is for and an index (a point, a dimension): no generator state has to survive
// a replay, a continue-as-new or a worker crash.
import { Rng } from '../../ml/rng.js';

/** One salt per use, so e.g. random points and TPE candidates never share draws. */
export const STREAMS = { random: 0x52414e44, sobolScramble: 0x534f424c, tpe: 0x54504531 } as const;

// murmur3's finaliser.
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * xoshiro128** (ml/rng.ts) started from a hash of (seed, salt, index). Its state is set
 * directly: Rng's constructor multiplies in floating point, which drops the low bits of
 * large seeds, and search seeds and indices are large.
 */
export function streamRng(seed: number, salt: number, index: number): Rng {
  const x = mix32(mix32(mix32(seed >>> 0) ^ salt) ^ (index >>> 0));
  const s = [1, 2, 3, 4].map((k) => mix32((x + Math.imul(0x9e3779b9, k)) >>> 0)) as [number, number, number, number];
  if (s.every((w) => w === 0)) s[0] = 1;
  return Rng.fromState({ s, spare: null });
}
