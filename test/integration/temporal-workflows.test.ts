// Sweep and trial workflows against a real Temporal dev server, with an in-process
// worker whose runTrial activity is a fast stand-in (no trainer): the sliding window,
// pause/resume, concurrency changes, cancel, non-retryable failures and reruns,
// continue-as-new, and the orchestration overhead per trial.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { parseSpec } from '../../sweep-spec/index.js';
import { createSweepActivities } from '../../activities/mlflow-sweep-activities.js';
import { extendSweep, launchSweep, readSweep, rerunFailed } from '../../client/sweeps.js';
import { reconcileSweep } from '../../client/sweep-liveness.js';
import { progressQuery } from '../../workflows/messages.js';
import { temporalJudge } from '../../activities/evaluation-relay.js';
import {
  SWEEP_TASK_QUEUE,
  type RunTrialActivityInput,
  type RunTrialActivityResult,
  type SweepOptions,
  type SweepProgress,
  type SweepResult,
} from '../../workflows/types.js';
import {
  startTemporalServer,
  temporalExecutable,
  waitFor,
  workflowBundleFile,
  type TemporalServer,
} from '../support/temporal-server.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HISTORIES = path.join(REPO_ROOT, 'test/fixtures/histories');

let server: TemporalServer;
let client: Client;
let worker: Worker;
let running: Promise<void>;

// The stand-in trainer: `steps` is milliseconds of work; learning_rate 5 "diverges".
let active = 0;
let peak = 0;
/** Extra random milliseconds per trial, so outcomes land at random points around boundaries. */
let jitterMs = 0;
const starts: { trialId: string; sweepId: string; at: number }[] = [];
async function fakeRunTrial(input: RunTrialActivityInput): Promise<RunTrialActivityResult> {
  const ctx = Context.current();
  const activityStartedAt = Date.now();
  starts.push({ trialId: input.trialId, sweepId: input.sweepId, at: activityStartedAt });
  active++;
  peak = Math.max(peak, active);
  try {
    if (input.config.learning_rate === 5) {
      throw ApplicationFailure.create({ message: 'loss became NaN at step 2', type: 'NonFiniteError' });
    }
    if (input.earlyStop) return await fakeEarlyStopTrial(input, activityStartedAt);
    const end = Date.now() + input.config.steps + Math.random() * jitterMs;
    while (Date.now() < end) {
      ctx.heartbeat({ step: 0, checkpointStep: null, checkpointRef: null });
      await ctx.sleep(Math.min(50, Math.max(1, end - Date.now())));
    }
    return {
      // i_est_test peaks at noise 0.3: something for a search to find.
      status: 'finished',
      step: input.config.steps,
      backend: 'fake',
      resumedFrom: null,
      train: { loss: 0 },
      eval: { i_est_test: 1 - (input.config.noise - 0.3) ** 2 },
      seconds: 0,
      msPerStep: 0,
      attempt: ctx.info.attempt,
      worker: 'in-process',
      activityStartedAt,
      trainerStartedAt: activityStartedAt,
      finishedAt: Date.now(),
    };
  } finally {
    active--;
  }
}

/**
 * A trial of a sweep with early_stop: four evaluations, each reported to the sweep through
 * the activity's real relay; i_est_test grows with the step and peaks at noise 0.3.
 */
async function fakeEarlyStopTrial(
  input: RunTrialActivityInput,
  activityStartedAt: number,
): Promise<RunTrialActivityResult> {
  const ctx = Context.current();
  const judge = temporalJudge(() => ctx.client, { deadlineMs: 30_000, firstDelayMs: 50 });
  const base = {
    backend: 'fake',
    resumedFrom: null,
    train: { loss: 0 },
    seconds: 0,
    msPerStep: 0,
    attempt: ctx.info.attempt,
    worker: 'in-process',
    activityStartedAt,
    trainerStartedAt: activityStartedAt,
  };
  for (const step of [10, 20, 30, 40]) {
    await ctx.sleep(5 + Math.random() * jitterMs);
    ctx.heartbeat({ step, checkpointStep: null, checkpointRef: null });
    const value = (1 - Math.abs(input.config.noise - 0.3)) * step + input.config.seed * 1e-3;
    const verdict = await judge.judge(input.sweepId, {
      index: input.index!,
      run: input.earlyStop!.run,
      step,
      value,
      last: step === 40,
    });
    if (verdict.stop)
      return {
        ...base,
        status: 'stopped',
        step,
        eval: { i_est_test: value },
        finishedAt: Date.now(),
        pruned: { step, reason: verdict.reason ?? '' },
      };
  }
  return {
    ...base,
    status: 'finished',
    step: 40,
    eval: { i_est_test: 1 - Math.abs(input.config.noise - 0.3) },
    finishedAt: Date.now(),
  };
}

function resetCounters(): void {
  jitterMs = 0;
  active = 0;
  peak = 0;
  starts.length = 0;
}

function specText(lines: string[]): string {
  return ['name: wf', 'study: wf-test', ...lines].join('\n');
}

async function launch(lines: string[], options: SweepOptions = {}): Promise<string> {
  const spec = parseSpec(specText(lines), 'inline.yaml');
  return launchSweep(client, spec, null, { heartbeatTimeoutMs: 5_000, retryInitialIntervalMs: 200, ...options });
}

const progress = (id: string): Promise<SweepProgress> => client.workflow.getHandle(id).query(progressQuery);
const result = (id: string): Promise<SweepResult> => client.workflow.getHandle(id).result() as Promise<SweepResult>;

before(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  server = await startTemporalServer();
  client = server.client;
  const bundle = await workflowBundleFile();
  worker = await Worker.create({
    connection: await NativeConnection.connect({ address: server.address }),
    namespace: server.namespace,
    taskQueue: SWEEP_TASK_QUEUE,
    workflowBundle: { code: await readFile(bundle, 'utf8') },
    // Tracking off: the sweep's MLflow activities answer null.
    activities: createSweepActivities(null),
  });
  const activityWorker = await Worker.create({
    connection: await NativeConnection.connect({ address: server.address }),
    namespace: server.namespace,
    taskQueue: 'mirl-cpu',
    activities: { runTrial: fakeRunTrial },
    maxHeartbeatThrottleInterval: '200ms',
    defaultHeartbeatThrottleInterval: '200ms',
  });
  // One slot on the gpu queue: whatever queues there is handed out one at a time, so the
  // order shows which queued trial a worker takes first.
  const oneSlotWorker = await Worker.create({
    connection: await NativeConnection.connect({ address: server.address }),
    namespace: server.namespace,
    taskQueue: 'mirl-gpu',
    activities: { runTrial: fakeRunTrial },
    maxConcurrentActivityTaskExecutions: 1,
    maxHeartbeatThrottleInterval: '200ms',
    defaultHeartbeatThrottleInterval: '200ms',
  });
  running = Promise.all([worker.run(), activityWorker.run(), oneSlotWorker.run()]).then(() => undefined);
  stopWorkers = async () => {
    worker.shutdown();
    activityWorker.shutdown();
    oneSlotWorker.shutdown();
    await running;
  };
});

let stopWorkers = async () => {};
after(async () => {
  await stopWorkers();
  await server?.stop();
});

test('a sliding window keeps at most max_concurrent_trials running; pause, resume and setConcurrency steer it', async () => {
  resetCounters();
  const id = await launch([
    'trial: {steps: 400}',
    'grid: {critic: [bilinear, separable, inner, concat]}',
    'seeds: 2',
    'max_concurrent_trials: 3',
  ]);
  const handle = client.workflow.getHandle(id);
  await waitFor('3 running', async () => ((await progress(id)).counts.running === 3 ? true : undefined));
  await handle.signal('pause');
  await waitFor('paused and drained', async () => {
    const p = await progress(id);
    return p.paused && p.counts.running === 0 ? p : undefined;
  });
  const done = (await progress(id)).counts.done;
  await new Promise((r) => setTimeout(r, 600));
  assert.equal((await progress(id)).counts.done, done, 'nothing starts while paused');
  await handle.signal('setConcurrency', 1);
  await handle.signal('resume');
  await waitFor('one running after resume', async () => ((await progress(id)).counts.running === 1 ? true : undefined));
  const r = await result(id);
  assert.equal(r.progress.counts.done, 8);
  assert.equal(peak, 3, 'never more than 3 at once');
  assert.equal(r.progress.maxConcurrent, 1);
  assert.deepEqual(r.progress.axes.critic.concat, {
    pending: 0,
    running: 0,
    done: 2,
    failed: 0,
    cancelled: 0,
    pruned: 0,
  });
  await saveHistory(id, 'sweep-window-pause.json');
});

test("a sweep launched with --priority 1 runs its trials before another sweep's queued ones", async () => {
  resetCounters();
  const oneSlot = ['resources: {queue: gpu}', 'max_concurrent_trials: 4'];
  const first = await launch([
    'trial: {steps: 2000}',
    'grid: {critic: [bilinear, separable, inner, concat]}',
    ...oneSlot,
  ]);
  // Its first trial holds the slot; three more wait in the queue.
  await waitFor('the first sweep holds the slot', async () => (starts.length === 1 ? true : undefined));
  await waitFor('three queued behind it', async () =>
    (await progress(first)).counts.running === 4 ? true : undefined,
  );
  const urgent = await launch(['trial: {steps: 50}', 'grid: {critic: [bilinear, separable]}', ...oneSlot], {
    priority: 1,
  });
  assert.equal((await progress(urgent)).priority, 1);
  // Both urgent trials are queued before the slot frees.
  await waitFor('the urgent trials queued', async () => {
    const queued = await Promise.all(
      (await progress(urgent)).trials.map(async (t) => {
        const d = await client.workflow.getHandle(t.trialId).describe();
        return d.raw.pendingActivities?.length === 1;
      }),
    );
    return queued.length === 2 && queued.every(Boolean) ? true : undefined;
  });
  assert.equal(starts.length, 1, 'the slot was still held');
  await Promise.all([result(first), result(urgent)]);
  const order = [...starts].sort((a, b) => a.at - b.at).map((s) => (s.sweepId === urgent ? 'urgent' : 'first'));
  // FIFO would run the first sweep's three queued trials before either urgent one.
  assert.deepEqual(order, ['first', 'urgent', 'urgent', 'first', 'first', 'first']);
  await saveHistory(urgent, 'sweep-priority.json');
});

test('a non-retryable failure fails once; the rest go on; rerun-failed with a fixed setting reruns only it', async () => {
  resetCounters();
  const id = await launch([
    'trial: {steps: 50}',
    'grid: {learning_rate: [0.0001, 5, 0.001]}',
    'seeds: 2',
    'max_concurrent_trials: 3',
  ]);
  const r = await result(id);
  assert.deepEqual(r.progress.counts, { pending: 0, running: 0, done: 4, failed: 2, cancelled: 0, pruned: 0 });
  const failed = r.progress.trials.filter((t) => t.state === 'failed');
  assert.deepEqual(
    failed.map((t) => t.index),
    [2, 3],
  );
  assert.match(failed[0].error ?? '', /NonFiniteError/);
  const failedStarts = starts.filter((s) => failed.some((t) => t.trialId === s.trialId));
  assert.equal(failedStarts.length, 2, 'each failing trial ran exactly once (not retried)');
  // The sweep has closed: rerun-failed starts a new run carrying its state.
  starts.length = 0;
  const out = await rerunFailed(client, id, { overrides: { learning_rate: 0.0002 } });
  assert.deepEqual(out, { restarted: true, requeued: [2, 3], count: 2 });
  const r2 = await result(id);
  assert.deepEqual(r2.progress.counts, { pending: 0, running: 0, done: 6, failed: 0, cancelled: 0, pruned: 0 });
  assert.deepEqual(
    starts.map((s) => s.trialId).sort(),
    failed.map((t) => t.trialId).sort(),
    'only the failed trials ran again',
  );
  assert.equal(r2.progress.trials[2].runs, 2);
  assert.equal(r2.progress.trials[0].runs, 1);
});

test('rerun-failed on a running sweep requeues by signal', async () => {
  resetCounters();
  const id = await launch(['trial: {steps: 1500}', 'grid: {learning_rate: [5, 0.001]}', 'max_concurrent_trials: 1']);
  await waitFor('first trial failed', async () => ((await progress(id)).counts.failed === 1 ? true : undefined));
  const out = await rerunFailed(client, id, { overrides: { learning_rate: 0.0003, steps: 10 } });
  assert.deepEqual(out, { restarted: false, requeued: [0], count: 1 });
  const r = await result(id);
  assert.equal(r.progress.counts.done, 2);
  assert.equal(r.progress.trials[0].step, 10, 'the rerun used the overridden steps');
});

test('cancel stops running trials and never starts pending ones', async () => {
  resetCounters();
  const id = await launch([
    'trial: {steps: 30000}',
    'grid: {critic: [bilinear, separable, inner, concat]}',
    'max_concurrent_trials: 2',
  ]);
  await waitFor('2 running', async () => ((await progress(id)).counts.running === 2 ? true : undefined));
  const t0 = Date.now();
  await client.workflow.getHandle(id).signal('cancel');
  const r = await result(id);
  assert.deepEqual(r.progress.counts, { pending: 0, running: 0, done: 0, failed: 0, cancelled: 4, pruned: 0 });
  assert.ok(Date.now() - t0 < 10_000, `cancel took ${Date.now() - t0} ms`);
  assert.equal(starts.length, 2);
  // A trial reports to its sweep just before it closes; give it that moment.
  const cancelledChild = r.progress.trials.find((t) => t.runs === 1)!;
  await waitFor(
    'the running child closed as cancelled',
    async () =>
      (await client.workflow.getHandle(cancelledChild.trialId).describe()).status.name === 'CANCELLED'
        ? true
        : undefined,
    10_000,
  );
});

test('continue-as-new carries the state; trials running across it still report', async () => {
  resetCounters();
  const id = await launch(
    [
      'trial: {steps: 300}',
      'grid: {critic: [bilinear, separable, inner, concat]}',
      'seeds: 2',
      'max_concurrent_trials: 2',
    ],
    {
      continueAsNewAfterStarts: 3,
    },
  );
  const r = await result(id);
  assert.equal(r.progress.counts.done, 8);
  assert.ok(r.carry.generation >= 2, `generation ${r.carry.generation}`);
  assert.equal(r.carry.startedTotal, 8, 'no trial started twice');
  assert.equal(starts.length, 8);
  const runs: string[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = '${id}'` })) runs.push(w.status.name);
  assert.ok(runs.filter((s) => s === 'CONTINUED_AS_NEW').length >= 2, runs.join(','));
  await saveHistory(id, 'sweep-continue-as-new-last-run.json');
});

test('continue-as-new every few starts loses nothing: 300 trials with random timings, each counted exactly once', async () => {
  resetCounters();
  jitterMs = 40;
  const rates = Array.from({ length: 30 }, (_, i) => (i + 1) / 10_000);
  const id = await launch(
    ['trial: {steps: 1}', `grid: {learning_rate: [${rates.join(', ')}]}`, 'seeds: 10', 'max_concurrent_trials: 24'],
    {
      continueAsNewAfterStarts: 7,
    },
  );
  const r = await result(id);
  assert.deepEqual(r.progress.counts, { pending: 0, running: 0, done: 300, failed: 0, cancelled: 0, pruned: 0 });
  assert.equal(r.carry.startedTotal, 300, 'no trial started twice');
  assert.equal(new Set(starts.map((s) => s.trialId)).size, 300);
  assert.equal(starts.length, 300, 'no activity ran twice');
  // Visibility lags the result a little: wait until it lists the last run as closed.
  const runs = await waitFor('every run listed closed', async () => {
    const listed: { runId: string; status: string }[] = [];
    for await (const w of client.workflow.list({ query: `WorkflowId = '${id}'` }))
      listed.push({ runId: w.runId, status: w.status.name });
    return listed.some((w) => w.status === 'RUNNING') ? undefined : listed;
  });
  // A run starts what the window has room for, then continues as new once it has started 7 or more.
  assert.ok(runs.length >= 10, `${runs.length} runs`);
  assert.deepEqual(
    new Set(runs.map((w) => w.status)),
    new Set(['CONTINUED_AS_NEW', 'COMPLETED']),
    'every boundary is a continue-as-new, none a failure',
  );
  assert.ok(JSON.stringify(r).length < 200_000, `the result is ${JSON.stringify(r).length} bytes`);
  // Each run's history replays against the current code: the boundaries are deterministic.
  await replayRuns(
    id,
    runs.map((w) => w.runId),
  );
  await saveHistory(id, 'sweep-continue-as-new-compact-last-run.json');
});

test('a TPE search suggests its points inside the sweep, across continue-as-new, each point once', async () => {
  resetCounters();
  jitterMs = 40;
  const id = await launch(
    [
      'trial: {steps: 20}',
      'search:',
      '  method: tpe',
      '  budget: 16',
      '  startup: 4',
      '  objective: {metric: i_est_test, mode: max}',
      '  params:',
      '    noise: {distribution: uniform, low: 0, high: 1}',
      'max_concurrent_trials: 3',
    ],
    { continueAsNewAfterStarts: 5 },
  );
  const r = await result(id);
  assert.deepEqual(r.progress.counts, { pending: 0, running: 0, done: 16, failed: 0, cancelled: 0, pruned: 0 });
  assert.equal(r.carry.startedTotal, 16, 'no trial started twice');
  assert.equal(new Set(starts.map((s) => s.trialId)).size, 16, 'sixteen distinct configurations');
  assert.equal(
    Object.keys(r.carry.search?.points ?? {}).length,
    12,
    'the points after the quasi-random start came from the model',
  );
  assert.equal(Object.keys(r.carry.search?.objectives ?? {}).length, 16);
  assert.ok(r.carry.generation >= 2, `generation ${r.carry.generation}`);
  await saveHistory(id, 'sweep-search-tpe-last-run.json');
});

test('early_stop: ASHA prunes through the update across continue-as-new; the best configuration always finishes; histories replay', async () => {
  resetCounters();
  jitterMs = 30;
  const id = await launch(
    [
      'trial: {steps: 40, eval_interval: 10, evaluations: [i_est_test]}',
      'grid: {noise: [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]}',
      'seeds: 3',
      'max_concurrent_trials: 4',
      'early_stop: {method: asha, metric: i_est_test, mode: max, grace_period: 10, reduction_factor: 3}',
    ],
    { continueAsNewAfterStarts: 5 },
  );
  const r = await result(id);
  const c = r.progress.counts;
  assert.equal(c.done + c.pruned, 30, JSON.stringify(c));
  assert.ok(c.pruned >= 10, `${c.pruned} pruned`);
  assert.equal(r.carry.startedTotal, 30, 'no trial started twice');
  assert.equal(starts.length, 30, 'no activity ran twice');
  const best = r.progress.trials.filter((t) => t.axes.noise === 0.3);
  assert.deepEqual(
    best.map((t) => t.state),
    ['done', 'done', 'done'],
    'nothing beats the best configuration at any rung',
  );
  const pruned = r.progress.trials.filter((t) => t.state === 'pruned');
  assert.ok(
    pruned.every((t) => /^asha: i_est_test /.test(t.error ?? '')),
    pruned.map((t) => t.error).join('\n'),
  );
  assert.deepEqual(
    Object.keys(r.carry.earlyStop?.pruned ?? {})
      .map(Number)
      .sort((a, b) => a - b),
    pruned.map((t) => t.index),
  );
  assert.ok(r.carry.generation >= 3, `generation ${r.carry.generation}`);
  const runs: string[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = '${id}'` })) runs.push(w.runId);
  await replayRuns(id, runs);
  await saveHistory(id, 'sweep-early-stop-last-run.json');
});

test('sweep extend: more seeds while it runs, a new axis value once it has finished; no trial runs twice; histories replay', async () => {
  resetCounters();
  const id = await launch([
    'trial: {steps: 300}',
    'grid: {critic: [bilinear, separable]}',
    'seeds: 2',
    'max_concurrent_trials: 2',
  ]);
  assert.deepEqual(await extendSweep(client, id, { seeds: 3 }), { restarted: false, total: 6, added: 2 });
  await assert.rejects(extendSweep(client, id, { seeds: 3 }), /--seeds: the sweep has 3 seeds per configuration/);
  const first = await result(id);
  assert.deepEqual(first.progress.counts, { pending: 0, running: 0, done: 6, failed: 0, cancelled: 0, pruned: 0 });
  assert.equal(first.carry.extensions?.length, 1);
  await assert.rejects(
    extendSweep(client, id, { axes: { steps: [5] } }),
    /"steps" is fixed for every trial, not an axis/,
  );
  assert.deepEqual(await extendSweep(client, id, { axes: { critic: ['concat'] } }), {
    restarted: true,
    total: 9,
    added: 3,
  });
  const second = await result(id);
  assert.deepEqual(second.progress.counts, { pending: 0, running: 0, done: 9, failed: 0, cancelled: 0, pruned: 0 });
  assert.equal(starts.length, 9, 'no activity ran twice');
  assert.equal(new Set(starts.map((s) => s.trialId)).size, 9);
  assert.deepEqual(
    second.progress.trials.slice(6).map((t) => t.runName),
    ['concat|seed=0', 'concat|seed=1', 'concat|seed=2'],
  );
  assert.deepEqual(second.progress.axes.critic.concat.done, 3);
  const runs: string[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = '${id}'` })) runs.push(w.runId);
  await replayRuns(id, runs);
  // The first run: it took the extension as an update while it ran.
  await saveHistory(id, 'sweep-extend-first-run.json', runs[runs.length - 1]);
});

test('a trial that closes without reaching its sweep shows as closed in status, and reconcile tells the sweep', async () => {
  resetCounters();
  // Continue-as-new after each start: the run that started the children (and would see them close) is gone.
  const id = await launch(
    ['trial: {steps: 30000}', 'grid: {critic: [bilinear, separable, inner]}', 'max_concurrent_trials: 2'],
    { continueAsNewAfterStarts: 1 },
  );
  const running = await waitFor('2 running after a boundary', async () => {
    const p = await progress(id);
    return p.counts.running === 2 && p.generation >= 1 ? p : undefined;
  });
  const victim = running.trials.find((t) => t.state === 'running')!;
  await client.workflow.getHandle(victim.trialId).terminate('lost without a report');
  const snap = await readSweep(client, id, true, { states: ['running'] });
  const shown = snap.progress.trials.find((t) => t.index === victim.index);
  assert.equal(shown?.state, 'running', 'the sweep has not heard');
  assert.equal(shown?.liveness?.closed, 'TERMINATED');
  const live = snap.progress.trials.find((t) => t.index !== victim.index)!;
  assert.equal(live.liveness?.closed, undefined);
  assert.equal(live.liveness?.stale, false, JSON.stringify(live.liveness));
  const sent = await reconcileSweep(client, id);
  assert.deepEqual(
    sent.map((o) => [o.index, o.state]),
    [[victim.index, 'failed']],
  );
  assert.deepEqual(await reconcileSweep(client, id), [], 'nothing left to tell');
  await waitFor('the sweep recorded it', async () =>
    (await progress(id)).trials[victim.index].state === 'failed' ? true : undefined,
  );
  await client.workflow.getHandle(id).signal('cancel');
  const r = await result(id);
  assert.equal(r.progress.counts.failed, 1);
  assert.match(r.progress.trials[victim.index].error ?? '', /TrialClosed/);
});

test('a 100,000-trial sweep starts at once, answers progress in pages and cancels whole', async () => {
  resetCounters();
  const rates = Array.from({ length: 100 }, (_, i) => (i + 1) / 100_000);
  const t0 = Date.now();
  const id = await launch([
    'trial: {steps: 30000}',
    `grid: {learning_rate: [${rates.join(', ')}]}`,
    'seeds: 1000',
    'max_concurrent_trials: 4',
  ]);
  const p = await waitFor(
    '4 running',
    async () => {
      const q = await progress(id);
      return q.counts.running === 4 ? q : undefined;
    },
    60_000,
  );
  process.stderr.write(`100,000 trials: 4 running ${Date.now() - t0} ms after launch\n`);
  assert.equal(p.total, 100_000);
  assert.equal(p.counts.pending, 99_996);
  assert.equal(p.trials.length, 1000, 'a page, not the whole sweep');
  assert.ok(JSON.stringify(p).length < 1024 * 1024, `reply of ${JSON.stringify(p).length} bytes`);
  assert.equal(Object.keys(p.axes.seed).length, 1000);
  const late = await client.workflow.getHandle(id).query(progressQuery, { offset: 99_990 });
  assert.deepEqual(
    late.trials.map((t) => t.index),
    [99_990, 99_991, 99_992, 99_993, 99_994, 99_995, 99_996, 99_997, 99_998, 99_999],
  );
  await client.workflow.getHandle(id).signal('cancel');
  const r = await result(id);
  assert.deepEqual(r.progress.counts, { pending: 0, running: 0, done: 0, failed: 0, cancelled: 100_000, pruned: 0 });
  assert.ok(JSON.stringify(r).length < 512 * 1024, `result of ${JSON.stringify(r).length} bytes`);
  const closed = await readSweep(client, id, false, { offset: 50_000, limit: 2 });
  assert.deepEqual(
    closed.progress.trials.map((t) => [t.index, t.state]),
    [
      [50_000, 'cancelled'],
      [50_001, 'cancelled'],
    ],
    'a page of a closed sweep, rebuilt from its carry',
  );
});

test('orchestration overhead per trial (20 trials of no work)', async () => {
  resetCounters();
  const t0 = Date.now();
  const id = await launch([
    'trial: {steps: 1}',
    'grid: {learning_rate: [0.0001, 0.0002, 0.0003, 0.0004, 0.0005, 0.0006, 0.0007, 0.0008, 0.0009, 0.001]}',
    'seeds: 2',
    'max_concurrent_trials: 4',
  ]);
  const r = await result(id);
  const total = Date.now() - t0;
  assert.equal(r.progress.counts.done, 20);
  const firstStart = Math.min(...starts.map((s) => s.at)) - t0;
  // Trial end -> sweep bookkeeping: activity finished -> the sweep recorded the outcome.
  const byId = new Map(starts.map((s) => [s.trialId, s.at]));
  const endToRecorded = r.progress.trials.map((t) => (t.recordedAt ?? 0) - (byId.get(t.trialId) ?? 0));
  const startToActivity = r.progress.trials.map((t) => (byId.get(t.trialId) ?? 0) - (t.startedAt ?? 0));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const report = {
    trials: 20,
    window: 4,
    totalMs: total,
    launchToFirstActivityMs: firstStart,
    medianChildStartToActivityMs: median(startToActivity),
    medianActivityToRecordedMs: median(endToRecorded),
    perTrialMs: Math.round((total * 4) / 20),
  };
  process.stderr.write(`orchestration overhead: ${JSON.stringify(report)}\n`);
  assert.ok(total < 30_000);
});

test('a malformed spec is rejected before anything starts', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mirl-bad-spec-'));
  const file = path.join(dir, 'bad.yaml');
  await writeFile(file, specText(['trial: {steps: 4, critic: quadratic}']));
  const before = await countSweeps();
  const run = spawnSync(process.execPath, ['bin/mirl.js', 'sweep', 'launch', file], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...server.env },
    encoding: 'utf8',
  });
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stderr, /critic/);
  assert.equal(await countSweeps(), before);
  const unknown = spawnSync(process.execPath, ['bin/mirl.js', 'sweep', 'status', 'no-such-sweep'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...server.env },
    encoding: 'utf8',
  });
  assert.equal(unknown.status, 2);
  assert.equal(unknown.stderr.trim().split('\n').length, 1, unknown.stderr);
  assert.match(unknown.stderr, /no sweep with id no-such-sweep/);
});

test('a status snapshot and a sweep list come back through the CLI helpers', async () => {
  const id = await launch(['trial: {steps: 10}', 'seeds: 2']);
  await result(id);
  const snap = await readSweep(client, id);
  assert.equal(snap.status, 'COMPLETED');
  assert.equal(snap.progress.counts.done, 2);
  // What the Temporal UI lists: the sweep's name, study and size; each trial's configuration.
  const sweep = await client.workflow.getHandle(id).describe();
  assert.equal(await sweep.staticSummary(), 'wf (wf-test): 2 trials');
  assert.match(
    (await sweep.staticDetails()) ?? '',
    /2 trials, at most \d+ at once on `mirl-cpu`\nspec digest `[0-9a-f]{12}`/,
  );
  const trial = await client.workflow.getHandle(snap.progress.trials[1].trialId).describe();
  assert.equal(await trial.staticSummary(), `${snap.progress.trials[1].runName} (trial 1)`);
  assert.match((await trial.staticDetails()) ?? '', /\*\*varied\*\*\nseed: `1`\n\n\*\*fixed\*\*\n.*steps: `10`/s);
});

async function countSweeps(): Promise<number> {
  const { count } = await client.workflow.count(`WorkflowType = 'sweepWorkflow'`);
  return count;
}

/** Each run's history replays against the current code: what the sweep decided is deterministic. */
async function replayRuns(workflowId: string, runIds: string[]): Promise<void> {
  const histories = await Promise.all(
    runIds.map(async (runId) => ({
      workflowId,
      history: await client.workflow.getHandle(workflowId, runId).fetchHistory(),
    })),
  );
  for await (const replay of Worker.runReplayHistories(
    { workflowBundle: { code: await readFile(await workflowBundleFile(), 'utf8') } },
    histories,
  )) {
    assert.equal(replay.error, undefined, `run ${replay.runId}: ${String(replay.error)}`);
  }
}

async function saveHistory(workflowId: string, name: string, runId?: string): Promise<void> {
  if (process.env.MIRL_RECORD_HISTORIES !== '1') return;
  // The CLI's JSON is the format Worker.runReplayHistory reads (historyFromJSON).
  const show = spawnSync(
    temporalExecutable(),
    [
      'workflow',
      'show',
      '--address',
      server.address,
      '--namespace',
      server.namespace,
      '-w',
      workflowId,
      ...(runId ? ['-r', runId] : []),
      '--output',
      'json',
    ],
    {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  assert.equal(show.status, 0, show.stderr);
  await mkdir(HISTORIES, { recursive: true });
  await writeFile(path.join(HISTORIES, name), show.stdout);
}
