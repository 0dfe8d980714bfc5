// Fencing for a trial attempt that can no longer reach Temporal. Temporal retries a trial
// on another worker once the heartbeat timeout T has passed since the last heartbeat it
// accepted; a worker cut off from Temporal but not from MLflow would otherwise go on
// training and writing into the same MLflow run as that retry. An attempt holds a lease:
// each heartbeat the server accepts (sent at local time s) proves the retry cannot start
// before s + T, so the attempt may write until s + T - margin. When the lease runs out, or
// the server says the attempt is no longer current, its abort signal fires: every MLflow
// write of the attempt stops, in flight or not, and the trainer is stopped without a
// checkpoint. The timing argument is in docs/RELIABILITY.md ("Fencing a cut-off attempt").
import type { Context } from '@temporalio/activity';
import { defaultPayloadConverter } from '@temporalio/common';

/** What a renewal learned: the server took the heartbeat, or it no longer knows this attempt. */
export type Renewal = 'held' | 'superseded';

export interface AttemptLeaseOptions {
  /** The activity's heartbeat timeout T; without one the lease never runs out by itself. */
  heartbeatTimeoutMs?: number;
  /** Records one heartbeat with the server; throws when it could not be delivered. */
  renew: () => Promise<Renewal>;
  now?: () => number;
  /** Called once, when the lease is lost, with a one-line reason. */
  onLost?: (reason: string) => void;
}

export interface LeaseTimings {
  renewEveryMs: number;
  /** How long before the server's earliest retry the attempt stops writing. */
  marginMs: number;
}

/**
 * A third of T as margin covers what a write already sent may still take to land and a
 * busy event loop's late timers; renewing every sixth of T leaves three renewals in the
 * remaining window, so one slow or lost heartbeat never costs the attempt.
 */
export function leaseTimings(heartbeatTimeoutMs: number): LeaseTimings {
  return {
    renewEveryMs: Math.max(250, Math.floor(heartbeatTimeoutMs / 6)),
    marginMs: Math.floor(heartbeatTimeoutMs / 3),
  };
}

export class AttemptLease {
  private readonly controller = new AbortController();
  private readonly timings: LeaseTimings;
  private readonly now: () => number;
  private readonly heartbeatTimeoutMs: number;
  private expiresAt: number;
  private timer: NodeJS.Timeout | undefined;
  private renewing = false;

  constructor(private readonly options: AttemptLeaseOptions) {
    this.heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 0;
    this.timings = leaseTimings(this.heartbeatTimeoutMs);
    this.now = options.now ?? Date.now;
    // The server's clock for this attempt started when it handed out the task, a little
    // before now: the margin covers that delivery.
    this.expiresAt = this.now() + this.heartbeatTimeoutMs - this.timings.marginMs;
  }

  /** Fires when the attempt must stop writing; its reason says why. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get lost(): boolean {
    return this.controller.signal.aborted;
  }

  /** The reason the lease was lost, or null while it is held. */
  get reason(): string | null {
    return this.lost ? String(this.controller.signal.reason) : null;
  }

  start(): void {
    if (this.heartbeatTimeoutMs > 0) void this.tick();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Gives the lease up from outside (e.g. Temporal cancelled the attempt as timed out). */
  lose(reason: string): void {
    if (this.lost) return;
    this.stop();
    this.controller.abort(reason);
    this.options.onLost?.(reason);
  }

  private async tick(): Promise<void> {
    if (this.lost) return;
    this.timer = setTimeout(() => void this.tick(), this.timings.renewEveryMs);
    this.check();
    // A renewal that hangs must not queue more behind it; the expiry check above still runs.
    if (this.renewing) return;
    this.renewing = true;
    const sentAt = this.now();
    try {
      const renewal = await this.options.renew();
      if (renewal === 'superseded') this.lose('Temporal no longer knows this attempt (timed out or retried elsewhere)');
      else this.expiresAt = Math.max(this.expiresAt, sentAt + this.heartbeatTimeoutMs - this.timings.marginMs);
    } catch {
      // Unreachable for now: the expiry check decides when that has lasted too long.
    } finally {
      this.renewing = false;
    }
    this.check();
  }

  private check(): void {
    const now = this.now();
    if (now < this.expiresAt) return;
    const silentS = ((now - this.expiresAt + this.heartbeatTimeoutMs - this.timings.marginMs) / 1000).toFixed(1);
    this.lose(
      `no heartbeat reached Temporal for ${silentS} s of a ${this.heartbeatTimeoutMs / 1000} s heartbeat timeout: stopped before a retry could start writing`,
    );
  }
}

/** gRPC's NOT_FOUND: the server's answer to a heartbeat of an attempt that timed out or was replaced. */
const GRPC_NOT_FOUND = 5;

/**
 * The lease of the running activity, renewed by heartbeats sent straight to the server
 * (the SDK's own heartbeats are throttled and report no delivery). Without a heartbeat
 * timeout (nothing retries the attempt early) or a client (a mock environment) it only
 * ends when lost from outside.
 */
export function leaseOfActivity(
  ctx: Context,
  details: () => unknown,
  identity: string,
  onLost: (reason: string) => void,
): AttemptLease {
  const heartbeatTimeoutMs = ctx.info.heartbeatTimeoutMs;
  let client: Context['client'];
  try {
    client = ctx.client;
  } catch {
    return new AttemptLease({ renew: async () => 'held', onLost });
  }
  if (!heartbeatTimeoutMs) return new AttemptLease({ renew: async () => 'held', onLost });
  const { renewEveryMs } = leaseTimings(heartbeatTimeoutMs);
  const renew = async (): Promise<Renewal> => {
    try {
      await client.connection.withDeadline(Date.now() + 2 * renewEveryMs, () =>
        client.workflowService.recordActivityTaskHeartbeat({
          namespace: ctx.info.activityNamespace,
          taskToken: ctx.info.taskToken,
          identity,
          details: { payloads: [defaultPayloadConverter.toPayload(details())] },
        }),
      );
      return 'held';
    } catch (err) {
      if ((err as { code?: unknown }).code === GRPC_NOT_FOUND) return 'superseded';
      throw err;
    }
  };
  return new AttemptLease({ heartbeatTimeoutMs, renew, onLost });
}
