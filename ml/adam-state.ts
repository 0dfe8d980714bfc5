// The part of tfjs' Adam state that getWeights()/setWeights() do not carry: the bias
// corrections beta1^t and beta2^t. Adam keeps them as running float32 products (one
// multiply per step), but setWeights() recomputes them as pow(beta, t + 1), which for
// many t (beta2: t = 2, 5, 18..25, ...; beta1: t = 8, 11, 13, ...; most t past a few
// dozen) lands one ulp away on every backend. A trial restored that way drifts from the
// uninterrupted one from its second step after the resume on. So checkpoints carry the
// two products, and restoring puts them back after setWeights().
import * as tf from '@tensorflow/tfjs';

/** tfjs' AdamOptimizer fields (private in its typings) that hold beta1^t and beta2^t. */
interface AdamInternals {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
}

function internals(opt: tf.Optimizer): AdamInternals | null {
  const o = opt as unknown as Partial<AdamInternals>;
  return o.accBeta1 instanceof tf.Variable && o.accBeta2 instanceof tf.Variable ? (o as AdamInternals) : null;
}

/** [beta1^t, beta2^t] as the optimizer holds them, or null for an optimizer that is not tfjs' Adam. */
export async function adamBetaPowers(opt: tf.Optimizer): Promise<Float32Array | null> {
  const a = internals(opt);
  if (!a) return null;
  const [b1, b2] = await Promise.all([a.accBeta1.data(), a.accBeta2.data()]);
  return Float32Array.of(b1[0], b2[0]);
}

/** The smallest normal float32: TensorFlow flushes anything below it to zero, wasm and cpu do not. */
const MIN_NORMAL_F32 = 2 ** -126;

/**
 * beta^(t + 1) as t Adam steps leave it: float32 products, each rounded once. Every
 * backend's float32 multiply is IEEE (a float64 product of two float32 values is exact, so
 * fround rounds it once too), which makes this equal to what the optimizer holds down to
 * the subnormal range. There the backends disagree, and it does not matter: 1 - beta^t is
 * exactly 1 in float32 long before, so 0 is as good as any.
 */
export function runningPower(beta: number, steps: number): number {
  const b = Math.fround(beta);
  let acc = b;
  for (let i = 0; i < steps && acc !== 0; i++) {
    acc = Math.fround(acc * b);
    if (acc < MIN_NORMAL_F32) acc = 0;
  }
  return acc;
}

/**
 * Call after setWeights(): puts back the products a checkpoint stored, or, for a checkpoint
 * written before they were stored, recomputes them the way the live optimizer did.
 */
export function restoreAdamBetaPowers(opt: tf.Optimizer, stored: Float32Array | null): void {
  const a = internals(opt);
  if (!a) return;
  let values = stored;
  if (!values) {
    const { beta1, beta2 } = opt.getConfig() as { beta1?: number; beta2?: number };
    if (typeof beta1 !== 'number' || typeof beta2 !== 'number') return;
    values = Float32Array.of(runningPower(beta1, opt.iterations), runningPower(beta2, opt.iterations));
  }
  const [b1, b2] = values;
  tf.tidy(() => {
    a.accBeta1.assign(tf.scalar(b1));
    a.accBeta2.assign(tf.scalar(b2));
  });
}
