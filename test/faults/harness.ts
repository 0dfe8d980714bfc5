// The local stack the fault tests break (test/support/stack.ts: a real Temporal dev
// server, a real MLflow server and `mirl worker` processes), plus the reads each test
// asserts its end state with (heartbeats from Temporal, metric histories from MLflow).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Run } from '../../tracking/index.js';
import type { TrialHeartbeat, TrialOutcome } from '../../workflows/types.js';
import { sleep } from '../support/processes.js';
import { mirl, runsOf, startStack as startLocalStack, type Stack } from '../support/stack.js';
import { waitFor } from '../support/temporal-server.js';

export { mirl, runsOf, snapshot, untilClosed } from '../support/stack.js';

/** Small trials: an MLP on MNIST at batch 16, a few hundred steps, seconds each on wasm. */
export const TINY = ['  encoder: mlp', '  batch_size: 16', '  i_est_test_batches: 2', '  evaluations: [i_est_test]'];

export type FaultStack = Stack;

/** The stack of a fault test, its temp dir named after the fault. */
export const startStack = (name: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<FaultStack> =>
  startLocalStack(`fault-${name}`, { env: extraEnv });

/** The workers most scenarios run: two `mirl worker` processes polling the stack. */
export const twoWorkers = (stack: FaultStack) =>
  Promise.all([stack.pool.start('worker-a'), stack.pool.start('worker-b')]);

/**
 * How soon a dead worker's trial moves on (s). Short, yet long enough that a live worker
 * on a loaded 2-core machine does not miss it (4 s did: trials timed out, were cancelled
 * and ran out of attempts while their workers were busy, not dead).
 */
export const HEARTBEAT_TIMEOUT_S = 12;

/** Writes a spec and launches it with `mirl sweep launch`. */
export async function launch(stack: FaultStack, name: string, lines: string[], ...flags: string[]): Promise<string> {
  const file = path.join(stack.dir, `${name}.yaml`);
  await writeFile(file, [`name: ${name}`, 'study: fault-test', ...lines, ''].join('\n'));
  const r = mirl(stack, [
    'sweep',
    'launch',
    file,
    '--json',
    '--heartbeat-timeout',
    String(HEARTBEAT_TIMEOUT_S),
    ...flags,
  ]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout).sweepId as string;
}

export const outcomeOf = (stack: FaultStack, trialId: string) =>
  stack.temporal.client.workflow.getHandle(trialId).result() as Promise<TrialOutcome>;

/** The running trial's last heartbeat and the pid of the worker that sent it. */
export async function heartbeatOf(
  stack: FaultStack,
  trialId: string,
): Promise<{ pid: number; beat: TrialHeartbeat } | undefined> {
  const d = await stack.temporal.client.workflow.getHandle(trialId).describe();
  const pending = d.raw.pendingActivities?.[0];
  const payload = pending?.heartbeatDetails?.payloads?.[0];
  if (!pending || !payload || !pending.lastWorkerIdentity) return undefined;
  return {
    pid: Number(/:(\d+)$/.exec(pending.lastWorkerIdentity)?.[1]),
    beat: defaultPayloadConverter.fromPayload(payload) as TrialHeartbeat,
  };
}

export const range = (from: number, to: number, by = 1) =>
  Array.from({ length: Math.floor((to - from) / by) + 1 }, (_, i) => from + i * by);

/** The steps of `key` in `run`, asserting none is logged twice. */
export async function stepsOnce(stack: FaultStack, run: Run, key: string): Promise<number[]> {
  const history = await stack.mlflow.getFullMetricHistory(run.info.runId, key);
  const steps = history.map((m) => m.step).sort((a, b) => a - b);
  assert.deepEqual(steps, [...new Set(steps)], `${run.info.runName} ${key}: a step logged twice`);
  return steps;
}

/**
 * Asserts the record of a finished sweep: exactly one FINISHED run per trial, and every
 * step of `loss` (log_interval 1) and of i_est_test (every `evalEvery`) logged once.
 */
export async function assertExactlyOnce(
  stack: FaultStack,
  sweepId: string,
  name: string,
  trialIds: string[],
  steps: number,
  evalEvery: number,
): Promise<Run[]> {
  const { parent, children } = await runsOf(stack, sweepId, name);
  assert.equal(parent.info.status, 'FINISHED');
  assert.deepEqual(
    children.map((r) => r.data.tags['mirl.trial_id']).sort(),
    [...trialIds].sort(),
    'exactly one run per trial',
  );
  for (const run of children) {
    assert.equal(run.info.status, 'FINISHED', `${run.info.runName}`);
    assert.deepEqual(await stepsOnce(stack, run, 'loss'), range(1, steps), `${run.info.runName}: every loss step once`);
    assert.deepEqual(
      await stepsOnce(stack, run, 'i_est_test'),
      range(0, steps, evalEvery),
      `${run.info.runName}: every evaluation once`,
    );
  }
  return children;
}

export { alive, assertGone, childPids } from '../support/processes.js';
export { sleep, waitFor };

/** Millis of a protobuf Timestamp, or null. */
const millis = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  t?.seconds == null ? null : Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);

/**
 * Polls the server's view of a trial's activity: the last heartbeat it accepted from
 * attempt 1 (its timeout counts from there) and when a later attempt first started.
 */
export function watchAttempts(stack: FaultStack, trialId: string) {
  const seen: { lastHeartbeat: number | null; retryStarted: number | null } = {
    lastHeartbeat: null,
    retryStarted: null,
  };
  let running = true;
  const loop = (async () => {
    while (running && seen.retryStarted === null) {
      const pending = (await stack.temporal.client.workflow.getHandle(trialId).describe()).raw.pendingActivities?.[0];
      if (pending?.attempt === 1) seen.lastHeartbeat = millis(pending.lastHeartbeatTime) ?? seen.lastHeartbeat;
      // State 2 is STARTED: a retry still waiting for a worker shows its predecessor's start time.
      else if (pending && (pending.attempt ?? 0) > 1 && Number(pending.state) === 2)
        seen.retryStarted = millis(pending.lastStartedTime);
      await sleep(200);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return seen;
    },
  };
}

/** When a worker's log says it fenced its attempt (activities/attempt-lease.ts), as epoch ms, and the line. */
export function fenceIn(log: string): { at: number; line: string } | undefined {
  const line = log.split('\n').find((l) => l.includes('attempt fenced'));
  const stamp = line && /^(\S+Z) /.exec(line)?.[1];
  return stamp ? { at: Date.parse(stamp), line } : undefined;
}

/**
 * The fence came before the server could time attempt 1 out and before any retry started;
 * returns the margins for the test's diagnostics.
 */
export function assertFencedInTime(
  fence: { at: number; line: string },
  seen: { lastHeartbeat: number | null; retryStarted: number | null },
): { beforeTimeoutMs: number; retryAfterMs: number } {
  assert.ok(seen.lastHeartbeat !== null && seen.retryStarted !== null, JSON.stringify(seen));
  const serverTimeout = seen.lastHeartbeat + HEARTBEAT_TIMEOUT_S * 1000;
  assert.ok(
    fence.at < serverTimeout,
    `fenced ${serverTimeout - fence.at} ms before the server could time attempt 1 out: ${fence.line}`,
  );
  assert.ok(fence.at < seen.retryStarted, 'fenced before the retry started');
  return { beforeTimeoutMs: serverTimeout - fence.at, retryAfterMs: seen.retryStarted - fence.at };
}
