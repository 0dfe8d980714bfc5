// Limited-memory BFGS for smooth convex problems (the linear evaluation's logistic
// regression). Full-batch and deterministic, so linear evaluation gives the same number
// for the same codes, unlike stochastic solvers.

/** Async because a GPU backend (webgpu) can only read its results asynchronously. */
export type ValueAndGrad = (theta: Float64Array) => Promise<{ value: number; grad: Float64Array }>;

/**
 * The one stopping rule: over the last `window` iterations the objective fell by less
 * than `tol` per iteration, relative to max(|f|, 1). A window, because single L-BFGS
 * steps are sometimes tiny far from the optimum; relative to at least 1, because a
 * float32 objective below 1 is resolved in absolute terms. `tol` must sit well above the
 * objective's rounding (float32: about 1e-7 relative), or it is never met.
 */
export interface StopRule {
  window: number;
  tol: number;
}

export interface LbfgsOptions {
  maxIter: number;
  memory?: number;
  stop: StopRule;
}

/** tolerance: the rule was met; budget: maxIter ran out; line-search: no decrease could be found. */
export type LbfgsStop = 'tolerance' | 'budget' | 'line-search';

export interface LbfgsResult {
  theta: Float64Array;
  value: number;
  iterations: number;
  /** True only when the stopping rule was met. */
  converged: boolean;
  stopped: LbfgsStop;
}

/** Whether the stop rule holds after the newest of `values` (the objective at each iterate so far). */
export function stopRuleMet(values: readonly number[], rule: StopRule): boolean {
  const k = values.length - 1;
  if (k < rule.window) return false;
  const now = values[k];
  return (values[k - rule.window] - now) / (rule.window * Math.max(Math.abs(now), 1)) < rule.tol;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export async function lbfgs(f: ValueAndGrad, theta0: Float64Array, opts: LbfgsOptions): Promise<LbfgsResult> {
  const m = opts.memory ?? 10;
  const n = theta0.length;
  let theta = Float64Array.from(theta0);
  let { value, grad } = await f(theta);
  const values = [value];
  const done = (iterations: number, stopped: LbfgsStop): LbfgsResult => ({
    theta,
    value,
    iterations,
    converged: stopped === 'tolerance',
    stopped,
  });
  const sHist: Float64Array[] = [];
  const yHist: Float64Array[] = [];
  const rhoHist: number[] = [];
  let iter = 0;
  for (; iter < opts.maxIter; iter++) {
    // Two-loop recursion: d = -H grad.
    const q = Float64Array.from(grad);
    const alpha: number[] = new Array(sHist.length);
    for (let i = sHist.length - 1; i >= 0; i--) {
      alpha[i] = rhoHist[i] * dot(sHist[i], q);
      for (let j = 0; j < n; j++) q[j] -= alpha[i] * yHist[i][j];
    }
    const last = sHist.length - 1;
    const gamma =
      last >= 0
        ? dot(sHist[last], yHist[last]) / dot(yHist[last], yHist[last])
        : 1 / Math.max(1, Math.sqrt(dot(grad, grad)));
    for (let j = 0; j < n; j++) q[j] *= gamma;
    for (let i = 0; i < sHist.length; i++) {
      const beta = rhoHist[i] * dot(yHist[i], q);
      for (let j = 0; j < n; j++) q[j] += sHist[i][j] * (alpha[i] - beta);
    }
    const dir = q.map((v) => -v);
    let slope = dot(grad, dir);
    if (slope >= 0) {
      // Not a descent direction (curvature noise): restart from steepest descent.
      sHist.length = yHist.length = rhoHist.length = 0;
      for (let j = 0; j < n; j++) dir[j] = -grad[j];
      slope = -dot(grad, grad);
    }
    // Backtracking line search with the Armijo condition.
    let step = 1;
    let next = await f(theta.map((t, j) => t + step * dir[j]));
    let tries = 0;
    while (!(next.value <= value + 1e-4 * step * slope) && tries < 30) {
      step *= 0.5;
      next = await f(theta.map((t, j) => t + step * dir[j]));
      tries++;
    }
    if (tries === 30) return done(iter, 'line-search');
    const newTheta = theta.map((t, j) => t + step * dir[j]);
    const s = newTheta.map((t, j) => t - theta[j]);
    const y = next.grad.map((g, j) => g - grad[j]);
    const sy = dot(s, y);
    if (sy > 1e-12) {
      sHist.push(s);
      yHist.push(y);
      rhoHist.push(1 / sy);
      if (sHist.length > m) {
        sHist.shift();
        yHist.shift();
        rhoHist.shift();
      }
    }
    theta = newTheta;
    value = next.value;
    grad = next.grad;
    values.push(value);
    if (stopRuleMet(values, opts.stop)) return done(iter + 1, 'tolerance');
  }
  return done(iter, 'budget');
}
