// What the multi-host scenarios share: launching a sweep from the client host, and
// reading which host ran a trial.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Run } from '../../tracking/index.js';
import { heartbeatOf, HEARTBEAT_TIMEOUT_S, snapshot, TINY, waitFor } from '../faults/harness.js';
import type { Cluster } from './cluster.js';

export const show = (r: { status: number | null; stdout: string; stderr: string }) =>
  `exit ${r.status}\n${r.stdout}\n${r.stderr}`;

/** Writes a spec where the client host can read it and launches it there with `mirl sweep launch`. */
export async function launchFromClient(
  cluster: Cluster,
  name: string,
  lines: string[],
  ...flags: string[]
): Promise<string> {
  const dir = path.join(cluster.dir, 'client', 'specs');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.yaml`);
  await writeFile(file, [`name: ${name}`, 'study: hosts-test', ...lines, ''].join('\n'));
  const r = cluster.client([
    'sweep',
    'launch',
    file,
    '--json',
    '--heartbeat-timeout',
    String(HEARTBEAT_TIMEOUT_S),
    ...flags,
  ]);
  assert.equal(r.status, 0, show(r));
  return JSON.parse(r.stdout).sweepId as string;
}

/** The host in a trial run's mirl.worker tag (mirl-worker@<host>:<pid>). */
export function hostOf(run: Run): string {
  const worker = run.data.tags['mirl.worker'] ?? '';
  const host = /^mirl-worker@([^:]+):\d+/.exec(worker)?.[1];
  assert.ok(host, `${run.info.runName}: mirl.worker tag '${worker}'`);
  return host;
}

/** The trial block of every scenario: TINY trials, loss logged at every step, an evaluation every `evalEvery`. */
export const tinyTrial = (steps: number, evalEvery: number) => [
  'trial:',
  ...TINY,
  `  steps: ${steps}`,
  '  log_interval: 1',
  `  eval_interval: ${evalEvery}`,
];

export const countsDone = (n: number) => ({ pending: 0, running: 0, done: n, failed: 0, cancelled: 0, pruned: 0 });

/** Waits until `count` running trials of the sweep have heartbeated a step of at least `step`. */
export function untilRunningPast(cluster: Cluster, sweepId: string, count: number, step: number): Promise<true> {
  return waitFor(
    `${count} trials past step ${step}`,
    async () => {
      const { progress } = await snapshot(cluster.stack, sweepId);
      const steps = await Promise.all(
        progress.trials
          .filter((t) => t.state === 'running')
          .map(async (t) => (await heartbeatOf(cluster.stack, t.trialId))?.beat.step ?? 0),
      );
      return steps.filter((s) => s >= step).length >= count ? true : undefined;
    },
    240_000,
    300,
  );
}
