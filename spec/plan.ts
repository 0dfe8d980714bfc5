// A spec with its chosen profile applied, reduced to what expansion needs: the fixed
// settings and an ordered list of dimensions (grid axes, zip groups, seeds). Every
// entry remembers where in the file it was written, so a failing trial configuration
// can be blamed on the line that caused it.
import type { z } from 'zod';
import { trialConfigSchema } from '../ml/config.js';
import { formatPath, ROOT_PATH, shortJson, SpecError, type PathSegment, type SpecIssue } from './errors.js';
import {
  MAX_TRIALS,
  seedList,
  TASK_QUEUES,
  type Profile,
  type QueueName,
  type Seeds,
  type Spec,
  type TrialSettings,
  type ZipGroup,
} from './schema.js';

export type AxisValues = Record<string, unknown>;

export interface Dimension {
  kind: 'grid' | 'zip' | 'seeds';
  /** Where the dimension is written: `grid.critic`, `zip[0]`, `profiles.quick.seeds`. */
  source: string;
  /** Settings it sets, in written order (`seed` for the seeds dimension). */
  keys: string[];
  /** Where each key's list is written, e.g. `zip[0].target`. */
  keyPaths: Record<string, string>;
  rows: AxisValues[];
}

export interface Plan {
  profile: string | null;
  fixed: TrialSettings;
  /** Where each fixed setting is written, e.g. `trial.steps` or `profiles.quick.trial.steps`. */
  fixedPaths: Record<string, string>;
  /** Grid axes in written order, then zip groups, then seeds (innermost). */
  dimensions: Dimension[];
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

/** Applies the profile (later layer wins per setting) and orders the dimensions. */
export function planSpec(spec: Spec, profileName?: string | null, file = `spec ${spec.name}`): Plan {
  const profileKey = profileName ?? null;
  let profile: Profile | undefined;
  if (profileKey !== null) {
    if (!Object.prototype.hasOwnProperty.call(spec.profiles, profileKey)) {
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
    profile = spec.profiles[profileKey];
  }

  const fixed = new Map<string, Located<unknown>>();
  const grid = new Map<string, Located<unknown[]>>();
  let zips: ZipState[] = [];
  let seeds: Located<Seeds> = { value: spec.seeds, path: 'seeds' };

  const layers: { layer: Profile; prefix: PathSegment[] }[] = [{ layer: spec, prefix: [] }];
  if (profile && profileKey !== null) layers.push({ layer: profile, prefix: ['profiles', profileKey] });

  for (const { layer, prefix } of layers) {
    const at = (...segments: PathSegment[]) => formatPath([...prefix, ...segments]);
    if (layer.zip) {
      zips = layer.zip.map((group: ZipGroup, g) => ({
        path: at('zip', g),
        lists: new Map(entries(group as Record<string, unknown[]>).map(([k, v]) => [k, { value: v, path: at('zip', g, k) }])),
      }));
      for (const zip of zips) {
        for (const key of zip.lists.keys()) {
          fixed.delete(key);
          grid.delete(key);
        }
      }
    }
    for (const [key, values] of entries(layer.grid as Record<string, unknown[]> | undefined)) {
      fixed.delete(key);
      if (prefix.length) removeFromZips(zips, key);
      grid.set(key, { value: values, path: at('grid', key) }); // Map.set keeps an existing key's position
    }
    for (const [key, value] of entries(layer.trial as Record<string, unknown> | undefined)) {
      if (prefix.length) {
        grid.delete(key);
        removeFromZips(zips, key);
      }
      fixed.set(key, { value, path: at('trial', key) });
    }
    if (layer.seeds !== undefined) seeds = { value: layer.seeds, path: at('seeds') };
  }

  const dimensions: Dimension[] = [];
  for (const [key, { value, path }] of grid) {
    dimensions.push({ kind: 'grid', source: path, keys: [key], keyPaths: { [key]: path }, rows: value.map((v) => ({ [key]: v })) });
  }
  for (const zip of zips) {
    if (zip.lists.size === 0) continue;
    const keys = [...zip.lists.keys()];
    // Unequal lengths are reported by validation; expansion uses the common prefix.
    const length = Math.min(...[...zip.lists.values()].map((l) => l.value.length));
    const rows = Array.from({ length }, (_, i) => Object.fromEntries(keys.map((k) => [k, zip.lists.get(k)!.value[i]])));
    const keyPaths = Object.fromEntries(keys.map((k) => [k, zip.lists.get(k)!.path]));
    dimensions.push({ kind: 'zip', source: zip.path, keys, keyPaths, rows });
  }
  const seedValues = seedList(seeds.value);
  dimensions.push({ kind: 'seeds', source: seeds.path, keys: ['seed'], keyPaths: { seed: seeds.path }, rows: seedValues.map((seed) => ({ seed })) });

  const queue = profile?.resources?.queue ?? spec.resources.queue;
  return {
    profile: profileKey,
    fixed: Object.fromEntries([...fixed].map(([k, v]) => [k, v.value])) as TrialSettings,
    fixedPaths: Object.fromEntries([...fixed].map(([k, v]) => [k, v.path])),
    dimensions,
    seeds: seedValues,
    trialCount: dimensions.reduce((n, d) => n * d.rows.length, 1),
    maxConcurrentTrials: profile?.max_concurrent_trials ?? spec.max_concurrent_trials,
    queue,
    taskQueue: TASK_QUEUES[queue],
  };
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
  const factors = plan.dimensions.map((d) => `${d.kind === 'grid' ? d.keys[0] : d.kind === 'zip' ? d.source : 'seeds'} ${d.rows.length}`);
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
    let path = ROOT_PATH;
    let note = '';
    if (key !== undefined) {
      const d = plan.dimensions.findIndex((dim) => dim.keys.includes(key));
      if (d >= 0) {
        const dim = plan.dimensions[d];
        path = dim.kind === 'seeds' ? `${dim.source}` : `${dim.keyPaths[key]}[${picks[d]}]`;
      } else if (key in plan.fixedPaths) {
        path = plan.fixedPaths[key];
      } else {
        path = formatPath(['trial', key]);
        note = `; \`${key}\` is not set (default ${shortJson(TRIAL_DEFAULTS[key])})`;
      }
    }
    return {
      file,
      path,
      ...(key !== undefined ? { value: shortJson(key in config ? config[key] : TRIAL_DEFAULTS[key]) } : {}),
      message: issue.message + note,
      trial: axes,
    };
  });
}

/** Resolves a configuration through the trial schema: defaults filled, cross-field rules checked. */
export function resolveConfig(
  plan: Plan,
  picks: readonly number[],
  /** Defaults under the spec's settings: an older data path's (defaultsOfDataPath). */
  defaults: Record<string, unknown> = {},
): { ok: true; config: z.output<typeof trialConfigSchema> } | { ok: false; input: Record<string, unknown>; issues: z.core.$ZodIssue[] } {
  const input: Record<string, unknown> = { ...defaults, ...plan.fixed, ...axesOf(plan, picks) };
  const result = trialConfigSchema.safeParse(input);
  return result.success ? { ok: true, config: result.data } : { ok: false, input, issues: result.error.issues };
}
