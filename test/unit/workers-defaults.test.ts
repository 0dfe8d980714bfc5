import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultBackendFor, defaultMaxConcurrent } from '../../workers/worker-defaults.js';

describe('worker defaults', () => {
  const saved = process.env.MIRL_BACKEND;
  afterEach(() => {
    if (saved === undefined) delete process.env.MIRL_BACKEND;
    else process.env.MIRL_BACKEND = saved;
  });

  it("gives a CPU queue the fastest backend here and a GPU queue TensorFlow's", () => {
    delete process.env.MIRL_BACKEND;
    assert.equal(defaultBackendFor('mirl-cpu'), 'auto');
    assert.equal(defaultBackendFor('mirl-gpu'), 'tensorflow');
    assert.equal(defaultMaxConcurrent('mirl-gpu'), 1);
    assert.ok(defaultMaxConcurrent('mirl-cpu') >= 1);
  });

  it('takes MIRL_BACKEND over the queue default', () => {
    process.env.MIRL_BACKEND = 'wasm';
    assert.equal(defaultBackendFor('mirl-gpu'), 'wasm');
  });

  it('refuses a MIRL_BACKEND that is not a backend, naming the allowed ones', () => {
    process.env.MIRL_BACKEND = 'tpu';
    assert.throws(() => defaultBackendFor('mirl-cpu'), /MIRL_BACKEND="tpu" is not one of auto, tensorflow, wasm, cpu/);
  });
});
