// Where a trial's metrics go while it runs. The activity writes to this seam only; the
// MLflow tracking client becomes one implementation (a run per trial, batched metrics).
import type { RunTrialActivityInput, RunTrialActivityResult } from '../workflows/types.js';

export interface TrialMetricsWriter {
  train(step: number, metrics: Record<string, number>): void;
  eval(step: number, metrics: Record<string, number>): void;
  /** Called once at the end of an attempt; flushes anything buffered. */
  close(outcome: { status: 'finished' | 'stopped' | 'failed'; result?: RunTrialActivityResult; error?: string }): Promise<void>;
}

export interface MetricsSink {
  /** Opens (or reopens, on a retry) the trial's record. Must be idempotent per trialId. */
  open(trial: RunTrialActivityInput, attempt: number): Promise<TrialMetricsWriter>;
}

/** Metrics stay in the heartbeat and the result only. */
export const nullMetricsSink: MetricsSink = {
  async open() {
    return { train() {}, eval() {}, async close() {} };
  },
};
