import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { sha256Hex, utf8Encode } from '../../sweep-spec/sha256.js';

describe('sha256Hex (pure, for the workflow sandbox)', () => {
  it('matches node:crypto on block boundaries and non-ASCII text', () => {
    const inputs = [
      '',
      'abc',
      'a'.repeat(55),
      'a'.repeat(56),
      'a'.repeat(63),
      'a'.repeat(64),
      'a'.repeat(65),
      'x'.repeat(10_000),
      'µ 互信息 𝄞',
    ];
    for (const text of inputs)
      assert.equal(sha256Hex(text), createHash('sha256').update(text, 'utf8').digest('hex'), `length ${text.length}`);
  });

  it('matches node:crypto on random bytes', () => {
    let state = 12345;
    for (let n = 0; n < 200; n++) {
      const bytes = new Uint8Array(n * 7);
      for (let i = 0; i < bytes.length; i++) {
        state = (state * 1103515245 + 12345) >>> 0;
        bytes[i] = state >>> 24;
      }
      assert.equal(sha256Hex(bytes), createHash('sha256').update(bytes).digest('hex'));
    }
  });

  it('encodes UTF-8 like TextEncoder, lone surrogates included', () => {
    for (const text of ['héllo', '𝄞', '\ud800x', 'x\udc00', '\uffff']) {
      assert.deepEqual(utf8Encode(text), new TextEncoder().encode(text));
    }
  });
});
