// The version of what a trial computes from its configuration. A sweep records the
// version it was launched under (SweepInput.dataPath); its trial ids hash it and its
// MLflow runs carry it (tag mirl.data_path), so numbers computed under two versions are
// never taken for one another, and a worker refuses trials of a version it does not
// compute. Plain data, no imports at run time: workflow code reads it.
import type { TrialConfig, TrialConfigInput } from './config.js';

/**
 * Bump this when a change makes a trial of the same configuration compute other numbers:
 * the data it sees (order, views, noise), a model, an estimator, an evaluation or its
 * stopping rule, or a default in ml/config.ts (record the old value of such a default
 * in REPLACED_DEFAULTS under the new version). Speed-ups that give the same numbers and
 * changes to orchestration do not count.
 *
 * 1: everything before versions were recorded (a sweep input without `dataPath`).
 * 2: the authors' notebook data path: one noise tensor per batch shared by both views
 *    (training batches and I_EST test pairs); Jacobians at the current noisy training
 *    batch; condition-number percentiles by the floor-index rule; linear evaluation with
 *    one stopping rule and one budget, reporting whether it converged.
 * 3: linear evaluation by named protocols (linear_eval_protocols); the default adds the
 *    authors' notebook fit (saga, tol 0.1) to the converged one, on the same codes.
 * 4: the converged fit runs on codes centred on the training mean (an exact
 *    reparameterisation of its unpenalised intercept): the same optimum, reached in 2-3x
 *    fewer iterations, and the stopping rule now ends nearer it (accuracies move by
 *    about +0.05 point).
 */
export const DATA_PATH_VERSION = 4;

/** What a sweep input without a recorded version was launched under. */
export const LEGACY_DATA_PATH_VERSION = 1;

/**
 * Defaults version v replaced, with their values before v. A sweep of an older version
 * expands its spec with them, so its trials keep the configurations (and ids) they were
 * started with and its recorded workflow history still replays.
 */
const REPLACED_DEFAULTS: Readonly<Record<number, Partial<TrialConfigInput>>> = {
  2: { linear_eval_max_iter: 500 },
  3: { linear_eval_protocols: ['converged'] },
};

/**
 * Settings version v introduced, which older versions' trials were resolved without.
 * Each has its value before v in REPLACED_DEFAULTS[v], so older trials carry it
 * explicitly; their identity leaves it out (identityConfig), so the trial ids their sweeps
 * recorded (Temporal child workflow ids, MLflow lookups) stay what they were.
 */
const INTRODUCED_SETTINGS: Readonly<Record<number, readonly (keyof TrialConfigInput)[]>> = {
  3: ['linear_eval_protocols'],
};

/**
 * The configuration as a trial of `version` is identified by (sweep-spec/trial-id.ts):
 * without the settings introduced after `version` where they hold the value they stand
 * for there. Any other value (an override on a newer mirl) stays, so it is another trial.
 */
export function identityConfig(config: unknown, version: number): unknown {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return config;
  let out = config as Record<string, unknown>;
  for (let v = version + 1; v <= DATA_PATH_VERSION; v++) {
    for (const key of INTRODUCED_SETTINGS[v] ?? []) {
      if (!(key in out) || JSON.stringify(out[key]) !== JSON.stringify(REPLACED_DEFAULTS[v]?.[key])) continue;
      const { [key]: _dropped, ...rest } = out;
      out = rest;
    }
  }
  return out;
}

export class DataPathVersionError extends Error {
  override name = 'DataPathVersionError';
}

/** The version a sweep input records (absent: the legacy one), checked to be one this code knows. */
export function dataPathOf(recorded: unknown): number {
  const v = recorded ?? LEGACY_DATA_PATH_VERSION;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < LEGACY_DATA_PATH_VERSION || v > DATA_PATH_VERSION) {
    throw new DataPathVersionError(
      `data path version ${JSON.stringify(v)} is unknown here (this code knows 1 to ${DATA_PATH_VERSION}): a newer mirl launched it`,
    );
  }
  return v;
}

/** The defaults, where they differ from today's, that trials of `version` were resolved with. */
export function defaultsOfDataPath(version: number): Partial<TrialConfigInput> {
  let out: Partial<TrialConfigInput> = {};
  // Newest first, so that the value from before the oldest change after `version` wins.
  for (let v = DATA_PATH_VERSION; v > version; v--) out = { ...out, ...REPLACED_DEFAULTS[v] };
  return out;
}

/**
 * What each version changed, as a test of a configuration: true when the change between
 * `version - 1` and `version` can alter what that configuration computes.
 */
const CHANGED_BY: Readonly<Record<number, (c: TrialConfig) => boolean>> = {
  // Noise (training batches and test pairs), the Jacobian evaluation, the linear
  // evaluation's stopping rule; the adversarial loop evaluates through the linear probe.
  2: (c) =>
    c.noise !== 0 ||
    c.procedure !== 'infomax' ||
    c.evaluations.includes('jacobian') ||
    c.evaluations.includes('linear_eval'),
  // The notebook protocol's metrics are new; the converged fit computes what it did.
  // A config written before the setting existed is parsed with today's default, which has it.
  3: (c) => c.evaluations.includes('linear_eval') && (c.linear_eval_protocols?.includes('notebook') ?? true),
  // Centred codes for the converged fit; the notebook's saga is untouched.
  4: (c) => c.evaluations.includes('linear_eval') && (c.linear_eval_protocols?.includes('converged') ?? true),
};

/**
 * Whether a trial launched under `version` computes the same numbers under this code: no
 * change since touches its configuration (a noiseless trial without Jacobian or linear
 * evaluation, say). Such a trial may run on a newer worker, so a sweep in flight across an
 * upgrade finishes instead of failing every trial it had left.
 */
export function computesAsLaunched(config: TrialConfig, version: number): boolean {
  for (let v = version + 1; v <= DATA_PATH_VERSION; v++) if (CHANGED_BY[v]?.(config) ?? true) return false;
  return true;
}
