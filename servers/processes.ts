// Process plumbing shared by throwaway servers (tests, `mirl bench`) and worker pools: the
// project venv's executables, free ports, and detached process groups that die with the
// process that started them.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const STOP_GRACE_MS = 5_000;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A program of the project's Python venv, with the command that installs it when missing. */
export function venvExecutable(name: string, installs: string): string {
  const exe = path.resolve(REPO_ROOT, process.env.MIRL_VENV ?? '.venv', 'bin', name);
  if (!existsSync(exe))
    throw new Error(`${exe} not found: run \`bash scripts/setup-python.sh\` (installs ${installs})`);
  return exe;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function exited(proc: ChildProcess): Promise<void> {
  return proc.exitCode !== null || proc.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => proc.once('exit', () => r()));
}

// Groups still alive when this process exits (a crash, a forgotten stop()).
const liveGroups = new Set<number>();
process.on('exit', () => {
  for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
});

function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // already gone
  }
}

/** SIGTERM, a grace period, then SIGKILL; resolves once no process of the group is left. */
export async function killGroup(pgid: number): Promise<void> {
  signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + STOP_GRACE_MS;
  while (signalGroup(pgid, 0) && Date.now() < deadline) await sleep(100);
  if (signalGroup(pgid, 0)) {
    signalGroup(pgid, 'SIGKILL');
    while (signalGroup(pgid, 0)) await sleep(50);
  }
  liveGroups.delete(pgid);
}

export interface ServerProcessSpec {
  /** Named in errors, e.g. "mlflow server". */
  name: string;
  exe: string;
  args: string[];
  logPath: string;
  options?: SpawnOptions;
  /** Polled until true while the process lives. */
  ready: () => Promise<boolean>;
  readyTimeoutMs: number;
}

export interface ServerProcess {
  /** Starts the process in a group of its own and waits until `ready`. */
  start(): Promise<void>;
  /** Stops the whole group (servers spawn children: uvicorn workers and the like). */
  kill(): Promise<void>;
  readonly running: boolean;
  log(): Promise<string>;
}

export function serverProcess(spec: ServerProcessSpec): ServerProcess {
  let child: ChildProcess | undefined;
  const log = () => readFile(spec.logPath, 'utf8').catch(() => '');
  const kill = async () => {
    const pid = child?.pid;
    child = undefined;
    if (pid !== undefined) await killGroup(pid);
  };
  return {
    log,
    kill,
    get running() {
      return child !== undefined;
    },
    async start() {
      const out = createWriteStream(spec.logPath, { flags: 'a' });
      const proc = spawn(spec.exe, spec.args, { ...spec.options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      proc.stdout?.pipe(out);
      proc.stderr?.pipe(out);
      if (proc.pid === undefined) throw new Error(`could not spawn ${spec.exe}`);
      liveGroups.add(proc.pid);
      child = proc;
      let gone: string | undefined;
      proc.once('exit', (code, sig) => (gone = `exited with ${code ?? sig}`));
      const deadline = Date.now() + spec.readyTimeoutMs;
      while (Date.now() < deadline && !gone) {
        if (await spec.ready()) return;
        await sleep(250);
      }
      await kill();
      const text = await log();
      // A Go panic states its cause at the top and then prints pages of stack: keep both ends.
      const cause = text
        .split('\n')
        .filter((l) => /panic|fatal|error|address already in use/i.test(l))
        .slice(0, 5)
        .join('\n');
      throw new Error(
        `${spec.name} ${gone ?? `not ready within ${spec.readyTimeoutMs} ms`}; first error lines:\n${cause}\nlog tail:\n${text.slice(-2000)}`,
      );
    },
  };
}

/** A local stack's worker talks to the local servers only: no remote credentials or TLS settings leak in. */
export function localOnly(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(([k]) => !k.startsWith('TEMPORAL_') && !k.startsWith('MLFLOW_TRACKING_')),
  );
}
