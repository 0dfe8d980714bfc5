// Spec problems as data (for --json and tests) and as one line of text per problem
// (for people). zod's own messages name neither the file nor the spec's vocabulary,
// so each zod issue is rewritten here.
import type { z } from 'zod';
import {
  DISTRIBUTION_KEYS,
  DISTRIBUTIONS,
  isSettingKey,
  NUMERIC_SETTING_KEYS,
  OBJECTIVE_KEYS,
  EARLY_STOP_KEYS,
  PROFILE_KEYS,
  RESOURCE_KEYS,
  SEARCH_KEYS,
  SETTING_KEYS,
  TOP_LEVEL_KEYS,
} from './schema.js';

/** The path shown for problems with the whole document (syntax, encoding, size). */
export const ROOT_PATH = '(root)';

export type PathSegment = string | number;

export interface SpecIssue {
  /** The spec file as the user named it. */
  file: string;
  /** The field, written like `grid.critic[2]`; ROOT_PATH for the whole document. */
  path: string;
  /** The offending value as short JSON; absent when the field is missing. */
  value?: string;
  message: string;
  /** The allowed values when the field is an enum (or the known keys, for an unknown key). */
  allowed?: readonly (string | number)[];
  /** 1-based position in the file when known. */
  line?: number;
  column?: number;
  /** The axis values of the failing trial configuration, for cross-field problems. */
  trial?: Record<string, unknown>;
}

export class SpecError extends Error {
  override readonly name = 'SpecError';
  readonly issues: readonly SpecIssue[];

  constructor(issues: readonly SpecIssue[]) {
    super(formatIssues(issues));
    this.issues = issues;
  }
}

export function isSpecError(err: unknown): err is SpecError {
  return err instanceof SpecError;
}

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out || ROOT_PATH;
}

const SHORT_JSON_MAX = 60;

/** JSON of a value, cut short so one issue stays on one line. */
export function shortJson(value: unknown): string {
  let text: string;
  if (value === undefined) text = 'undefined';
  else if (typeof value === 'number' && !Number.isFinite(value)) text = String(value);
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  text = text.replace(/\s+/g, ' ');
  return text.length > SHORT_JSON_MAX ? `${text.slice(0, SHORT_JSON_MAX - 3)}...` : text;
}

export function formatIssue(issue: SpecIssue): string {
  const where =
    issue.path === ROOT_PATH
      ? issue.line !== undefined
        ? `${issue.file}:${issue.line}:${issue.column ?? 1}`
        : issue.file
      : `${issue.file}: ${issue.path}`;
  const allowed = issue.allowed?.length ? `; allowed: ${issue.allowed.join(', ')}` : '';
  return `${where}: ${issue.message}${allowed}`;
}

function formatIssues(issues: readonly SpecIssue[]): string {
  return issues.map(formatIssue).join('\n');
}

/** The human text of a spec error: one line per issue. */
export function formatSpecError(err: SpecError): string {
  return formatIssues(err.issues);
}

export function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let node = root;
  for (const seg of path) {
    if (node === null || typeof node !== 'object') return undefined;
    if (!Object.prototype.hasOwnProperty.call(node, seg)) return undefined;
    node = (node as Record<PropertyKey, unknown>)[seg];
  }
  return node;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list (${shortJson(value)})`;
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `a string (${shortJson(value)})`;
  if (typeof value === 'number')
    return Number.isInteger(value) ? `the number ${value}` : `the number ${shortJson(value)}`;
  return `${typeof value} ${shortJson(value)}`;
}

const EXPECTED_WORDS: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  null: 'null',
};

/** The name used for an enum value in messages: `"foo" is not a valid critic`. */
function enumNoun(path: readonly PathSegment[]): string {
  const key = [...path].reverse().find((seg): seg is string => typeof seg === 'string') ?? 'value';
  return key.endsWith('s') ? key.slice(0, -1) : key;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

// Optimal string alignment distance: typos are mostly one edit or one swapped pair.
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** Which keys the object at `path` accepts, so an unknown key can be answered with them. */
function knownKeysAt(path: readonly PathSegment[]): readonly string[] {
  const inner = path[0] === 'profiles' && path.length >= 2 ? path.slice(2) : path;
  const inProfile = inner !== path;
  if (inner.length === 0) return inProfile ? PROFILE_KEYS : TOP_LEVEL_KEYS;
  const head = inner[0];
  if (head === 'trial' || head === 'grid' || head === 'zip') return SETTING_KEYS;
  if (head === 'resources') return RESOURCE_KEYS;
  if (head === 'early_stop') return inner.length === 1 ? EARLY_STOP_KEYS : [];
  if (head === 'search') {
    if (inner.length === 1) return SEARCH_KEYS;
    if (inner[1] === 'objective') return OBJECTIVE_KEYS;
    if (inner[1] === 'params') return inner.length === 2 ? NUMERIC_SETTING_KEYS : DISTRIBUTION_KEYS;
  }
  return [];
}

function unknownKeyIssue(file: string, parent: readonly PathSegment[], key: string, raw: unknown): SpecIssue {
  const known = knownKeysAt(parent);
  const path = formatPath([...parent, key]);
  const value = shortJson(valueAt(raw, [...parent, key]));
  if (key === 'seed' && known === SETTING_KEYS) {
    return {
      file,
      path,
      value,
      message: 'seeds are set with the top-level `seeds:` (a count or a list), not as a trial setting',
    };
  }
  if (key === 'seeds' && known === SETTING_KEYS) {
    return { file, path, value, message: '`seeds:` belongs at the top level of the spec (or of a profile), not here' };
  }
  if (known === NUMERIC_SETTING_KEYS && isSettingKey(key)) {
    return {
      file,
      path,
      value,
      message: `"${key}" is not a numeric setting: distributions sample numbers; vary it with grid: or zip: instead`,
      allowed: NUMERIC_SETTING_KEYS,
    };
  }
  const what = known === SETTING_KEYS ? 'trial setting' : known === NUMERIC_SETTING_KEYS ? 'numeric setting' : 'key';
  const guess = closest(key, known);
  const hint = guess ? `; did you mean "${guess}"?` : '';
  return { file, path, value, message: `unknown ${what} "${key}"${hint}`, allowed: guess ? undefined : known };
}

type ZodIssue = z.core.$ZodIssue;

function numberBound(
  issue: { minimum?: number | bigint; maximum?: number | bigint; inclusive?: boolean },
  kind: 'min' | 'max',
): string {
  if (kind === 'min') return issue.inclusive ? `>= ${issue.minimum}` : `> ${issue.minimum}`;
  return issue.inclusive ? `<= ${issue.maximum}` : `< ${issue.maximum}`;
}

function sizeBound(origin: string, count: number | bigint, kind: 'min' | 'max', path: readonly PathSegment[]): string {
  const last = path[path.length - 1];
  const inAxis = (path.includes('grid') || path.includes('zip')) && typeof last === 'string' && isSettingKey(last);
  if (origin === 'array' && kind === 'min' && Number(count) === 1) {
    return inAxis
      ? 'empty list: give at least one value (or move the setting to `trial:` to fix it)'
      : 'empty list: give at least one value';
  }
  const unit = origin === 'string' ? 'characters' : 'values';
  return kind === 'min' ? `needs at least ${count} ${unit}` : `allows at most ${count} ${unit}`;
}

/** Rewrites zod issues (from parsing `raw`) as spec issues, one per field. */
export function issuesFromZod(
  file: string,
  issues: readonly ZodIssue[],
  raw: unknown,
  prefix: readonly PathSegment[] = [],
): SpecIssue[] {
  const out: SpecIssue[] = [];
  for (const issue of tightestBounds(issues)) out.push(...convert(file, issue, raw, prefix));
  return firstPerPath(out);
}

// `positive().min(2)` fails both checks for -1; ">= 2" is the bound worth stating.
function tightestBounds(issues: readonly ZodIssue[]): ZodIssue[] {
  const best = new Map<string, ZodIssue>();
  const keyOf = (i: ZodIssue) => `${i.code}\u0000${JSON.stringify(i.path)}`;
  for (const issue of issues) {
    if (issue.code !== 'too_small' && issue.code !== 'too_big') continue;
    const current = best.get(keyOf(issue));
    const tighter =
      !current ||
      (issue.code === 'too_small' && current.code === 'too_small' && Number(issue.minimum) > Number(current.minimum)) ||
      (issue.code === 'too_big' && current.code === 'too_big' && Number(issue.maximum) < Number(current.maximum));
    if (tighter) best.set(keyOf(issue), issue);
  }
  return issues.filter((i) => (i.code !== 'too_small' && i.code !== 'too_big') || best.get(keyOf(i)) === i);
}

// A value can fail several unrelated checks (1.5 for an integer <= 1); the first says enough.
function firstPerPath(issues: SpecIssue[]): SpecIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = issue.path + (issue.path === ROOT_PATH ? issue.message : '');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function convert(file: string, issue: ZodIssue, raw: unknown, prefix: readonly PathSegment[]): SpecIssue[] {
  const segments = [...prefix, ...(issue.path as PathSegment[])];
  const path = formatPath(segments);
  const present = valueAt(raw, segments);
  const exists = present !== undefined;
  const value = exists ? shortJson(present) : undefined;
  const base = { file, path, ...(value !== undefined ? { value } : {}) };

  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => unknownKeyIssue(file, segments, key, raw));
    case 'invalid_value': {
      if (segments[segments.length - 1] === 'step' && segments.includes('objective')) {
        return [
          { ...base, message: `expected \`last\` or a step number (an integer >= 0), got ${describeType(present)}` },
        ];
      }
      // zod fills `values` from the enum schema itself, so new enum members show up here.
      const allowed = issue.values.filter((v): v is string | number => typeof v === 'string' || typeof v === 'number');
      const noun = enumNoun(segments);
      const message = exists
        ? `${shortJson(present)} is not a valid ${noun}`
        : `missing; expected one of the allowed values`;
      return [{ ...base, message, allowed }];
    }
    case 'invalid_type': {
      if (!exists)
        return [
          { ...base, message: `required but missing (expected ${EXPECTED_WORDS[issue.expected] ?? issue.expected})` },
        ];
      const expected = EXPECTED_WORDS[issue.expected] ?? issue.expected;
      return [{ ...base, message: `expected ${expected}, got ${describeType(present)}` }];
    }
    case 'too_small':
      if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') {
        return [{ ...base, message: `must be ${numberBound(issue, 'min')}, got ${shortJson(present)}` }];
      }
      return [{ ...base, message: sizeBound(issue.origin, issue.minimum, 'min', segments) }];
    case 'too_big':
      if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') {
        return [{ ...base, message: `must be ${numberBound(issue, 'max')}, got ${shortJson(present)}` }];
      }
      return [{ ...base, message: sizeBound(issue.origin, issue.maximum, 'max', segments) }];
    case 'invalid_union': {
      // A discriminated union names no allowed values of its own.
      if (segments[segments.length - 1] === 'distribution') {
        const message = exists
          ? `${shortJson(present)} is not a valid distribution`
          : 'missing; expected one of the allowed values';
        return [{ ...base, message, allowed: DISTRIBUTIONS }];
      }
      const branches = issue.errors.filter((branch) => branch.length > 0);
      // A branch that got past its type check is the one the user meant; report its issues.
      const meant = branches.filter((branch) => !branch.every((i) => i.code === 'invalid_type' && i.path.length === 0));
      if (meant.length === 1) return meant[0].flatMap((i) => convert(file, i, raw, segments));
      const last = segments[segments.length - 1];
      const message =
        last === 'seeds'
          ? `expected a count (an integer >= 1) or a list of seeds (integers >= 0), got ${describeType(present)}`
          : `invalid value ${value ?? ''}`.trim();
      return [{ ...base, message }];
    }
    case 'invalid_key': {
      const key = segments[segments.length - 1];
      const inner = issue.issues.map((i) => i.message).join('; ');
      const what = segments[segments.length - 2] === 'profiles' ? 'profile name' : 'key';
      return [{ ...base, value: shortJson(key), message: `${what} ${shortJson(key)} ${inner}` }];
    }
    case 'invalid_format':
      return [{ ...base, message: exists ? `${shortJson(present)} ${issue.message}` : issue.message }];
    default:
      return [{ ...base, message: issue.message }];
  }
}
