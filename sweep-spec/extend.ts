// Growing a sweep that exists: more seeds per configuration, more values on a grid axis,
// a larger search budget. An extension is a whole new spec whose plan keeps every
// dimension of the old one as a prefix, so every old trial keeps its configuration and
// id; the new trials come after the old ones in the sweep's index space (expand.ts's
// trialSource takes the chain of specs), so nothing the sweep has recorded moves.
import { parse as parseYaml } from 'yaml';
import { shortJson, SpecError, type SpecIssue } from './errors.js';
import { planSpec, type Plan } from './plan.js';
import { MAX_TRIALS, settingSchema, type SettingKey, type Spec } from './schema.js';
import { canonicalJson } from './trial-id.js';

/** Extensions a sweep may take over its life (each is a whole spec in the sweep's carry). */
export const MAX_EXTENSIONS = 20;

export interface ExtendRequest {
  /** Seeds per configuration after the extension (more than now). */
  seeds?: number;
  /** Values to append to grid axes, by setting. */
  axes?: Record<string, unknown[]>;
  /** Sampled points after the extension (more than now). */
  budget?: number;
}

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

/** Parses `critic=concat,inner` (each value as YAML: `lr=1e-4` is a number). */
export function parseAxisArgument(text: string): [string, unknown[]] {
  const eq = text.indexOf('=');
  if (eq <= 0 || eq === text.length - 1)
    throw new SpecError([
      { file: '--axis', path: text, message: 'write SETTING=VALUE[,VALUE...], e.g. critic=concat,inner' },
    ]);
  return [
    text.slice(0, eq),
    text
      .slice(eq + 1)
      .split(',')
      .map((v) => parseYaml(v.trim()) as unknown),
  ];
}

/** The layer (`[]` or `['profiles', name]`) whose value of `field` the plan uses. */
function ownerOf(
  spec: Spec,
  profile: string | null,
  has: (layer: Record<string, unknown>) => boolean,
): (string | number)[] {
  return profile !== null && has(spec.profiles[profile] as Record<string, unknown>) ? ['profiles', profile] : [];
}

function layerAt(spec: Spec, path: (string | number)[]): Record<string, unknown> {
  return path.reduce<Record<string, unknown>>(
    (obj, key) => obj[key] as Record<string, unknown>,
    spec as unknown as Record<string, unknown>,
  );
}

function refuse(file: string, path: string, message: string, allowed?: readonly (string | number)[]): never {
  throw new SpecError([{ file, path, message, ...(allowed ? { allowed } : {}) }]);
}

function extendSeeds(spec: Spec, plan: Plan, profile: string | null, seeds: number, file: string): void {
  const have = plan.seeds.length;
  if (!Number.isInteger(seeds) || seeds <= have)
    refuse(
      file,
      '--seeds',
      `the sweep has ${have} seeds per configuration; --seeds gives the new count, more than that`,
    );
  const layer = layerAt(
    spec,
    ownerOf(spec, profile, (l) => l.seeds !== undefined),
  );
  if (typeof layer.seeds === 'number') layer.seeds = seeds;
  else {
    const list = [...plan.seeds];
    for (let s = 0; list.length < seeds; s++) if (!list.includes(s)) list.push(s);
    layer.seeds = list;
  }
}

function extendAxis(spec: Spec, plan: Plan, key: string, values: unknown[], file: string): void {
  const dim = plan.dimensions.find((d) => d.kind === 'grid' && d.keys[0] === key);
  const grids = plan.dimensions.filter((d) => d.kind === 'grid').map((d) => d.keys[0]);
  if (!dim) {
    const where = plan.dimensions.some((d) => d.kind === 'zip' && d.keys.includes(key))
      ? 'is varied in a zip group, whose settings change together: a new row needs a value for each of them'
      : key in plan.fixed
        ? 'is fixed for every trial, not an axis'
        : 'is not a grid axis of this sweep';
    refuse(file, `--axis ${key}`, `"${key}" ${where}; extend a grid axis`, grids);
  }
  const schema = settingSchema(key as SettingKey);
  const known = new Set(dim.rows.map((r) => canonicalJson(r[key])));
  const list = dim.keyPaths[key].split('.');
  const target = layerAt(
    spec,
    list.slice(0, -1).map((s) => (/^\d+$/.test(s) ? Number(s) : s)),
  );
  const current = target[list[list.length - 1]] as unknown[];
  for (const value of values) {
    const parsed = schema.safeParse(value);
    if (!parsed.success)
      refuse(
        file,
        `--axis ${key}`,
        `${shortJson(value)} is not a valid ${key}: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
      );
    if (known.has(canonicalJson(parsed.data)))
      refuse(
        file,
        `--axis ${key}`,
        `${shortJson(value)} is already a value of ${dim.keyPaths[key]}; existing trials never rerun`,
      );
    known.add(canonicalJson(parsed.data));
    current.push(parsed.data);
  }
}

function extendBudget(spec: Spec, plan: Plan, profile: string | null, budget: number, file: string): void {
  if (!plan.search)
    refuse(file, '--budget', 'the sweep samples nothing (no search, or method grid): there is no budget to raise');
  if (!Number.isInteger(budget) || budget <= plan.search.budget)
    refuse(
      file,
      '--budget',
      `the search has ${plan.search.budget} points; --budget gives the new count, more than that`,
    );
  const owner = ownerOf(spec, profile, (l) => (l.search as { budget?: number } | undefined)?.budget !== undefined);
  (layerAt(spec, owner).search as { budget: number }).budget = budget;
}

/** The spec with the request applied to whichever layer (the spec or the profile) the plan reads each part from. */
export function extendSpec(
  spec: Spec,
  profile: string | null,
  request: ExtendRequest,
  file = `sweep ${spec.name}`,
): Spec {
  const plan = planSpec(spec, profile, file);
  const next = clone(spec);
  if (request.seeds === undefined && !request.axes && request.budget === undefined)
    refuse(file, 'extend', 'nothing to add: give --seeds, --axis or --budget');
  if (request.seeds !== undefined) extendSeeds(next, plan, profile, request.seeds, file);
  for (const [key, values] of Object.entries(request.axes ?? {})) extendAxis(next, plan, key, values, file);
  if (request.budget !== undefined) extendBudget(next, plan, profile, request.budget, file);
  return next;
}

const rowsEqual = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

/**
 * Why `next` cannot extend `last` (null when it can): the same dimensions in the same
 * order, each old one a prefix of the new one, the same fixed settings and queue, more
 * trials in all. A TPE search may only grow its budget: its model suggests the points of
 * one index space, which other growth would reorder.
 */
export function extensionProblem(last: Plan, next: Plan, extensions: number): string | null {
  if (extensions >= MAX_EXTENSIONS) return `the sweep has been extended ${extensions} times, the most it keeps`;
  if (!rowsEqual(last.fixed, next.fixed))
    return 'the fixed settings differ: an extension only adds seeds, axis values or points';
  if (last.taskQueue !== next.taskQueue) return `the task queue differs (${last.taskQueue} -> ${next.taskQueue})`;
  if (!rowsEqual(last.earlyStop, next.earlyStop))
    return 'early_stop differs: the sweep has judged trials by the old rule';
  if (last.dimensions.length !== next.dimensions.length)
    return 'the axes differ: an extension only adds values to the existing ones';
  for (let d = 0; d < last.dimensions.length; d++) {
    const [a, b] = [last.dimensions[d], next.dimensions[d]];
    if (a.kind !== b.kind || !rowsEqual(a.keys, b.keys))
      return `axis ${d + 1} differs (${a.keys.join(', ')} -> ${b.keys.join(', ')})`;
    if (b.rows.length < a.rows.length) return `${a.source} lost values`;
    for (let r = 0; r < a.rows.length; r++) {
      if (a.rows[r] !== undefined && b.rows[r] !== undefined && !rowsEqual(a.rows[r], b.rows[r]))
        return `${a.source} changed an existing value (row ${r})`;
    }
  }
  if (next.trialCount <= last.trialCount) return 'it adds no trials';
  if (next.trialCount > MAX_TRIALS)
    return `it would make ${next.trialCount} trials, more than the limit of ${MAX_TRIALS}`;
  const { search: s, objective } = last;
  if (s) {
    const t = next.search!;
    if (
      s.method !== t.method ||
      s.seed !== t.seed ||
      !rowsEqual(s.params, t.params) ||
      !rowsEqual(objective, next.objective)
    )
      return 'the search differs beyond its budget';
    // A start clipped by the old budget (all its points quasi-random) may grow with it.
    const startChanged = s.startup !== t.startup && s.startup < s.budget;
    if (s.method === 'tpe' && (startChanged || !growsFirstOnly(last, next))) {
      return 'a TPE search can only grow its budget (its model suggests points in one index space); add seeds or axis values in a new sweep';
    }
  }
  return null;
}

/** Only the slowest dimension grew: the new trials are a tail of the new plan's index space. */
export function growsFirstOnly(last: Plan, next: Plan): boolean {
  return last.dimensions.every((dim, d) => d === 0 || dim.rows.length === next.dimensions[d].rows.length);
}

/** A whole extension checked: the new spec's own validity is the caller's (semanticIssues). */
export function checkExtension(chain: Spec[], next: Spec, profile: string | null, file: string): void {
  const problem = extensionProblem(
    planSpec(chain[chain.length - 1], profile, file),
    planSpec(next, profile, file),
    chain.length - 1,
  );
  if (problem)
    throw new SpecError([{ file, path: 'extend', message: `cannot extend the sweep: ${problem}` } satisfies SpecIssue]);
}
