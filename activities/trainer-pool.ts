// Warm trainer processes, reused across trials. Booting a trainer (Node, tsx, TensorFlow.js,
// the backend, MNIST) costs 1-2 s of CPU, which for short trials is most of a trial's
// price; a trainer that finished a trial cleanly has disposed its tensors and can take the
// next one. Anything unusual (a failure, a stop, a crash, old age) retires the process, so
// a trial still dies with its process when cancelled and a broken trainer never serves twice.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FromTrainer } from './trainer-protocol.js';

const TRAINER_ENTRY = fileURLToPath(new URL('./trainer-process.ts', import.meta.url));
const TSX_LOADER = import.meta.resolve('tsx');

/** Retire a trainer after this many trials: bounds heap fragmentation and any slow leak. */
export const DEFAULT_MAX_TRIALS_PER_TRAINER = 25;

export interface PoolOptions {
  /** 1 disables reuse: every trial gets a fresh process (MIRL_TRAINER_MAX_TRIALS=1). */
  maxTrialsPerTrainer?: number;
  spawn?: () => ChildProcess;
}

export function spawnTrainer(): ChildProcess {
  return fork(TRAINER_ENTRY, [], {
    execArgv: ['--import', TSX_LOADER],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

export function maxTrialsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.MIRL_TRAINER_MAX_TRIALS;
  if (raw === undefined || raw === '') return DEFAULT_MAX_TRIALS_PER_TRAINER;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`MIRL_TRAINER_MAX_TRIALS="${raw}" must be a positive integer`);
  return n;
}

interface Entry {
  child: ChildProcess;
  trials: number;
  onIdleExit?: () => void;
}

/** Resolves once the trainer has said 'ready'; rejects if it exits first. */
function whenReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: FromTrainer) => {
      if (msg.type !== 'ready') return;
      cleanup();
      resolve();
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      cleanup();
      reject(new Error(`trainer exited while starting (code ${code}, signal ${signal})`));
    };
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** An idle trainer must not keep its worker's event loop alive. */
function setHeld(child: ChildProcess, held: boolean): void {
  if (held) {
    child.ref();
    child.channel?.ref();
  } else {
    child.unref();
    child.channel?.unref();
  }
}

export class TrainerPool {
  private readonly idle: Entry[] = [];
  private readonly busy = new Map<ChildProcess, Entry>();
  private readonly maxTrials: number;
  private readonly spawn: () => ChildProcess;

  constructor(opts: PoolOptions = {}) {
    this.maxTrials = opts.maxTrialsPerTrainer ?? DEFAULT_MAX_TRIALS_PER_TRAINER;
    this.spawn = opts.spawn ?? spawnTrainer;
  }

  /**
   * A ready trainer: an idle one if any is alive, else a new one. The caller attaches its
   * listeners right away; `ready` resolves when the trainer can take a 'start'.
   */
  acquire(): { child: ChildProcess; ready: Promise<void>; reused: boolean } {
    while (this.idle.length > 0) {
      const entry = this.idle.pop()!;
      if (entry.onIdleExit) entry.child.off('exit', entry.onIdleExit);
      entry.onIdleExit = undefined;
      if (entry.child.exitCode !== null || entry.child.signalCode !== null || !entry.child.connected) continue;
      setHeld(entry.child, true);
      this.busy.set(entry.child, entry);
      return { child: entry.child, ready: Promise.resolve(), reused: true };
    }
    const child = this.spawn();
    const entry: Entry = { child, trials: 0 };
    this.busy.set(child, entry);
    const ready = whenReady(child);
    ready.catch(() => {});
    return { child, ready, reused: false };
  }

  /**
   * Hands a trainer back after its trial. `clean` = the trial finished and the trainer
   * reported it; anything else kills it (the caller may await `exited`).
   */
  release(child: ChildProcess, clean: boolean): void {
    const entry = this.busy.get(child);
    this.busy.delete(child);
    if (!entry) return;
    entry.trials += 1;
    const alive = child.exitCode === null && child.signalCode === null && child.connected;
    if (!clean || !alive || entry.trials >= this.maxTrials) {
      if (alive) child.kill('SIGKILL');
      return;
    }
    setHeld(child, false);
    // A trainer that dies while idle (OOM killer, a stray signal) just leaves the pool.
    entry.onIdleExit = () => {
      const i = this.idle.indexOf(entry);
      if (i >= 0) this.idle.splice(i, 1);
    };
    child.once('exit', entry.onIdleExit);
    this.idle.push(entry);
  }

  get idleCount(): number {
    return this.idle.length;
  }
}
