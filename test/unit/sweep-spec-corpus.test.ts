// A generated corpus of malformed specs: every one must be rejected with a SpecError
// whose issues each name a path, and the parser must never throw anything else.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatSpecError, isSpecError, type SpecError } from '../../sweep-spec/errors.js';
import { parseSpec } from '../../sweep-spec/parse.js';
import { FILE, cases, validBytes } from '../support/sweep-spec-corpus.js';

function parseOutcome(bytes: Buffer): { ok: true } | { ok: false; err: unknown } {
  try {
    parseSpec(bytes, FILE);
    return { ok: true };
  } catch (err) {
    return { ok: false, err };
  }
}

function checkIssues(err: SpecError, label: string): void {
  assert.ok(err.issues.length > 0, `${label}: no issues`);
  for (const issue of err.issues) {
    assert.equal(typeof issue.path, 'string', `${label}: path`);
    assert.ok(issue.path.length > 0, `${label}: empty path`);
    assert.equal(issue.file, FILE, `${label}: file`);
    assert.ok(issue.message.length > 0, `${label}: empty message`);
    assert.ok(!issue.message.includes('\n'), `${label}: multi-line message ${JSON.stringify(issue.message)}`);
  }
  assert.equal(formatSpecError(err).split('\n').length, err.issues.length, `${label}: one line per issue`);
}

describe('malformed spec corpus', () => {
  it('the unmutated spec is valid (so every rejection below is caused by its mutation)', () => {
    assert.deepEqual(parseOutcome(validBytes), { ok: true });
  });

  it(`has at least 200 cases (${cases.length})`, () => {
    assert.ok(cases.length >= 200, String(cases.length));
  });

  it('rejects every case with a SpecError whose issues each name a path', () => {
    const failures: string[] = [];
    for (const c of cases) {
      const outcome = parseOutcome(c.bytes);
      if (outcome.ok) {
        failures.push(`${c.name}: accepted`);
        continue;
      }
      if (!isSpecError(outcome.err)) {
        failures.push(`${c.name}: threw ${String(outcome.err)}`);
        continue;
      }
      checkIssues(outcome.err, c.name);
      if (c.expectPath && !outcome.err.issues.some((i) => i.path.startsWith(c.expectPath!))) {
        failures.push(
          `${c.name}: no issue under ${c.expectPath}; got ${outcome.err.issues.map((i) => i.path).join(', ')}`,
        );
      }
    }
    assert.deepEqual(failures, []);
  });

  it('random byte mutations of a valid spec either parse or fail with a SpecError, never anything else', () => {
    let state = 20261129;
    const random = (n: number) => {
      state = (state * 1664525 + 1013904223) >>> 0;
      return state % n;
    };
    const alphabet = Buffer.from(':-[]{}#&*!|>\'"%@`,? \n\t0123456789abcxyz\u00e9');
    for (let round = 0; round < 400; round++) {
      const bytes = Buffer.from(validBytes);
      const edits = 1 + random(4);
      let out = bytes;
      for (let e = 0; e < edits; e++) {
        const at = random(out.length);
        const op = random(3);
        if (op === 0) out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
        else if (op === 1)
          out = Buffer.concat([
            out.subarray(0, at),
            Buffer.from([alphabet[random(alphabet.length)]]),
            out.subarray(at),
          ]);
        else out[at] = random(256);
      }
      const outcome = parseOutcome(out);
      if (!outcome.ok) {
        assert.ok(isSpecError(outcome.err), `round ${round}: threw ${String(outcome.err)}\n${out.toString('latin1')}`);
        checkIssues(outcome.err, `round ${round}`);
      }
    }
  });
});
