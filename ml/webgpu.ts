// TensorFlow.js's WebGPU backend on Dawn's Node.js binding (npm `webgpu`): Vulkan reaches
// NVIDIA, AMD and Intel GPUs, and Mesa's software driver lavapipe runs the same kernels on
// a CPU, which is how CI tests this path. Dawn is loaded only when asked for, or when auto
// finds a GPU device node, so CPU hosts never pay for (or see the warnings of) its probe.
import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** What Dawn reports of the adapter TensorFlow.js runs on. */
export interface WebgpuAdapter {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software adapter (lavapipe / SwiftShader): correct but no faster than the CPU backends. */
  software: boolean;
}

let adapter: WebgpuAdapter | null = null;

/** The adapter of the loaded webgpu backend; null until it loaded. */
export function webgpuAdapter(): WebgpuAdapter | null {
  return adapter;
}

/** Device nodes a hardware Vulkan driver can use: /dev/nvidiaN, /dev/dri/renderD*. */
export function gpuDeviceNodes(devDir = '/dev'): string[] {
  const list = (dir: string, re: RegExp) => {
    try {
      return readdirSync(dir)
        .filter((n) => re.test(n))
        .map((n) => path.join(dir, n));
    } catch {
      return []; // No such folder (a container without /dev or /dev/dri): no devices.
    }
  };
  return [...list(devDir, /^nvidia\d+$/), ...list(path.join(devDir, 'dri'), /^renderD\d+$/)];
}

/** Name and kind of an adapter, as a bench row or a log line shows it. */
export function adapterLabel(a: WebgpuAdapter): string {
  const name = a.description || [a.vendor, a.device].filter(Boolean).join(' ') || 'unknown adapter';
  return a.software ? `${name} (software)` : name;
}

let dawnGpu: GPU | null = null;

/**
 * The adapter Dawn offers (a GPU first), or why there is none. Loads Dawn but not
 * TensorFlow.js, so a worker can check its GPU before it trains anything.
 */
export async function probeWebgpuAdapter(): Promise<WebgpuAdapter | string> {
  let dawn: typeof import('webgpu');
  try {
    dawn = await import('webgpu');
  } catch {
    return 'not installed (npm package webgpu)';
  }
  // Dawn's Vulkan loader looks for a runtime directory and warns on every start without one.
  process.env.XDG_RUNTIME_DIR ??= os.tmpdir();
  // On Linux Dawn offers its Vulkan adapters only when asked for that backend by name.
  dawnGpu ??= dawn.create(process.platform === 'linux' ? ['backend=vulkan'] : []);
  Object.assign(globalThis, dawn.globals);
  const found = await dawnGpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!found) return 'no WebGPU adapter (a Vulkan GPU driver, or on a CPU mesa-vulkan-drivers >= 25)';
  const { vendor, architecture, device, description, isFallbackAdapter } = found.info;
  return { vendor, architecture, device, description, software: isFallbackAdapter || architecture === 'software' };
}

/**
 * Loads the webgpu backend: true, or why not. Under auto a software adapter is refused,
 * since there the native and wasm backends are faster; asked for by name, it is used.
 */
export async function webgpuLoader(auto: boolean): Promise<true | string> {
  if (adapter) return true;
  if (auto && gpuDeviceNodes().length === 0) return 'no GPU device (/dev/nvidiaN, /dev/dri/renderD*)';
  const found = await probeWebgpuAdapter();
  if (typeof found === 'string') return found;
  if (auto && found.software) return `only a software adapter (${found.description})`;
  exposeGpu(dawnGpu!);
  // Registers the backend at import, and only where navigator.gpu exists.
  await import('@tensorflow/tfjs-backend-webgpu');
  adapter = found;
  return true;
}

/** navigator.gpu, as a browser has it: Node 20 has no navigator, Node 21+ has one without gpu. */
function exposeGpu(gpu: GPU): void {
  const g = globalThis as { navigator?: object };
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
}
