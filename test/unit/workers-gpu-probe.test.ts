import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gpuQueueProblem, probeGpu } from '../../workers/gpu-probe.js';
import { gpuDeviceNodes } from '../../ml/webgpu.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('GPU probe', () => {
  let dev: string;
  before(async () => {
    dev = await mkdtemp(path.join(os.tmpdir(), 'mirl-dev-'));
  });
  after(async () => {
    await rm(dev, { recursive: true, force: true });
  });

  it('counts /dev/nvidiaN devices, not the control nodes beside them', async () => {
    assert.deepEqual((await probeGpu(dev)).devices, []);
    for (const name of ['nvidiactl', 'nvidia-uvm', 'nvidia0', 'nvidia1']) await writeFile(path.join(dev, name), '');
    assert.deepEqual((await probeGpu(dev)).devices.sort(), [path.join(dev, 'nvidia0'), path.join(dev, 'nvidia1')]);
    assert.deepEqual((await probeGpu(path.join(dev, 'missing'))).devices, []);
  });

  it('finds render nodes for WebGPU, and asks Dawn only where one exists', async () => {
    const bare = await mkdtemp(path.join(os.tmpdir(), 'mirl-dev-'));
    assert.equal((await probeGpu(bare)).webgpu, 'no GPU device node');
    assert.deepEqual(gpuDeviceNodes(bare), []);
    await mkdir(path.join(bare, 'dri'));
    for (const name of ['card0', 'renderD128']) await writeFile(path.join(bare, 'dri', name), '');
    assert.deepEqual(gpuDeviceNodes(bare), [path.join(bare, 'dri', 'renderD128')]);
    // Dawn then answers for the real machine: here lavapipe, a software adapter.
    const { webgpu } = await probeGpu(bare);
    assert.ok(typeof webgpu === 'string' || webgpu.software, JSON.stringify(webgpu));
    await rm(bare, { recursive: true, force: true });
  });

  it('names what keeps GPU trials off the GPU, in the order a host fails', () => {
    const noWebgpu = 'no GPU device node';
    const gpu = { devices: ['/dev/nvidia0'], gpuBuild: true, webgpu: noWebgpu };
    assert.match(gpuQueueProblem({ ...gpu, devices: [] }, 'tensorflow')!, /no NVIDIA GPU/);
    assert.match(gpuQueueProblem(gpu, 'wasm')!, /backend wasm never uses the GPU/);
    assert.match(gpuQueueProblem({ ...gpu, gpuBuild: false }, 'auto')!, /CPU build.*MIRL_NATIVE_VARIANT=gpu/);
    assert.equal(gpuQueueProblem(gpu, 'tensorflow'), null);
    assert.equal(gpuQueueProblem(gpu, 'auto'), null);
    // WebGPU: a hardware adapter serves the queue (auto takes it too); lavapipe does not.
    const adapter = {
      vendor: 'nvidia',
      architecture: 'hopper',
      device: 'H200',
      description: 'NVIDIA H200',
      software: false,
    };
    const lavapipe = { ...adapter, vendor: 'mesa', architecture: 'software', description: 'llvmpipe', software: true };
    assert.match(gpuQueueProblem(gpu, 'webgpu')!, /webgpu has no GPU: no GPU device node/);
    assert.match(
      gpuQueueProblem({ ...gpu, webgpu: lavapipe }, 'webgpu')!,
      /only a software adapter \(llvmpipe \(software\)\)/,
    );
    assert.equal(gpuQueueProblem({ ...gpu, webgpu: adapter }, 'webgpu'), null);
    assert.equal(gpuQueueProblem({ devices: [], gpuBuild: false, webgpu: adapter }, 'auto'), null);
    assert.match(gpuQueueProblem({ devices: [], gpuBuild: false, webgpu: lavapipe }, 'auto')!, /no NVIDIA GPU/);
  });

  it('`mirl worker --task-queue mirl-gpu` refuses, in one line with exit 2, before connecting anywhere', () => {
    // --backend cpu is refused on every host (with or without a GPU), so the outcome is fixed.
    const run = spawnSync(process.execPath, ['bin/mirl.js', 'worker', '--task-queue', 'mirl-gpu', '--backend', 'cpu'], {
      cwd: ROOT,
      encoding: 'utf8',
      // A Temporal address nobody listens on: a worker that got past the check would fail differently.
      env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' },
      timeout: 60_000,
    });
    assert.equal(run.status, 2, run.stderr);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0], /--task-queue mirl-gpu: .*(no NVIDIA GPU|backend cpu never uses the GPU).*--allow-cpu/);
  });
});
