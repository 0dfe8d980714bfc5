// A YAML syntax error is one line with its line and column, however many errors the
// parser raised after the first (an unclosed `[` inside a `{` used to print three).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describeFailure, EXIT } from '../../cli/errors.js';
import { formatSpecError, isSpecError, ROOT_PATH, type SpecError } from '../../sweep-spec/errors.js';
import { loadSpecFile } from '../../sweep-spec/load.js';
import { parseSpec } from '../../sweep-spec/parse.js';

const HEAD = 'name: demo\nstudy: demo-study\n';
const FILE = 'sweeps/x.yaml';

function rejects(run: () => unknown): SpecError {
  try {
    run();
  } catch (err) {
    assert.ok(isSpecError(err), `expected a SpecError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the spec to be rejected');
}

// [spec, line, column, code]: each of the first three made the parser raise two or three errors.
const BROKEN: [string, number, number, string][] = [
  [`${HEAD}trial: {a: 1, b: {c: [1, 2}\n`, 3, 27, 'BAD_INDENT'],
  [`${HEAD}trial:\n  steps: 1\n   lr: 2\n`, 4, 10, 'BLOCK_AS_IMPLICIT_KEY'],
  [`${HEAD}name: again\nstudy: again\n`, 3, 1, 'DUPLICATE_KEY'],
  [`${HEAD}a: b: c\n`, 3, 4, 'BLOCK_AS_IMPLICIT_KEY'],
  [`${HEAD}grid:\n  critic: [bilinear, separable\ntrial: {}\n`, 5, 1, 'BAD_INDENT'],
  [`${HEAD}trial: [a, b]]\n`, 3, 14, 'UNEXPECTED_TOKEN'],
  [`${HEAD}trial:\n\tsteps: 1\n`, 4, 1, 'TAB_AS_INDENT'],
];

describe('YAML syntax errors', () => {
  for (const [source, line, column, code] of BROKEN) {
    it(`${JSON.stringify(source.slice(HEAD.length))}: one line at ${line}:${column} (${code})`, () => {
      const err = rejects(() => parseSpec(source, FILE));
      assert.equal(err.issues.length, 1, formatSpecError(err));
      const [issue] = err.issues;
      assert.equal(issue.path, ROOT_PATH);
      assert.deepEqual([issue.line, issue.column], [line, column]);
      const text = formatSpecError(err);
      assert.equal(text.split('\n').length, 1);
      assert.match(text, new RegExp(`^sweeps/x\\.yaml:${line}:${column}: YAML: [^\\n]+ \\(${code}\\)$`));
    });
  }
});

describe('what `mirl sweep validate` prints for a file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mirl-yaml-errors-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('one line naming the file, line and column, as a usage error', async () => {
    const file = path.join(dir, 'broken.yaml');
    await writeFile(file, BROKEN[0][0]);
    const err = rejects(() => loadSpecFile(file));
    const { message, code } = describeFailure(err);
    assert.equal(code, EXIT.usage);
    assert.equal(message.split('\n').length, 1, message);
    assert.ok(message.startsWith(`${file}:3:27: YAML: `), message);
  });
});
