// Batches one run's metrics so a training loop can log every step without a request
// per value. A failed flush puts its metrics back in front, so an outage longer than
// the client's retries costs nothing but memory, and order is kept.
import { SERVER_LIMITS, toMetric } from './batch.js';
import type { MlflowClient } from './client.js';
import { consoleLogger, type TrackingLogger } from './logger.js';
import type { Metric } from './types.js';

export interface MetricBufferOptions {
  /** Flush once this many metrics are pending. */
  maxEntries?: number;
  /** Flush this long after the oldest unflushed metric was added. */
  flushIntervalMs?: number;
  logger?: TrackingLogger;
  now?: () => number;
}

export const DEFAULT_METRIC_BUFFER_OPTIONS = { maxEntries: 1000, flushIntervalMs: 5000 } as const;

export class MetricBuffer {
  private readonly maxEntries: number;
  private readonly flushIntervalMs: number;
  private readonly logger: TrackingLogger;
  private readonly now: () => number;
  private pending: Metric[] = [];
  private sending = 0;
  /** The last queued flush, settled either way: the next one starts after it. */
  private tail: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private backgroundQueued = false;
  private closed = false;

  constructor(
    private readonly client: Pick<MlflowClient, 'logBatch'>,
    readonly runId: string,
    options: MetricBufferOptions = {},
  ) {
    this.maxEntries = options.maxEntries ?? DEFAULT_METRIC_BUFFER_OPTIONS.maxEntries;
    this.flushIntervalMs = options.flushIntervalMs ?? DEFAULT_METRIC_BUFFER_OPTIONS.flushIntervalMs;
    this.logger = options.logger ?? consoleLogger;
    this.now = options.now ?? Date.now;
  }

  /** Metrics not yet acknowledged by the server (including those being sent). */
  get size(): number {
    return this.pending.length + this.sending;
  }

  /**
   * Queues one value. The timestamp is fixed now, so a resend after a lost response
   * is an exact duplicate, which the server ignores. Invalid keys throw here.
   */
  add(key: string, value: number, step = 0, timestamp = this.now()): void {
    if (this.closed) throw new Error(`MetricBuffer for run ${this.runId} is closed`);
    this.pending.push(toMetric({ key, value, step, timestamp }, this.now));
    this.afterAdd();
  }

  /** Queues several metrics of one step with one timestamp. */
  addAll(values: Record<string, number>, step = 0, timestamp = this.now()): void {
    if (this.closed) throw new Error(`MetricBuffer for run ${this.runId} is closed`);
    const metrics = Object.entries(values).map(([key, value]) => toMetric({ key, value, step, timestamp }, this.now));
    this.pending.push(...metrics);
    this.afterAdd();
  }

  /**
   * Sends everything added so far, after any flush already running. Rejects when the
   * client gives up; the unsent metrics stay queued for the next flush.
   */
  flush(): Promise<void> {
    this.clearTimer();
    const result = this.tail.then(() => this.sendPending());
    this.tail = result.catch(() => {});
    return result;
  }

  /** Stops the timer and flushes what is left; later adds throw. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private async sendPending(): Promise<void> {
    // Only what is pending now: producers that keep adding must not keep this flush alive.
    let remaining = this.pending.length;
    while (remaining > 0) {
      const batch = this.pending.splice(0, Math.min(remaining, SERVER_LIMITS.metricsPerBatch));
      this.sending = batch.length;
      try {
        await this.client.logBatch(this.runId, { metrics: batch });
      } catch (err) {
        this.pending.unshift(...batch);
        this.armTimer();
        throw err;
      } finally {
        this.sending = 0;
      }
      remaining -= batch.length;
    }
  }

  private afterAdd(): void {
    if (this.pending.length >= this.maxEntries) this.flushInBackground();
    else this.armTimer();
  }

  private flushInBackground(): void {
    // One queued background flush suffices: it takes whatever is pending when it runs.
    if (this.backgroundQueued) return;
    this.backgroundQueued = true;
    this.clearTimer();
    const result = this.tail.then(() => {
      this.backgroundQueued = false;
      return this.sendPending();
    });
    this.tail = result.catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      this.logger.warn(
        `metrics of run ${this.runId} kept for the next flush (${this.pending.length} pending): ${message}`,
      );
    });
  }

  /**
   * Drops what is pending and stops for good, for a writer whose run has passed to
   * someone else (a fenced trial attempt); returns how many metrics were dropped.
   */
  discard(): number {
    this.closed = true;
    this.clearTimer();
    const dropped = this.pending.length;
    this.pending = [];
    return dropped;
  }

  private armTimer(): void {
    if (this.timer || this.closed || this.pending.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushInBackground();
    }, this.flushIntervalMs);
    // A forgotten buffer must not keep a finished process alive; close() flushes.
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
