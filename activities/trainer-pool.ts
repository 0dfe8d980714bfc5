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
/**
 * An idle trainer holds 600-800 MiB (TensorFlow.js, MNIST); measured on the 20,000-trial
 * sweep, a worker of 8 kept 7.3 GiB after its last trial. On a sweep that keeps it busy
 * the next trial comes within seconds, so a trainer idle this long is not worth its memory.
 */
export const DEFAULT_TRAINER_IDLE_MS = 120_000;

export interface PoolOptions {
  /** 1 disables reuse: every trial gets a fresh process (MIRL_TRAINER_MAX_TRIALS=1). */
  maxTrialsPerTrainer?: number;
  /** An idle trainer exits after this long unused (MIRL_TRAINER_IDLE_S). */
  idleMs?: number;
  /** Variables each trainer gets on top of the worker's environment (trainerThreadEnv). */
  env?: Record<string, string>;
  spawn?: (env: Record<string, string>) => ChildProcess;
}

export function spawnTrainer(env: Record<string, string> = {}): ChildProcess {
  return fork(TRAINER_ENTRY, [], {
    execArgv: ['--import', TSX_LOADER],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
}

function positiveIntegerFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}="${raw}" must be a positive integer`);
  return n;
}

export function maxTrialsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return positiveIntegerFromEnv(env, 'MIRL_TRAINER_MAX_TRIALS', DEFAULT_MAX_TRIALS_PER_TRAINER);
}

export function idleMsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return positiveIntegerFromEnv(env, 'MIRL_TRAINER_IDLE_S', DEFAULT_TRAINER_IDLE_MS / 1000) * 1000;
}

interface Entry {
  child: ChildProcess;
  trials: number;
  onIdleExit?: () => void;
  idleTimer?: NodeJS.Timeout;
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
  private readonly idleMs: number;
  private readonly spawn: () => ChildProcess;

  constructor(opts: PoolOptions = {}) {
    this.maxTrials = opts.maxTrialsPerTrainer ?? DEFAULT_MAX_TRIALS_PER_TRAINER;
    this.idleMs = opts.idleMs ?? DEFAULT_TRAINER_IDLE_MS;
    const spawn = opts.spawn ?? spawnTrainer;
    const env = opts.env ?? {};
    this.spawn = () => spawn(env);
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
      clearTimeout(entry.idleTimer);
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
    entry.idleTimer = setTimeout(() => {
      // Out of the pool first: an exit seen later must not find it there.
      entry.onIdleExit?.();
      child.kill('SIGKILL');
    }, this.idleMs);
    entry.idleTimer.unref();
    this.idle.push(entry);
  }

  get idleCount(): number {
    return this.idle.length;
  }
}
