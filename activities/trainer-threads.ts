// How a worker's trainers share its cores, kept apart from the pool (no process handling)
// so the benchmark sizes its own processes the same way.
/**
 * TensorFlow's thread pools for each of `trainers` trainers sharing `cores` cores: the
 * cores split between them, one inter-op thread. By default each process would size its
 * pools to every core, and a worker runs one trainer per core. Measured on the quiet
 * 2-core machine, two trainers at once, twice: MLP + bilinear 201-207 -> 252-255 steps a
 * second in all, ConvNet 20.5-20.7 -> 22.7-24.1, RealNVP 4.8-5.3 -> 5.0-5.5 (noise); the
 * same bits (checkpoint hashes of three models unchanged). Variables the worker's own
 * environment sets are left to it.
 */
export function trainerThreadEnv(
  cores: number,
  trainers: number,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const wanted: Record<string, string> = {
    TF_NUM_INTRAOP_THREADS: String(Math.max(1, Math.floor(cores / Math.max(1, trainers)))),
    TF_NUM_INTEROP_THREADS: '1',
  };
  return Object.fromEntries(Object.entries(wanted).filter(([k]) => env[k] === undefined || env[k] === ''));
}
