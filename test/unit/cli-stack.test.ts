// The local stack's bookkeeping without servers: port resolution, the state file,
// recognising our own process (and not a reused pid), stopping a whole process group,
// and what a group left running after its leader died (but never a group that reused the pgid),
// port checks, and client commands finding the stack through the state file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { resolvePorts, stackDown, StackError } from '../../cli/stack/stack.js';
import { DEFAULT_PORTS, readState, writeState, StackStateError, type StackState } from '../../cli/stack/state.js';
import {
  GROUP_TOKEN_VAR,
  groupMembers,
  isGroupMember,
  isOurs,
  ourGroupMembers,
  startDetached,
  stopGroup,
} from '../../cli/stack/processes.js';
import { portFree } from '../../cli/stack/ports.js';
import { applyStackEnvironment } from '../../cli/stack/env.js';
import { stackHome } from '../../cli/stack/home.js';

test('ports: flags win, a stack keeps its saved ports, the UI port follows the gRPC port, clashes are refused', () => {
  assert.deepEqual(resolvePorts({}, undefined), DEFAULT_PORTS);
  assert.deepEqual(resolvePorts({ temporal: 17233 }, undefined), { temporal: 17233, temporalUi: 18233, mlflow: 5000 });
  assert.deepEqual(resolvePorts({ temporal: 17233, temporalUi: 9000 }, undefined), {
    temporal: 17233,
    temporalUi: 9000,
    mlflow: 5000,
  });
  const saved = { temporal: 1, temporalUi: 2, mlflow: 3 };
  assert.deepEqual(resolvePorts({}, saved), saved);
  assert.deepEqual(resolvePorts({ mlflow: 15000 }, saved), { temporal: 1, temporalUi: 2, mlflow: 15000 });
  assert.throws(
    () => resolvePorts({ mlflow: 8233 }, undefined),
    (e) => e instanceof StackError && /three different ports/.test(e.message),
  );
});

test('MIRL_HOME: the flag, then the variable, then .mirl in the current directory', () => {
  assert.equal(stackHome('/a'), '/a');
  assert.equal(stackHome(undefined, { MIRL_HOME: '/b' }), '/b');
  assert.equal(stackHome(undefined, {}), path.resolve('.mirl'));
});

test('state file: round trip, absent, unreadable', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirl-state-'));
  try {
    const file = path.join(dir, 'sub', 'stack.json');
    assert.equal(readState(file), undefined);
    const state: StackState = { version: 1, home: dir, ports: DEFAULT_PORTS, services: {} };
    writeState(file, state);
    assert.deepEqual(readState(file), state);
    const old = { pid: 42, startTime: '7', marker: 'm', argv: ['x'], log: 'l', startedAt: 't' };
    writeFileSync(file, JSON.stringify({ ...state, services: { mlflow: old } }));
    assert.equal(readState(file)!.services.mlflow!.pgid, 42, "a record from before pgid was kept: the leader's pid");
    writeFileSync(file, '{nope');
    assert.throws(() => readState(file), StackStateError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'a detached process is ours by start time and command line; stopping it takes its whole group',
  { skip: process.platform !== 'linux' },
  async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mirl-proc-'));
    try {
      const marker = path.join(dir, 'marker-file');
      // A shell that leaves a child behind in its group, like MLflow's uvicorn workers.
      const rec = startDetached({
        argv: ['/bin/sh', '-c', `sleep 60 & sleep 60 # ${marker}`],
        cwd: dir,
        env: process.env,
        log: path.join(dir, 'logs', 'x.log'),
        marker,
      });
      assert.ok(isOurs(rec));
      const deadline = Date.now() + 5_000;
      while (groupMembers(rec.pid).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(groupMembers(rec.pid).length >= 2, 'the shell and its sleeps share the group');
      assert.equal(isOurs({ ...rec, startTime: '1' }), false, 'same pid, other start time: a reused pid');
      assert.equal(isOurs({ ...rec, marker: '/somewhere/else.db' }), false, 'another command line');
      assert.equal(await stopGroup(rec.pid, 5_000), 'stopped');
      assert.deepEqual(groupMembers(rec.pid), []);
      assert.equal(isOurs(rec), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'a group that ignores SIGTERM is killed after the grace period',
  { skip: process.platform !== 'linux' },
  async () => {
    const proc = spawn('/bin/sh', ['-c', "trap '' TERM; sleep 60 & wait"], { detached: true, stdio: 'ignore' });
    proc.unref();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await stopGroup(proc.pid!, 300), 'killed');
    assert.deepEqual(groupMembers(proc.pid!), []);
  },
);

test('group members: same pgrp, alive, not older than the leader, carrying the group token', () => {
  const rec = { pgid: 500, startTime: '1000', groupToken: 'abc' };
  const env = ['PATH=/bin', `${GROUP_TOKEN_VAR}=abc`];
  const ok = { state: 'S', pgrp: 500, startTime: '1200', environ: env };
  assert.equal(isGroupMember(rec, ok), true, 'an orphaned child');
  assert.equal(isGroupMember(rec, { ...ok, startTime: '1000' }), true, 'the leader itself');
  assert.equal(isGroupMember(rec, { ...ok, pgrp: 501 }), false, 'another group');
  assert.equal(isGroupMember(rec, { ...ok, state: 'Z' }), false, 'a zombie has exited');
  assert.equal(isGroupMember(rec, { ...ok, startTime: '999' }), false, 'older than our leader');
  assert.equal(
    isGroupMember(rec, { ...ok, environ: ['PATH=/bin', `${GROUP_TOKEN_VAR}=xyz`] }),
    false,
    'a new group that reused the pgid',
  );
  assert.equal(isGroupMember(rec, { ...ok, environ: undefined }), false, 'unreadable: not provably ours');
  assert.equal(
    isGroupMember({ pgid: 500, startTime: '1000' }, { ...ok, environ: undefined }),
    true,
    'an old record has only the start time',
  );
});

test(
  'down stops what a group left running after its leader died, and only that',
  { skip: process.platform !== 'linux' },
  async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'mirl-orphans-'));
    try {
      const marker = path.join(home, 'marker-file');
      // Two children that outlive the shell, like MLflow's uvicorn after its leader is killed.
      const rec = startDetached({
        argv: ['/bin/sh', '-c', `sleep 60 & sleep 60 & wait # ${marker}`],
        cwd: home,
        env: process.env,
        log: path.join(home, 'logs', 'x.log'),
        marker,
      });
      const deadline = Date.now() + 5_000;
      while (groupMembers(rec.pgid).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      process.kill(rec.pid, 'SIGKILL');
      while (isOurs(rec) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(isOurs(rec), false, 'the leader is gone');
      assert.equal(ourGroupMembers(rec).length, 2, 'both children are still ours');
      assert.deepEqual(
        ourGroupMembers({ ...rec, groupToken: 'someone-else' }),
        [],
        'without our token a group is not ours',
      );
      writeState(path.join(home, 'stack.json'), { version: 1, home, ports: DEFAULT_PORTS, services: { mlflow: rec } });
      const lines: string[] = [];
      const report = await stackDown({ home, progress: (l) => lines.push(l) });
      assert.deepEqual(report.services, [{ name: 'mlflow', pid: rec.pid, outcome: 'stopped', leftovers: 2 }]);
      assert.match(
        lines.join('\n'),
        new RegExp(`mlflow: leader \\(pid ${rec.pid}\\) gone, stopped 2 leftover processes of its group`),
      );
      assert.deepEqual(groupMembers(rec.pgid), []);
      assert.deepEqual(readState(path.join(home, 'stack.json'))!.services, {});
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  },
);

test('portFree: false while something listens, true after', async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as net.AddressInfo;
  assert.equal(await portFree(port), false);
  await new Promise<void>((r) => server.close(() => r()));
  assert.equal(await portFree(port), true);
});

test('client commands take the stack addresses from the state file unless the environment names a server', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'mirl-env-'));
  try {
    const none: NodeJS.ProcessEnv = {};
    applyStackEnvironment(none, home);
    assert.deepEqual(none, {}, 'no state file: nothing changes');
    writeState(path.join(home, 'stack.json'), {
      version: 1,
      home,
      ports: { temporal: 17233, temporalUi: 18233, mlflow: 15000 },
      services: {},
    });
    const env: NodeJS.ProcessEnv = {};
    applyStackEnvironment(env, home);
    assert.deepEqual(env, {
      TEMPORAL_ADDRESS: '127.0.0.1:17233',
      TEMPORAL_UI_URL: 'http://127.0.0.1:18233',
      MLFLOW_TRACKING_URI: 'http://127.0.0.1:15000',
    });
    const explicit: NodeJS.ProcessEnv = {
      TEMPORAL_ADDRESS: 'temporal.example.org:7233',
      MLFLOW_TRACKING_URI: 'https://mlflow.example.org',
    };
    applyStackEnvironment(explicit, home);
    assert.deepEqual(explicit, {
      TEMPORAL_ADDRESS: 'temporal.example.org:7233',
      MLFLOW_TRACKING_URI: 'https://mlflow.example.org',
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
