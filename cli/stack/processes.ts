// Starting the stack's processes so they outlive `mirl up`, and finding and stopping
// exactly those processes later. Each service leads its own process group, so stopping
// it also stops what it spawned (MLflow's uvicorn workers, the worker's trainers).
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ProcessRecord } from './state.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const onLinux = process.platform === 'linux';

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
    const child = spawn(exe, args, { cwd: req.cwd, env: req.env, detached: true, stdio: ['ignore', fd, fd] });
    // spawn() returns after exec (or reports its failure asynchronously): a missing binary shows as no pid.
    if (child.pid === undefined) throw new Error(`could not start ${exe}`);
    child.on('error', () => {});
    child.unref();
    return {
      pid: child.pid,
      startTime: startTimeOf(child.pid),
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
    return execFileSync('ps', ['-o', `${field}=`, '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
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
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat && stat.pgrp === pgid && stat.state !== 'Z' && stat.state !== 'X') members.push(Number(entry));
  }
  return members;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** SIGTERM to the group, SIGKILL after the grace period; resolves when nothing of it runs. */
export async function stopGroup(pgid: number, graceMs: number): Promise<'stopped' | 'killed'> {
  signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (groupMembers(pgid).length === 0) return 'stopped';
    await sleep(100);
  }
  signalGroup(pgid, 'SIGKILL');
  const hard = Date.now() + 5_000;
  while (groupMembers(pgid).length > 0 && Date.now() < hard) await sleep(50);
  return 'killed';
}
