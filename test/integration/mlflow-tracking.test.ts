// Sweeps tracked in a real MLflow server, run by real `mirl worker` processes (wasm
// TensorFlow.js) on a real Temporal dev server: the experiment, the sweep's parent run
// with its params, spec and summary, one nested run per trial with its tags, params,
// every metric step exactly once and checkpoint artifacts; a diverging trial's FAILED
// run; an MLflow outage mid-trial; a worker SIGKILLed mid-trial whose trial resumes
// from the MLflow checkpoint on another worker, in the same run.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { readSweep } from '../../client/sweeps.js';
import type { MlflowClient, Run } from '../../tracking/index.js';
import type { SweepSnapshot } from '../../client/sweeps.js';
import type { TrialHeartbeat, TrialOutcome } from '../../workflows/types.js';
import type { SweepSummary } from '../../results/mlflow-contract.js';
import { readSweepRuns } from '../../results/sweep-runs.js';
import type { MlflowServer } from '../support/mlflow-server.js';
import { startStack, type Stack } from '../support/stack.js';
import type { WorkerPool } from '../support/worker-pool.js';
import { waitFor, type TemporalServer } from '../support/temporal-server.js';
import { DATA_PATH_VERSION } from '../../ml/data-path.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
let temporal: TemporalServer;
let mlflowServer: MlflowServer;
let mlflow: MlflowClient;
let client: Client;
let dir: string;
let env: NodeJS.ProcessEnv;
let pool: WorkerPool;

async function launch(name: string, lines: string[], ...flags: string[]): Promise<{ id: string; text: string }> {
  const file = path.join(dir, `${name}.yaml`);
  const text = [
    `# ${name}: a spec of the MLflow tracking test`,
    `name: ${name}`,
    'study: tracking-test',
    ...lines,
    '',
  ].join('\n');
  await writeFile(file, text);
  const r = spawnSync(
    process.execPath,
    ['bin/mirl.js', 'sweep', 'launch', file, '--json', '--heartbeat-timeout', '4', ...flags],
    { cwd: REPO_ROOT, env, encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  return { id: JSON.parse(r.stdout).sweepId as string, text };
}

/** What a sweep waits on, for failure messages. */
async function pendingOf(sweepId: string): Promise<string> {
  const d = await client.workflow.getHandle(sweepId).describe();
  return JSON.stringify(
    d.raw.pendingActivities?.map((a) => ({
      type: a.activityType?.name,
      attempt: a.attempt,
      state: a.state,
      lastFailure: a.lastFailure?.message,
    })) ?? [],
  );
}

/** The first trial's id, once its workflow exists. */
function firstTrial(sweepId: string): Promise<string> {
  return waitFor(
    'the trial to start',
    async () => {
      const { progress } = await readSweep(client, sweepId, false);
      return progress.trials[0]?.state === 'running' ? progress.trials[0].trialId : undefined;
    },
    60_000,
  ).catch(async (err) => {
    throw new Error(`${(err as Error).message}; the sweep waits on ${await pendingOf(sweepId)}`);
  });
}

const untilClosed = (id: string, timeoutMs = 150_000): Promise<SweepSnapshot> =>
  waitFor(
    `sweep ${id} to close`,
    async () => {
      const s = await readSweep(client, id, false);
      return s.status !== 'RUNNING' ? s : undefined;
    },
    timeoutMs,
    500,
  );

/** The running trial's heartbeat and worker pid, once `ready` accepts it. */
async function heartbeatOf(trialId: string): Promise<{ pid: number; beat: TrialHeartbeat } | undefined> {
  const d = await client.workflow.getHandle(trialId).describe();
  const pending = d.raw.pendingActivities?.[0];
  const payload = pending?.heartbeatDetails?.payloads?.[0];
  if (!pending || !payload || !pending.lastWorkerIdentity) return undefined;
  return {
    pid: Number(/:(\d+)$/.exec(pending.lastWorkerIdentity)?.[1]),
    beat: defaultPayloadConverter.fromPayload(payload) as TrialHeartbeat,
  };
}

async function runsOf(sweepId: string, name: string): Promise<{ parent: Run; children: Run[] }> {
  const experiment = await mlflow.getExperimentByName(name);
  assert.ok(experiment, `experiment ${name}`);
  const runs: Run[] = [];
  for await (const r of mlflow.searchAllRuns({
    experimentIds: [experiment.experimentId],
    filter: `tags.\`mirl.sweep_id\` = '${sweepId}'`,
  }))
    runs.push(r);
  const parents = runs.filter((r) => r.data.tags['mirl.role'] === 'sweep');
  assert.equal(parents.length, 1, 'one parent run per sweep');
  return { parent: parents[0], children: runs.filter((r) => r.data.tags['mirl.role'] === 'trial') };
}

/** Asserts each step of `key` is logged once and returns the steps in order. */
async function stepsOnce(run: Run, key: string): Promise<number[]> {
  const history = await mlflow.getFullMetricHistory(run.info.runId, key);
  const steps = history.map((m) => m.step).sort((a, b) => a - b);
  assert.deepEqual(steps, [...new Set(steps)], `${run.info.runName} ${key}: a step logged twice (${steps.join(',')})`);
  return steps;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

let stack: Stack | undefined;
before(async () => {
  stack = await startStack('tracking', { own: { mlflow: true } });
  ({ temporal, mlflowServer, mlflow, dir, env, pool } = stack);
  client = temporal.client;
  await Promise.all([pool.start('worker-a'), pool.start('worker-b')]);
});

after(async () => {
  await stack?.stop();
});

const TINY = ['  batch_size: 16', '  i_est_test_batches: 2'];
const STEPS = 8;

/** A run's dataset inputs as (name, context) pairs: our client does not read inputs back, the raw API does. */
async function datasetInputsOf(runId: string): Promise<[string, string | undefined][]> {
  const res = await fetch(`${mlflow.trackingUri}/api/2.0/mlflow/runs/get?run_id=${runId}`);
  const body = (await res.json()) as {
    run: { inputs?: { dataset_inputs?: { dataset: { name: string }; tags?: { key: string; value: string }[] }[] } };
  };
  return (body.run.inputs?.dataset_inputs ?? [])
    .map((i): [string, string | undefined] => [
      i.dataset.name,
      i.tags?.find((t) => t.key === 'mlflow.data.context')?.value,
    ])
    .sort();
}

test('a sweep leaves its experiment, parent run, spec, summary and one nested run per trial; a diverging trial fails its run', async () => {
  const sweep = await launch(
    'tracked',
    [
      'trial:',
      ...TINY,
      `  steps: ${STEPS}`,
      '  log_interval: 1',
      '  eval_interval: 4',
      '  evaluations: [i_est_test, linear_eval]',
      '  linear_eval_train_size: 200',
      '  linear_eval_test_size: 100',
      '  linear_eval_max_iter: 10',
      'grid:',
      '  critic: [bilinear, separable]',
      'seeds: 2',
      'max_concurrent_trials: 2',
    ],
    '--continue-as-new-after',
    '1',
  );
  const diverging = await launch('diverging', [
    'trial:',
    ...TINY,
    '  evaluations: [i_est_test]',
    '  estimator: nwj',
    '  learning_rate: 5',
    '  steps: 300',
    '  eval_interval: 100',
  ]);
  const [closed, closedDiverging] = await Promise.all([untilClosed(sweep.id), untilClosed(diverging.id)]);
  assert.deepEqual(closed.progress.counts, { pending: 0, running: 0, done: 4, failed: 0, cancelled: 0, pruned: 0 });

  const { parent, children } = await runsOf(sweep.id, 'tracked');
  assert.equal(parent.info.runName, sweep.id);
  // The sweep continued as new after every start: no boundary may mark its run failed.
  assert.ok(closed.progress.generation >= 2, `generation ${closed.progress.generation}`);
  assert.equal(parent.info.status, 'FINISHED');
  assert.equal(parent.data.tags['mirl.failure'], undefined);
  // MLflow 3 opens the experiment on its training runs, not the GenAI overview.
  assert.equal(
    (await mlflow.getExperimentByName('tracked'))?.tags['mlflow.experimentKind'],
    'custom_model_development',
  );
  assert.deepEqual(
    {
      study: parent.data.tags['mirl.study'],
      profile: parent.data.tags['mirl.profile'],
      dataPath: parent.data.tags['mirl.data_path'],
    },
    { study: 'tracking-test', profile: '', dataPath: String(DATA_PATH_VERSION) },
  );
  assert.equal(parent.data.params.steps, String(STEPS));
  assert.equal(parent.data.params.evaluations, '["i_est_test","linear_eval"]');
  assert.equal(parent.data.params.max_concurrent_trials, '2');
  assert.equal(parent.data.params.critic, undefined, 'grid axes are not sweep params');
  assert.equal(
    (await mlflow.downloadArtifact(parent.info, 'spec.yaml')).toString('utf8'),
    sweep.text,
    'the spec as launched, comments included',
  );
  const summary = JSON.parse(
    (await mlflow.downloadArtifact(parent.info, 'summary.json')).toString('utf8'),
  ) as SweepSummary;
  assert.equal(summary.status, 'FINISHED');
  assert.deepEqual(
    summary.trials.map((t) => t.state),
    ['done', 'done', 'done', 'done'],
  );
  assert.ok(
    summary.trials.every(
      (t) => typeof t.metrics.i_est_test === 'number' && typeof t.metrics.linear_eval_accuracy === 'number',
    ),
  );
  // The parent run carries the results MLflow's parallel-coordinates chart sets beside other sweeps'.
  const accuracies = summary.trials.map((t) => t.metrics.linear_eval_accuracy as number);
  const results = Object.fromEntries(parent.data.metrics.map((m) => [m.key, m.value]));
  assert.equal(results.trials_done, 4);
  assert.equal(results.trials_failed, 0);
  assert.ok(Math.abs(results.linear_eval_accuracy_mean! - accuracies.reduce((a, b) => a + b, 0) / 4) < 1e-9);
  assert.equal(results.linear_eval_accuracy_max, Math.max(...accuracies));

  assert.equal(children.length, 4, 'one run per trial');
  const commit = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).stdout.trim();
  for (const trial of closed.progress.trials) {
    const run = children.find((r) => r.data.tags['mirl.trial_id'] === trial.trialId);
    assert.ok(run, `a run for trial ${trial.index}`);
    const tags = run.data.tags;
    assert.equal(run.info.runName, trial.runName);
    assert.equal(run.info.status, 'FINISHED');
    assert.equal(summary.trials[trial.index].runId, run.info.runId);
    assert.equal(tags['mlflow.parentRunId'], parent.info.runId);
    assert.equal(tags['mirl.sweep_id'], sweep.id);
    assert.equal(tags['mirl.study'], 'tracking-test');
    assert.equal(tags['mirl.data_path'], String(DATA_PATH_VERSION));
    assert.equal(tags['mirl.index'], String(trial.index));
    assert.equal(tags['mirl.axes'], JSON.stringify(trial.axes));
    assert.equal(tags['mirl.backend'], 'wasm');
    assert.match(tags['mirl.worker'], /^mirl-worker@/);
    assert.equal(tags['mirl.temporal.workflow_id'], trial.trialId);
    assert.ok(tags['mirl.temporal.run_id']);
    if (commit) assert.equal(tags['mlflow.source.git.commit'], commit);
    assert.ok(tags['mlflow.user']);
    assert.equal(run.data.params.critic, trial.axes.critic);
    assert.equal(run.data.params.seed, String(trial.axes.seed));
    assert.equal(run.data.params.learning_rate, '0.0001');
    assert.equal(run.data.params.linear_eval_train_size, '200');
    assert.deepEqual(await stepsOnce(run, 'loss'), range(1, STEPS));
    assert.deepEqual(await stepsOnce(run, 'i_est_train'), range(1, STEPS));
    assert.deepEqual(await stepsOnce(run, 'i_est_test'), [0, 4, 8]);
    assert.deepEqual(await stepsOnce(run, 'linear_eval_accuracy'), [0, 4, 8]);
    // The trainer's own cost beside each evaluation; a rate once there were steps to count.
    assert.deepEqual(await stepsOnce(run, 'system/process_rss_megabytes'), [0, 4, 8]);
    assert.deepEqual(await stepsOnce(run, 'system/steps_per_second'), [4, 8]);
    // Where each evaluation's time went: training since the last one, the evaluation, its parts.
    for (const part of ['train', 'eval', 'i_est_test', 'encode', 'linear_eval', 'linear_eval_notebook'])
      assert.deepEqual(await stepsOnce(run, `system/time_${part}_seconds`), [0, 4, 8], part);
    assert.deepEqual(await stepsOnce(run, 'linear_eval_notebook_accuracy'), [0, 4, 8]);
    assert.deepEqual(await datasetInputsOf(run.info.runId), [
      ['mnist-test top/bottom noise 0', 'evaluation'],
      ['mnist-train top/bottom noise 0', 'training'],
    ]);
    const checkpoints = (await mlflow.listArtifacts(run.info, 'checkpoints')).map((f) => f.path);
    assert.deepEqual(checkpoints, ['checkpoints/step-0000000004.ckpt', 'checkpoints/step-0000000008.ckpt']);
  }

  // A closed sweep answers `compare` from the snapshot its run took at close, the same as a full search.
  const fromSnapshot = await readSweepRuns(mlflow, sweep.id);
  const fromSearch = await readSweepRuns(mlflow, sweep.id, { fresh: true });
  assert.equal(fromSnapshot.source, 'snapshot');
  assert.equal(fromSearch.source, 'search');
  const byTrial = (r: typeof fromSearch) => [...r.trials].sort((a, b) => a.trialId.localeCompare(b.trialId));
  assert.deepEqual(byTrial(fromSnapshot), byTrial(fromSearch));
  assert.ok(
    fromSnapshot.trials.every((t) => t.status === 'FINISHED' && typeof t.metrics.linear_eval_accuracy === 'number'),
  );

  assert.equal(closedDiverging.progress.counts.failed, 1);
  const failed = await runsOf(diverging.id, 'diverging');
  assert.equal(failed.children.length, 1);
  assert.equal(failed.children[0].info.status, 'FAILED');
  assert.match(
    failed.children[0].data.tags['mirl.failure'],
    /^NonFiniteError: \S+ became (NaN|-?Infinity) at step \d+$/,
  );
  assert.equal(failed.parent.info.status, 'FINISHED', 'the sweep itself completed');
  const failedSummary = JSON.parse(
    (await mlflow.downloadArtifact(failed.parent.info, 'summary.json')).toString('utf8'),
  ) as SweepSummary;
  assert.equal(failedSummary.trials[0].state, 'failed');

  // Other settings compute something else: the rerun gets a run of its own, the old one is marked superseded.
  const rerun = spawnSync(
    process.execPath,
    [
      'bin/mirl.js',
      'sweep',
      'rerun-failed',
      diverging.id,
      '--set',
      'learning_rate=0.0001',
      '--set',
      'steps=4',
      '--json',
    ],
    { cwd: REPO_ROOT, env, encoding: 'utf8' },
  );
  assert.equal(rerun.status, 0, rerun.stderr);
  await waitFor(
    'the rerun to finish',
    async () => {
      const s = await readSweep(client, diverging.id, false);
      return s.status !== 'RUNNING' && s.progress.counts.done === 1 ? s : undefined;
    },
    90_000,
    500,
  );
  const again = await runsOf(diverging.id, 'diverging');
  assert.equal(again.children.length, 2);
  const [old, fresh] = [...again.children].sort((a, b) => (a.info.startTime ?? 0) - (b.info.startTime ?? 0));
  assert.equal(old.info.runId, failed.children[0].info.runId);
  assert.equal(old.data.tags['mirl.superseded_by'], fresh.info.runId);
  assert.equal(old.info.status, 'FAILED');
  assert.equal(fresh.data.tags['mirl.rerun_of'], old.info.runId);
  assert.equal(fresh.data.tags['mirl.trial_id'], old.data.tags['mirl.trial_id']);
  assert.equal(fresh.info.status, 'FINISHED');
  assert.equal(fresh.data.params.learning_rate, '0.0001');
  assert.deepEqual(await stepsOnce(fresh, 'loss'), [4], 'log_interval 10: the last step only');
  assert.equal(again.parent.info.status, 'FINISHED', 'the restarted sweep closed its run again');
  // The sweep closed again after the rerun: its snapshot follows, the old run superseded.
  const rerunSnapshot = await readSweepRuns(mlflow, diverging.id);
  assert.equal(rerunSnapshot.source, 'snapshot');
  assert.deepEqual(rerunSnapshot.trials.map((t) => [t.status, t.superseded]).sort(), [
    ['FAILED', true],
    ['FINISHED', false],
  ]);
  const rerunSummary = JSON.parse(
    (await mlflow.downloadArtifact(again.parent.info, 'summary.json')).toString('utf8'),
  ) as SweepSummary;
  assert.equal(rerunSummary.trials[0].runId, fresh.info.runId);
});

test('a cancelled sweep: its running trial run and its own run end KILLED', async () => {
  const sweep = await launch('cancelled', [
    'trial:',
    ...TINY,
    '  evaluations: [i_est_test]',
    '  steps: 5000',
    '  eval_interval: 1000',
  ]);
  const trialId = await firstTrial(sweep.id);
  await waitFor('training', async () => ((await heartbeatOf(trialId))?.beat.step ?? 0) > 0 || undefined, 60_000, 200);
  const r = spawnSync(process.execPath, ['bin/mirl.js', 'sweep', 'cancel', sweep.id], {
    cwd: REPO_ROOT,
    env,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const closed = await untilClosed(sweep.id, 60_000);
  assert.equal(closed.progress.counts.cancelled, 1);
  const { parent, children } = await runsOf(sweep.id, 'cancelled');
  assert.equal(children[0].info.status, 'KILLED');
  assert.equal(parent.info.status, 'KILLED');
});

test('early_stop: ASHA prunes the trial that falls behind; its run ends KILLED tagged mirl.pruned, short of its last step', async () => {
  // One at a time, the same seed: the second trial starts from the first one's weights and
  // batches and barely moves (learning rate 1e-9), so at the first rung it is behind.
  const sweep = await launch('pruned', [
    'trial:',
    '  batch_size: 16',
    '  i_est_test_batches: 4',
    '  evaluations: [i_est_test]',
    '  steps: 400',
    '  log_interval: 10',
    '  eval_interval: 40',
    'grid:',
    '  learning_rate: [0.003, 1.0e-9]',
    'max_concurrent_trials: 1',
    'early_stop: {method: asha, metric: i_est_test, mode: max, grace_period: 40, reduction_factor: 2}',
  ]);
  const closed = await untilClosed(sweep.id, 150_000);
  assert.equal(closed.status, 'COMPLETED');
  assert.deepEqual(closed.progress.counts, { pending: 0, running: 0, done: 1, failed: 0, cancelled: 0, pruned: 1 });
  const [good, slow] = closed.progress.trials;
  assert.equal(slow.state, 'pruned');
  assert.match(slow.error ?? '', /^asha: i_est_test \S+ at step 40 is outside the best 1\/2 of rung 40/);
  const outcome = (await client.workflow.getHandle(slow.trialId).result()) as TrialOutcome;
  assert.equal(outcome.state, 'pruned');
  assert.equal(outcome.result?.pruned?.step, 40);

  const { parent, children } = await runsOf(sweep.id, 'pruned');
  const runOf = (trialId: string) => children.find((c) => c.data.tags['mirl.trial_id'] === trialId)!;
  assert.equal(runOf(good.trialId).info.status, 'FINISHED');
  assert.equal(runOf(good.trialId).data.tags['mirl.pruned'], undefined);
  const pruned = runOf(slow.trialId);
  assert.equal(pruned.info.status, 'KILLED');
  assert.equal(pruned.data.tags['mirl.pruned'], slow.error);
  // Stopped within the evaluation interval after its verdict, never run to the end.
  const steps = await stepsOnce(pruned, 'loss');
  assert.ok(steps.at(-1)! >= 40 && steps.at(-1)! < 80, `last logged step ${steps.at(-1)}`);
  assert.deepEqual(await stepsOnce(pruned, 'i_est_test'), [0, 40]);
  assert.deepEqual(
    await stepsOnce(runOf(good.trialId), 'i_est_test'),
    range(0, 10).map((k) => k * 40),
  );

  const metric = (key: string) => parent.data.metrics.find((m) => m.key === key)?.value;
  assert.equal(metric('trials_pruned'), 1);
  assert.equal(metric('trials_done'), 1);
  const runs = await readSweepRuns(mlflow, sweep.id);
  assert.deepEqual(runs.trials.map((t) => t.status).sort(), ['FINISHED', 'PRUNED']);
  const status = spawnSync(process.execPath, ['bin/mirl.js', 'sweep', 'status', sweep.id], {
    cwd: REPO_ROOT,
    env,
    encoding: 'utf8',
  });
  assert.match(status.stdout, /1\/2 done, 0 running, 0 pending, 0 failed, 0 cancelled, 1 pruned/);
});

test('bytes that are a window into a larger buffer (as checkpoints arrive over IPC) upload as themselves', async () => {
  const experiment = await mlflow.getOrCreateExperiment('artifact-views');
  const run = await mlflow.createRun({ experimentId: experiment.experimentId });
  const backing = Buffer.from('xxxxCHECKPOINTyyyy');
  await mlflow.uploadArtifact(run.info, 'view.bin', new Uint8Array(backing.buffer, backing.byteOffset + 4, 10));
  assert.equal((await mlflow.downloadArtifact(run.info, 'view.bin')).toString('utf8'), 'CHECKPOINT');
});

test('an MLflow outage mid-trial: the trial keeps training and every step lands exactly once', async () => {
  // Long enough (~10 s on 2 cores) for the per-attempt costs to be measured against real training.
  const steps = 900;
  const sweep = await launch(
    'outage',
    [
      'trial:',
      ...TINY,
      '  evaluations: [i_est_test]',
      `  steps: ${steps}`,
      '  log_interval: 1',
      '  eval_interval: 100',
    ],
    '--checkpoint-every',
    '50',
  );
  const trialId = await firstTrial(sweep.id);
  await waitFor(
    'training past step 30',
    async () => ((await heartbeatOf(trialId))?.beat.step ?? 0) >= 30 || undefined,
    90_000,
    200,
  );
  await mlflowServer.kill();
  const downAt = (await heartbeatOf(trialId))!.beat.step;
  await new Promise((r) => setTimeout(r, 5_000));
  const stepWhileDown = (await heartbeatOf(trialId))?.beat.step ?? 0;
  await mlflowServer.start();
  assert.ok(stepWhileDown > downAt, `training went on while MLflow was down (step ${downAt} -> ${stepWhileDown})`);
  const closed = await untilClosed(sweep.id);
  assert.equal(closed.progress.counts.done, 1, JSON.stringify(closed.progress.trials[0]));
  const { children } = await runsOf(sweep.id, 'outage');
  assert.equal(children.length, 1);
  assert.equal(children[0].info.status, 'FINISHED');
  assert.deepEqual(await stepsOnce(children[0], 'loss'), range(1, steps));
  assert.deepEqual(
    await stepsOnce(children[0], 'i_est_test'),
    range(0, 9).map((i) => i * 100),
  );
  const outcome = (await client.workflow.getHandle(trialId).result()) as TrialOutcome;
  assert.equal(outcome.result!.attempt, 1, 'the outage cost no attempt');
  reportOverhead('outage trial (log_interval 1)', outcome);
});

test('a worker SIGKILLed mid-trial: another worker resumes from the MLflow checkpoint, in the same run, no step twice', async () => {
  const steps = 1500;
  const sweep = await launch(
    'resume',
    [
      'trial:',
      ...TINY,
      '  evaluations: [i_est_test]',
      `  steps: ${steps}`,
      '  log_interval: 1',
      '  eval_interval: 500',
    ],
    '--checkpoint-every',
    '200',
  );
  const trialId = await firstTrial(sweep.id);
  // Killed when the run holds steps past the newest checkpoint and the next one is far
  // off: the next attempt replays steps the first one logged, and must skip them.
  const victim = await waitFor(
    'logged steps past a checkpoint at step >= 200',
    async () => {
      const h = await heartbeatOf(trialId);
      if (!h && (await client.workflow.getHandle(trialId).describe()).status.name !== 'RUNNING')
        throw new Error('the trial ended before it could be killed');
      const checkpoint = h?.beat.checkpointStep ?? 0;
      if (!h || checkpoint < 200 || h.beat.step > checkpoint + 120) return undefined;
      const { children } = await runsOf(sweep.id, 'resume');
      const logged = children[0]?.data.metrics.find((m) => m.key === 'loss')?.step ?? 0;
      return logged >= checkpoint + 10 ? h : undefined;
    },
    90_000,
    100,
  );
  await pool.stop(victim.pid, 'SIGKILL');
  const replacement = pool.start('worker-c');
  const closed = await untilClosed(sweep.id);
  await replacement;
  assert.equal(closed.progress.counts.done, 1, JSON.stringify(closed.progress.trials[0]));
  const outcome = (await client.workflow.getHandle(trialId).result()) as TrialOutcome;
  assert.ok(outcome.result!.attempt >= 2);
  assert.ok((outcome.result!.resumedFrom ?? 0) >= 100, `resumed from ${outcome.result!.resumedFrom}`);
  assert.ok(outcome.result!.tracking!.metricsSkipped > 0, 'the resumed attempt skipped steps the first one had logged');
  const { children } = await runsOf(sweep.id, 'resume');
  assert.equal(children.length, 1, 'still exactly one run');
  const run = children[0];
  assert.equal(run.info.status, 'FINISHED');
  assert.equal(run.data.tags['mirl.attempt'], String(outcome.result!.attempt));
  assert.equal(
    run.data.tags['mirl.resumed_from_step'],
    String(outcome.result!.resumedFrom),
    'the run says where the resume started',
  );
  assert.deepEqual(await stepsOnce(run, 'loss'), range(1, steps));
  assert.deepEqual(await stepsOnce(run, 'i_est_test'), [0, 500, 1000, 1500]);
  reportOverhead('resumed trial (log_interval 1)', outcome);
});

/**
 * Tracking cost on the trial's critical path (opening the run, queueing values, closing)
 * against the trainer's time; sends and checkpoint uploads happen beside training.
 * Reported, not asserted: a timing target in a test fails on a busy shared machine
 * (1.00% vs 0.51% for the same trial in two runs here); targets belong to `mirl bench`.
 */
function reportOverhead(what: string, outcome: TrialOutcome): void {
  const r = outcome.result!;
  const t = r.tracking!;
  const trainingMs = r.seconds * 1000;
  const criticalMs = (t.openWaitMs ?? t.openMs) + t.addMs + t.closeMs;
  const share = criticalMs / trainingMs;
  process.stderr.write(
    `tracking overhead, ${what}: ${JSON.stringify({ ...t, trainingMs: Math.round(trainingMs), steps: r.step, criticalPathPercent: +(100 * share).toFixed(3), besideTrainingPercent: +((100 * (t.flushMs + t.checkpointMs)) / trainingMs).toFixed(2) })}\n`,
  );
}
