// Which stack a command talks to, decided here for every command that talks to one:
// --home, else MIRL_HOME, else the servers TEMPORAL_ADDRESS / MLFLOW_TRACKING_URI name,
// else the state file of ./.mirl, else the default addresses. A home the user named is
// never swapped for another stack without a word: one never brought up, or one the
// address variables contradict, stops the command with a line that says so, because the
// fallback (the default ports) may well be someone else's stack.
import path from 'node:path';
import { DEFAULT_TEMPORAL_ADDRESS } from '../../servers/temporal-connection.js';
import { DEFAULT_TRACKING_URI } from '../../tracking/index.js';
import { UsageError } from '../errors.js';
import { DEFAULT_HOME, stackHome, stackPaths } from './home.js';
import { savedAddresses, type StackAddresses } from './stack.js';

export type StackService = 'temporal' | 'mlflow';
export type HomeOrigin = '--home' | 'MIRL_HOME' | 'default';
/** Where one address came from: the home's state file, its environment variable, or mirl's default. */
export type AddressOrigin = 'home' | 'environment' | 'default';

export interface StackTarget {
  home: string;
  homeFrom: HomeOrigin;
  /** Whether `mirl up` ever ran in the home (its stack.json exists). */
  stateFound: boolean;
  temporal: { address: string; from: AddressOrigin };
  mlflow: { address: string; from: AddressOrigin };
  /** The Temporal UI of the home's stack, when its Temporal address comes from there. */
  temporalUi?: string;
}

export const ADDRESS_VARIABLE: Record<StackService, string> = {
  temporal: 'TEMPORAL_ADDRESS',
  mlflow: 'MLFLOW_TRACKING_URI',
};
const SERVICE_NAME: Record<StackService, string> = { temporal: 'Temporal', mlflow: 'MLflow' };
const SERVICES: readonly StackService[] = ['temporal', 'mlflow'];

/** A home that cannot be used as named: a usage error, so nothing is tried against another stack. */
export class StackHomeError extends UsageError {}

/**
 * The stack a command with these needs talks to. `flag` is --home; `needs` are the servers
 * the command cannot do without, which a home named but never brought up must leave to
 * the address variables, or the command stops.
 */
export function resolveStackTarget(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  needs: readonly StackService[],
): StackTarget {
  const homeFrom: HomeOrigin = flag ? '--home' : env.MIRL_HOME ? 'MIRL_HOME' : 'default';
  return locate(stackHome(flag, env), homeFrom, env, needs);
}

function locate(
  home: string,
  homeFrom: HomeOrigin,
  env: NodeJS.ProcessEnv,
  needs: readonly StackService[],
): StackTarget {
  const saved = readSaved(home, homeFrom);
  if (homeFrom === '--home' && !saved) throw new StackHomeError(notBroughtUp(home, homeFrom, []));
  if (homeFrom === 'MIRL_HOME' && saved) refuseContradictions(home, saved, env);
  // Address variables name the servers as a pair: one of them set leaves ./.mirl unread, so a
  // test's worker given only TEMPORAL_ADDRESS never tracks to a developer's MLflow.
  const envNamesServers = SERVICES.some((s) => env[ADDRESS_VARIABLE[s]]);
  const useHome = saved !== undefined && (homeFrom !== 'default' || !envNamesServers);
  const pick = (s: StackService, fromHome: string | undefined): { address: string; from: AddressOrigin } => {
    const given = env[ADDRESS_VARIABLE[s]];
    if (useHome && fromHome) return { address: fromHome, from: 'home' };
    if (given) return { address: given, from: 'environment' };
    return { address: s === 'temporal' ? DEFAULT_TEMPORAL_ADDRESS : DEFAULT_TRACKING_URI, from: 'default' };
  };
  const target: StackTarget = {
    home,
    homeFrom,
    stateFound: saved !== undefined,
    temporal: pick('temporal', saved?.temporalAddress),
    mlflow: pick('mlflow', saved?.mlflowUri),
  };
  if (target.temporal.from === 'home') target.temporalUi = saved?.temporalUi;
  const missing = needs.filter((s) => target[s].from === 'default');
  if (homeFrom !== 'default' && missing.length > 0) throw new StackHomeError(notBroughtUp(home, homeFrom, missing));
  return target;
}

function readSaved(home: string, homeFrom: HomeOrigin): StackAddresses | undefined {
  try {
    return savedAddresses(home);
  } catch (err) {
    // A broken ./.mirl nobody named is `up`'s and `down`'s to report; a named one is the user's stack.
    if (homeFrom === 'default') return undefined;
    throw err;
  }
}

function notBroughtUp(home: string, homeFrom: HomeOrigin, missing: readonly StackService[]): string {
  const start = homeFrom === '--home' ? `\`mirl up --home ${home}\`` : '`mirl up`';
  const or = missing.length ? `, or set ${missing.map((s) => ADDRESS_VARIABLE[s]).join(' and ')}` : '';
  return (
    `no stack was ever brought up in ${home} (from ${homeFrom}: ${stackPaths(home).stateFile} does not exist); ` +
    `start it with ${start}, or pass the --home of a running stack${or}`
  );
}

/** The two ways of naming a server disagree: which one was meant is not for mirl to guess. */
function refuseContradictions(home: string, saved: StackAddresses, env: NodeJS.ProcessEnv): void {
  const fromHome: Record<StackService, string> = { temporal: saved.temporalAddress, mlflow: saved.mlflowUri };
  for (const s of SERVICES) {
    const variable = ADDRESS_VARIABLE[s];
    const given = env[variable];
    if (!given || sameServer(given, fromHome[s])) continue;
    throw new StackHomeError(
      `MIRL_HOME names the stack in ${home} (${SERVICE_NAME[s]} at ${fromHome[s]}) but ${variable} names ` +
        `${withoutUserinfo(given)}; unset one of them, or pass --home DIR to choose the stack`,
    );
  }
}

/** Equal up to credentials, a trailing slash and localhost spelled as 127.0.0.1. */
export function sameServer(a: string, b: string): boolean {
  return normalise(a) === normalise(b);
}

function normalise(address: string): string {
  const text = address.trim();
  try {
    const url = new URL(text.includes('://') ? text : `grpc://${text}`);
    const host = url.hostname === 'localhost' ? '127.0.0.1' : url.hostname;
    return `${url.protocol}//${host}:${url.port}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return text;
  }
}

/** A URI as it may be printed: user and password in it are credentials. */
function withoutUserinfo(address: string): string {
  try {
    const url = new URL(address);
    if (!url.username && !url.password) return address;
    url.username = '';
    url.password = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return address;
  }
}

/** The home's addresses into the variables the clients read; what the environment named itself stays. */
export function applyStackTarget(target: StackTarget, env: NodeJS.ProcessEnv = process.env): void {
  // mirl processes this one starts (a supervised worker, bench's commands) then find the same stack.
  if (target.homeFrom === '--home') env.MIRL_HOME = target.home;
  if (target.temporal.from === 'home') {
    env.TEMPORAL_ADDRESS = target.temporal.address;
    if (target.temporalUi && (target.homeFrom === '--home' || !env.TEMPORAL_UI_URL))
      env.TEMPORAL_UI_URL = target.temporalUi;
  }
  if (target.mlflow.from === 'home') env.MLFLOW_TRACKING_URI = target.mlflow.address;
}

/**
 * `home`'s state file fills the address variables the environment leaves unset, as for a
 * home nobody named. The CLI resolves through resolveStackTarget; this stays for callers
 * that hold a home of their own.
 */
export function applyStackEnvironment(env: NodeJS.ProcessEnv = process.env, home = stackHome(undefined, env)): void {
  applyStackTarget(locate(path.resolve(home), 'default', env, []), env);
}

/**
 * The one line for a server that did not answer: the address tried, where that address
 * came from (which home, or which variable), and how to start it or point elsewhere.
 */
export function unreachableLine(service: StackService, address: string, t: StackTarget): string {
  const lead = `cannot reach the ${SERVICE_NAME[service]} server at ${address}`;
  const other = 'or pass --home DIR / set MIRL_HOME to use another stack';
  switch (t[service].from) {
    case 'home': {
      const from = t.homeFrom === 'default' ? `the default ${DEFAULT_HOME}` : `from ${t.homeFrom}`;
      const up = t.homeFrom === '--home' ? `\`mirl up --home ${t.home}\`` : '`mirl up`';
      return `${lead} (stack home ${t.home}, ${from}): start it with ${up}, ${other}`;
    }
    case 'environment': {
      const variable = ADDRESS_VARIABLE[service];
      return `${lead} (from ${variable}): start that server or point ${variable} at a running one, or pass --home DIR to use a stack started with \`mirl up\``;
    }
    case 'default': {
      const why =
        t.stateFound || t.homeFrom !== 'default'
          ? `${ADDRESS_VARIABLE[service]} is not set`
          : `no stack home named, and ${stackPaths(t.home).stateFile} does not exist`;
      return `${lead} (the default address: ${why}): start a stack with \`mirl up\`, ${other}`;
    }
  }
}
