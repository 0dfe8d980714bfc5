// Where an evaluation's time goes, part by part (seconds): logged beside the trainer's
// other costs under system/ (activities/trainer-process.ts), never with the science, so
// resumed and uninterrupted runs still log identical metrics.

/** Seconds per part of one evaluation, filled in by the parts as they run. */
export type EvalTiming = Record<string, number>;

/** Runs `part`, adding its wall time to `timing[name]` (when a timing is being kept). */
export async function timed<T>(timing: EvalTiming | undefined, name: string, part: () => Promise<T> | T): Promise<T> {
  if (!timing) return part();
  const t0 = performance.now();
  try {
    return await part();
  } finally {
    timing[name] = (timing[name] ?? 0) + (performance.now() - t0) / 1000;
  }
}
