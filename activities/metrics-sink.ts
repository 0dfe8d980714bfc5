// Where a trial's metrics go while it runs. The activity writes to this seam only; the
// MLflow tracking (activities/mlflow-tracking.ts) is one implementation: a run per
// trial, batched metrics.
import type { RunTrialActivityInput, RunTrialActivityResult, TrackingOverhead } from '../workflows/types.js';

export interface TrialMetricsWriter {
  train(step: number, metrics: Record<string, number>): void;
  eval(step: number, metrics: Record<string, number>): void;
  /** The trainer process's own cost at an evaluation (activities/system-metrics.ts); optional for sinks that keep only the science. */
  system?(step: number, metrics: Record<string, number>): void;
  /**
   * Sends everything buffered so far. The activity calls it before storing a checkpoint,
   * so a resume from that checkpoint never leaves a gap in the recorded metrics.
   */
  flush?(): Promise<void>;
  /**
   * Called once at the end of an attempt; flushes anything buffered. `willRetry`: the
   * attempt ended retryably and Temporal will run another one (the record stays open).
   */
  close(outcome: {
    /** pruned: stopped early by the sweep's early_stop rule, `error` says why. */
    status: 'finished' | 'stopped' | 'pruned' | 'failed';
    result?: RunTrialActivityResult;
    error?: string;
    willRetry?: boolean;
  }): Promise<void>;
  /**
   * Records that this attempt passed over damaged checkpoints (ml/checkpoint.ts checksum)
   * and where it starts instead, so a reader of the record sees why steps were redone.
   */
  noteCheckpointFallback?(description: string): Promise<void>;
  /** Records the checkpoint step this attempt resumes from, so a reader sees where the curve was continued. */
  noteResume?(step: number): Promise<void>;
  /** Time spent on tracking so far (reported in the activity's result). */
  overhead?(): TrackingOverhead;
}

/** Who runs this attempt, for the record. */
export interface TrialAttemptContext {
  workflowId: string;
  workflowRunId: string;
  worker: string;
  /** Fires when this attempt may no longer write (activities/attempt-lease.ts): writes stop, sent or not. */
  signal?: AbortSignal;
}

export interface MetricsSink {
  /** Opens (or reopens, on a retry) the trial's record. Must be idempotent per trialId. */
  open(trial: RunTrialActivityInput, attempt: number, context?: TrialAttemptContext): Promise<TrialMetricsWriter>;
}

/** Metrics stay in the heartbeat and the result only. */
export const nullMetricsSink: MetricsSink = {
  async open() {
    return { train() {}, eval() {}, async close() {} };
  },
};
