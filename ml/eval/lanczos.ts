// The largest eigenvalue of a symmetric positive semi-definite operator known only
// through its action on vectors: Lanczos with full reorthogonalisation. Extreme
// eigenvalues converge in a few dozen products where a dense eigensolver needs O(n^3).
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { Rng } from '../rng.js';

export interface LanczosOptions {
  /**
   * Stop when the Ritz residual bound is below tol times the Ritz value: the value is then
   * within a relative tol of an eigenvalue (a log condition number within tol / 2).
   */
  tol: number;
  maxIter: number;
  /** Seeds the start vector, so that results are reproducible. */
  seed: number;
}

export interface LanczosResult {
  value: number;
  iterations: number;
  /** beta_k |s_k|: the Ritz value lies within this distance of an eigenvalue. */
  residual: number;
}

const DEFAULTS: LanczosOptions = { tol: 1e-8, maxIter: 400, seed: 0 };

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Largest Ritz value of the k x k tridiagonal (alpha, beta) and the last entry of its vector. */
function topRitzPair(alpha: number[], beta: number[]): { theta: number; last: number } {
  const k = alpha.length;
  const t = new Matrix(k, k);
  for (let i = 0; i < k; i++) {
    t.set(i, i, alpha[i]);
    if (i + 1 < k) {
      t.set(i, i + 1, beta[i]);
      t.set(i + 1, i, beta[i]);
    }
  }
  const evd = new EigenvalueDecomposition(t, { assumeSymmetric: true });
  const values = evd.realEigenvalues;
  let top = 0;
  for (let i = 1; i < k; i++) if (values[i] > values[top]) top = i;
  return { theta: values[top], last: evd.eigenvectorMatrix.get(k - 1, top) };
}

/** `apply(v, out)` writes A v into out; A must be symmetric. */
export function largestEigenvalue(
  apply: (v: Float64Array, out: Float64Array) => void,
  n: number,
  options: Partial<LanczosOptions> = {},
): LanczosResult {
  const o = { ...DEFAULTS, ...options };
  const rng = new Rng(o.seed, 0x1a2c);
  const q0 = Float64Array.from({ length: n }, () => rng.normal());
  const norm0 = Math.sqrt(dot(q0, q0));
  for (let i = 0; i < n; i++) q0[i] /= norm0;
  const basis: Float64Array[] = [q0];
  const alpha: number[] = [];
  const beta: number[] = [];
  const w = new Float64Array(n);
  const maxIter = Math.min(o.maxIter, n);
  let ritz = { theta: 0, last: 1 };
  let residual = Infinity;
  for (let k = 0; k < maxIter; k++) {
    const q = basis[k];
    apply(q, w);
    alpha.push(dot(q, w));
    // Full reorthogonalisation, done twice: without it rounding makes copies of converged
    // Ritz vectors reappear and the recurrence's Ritz values stop meaning anything.
    for (let pass = 0; pass < 2; pass++) {
      for (const b of basis) {
        const c = dot(b, w);
        for (let i = 0; i < n; i++) w[i] -= c * b[i];
      }
    }
    const bk = Math.sqrt(dot(w, w));
    // The small eigenproblem costs O(k^3): solving it every few steps (a tenth of k once k
    // is large) is cheaper than the extra products it could save by stopping earliest.
    const last = k + 1 === maxIter;
    if (last || (k + 1) % Math.max(5, Math.floor(k / 10)) === 0 || bk <= 1e-14 * Math.abs(alpha[k])) {
      ritz = topRitzPair(alpha, beta);
      residual = bk * Math.abs(ritz.last);
      // An exact invariant subspace (bk ~ 0) holds exact eigenvalues: nothing left to find.
      if (residual <= o.tol * Math.abs(ritz.theta) || bk <= 1e-14 * Math.abs(ritz.theta)) {
        return { value: ritz.theta, iterations: k + 1, residual };
      }
    }
    beta.push(bk);
    basis.push(Float64Array.from(w, (v) => v / bk));
  }
  return { value: ritz.theta, iterations: maxIter, residual };
}
