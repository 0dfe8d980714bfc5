// The linear-evaluation protocols a trial can run on its scaled codes, by name. Plain
// data (no TensorFlow): ml/metric-names.ts, spec validation and workflow code read the
// metric names from here; ml/eval-data.ts runs the fits.
import { LINEAR_EVAL_PROTOCOLS, type LinearEvalProtocol, type TrialConfig } from '../config.js';

export { LINEAR_EVAL_PROTOCOLS, type LinearEvalProtocol };

/**
 * The authors' notebook: LogisticRegression(solver='saga', multi_class='multinomial',
 * C=10, tol=0.1), max_iter at its default of 100 epochs. Fixed, not taken from the trial's
 * linear_eval_c / linear_eval_max_iter: it is the paper's procedure, which those settings
 * of the converged fit do not describe.
 */
export const NOTEBOOK_SAGA = { c: 10, tol: 0.1, maxIter: 100 } as const;

export interface ProtocolEntry {
  name: LinearEvalProtocol;
  /** What the fit is, for people (spec validation, reports). */
  summary: string;
  /** The settings the fit runs with under this configuration. */
  settings: (cfg: Pick<TrialConfig, 'linear_eval_c' | 'linear_eval_max_iter'>) => Record<string, number | string>;
  /** Every metric is `${prefix}_${name}`. */
  prefix: string;
  /** The metric names after the prefix; the first two are what early stopping and objectives may judge. */
  metrics: readonly string[];
}

export const PROTOCOLS: Readonly<Record<LinearEvalProtocol, ProtocolEntry>> = {
  converged: {
    name: 'converged',
    summary: 'L-BFGS to its stopping rule (ml/eval/linear.ts)',
    settings: (cfg) => ({ solver: 'lbfgs', c: cfg.linear_eval_c, max_iter: cfg.linear_eval_max_iter }),
    // The prefix of the only protocol before data path 3: its metrics keep their names.
    prefix: 'linear_eval',
    metrics: ['accuracy', 'train_accuracy', 'converged', 'iterations'],
  },
  notebook: {
    name: 'notebook',
    summary: "the authors' saga, C = 10, tol = 0.1, at most 100 epochs (ml/eval/saga.ts)",
    settings: () => ({ solver: 'saga', c: NOTEBOOK_SAGA.c, tol: NOTEBOOK_SAGA.tol, max_iter: NOTEBOOK_SAGA.maxIter }),
    prefix: 'linear_eval_notebook',
    metrics: ['accuracy', 'train_accuracy', 'converged', 'epochs'],
  },
};

/** All metric names a protocol logs, in its order. */
export function protocolMetrics(name: LinearEvalProtocol): string[] {
  const p = PROTOCOLS[name];
  return p.metrics.map((m) => `${p.prefix}_${m}`);
}

/** The accuracies of the chosen protocols, test then train per protocol, in the trial's order. */
export function protocolAccuracyMetrics(protocols: readonly LinearEvalProtocol[]): string[] {
  return protocols.flatMap((name) => protocolMetrics(name).slice(0, 2));
}

/**
 * The saga fit's seed at evaluation step `step` of a trial seeded `trialSeed`: a function
 * of the two alone, so a resumed trial (or a seed stack's solo evaluation) draws the
 * same indices, and two evaluations of one trial draw different ones, as the notebook's
 * unseeded fits did. splitmix32's finaliser over both words, with a tag of its own.
 */
export function sagaSeed(trialSeed: number, step: number): number {
  let h = Math.imul(trialSeed >>> 0, 0x9e3779b1) ^ 0x5a6a0001;
  for (const word of [step % 2 ** 32, Math.floor(step / 2 ** 32)]) {
    h = Math.imul(h ^ (word >>> 0), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h ^= h >>> 16;
  }
  // 31 bits, the range of a trial's own seed that Rng is fed everywhere else.
  return h >>> 1;
}
