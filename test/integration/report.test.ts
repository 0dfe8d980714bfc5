// `mirl report` against a real MLflow server: trial runs logged through mirl's own
// tracking (the tags, params and metrics a worker writes), the sweep closed through
// the sweep workflow's finishSweepRun activity, which logs the report on the parent
// run; then the CLI draws the same sweep into a folder. Both are read back and checked
// against the mean and sd computed here from the values logged.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MlflowClient, silentLogger, type Run } from '../../tracking/index.js';
import { MlflowTracking } from '../../activities/mlflow-tracking.js';
import { createSweepActivities } from '../../activities/mlflow-sweep-activities.js';
import { expandSpec, parseSpec, type Trial } from '../../sweep-spec/index.js';
import type { SweepProgress, SweepTracking, TrialProgress, TrialStateName } from '../../workflows/types.js';
import type { Report } from '../../report/build.js';
import { startMlflowServer, type MlflowServer } from '../support/mlflow-server.js';
import { DATA_PATH_VERSION } from '../../ml/data-path.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SWEEP_ID = 'critic-capacity-20260101-120000-rprt';
const SPEC_TEXT = [
  'name: critic-capacity',
  'study: critic-capacity',
  'trial:',
  '  encoder: mlp',
  '  steps: 20',
  '  eval_interval: 10',
  'grid:',
  '  critic: [bilinear, separable]',
  'seeds: 3',
  '',
].join('\n');

let server: MlflowServer;
let client: MlflowClient;
let dir: string;
let trials: Trial[];
let tracking: SweepTracking;
const warnings: string[] = [];

/** What each trial logs, by (critic, seed): a deterministic value per metric and step. */
const value = (metric: string, critic: string, seed: number, step: number) =>
  (metric === 'linear_eval_accuracy' ? 0.5 : 1) + (critic === 'separable' ? 0.2 : 0) + 0.01 * step + 0.05 * seed;

/** bilinear: seeds 0 and 1 finish (seed 1 skips accuracy at step 10), seed 2 fails; separable: seeds 0, 1 finish, seed 2 never runs. */
const plan = (t: Trial): 'finished' | 'failed' | 'missing' =>
  t.axes.seed === 2 ? (t.axes.critic === 'bilinear' ? 'failed' : 'missing') : 'finished';

const stateOf: Record<ReturnType<typeof plan>, TrialStateName> = {
  finished: 'done',
  failed: 'failed',
  missing: 'pending',
};

before(async () => {
  server = await startMlflowServer();
  client = new MlflowClient({ trackingUri: server.uri, logger: silentLogger });
  dir = await mkdtemp(path.join(os.tmpdir(), 'mirl-report-'));
  const spec = parseSpec(SPEC_TEXT);
  trials = expandSpec(spec, { dataPath: DATA_PATH_VERSION, sweepId: SWEEP_ID });
  const mlflow = new MlflowTracking({ client, logger: silentLogger, buffer: { flushIntervalMs: 50 } });
  tracking = await mlflow.ensureSweepRun({
    sweepId: SWEEP_ID,
    spec,
    profile: null,
    specText: SPEC_TEXT,
    dataPath: DATA_PATH_VERSION,
  });
  for (const t of trials) {
    if (plan(t) === 'missing') continue;
    const writer = await mlflow.sink.open(
      {
        sweepId: SWEEP_ID,
        trialId: t.trialId,
        runName: t.runName,
        config: t.config,
        checkpointKey: t.trialId,
        checkpointEvery: 0,
        sweepName: spec.name,
        study: spec.study,
        index: t.index,
        axes: t.axes,
        tracking,
        dataPath: DATA_PATH_VERSION,
      },
      1,
    );
    const critic = String(t.axes.critic);
    const seed = Number(t.axes.seed);
    for (const step of [0, 10, 20]) {
      if (plan(t) === 'failed' && step === 20) break;
      writer.train(step, { i_est_train: value('i_est_train', critic, seed, step) });
      const evals: Record<string, number> = { i_est_test: value('i_est_test', critic, seed, step) };
      if (!(critic === 'bilinear' && seed === 1 && step === 10))
        evals.linear_eval_accuracy = value('linear_eval_accuracy', critic, seed, step);
      writer.eval(step, evals);
    }
    await writer.close(plan(t) === 'failed' ? { status: 'failed', error: 'diverged' } : { status: 'finished' });
  }
  const progressTrials: TrialProgress[] = trials.map((t) => ({
    index: t.index,
    trialId: t.trialId,
    runName: t.runName,
    axes: t.axes,
    state: stateOf[plan(t)],
    runs: plan(t) === 'missing' ? 0 : 1,
    step: null,
    metrics: {},
    resumedFrom: null,
    backend: null,
    error: plan(t) === 'failed' ? 'diverged' : null,
    startedAt: null,
    recordedAt: null,
  }));
  const count = (s: TrialStateName) => progressTrials.filter((t) => t.state === s).length;
  const progress: SweepProgress = {
    sweepId: SWEEP_ID,
    name: spec.name,
    study: spec.study,
    profile: null,
    taskQueue: 'mirl-cpu',
    total: trials.length,
    paused: false,
    cancelRequested: false,
    maxConcurrent: 2,
    generation: 0,
    startedTotal: 5,
    finished: true,
    counts: {
      pending: count('pending'),
      running: 0,
      done: count('done'),
      failed: count('failed'),
      cancelled: 0,
      pruned: 0,
    },
    axes: {},
    durations: { count: 0, totalMs: 0 },
    trials: progressTrials,
    page: { offset: 0, limit: progressTrials.length, states: null, matching: progressTrials.length },
    recent: [],
  };
  const activities = createSweepActivities(mlflow, { logger: { warn: (m) => void warnings.push(m) } });
  await activities.finishSweepRun({ sweepId: SWEEP_ID, tracking, status: 'FINISHED', progress });
});

after(async () => {
  await server?.stop();
  if (dir && process.env.MIRL_KEEP_TEST_DIR !== '1') await rm(dir, { recursive: true, force: true });
});

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));
const close = (a: number | null | undefined, b: number, what: string) =>
  assert.ok(a != null && Math.abs(a - b) < 1e-9, `${what}: ${a} != ${b}`);

function checkReport(report: Report): void {
  assert.equal(report.study, 'critic-capacity');
  assert.equal(report.expected, 6);
  assert.deepEqual(report.trialStates, { FINISHED: 4, FAILED: 1, MISSING: 1 });
  assert.deepEqual(
    report.figures.map((f) => f.name),
    ['linear_eval_accuracy', 'i_est_test'],
  );
  const [accuracy, iEst] = report.figures;
  const [bilinear, separable] = accuracy.data.configs;
  assert.deepEqual([bilinear.label, separable.label], ['bilinear', 'separable']);
  assert.deepEqual([bilinear.finished, separable.finished], [2, 2]);
  assert.deepEqual(
    bilinear.excluded.map((e) => [e.seed, e.status]),
    [[2, 'FAILED']],
  );
  assert.deepEqual(
    separable.excluded.map((e) => [e.seed, e.status]),
    [[2, 'MISSING']],
  );
  // Step 10: only seed 0 of bilinear logged accuracy.
  assert.deepEqual(
    bilinear.curves.linear_eval_accuracy.map((p) => [p.x, p.n]),
    [
      [0, 2],
      [10, 1],
      [20, 2],
    ],
  );
  const at20 = [0, 1].map((s) => value('linear_eval_accuracy', 'bilinear', s, 20));
  close(bilinear.curves.linear_eval_accuracy[2].mean, mean(at20), 'bilinear accuracy mean at 20');
  close(bilinear.curves.linear_eval_accuracy[2].sd, sd(at20), 'bilinear accuracy sd at 20');
  assert.equal(bilinear.curves.linear_eval_accuracy[1].sd, null);
  const sepEst = [0, 1].map((s) => value('i_est_test', 'separable', s, 10));
  close(iEst.data.configs[1].curves.i_est_test[1].mean, mean(sepEst), 'separable I_EST mean at 10');
  const finalRow = report.final.rows.find((r) => r.config.critic === 'separable')!;
  close(
    finalRow.metrics.i_est_test.mean,
    mean([0, 1].map((s) => value('i_est_test', 'separable', s, 20))),
    'final I_EST',
  );
}

test("the sweep's closing activity logs the report on the parent run, and MLflow serves it back", async () => {
  assert.deepEqual(warnings, []);
  let parent: Run | undefined;
  for await (const r of client.searchAllRuns({
    experimentIds: [tracking.experimentId],
    filter: `tags.\`mirl.role\` = 'sweep'`,
  }))
    parent = r;
  assert.ok(parent);
  assert.equal(parent.info.status, 'FINISHED');
  const listed = (await client.listArtifacts(parent.info, 'report')).map((f) => f.path).sort();
  const figures = ['i_est_test', 'linear_eval_accuracy'].flatMap((n) => [
    `report/${n}.png`,
    `report/${n}.svg`,
    `report/${n}.vl.json`,
  ]);
  assert.deepEqual(listed, [...figures, 'report/index.html', 'report/report.json'].sort());
  const report = JSON.parse(
    (await client.downloadArtifact(parent.info, 'report/report.json')).toString('utf8'),
  ) as Report;
  checkReport(report);
  assert.equal(report.status, 'FINISHED');
  const png = await client.downloadArtifact(parent.info, 'report/linear_eval_accuracy.png');
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  const html = (await client.downloadArtifact(parent.info, 'report/index.html')).toString('utf8');
  assert.equal((html.match(/<img /g) ?? []).length, 2);
  assert.match(html, /<td>failed<\/td>/);
  assert.match(html, /<td>missing<\/td>/);
});

test('mirl report ID --out DIR writes the same report into the folder and logs it again', async () => {
  const out = path.join(dir, 'out');
  const env = { ...process.env, MLFLOW_TRACKING_URI: server.uri, MIRL_HOME: path.join(dir, 'no-stack') };
  const r = spawnSync(process.execPath, ['bin/mirl.js', 'report', SWEEP_ID, '--out', out, '--json'], {
    cwd: REPO_ROOT,
    env,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const printed = JSON.parse(r.stdout);
  assert.deepEqual(printed.figures, ['linear_eval_accuracy', 'i_est_test']);
  assert.equal(printed.artifacts.length, 8);
  const files = (await readdir(out)).sort();
  assert.deepEqual(files, [
    'i_est_test.png',
    'i_est_test.svg',
    'i_est_test.vl.json',
    'index.html',
    'linear_eval_accuracy.png',
    'linear_eval_accuracy.svg',
    'linear_eval_accuracy.vl.json',
    'report.json',
  ]);
  checkReport(JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as Report);
  const svg = await readFile(path.join(out, 'linear_eval_accuracy.svg'), 'utf8');
  assert.match(svg, />bilinear</);
  assert.match(svg, />separable</);

  const missing = spawnSync(
    process.execPath,
    ['bin/mirl.js', 'report', 'critic-capacity-20260101-120000-none', '--out', out],
    { cwd: REPO_ROOT, env, encoding: 'utf8' },
  );
  assert.equal(missing.status, 2);
  assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
  assert.match(missing.stderr, /no sweep critic-capacity-20260101-120000-none/);
});
