// `sweep launch --priority`: a key Temporal takes, or a usage error that names the allowed
// values before anything connects or launches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { priorityOption } from '../../cli/commands/sweep-launch.js';
import { EXIT, UsageError } from '../../cli/errors.js';

test('--priority takes 1 to 5 and refuses anything else, naming the allowed values', () => {
  assert.equal(priorityOption(undefined), undefined);
  for (const p of [1, 2, 3, 4, 5]) assert.equal(priorityOption(p), p);
  for (const bad of [0, 6, 2.5, -1])
    assert.throws(
      () => priorityOption(bad),
      (e: unknown) => e instanceof UsageError && /one of 1, 2, 3, 4, 5/.test(e.message),
    );
});

test('a bad --priority fails before any server is asked', () => {
  // An address nothing listens on: had the command tried to connect, the error would say so.
  const run = spawnSync(process.execPath, ['bin/mirl.js', 'sweep', 'launch', 'sweeps/smoke.yaml', '--priority', '9'], {
    encoding: 'utf8',
    env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:9' },
  });
  assert.equal(run.status, EXIT.usage, run.stderr);
  assert.match(run.stderr, /--priority must be one of 1, 2, 3, 4, 5 \(1 runs first\), got 9/);
});

test('a mistyped command is a usage error that suggests the command meant', () => {
  const mirl = (...args: string[]) =>
    spawnSync(process.execPath, ['bin/mirl.js', ...args], {
      encoding: 'utf8',
      env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:9' },
    });
  for (const [typed, meant] of [
    [['sweep', 'lanch', 'sweeps/smoke.yaml'], 'launch'],
    [['compar'], 'compare'],
  ] as const) {
    const run = mirl(...typed);
    assert.equal(run.status, EXIT.usage, run.stderr);
    assert.match(run.stderr, new RegExp(`Did you mean ${meant}\\?`));
  }
});
