// Where trial checkpoints live between attempts. The activity sees only this interface;
// a local directory serves one machine (or a shared filesystem), and an MLflow-artifact
// store plugs in here so a retry on another machine finds the same bytes.
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checkpointDamage } from '../ml/checkpoint.js';

export interface StoredCheckpoint {
  step: number;
  bytes: Uint8Array;
  /** Where it is, for heartbeats and logs (a path, an artifact URI). */
  ref: string;
}

/** A stored checkpoint that failed its checksum and was passed over. */
export interface DamagedCheckpoint {
  step: number;
  ref: string;
  reason: string;
}

export interface CheckpointStore {
  /** Stores the state after `step`; returns its reference. A fired `signal` stops the upload. */
  save(key: string, step: number, bytes: Uint8Array, options?: { signal?: AbortSignal }): Promise<string>;
  /**
   * The newest intact checkpoint of `key`, or null when there is none. Newer ones that
   * are torn or corrupt are passed over, each reported to `onDamaged`.
   */
  latest(key: string, onDamaged?: (damaged: DamagedCheckpoint) => void): Promise<StoredCheckpoint | null>;
}

/** A checkpoint a store has listed but not yet read. */
export interface CheckpointCandidate {
  step: number;
  ref: string;
  read(): Promise<Uint8Array>;
}

/**
 * The first candidate (newest first) whose bytes pass the checksum. A trial resumed
 * from a damaged file would fail for good; an older one, or none, costs only steps.
 */
export async function newestIntact(
  candidates: CheckpointCandidate[],
  onDamaged?: (damaged: DamagedCheckpoint) => void,
): Promise<StoredCheckpoint | null> {
  for (const { step, ref, read } of candidates) {
    const bytes = await read();
    const reason = checkpointDamage(bytes);
    if (reason === null) return { step, bytes, ref };
    onDamaged?.({ step, ref, reason: `${reason}, ${bytes.length} bytes` });
  }
  return null;
}

/** One line for logs and the run's record: what was passed over and where the trial starts. */
export function describeFallback(damaged: DamagedCheckpoint[], resumedFrom: number | null): string {
  const passed = damaged.map((d) => `step ${d.step} (${d.ref}): ${d.reason}`).join('; ');
  return `passed over damaged checkpoint ${passed}; ${resumedFrom === null ? 'started from scratch' : `resumed from step ${resumedFrom}`}`;
}

export const DEFAULT_CHECKPOINT_DIR = '.mirl/checkpoints';
const KEEP = 2;

function fileName(step: number): string {
  // Zero-padded so a directory listing sorts by step.
  return `step-${String(step).padStart(10, '0')}.ckpt`;
}

export class LocalCheckpointStore implements CheckpointStore {
  constructor(readonly root: string = path.resolve(process.env.MIRL_CHECKPOINT_DIR || DEFAULT_CHECKPOINT_DIR)) {}

  private dir(key: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(key) || key.startsWith('.'))
      throw new Error(`bad checkpoint key ${JSON.stringify(key)}`);
    return path.join(this.root, key);
  }

  async save(key: string, step: number, bytes: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<string> {
    options.signal?.throwIfAborted();
    const dir = this.dir(key);
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, fileName(step));
    // Write then rename: a reader (a retry on another worker) never sees half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, file);
    const old = (await this.steps(dir)).slice(0, -KEEP);
    await Promise.all(old.map((name) => rm(path.join(dir, name), { force: true })));
    return file;
  }

  async latest(key: string, onDamaged?: (damaged: DamagedCheckpoint) => void): Promise<StoredCheckpoint | null> {
    const dir = this.dir(key);
    const candidates = (await this.steps(dir)).reverse().map((name) => {
      const file = path.join(dir, name);
      return { step: Number(/step-(\d+)/.exec(name)![1]), ref: file, read: () => readFile(file) };
    });
    return newestIntact(candidates, onDamaged);
  }

  private async steps(dir: string): Promise<string[]> {
    try {
      return (await readdir(dir)).filter((n) => /^step-\d+\.ckpt$/.test(n)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }
}
