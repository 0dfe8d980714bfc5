// Keeps one worker process alive: `mirl up` runs its worker under this, so a worker that
// dies (an OOM kill, a Node crash such as 'async hook stack has become corrupted', seen
// under load during a 20,000-trial sweep) is back within seconds instead of leaving the
// sweep stalled until someone looks. Temporal retries what the dead worker held (activity
// heartbeats time out, trials resume from their checkpoints), so a restart is all it takes.
import type { ChildProcess } from 'node:child_process';

export interface SuperviseOptions {
  spawn(): ChildProcess;
  log(line: string): void;
  /** Delay before restart number `n` (1-based) of a run of quick failures. */
  backoffMs?(n: number): number;
  /** A worker that lived this long was healthy: the next failure starts the backoff over. */
  healthyAfterMs?: number;
  now?(): number;
  sleep?(ms: number): Promise<void>;
  /** Resolves when the supervisor is asked to stop (SIGTERM/SIGINT in production). */
  stopRequested: Promise<NodeJS.Signals>;
}

export const defaultBackoffMs = (n: number): number => Math.min(60_000, 1_000 * 2 ** (n - 1));

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/**
 * Runs workers one after another until asked to stop or until one exits cleanly (code 0:
 * it was told to stop by someone else). Resolves with the exit code to leave with.
 */
export async function supervise(o: SuperviseOptions): Promise<number> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms)));
  const backoff = o.backoffMs ?? defaultBackoffMs;
  const healthyAfter = o.healthyAfterMs ?? 300_000;
  let stopSignal: NodeJS.Signals | null = null;
  const stopped = o.stopRequested.then((s) => (stopSignal = s));
  let quickFailures = 0;
  for (;;) {
    const child = o.spawn();
    const startedAt = now();
    const end = await Promise.race([exited(child), stopped.then(() => null)]);
    if (end === null) {
      // Asked to stop: the worker gets the same signal and its own grace to finish.
      child.kill(stopSignal ?? 'SIGTERM');
      const last = await exited(child);
      return last.code ?? 0;
    }
    if (end.code === 0) return 0;
    quickFailures = now() - startedAt >= healthyAfter ? 1 : quickFailures + 1;
    const wait = backoff(quickFailures);
    o.log(
      `mirl worker supervisor: worker ${child.pid} exited (${end.signal ?? `code ${end.code}`}); restarting in ${(wait / 1000).toFixed(0)} s`,
    );
    const interrupted = await Promise.race([sleep(wait).then(() => false), stopped.then(() => true)]);
    if (interrupted) return 0;
  }
}
