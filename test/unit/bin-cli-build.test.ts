// The CLI's bundle (bin/cli-build.mjs): rebuilt when a source changes, and each bundled
// module still knows where its source file lives.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
// @ts-expect-error: a plain ES module without types, run before tsx exists
import { BUILD_DIR, builtCli, ROOT, sourceStamp } from '../../bin/cli-build.mjs';

test('the stamp follows the sources: a new source changes it, removing it restores it, an edit changes it', () => {
  const file = path.join(ROOT, 'cli', `stamp-probe-${process.pid}.ts`);
  const before = sourceStamp() as string;
  assert.equal(sourceStamp(), before, 'stable while nothing changes');
  try {
    writeFileSync(file, 'export const a = 1;\n');
    const added = sourceStamp() as string;
    assert.notEqual(added, before);
    writeFileSync(file, 'export const a = 22;\n');
    assert.notEqual(sourceStamp(), added, 'an edit that changes the size');
  } finally {
    rmSync(file, { force: true });
  }
  assert.equal(sourceStamp(), before);
});

test("the bundle keeps each module's own import.meta.url and runs the CLI", async () => {
  const entry = (await builtCli()) as string | null;
  assert.ok(entry, 'the bundle builds here');
  assert.ok(entry.startsWith(pathToFileURL(BUILD_DIR).href), entry);
  const dir = path.dirname(new URL(entry).pathname);
  const code = readdirSync(dir)
    .map((f) => readFileSync(path.join(dir, f), 'utf8'))
    .join('\n');
  // The trainer is found beside trainer-pool.ts, not beside the bundle.
  assert.ok(code.includes(JSON.stringify(pathToFileURL(path.join(ROOT, 'activities', 'trainer-pool.ts')).href)));
  assert.ok(!/import\.meta\.url/.test(code), "no module reads the bundle's own URL");
  const run = spawnSync(process.execPath, ['bin/mirl.js', '--version'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, MIRL_CLI_BUILD: '1' },
  });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim(), JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
});
