// What a benchmark ran on, written at the top of its output: numbers from one machine
// mean little without the machine.
import os from 'node:os';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BackendName } from '../ml/backend.js';

const require = createRequire(import.meta.url);

function packageVersion(name: string): string | null {
  // Packages with an exports map hide package.json from require.resolve: walk up from the entry.
  let dir: string;
  try {
    dir = path.dirname(require.resolve(name));
  } catch {
    return null;
  }
  for (; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === name) return pkg.version ?? null;
    } catch {
      // no package.json at this level
    }
  }
  return null;
}

export interface MachineDescription {
  cpu: string;
  cores: number;
  memory_gb: number;
  load_average_1m_at_start: number;
  node: string;
  platform: string;
  backends: BackendName[];
  packages: Record<string, string | null>;
}

export function describeMachine(backends: BackendName[]): MachineDescription {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memory_gb: Math.round((10 * os.totalmem()) / 2 ** 30) / 10,
    // Other work on a shared machine shows here: the timings are only as quiet as this.
    load_average_1m_at_start: Math.round(100 * os.loadavg()[0]) / 100,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    backends,
    packages: Object.fromEntries(
      [
        '@tensorflow/tfjs',
        '@tensorflow/tfjs-backend-wasm',
        '@tensorflow/tfjs-node',
        '@tensorflow/tfjs-backend-webgpu',
        'webgpu',
        'ml-matrix',
        '@temporalio/worker',
      ].map((p) => [p, packageVersion(p)]),
    ),
  };
}
