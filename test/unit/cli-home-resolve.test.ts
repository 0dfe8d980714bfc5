// Which stack a command talks to, without servers: --home, then MIRL_HOME, then the address
// variables, then ./.mirl; a named home never brought up, or one the variables contradict,
// stops the command instead of falling back to the default ports; and a server that does
// not answer is reported with the home and address tried, without internal class names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  applyStackTarget,
  resolveStackTarget,
  sameServer,
  StackHomeError,
  type StackTarget,
} from '../../cli/stack/env.js';
import { writeState } from '../../cli/stack/state.js';
import { explainUnreachable, StackUnreachableError } from '../../cli/stack-option.js';
import { cliMlflowClient, withMlflow } from '../../cli/mlflow-connection.js';
import { describeFailure, EXIT } from '../../cli/errors.js';
import { temporalSettings, unreachable } from '../../servers/temporal-connection.js';
import { MlflowNetworkError } from '../../tracking/index.js';

function withDir<T>(work: (dir: string) => T): T {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirl-home-'));
  try {
    return work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function withDirAsync<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirl-home-'));
  try {
    return await work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A home `mirl up` ran in, on Temporal port `t` (UI t+1000) and MLflow port `m`. */
function home(dir: string, name: string, t: number, m: number): string {
  const h = path.join(dir, name);
  writeState(path.join(h, 'stack.json'), {
    version: 1,
    home: h,
    ports: { temporal: t, temporalUi: t + 1000, mlflow: m },
    services: {},
  });
  return h;
}

const addresses = (t: StackTarget) => [t.temporal.address, t.temporal.from, t.mlflow.address, t.mlflow.from];

/** Runs `work` with the current directory at `dir`, where ./.mirl is looked for. */
function inDir<T>(dir: string, work: () => T): T {
  const before = process.cwd();
  process.chdir(dir);
  try {
    return work();
  } finally {
    process.chdir(before);
  }
}

test('precedence: --home, then MIRL_HOME, then TEMPORAL_ADDRESS / MLFLOW_TRACKING_URI, then ./.mirl, then the defaults', () => {
  withDir((dir) => {
    const a = home(dir, 'a', 17233, 15000);
    const b = home(dir, 'b', 27233, 25000);
    home(dir, '.mirl', 37233, 35000);
    const vars = { TEMPORAL_ADDRESS: '127.0.0.1:27233', MLFLOW_TRACKING_URI: 'http://127.0.0.1:25000' };
    inDir(dir, () => {
      const flag = resolveStackTarget(a, { MIRL_HOME: b, ...vars }, ['temporal']);
      assert.equal(flag.home, a);
      assert.equal(flag.homeFrom, '--home');
      assert.deepEqual(addresses(flag), ['127.0.0.1:17233', 'home', 'http://127.0.0.1:15000', 'home']);

      const fromVar = resolveStackTarget(undefined, { MIRL_HOME: b, ...vars }, ['temporal']);
      assert.equal(fromVar.home, b);
      assert.equal(fromVar.homeFrom, 'MIRL_HOME');
      assert.deepEqual(addresses(fromVar), ['127.0.0.1:27233', 'home', 'http://127.0.0.1:25000', 'home']);

      const remote = {
        TEMPORAL_ADDRESS: 'temporal.example.org:7233',
        MLFLOW_TRACKING_URI: 'https://mlflow.example.org',
      };
      assert.deepEqual(addresses(resolveStackTarget(undefined, remote, ['temporal'])), [
        'temporal.example.org:7233',
        'environment',
        'https://mlflow.example.org',
        'environment',
      ]);
      // One variable set names the servers: the other is its default, not ./.mirl's (no mixing of stacks).
      assert.deepEqual(addresses(resolveStackTarget(undefined, { TEMPORAL_ADDRESS: '127.0.0.1:9' }, [])), [
        '127.0.0.1:9',
        'environment',
        'http://127.0.0.1:5000',
        'default',
      ]);

      const local = resolveStackTarget(undefined, {}, ['temporal']);
      assert.equal(local.home, path.join(dir, '.mirl'));
      assert.equal(local.homeFrom, 'default');
      assert.deepEqual(addresses(local), ['127.0.0.1:37233', 'home', 'http://127.0.0.1:35000', 'home']);
    });
    inDir(a, () => {
      // No ./.mirl here and nothing named: the default addresses, said to be the defaults.
      const none = resolveStackTarget(undefined, {}, ['temporal', 'mlflow']);
      assert.equal(none.stateFound, false);
      assert.deepEqual(addresses(none), ['127.0.0.1:7233', 'default', 'http://127.0.0.1:5000', 'default']);
    });
  });
});

test('--home naming a home never brought up fails at once, naming it, even with servers named in the environment', () => {
  withDir((dir) => {
    const empty = path.join(dir, 'never-up');
    const env = { TEMPORAL_ADDRESS: '127.0.0.1:7233', MLFLOW_TRACKING_URI: 'http://127.0.0.1:5000' };
    assert.throws(
      () => resolveStackTarget(empty, env, ['temporal']),
      (e: unknown) => {
        assert.ok(e instanceof StackHomeError);
        assert.match(e.message, new RegExp(`no stack was ever brought up in ${empty} \\(from --home`));
        assert.ok(e.message.includes(path.join(empty, 'stack.json')), e.message);
        assert.ok(e.message.includes(`\`mirl up --home ${empty}\``), e.message);
        assert.equal(describeFailure(e).code, EXIT.usage);
        assert.doesNotMatch(describeFailure(e).message, /StackHome|^error:/);
        return true;
      },
    );
  });
});

test('MIRL_HOME never brought up: the address variables a command needs may stand in; none set, it fails naming the home', () => {
  withDir((dir) => {
    const empty = path.join(dir, 'never-up');
    assert.throws(
      () => resolveStackTarget(undefined, { MIRL_HOME: empty }, ['temporal']),
      (e: unknown) =>
        e instanceof StackHomeError &&
        e.message.includes(`brought up in ${empty} (from MIRL_HOME`) &&
        e.message.includes('set TEMPORAL_ADDRESS'),
    );
    // report and compare need MLflow only: MLFLOW_TRACKING_URI is enough, and Temporal is not asked for.
    const report = resolveStackTarget(undefined, { MIRL_HOME: empty, MLFLOW_TRACKING_URI: 'http://10.0.0.5:5000' }, [
      'mlflow',
    ]);
    assert.deepEqual(report.mlflow, { address: 'http://10.0.0.5:5000', from: 'environment' });
    assert.throws(
      () =>
        resolveStackTarget(undefined, { MIRL_HOME: empty, MLFLOW_TRACKING_URI: 'http://10.0.0.5:5000' }, ['temporal']),
      StackHomeError,
    );
  });
});

test('MIRL_HOME and an address variable naming different servers is refused, without printing credentials', () => {
  withDir((dir) => {
    const h = home(dir, 'h', 17233, 15000);
    assert.throws(
      () => resolveStackTarget(undefined, { MIRL_HOME: h, MLFLOW_TRACKING_URI: 'http://me:s3cret@127.0.0.1:5000' }, []),
      (e: unknown) => {
        assert.ok(e instanceof StackHomeError);
        assert.match(
          e.message,
          /MIRL_HOME names the stack in .*MLflow at http:\/\/127\.0\.0\.1:15000.*MLFLOW_TRACKING_URI/,
        );
        assert.ok(e.message.includes('http://127.0.0.1:5000'), e.message);
        assert.doesNotMatch(e.message, /s3cret|me:/);
        assert.match(e.message, /--home DIR/);
        return true;
      },
    );
    assert.throws(
      () => resolveStackTarget(undefined, { MIRL_HOME: h, TEMPORAL_ADDRESS: '127.0.0.1:7233' }, []),
      /TEMPORAL_ADDRESS names 127\.0\.0\.1:7233/,
    );
    // The same servers spelled differently (a supervised worker's own variables) are no contradiction.
    const same = resolveStackTarget(
      undefined,
      { MIRL_HOME: h, TEMPORAL_ADDRESS: 'localhost:17233', MLFLOW_TRACKING_URI: 'http://u:p@127.0.0.1:15000/' },
      ['temporal'],
    );
    assert.equal(same.temporal.from, 'home');
    // --home is the command line's choice: the variables give way without a word.
    const chosen = resolveStackTarget(h, { MIRL_HOME: path.join(dir, 'x'), TEMPORAL_ADDRESS: '127.0.0.1:7233' }, []);
    assert.equal(chosen.temporal.address, '127.0.0.1:17233');
  });
  assert.ok(sameServer('127.0.0.1:7233', 'localhost:7233'));
  assert.ok(!sameServer('127.0.0.1:7233', '127.0.0.1:17233'));
  assert.ok(!sameServer('http://127.0.0.1:5000', 'http://127.0.0.1:15000'));
});

test("a home's addresses reach the variables the clients read; addresses the environment named stay as they are", () => {
  withDir((dir) => {
    const h = home(dir, 'h', 17233, 15000);
    const env: NodeJS.ProcessEnv = {
      MIRL_HOME: path.join(dir, 'other'),
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      TEMPORAL_UI_URL: 'http://127.0.0.1:8233',
      MLFLOW_TRACKING_URI: 'http://127.0.0.1:5000',
    };
    applyStackTarget(resolveStackTarget(h, env, ['temporal']), env);
    assert.deepEqual(env, {
      MIRL_HOME: h,
      TEMPORAL_ADDRESS: '127.0.0.1:17233',
      TEMPORAL_UI_URL: 'http://127.0.0.1:18233',
      MLFLOW_TRACKING_URI: 'http://127.0.0.1:15000',
    });
    const named: NodeJS.ProcessEnv = { TEMPORAL_ADDRESS: 'temporal.example.org:7233' };
    applyStackTarget(resolveStackTarget(undefined, named, ['temporal']), named);
    assert.deepEqual(named, { TEMPORAL_ADDRESS: 'temporal.example.org:7233' }, 'no MLflow address invented');
  });
});

test('a server that does not answer is named with its address, the home and where it came from, in one line', async () => {
  await withDirAsync(async (dir) => {
    const h = home(dir, 'h', 17233, 15000);
    const target = resolveStackTarget(h, {}, ['temporal']);
    const temporal = explainUnreachable(
      unreachable(temporalSettings({ TEMPORAL_ADDRESS: '127.0.0.1:17233' }), new Error('connect ECONNREFUSED')),
      target,
    );
    assert.ok(temporal instanceof StackUnreachableError);
    const t = describeFailure(temporal);
    assert.equal(t.code, EXIT.failed);
    assert.equal(
      t.message,
      `cannot reach the Temporal server at 127.0.0.1:17233 (stack home ${h}, from --home): ` +
        `start it with \`mirl up --home ${h}\`, or pass --home DIR / set MIRL_HOME to use another stack`,
    );

    const client = cliMlflowClient({ MLFLOW_TRACKING_URI: 'http://127.0.0.1:15000' });
    const refused = new MlflowNetworkError({
      code: 'ECONNREFUSED',
      message: 'x',
      endpoint: 'runs/search',
      attempts: 2,
    });
    const mlflowErr = await withMlflow(client, () => Promise.reject(refused)).catch((e: unknown) => e);
    const m = describeFailure(explainUnreachable(mlflowErr, target)).message;
    assert.match(
      m,
      new RegExp(`^cannot reach the MLflow server at http://127\\.0\\.0\\.1:15000 \\(stack home ${h}, from --home\\)`),
    );

    const fromVar = resolveStackTarget(undefined, { MIRL_HOME: h }, ['temporal']);
    assert.match(unreachableOf(fromVar), /\(stack home .*, from MIRL_HOME\): start it with `mirl up`,/);
    const fromEnv = resolveStackTarget(undefined, { TEMPORAL_ADDRESS: '127.0.0.1:9' }, ['temporal']);
    assert.match(unreachableOf(fromEnv), /at 127\.0\.0\.1:9 \(from TEMPORAL_ADDRESS\): .*--home DIR/);
    for (const line of [t.message, m, unreachableOf(fromVar), unreachableOf(fromEnv)]) {
      assert.doesNotMatch(line, /Unreachable|Error/, 'no class names');
      assert.doesNotMatch(line, /\n/, 'one line');
    }
  });
});

function unreachableOf(target: StackTarget): string {
  const err = unreachable(temporalSettings({ TEMPORAL_ADDRESS: target.temporal.address }), new Error('refused'));
  return describeFailure(explainUnreachable(err, target)).message;
}

test('a slow or refusing MLflow keeps its own advice, and no command prints an internal class name', async () => {
  const client = cliMlflowClient({ MLFLOW_TRACKING_URI: 'http://127.0.0.1:15000' });
  const slow = new MlflowNetworkError({ code: 'ETIMEDOUT', message: 'x', endpoint: 'runs/search', attempts: 2 });
  const err = await withMlflow(client, () => Promise.reject(slow)).catch((e: unknown) => e);
  withDir((dir) => {
    const passed = explainUnreachable(err, resolveStackTarget(home(dir, 'h', 17233, 15000), {}, []));
    assert.equal(passed, err, 'a server that answered slowly is not "unreachable"');
  });
  const { message } = describeFailure(err);
  assert.match(message, /^the MLflow server at http:\/\/127\.0\.0\.1:15000 did not answer in time/);
  // Untranslated (a command outside the stack wrapper), the server layer's line still has no class name.
  const raw = describeFailure(unreachable(temporalSettings({ TEMPORAL_ADDRESS: '127.0.0.1:9' }), new Error('x')));
  assert.match(raw.message, /^cannot reach the Temporal server at 127\.0\.0\.1:9 /);
});
