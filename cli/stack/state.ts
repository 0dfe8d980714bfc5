// The stack's state file (MIRL_HOME/stack.json): the ports the stack was started on and,
// for each process `up` started, what `down` needs to find exactly that process again.
// The ports outlive `down` so the next `up` (and every client command) uses the same ones.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const SERVICES = ['temporal', 'mlflow', 'worker'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface StackPorts {
  temporal: number;
  temporalUi: number;
  mlflow: number;
}

export const DEFAULT_PORTS: StackPorts = { temporal: 7233, temporalUi: 8233, mlflow: 5000 };

export interface ProcessRecord {
  /** The group leader `up` started. */
  pid: number;
  /**
   * The process group it leads (its pid at start). Kept apart from pid because the group
   * outlives its leader: MLflow's uvicorn child goes on serving the port after the leader dies.
   */
  pgid: number;
  /** Kernel start time of the pid (clock ticks since boot on Linux, `ps lstart` elsewhere): a reused pid has another. */
  startTime: string | null;
  /**
   * A random value put in the leader's environment, which its children inherit: once the leader
   * is gone, it tells the group's leftovers apart from a new group that reused the pgid.
   * Absent in state files written before it existed.
   */
  groupToken?: string;
  /** A piece of the command line only our process has (its data file, or `bin/mirl.js worker`). */
  marker: string;
  argv: string[];
  log: string;
  startedAt: string;
}

export interface StackState {
  version: 1;
  home: string;
  ports: StackPorts;
  services: Partial<Record<ServiceName, ProcessRecord>>;
}

export class StackStateError extends Error {}

export function readState(file: string): StackState | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let parsed: StackState;
  try {
    parsed = JSON.parse(text) as StackState;
  } catch {
    throw new StackStateError(`${file} is not valid JSON; stop any stack processes by hand and delete it`);
  }
  if (parsed.version !== 1 || typeof parsed.ports !== 'object')
    throw new StackStateError(`${file}: unknown state format`);
  parsed.services ??= {};
  // Files from before pgid was recorded: every service was started as its group's leader.
  for (const rec of Object.values(parsed.services)) if (rec) rec.pgid ??= rec.pid;
  return parsed;
}

/** Written to a temp file and renamed, so a crash never leaves half a state file. */
export function writeState(file: string, state: StackState): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  renameSync(tmp, file);
}
