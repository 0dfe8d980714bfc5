// What the trainer's process cost between two evaluations, logged under `system/` beside
// the evaluation, so a slow trial shows whether it was starved of CPU or swelled in memory.
// Sampled at evaluations only: a few syscalls per evaluation, nothing per step.
import { SYSTEM_PREFIX } from '../results/mlflow-contract.js';

export interface ProcessProbe {
  /** Milliseconds, monotonic. */
  now(): number;
  /** User + system CPU time of the whole process (every thread), microseconds. */
  cpuMicros(): number;
  rssBytes(): number;
}

export const processProbe: ProcessProbe = {
  now: () => performance.now(),
  cpuMicros: () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  },
  rssBytes: () => process.memoryUsage.rss(),
};

export class SystemSampler {
  private at: { ms: number; cpu: number };
  /** Where the current rate is counted from: the last sample, or the first step seen (a resume starts mid-run). */
  private from: { ms: number; step: number } | null = null;

  constructor(private readonly probe: ProcessProbe = processProbe) {
    this.at = { ms: probe.now(), cpu: probe.cpuMicros() };
  }

  /** The trainer reached `step` (called at every train report; cheap). */
  mark(step: number): void {
    this.from ??= { ms: this.probe.now(), step };
  }

  /**
   * The interval since the last sample (or the start): CPU as a percentage of one core
   * (TensorFlow's threads can take it past 100), resident memory, and steps per second
   * when the interval had steps to count.
   */
  sample(step: number): Record<string, number> {
    const ms = this.probe.now();
    const cpu = this.probe.cpuMicros();
    const wallMs = ms - this.at.ms;
    const out: Record<string, number> = { [`${SYSTEM_PREFIX}process_rss_megabytes`]: this.probe.rssBytes() / 2 ** 20 };
    if (wallMs > 0) out[`${SYSTEM_PREFIX}process_cpu_percent`] = ((cpu - this.at.cpu) / 1000 / wallMs) * 100;
    if (this.from && step > this.from.step && ms > this.from.ms) {
      out[`${SYSTEM_PREFIX}steps_per_second`] = (step - this.from.step) / ((ms - this.from.ms) / 1000);
    }
    this.at = { ms, cpu };
    this.from = { ms, step };
    return out;
  }
}

/**
 * An evaluation's timing (ml/run-trial.ts, MetricsReport.timing: training since the last
 * evaluation, the evaluation, each of its parts) as system/time_<part>_seconds, so where a
 * trial's time goes is in MLflow beside what its process cost.
 */
export function timingMetrics(timing: Record<string, number> | undefined): Record<string, number> {
  return Object.fromEntries(
    Object.entries(timing ?? {}).map(([part, seconds]) => [`${SYSTEM_PREFIX}time_${part}_seconds`, seconds]),
  );
}
