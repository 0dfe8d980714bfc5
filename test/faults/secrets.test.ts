// Scenario 8: an MLflow token, an MLflow password and a Temporal API key never appear in
// what mirl writes: worker and CLI output (an MLflow outage's retry warnings included),
// error messages, MLflow params, tags and artifacts, or Temporal workflow histories.
// The servers accept the credentials without checking them (MLflow runs without auth,
// the dev server without an authorizer), so the whole path runs with them attached;
// TEMPORAL_TLS=false lets the API key travel to the plaintext dev server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from '../support/processes.js';
import { WorkerPool } from '../support/worker-pool.js';
import {
  heartbeatOf,
  launch,
  mirl,
  runsOf,
  sleep,
  snapshot,
  startStack,
  TINY,
  untilClosed,
  waitFor,
  type FaultStack,
} from './harness.js';

const TOKEN = 'tok-7f3c9e1a55d04b2e-mlflow';
const USER = 'mirl-fault-user';
const PASSWORD = 'pw-b84d2c0e91aa-mlflow';
const API_KEY = 'key-5e0a77c3d2f14e6b-temporal';

/** Every form in which a secret could leak: as written, in a basic-auth header, URL-encoded. */
const FORBIDDEN = [
  TOKEN,
  PASSWORD,
  API_KEY,
  Buffer.from(`${USER}:${PASSWORD}`).toString('base64'),
  ...[TOKEN, PASSWORD, API_KEY].map((s) => Buffer.from(s).toString('base64')),
];

function leaks(text: string): string[] {
  return FORBIDDEN.filter((s) => text.includes(s));
}

/** All text in a history: strings as they are, payload bytes decoded as UTF-8. */
function textOf(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('utf8'));
  else if (Array.isArray(value)) for (const v of value) textOf(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) textOf(v, out);
  return out;
}

let stack: FaultStack;
let poolB: WorkerPool;
const cliEnv = (): NodeJS.ProcessEnv => ({
  ...stack.env,
  MLFLOW_TRACKING_TOKEN: '',
  MLFLOW_TRACKING_USERNAME: USER,
  MLFLOW_TRACKING_PASSWORD: PASSWORD,
});

before(async () => {
  stack = await startStack('secrets', {
    TEMPORAL_API_KEY: API_KEY,
    TEMPORAL_TLS: 'false',
    MLFLOW_TRACKING_TOKEN: TOKEN,
  });
  // The second worker carries basic-auth credentials in the tracking URI itself.
  const withUserinfo = stack.mlflowServer.uri.replace('http://', `http://${USER}:${PASSWORD}@`);
  poolB = new WorkerPool(stack.dir, () => ({
    ...stack.env,
    MLFLOW_TRACKING_TOKEN: '',
    MLFLOW_TRACKING_URI: withUserinfo,
  }));
  await Promise.all([stack.pool.start('worker-token'), poolB.start('worker-userinfo')]);
});
after(async () => {
  await poolB?.killAll();
  await stack?.stop();
});

test('the leak check finds a planted secret (so the assertions below can fail)', () => {
  assert.deepEqual(leaks(`Authorization: Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`), [
    FORBIDDEN[3],
  ]);
  assert.deepEqual(leaks(textOf({ a: [{ data: new TextEncoder().encode(`x${API_KEY}`) }] }).join('\n')), [API_KEY]);
});

test('credentials appear in no output, error, MLflow record or workflow history', { timeout: 300_000 }, async () => {
  const captured: { where: string; text: string }[] = [];
  const cli = (args: string[], env: NodeJS.ProcessEnv = cliEnv()) => {
    const r = mirl(stack, args, env);
    captured.push({ where: `mirl ${args.join(' ')}`, text: `${r.stdout}\n${r.stderr}` });
    return r;
  };

  // Two trials and one that diverges (a failure message travels through MLflow and Temporal).
  const sweepId = await launch(stack, 'secrets', [
    'trial:',
    ...TINY,
    '  steps: 300',
    '  log_interval: 5',
    '  eval_interval: 100',
    'zip:',
    '  - estimator: [nce, nce, nwj]',
    '    learning_rate: [0.0001, 0.0003, 5]',
    'max_concurrent_trials: 3',
  ]);
  // An outage while trials run: the retry warnings name requests, never their headers.
  const running = await waitFor(
    'a trial training',
    async () => {
      const { progress } = await snapshot(stack, sweepId);
      for (const t of progress.trials.filter((t) => t.state === 'running'))
        if (((await heartbeatOf(stack, t.trialId))?.beat.step ?? 0) >= 10) return t.trialId;
      return undefined;
    },
    120_000,
    300,
  );
  assert.ok(running);
  await stack.mlflowServer.kill();
  await sleep(4_000);
  await stack.mlflowServer.start();
  const closed = await untilClosed(stack, sweepId);
  assert.deepEqual(
    closed.progress.counts,
    { pending: 0, running: 0, done: 2, failed: 1, cancelled: 0, pruned: 0 },
    JSON.stringify(closed.progress.trials.map((t) => t.error)),
  );

  assert.equal(cli(['sweep', 'status', sweepId]).status, 0);
  assert.equal(cli(['compare', sweepId, '--json']).status, 0);
  // Errors with the credentials attached: an unreachable tracking server, an unreachable Temporal.
  const deadPort = await freePort();
  const mlflowDown = cli(['compare', sweepId, '--verbose'], {
    ...cliEnv(),
    MLFLOW_TRACKING_URI: `http://${USER}:${PASSWORD}@127.0.0.1:${deadPort}`,
  });
  assert.notEqual(mlflowDown.status, 0, 'compare against a dead tracking server fails');
  assert.match(
    mlflowDown.stderr,
    /cannot reach the MLflow server at http:\/\/127\.0\.0\.1:\d+ /,
    'the error names the server, without userinfo',
  );
  const temporalDown = cli(['sweep', 'status', sweepId, '--verbose'], {
    ...cliEnv(),
    TEMPORAL_ADDRESS: `127.0.0.1:${deadPort}`,
  });
  assert.notEqual(temporalDown.status, 0, 'status against a dead Temporal fails');
  assert.match(temporalDown.stderr, /cannot reach the Temporal server/);

  for (const file of [...stack.pool.workers.values(), ...poolB.workers.values()].map((w) => w.log)) {
    captured.push({ where: path.basename(file), text: await readFile(file, 'utf8') });
  }
  const banners = captured
    .filter((c) => c.where.startsWith('worker-'))
    .map((c) => /tracking (mlflow \S+)/.exec(c.text)?.[1]);
  assert.deepEqual(
    banners,
    [`mlflow ${stack.mlflowServer.uri}`, `mlflow ${stack.mlflowServer.uri}`],
    'both workers track to MLflow (userinfo stripped)',
  );
  assert.ok(
    captured.some((c) => c.where.startsWith('worker-') && /ECONNREFUSED|ECONNRESET/.test(c.text)),
    'the outage was noticed and retried',
  );

  const { parent, children } = await runsOf(stack, sweepId, 'secrets');
  assert.equal(children.length, 3);
  assert.ok(
    children.some((r) => r.info.status === 'FAILED' && r.data.tags['mirl.failure']),
    'the diverging run records its failure',
  );
  for (const run of [parent, ...children]) {
    captured.push({ where: `MLflow run ${run.info.runName}: params, tags, metrics`, text: JSON.stringify(run) });
  }
  for (const artifact of ['spec.yaml', 'summary.json']) {
    captured.push({
      where: `MLflow artifact ${artifact}`,
      text: (await stack.mlflow.downloadArtifact(parent.info, artifact)).toString('utf8'),
    });
  }

  const client = stack.temporal.client;
  for (const id of [sweepId, ...closed.progress.trials.map((t) => t.trialId)]) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    captured.push({ where: `history of ${id}`, text: textOf(history).join('\n') });
  }
  assert.ok(
    captured.some((c) => c.where.startsWith('history') && c.text.includes('NonFiniteError')),
    'histories were decoded (the failure is readable)',
  );

  const found = captured.flatMap((c) => leaks(c.text).map((s) => `${c.where}: contains ${s}`));
  assert.deepEqual(found, []);
});
