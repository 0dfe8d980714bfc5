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
 */
export const DATA_PATH_VERSION = 2;

/** What a sweep input without a recorded version was launched under. */
export const LEGACY_DATA_PATH_VERSION = 1;

/**
 * Defaults version v replaced, with their values before v. A sweep of an older version
 * expands its spec with them, so its trials keep the configurations (and ids) they were
 * started with and its recorded workflow history still replays.
 */
const REPLACED_DEFAULTS: Readonly<Record<number, Partial<TrialConfigInput>>> = {
  2: { linear_eval_max_iter: 500 },
};

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
