// Layers import downward only: nothing below the CLI imports it (bin/ and test/ sit above).
// The last upward imports (the bench reaching into cli/) moved in issue 17; none may return.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BELOW_CLI = [
  'activities',
  'bench',
  'client',
  'ml',
  'report',
  'results',
  'servers',
  'sweep-spec',
  'tracking',
  'workers',
  'workflows',
];

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
  const upward = BELOW_CLI.flatMap(sources).flatMap((file) =>
    importsOf(file)
      .filter((t) => t.startsWith(`cli${path.sep}`))
      .map((t) => `${file} -> ${t}`),
  );
  assert.deepEqual(upward, [], 'upward imports');
});

test('the check sees the imports a file makes', () => {
  assert.ok(importsOf('cli/errors.ts').includes(path.join('client', 'sweeps.ts')));
  assert.ok(importsOf('bench/orchestration.ts').includes(path.join('servers', 'processes.ts')));
});
