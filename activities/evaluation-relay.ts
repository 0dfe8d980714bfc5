// Early stopping from the trial's side: after each evaluation the activity reports the
// early_stop metric to its sweep (the reportEvaluation update) and hears whether to go
// on. Reports go one at a time and in step order; the trainer keeps training meanwhile,
// so a verdict costs it no time, and a "stop" arrives within the same evaluation interval.
import type { Client } from '@temporalio/client';
import { totalSteps } from '../ml/metric-names.js';
import type { TrialConfig } from '../ml/config.js';
import { reportEvaluationUpdate } from '../workflows/messages.js';
import type { EarlyStopProbe, EvaluationReport, EvaluationVerdict } from '../workflows/types.js';

/** The sweep's judgement of one report. */
export interface EvaluationJudge {
  judge(sweepId: string, report: EvaluationReport, signal?: AbortSignal): Promise<EvaluationVerdict>;
}

export interface JudgeRetry {
  /** Give up (and go on training) after this long without an answer. */
  deadlineMs: number;
  firstDelayMs: number;
}

// An update cannot land while the sweep is between runs (continue-as-new) or while
// Temporal restarts: it is sent again until the deadline.
const DEFAULT_RETRY: JudgeRetry = { deadlineMs: 60_000, firstDelayMs: 250 };

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/** The judge behind a worker: an update on the sweep's workflow (whichever run is current). */
export function temporalJudge(
  client: () => Client,
  retry: JudgeRetry = DEFAULT_RETRY,
  warn: (line: string) => void = () => {},
): EvaluationJudge {
  return {
    async judge(sweepId, report, signal) {
      const deadline = Date.now() + retry.deadlineMs;
      for (let delay = retry.firstDelayMs; ; delay = Math.min(delay * 2, 5_000)) {
        try {
          return await client()
            .workflow.getHandle(sweepId)
            .executeUpdate(reportEvaluationUpdate, { args: [report] });
        } catch (err) {
          if (signal?.aborted || Date.now() + delay > deadline) {
            // Never stop a trial because the sweep could not be asked: it trains on.
            warn(
              `early stopping: no verdict for trial ${report.index} at step ${report.step} (${String(err)}); it goes on`,
            );
            return { stop: false };
          }
          await sleep(delay, signal);
        }
      }
    },
  };
}

/** One attempt's reports, chained in order; `onStop` fires once, with the first stop verdict. */
export class EvaluationRelay {
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly lastStep: number;

  constructor(
    private readonly judge: EvaluationJudge,
    private readonly sweepId: string,
    private readonly index: number,
    private readonly probe: EarlyStopProbe,
    config: TrialConfig,
    private readonly onStop: (step: number, reason: string) => void,
    private readonly signal?: AbortSignal,
  ) {
    this.lastStep = totalSteps(config);
  }

  /** An evaluation's metrics: reported when they hold the probe's metric. */
  evaluated(step: number, metrics: Record<string, number>): void {
    const value = metrics[this.probe.metric];
    if (this.stopped || typeof value !== 'number' || !Number.isFinite(value)) return;
    const report: EvaluationReport = {
      index: this.index,
      run: this.probe.run,
      step,
      value,
      last: step >= this.lastStep,
    };
    this.chain = this.chain.then(async () => {
      if (this.stopped || this.signal?.aborted) return;
      // A judge that throws (not the Temporal one, which answers "go on") must not break the chain.
      const verdict = await this.judge
        .judge(this.sweepId, report, this.signal)
        .catch((): EvaluationVerdict => ({ stop: false }));
      if (verdict.stop && !this.stopped) {
        this.stopped = true;
        this.onStop(step, verdict.reason ?? 'stopped by the sweep');
      }
    });
  }

  /** Waits for the reports in flight (a finished trial's last report must reach the sweep before its outcome). */
  drained(): Promise<void> {
    return this.chain;
  }
}
