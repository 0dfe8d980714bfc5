// Server and process plumbing moved to servers/ so that `mirl bench` starts its throwaway
// servers with the same code; what only tests need (is a worker's trainer gone?) stays here.
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { waitFor } from '../../servers/temporal-dev-server.js';

export * from '../../servers/processes.js';

/** The pids of a process's direct children (a worker's trainers). */
export function childPids(pid: number): number[] {
  const out = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.trim();
  return out ? out.split('\n').map(Number) : [];
}

/** True while `pid` is a live process (a zombie awaiting its reaper counts as gone). */
export async function alive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && !/^\d+ \(.*\) Z/.test(stat);
}

export async function assertGone(pids: number[], what: string): Promise<void> {
  await waitFor(
    `${what} (${pids.join(', ')}) to exit`,
    async () => ((await Promise.all(pids.map(alive))).some(Boolean) ? undefined : true),
    15_000,
    200,
  );
}
