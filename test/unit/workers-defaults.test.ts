import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultBackend, defaultMaxConcurrent } from '../../workers/worker-defaults.js';

describe('worker defaults', () => {
  const saved = process.env.MIRL_BACKEND;
  afterEach(() => {
    if (saved === undefined) delete process.env.MIRL_BACKEND;
    else process.env.MIRL_BACKEND = saved;
  });

  it('gives every queue auto (a GPU first), a GPU queue one trial at a time', () => {
    delete process.env.MIRL_BACKEND;
    assert.equal(defaultBackend(), 'auto');
    assert.equal(defaultMaxConcurrent('mirl-gpu'), 1);
    assert.ok(defaultMaxConcurrent('mirl-cpu') >= 1);
  });

  it('takes MIRL_BACKEND over the default', () => {
    process.env.MIRL_BACKEND = 'wasm';
    assert.equal(defaultBackend(), 'wasm');
  });

  it('refuses a MIRL_BACKEND that is not a backend, naming the allowed ones', () => {
    process.env.MIRL_BACKEND = 'tpu';
    assert.throws(() => defaultBackend(), /MIRL_BACKEND="tpu" is not one of auto, tensorflow, webgpu, wasm, cpu/);
  });
});
