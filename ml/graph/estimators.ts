// The estimators' graph forms (ml/estimators.ts holds them in its registry): the same
// operations in the same order as their tfjs forms, so graph and eager steps agree.
import type { Graph, Sym } from './graph.js';
import * as op from './ops.js';

/** An estimator's graph form: I_EST from the K x K scores. */
export type GraphEstimator = (g: Graph, s: Sym) => Sym;

function square(k: number, value: (i: number, j: number) => number): Float32Array {
  const v = new Float32Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) v[i * k + j] = value(i, j);
  return v;
}

/** ml/estimators.ts' diagonal: the sum of scores times the identity, along rows. */
function diagonal(g: Graph, s: Sym): Sym {
  const k = s.shape[1];
  const eye = g.constant(
    square(k, (i, j) => (i === j ? 1 : 0)),
    [k, k],
  );
  return op.sum(g, op.mul(g, s, eye), [1]);
}

export const nceGraph: GraphEstimator = (g, s) => {
  const k = s.shape[1];
  const rows = op.sub(g, diagonal(g, s), op.logSumExp(g, s, 1));
  return op.add(g, g.constant(Math.log(k)), op.mean(g, rows, [0]));
};

export const nwjGraph: GraphEstimator = (g, s) => {
  const k = s.shape[1];
  const shifted = op.sub(g, s, g.constant(1));
  const joint = op.mean(g, diagonal(g, shifted), [0]);
  const mask = g.constant(
    square(k, (i, j) => (i === j ? -Infinity : 0)),
    [k, k],
  );
  const pairs = op.reshape(g, op.add(g, shifted, mask), [k * k]);
  const marginal = op.exp(g, op.sub(g, op.logSumExp(g, pairs, 0), g.constant(Math.log(k * (k - 1)))));
  return op.sub(g, op.add(g, g.constant(1), joint), marginal);
};
