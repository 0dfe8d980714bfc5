// Identity of sweeps and trials. A trial id is the Temporal child workflow id and the
// MLflow lookup key, so it must depend only on what the trial computes (its resolved
// config) and which launch it belongs to, never on its position in the expansion:
// reordering axes or adding a value must not rename trials that already ran.
import { sha256Hex } from './sha256.js';
import { isSlug } from './schema.js';
import { dataPathOf, identityConfig, LEGACY_DATA_PATH_VERSION } from '../ml/data-path.js';

export const TRIAL_ID_PREFIX = 'trial-';
export const TRIAL_ID_HEX_CHARS = 20;
// Changing what goes into the hash must change this, so old and new ids never collide.
const TRIAL_ID_VERSION = 'mirl-trial-v1';

const LAUNCH_TOKEN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const LAUNCH_TOKEN_MAX = 40;

/** JSON with object keys sorted at every depth, so equal configs give equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} has no JSON form`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  throw new TypeError(`canonicalJson: a ${typeof value} has no JSON form`);
}

/**
 * The launch-specific part of a sweep id, e.g. `20261129-031955-ab12` (UTC time plus
 * caller-supplied entropy). The clock and the randomness are arguments so this stays
 * pure and callable from workflow code.
 */
export function makeLaunchToken(at: Date, entropy: string): string {
  if (Number.isNaN(at.getTime())) throw new TypeError('makeLaunchToken: invalid date');
  if (!/^[a-z0-9]{1,12}$/.test(entropy)) {
    throw new TypeError(`makeLaunchToken: entropy must be 1-12 characters of a-z0-9, got ${JSON.stringify(entropy)}`);
  }
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = `${p(at.getUTCFullYear(), 4)}${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())}`;
  const time = `${p(at.getUTCHours())}${p(at.getUTCMinutes())}${p(at.getUTCSeconds())}`;
  return `${date}-${time}-${entropy}`;
}

/** `critic-capacity` + `20261129-031955-ab12` -> `critic-capacity-20261129-031955-ab12`. */
export function makeSweepId(name: string, launchToken: string): string {
  if (!isSlug(name)) throw new TypeError(`makeSweepId: sweep name must be a slug, got ${JSON.stringify(name)}`);
  if (launchToken.length > LAUNCH_TOKEN_MAX || !LAUNCH_TOKEN.test(launchToken)) {
    throw new TypeError(
      `makeSweepId: launch token must be a slug of at most ${LAUNCH_TOKEN_MAX} characters, got ${JSON.stringify(launchToken)}`,
    );
  }
  return `${name}-${launchToken}`;
}

/**
 * `trial-` + the first 20 hex digits of sha256(version, sweep id, data path, canonical
 * config): the same configuration computed under another data path (ml/data-path.ts) is
 * another trial. The legacy data path hashes without its line, so sweeps recorded before
 * versions existed keep their trial ids and their histories replay; likewise a setting
 * newer than the sweep's data path is left out where it holds the value it stands for
 * there (ml/data-path.ts identityConfig).
 */
export function makeTrialId(sweepId: string, config: unknown, dataPath: number): string {
  if (!sweepId) throw new TypeError('makeTrialId: sweep id is empty');
  const v = dataPathOf(dataPath);
  const path = v === LEGACY_DATA_PATH_VERSION ? '' : `data-path ${v}\n`;
  const digest = sha256Hex(`${TRIAL_ID_VERSION}\n${sweepId}\n${path}${canonicalJson(identityConfig(config, v))}`);
  return TRIAL_ID_PREFIX + digest.slice(0, TRIAL_ID_HEX_CHARS);
}
