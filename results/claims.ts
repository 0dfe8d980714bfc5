// Each study's claim as data: which configurations the paper's claim compares, on which
// metric and in which direction (the paper's text; /work/shared/REFERENCE.md and the
// study specs in sweeps/). results/verdicts.ts turns these into tests on a sweep's trials.
// Axis names and values are the specs' grid keys; a sweep that lacks some compared
// configuration simply has fewer comparisons.
import { gaussianTrueMi } from '../ml/data/pairs.js';
import { LINEAR_EVAL_PROTOCOLS, protocolMetrics, type LinearEvalProtocol } from '../ml/eval/protocols.js';
import type { Direction } from './statistics.js';

/**
 * Stands for "linear-evaluation accuracy" in a test: each protocol logs its own metric,
 * and a claim on accuracy is tested once per protocol the trials logged.
 */
export const ACCURACY = 'accuracy';

/** Each linear-evaluation protocol's test-accuracy metric, read from its registry entry. */
export const PROTOCOL_METRICS: Readonly<Record<LinearEvalProtocol, string>> = Object.fromEntries(
  LINEAR_EVAL_PROTOCOLS.map((name) => [name, protocolMetrics(name)[0]]),
) as Record<LinearEvalProtocol, string>;

export type Protocol = LinearEvalProtocol;

/** In the registry's order, which is the order reports list the protocols in. */
export const PROTOCOLS: readonly Protocol[] = LINEAR_EVAL_PROTOCOLS;

/**
 * Two configurations that differ on one axis, within every combination of the other
 * axes, compared on the trials' final values across seeds: mean(a) - mean(b) is
 * `direction` by the paper.
 */
export interface BetweenTest {
  kind: 'between';
  metric: string;
  axis: string;
  a: string | number;
  b: string | number;
  direction: Direction;
}

/**
 * A change within trials, per configuration: each trial's last evaluation minus its
 * first, paired by trial. Needs the metric's history.
 */
export interface OverTrainingTest {
  kind: 'over-training';
  metric: string;
  direction: Direction;
}

/** The final values of the configurations matching `where`, across seeds, against a known number. */
export interface AgainstValueTest {
  kind: 'against-value';
  metric: string;
  where: Record<string, string | number>;
  value: number;
  /** What the number is, for people: "true MI". */
  valueLabel: string;
  direction: Direction;
}

export type ClaimTest = BetweenTest | OverTrainingTest | AgainstValueTest;

export interface StudyClaim {
  study: string;
  /** The paper's claim in a sentence, as the tests state it. */
  claim: string;
  /** Parts of the paper's claim that no test here states, and why; null when the tests cover it. */
  untested: string | null;
  tests: ClaimTest[];
}

export const CLAIMS: Record<string, StudyClaim> = {
  'critic-capacity': {
    study: 'critic-capacity',
    claim:
      'within each estimator, the bilinear and the separable critic reach higher linear-evaluation accuracy than the concat critic',
    untested:
      'that the concat critic reaches the larger I_NWJ is the paper\'s "although", the context of the claim, not tested here',
    tests: [
      { kind: 'between', metric: ACCURACY, axis: 'critic', a: 'bilinear', b: 'concat', direction: 'higher' },
      { kind: 'between', metric: ACCURACY, axis: 'critic', a: 'separable', b: 'concat', direction: 'higher' },
    ],
  },
  'encoder-architecture': {
    study: 'encoder-architecture',
    claim:
      'within each estimator and target MI, the ConvNet encoder reaches higher linear-evaluation accuracy than the MLP',
    untested: 'that both encoders reach the same I_EST (the target) is a premise of the comparison, not tested here',
    tests: [{ kind: 'between', metric: ACCURACY, axis: 'encoder', a: 'convnet', b: 'mlp', direction: 'higher' }],
  },
  invertible: {
    study: 'invertible',
    claim:
      'with invertible encoders (true MI fixed by construction), linear-evaluation accuracy rises from the first evaluation (step 0) to the last, for each estimator',
    untested:
      'the paper says accuracy "changes" at fixed MI; its figure and text give the direction tested here (a rise). That I_EST does not track accuracy is read off the curves, not tested',
    tests: [{ kind: 'over-training', metric: ACCURACY, direction: 'higher' }],
  },
  adversarial: {
    study: 'adversarial',
    claim:
      'an invertible encoder (maximal MI) trained against a linear classifier loses linear-evaluation accuracy from the end of the warm-up (the first evaluation) to the last round',
    untested:
      'that it ends "significantly worse than raw pixels" needs the pixel baseline, which the sweep does not log; not tested',
    tests: [{ kind: 'over-training', metric: ACCURACY, direction: 'lower' }],
  },
  'hard-to-invert': {
    study: 'hard-to-invert',
    claim:
      "the Jacobian's log condition number grows from the first evaluation (near-identity encoders) to the last, for each estimator",
    untested:
      'the median input is not logged: p40 and p60 bracket it. That accuracy stays in 0.83-0.90 meanwhile is a range, not a comparison; not tested',
    tests: [
      { kind: 'over-training', metric: 'log_condition_number_p40', direction: 'higher' },
      { kind: 'over-training', metric: 'log_condition_number_p60', direction: 'higher' },
    ],
  },
  noniid: {
    study: 'noniid',
    claim:
      'with dependent (non-i.i.d.) negatives, each estimator ends above the true MI and above its estimate from i.i.d. samples of the same marginal',
    untested:
      'that i.i.d. estimates stay below the true MI is the bound holding; an estimate converging onto the true MI from below cannot be shown below it by an interval, so it is not tested',
    tests: [
      { kind: 'between', metric: 'i_est_test', axis: 'negatives', a: 'noniid', b: 'iid', direction: 'higher' },
      {
        kind: 'against-value',
        metric: 'i_est_test',
        where: { negatives: 'noniid' },
        value: gaussianTrueMi(),
        valueLabel: 'true MI',
        direction: 'higher',
      },
    ],
  },
};

/** The claim a study makes; undefined for studies the paper does not have (smoke, a user's own). */
export function claimFor(study: string | null | undefined): StudyClaim | undefined {
  return study ? CLAIMS[study] : undefined;
}

/** Whether a claim's tests are on linear-evaluation accuracy (and so run per protocol). */
export function isAccuracyClaim(claim: StudyClaim): boolean {
  return claim.tests.some((t) => t.metric === ACCURACY);
}

/** The protocols whose accuracy metric appears among the logged metric keys, in PROTOCOLS order. */
export function protocolsLogged(logged: ReadonlySet<string>): Protocol[] {
  return PROTOCOLS.filter((p) => logged.has(PROTOCOL_METRICS[p]));
}

/** A test's metric key under a protocol (null: a claim not on accuracy). */
export function metricKey(metric: string, protocol: Protocol | null): string {
  return metric === ACCURACY ? PROTOCOL_METRICS[protocol ?? 'converged'] : metric;
}

/**
 * The metrics whose histories a claim needs (its within-trial tests), among those logged:
 * what a report or `mirl compare` must read beyond the final values.
 */
export function claimHistoryMetrics(study: string | null | undefined, logged: ReadonlySet<string>): string[] {
  const claim = claimFor(study);
  if (!claim) return [];
  const keys = claim.tests
    .filter((t) => t.kind === 'over-training')
    .flatMap((t) => (t.metric === ACCURACY ? PROTOCOLS.map((p) => PROTOCOL_METRICS[p]) : [t.metric]));
  return [...new Set(keys)].filter((k) => logged.has(k));
}
