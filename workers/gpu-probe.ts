// Whether this host can serve the GPU trial queue on a GPU, found without loading
// TensorFlow: a GPU worker that quietly trains on the CPU is the failure that costs a
// night of a shared cluster, so `mirl worker --task-queue mirl-gpu` refuses to start
// instead (unless told --allow-cpu).
import { gpuBuildInstalled, nvidiaDevices, type BackendRequest } from '../ml/backend.js';
import { adapterLabel, gpuDeviceNodes, probeWebgpuAdapter, type WebgpuAdapter } from '../ml/webgpu.js';

export interface GpuProbe {
  /** NVIDIA devices the kernel driver exposes (/dev/nvidia0, ...). */
  devices: string[];
  /** Whether @tensorflow/tfjs-node-gpu (the CUDA build) is installed; tfjs-node is CPU only. */
  gpuBuild: boolean;
  /** The adapter WebGPU would use, or why there is none (asked only where a device node exists). */
  webgpu: WebgpuAdapter | string;
}

export async function probeGpu(devDir = '/dev'): Promise<GpuProbe> {
  // Without a device node there is no hardware adapter to find: Dawn is not loaded.
  const webgpu = gpuDeviceNodes(devDir).length > 0 ? await probeWebgpuAdapter() : 'no GPU device node';
  return { devices: nvidiaDevices(devDir), gpuBuild: gpuBuildInstalled(), webgpu };
}

function webgpuProblem(probe: GpuProbe): string | null {
  if (typeof probe.webgpu === 'string') return `webgpu has no GPU: ${probe.webgpu}`;
  if (probe.webgpu.software) return `webgpu found only a software adapter (${adapterLabel(probe.webgpu)})`;
  return null;
}

function cudaProblem(probe: GpuProbe): string | null {
  if (probe.devices.length === 0) return 'this host has no NVIDIA GPU (no /dev/nvidiaN)';
  if (!probe.gpuBuild) {
    return 'the native TensorFlow here is the CPU build (tfjs-node); build the GPU one with MIRL_NATIVE_VARIANT=gpu bash scripts/setup-native.sh';
  }
  return null;
}

/** Why trials on this host would not run on a GPU; null when they would (as far as can be told before loading). */
export function gpuQueueProblem(probe: GpuProbe, backend: BackendRequest): string | null {
  if (backend === 'wasm' || backend === 'cpu') return `backend ${backend} never uses the GPU`;
  if (backend === 'webgpu') return webgpuProblem(probe);
  const cuda = cudaProblem(probe);
  // auto takes either GPU route (ml/backend.ts): CUDA TensorFlow first, then a WebGPU adapter.
  if (backend === 'auto' && cuda && webgpuProblem(probe) === null) return null;
  return cuda;
}
