// The shape of a sweep spec file. Every trial setting's type, range and allowed values
// come from ml/config.ts's trialConfigSchema, so a new setting or enum value there is
// accepted (and appears in the editor JSON Schema) without a change here.
import { z } from 'zod';
import { trialConfigSchema, type TrialConfig } from '../ml/config.js';
import { DISTRIBUTIONS, type Distribution } from './search/space.js';

/** More trials than this is almost always a typo (an axis pasted twice, seeds: 1000). */
export const MAX_TRIALS = 100_000;
/**
 * TPE's points and observations travel in the sweep's carry (random and Sobol points are
 * recomputed from the seed), and each suggestion scans every observation: a thousand
 * points keep both small, and more is past where TPE still learns much per point.
 */
export const MAX_TPE_BUDGET = 1_000;
/** TPE's quasi-random start when the spec does not say (Optuna's default). */
export const DEFAULT_TPE_STARTUP = 10;
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
export type SearchParams = Partial<Record<SettingKey, Distribution>>;
/** A count N (seeds 0..N-1) or an explicit list. */
export type Seeds = number | number[];

export interface SpecResources {
  queue: QueueName;
}

export const SEARCH_METHODS = ['grid', 'random', 'sobol', 'tpe'] as const;
export type SearchMethod = (typeof SEARCH_METHODS)[number];
export const OBJECTIVE_MODES = ['min', 'max'] as const;

export interface Objective {
  metric: string;
  mode: (typeof OBJECTIVE_MODES)[number];
  /** The metric's value at the first report at or after this step, or at the end. */
  step: number | 'last';
}

export const EARLY_STOP_METHODS = ['median', 'asha'] as const;
export type EarlyStopMethod = (typeof EARLY_STOP_METHODS)[number];
/** ASHA keeps the best 1/reduction_factor at each rung (Li et al. 2020 and Ray Tune default to 3 or 4). */
export const DEFAULT_REDUCTION_FACTOR = 3;
/** The median rule waits for this many finished trials (Vizier's and Ray Tune's default). */
export const DEFAULT_MEDIAN_MIN_TRIALS = 3;
/**
 * Early stopping keeps every evaluation a trial reports in the sweep's state (the median rule
 * needs whole curves, ASHA every rung), which travels through continue-as-new: this many
 * reports, about 20 bytes each, keep the carry far under Temporal's 2 MB payload limit.
 */
export const MAX_EARLY_STOP_REPORTS = 20_000;

export interface EarlyStopSpec {
  method: EarlyStopMethod;
  /** An evaluation metric every trial reports (linear_eval_accuracy, i_est_test, ...). */
  metric: string;
  mode: (typeof OBJECTIVE_MODES)[number];
  /** No trial is stopped before this step. */
  grace_period: number;
  /** asha: rungs at grace_period * reduction_factor^k; the best 1/reduction_factor go on. */
  reduction_factor?: number;
  /** median: finished trials needed before the rule stops anything. */
  min_trials?: number;
}

export interface SearchSpec {
  method: SearchMethod;
  /** Sampled points; each runs once per grid/zip configuration and seed. */
  budget?: number;
  seed?: number;
  /** TPE only: points sampled quasi-randomly before the model takes over. */
  startup?: number;
  objective?: Objective;
  params?: SearchParams;
}

export interface Profile {
  description?: string;
  trial?: TrialSettings;
  grid?: Grid;
  zip?: ZipGroup[];
  search?: Partial<SearchSpec>;
  early_stop?: Partial<EarlyStopSpec>;
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
  /** Absent unless written: a spec without it (and every sweep from before it) is a plain grid. */
  search?: SearchSpec;
  /** Absent unless written: trials run to their last step. */
  early_stop?: EarlyStopSpec;
  seeds: Seeds;
  profiles: Record<string, Profile>;
  max_concurrent_trials: number;
  resources: SpecResources;
}

type AnySchema = z.ZodType;
const trialShape = trialConfigSchema.shape as Record<string, AnySchema>;

export const SETTING_KEYS: readonly SettingKey[] = Object.keys(trialShape).filter((k): k is SettingKey => k !== 'seed');

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

/** A setting's number schema (nullable unwrapped), or undefined for a non-numeric setting. */
function numberSchemaOf(key: SettingKey): { isInt: boolean } | undefined {
  let schema = settingSchema(key) as unknown as { def: { type: string; innerType?: unknown }; isInt?: boolean };
  if (schema.def.type === 'nullable') schema = schema.def.innerType as typeof schema;
  return schema.def.type === 'number' ? { isInt: schema.isInt === true } : undefined;
}

/** Settings a search distribution may vary: the numeric ones. */
export const NUMERIC_SETTING_KEYS: readonly SettingKey[] = SETTING_KEYS.filter((k) => numberSchemaOf(k) !== undefined);

/** Whether a numeric setting only takes integers (`batch_size`), read from the trial schema. */
export function isIntegerSetting(key: SettingKey): boolean {
  return numberSchemaOf(key)?.isInt === true;
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
  .union([z.number().int().min(1).max(MAX_TRIALS), z.array(seedSchema).min(1)])
  .describe('A count N (seeds 0..N-1) or an explicit list of seeds; every configuration runs once per seed.');

const trialBlockSchema = z
  .strictObject(Object.fromEntries(SETTING_KEYS.map((k) => [k, settingSchema(k).optional()])))
  .meta({ id: 'TrialSettings', description: 'Settings fixed for every trial; anything left out takes its default.' });

const gridBlockSchema = z
  .strictObject(Object.fromEntries(SETTING_KEYS.map((k) => [k, z.array(settingSchema(k)).min(1).optional()])))
  .meta({
    id: 'Grid',
    description:
      'Each setting listed here takes each of its values; axes combine as a Cartesian product in the order written.',
  });

const zipGroupSchema = z
  .strictObject(Object.fromEntries(SETTING_KEYS.map((k) => [k, z.array(settingSchema(k)).min(1).optional()])))
  .meta({
    id: 'ZipGroup',
    description:
      'Settings varied together: the i-th values of every list form one configuration; all lists have equal length.',
  });

const zipSchema = z
  .array(zipGroupSchema)
  .describe('Groups of settings varied together; each group is one more axis after the grid axes.');

const bounded = (name: 'uniform' | 'log_uniform' | 'int_uniform') =>
  z.strictObject({ distribution: z.literal(name), low: z.number(), high: z.number() });
const distributionSchema = z
  .discriminatedUnion('distribution', [
    bounded('uniform'),
    bounded('log_uniform'),
    bounded('int_uniform'),
    z.strictObject({ distribution: z.literal('choice'), values: z.array(z.number()).min(1) }),
  ])
  .meta({
    id: 'Distribution',
    description:
      'uniform, log_uniform (low > 0) and int_uniform take low and high (both included); choice takes values.',
  });

const searchParamsSchema = z
  .strictObject(Object.fromEntries(NUMERIC_SETTING_KEYS.map((k) => [k, distributionSchema.optional()])))
  .meta({
    id: 'SearchParams',
    description: "Numeric settings to sample, each with its distribution; bounds must lie in the setting's range.",
  });

const objectiveSchema = z
  .strictObject({
    metric: z.string().min(1).describe('A metric the trials log, e.g. linear_eval_accuracy or i_est_test.'),
    mode: z.enum(OBJECTIVE_MODES).describe('min or max: which direction is better.'),
    step: z
      .union([z.literal('last'), z.number().int().min(0)])
      .default('last')
      .describe('The value at the first report at or after this step, or `last` (the end of the trial).'),
  })
  .describe('What the search optimises (TPE) and reports.');

const searchFields = {
  method: z
    .enum(SEARCH_METHODS)
    .describe(
      'grid: the axes only (as without search); random; sobol: scrambled quasi-random; tpe: Tree-structured Parzen Estimator.',
    ),
  budget: z
    .number()
    .int()
    .min(1)
    .max(MAX_TRIALS)
    .optional()
    .describe('Sampled points; each runs once per grid/zip configuration and seed.'),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .optional()
    .describe('Seed of the sampler (default 0): the same spec samples the same points.'),
  startup: z
    .number()
    .int()
    .min(1)
    .max(MAX_TRIALS)
    .optional()
    .describe('tpe only: quasi-random points before the model (default min(10, budget)).'),
  objective: objectiveSchema.optional(),
  params: searchParamsSchema.optional(),
};
const searchSchema = z.strictObject(searchFields).meta({
  id: 'Search',
  description: 'Sampled settings: each sampled point is crossed with the grid/zip configurations and the seeds.',
});
const profileSearchSchema = z
  .strictObject({ ...searchFields, method: searchFields.method.optional() })
  .describe("Replaces the spec's search fields it writes; params merge per setting.");

const earlyStopFields = {
  method: z
    .enum(EARLY_STOP_METHODS)
    .describe(
      "median: stop a trial whose best value is worse than the median of finished trials' running averages at the same step; asha: asynchronous successive halving.",
    ),
  metric: z
    .string()
    .min(1)
    .describe('An evaluation metric every trial reports, e.g. linear_eval_accuracy or i_est_test.'),
  mode: z.enum(OBJECTIVE_MODES).describe('min or max: which direction is better.'),
  grace_period: z.number().int().min(1).describe("No trial is stopped before this step (ASHA's first rung)."),
  reduction_factor: z
    .number()
    .int()
    .min(2)
    .max(100)
    .optional()
    .describe(
      `asha only: rungs at grace_period * reduction_factor^k; the best 1/reduction_factor of each rung go on (default ${DEFAULT_REDUCTION_FACTOR}).`,
    ),
  min_trials: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .optional()
    .describe(
      `median only: finished trials needed before the rule stops anything (default ${DEFAULT_MEDIAN_MIN_TRIALS}).`,
    ),
};
const earlyStopSchema = z.strictObject(earlyStopFields).meta({
  id: 'EarlyStop',
  description:
    'Stops trials that fall behind at their evaluations; a stopped trial is "pruned", not failed or cancelled.',
});
const profileEarlyStopSchema = z
  .strictObject(Object.fromEntries(Object.entries(earlyStopFields).map(([k, v]) => [k, v.optional()])))
  .describe("Replaces the spec's early_stop fields it writes.");

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
    search: profileSearchSchema.optional(),
    early_stop: profileEarlyStopSchema.optional(),
    seeds: seedsSchema.optional(),
    max_concurrent_trials: maxConcurrentSchema.optional(),
    resources: resourcesSchema.optional(),
  })
  .describe(
    'Overrides chosen at launch (--profile NAME). Per setting, the profile wins: a setting it fixes stops being an axis, ' +
      "a grid axis it lists replaces the spec's, its zip replaces the spec's zip.",
  );

export const specSchema = z
  .strictObject({
    name: slugSchema.describe('Sweep name: the MLflow experiment name and the start of every sweep id.'),
    study: slugSchema.describe('Which study of the paper this sweep belongs to, e.g. critic-capacity.'),
    description: z.string().default(''),
    trial: trialBlockSchema.default({}),
    grid: gridBlockSchema.default({}),
    zip: zipSchema.default([]),
    search: searchSchema.optional(),
    early_stop: earlyStopSchema.optional(),
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
export const SEARCH_KEYS: readonly string[] = Object.keys(searchFields);
export const OBJECTIVE_KEYS: readonly string[] = Object.keys(objectiveSchema.shape);
export const EARLY_STOP_KEYS: readonly string[] = Object.keys(earlyStopFields);
export const DISTRIBUTION_KEYS: readonly string[] = ['distribution', 'low', 'high', 'values'];
export { DISTRIBUTIONS };

export function seedList(seeds: Seeds): number[] {
  return typeof seeds === 'number' ? Array.from({ length: seeds }, (_, i) => i) : [...seeds];
}
