// The command line against the real local stack, as a user drives it: `mirl up` on
// non-default ports in a temp MIRL_HOME (Temporal dev server, MLflow server, one
// worker), both UIs answering, `up` again doing nothing, a port held by another program,
// a tiny sweep launched with --wait, `sweep watch` on it, `compare` from MLflow, the
// one-line errors (unknown id, stack down), `down`, and the data surviving `up` again.
// compare reads the runs the stack's worker logged to MLflow, not runs made by the test.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MlflowClient, silentLogger } from '../../tracking/index.js';
import { groupMembers } from '../../cli/stack/processes.js';
import { workerPolling } from '../../cli/stack/health.js';
import type { StackState } from '../../cli/stack/state.js';
import type { SweepProgress } from '../../workflows/types.js';
import { freePort } from '../support/processes.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;
let home: string;
let env: NodeJS.ProcessEnv;
let ports: { temporal: number; ui: number; mlflow: number };
let sweepId: string;

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/mirl.js ...` without blocking the event loop (the test also serves a port). */
function mirl(args: string[], extraEnv: NodeJS.ProcessEnv = {}, timeoutMs = 240_000): Promise<Result> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ['bin/mirl.js', ...args], {
      cwd: REPO_ROOT,
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const show = (r: Result) => `exit ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
const state = (): StackState => JSON.parse(readFileSync(path.join(home, 'stack.json'), 'utf8')) as StackState;

function assertOneLineError(r: Result, code: number, pattern: RegExp): void {
  assert.equal(r.status, code, show(r));
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
}

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mirl-cli-stack-'));
  home = path.join(dir, 'home');
  ports = { temporal: await freePort(), ui: await freePort(), mlflow: await freePort() };
  // Only the state file may tell the commands where the stack is.
  env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_') && !k.startsWith('MLFLOW_TRACKING_')),
  );
  env.MIRL_HOME = home;
  env.MIRL_BACKEND = 'wasm';
});

after(async () => {
  // Whatever a failed test left running goes; `down` only touches this home's processes.
  if (home && existsSync(path.join(home, 'stack.json'))) await mirl(['down'], {}, 90_000);
  if (process.env.MIRL_KEEP_TEST_DIR !== '1') await rm(dir, { recursive: true, force: true });
});

test('mirl up starts Temporal, MLflow and a worker on the given ports, both UIs answer, up again does nothing', async () => {
  const up = await mirl([
    'up',
    '--temporal-port',
    String(ports.temporal),
    '--temporal-ui-port',
    String(ports.ui),
    '--mlflow-port',
    String(ports.mlflow),
  ]);
  assert.equal(up.status, 0, show(up));
  assert.match(up.stdout, new RegExp(`Temporal UI: http://127\\.0\\.0\\.1:${ports.ui}`));
  assert.match(up.stdout, new RegExp(`MLflow UI: +http://127\\.0\\.0\\.1:${ports.mlflow}`));
  const first = state();
  assert.deepEqual(Object.keys(first.services).sort(), ['mlflow', 'temporal', 'worker']);
  for (const name of ['temporal', 'mlflow', 'worker'] as const)
    assert.ok(existsSync(first.services[name]!.log), `${name} log`);
  assert.match(readFileSync(first.services.worker!.log, 'utf8'), /mirl worker ready/);

  for (const url of [`http://127.0.0.1:${ports.ui}/`, `http://127.0.0.1:${ports.mlflow}/`]) {
    const res = await fetch(url);
    assert.equal(res.status, 200, url);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/, url);
    assert.match(await res.text(), /<html/i, url);
  }

  const again = await mirl(['up']);
  assert.equal(again.status, 0, show(again));
  assert.match(again.stdout, /^stack already running in .*; nothing to do$/m);
  assert.equal((again.stdout.match(/already running \(pid/g) ?? []).length, 3);
  const second = state();
  for (const name of ['temporal', 'mlflow', 'worker'] as const)
    assert.equal(second.services[name]!.pid, first.services[name]!.pid, name);
});

test('a port held by another program is named with the flag that moves it, and nothing starts', async () => {
  const squatter = net.createServer();
  await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', () => r()));
  const taken = (squatter.address() as net.AddressInfo).port;
  const otherHome = path.join(dir, 'other');
  try {
    const r = await mirl(
      [
        'up',
        '--temporal-port',
        String(await freePort()),
        '--temporal-ui-port',
        String(await freePort()),
        '--mlflow-port',
        String(taken),
      ],
      { MIRL_HOME: otherHome },
    );
    assertOneLineError(
      r,
      1,
      new RegExp(`port ${taken} \\(MLflow\\) is already in use by another program; pick a free one with --mlflow-port`),
    );
    assert.ok(
      !existsSync(path.join(otherHome, 'stack.json')) ||
        Object.keys((JSON.parse(readFileSync(path.join(otherHome, 'stack.json'), 'utf8')) as StackState).services)
          .length === 0,
    );
    // Our own running stack's ports are not "another program": moving them needs `down` first.
    const move = await mirl(['up', '--mlflow-port', String(taken)]);
    assertOneLineError(move, 1, /already running .*run `mirl down` first/);
  } finally {
    squatter.close();
  }
});

test('a tiny sweep runs through the stack: launch --wait, watch (plain lines), compare from MLflow', async () => {
  const spec = path.join(dir, 'cli-tiny.yaml');
  await writeFile(
    spec,
    [
      'name: cli-tiny',
      'study: cli-test',
      'trial:',
      '  steps: 5',
      '  batch_size: 16',
      '  eval_interval: 5',
      '  log_interval: 1',
      '  evaluations: [i_est_test]',
      '  i_est_test_batches: 2',
      'grid:',
      '  critic: [bilinear, separable]',
      'seeds: 2',
      'max_concurrent_trials: 2',
    ].join('\n'),
  );
  const launch = await mirl(['sweep', 'launch', spec, '--wait', '--json']);
  assert.equal(launch.status, 0, show(launch));
  const launched = JSON.parse(launch.stdout) as {
    sweepId: string;
    ui: string;
    status: string;
    progress: SweepProgress;
  };
  sweepId = launched.sweepId;
  assert.equal(launched.status, 'COMPLETED');
  assert.equal(launched.progress.counts.done, 4);
  assert.ok(launched.ui.startsWith(`http://127.0.0.1:${ports.ui}/namespaces/default/workflows?query=`), launched.ui);

  const watch = await mirl(['sweep', 'watch', sweepId]);
  assert.equal(watch.status, 0, show(watch));
  assert.doesNotMatch(watch.stdout, /\x1b\[/, 'no cursor movement when stdout is not a terminal');
  for (let i = 0; i < 4; i++) assert.match(watch.stdout, new RegExp(`trial ${i} \\S+: done`));
  assert.match(watch.stdout, /sweep completed: 4\/4 done, 0 running, 0 pending, 0 failed, 0 cancelled\n$/);

  await assertTrialRuns(sweepId, launched.progress);
  const compare = await mirl(['compare', sweepId, '--json']);
  assert.equal(compare.status, 0, show(compare));
  const c = JSON.parse(compare.stdout) as {
    axes: string[];
    rows: {
      config: Record<string, unknown>;
      done: number;
      failed: number;
      metrics: Record<string, { mean: number | null; sd: number | null; n: number }>;
    }[];
    importance: { metric: string; trials: number; axes: { axis: string; levels: number }[] } | null;
    best: { metric: string; config: Record<string, unknown>; n: number } | null;
  };
  assert.deepEqual(c.axes, ['critic']);
  // The first metric with values (linear evaluation is not in this spec): its importance and best configuration.
  assert.deepEqual(
    [c.importance?.metric, c.importance?.trials, c.importance?.axes.map((a) => [a.axis, a.levels])],
    ['i_est_test', 4, [['critic', 2]]],
  );
  assert.ok(['bilinear', 'separable'].includes(String(c.best?.config.critic)), JSON.stringify(c.best));
  assert.equal(c.best?.n, 2);
  assert.deepEqual(
    c.rows.map((r) => r.config.critic),
    ['bilinear', 'separable'],
  );
  for (const row of c.rows) {
    assert.equal(row.done, 2);
    assert.equal(row.failed, 0);
    assert.equal(row.metrics.i_est_test.n, 2);
    assert.ok(Number.isFinite(row.metrics.i_est_test.mean) && Number.isFinite(row.metrics.i_est_test.sd));
    assert.deepEqual(row.metrics.linear_eval_accuracy, { mean: null, sd: null, n: 0 }, 'not evaluated in this spec');
  }
  const text = await mirl(['compare', sweepId]);
  assert.equal(text.status, 0, show(text));
  assert.match(text.stdout, /^critic +done +failed +linear_eval_accuracy +i_est_test$/m);
  assert.match(text.stdout, /^bilinear +2\/2 +0 +- +\S+ ± \S+ \(se \S+, n=2\)$/m);
  const csv = await mirl(['compare', sweepId, '--csv', '--metric', 'i_est_test', '--sort', 'metric']);
  assert.equal(csv.status, 0, show(csv));
  assert.equal(
    csv.stdout.split('\n')[0],
    'critic,trials,done,failed,cancelled,pruned,i_est_test_mean,i_est_test_sd,i_est_test_se,i_est_test_n',
  );
  await assertReadmeNotebookExample(sweepId);
  const audit = await mirl(['sweep', 'audit', sweepId, '--json']);
  assert.equal(audit.status, 0, show(audit));
  const a = JSON.parse(audit.stdout) as { ok: boolean; trials: number; runs: number; metricHistories: number };
  assert.deepEqual([a.ok, a.trials, a.runs], [true, 4, 4], audit.stdout);
  assert.ok(a.metricHistories >= 4 * 2, 'every history of every run was read (loss and i_est_test at least)');
});

/**
 * The README's "From Python or a notebook" example, run as written on this sweep: only the
 * sweep id and the metric (linear evaluation is not in this spec) are swapped in.
 */
async function assertReadmeNotebookExample(id: string): Promise<void> {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const block = /<!-- notebook-example[^>]*-->\s*```python\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, "the README's notebook example is marked and fenced as python");
  const code = block[1]
    .replace(/^sweep = "[^"]+"/m, `sweep = "${id}"`)
    .replace(/^metric = "[^"]+"/m, 'metric = "metrics.i_est_test"');
  assert.match(code, new RegExp(`sweep = "${id}"`), 'the example names its sweep on a line of its own');
  const python = path.join(REPO_ROOT, '.venv', 'bin', 'python');
  const out = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const proc = spawn(python, ['-c', code], {
      env: { ...process.env, MLFLOW_TRACKING_URI: `http://127.0.0.1:${ports.mlflow}` },
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('close', (status) => resolve({ status, stdout, stderr }));
  });
  assert.equal(out.status, 0, out.stderr);
  // One row per configuration, the two seeds counted.
  assert.match(out.stdout, /^bilinear +nce +\S+ +\S+ +2$/m, out.stdout);
  assert.match(out.stdout, /^separable +nce +\S+ +\S+ +2$/m, out.stdout);
}

/** The stack's worker logged every trial to the stack's MLflow (what compare reads). */
async function assertTrialRuns(id: string, progress: SweepProgress): Promise<void> {
  const client = new MlflowClient({ trackingUri: `http://127.0.0.1:${ports.mlflow}`, logger: silentLogger });
  const experiment = await client.getExperimentByName('cli-tiny');
  assert.ok(experiment, 'the worker created the experiment');
  const runs = await client.searchRuns({
    experimentIds: [experiment.experimentId],
    filter: `tags.\`mirl.sweep_id\` = '${id}' and tags.\`mirl.role\` = 'trial'`,
  });
  assert.deepEqual(
    runs.items.map((r) => r.data.tags['mirl.trial_id']).sort(),
    progress.trials.map((t) => t.trialId).sort(),
  );
  assert.ok(runs.items.every((r) => r.info.status === 'FINISHED'));
}

test("the stack's worker runs supervised: killed, it is back polling within seconds", async () => {
  const supervisor = state().services.worker!.pid;
  const workerChild = () =>
    groupMembers(supervisor).find(
      (pid) => pid !== supervisor && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('bin/mirl.js\0worker'),
    );
  const before = workerChild();
  assert.ok(before, 'a worker process under the supervisor');
  process.kill(before, 'SIGKILL');
  let after: number | undefined;
  for (let i = 0; i < 240 && !(after && (await workerPolling(ports.temporal, supervisor, 'mirl-cpu'))); i++) {
    await new Promise((r) => setTimeout(r, 500));
    after = workerChild();
  }
  assert.ok(after && after !== before, `a new worker process (was ${before}, now ${after})`);
  assert.ok(
    await workerPolling(ports.temporal, supervisor, 'mirl-cpu'),
    "polling both queues again under the supervisor's identity",
  );
  assert.match(
    readFileSync(state().services.worker!.log, 'utf8'),
    new RegExp(`worker ${before} exited \\(SIGKILL\\); restarting in 1 s`),
  );
});

test('bad input: an unknown sweep id, a missing spec file, a spec error: one line each, non-zero', async () => {
  assertOneLineError(
    await mirl(['sweep', 'status', 'cli-tiny-20000101-000000-zzzz']),
    2,
    /no sweep with id cli-tiny-20000101-000000-zzzz .*mirl sweep list/,
  );
  assertOneLineError(await mirl(['sweep', 'watch', 'nope']), 2, /no sweep with id nope/);
  assertOneLineError(
    await mirl(['compare', 'cli-tiny-20000101-000000-zzzz']),
    2,
    /no sweep cli-tiny-20000101-000000-zzzz in MLflow/,
  );
  assertOneLineError(await mirl(['compare', 'nope']), 2, /"nope" is not a sweep id/);
  assertOneLineError(
    await mirl(['sweep', 'launch', path.join(dir, 'missing.yaml')]),
    2,
    /missing\.yaml: cannot read the spec: no such file/,
  );
  const bad = path.join(dir, 'bad.yaml');
  await writeFile(bad, 'name: bad\nstudy: x\ngrid:\n  critic: [foo]\n');
  assertOneLineError(
    await mirl(['sweep', 'launch', bad]),
    2,
    /bad\.yaml: grid\.critic\[0\]: "foo" is not a valid critic; allowed: /,
  );
});

test('mirl down stops exactly the stack; commands then say to run `mirl up`; up again finds the data', async () => {
  const before = state();
  const pids = Object.values(before.services).map((s) => s!.pid);
  const down = await mirl(['down']);
  assert.equal(down.status, 0, show(down));
  assert.match(down.stdout, /worker +stopped[\s\S]*mlflow +stopped[\s\S]*temporal +stopped/);
  for (const pid of pids) assert.deepEqual(groupMembers(pid), [], `process group ${pid} is gone`);
  for (const file of ['temporal.db', 'mlflow.db', 'logs/temporal.log', 'logs/mlflow.log', 'logs/worker.log'])
    assert.ok(existsSync(path.join(home, file)), file);
  assert.deepEqual(state().services, {});

  assertOneLineError(
    await mirl(['sweep', 'status', sweepId]),
    1,
    new RegExp(`cannot reach the Temporal server at 127\\.0\\.0\\.1:${ports.temporal} .*\`mirl up\``),
  );
  assertOneLineError(
    await mirl(['compare', sweepId]),
    1,
    new RegExp(`cannot reach the MLflow server at http://127\\.0\\.0\\.1:${ports.mlflow} .*\`mirl up\``),
  );
  const again = await mirl(['down']);
  assert.equal(again.status, 0, show(again));
  assert.match(again.stdout, /no stack running/);

  const up = await mirl(['up']);
  assert.equal(up.status, 0, show(up));
  assert.equal((up.stdout.match(/started in/g) ?? []).length, 3, 'the saved ports are reused');
  const status = await mirl(['sweep', 'status', sweepId, '--json']);
  assert.equal(status.status, 0, show(status));
  assert.equal((JSON.parse(status.stdout) as { status: string }).status, 'COMPLETED');
  const compare = await mirl(['compare', sweepId, '--json']);
  assert.equal(compare.status, 0, show(compare));
  assert.equal((JSON.parse(compare.stdout) as { rows: unknown[] }).rows.length, 2);
  const final = await mirl(['down']);
  assert.equal(final.status, 0, show(final));
});
