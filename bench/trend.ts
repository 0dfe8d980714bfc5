// Whether memory stays flat over a long run: a least-squares line through RSS samples
// taken after warm-up (the first steps grow caches and JIT code that a leak does not).

export interface MemorySample {
  step: number;
  rssMb: number;
  tensors: number;
}

export interface MemoryTrend {
  start_mb: number;
  end_mb: number;
  max_mb: number;
  /** Slope of the least-squares line through the samples after warm-up. */
  slope_mb_per_1000_steps: number;
  samples_fitted: number;
  tensors_start: number;
  tensors_end: number;
}

/** Least-squares slope of y against x; NaN with fewer than two distinct x. */
export function leastSquaresSlope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n !== ys.length) throw new RangeError(`${n} x values but ${ys.length} y values`);
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i] / n;
    my += ys[i] / n;
  }
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  return sxx > 0 ? sxy / sxx : NaN;
}

export function memoryTrend(samples: MemorySample[], warmupSteps: number): MemoryTrend {
  if (samples.length === 0) throw new RangeError('no memory samples');
  const fitted = samples.filter((s) => s.step >= warmupSteps);
  const first = samples[0];
  const last = samples[samples.length - 1];
  return {
    start_mb: first.rssMb,
    end_mb: last.rssMb,
    max_mb: Math.max(...samples.map((s) => s.rssMb)),
    slope_mb_per_1000_steps:
      1000 *
      leastSquaresSlope(
        fitted.map((s) => s.step),
        fitted.map((s) => s.rssMb),
      ),
    samples_fitted: fitted.length,
    tensors_start: first.tensors,
    tensors_end: last.tensors,
  };
}
