// A real MLflow server whose recorded pid alone is killed (an OOM kill, a stray `kill`)
// leaves its uvicorn child serving the port. `up` must see that child as the rest of its
// own group, stop it and start MLflow afresh, not refuse the port as another program's;
// `down` then leaves nothing of any group it started. The worker and Temporal are left
// out: the leftovers are MLflow's, and a full stack triples the time on 2 cores.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mlflowReady } from '../../cli/stack/health.js';
import { portFree } from '../../cli/stack/ports.js';
import { groupMembers, isOurs, ourGroupMembers } from '../../cli/stack/processes.js';
import { stackDown, stackUp, type UpOptions } from '../../cli/stack/stack.js';
import { readState } from '../../cli/stack/state.js';
import { freePort } from '../support/processes.js';

let home: string | undefined;

after(async () => {
  if (!home) return;
  await stackDown({ home });
  if (process.env.MIRL_KEEP_TEST_DIR !== '1') await rm(path.dirname(home), { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('up replaces an MLflow whose leader was killed but whose child still serves the port; down leaves no group alive', async () => {
  home = path.join(await mkdtemp(path.join(os.tmpdir(), 'mirl-orphans-')), 'home');
  const ports = { temporal: await freePort(), temporalUi: await freePort(), mlflow: await freePort() };
  const lines: string[] = [];
  const opts: UpOptions = {
    home,
    ports,
    services: ['mlflow'],
    worker: { taskQueue: 'unused' },
    progress: (l) => lines.push(l),
  };
  const first = await stackUp(opts);
  assert.deepEqual(
    first.services.map((s) => [s.name, s.status]),
    [['mlflow', 'started']],
  );
  const stateFile = path.join(home, 'stack.json');
  const old = readState(stateFile)!.services.mlflow!;
  assert.equal(old.pgid, old.pid);
  const oldMembers = groupMembers(old.pgid);
  assert.ok(oldMembers.length >= 2, `MLflow and its uvicorn share the group (${oldMembers.join(', ')})`);

  process.kill(old.pid, 'SIGKILL');
  for (let i = 0; i < 100 && isOurs(old); i++) await sleep(50);
  assert.equal(isOurs(old), false, 'the recorded pid is gone');
  const orphans = ourGroupMembers(old);
  assert.ok(orphans.length >= 1, 'its child lives on');
  assert.ok(await mlflowReady(ports.mlflow), 'and still serves the port');

  const again = await stackUp(opts);
  assert.deepEqual(
    again.services.map((s) => [s.name, s.status]),
    [['mlflow', 'started']],
  );
  assert.ok(
    lines.some((l) =>
      new RegExp(`^mlflow: leader \\(pid ${old.pid}\\) gone, stopping ${orphans.length} leftover`).test(l),
    ),
    lines.join('\n'),
  );
  const fresh = readState(stateFile)!.services.mlflow!;
  assert.notEqual(fresh.pid, old.pid);
  assert.ok(await mlflowReady(ports.mlflow), 'the new MLflow answers');
  assert.deepEqual(groupMembers(old.pgid), [], 'nothing of the old group is alive');

  const down = await stackDown({ home });
  assert.deepEqual(down.services, [{ name: 'mlflow', pid: fresh.pid, outcome: 'stopped', leftovers: 0 }]);
  assert.deepEqual(groupMembers(fresh.pgid), [], 'nothing of the new group is alive');
  assert.ok(await portFree(ports.mlflow), 'the port is free');
  assert.deepEqual(readState(stateFile)!.services, {});
});
