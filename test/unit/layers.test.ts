// Layers import downward only: nothing below the CLI imports it (bin/ and test/ sit above).
// A ratchet: the imports listed in KNOWN are the ones still to move (issue 17); any new
// upward import fails here, and a known one that is gone must leave the list.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BELOW_CLI = ['activities', 'bench', 'ml', 'report', 'results', 'servers', 'spec', 'tracking', 'workers', 'workflows'];
const KNOWN = new Set(['bench/orchestration.ts -> cli/commands/sweep-client.ts', 'bench/orchestration.ts -> cli/stack/services.ts']);

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

/** Every relative import of a file (static, dynamic and type-only), as a path from the root. */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]);
  return specs.map((s) => path.normalize(path.join(path.dirname(file), s)).replace(/\.js$/, '.ts'));
}

test('no module below the CLI imports cli/', () => {
  const upward = BELOW_CLI.flatMap(sources).flatMap((file) => importsOf(file).filter((t) => t.startsWith(`cli${path.sep}`)).map((t) => `${file} -> ${t}`));
  assert.deepEqual(upward.filter((u) => !KNOWN.has(u)), [], 'new upward imports');
  assert.deepEqual([...KNOWN].filter((k) => !upward.includes(k)), [], 'moved: take them off KNOWN');
});

test('the check sees an upward import when there is one', () => {
  assert.ok(importsOf('bench/orchestration.ts').includes(path.join('cli', 'stack', 'services.ts')));
});
