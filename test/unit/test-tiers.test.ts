// The test tiers' own tooling: the reporter that prints the slowest files at the end of a
// run, and .ci/run's closing summary over every tier's log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../support/processes.js';

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mirl-tiers-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('the durations reporter lists test files slowest first, with their times, and records them', async () => {
  await withDir(async (dir) => {
    const slow = path.join(dir, 'slow.test.mjs');
    const quick = path.join(dir, 'quick.test.mjs');
    await writeFile(slow, "import test from 'node:test';\ntest('s', () => new Promise((r) => setTimeout(r, 600)));\n");
    await writeFile(quick, "import test from 'node:test';\ntest('q', () => {});\n");
    const timings = path.join(dir, 'timings.jsonl');
    const reporter = path.join(REPO_ROOT, 'test/support/durations-reporter.mjs');
    const run = spawnSync(process.execPath, ['--test', `--test-reporter=${reporter}`, quick, slow], {
      cwd: dir,
      encoding: 'utf8',
      // Without the parent run's NODE_TEST_CONTEXT, or the nested runner reports to it instead of stdout.
      env: { ...process.env, NODE_TEST_CONTEXT: undefined, MIRL_TEST_TIMINGS: timings },
    });
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.match(lines[0], /^slowest 2 of 2 test files \(\d+ s of file time\):$/);
    assert.match(lines[1], /^\s+\d+\.\d s {2}slow\.test\.mjs$/);
    assert.match(lines[2], /^\s+\d+\.\d s {2}quick\.test\.mjs$/);
    const recorded = (await readFile(timings, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { file: string; seconds: number; passed: boolean });
    const slowRow = recorded.find((r) => r.file === 'slow.test.mjs');
    assert.ok(slowRow && slowRow.seconds >= 0.6 && slowRow.passed, JSON.stringify(recorded));
  });
});

test("CI's summary sums every tier's counts into one closing line, failures and cancellations as failed", async () => {
  await withDir(async (dir) => {
    const timings = path.join(dir, 'timings.jsonl');
    await writeFile(timings, ['{"file":"a.test.ts","seconds":3,"passed":true}', ''].join('\n'));
    const logs = [path.join(dir, 'one.log'), path.join(dir, 'two.log')];
    await writeFile(logs[0], 'ℹ tests 5\nℹ pass 4\nℹ fail 1\nℹ cancelled 0\nℹ skipped 0\n');
    await writeFile(logs[1], 'ℹ pass 7\nℹ fail 0\nℹ cancelled 2\nℹ skipped 1\n');
    const run = spawnSync(process.execPath, [path.join(REPO_ROOT, 'test/support/ci-summary.mjs'), timings, ...logs], {
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.match(lines[1], /3\.0 s {2}a\.test\.ts/);
    assert.equal(lines.at(-1), 'ci: 11 passed, 3 failed, 1 skipped');
  });
});
