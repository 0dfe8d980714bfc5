// `mirl worker` processes for integration tests, each logging to a file of its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT, exited } from './processes.js';
import { waitFor } from './temporal-server.js';

export class WorkerPool {
  readonly workers = new Map<number, { proc: ChildProcess; log: string }>();

  constructor(
    private readonly logDir: string,
    private readonly env: () => NodeJS.ProcessEnv,
  ) {}

  /** Starts a worker and resolves with its pid once it polls; `args` and `env` are added to the defaults. */
  async start(name: string, options: { args?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
    const log = path.join(this.logDir, `${name}.log`);
    const out = createWriteStream(log);
    const proc = spawn(
      process.execPath,
      ['bin/mirl.js', 'worker', '--max-concurrent', '2', '--backend', 'wasm', ...(options.args ?? [])],
      {
        cwd: REPO_ROOT,
        env: { ...this.env(), ...options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    proc.stdout!.pipe(out);
    proc.stderr!.pipe(out);
    this.workers.set(proc.pid!, { proc, log });
    await waitFor(
      `${name} ready`,
      async () => ((await readFile(log, 'utf8')).includes('mirl worker ready') ? true : undefined),
      60_000,
    );
    return proc.pid!;
  }

  /** Sends `signal` to one worker and waits for it to exit; returns its process. */
  async stop(pid: number, signal: NodeJS.Signals): Promise<ChildProcess> {
    const { proc } = this.workers.get(pid)!;
    proc.kill(signal);
    await exited(proc);
    this.workers.delete(pid);
    return proc;
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.workers.keys()].map((pid) => this.stop(pid, 'SIGKILL')));
  }
}
