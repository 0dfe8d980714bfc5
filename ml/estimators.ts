// Lower bounds on mutual information computed from a K x K score matrix whose diagonal
// holds the positive pairs, exactly as in the study's notebook.
import * as tf from '@tensorflow/tfjs';
import { ESTIMATORS } from './config.js';
import { nceGraph, nwjGraph, type GraphEstimator } from './graph/estimators.js';

export type EstimatorName = (typeof ESTIMATORS)[number];
export interface Estimator {
  (scores: tf.Tensor2D): tf.Scalar;
  (scores: tf.Tensor3D): tf.Tensor1D;
}

/**
 * Constant K x K matrices cached per backend and K: building them every step would
 * allocate for nothing.
 */
const constants = new Map<string, tf.Tensor2D>();

function cachedSquare(kind: 'eye' | 'offdiag', k: number, value: (i: number, j: number) => number): tf.Tensor2D {
  const key = `${tf.getBackend()}:${kind}:${k}`;
  let t = constants.get(key);
  if (!t) {
    const v = new Float32Array(k * k);
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) v[i * k + j] = value(i, j);
    t = tf.keep(tf.tensor2d(v, [k, k]));
    constants.set(key, t);
  }
  return t;
}

function eye(k: number): tf.Tensor2D {
  return cachedSquare('eye', k, (i, j) => (i === j ? 1 : 0));
}

/** 0 off the diagonal, -inf on it: added to scores, it drops the positives from a logsumexp. */
function offDiagonalMask(k: number): tf.Tensor2D {
  return cachedSquare('offdiag', k, (i, j) => (i === j ? -Infinity : 0));
}

// Each estimator takes one K x K matrix, or S of them stacked as [S, K, K] (seeds trained
// as one computation, ml/seed-stack.ts) and then gives S estimates. On one matrix the
// kernels are those of the plain formula: a reduction over a vector's one axis is the
// reduction over all of it.

export function diagonal(scores: tf.Tensor2D): tf.Tensor1D;
export function diagonal(scores: tf.Tensor3D): tf.Tensor2D;
export function diagonal(scores: tf.Tensor): tf.Tensor {
  const k = scores.shape[scores.rank - 1];
  return tf.sum(tf.mul(scores, eye(k)), scores.rank - 1);
}

/** I_NCE = log K + mean_i (S_ii - logsumexp_j S_ij). */
export function infoNce(scores: tf.Tensor2D): tf.Scalar;
export function infoNce(scores: tf.Tensor3D): tf.Tensor1D;
export function infoNce(scores: tf.Tensor): tf.Tensor {
  const k = scores.shape[scores.rank - 1];
  const rows = tf.sub(diagonal(scores as tf.Tensor3D), tf.logSumExp(scores, scores.rank - 1));
  return tf.add(Math.log(k), tf.mean(rows, rows.rank - 1));
}

/** log mean exp over the off-diagonal entries (the product-of-marginals samples). */
export function logMeanExpOffDiagonal(scores: tf.Tensor): tf.Tensor {
  const k = scores.shape[scores.rank - 1];
  const masked = tf.add(scores, offDiagonalMask(k));
  const pairs = masked.reshape([...scores.shape.slice(0, -2), k * k]);
  return tf.sub(tf.logSumExp(pairs, pairs.rank - 1), Math.log(k * (k - 1)));
}

/** I_NWJ as TUBA with baseline 1: 1 + mean(S_ii - 1) - exp(logmeanexp_offdiag(S - 1)). */
export function nwj(scores: tf.Tensor2D): tf.Scalar;
export function nwj(scores: tf.Tensor3D): tf.Tensor1D;
export function nwj(scores: tf.Tensor): tf.Tensor {
  const shifted = tf.sub(scores, 1) as tf.Tensor3D;
  const diag = diagonal(shifted);
  const joint = tf.mean(diag, diag.rank - 1);
  const marginal = tf.exp(logMeanExpOffDiagonal(shifted));
  return tf.sub(tf.add(1, joint), marginal);
}

/**
 * The multi-class K-pair loss of deep metric learning (Sohn, 2016):
 * mean_i log(1 + sum_{j != i} exp(S_ij - S_ii)). Written independently of infoNce so
 * the identity log K - I_NCE = K-pair loss can be checked rather than assumed.
 */
export function kPairLoss(scores: tf.Tensor2D): tf.Scalar {
  const k = scores.shape[0];
  const rel = tf.sub(scores, diagonal(scores).reshape([k, 1]));
  const offDiag = tf.sum(tf.mul(tf.exp(rel), tf.sub(1, eye(k))), 1);
  return tf.mean(tf.log1p(offDiag)) as tf.Scalar;
}

/**
 * Each estimator in every form it has: the eager one works on one score matrix or a seed
 * stack of them, so there is no separate stacked form; the graph form is the whole-step
 * graph's (ml/graph/). A new estimator is one entry here.
 */
const REGISTRY: Record<EstimatorName, { eager: Estimator; graph: GraphEstimator }> = {
  nce: { eager: infoNce, graph: nceGraph },
  nwj: { eager: nwj, graph: nwjGraph },
};

export function getEstimator(name: EstimatorName): Estimator {
  return REGISTRY[name].eager;
}

export function estimatorForms(name: EstimatorName): { eager: Estimator; graph: GraphEstimator } {
  return REGISTRY[name];
}

/** The training loss of each estimate: -I_EST to maximise, or |I_EST - t| to hit a target value. */
export function objectiveTerms(
  estimate: tf.Tensor,
  objective: 'maximize' | 'target',
  target: number | null,
): tf.Tensor {
  if (objective === 'maximize') return tf.neg(estimate);
  if (target === null) throw new Error('objective "target" needs a target value');
  return tf.abs(tf.sub(estimate, target));
}

/** The training loss; of S estimates (stacked seeds), their sum: each seed's weights get its own loss's gradient. */
export function objectiveLoss(estimate: tf.Tensor, objective: 'maximize' | 'target', target: number | null): tf.Scalar {
  const each = objectiveTerms(estimate, objective, target);
  return (each.rank === 0 ? each : tf.sum(each)) as tf.Scalar;
}
