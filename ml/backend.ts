// Picks the TensorFlow.js backend a trial runs on. One model code path serves every
// backend; only the choice (and its report) lives here.
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { gpuDeviceNodes, webgpuLoader } from './webgpu.js';
import { BACKENDS } from './config.js';

export type BackendRequest = (typeof BACKENDS)[number];
export type BackendName = Exclude<BackendRequest, 'auto'>;

const require = createRequire(import.meta.url);

/** The GPU build first: a GPU worker has both, and the GPU one registers the same backend. */
const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

/** NVIDIA devices the kernel driver exposes (/dev/nvidia0, ...): what a CUDA build can use. */
export function nvidiaDevices(devDir = '/dev'): string[] {
  return gpuDeviceNodes(devDir).filter((node) => /^nvidia\d+$/.test(path.basename(node)));
}

/** Whether the CUDA build of native TensorFlow.js is installed (tfjs-node is CPU only). */
export function gpuBuildInstalled(): boolean {
  try {
    require.resolve(NATIVE_PACKAGES[0]);
    return true;
  } catch {
    return false;
  }
}

async function tryTensorflow(): Promise<boolean> {
  const userLevel = process.env.TF_CPP_MIN_LOG_LEVEL;
  for (const pkg of NATIVE_PACKAGES) {
    // The CUDA build on a host without a GPU logs a cuInit error at every start; mirl says
    // it once, in its own words, and silences TensorFlow's (unless the user set a level).
    const cpuOnly = pkg === NATIVE_PACKAGES[0] && nvidiaDevices().length === 0;
    // Otherwise TensorFlow's C++ logging (oneDNN notices, CPU feature lines) would drown trial output.
    process.env.TF_CPP_MIN_LOG_LEVEL = userLevel ?? (cpuOnly ? '3' : '2');
    try {
      // Optional: installed by scripts/setup-native.sh where its native library could be set up.
      await import(pkg);
      if (tf.findBackendFactory('tensorflow') != null) {
        if (cpuOnly)
          process.stderr.write('mirl: tfjs-node-gpu found no GPU (no /dev/nvidiaN): TensorFlow runs on the CPU\n');
        return true;
      }
    } catch {
      // Not installed or its library does not load: try the next, then other backends.
    }
  }
  return false;
}

async function tryWasm(): Promise<boolean> {
  try {
    const imported = await import('@tensorflow/tfjs-backend-wasm');
    // CommonJS: Node offers its exports by name and as default, a bundle (gpu-check) only as default.
    const wasm = imported.default ?? imported;
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(dir + path.sep);
    return true;
  } catch {
    return false;
  }
}

type Loader = (auto: boolean) => Promise<true | string>;

const loaders: Record<BackendName, Loader> = {
  tensorflow: async () => (await tryTensorflow()) || 'not installed',
  webgpu: webgpuLoader,
  wasm: async () => (await tryWasm()) || 'not installed',
  cpu: async () => true,
};

/**
 * Fastest first: a GPU through native TensorFlow (its CUDA build on a host with NVIDIA
 * devices) or through WebGPU (a hardware adapter only: auto never picks a software
 * Vulkan driver), then native TensorFlow on the CPU, WebAssembly (SIMD), plain JS.
 */
function autoOrder(): BackendName[] {
  const cudaFirst = gpuBuildInstalled() && nvidiaDevices().length > 0;
  return cudaFirst ? ['tensorflow', 'webgpu', 'wasm', 'cpu'] : ['webgpu', 'tensorflow', 'wasm', 'cpu'];
}

export class BackendUnavailableError extends Error {}

/**
 * Activates the requested backend and returns the one actually running. tfjs falls
 * back silently when a backend fails to initialise, so the result is checked.
 */
export async function initBackend(request: BackendRequest = 'auto'): Promise<BackendName> {
  // Production mode drops debug-only checks and the console banner of the plain JS backend.
  tf.enableProdMode();
  const auto = request === 'auto';
  const candidates = auto ? autoOrder() : [request];
  const failures: string[] = [];
  for (const name of candidates) {
    if (tf.getBackend() === name) return name;
    const loaded = await loaders[name](auto);
    if (loaded !== true) {
      failures.push(`${name}: ${loaded}`);
      continue;
    }
    try {
      if ((await tf.setBackend(name)) && tf.getBackend() === name) {
        await tf.ready();
        return name;
      }
      failures.push(`${name}: failed to initialise`);
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message}`);
    }
  }
  throw new BackendUnavailableError(`backend "${request}" is not available (${failures.join('; ')})`);
}

export function backendFromEnv(): BackendRequest {
  const v = process.env.MIRL_BACKEND ?? 'auto';
  if (!(BACKENDS as readonly string[]).includes(v)) {
    throw new BackendUnavailableError(`MIRL_BACKEND="${v}" is not one of ${BACKENDS.join(', ')}`);
  }
  return v as BackendRequest;
}

/** Every backend that loads here (webgpu on a software adapter too); activates each in turn to find out. */
export async function availableBackends(): Promise<BackendName[]> {
  const found: BackendName[] = [];
  for (const b of ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const) {
    try {
      await initBackend(b);
      found.push(b);
    } catch {
      // Not installed or does not load on this machine.
    }
  }
  return found;
}
