// The shape of a sweep spec file. Every trial setting's type, range and allowed values
// come from ml/config.ts's trialConfigSchema, so a new setting or enum value there is
// accepted (and appears in the editor JSON Schema) without a change here.
import { z } from 'zod';
import { trialConfigSchema, type TrialConfig } from '../ml/config.js';

/** More trials than this is almost always a typo (an axis pasted twice, seeds: 1000). */
export const MAX_TRIALS = 100_000;
export const DEFAULT_MAX_CONCURRENT_TRIALS = 4;
export const MAX_CONCURRENT_TRIALS_LIMIT = 1_000;
export const DEFAULT_SEEDS = 1;

export const QUEUES = ['cpu', 'gpu'] as const;
export type QueueName = (typeof QUEUES)[number];
export const TASK_QUEUES: Readonly<Record<QueueName, string>> = { cpu: 'mirl-cpu', gpu: 'mirl-gpu' };

/** A trial setting a spec may fix or vary. `seed` is excluded: `seeds:` owns it. */
export type SettingKey = Exclude<keyof TrialConfig, 'seed'>;
export type SettingValue = TrialConfig[SettingKey];
export type TrialSettings = { [K in SettingKey]?: TrialConfig[K] };
export type Grid = { [K in SettingKey]?: TrialConfig[K][] };
export type ZipGroup = Grid;
/** A count N (seeds 0..N-1) or an explicit list. */
export type Seeds = number | number[];

export interface SpecResources {
  queue: QueueName;
}

export interface Profile {
  description?: string;
  trial?: TrialSettings;
  grid?: Grid;
  zip?: ZipGroup[];
  seeds?: Seeds;
  max_concurrent_trials?: number;
  resources?: SpecResources;
}

/** A parsed spec: plain JSON data (it travels as a Temporal workflow argument). */
export interface Spec {
  name: string;
  study: string;
  description: string;
  trial: TrialSettings;
  grid: Grid;
  zip: ZipGroup[];
  seeds: Seeds;
  profiles: Record<string, Profile>;
  max_concurrent_trials: number;
  resources: SpecResources;
}

type AnySchema = z.ZodType;
const trialShape = trialConfigSchema.shape as Record<string, AnySchema>;

export const SETTING_KEYS: readonly SettingKey[] = Object.keys(trialShape).filter(
  (k): k is SettingKey => k !== 'seed',
);

export function isSettingKey(key: string): key is SettingKey {
  return (SETTING_KEYS as readonly string[]).includes(key);
}

// Defaults belong to the resolved trial, not to the spec: a spec that leaves a setting
// out must stay distinguishable from one that writes the default value.
function withoutDefault(schema: AnySchema): AnySchema {
  const def = (schema as unknown as { def: { type: string; innerType?: AnySchema } }).def;
  if ((def.type === 'default' || def.type === 'prefault') && def.innerType) return withoutDefault(def.innerType);
  return schema;
}

/** The schema of one value of a setting, without its default. */
export function settingSchema(key: SettingKey | 'seed'): AnySchema {
  return withoutDefault(trialShape[key]);
}

/** Enum values of a setting (or of its list elements), read from the trial schema. */
export function allowedValues(key: string): readonly (string | number)[] | undefined {
  if (!(key in trialShape)) return undefined;
  let schema = withoutDefault(trialShape[key]) as unknown as { def: Record<string, unknown> };
  for (;;) {
    const def = schema.def;
    if (def.type === 'enum') return Object.values(def.entries as Record<string, string | number>);
    if (def.type === 'array') schema = def.element as typeof schema;
    else if (def.type === 'nullable' || def.type === 'optional') schema = def.innerType as typeof schema;
    else return undefined;
  }
}

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const SLUG_MAX = 63;
export const slugSchema = z
  .string()
  .max(SLUG_MAX)
  .regex(SLUG, { error: 'must be a lowercase slug like critic-capacity (a-z, 0-9, single hyphens)' });

export function isSlug(text: string): boolean {
  return text.length <= SLUG_MAX && SLUG.test(text);
}

const seedSchema = settingSchema('seed');
export const seedsSchema = z
  .union([
    z.number().int().min(1).max(MAX_TRIALS),
    z.array(seedSchema).min(1),
  ])
  .describe('A count N (seeds 0..N-1) or an explicit list of seeds; every configuration runs once per seed.');

const trialBlockSchema = z
  .strictObject(Object.fromEntries(SETTING_KEYS.map((k) => [k, settingSchema(k).optional()])))
  .meta({ id: 'TrialSettings', description: 'Settings fixed for every trial; anything left out takes its default.' });

const gridBlockSchema = z
  .strictObject(Object.fromEntries(SETTING_KEYS.map((k) => [k, z.array(settingSchema(k)).min(1).optional()])))
  .meta({
    id: 'Grid',
    description: 'Each setting listed here takes each of its values; axes combine as a Cartesian product in the order written.',
  });

const zipGroupSchema = z
  .strictObject(Object.fromEntries(SETTING_KEYS.map((k) => [k, z.array(settingSchema(k)).min(1).optional()])))
  .meta({
    id: 'ZipGroup',
    description: 'Settings varied together: the i-th values of every list form one configuration; all lists have equal length.',
  });

const zipSchema = z
  .array(zipGroupSchema)
  .describe('Groups of settings varied together; each group is one more axis after the grid axes.');

const maxConcurrentSchema = z
  .number()
  .int()
  .min(1)
  .max(MAX_CONCURRENT_TRIALS_LIMIT)
  .describe('How many trials of this sweep run at the same time.');

const resourcesSchema = z
  .strictObject({
    queue: z.enum(QUEUES).default('cpu').describe('Task queue the trials run on: cpu = mirl-cpu, gpu = mirl-gpu.'),
  })
  .describe('Where the trials run.');

export const profileSchema = z
  .strictObject({
    description: z.string().optional(),
    trial: trialBlockSchema.optional(),
    grid: gridBlockSchema.optional(),
    zip: zipSchema.optional(),
    seeds: seedsSchema.optional(),
    max_concurrent_trials: maxConcurrentSchema.optional(),
    resources: resourcesSchema.optional(),
  })
  .describe(
    'Overrides chosen at launch (--profile NAME). Per setting, the profile wins: a setting it fixes stops being an axis, ' +
      'a grid axis it lists replaces the spec\'s, its zip replaces the spec\'s zip.',
  );

export const specSchema = z
  .strictObject({
    name: slugSchema.describe('Sweep name: the MLflow experiment name and the start of every sweep id.'),
    study: slugSchema.describe('Which study of the paper this sweep belongs to, e.g. critic-capacity.'),
    description: z.string().default(''),
    trial: trialBlockSchema.default({}),
    grid: gridBlockSchema.default({}),
    zip: zipSchema.default([]),
    seeds: seedsSchema.default(DEFAULT_SEEDS),
    profiles: z.record(slugSchema, profileSchema).default({}),
    max_concurrent_trials: maxConcurrentSchema.default(DEFAULT_MAX_CONCURRENT_TRIALS),
    resources: resourcesSchema.default({ queue: 'cpu' }),
  })
  .meta({
    title: 'mirl sweep spec',
    description:
      'A sweep of mutual-information representation-learning trials: fixed settings, axes (grid, zip) and seeds. ' +
      'Validate with `mirl sweep validate FILE`.',
  });

export const TOP_LEVEL_KEYS: readonly string[] = Object.keys(specSchema.shape);
export const PROFILE_KEYS: readonly string[] = Object.keys(profileSchema.shape);
export const RESOURCE_KEYS: readonly string[] = Object.keys(resourcesSchema.shape);

export function seedList(seeds: Seeds): number[] {
  return typeof seeds === 'number' ? Array.from({ length: seeds }, (_, i) => i) : [...seeds];
}
