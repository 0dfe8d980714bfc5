// Adam inside the step's graph, per weight tensor: TensorFlow's fused ResourceApplyAdam
// (the default, ml/step-path.ts' graphAdam), or FlatAdam.update's float32 operations in
// its order, so every element comes out as the eager paths compute it. The fused kernel
// makes one pass over memory where the exact form makes fourteen: measured alternating
// on the loaded 2-core machine, MLP + bilinear 4.9 / 6.9 -> 3.5 / 3.3 ms, mlp-shortcut
// 20.1 / 23.8 -> 13.2 / 13.3 ms, RealNVP shift 327 / 421 -> 241 / 228 ms. Tried and
// dropped: the flat layout (weights and gradients concatenated into one buffer, ~20 nodes
// instead of ~14 per tensor) measured no faster on MLP + bilinear (4.2-4.6 against
// 4.1-4.4 ms a step, alternating) and slower on RealNVP, since the update is bound by its
// passes over memory, not its node count.
import type { Graph, Sym, Variable } from './graph.js';
import * as op from './ops.js';

export interface AdamSettings {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** TensorFlow's ResourceApplyAdam (one kernel per tensor) instead of FlatAdam's exact operations. */
  fused: boolean;
}

/** Per ParamStore name: where to feed a variable's moments (a load) and where to fetch them. */
export interface MomentIo {
  feeds: Map<string, { m: string; v: string }>;
  peeks: Map<string, { m: string; v: string }>;
  /** The assigns a load runs (control inputs of its done node). */
  loadAssigns: string[];
}

export interface AdamGraph {
  /** The update's assigns: fetch anything behind them to train a step. */
  assigns: string[];
  moments: MomentIo;
  betaPowers: { b1: Variable; b2: Variable };
}

const F = { T: { type: 'float32' as const } };
const f32 = (shape: readonly number[]) => [{ shape, dtype: 'float32' as const }];

function unary(g: Graph, name: 'Square' | 'Sqrt', x: Sym): Sym {
  return g.node(name, [x], F, f32(x.shape))[0];
}

function div(g: Graph, a: Sym, b: Sym): Sym {
  return g.node('RealDiv', [a, b], F, f32(a.shape))[0];
}

/** newM, newV, and the weight's new value: FlatAdam.update's operations on one tensor. */
function update(g: Graph, s: AdamSettings, b: { b1: Sym; b2: Sym }, m: Sym, v: Sym, grad: Sym, weights: Sym) {
  const c = (x: number) => g.constant(x);
  const newM = op.add(g, op.mul(g, m, c(s.beta1)), op.mul(g, grad, c(1 - s.beta1)));
  const newV = op.add(g, op.mul(g, v, c(s.beta2)), op.mul(g, unary(g, 'Square', grad), c(1 - s.beta2)));
  const mHat = div(g, newM, op.sub(g, c(1), b.b1));
  const vHat = div(g, newV, op.sub(g, c(1), b.b2));
  const ratio = div(g, mHat, op.add(g, unary(g, 'Sqrt', vHat), c(s.epsilon)));
  return { newM, newV, value: op.add(g, op.mul(g, ratio, c(-s.learningRate)), weights) };
}

/**
 * One ResourceApplyAdam: lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps') with
 * eps' = eps sqrt(1 - b2^t), which is tfjs' m^ / (sqrt(v^) + eps) rearranged.
 */
function fused(
  g: Graph,
  s: AdamSettings,
  b: { b1: Sym; b2: Sym },
  w: Variable,
  m: Variable,
  v: Variable,
  grad: Sym,
): string {
  const c = (x: number) => g.constant(x);
  const eps = op.mul(g, unary(g, 'Sqrt', op.sub(g, c(1), b.b2)), c(s.epsilon));
  g.node(
    'ResourceApplyAdam',
    [w.handle, m.handle, v.handle, b.b1, b.b2, c(s.learningRate), c(s.beta1), c(s.beta2), eps, grad],
    { ...F, use_locking: { b: false }, use_nesterov: { b: false } },
    [],
    { name: `adam/${w.name}` },
  );
  return g.nodes[g.nodes.length - 1].name;
}

/** An optimizer's variables in a graph: each weight's moments, and the beta powers. */
export interface AdamState {
  moments: MomentIo;
  m: Map<string, Variable>;
  v: Map<string, Variable>;
  betaPowers: { b1: Variable; b2: Variable };
}

export function adamState(g: Graph, prefix: string, vars: Map<string, Variable>): AdamState {
  const st: AdamState = {
    moments: { feeds: new Map(), peeks: new Map(), loadAssigns: [] },
    m: new Map(),
    v: new Map(),
    betaPowers: { b1: g.variable(`${prefix}/adam/beta1_power`, []), b2: g.variable(`${prefix}/adam/beta2_power`, []) },
  };
  for (const [name, variable] of vars) {
    const m = g.variable(`${variable.name}/m`, variable.shape);
    const v = g.variable(`${variable.name}/v`, variable.shape);
    st.m.set(name, m);
    st.v.set(name, v);
    const mIn = g.placeholder(`load/${m.name}`, m.shape);
    const vIn = g.placeholder(`load/${v.name}`, v.shape);
    st.moments.feeds.set(name, { m: mIn.ref, v: vIn.ref });
    st.moments.loadAssigns.push(m.assign(mIn), v.assign(vIn));
    st.moments.peeks.set(name, { m: m.read().ref, v: v.read().ref });
  }
  return st;
}

/**
 * One Adam update of `vars` from `grads` (the weights' values the gradients were taken at
 * in `reads`); its reads of optimizer state wait for `control` (an earlier update of an
 * unrolled loop). Returns every assign, the beta powers' last.
 */
export function adamUpdate(
  g: Graph,
  s: AdamSettings,
  st: AdamState,
  vars: Map<string, Variable>,
  reads: Map<string, Sym>,
  grads: Map<string, Sym>,
  control: readonly string[] = [],
): string[] {
  const b = { b1: st.betaPowers.b1.read({ control }), b2: st.betaPowers.b2.read({ control }) };
  const assigns: string[] = [];
  for (const [name, variable] of vars) {
    const [m, v] = [st.m.get(name)!, st.v.get(name)!];
    if (s.fused) assigns.push(fused(g, s, b, variable, m, v, grads.get(name)!));
    else {
      const u = update(g, s, b, m.read({ control }), v.read({ control }), grads.get(name)!, reads.get(name)!);
      assigns.push(m.assign(u.newM), v.assign(u.newV), variable.assign(u.value));
    }
  }
  // The beta powers advance after every update has read them.
  const c = (x: number) => g.constant(x);
  assigns.push(
    st.betaPowers.b1.assign(op.mul(g, b.b1, c(s.beta1)), { control: [...assigns] }),
    st.betaPowers.b2.assign(op.mul(g, b.b2, c(s.beta2)), { control: [...assigns] }),
  );
  return assigns;
}

export function buildAdam(
  g: Graph,
  s: AdamSettings,
  prefix: string,
  vars: Map<string, Variable>,
  reads: Map<string, Sym>,
  grads: Map<string, Sym>,
): AdamGraph {
  const st = adamState(g, prefix, vars);
  const assigns = adamUpdate(g, s, st, vars, reads, grads);
  return { assigns, moments: st.moments, betaPowers: st.betaPowers };
}
