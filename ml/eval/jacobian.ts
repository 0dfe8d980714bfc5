// Conditioning of an encoder: singular values of dg/dx at each of a batch of inputs,
// summarised as percentiles of log(sigma_max / sigma_min) across the inputs.
import * as tf from '@tensorflow/tfjs';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { percentile } from './stats.js';

export const CONDITION_PERCENTILES = [0, 20, 40, 60, 80, 100] as const;

/**
 * Jacobians of g at each input row, each outDim x inDim, row-major. Every input is
 * repeated once per output and a single backward pass through the batch of copies
 * yields all rows at once: copy k of input i carries the cotangent e_k.
 */
export function jacobians(
  g: (x: tf.Tensor2D) => tf.Tensor2D,
  inputs: Float32Array,
  n: number,
  inDim: number,
  outDim: number,
  inputsPerPass = 8,
): Float32Array[] {
  const out: Float32Array[] = [];
  for (let start = 0; start < n; start += inputsPerPass) {
    const c = Math.min(inputsPerPass, n - start);
    const rows = tf.tidy(() => {
      const x = tf.tensor2d(inputs.subarray(start * inDim, (start + c) * inDim), [c, inDim]);
      const repeated = tf.reshape(tf.tile(tf.expandDims(x, 1), [1, outDim, 1]), [c * outDim, inDim]) as tf.Tensor2D;
      const cotangent = tf.tile(tf.eye(outDim), [c, 1]);
      const grad = tf.grad((xr: tf.Tensor) => tf.sum(tf.mul(g(xr as tf.Tensor2D), cotangent)));
      return grad(repeated);
    });
    const values = rows.dataSync() as Float32Array;
    rows.dispose();
    for (let i = 0; i < c; i++) out.push(values.slice(i * outDim * inDim, (i + 1) * outDim * inDim));
  }
  return out;
}

export function singularValues(m: Float32Array, rows: number, cols: number): number[] {
  const a = new Matrix(rows, cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) a.set(i, j, m[i * cols + j]);
  const svd = new SingularValueDecomposition(a, { computeLeftSingularVectors: false, computeRightSingularVectors: false });
  return svd.diagonal;
}

export function logConditionNumber(sv: number[]): number {
  const max = Math.max(...sv);
  const min = Math.min(...sv);
  return min > 0 ? Math.log(max / min) : Infinity;
}

export function conditionPercentiles(logConds: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const q of CONDITION_PERCENTILES) out[`log_condition_number_p${q}`] = percentile(logConds, q);
  return out;
}
