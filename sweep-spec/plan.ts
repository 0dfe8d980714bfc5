// A spec with its chosen profile applied, reduced to what expansion needs: the fixed
// settings and an ordered list of dimensions (grid axes, zip groups, seeds). Every
// entry remembers where in the file it was written, so a failing trial configuration
// can be blamed on the line that caused it.
import type { z } from 'zod';
import { trialConfigSchema } from '../ml/config.js';
import { formatPath, ROOT_PATH, shortJson, SpecError, type PathSegment, type SpecIssue } from './errors.js';
import { streamPoints } from './search/points.js';
import { SearchLayers, type PlannedSearch } from './search/resolve.js';
import type { PlannedEarlyStop } from './search/pruning.js';
import { resolveEarlyStop } from './early-stop.js';
import {
  MAX_TRIALS,
  seedList,
  TASK_QUEUES,
  type Profile,
  type QueueName,
  type Seeds,
  type Spec,
  type Objective,
  type TrialSettings,
  type ZipGroup,
} from './schema.js';

export type AxisValues = Record<string, unknown>;

export interface Dimension {
  kind: 'search' | 'grid' | 'zip' | 'seeds';
  /** Where the dimension is written: `search.params`, `grid.critic`, `zip[0]`, `profiles.quick.seeds`. */
  source: string;
  /** Settings it sets, in written order (`seed` for the seeds dimension). */
  keys: string[];
  /** Where each key's list is written, e.g. `zip[0].target`. */
  keyPaths: Record<string, string>;
  /**
   * One row per value (per sampled point, for search). A TPE search knows only its
   * quasi-random start here: the rows after it are holes that the sweep fills as its
   * model suggests points (see fillSearchPoint).
   */
  rows: AxisValues[];
}

export interface Plan {
  profile: string | null;
  fixed: TrialSettings;
  /** Where each fixed setting is written, e.g. `trial.steps` or `profiles.quick.trial.steps`. */
  fixedPaths: Record<string, string>;
  /** The sampled points (slowest), grid axes in written order, then zip groups, then seeds (innermost). */
  dimensions: Dimension[];
  /** The sampling search, or null for a plain grid (no `search:` or method grid). */
  search: PlannedSearch | null;
  /** What the search optimises, when the spec says. */
  objective: Objective | null;
  objectivePath: string | null;
  /** Problems of the search section: expansion refuses a plan that has any. */
  searchIssues: SpecIssue[];
  /** How trials are stopped early, or null when they all run to their last step. */
  earlyStop: PlannedEarlyStop | null;
  /** Where early_stop is written, for problems with it. */
  earlyStopPath: string | null;
  earlyStopIssues: SpecIssue[];
  seeds: number[];
  trialCount: number;
  maxConcurrentTrials: number;
  queue: QueueName;
  taskQueue: string;
}

interface Located<T> {
  value: T;
  path: string;
}

interface ZipState {
  path: string;
  lists: Map<string, Located<unknown[]>>;
}

function entries<T>(record: Record<string, T> | undefined): [string, T][] {
  return record ? Object.entries(record) : [];
}

function removeFromZips(zips: ZipState[], key: string): void {
  for (const zip of zips) zip.lists.delete(key);
}

function chosenProfile(spec: Spec, profileKey: string | null, file: string): Profile | undefined {
  if (profileKey === null) return undefined;
  if (Object.prototype.hasOwnProperty.call(spec.profiles, profileKey)) return spec.profiles[profileKey];
  const names = Object.keys(spec.profiles);
  throw new SpecError([
    {
      file,
      path: 'profiles',
      value: shortJson(profileKey),
      message: names.length
        ? `no profile named ${shortJson(profileKey)}`
        : `no profile named ${shortJson(profileKey)}: the spec defines no profiles`,
      allowed: names,
    },
  ]);
}

interface Layer {
  layer: Profile;
  prefix: PathSegment[];
}

/** Where each setting ended up after every layer: fixed, a grid axis, a zip group or searched. */
interface MergedLayers {
  fixed: Map<string, Located<unknown>>;
  grid: Map<string, Located<unknown[]>>;
  zips: ZipState[];
  seeds: Located<Seeds>;
  search: SearchLayers;
}

/** Applies the layers in order (the spec, then its profile): a later layer wins per setting. */
function mergeLayers(layers: Layer[], specSeeds: Seeds): MergedLayers {
  const m: MergedLayers = {
    fixed: new Map(),
    grid: new Map(),
    zips: [],
    seeds: { value: specSeeds, path: 'seeds' },
    search: new SearchLayers(),
  };
  const { fixed, grid, search } = m;
  for (const { layer, prefix } of layers) {
    const at = (...segments: PathSegment[]) => formatPath([...prefix, ...segments]);
    if (layer.zip) {
      m.zips = layer.zip.map((group: ZipGroup, g) => ({
        path: at('zip', g),
        lists: new Map(
          entries(group as Record<string, unknown[]>).map(([k, v]) => [k, { value: v, path: at('zip', g, k) }]),
        ),
      }));
      for (const key of m.zips.flatMap((zip) => [...zip.lists.keys()])) {
        fixed.delete(key);
        grid.delete(key);
        search.drop(key);
      }
    }
    for (const [key, values] of entries(layer.grid as Record<string, unknown[]> | undefined)) {
      fixed.delete(key);
      if (prefix.length) {
        removeFromZips(m.zips, key);
        search.drop(key);
      }
      grid.set(key, { value: values, path: at('grid', key) }); // Map.set keeps an existing key's position
    }
    for (const [key, value] of entries(layer.trial as Record<string, unknown> | undefined)) {
      if (prefix.length) {
        grid.delete(key);
        removeFromZips(m.zips, key);
        search.drop(key);
      }
      fixed.set(key, { value, path: at('trial', key) });
    }
    search.apply(layer.search, prefix.length ? `${formatPath(prefix)}.` : '', (key) => {
      fixed.delete(key);
      grid.delete(key);
      removeFromZips(m.zips, key);
    });
    if (layer.seeds !== undefined) m.seeds = { value: layer.seeds, path: at('seeds') };
  }
  return m;
}

/** The dimensions in expansion order: the search (slowest), grid axes as written, zip groups, seeds (fastest). */
function dimensionsOf(m: MergedLayers, search: PlannedSearch | null, seedValues: number[]): Dimension[] {
  const dimensions: Dimension[] = search ? [searchDimension(search)] : [];
  for (const [key, { value, path }] of m.grid) {
    dimensions.push({
      kind: 'grid',
      source: path,
      keys: [key],
      keyPaths: { [key]: path },
      rows: value.map((v) => ({ [key]: v })),
    });
  }
  for (const zip of m.zips) {
    if (zip.lists.size === 0) continue;
    const keys = [...zip.lists.keys()];
    // Unequal lengths are reported by validation; expansion uses the common prefix.
    const length = Math.min(...[...zip.lists.values()].map((l) => l.value.length));
    const rows = Array.from({ length }, (_, i) => Object.fromEntries(keys.map((k) => [k, zip.lists.get(k)!.value[i]])));
    const keyPaths = Object.fromEntries(keys.map((k) => [k, zip.lists.get(k)!.path]));
    dimensions.push({ kind: 'zip', source: zip.path, keys, keyPaths, rows });
  }
  dimensions.push({
    kind: 'seeds',
    source: m.seeds.path,
    keys: ['seed'],
    keyPaths: { seed: m.seeds.path },
    rows: seedValues.map((seed) => ({ seed })),
  });
  return dimensions;
}

/** Applies the profile (later layer wins per setting) and orders the dimensions. */
export function planSpec(spec: Spec, profileName?: string | null, file = `spec ${spec.name}`): Plan {
  const profileKey = profileName ?? null;
  const profile = chosenProfile(spec, profileKey, file);
  const layers: Layer[] = [{ layer: spec, prefix: [] }];
  if (profile && profileKey !== null) layers.push({ layer: profile, prefix: ['profiles', profileKey] });

  const merged = mergeLayers(layers, spec.seeds);
  const resolved = merged.search.resolve(file);
  const earlyStop = resolveEarlyStop(
    layers.map(({ layer, prefix }) => ({
      section: layer.early_stop,
      prefix: prefix.length ? `${formatPath(prefix)}.` : '',
    })),
    file,
  );
  const seedValues = seedList(merged.seeds.value);
  const dimensions = dimensionsOf(merged, resolved.search, seedValues);
  const queue = profile?.resources?.queue ?? spec.resources.queue;
  return {
    profile: profileKey,
    fixed: Object.fromEntries([...merged.fixed].map(([k, v]) => [k, v.value])) as TrialSettings,
    fixedPaths: Object.fromEntries([...merged.fixed].map(([k, v]) => [k, v.path])),
    dimensions,
    search: resolved.search,
    objective: resolved.objective,
    objectivePath: resolved.objectivePath,
    searchIssues: resolved.issues,
    earlyStop: earlyStop.earlyStop,
    earlyStopPath: earlyStop.path,
    earlyStopIssues: earlyStop.issues,
    seeds: seedValues,
    trialCount: dimensions.reduce((n, d) => n * d.rows.length, 1),
    maxConcurrentTrials: profile?.max_concurrent_trials ?? spec.max_concurrent_trials,
    queue,
    taskQueue: TASK_QUEUES[queue],
  };
}

function rowOf(search: PlannedSearch, values: readonly number[]): AxisValues {
  return Object.fromEntries(search.params.map((p, d) => [p.key, values[d]]));
}

// Random and Sobol points (and TPE's quasi-random start) are known from the seed alone;
// a TPE point after the start is a hole until the sweep's model suggests it.
function searchDimension(search: PlannedSearch): Dimension {
  const known = streamPoints(
    search.method === 'random' ? 'random' : 'sobol',
    search.seed,
    search.params,
    search.startup,
  );
  const rows = new Array<AxisValues>(search.budget);
  known.forEach((values, p) => (rows[p] = rowOf(search, values)));
  return {
    kind: 'search',
    source: search.source,
    keys: search.params.map((p) => p.key),
    keyPaths: { ...search.keyPaths },
    rows,
  };
}

/** Records a model-suggested point of a TPE search in the plan (the sweep's trial source reads it). */
export function fillSearchPoint(plan: Plan, point: number, values: readonly number[]): void {
  const dim = plan.dimensions[0];
  if (!plan.search || dim?.kind !== 'search') throw new Error('fillSearchPoint: the plan has no search');
  dim.rows[point] = rowOf(plan.search, values);
}

/** The sampled point a trial belongs to (0 when the plan samples nothing). */
export function pointOf(plan: Plan, index: number): number {
  const perPoint = plan.dimensions.slice(1).reduce((n, d) => n * d.rows.length, 1);
  return plan.search ? Math.floor(index / perPoint) : 0;
}

/** The row index chosen in each dimension for a trial index (seeds vary fastest). */
export function rowIndices(plan: Plan, index: number): number[] {
  const picks = new Array<number>(plan.dimensions.length);
  let rest = index;
  for (let d = plan.dimensions.length - 1; d >= 0; d--) {
    const n = plan.dimensions[d].rows.length;
    picks[d] = rest % n;
    rest = Math.floor(rest / n);
  }
  return picks;
}

/** The axis values (setting -> value, in dimension order) of one choice of rows. */
export function axesOf(plan: Plan, picks: readonly number[]): AxisValues {
  const axes: AxisValues = {};
  plan.dimensions.forEach((dim, d) => Object.assign(axes, dim.rows[picks[d]]));
  return axes;
}

function withThousands(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toExponential(2);
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** The problem with a plan that expands to too many trials, if it does. */
export function trialLimitIssue(plan: Plan, file: string): SpecIssue | undefined {
  if (plan.trialCount <= MAX_TRIALS) return undefined;
  const name = (d: Dimension) =>
    d.kind === 'grid' ? d.keys[0] : d.kind === 'zip' ? d.source : d.kind === 'search' ? 'search.budget' : 'seeds';
  const factors = plan.dimensions.map((d) => `${name(d)} ${d.rows.length}`);
  return {
    file,
    path: plan.profile === null ? ROOT_PATH : formatPath(['profiles', plan.profile]),
    value: String(plan.trialCount),
    message:
      `${plan.profile === null ? 'the spec' : `profile "${plan.profile}"`} expands to ${withThousands(plan.trialCount)} trials ` +
      `(${factors.join(' x ')}), more than the limit of ${withThousands(MAX_TRIALS)}; shrink an axis or the seeds`,
  };
}

// A config with every default passes the cross-field rules, so parsing {} gives the defaults.
const TRIAL_DEFAULTS: Record<string, unknown> = trialConfigSchema.parse({});

export function formatCount(n: number): string {
  return withThousands(n);
}

/**
 * Rewrites trialConfigSchema's issues for one resolved configuration as spec issues
 * pointing at where the offending setting was written (or `trial.<key>` when it was
 * left to its default).
 */
export function configIssues(
  plan: Plan,
  picks: readonly number[],
  config: Record<string, unknown>,
  zodIssues: readonly z.core.$ZodIssue[],
  file: string,
): SpecIssue[] {
  const axes = axesOf(plan, picks);
  return zodIssues.map((issue) => {
    const key = typeof issue.path[0] === 'string' ? issue.path[0] : undefined;
    const { path, note } = key === undefined ? { path: ROOT_PATH, note: '' } : settingSource(plan, picks, key);
    return {
      file,
      path,
      ...(key !== undefined ? { value: shortJson(settingValue(config, key)) } : {}),
      message: issue.message + note,
      trial: axes,
    };
  });
}

/**
 * Where one configuration's `key` was written: the axis value picked, the fixed setting,
 * or `trial.<key>` with a note when it was left to its default.
 */
export function settingSource(plan: Plan, picks: readonly number[], key: string): { path: string; note: string } {
  const d = plan.dimensions.findIndex((dim) => dim.keys.includes(key));
  if (d >= 0) {
    const dim = plan.dimensions[d];
    return { path: dim.kind === 'seeds' ? dim.source : `${dim.keyPaths[key]}[${picks[d]}]`, note: '' };
  }
  if (key in plan.fixedPaths) return { path: plan.fixedPaths[key], note: '' };
  return {
    path: formatPath(['trial', key]),
    note: `; \`${key}\` is not set (default ${shortJson(TRIAL_DEFAULTS[key])})`,
  };
}

/** A configuration's `key`, or its default where the configuration leaves it out. */
export function settingValue(config: Record<string, unknown>, key: string): unknown {
  return key in config ? config[key] : TRIAL_DEFAULTS[key];
}

/** Whether a grid axis, zip group or search varies `key` (rather than the spec fixing it, or leaving it out). */
export function isVaried(plan: Plan, key: string): boolean {
  return plan.dimensions.some((dim) => dim.kind !== 'seeds' && dim.keys.includes(key));
}

/** Resolves a configuration through the trial schema: defaults filled, cross-field rules checked. */
export function resolveConfig(
  plan: Plan,
  picks: readonly number[],
  /** Defaults under the spec's settings: an older data path's (defaultsOfDataPath). */
  defaults: Record<string, unknown> = {},
):
  | { ok: true; config: z.output<typeof trialConfigSchema> }
  | { ok: false; input: Record<string, unknown>; issues: z.core.$ZodIssue[] } {
  const input: Record<string, unknown> = { ...defaults, ...plan.fixed, ...axesOf(plan, picks) };
  const result = trialConfigSchema.safeParse(input);
  return result.success ? { ok: true, config: result.data } : { ok: false, input, issues: result.error.issues };
}
