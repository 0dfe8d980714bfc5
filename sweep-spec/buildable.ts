// Which critic x encoder x estimator x objective combinations an infomax trial can be
// built from: one table over every name the model registries are keyed by (ml/config.ts's
// lists; ml/critics.ts, ml/encoders.ts and ml/estimators.ts hold one builder per name),
// each combination refused by exactly the cross-field rules of trialConfigSchema that
// the trainer applies too. Generated rather than written out, so a new critic or encoder
// is in the table the day it is registered; test/unit/sweep-spec-buildable.test.ts builds
// every combination through the registries and holds the refusals to the ones that
// cannot train. Free of TensorFlow.js: the workflow bundle imports the spec layer.
import { CRITICS, ENCODERS, ESTIMATORS, OBJECTIVES, trialConfigSchema } from '../ml/config.js';

export const COMBINATION_KEYS = ['critic', 'encoder', 'estimator', 'objective'] as const;
export type CombinationKey = (typeof COMBINATION_KEYS)[number];
export type Combination = Record<CombinationKey, string>;

/** Every value each key may take: the registries' names. */
export const COMBINATION_CHOICES: Readonly<Record<CombinationKey, readonly string[]>> = {
  critic: CRITICS,
  encoder: ENCODERS,
  estimator: ESTIMATORS,
  objective: OBJECTIVES,
};

export interface CombinationRow {
  combination: Combination;
  /** The schema's reasons it cannot be built; empty when it can. */
  refusals: readonly string[];
}

// Objective "target" needs a number: without one every target row would be refused for
// a missing value, which is no property of the combination.
const PROBE_TARGET = 1;

function refusalsOf(combination: Combination): string[] {
  const probe = { ...combination, target: combination.objective === 'target' ? PROBE_TARGET : null };
  const result = trialConfigSchema.safeParse(probe);
  return result.success ? [] : result.error.issues.map((issue) => issue.message);
}

const keyOf = (c: Combination) => COMBINATION_KEYS.map((k) => c[k]).join('\u0000');

function product(): Combination[] {
  let rows: Partial<Combination>[] = [{}];
  for (const key of COMBINATION_KEYS)
    rows = rows.flatMap((row) => COMBINATION_CHOICES[key].map((value) => ({ ...row, [key]: value })));
  return rows as Combination[];
}

let table: Map<string, CombinationRow> | null = null;
// A config with every default passes the cross-field rules, so parsing {} gives the defaults.
let defaults: ReturnType<typeof trialConfigSchema.parse> | null = null;

/** Every combination, in registry order, with why it cannot be built (computed once, on first use). */
export function combinationTable(): readonly CombinationRow[] {
  table ??= new Map(product().map((c) => [keyOf(c), { combination: c, refusals: refusalsOf(c) }]));
  return [...table.values()];
}

function rowOf(c: Combination): CombinationRow | undefined {
  if (!table) combinationTable();
  return table!.get(keyOf(c));
}

export interface CombinationRefusal {
  combination: Combination;
  refusals: readonly string[];
  /**
   * For each key whose change alone makes the combination buildable (and fit the rest of
   * the configuration), the values it may take with the other three as they are; keys
   * no such change helps are left out.
   */
  alternatives: Partial<Record<CombinationKey, string[]>>;
}

/** Whether `config` with `key` set to `value` breaks no rule on a combination key (the Gaussian study's encoder, say). */
function fitsTheRest(config: Record<string, unknown>, key: CombinationKey, value: string): boolean {
  const result = trialConfigSchema.safeParse({ ...config, [key]: value });
  return (
    result.success || !result.error.issues.some((i) => (COMBINATION_KEYS as readonly unknown[]).includes(i.path[0]))
  );
}

// The schema's cross-field rules read names and lists, never a number: configurations
// that differ only in numbers (a learning-rate grid) share their alternatives.
const alternativesMemo = new Map<string, Partial<Record<CombinationKey, string[]>>>();
const MEMO_MAX = 10_000;

/**
 * Why a trial configuration's combination cannot be built, or null when it can (or is
 * not in the table: another procedure, which builds no critic, or a name the schema
 * refuses on its own). Settings it leaves out take their defaults.
 */
export function combinationRefusal(config: Record<string, unknown>): CombinationRefusal | null {
  defaults ??= trialConfigSchema.parse({});
  const setting = (key: string) => (key in config ? config[key] : defaults![key as keyof typeof defaults]);
  if (setting('procedure') !== 'infomax') return null;
  const combination = Object.fromEntries(COMBINATION_KEYS.map((k) => [k, setting(k)])) as Combination;
  const row = rowOf(combination);
  if (!row || row.refusals.length === 0) return null;
  const memoKey = JSON.stringify(Object.entries(config).filter(([, v]) => typeof v !== 'number'));
  let alternatives = alternativesMemo.get(memoKey);
  if (!alternatives) {
    alternatives = alternativesOf(config, combination);
    if (alternativesMemo.size >= MEMO_MAX) alternativesMemo.clear();
    alternativesMemo.set(memoKey, alternatives);
  }
  return { combination, refusals: row.refusals, alternatives };
}

function alternativesOf(
  config: Record<string, unknown>,
  combination: Combination,
): Partial<Record<CombinationKey, string[]>> {
  const alternatives: Partial<Record<CombinationKey, string[]>> = {};
  for (const key of COMBINATION_KEYS) {
    const buildable = COMBINATION_CHOICES[key].filter(
      (v) =>
        v !== combination[key] &&
        rowOf({ ...combination, [key]: v })?.refusals.length === 0 &&
        fitsTheRest(config, key, v),
    );
    if (buildable.length) alternatives[key] = buildable;
  }
  return alternatives;
}
