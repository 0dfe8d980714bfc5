// Starting the stack's processes so they outlive `mirl up`, and finding and stopping
// exactly those processes later. Each service leads its own process group, so stopping
// it also stops what it spawned (MLflow's uvicorn workers, the worker's trainers), and
// what the group left behind when its leader died is found and stopped too.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ProcessRecord } from './state.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const onLinux = process.platform === 'linux';

/** Carries a record's groupToken into the service's environment, and from there to all it spawns. */
export const GROUP_TOKEN_VAR = 'MIRL_STACK_GROUP';

export interface StartRequest {
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  log: string;
  marker: string;
}

export function startDetached(req: StartRequest): ProcessRecord {
  mkdirSync(path.dirname(req.log), { recursive: true });
  const fd = openSync(req.log, 'a');
  try {
    const [exe, ...args] = req.argv;
    const groupToken = randomBytes(8).toString('hex');
    const env = { ...req.env, [GROUP_TOKEN_VAR]: groupToken };
    const child = spawn(exe, args, { cwd: req.cwd, env, detached: true, stdio: ['ignore', fd, fd] });
    // spawn() returns after exec (or reports its failure asynchronously): a missing binary shows as no pid.
    if (child.pid === undefined) throw new Error(`could not start ${exe}`);
    child.on('error', () => {});
    child.unref();
    return {
      pid: child.pid,
      // detached: the child calls setsid(), so it leads a new session and group of its own id.
      pgid: child.pid,
      startTime: startTimeOf(child.pid),
      groupToken,
      marker: req.marker,
      argv: req.argv,
      log: req.log,
      startedAt: new Date().toISOString(),
    };
  } finally {
    closeSync(fd);
  }
}

interface ProcStat {
  state: string;
  pgrp: number;
  startTime: string;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0], pgrp: Number(rest[2]), startTime: rest[19] };
  } catch {
    return undefined;
  }
}

function ps(pid: number, field: string): string | undefined {
  try {
    return (
      execFileSync('ps', ['-o', `${field}=`, '-p', String(pid)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

export function startTimeOf(pid: number): string | null {
  if (onLinux) return readStat(pid)?.startTime ?? null;
  return ps(pid, 'lstart') ?? null;
}

export function commandLineOf(pid: number): string | undefined {
  if (onLinux) {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      return undefined;
    }
  }
  return ps(pid, 'command');
}

/** A zombie has exited: it only waits for a parent (or an init that never reaps) to collect it. */
function isLive(pid: number): boolean {
  if (onLinux) {
    const stat = readStat(pid);
    return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The record's process is still running and is the one we started (not a reused pid). */
export function isOurs(rec: ProcessRecord): boolean {
  if (!isLive(rec.pid)) return false;
  const startTime = startTimeOf(rec.pid);
  if (rec.startTime !== null && startTime !== rec.startTime) return false;
  return commandLineOf(rec.pid)?.includes(rec.marker) ?? false;
}

/** Pids on /proc whose stat passes `keep` (Linux only). */
function scanProc(keep: (pid: number, stat: ProcStat) => boolean): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat && keep(Number(entry), stat)) pids.push(Number(entry));
  }
  return pids;
}

/** Live members of a process group (the leader may be gone while children linger). */
export function groupMembers(pgid: number): number[] {
  if (!onLinux) {
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch {
      return [];
    }
  }
  return scanProc((_, stat) => stat.pgrp === pgid && stat.state !== 'Z' && stat.state !== 'X');
}

export interface ProcInfo {
  state: string;
  pgrp: number;
  /** Clock ticks since boot, as in /proc/<pid>/stat. */
  startTime: string;
  /** NAME=value entries of /proc/<pid>/environ; undefined when unreadable. */
  environ: string[] | undefined;
}

/**
 * Whether a process belongs to the group `up` started for this record. A pgid can only be
 * reused once every member of our group is gone, by a new leader that got the same pid: its
 * group started after our leader and lacks our token, which every child of ours inherited.
 */
export function isGroupMember(rec: Pick<ProcessRecord, 'pgid' | 'startTime' | 'groupToken'>, p: ProcInfo): boolean {
  if (p.pgrp !== rec.pgid || p.state === 'Z' || p.state === 'X') return false;
  if (rec.startTime !== null && Number(p.startTime) < Number(rec.startTime)) return false;
  // Records from before the token existed: the start-time bound is all there is.
  if (rec.groupToken === undefined) return true;
  return p.environ?.includes(`${GROUP_TOKEN_VAR}=${rec.groupToken}`) ?? false;
}

function environOf(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
}

/**
 * The live processes of the record's group that are provably ours, leader or not. Off Linux
 * there is no process table to check members against, so only a live leader of ours counts.
 */
export function ourGroupMembers(rec: ProcessRecord): number[] {
  if (!onLinux) return isOurs(rec) ? groupMembers(rec.pgid) : [];
  return scanProc((pid, stat) => stat.pgrp === rec.pgid && isGroupMember(rec, { ...stat, environ: environOf(pid) }));
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** `signal` once, again with SIGKILL after the grace period; resolves when `remaining` reaches 0 (or 5 s after SIGKILL). */
async function stopUntilGone(
  signal: (s: NodeJS.Signals) => void,
  remaining: () => number,
  graceMs: number,
): Promise<'stopped' | 'killed'> {
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (remaining() === 0) return 'stopped';
    await sleep(100);
  }
  signal('SIGKILL');
  const hard = Date.now() + 5_000;
  while (remaining() > 0 && Date.now() < hard) await sleep(50);
  return 'killed';
}

/** SIGTERM to the group, SIGKILL after the grace period; resolves when nothing of it runs. */
export function stopGroup(pgid: number, graceMs: number): Promise<'stopped' | 'killed'> {
  return stopUntilGone(
    (s) => signalGroup(pgid, s),
    () => groupMembers(pgid).length,
    graceMs,
  );
}

/**
 * Stops the members of a group whose leader is gone, one pid at a time: only those checked
 * to be ours are signalled, so a group that reused the pgid in the meantime is never hit.
 */
export function stopLeftovers(rec: ProcessRecord, graceMs: number): Promise<'stopped' | 'killed'> {
  const signal = (s: NodeJS.Signals) => {
    for (const pid of ourGroupMembers(rec)) {
      try {
        process.kill(pid, s);
      } catch {
        // exited meanwhile
      }
    }
  };
  return stopUntilGone(signal, () => ourGroupMembers(rec).length, graceMs);
}

export interface StopResult {
  outcome: 'stopped' | 'killed' | 'not running' | 'not ours';
  /** Members found alive after their leader had died (0 when the leader was there). */
  leftovers: number;
}

/** Stops whatever still runs of a recorded service: its whole group while the leader lives, else the leftovers of ours. */
export async function stopRecorded(rec: ProcessRecord, graceMs: number): Promise<StopResult> {
  if (isOurs(rec)) return { outcome: await stopGroup(rec.pgid, graceMs), leftovers: 0 };
  const leftovers = ourGroupMembers(rec).length;
  if (leftovers > 0) return { outcome: await stopLeftovers(rec, graceMs), leftovers };
  // The pid may now belong to someone else: leave it alone.
  const reused = commandLineOf(rec.pid) !== undefined && groupMembers(rec.pid).length > 0;
  return { outcome: reused ? 'not ours' : 'not running', leftovers: 0 };
}
