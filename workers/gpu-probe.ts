// Whether this host can serve the GPU trial queue on a GPU, found without loading
// native TensorFlow: a GPU worker that quietly trains on the CPU is the failure that costs a
// night of a shared cluster, so `mirl worker --task-queue mirl-gpu` refuses to start
// instead (unless told --allow-cpu).
import { gpuBuildInstalled, nvidiaDevices, type BackendRequest } from '../ml/backend.js';

export interface GpuProbe {
  /** NVIDIA devices the kernel driver exposes (/dev/nvidia0, ...). */
  devices: string[];
  /** Whether @tensorflow/tfjs-node-gpu (the CUDA build) is installed; tfjs-node is CPU only. */
  gpuBuild: boolean;
}

export function probeGpu(devDir = '/dev'): GpuProbe {
  return { devices: nvidiaDevices(devDir), gpuBuild: gpuBuildInstalled() };
}

/** Why trials on this host would not run on a GPU; null when they would (as far as can be told before loading). */
export function gpuQueueProblem(probe: GpuProbe, backend: BackendRequest): string | null {
  if (probe.devices.length === 0) return 'this host has no NVIDIA GPU (no /dev/nvidiaN)';
  if (backend === 'wasm' || backend === 'cpu') return `backend ${backend} never uses the GPU`;
  if (!probe.gpuBuild) {
    return 'the native TensorFlow here is the CPU build (tfjs-node); build the GPU one with MIRL_NATIVE_VARIANT=gpu bash scripts/setup-native.sh';
  }
  return null;
}
