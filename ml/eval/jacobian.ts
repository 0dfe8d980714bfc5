// Conditioning of an encoder: singular values of dg/dx at each of a batch of inputs,
// summarised as percentiles of log(sigma_max / sigma_min) across the inputs.
import * as tf from '@tensorflow/tfjs';
import { LuDecomposition, Matrix, SingularValueDecomposition } from 'ml-matrix';
import { floorIndexPercentile } from './stats.js';
import { largestEigenvalue, type LanczosOptions } from './lanczos.js';
import { CONDITION_PERCENTILES } from '../metric-names.js';

// Defined with the other metric names, which spec validation reads without TensorFlow.
export { CONDITION_PERCENTILES };

/**
 * Jacobians of g at each input row, each outDim x inDim, row-major. Every input is
 * repeated once per output and a single backward pass through the batch of copies
 * yields all rows at once: copy k of input i carries the cotangent e_k.
 */
export async function jacobians(
  g: (x: tf.Tensor2D) => tf.Tensor2D,
  inputs: Float32Array,
  n: number,
  inDim: number,
  outDim: number,
  inputsPerPass = 8,
): Promise<Float32Array[]> {
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
    const values = (await rows.data()) as Float32Array;
    rows.dispose();
    for (let i = 0; i < c; i++) out.push(values.slice(i * outDim * inDim, (i + 1) * outDim * inDim));
  }
  return out;
}

export function singularValues(m: Float32Array, rows: number, cols: number): number[] {
  const svd = new SingularValueDecomposition(toMatrix(m, rows, cols), {
    computeLeftSingularVectors: false,
    computeRightSingularVectors: false,
    autoTranspose: true,
  });
  return svd.diagonal;
}

function toMatrix(m: Float32Array, rows: number, cols: number): Matrix {
  const a = new Matrix(rows, cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) a.set(i, j, m[i * cols + j]);
  return a;
}

export interface ExtremeSingularValues {
  max: number;
  min: number;
  /** Lanczos steps spent on sigma_max and on sigma_min. */
  iterations: [number, number];
}

/**
 * sigma_max and sigma_min of a square n x n matrix without a full SVD: Lanczos on J^T J
 * for the largest, and on (J^T J)^-1 = J^-1 J^-T through one LU factorisation for the
 * smallest. The LU (2n^3/3 flops) replaces the SVD's bidiagonalisation (8n^3/3 flops,
 * column-strided in ml-matrix), and the inverse operator keeps sigma_min's relative
 * accuracy where eigenvalues of J^T J itself would square the condition number.
 */
export function extremeSingularValues(
  m: Float32Array,
  n: number,
  options: Partial<LanczosOptions> = {},
): ExtremeSingularValues {
  const j = Float64Array.from(m);
  const tmp = new Float64Array(n);
  const top = largestEigenvalue(
    (v, out) => {
      for (let r = 0; r < n; r++) {
        let s = 0;
        const row = r * n;
        for (let c = 0; c < n; c++) s += j[row + c] * v[c];
        tmp[r] = s;
      }
      out.fill(0);
      for (let r = 0; r < n; r++) {
        const t = tmp[r];
        const row = r * n;
        for (let c = 0; c < n; c++) out[c] += j[row + c] * t;
      }
    },
    n,
    options,
  );
  const lu = new LuDecomposition(toMatrix(m, n, n));
  if (lu.isSingular()) return { max: Math.sqrt(top.value), min: 0, iterations: [top.iterations, 0] };
  // P J = L U, L unit lower, both packed row-major into one array as LAPACK does.
  const packed = new Float64Array(n * n);
  const lower = lu.lowerTriangularMatrix;
  const upper = lu.upperTriangularMatrix;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) packed[r * n + c] = c < r ? lower.get(r, c) : upper.get(r, c);
  }
  const piv = lu.pivotPermutationVector;
  const z = new Float64Array(n);
  const bottom = largestEigenvalue(
    (v, out) => {
      // z = J^-T v: U^T w = v, then L^T z' = w, then z = P^T z'.
      for (let r = 0; r < n; r++) tmp[r] = v[r];
      for (let r = 0; r < n; r++) {
        const x = tmp[r] / packed[r * n + r];
        tmp[r] = x;
        const row = r * n;
        for (let c = r + 1; c < n; c++) tmp[c] -= packed[row + c] * x;
      }
      for (let r = n - 1; r >= 0; r--) {
        const x = tmp[r];
        const row = r * n;
        for (let c = 0; c < r; c++) tmp[c] -= packed[row + c] * x;
      }
      for (let r = 0; r < n; r++) z[piv[r]] = tmp[r];
      // out = J^-1 z: L y = P z, then U out = y.
      for (let r = 0; r < n; r++) {
        let s = z[piv[r]];
        const row = r * n;
        for (let c = 0; c < r; c++) s -= packed[row + c] * out[c];
        out[r] = s;
      }
      for (let r = n - 1; r >= 0; r--) {
        let s = out[r];
        const row = r * n;
        for (let c = r + 1; c < n; c++) s -= packed[row + c] * out[c];
        out[r] = s / packed[row + r];
      }
    },
    n,
    options,
  );
  return {
    max: Math.sqrt(top.value),
    min: 1 / Math.sqrt(bottom.value),
    iterations: [top.iterations, bottom.iterations],
  };
}

/** log(sigma_max / sigma_min) of a rows x cols Jacobian; square ones skip the full SVD. */
export function jacobianLogCondition(m: Float32Array, rows: number, cols: number): number {
  if (rows !== cols) return logConditionNumber(singularValues(m, rows, cols));
  const { max, min } = extremeSingularValues(m, rows);
  return min > 0 ? Math.log(max / min) : Infinity;
}

export function logConditionNumber(sv: number[]): number {
  const max = Math.max(...sv);
  const min = Math.min(...sv);
  return min > 0 ? Math.log(max / min) : Infinity;
}

/** Percentiles by the notebook's floor-index rule (see floorIndexPercentile). */
export function conditionPercentiles(logConds: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const q of CONDITION_PERCENTILES) out[`log_condition_number_p${q}`] = floorIndexPercentile(logConds, q);
  return out;
}

/**
 * The Jacobian evaluation: percentiles of log(sigma_max / sigma_min) of dg/dx at the first
 * n rows of `inputs` (row-major, inDim wide). The caller chooses the inputs; the study
 * passes the current noisy training batch, as the notebook does.
 */
export async function jacobianConditionMetrics(
  g: (x: tf.Tensor2D) => tf.Tensor2D,
  inputs: Float32Array,
  n: number,
  inDim: number,
  outDim: number,
): Promise<Record<string, number>> {
  const logConds = (await jacobians(g, inputs, n, inDim, outDim)).map((j) => jacobianLogCondition(j, outDim, inDim));
  return conditionPercentiles(logConds);
}
