// `mirl up` and `mirl down`: bring the local stack to "running" from whatever state it
// is in (idempotent), and stop exactly the processes `up` started.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { portFree } from './ports.js';
import { isOurs, ourGroupMembers, startDetached, stopRecorded } from './processes.js';
import {
  SERVICE_DEFS,
  mlflowUrl,
  temporalAddress,
  temporalUiUrl,
  type ServiceDef,
  type StackContext,
  type WorkerSettings,
} from './services.js';
import { stackPaths, type StackPaths } from './home.js';
import {
  DEFAULT_PORTS,
  SERVICES,
  readState,
  writeState,
  type ProcessRecord,
  type ServiceName,
  type StackPorts,
  type StackState,
} from './state.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A failure of the stack a person can act on; printed as one line. */
export class StackError extends Error {}

export interface UpOptions {
  home: string;
  /** Only the ports given on the command line; the rest come from the last `up` or the defaults. */
  ports: Partial<StackPorts>;
  worker: WorkerSettings;
  /** Which services to bring up (default all). The worker needs both servers; tests of the servers leave it out. */
  services?: readonly ServiceName[];
  env?: NodeJS.ProcessEnv;
  progress?: (line: string) => void;
}

export interface ServiceReport {
  name: ServiceName;
  status: 'started' | 'already running';
  pid: number;
  log: string;
  seconds: number;
}

export interface StackAddresses {
  home: string;
  ports: StackPorts;
  temporalAddress: string;
  temporalUi: string;
  mlflowUri: string;
}

export interface UpReport extends StackAddresses {
  services: ServiceReport[];
}

export function addresses(home: string, ports: StackPorts): StackAddresses {
  return {
    home,
    ports,
    temporalAddress: temporalAddress(ports),
    temporalUi: temporalUiUrl(ports),
    mlflowUri: mlflowUrl(ports),
  };
}

/** Explicit flags win; an unchanged stack keeps its ports; the UI port follows the gRPC port as in Temporal. */
export function resolvePorts(explicit: Partial<StackPorts>, saved: StackPorts | undefined): StackPorts {
  const base = saved ?? DEFAULT_PORTS;
  const temporal = explicit.temporal ?? base.temporal;
  const temporalUi =
    explicit.temporalUi ?? (explicit.temporal !== undefined ? explicit.temporal + 1000 : base.temporalUi);
  const ports = { temporal, temporalUi, mlflow: explicit.mlflow ?? base.mlflow };
  if (new Set(Object.values(ports)).size < 3) {
    throw new StackError(
      `the stack needs three different ports, got Temporal ${temporal}, Temporal UI ${temporalUi}, MLflow ${ports.mlflow}`,
    );
  }
  return ports;
}

function logTail(file: string, lines = 5): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd().split('\n');
    return text.slice(-lines).join('\n');
  } catch {
    return '';
  }
}

async function waitReady(
  def: ServiceDef,
  ctx: StackContext,
  rec: ProcessRecord,
  timeoutMs: number,
): Promise<'ready' | 'exited' | 'timeout'> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isOurs(rec)) return 'exited';
    if (await def.ready(ctx, rec.pid)) return 'ready';
    await sleep(300);
  }
  return 'timeout';
}

export async function stackUp(opts: UpOptions): Promise<UpReport> {
  const paths = stackPaths(opts.home);
  mkdirSync(paths.logs, { recursive: true });
  const progress = opts.progress ?? (() => {});
  const saved = readState(paths.stateFile);
  const state: StackState = saved ?? { version: 1, home: paths.home, ports: DEFAULT_PORTS, services: {} };
  await clearDeadServices(state, paths, progress);
  const wanted = SERVICES.filter((n) => !opts.services || opts.services.includes(n));
  const running = SERVICES.filter((n) => state.services[n]);
  const ports = resolvePorts(opts.ports, saved?.ports);
  if (running.length > 0) {
    const changed = (Object.keys(opts.ports) as (keyof StackPorts)[]).filter(
      (k) => opts.ports[k] !== undefined && opts.ports[k] !== state.ports[k],
    );
    if (changed.length > 0) {
      const now = addresses(paths.home, state.ports);
      throw new StackError(
        `the stack in ${paths.home} is already running (Temporal ${now.temporalAddress}, MLflow ${now.mlflowUri}); ` +
          'run `mirl down` first to move it to other ports',
      );
    }
  }
  const ctx: StackContext = { paths, ports, worker: opts.worker, env: opts.env ?? process.env };
  // Every port is checked before anything starts, so a conflict leaves nothing half up.
  for (const name of wanted.filter((n) => !state.services[n])) {
    for (const claim of SERVICE_DEFS[name].ports(ctx)) {
      if (!(await portFree(claim.port))) {
        throw new StackError(
          `port ${claim.port} (${claim.what}) is already in use by another program; pick a free one with ${claim.flag} <port>`,
        );
      }
    }
  }
  state.ports = ports;
  writeState(paths.stateFile, state);
  const bring = (name: ServiceName) => bringUp(SERVICE_DEFS[name], ctx, state, paths, progress);
  // The two servers start side by side; the worker needs both.
  const servers = await Promise.allSettled(
    (['temporal', 'mlflow'] as const).filter((n) => wanted.includes(n)).map(bring),
  );
  const failed = servers.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const reports = servers.map((r) => (r as PromiseFulfilledResult<ServiceReport>).value);
  if (wanted.includes('worker')) reports.push(await bring('worker'));
  return { ...addresses(paths.home, ports), services: reports };
}

/**
 * Forgets services whose leader is gone. What their group left running is ours and would
 * otherwise hold the port (MLflow's uvicorn child outlives a killed leader), so it is
 * stopped first and the service starts afresh, instead of its port being refused as taken.
 */
async function clearDeadServices(
  state: StackState,
  paths: StackPaths,
  progress: (line: string) => void,
): Promise<void> {
  for (const name of SERVICES) {
    const rec = state.services[name];
    if (!rec || isOurs(rec)) continue;
    const left = ourGroupMembers(rec).length;
    if (left > 0) {
      progress(
        `${name}: leader (pid ${rec.pid}) gone, stopping ${left} leftover process${left === 1 ? '' : 'es'} of its group`,
      );
      await stopRecorded(rec, SERVICE_DEFS[name].stopGraceMs);
    }
    delete state.services[name];
    writeState(paths.stateFile, state);
  }
}

async function bringUp(
  def: ServiceDef,
  ctx: StackContext,
  state: StackState,
  paths: StackPaths,
  progress: (line: string) => void,
): Promise<ServiceReport> {
  const t0 = Date.now();
  const existing = state.services[def.name];
  if (existing) {
    // Ours and alive: a concurrent or interrupted `up` may still be starting it, so wait the full time.
    const outcome = await waitReady(def, ctx, existing, def.readyTimeoutMs);
    if (outcome === 'ready')
      return { name: def.name, status: 'already running', pid: existing.pid, log: existing.log, seconds: 0 };
    throw new StackError(
      `${def.name} (pid ${existing.pid}) is running but not ${outcome === 'exited' ? 'alive any more' : 'answering'}; ` +
        `see ${existing.log}, then \`mirl down\` and \`mirl up\``,
    );
  }
  const log = path.join(paths.logs, `${def.name}.log`);
  const { argv, env, marker } = def.command(ctx);
  progress(`starting ${def.name} (log: ${log})`);
  const rec = startDetached({ argv, env, cwd: paths.home, log, marker });
  state.services[def.name] = rec;
  writeState(paths.stateFile, state);
  const outcome = await waitReady(def, ctx, rec, def.readyTimeoutMs);
  if (outcome === 'ready') {
    const seconds = (Date.now() - t0) / 1000;
    progress(`${def.name} ready in ${seconds.toFixed(1)} s`);
    return { name: def.name, status: 'started', pid: rec.pid, log, seconds };
  }
  // A leader that exited may still leave children of its group behind: they go too.
  await stopRecorded(rec, 5_000);
  delete state.services[def.name];
  writeState(paths.stateFile, state);
  const why = outcome === 'exited' ? 'exited during start-up' : `was not ready within ${def.readyTimeoutMs / 1000} s`;
  const tail = logTail(log, 3)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' | ');
  throw new StackError(`${def.name} ${why}; see ${log}${tail ? ` (last lines: ${tail.slice(-400)})` : ''}`);
}

export interface DownReport {
  home: string;
  /** leftovers: processes of the group still running after its leader had died (they were stopped). */
  services: {
    name: ServiceName;
    pid: number;
    outcome: 'stopped' | 'killed' | 'not running' | 'not ours';
    leftovers: number;
  }[];
}

export async function stackDown(opts: { home: string; progress?: (line: string) => void }): Promise<DownReport> {
  const paths = stackPaths(opts.home);
  const progress = opts.progress ?? (() => {});
  const state = readState(paths.stateFile);
  const report: DownReport = { home: paths.home, services: [] };
  if (!state) return report;
  // The worker first, so its trials checkpoint while both servers still answer.
  for (const name of [...SERVICES].reverse()) {
    const rec = state.services[name];
    if (!rec) continue;
    if (isOurs(rec)) progress(`stopping ${name} (pid ${rec.pid})`);
    const { outcome, leftovers } = await stopRecorded(rec, SERVICE_DEFS[name].stopGraceMs);
    if (leftovers > 0) {
      const how = outcome === 'killed' ? 'killed' : 'stopped';
      progress(
        `${name}: leader (pid ${rec.pid}) gone, ${how} ${leftovers} leftover process${leftovers === 1 ? '' : 'es'} of its group`,
      );
    }
    report.services.push({ name, pid: rec.pid, outcome, leftovers });
    delete state.services[name];
    writeState(paths.stateFile, state);
  }
  return report;
}

/** What `up` last recorded, for client commands and status lines; undefined when `up` never ran here. */
export function savedAddresses(home: string): StackAddresses | undefined {
  const state = readState(stackPaths(home).stateFile);
  return state ? addresses(state.home, state.ports) : undefined;
}
