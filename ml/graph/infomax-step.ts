// The infomax training step as one TensorFlow graph: encoders, critic, estimator,
// objective, their gradients and Adam, written with the same operations in the same
// order as the tfjs fast path (ml/encoders.ts, ml/critics.ts, ml/estimators.ts,
// ml/flat-adam.ts), so a step here and a step there agree to float rounding.
import type { TrialConfig } from '../config.js';
import { Graph, GraphError, type Sym, type Variable } from './graph.js';
import * as op from './ops.js';

/** The model families the graph step covers; anything else trains on the tfjs path. */
export function graphStepRefusal(cfg: TrialConfig): string | null {
  if (cfg.procedure !== 'infomax') return `the ${cfg.procedure} procedure`;
  if (cfg.encoder !== 'mlp') return `the ${cfg.encoder} encoder`;
  return null;
}

const MLP_DIMS = [300, 300, 100];
const SEPARABLE_DIMS = [100, 100];

/** The graph's trainable variables by their ParamStore names, and their reads for this step. */
class Params {
  readonly vars = new Map<string, Variable>();
  readonly reads = new Map<string, Sym>();

  constructor(
    private readonly g: Graph,
    private readonly prefix: string,
  ) {}

  get(name: string, shape: readonly number[]): Sym {
    const v = this.g.variable(`${this.prefix}/${name}`, shape);
    this.vars.set(name, v);
    const r = v.read();
    this.reads.set(name, r);
    return r;
  }
}

/** relu?(x W + b) as ml/ops.ts' denseForward: MatMul, AddV2, Relu. */
function dense(
  g: Graph,
  p: Params,
  name: string,
  x: Sym,
  inDim: number,
  outDim: number,
  relu: boolean,
  bias = true,
): Sym {
  const w = p.get(`${name}/kernel`, [inDim, outDim]);
  let h = op.matMul(g, x, w);
  if (bias) h = op.add(g, h, p.get(`${name}/bias`, [outDim]));
  return relu ? op.relu(g, h) : h;
}

function mlp(g: Graph, p: Params, name: string, x: Sym, dims: readonly number[]): Sym {
  let h = x;
  for (let i = 0; i + 1 < dims.length; i++)
    h = dense(g, p, `${name}/dense${i}`, h, dims[i], dims[i + 1], i + 2 < dims.length);
  return h;
}

function scores(g: Graph, p: Params, cfg: TrialConfig, zx: Sym, zy: Sym): Sym {
  const [dx, dy] = [zx.shape[1], zy.shape[1]];
  if (cfg.critic === 'inner') return op.matMul(g, zx, zy, false, true);
  if (cfg.critic === 'bilinear')
    return op.matMul(g, dense(g, p, 'critic/bilinear', zx, dx, dy, false, false), zy, false, true);
  if (cfg.critic === 'separable')
    return op.matMul(
      g,
      mlp(g, p, 'critic/phi1', zx, [dx, ...SEPARABLE_DIMS]),
      mlp(g, p, 'critic/phi2', zy, [dy, ...SEPARABLE_DIMS]),
      false,
      true,
    );
  return concatScores(g, p, cfg, zx, zy);
}

/**
 * ml/critics.ts' concat critic: the first layer split as (x Wx) + (y Wy + b) and
 * broadcast over pairs, relu'd; the hidden layers over all K x K pair rows; the last
 * layer's kernel gradient taken as dy^T x with dy as a row, as there (autodiff's
 * transposed-operand product over the pair matrix is the slow way to the same sum).
 */
function concatScores(g: Graph, p: Params, cfg: TrialConfig, zx: Sym, zy: Sym): Sym {
  const [h0, ...rest] = cfg.critic_hidden;
  const [k, m] = [zx.shape[0], zy.shape[0]];
  const a = op.matMul(g, zx, p.get('critic/concat/first/kernel_x', [zx.shape[1], h0]));
  const b = op.add(
    g,
    op.matMul(g, zy, p.get('critic/concat/first/kernel_y', [zy.shape[1], h0])),
    p.get('critic/concat/first/bias', [h0]),
  );
  const pairs = op.relu(g, op.add(g, op.reshape(g, a, [k, 1, h0]), op.reshape(g, b, [1, m, h0])));
  let hidden = op.reshape(g, pairs, [k * m, h0]);
  const dims = [h0, ...rest, 1];
  for (let i = 0; i + 2 < dims.length; i++)
    hidden = dense(g, p, `critic/concat/dense${i}`, hidden, dims[i], dims[i + 1], true);
  const last = dims.length - 2;
  const w = p.get(`critic/concat/dense${last}/kernel`, [dims[last], 1]);
  const bias = p.get(`critic/concat/dense${last}/bias`, [1]);
  return op.reshape(g, pairScore(g, hidden, w, bias), [k, m]);
}

/** x w + b for one output over n rows, with dw = (dy as a row) x and dx = dy w^T as an outer product. */
function pairScore(g: Graph, x: Sym, w: Sym, bias: Sym): Sym {
  const [n, h] = x.shape;
  const T = { T: { type: 'float32' as const } };
  const product = g.node('MatMul', [x, w], { ...T, transpose_a: { b: false }, transpose_b: { b: false } }, [
    { shape: [n, 1], dtype: 'float32' },
  ])[0];
  return g.node('AddV2', [product, bias], T, [{ shape: [n, 1], dtype: 'float32' }], {
    grad: (dy) => [
      op.matMul(g, dy, op.reshape(g, w, [1, h])),
      op.reshape(g, op.matMul(g, op.reshape(g, dy, [1, n]), x), [h, 1]),
      op.reshape(g, op.sum(g, dy, [0, 1]), [1]),
    ],
    inputs: [x, w, bias],
  })[0];
}

function square(k: number, value: (i: number, j: number) => number): Float32Array {
  const v = new Float32Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) v[i * k + j] = value(i, j);
  return v;
}

/** ml/estimators.ts' diagonal: the sum of scores times the identity, along rows. */
function diagonal(g: Graph, s: Sym): Sym {
  const k = s.shape[1];
  return op.sum(
    g,
    op.mul(
      g,
      s,
      g.constant(
        square(k, (i, j) => (i === j ? 1 : 0)),
        [k, k],
      ),
    ),
    [1],
  );
}

function estimate(g: Graph, cfg: TrialConfig, s: Sym): Sym {
  const k = s.shape[1];
  if (cfg.estimator === 'nce') {
    const rows = op.sub(g, diagonal(g, s), op.logSumExp(g, s, 1));
    return op.add(g, g.constant(Math.log(k)), op.mean(g, rows, [0]));
  }
  const shifted = op.sub(g, s, g.constant(1));
  const joint = op.mean(g, diagonal(g, shifted), [0]);
  const mask = g.constant(
    square(k, (i, j) => (i === j ? -Infinity : 0)),
    [k, k],
  );
  const pairs = op.reshape(g, op.add(g, shifted, mask), [k * k]);
  const marginal = op.exp(g, op.sub(g, op.logSumExp(g, pairs, 0), g.constant(Math.log(k * (k - 1)))));
  return op.sub(g, op.add(g, g.constant(1), joint), marginal);
}

function objective(g: Graph, cfg: TrialConfig, est: Sym): Sym {
  if (cfg.objective === 'maximize') return op.neg(g, est);
  if (cfg.target === null) throw new GraphError('objective "target" needs a target value');
  return op.abs(g, op.sub(g, est, g.constant(cfg.target)));
}

export interface AdamSettings {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** The moments of one variable and the running beta powers shared by all. */
export interface AdamSlots {
  m: Variable;
  v: Variable;
}

/**
 * FlatAdam.update per variable: the same float32 operations in the same order, so each
 * element comes out as it does from the flat buffer. Returns the names of the assigns.
 */
function adam(
  g: Graph,
  s: AdamSettings,
  vars: Map<string, Variable>,
  reads: Map<string, Sym>,
  grads: Map<string, Sym>,
  acc: { b1: Variable; b2: Variable },
): { slots: Map<string, AdamSlots>; assigns: string[] } {
  const c = (x: number) => g.constant(x);
  const b1 = acc.b1.read();
  const b2 = acc.b2.read();
  const bias1 = op.sub(g, c(1), b1);
  const bias2 = op.sub(g, c(1), b2);
  const slots = new Map<string, AdamSlots>();
  const assigns: string[] = [];
  for (const [name, variable] of vars) {
    const grad = grads.get(name)!;
    const m = g.variable(`${variable.name}/m`, variable.shape);
    const v = g.variable(`${variable.name}/v`, variable.shape);
    slots.set(name, { m, v });
    const newM = op.add(g, op.mul(g, m.read(), c(s.beta1)), op.mul(g, grad, c(1 - s.beta1)));
    const sq = g.node('Square', [grad], { T: { type: 'float32' } }, [{ shape: grad.shape, dtype: 'float32' }])[0];
    const newV = op.add(g, op.mul(g, v.read(), c(s.beta2)), op.mul(g, sq, c(1 - s.beta2)));
    const mHat = g.node('RealDiv', [newM, bias1], { T: { type: 'float32' } }, [
      { shape: grad.shape, dtype: 'float32' },
    ])[0];
    const vHat = g.node('RealDiv', [newV, bias2], { T: { type: 'float32' } }, [
      { shape: grad.shape, dtype: 'float32' },
    ])[0];
    const root = g.node('Sqrt', [vHat], { T: { type: 'float32' } }, [{ shape: grad.shape, dtype: 'float32' }])[0];
    const ratio = g.node('RealDiv', [mHat, op.add(g, root, c(s.epsilon))], { T: { type: 'float32' } }, [
      { shape: grad.shape, dtype: 'float32' },
    ])[0];
    const update = op.add(g, op.mul(g, ratio, c(-s.learningRate)), reads.get(name)!);
    assigns.push(m.assign(newM), v.assign(newV), variable.assign(update));
  }
  // The beta powers advance after every update has read them.
  assigns.push(
    acc.b1.assign(op.mul(g, b1, c(s.beta1)), { control: assigns }),
    acc.b2.assign(op.mul(g, b2, c(s.beta2)), { control: assigns }),
  );
  return { slots, assigns };
}

export interface InfomaxGraph {
  graph: Graph;
  /** Trainable variables by ParamStore name, in the order they were created. */
  params: Map<string, Variable>;
  slots: Map<string, AdamSlots>;
  betaPowers: { b1: Variable; b2: Variable };
  /** Fetch these two to train one step: the loss and I_EST before the update. */
  fetches: { loss: string; estimate: string };
}

/** The whole step for one trial configuration at batch size K. */
export function buildInfomaxGraph(cfg: TrialConfig, dimX: number, dimY: number, prefix: string): InfomaxGraph {
  const refusal = graphStepRefusal(cfg);
  if (refusal) throw new GraphError(`no graph step for ${refusal}`);
  const g = new Graph();
  const k = cfg.batch_size;
  const x = g.placeholder('x', [k, dimX]);
  const y = g.placeholder('y', [k, dimY]);
  const p = new Params(g, prefix);
  const zx = mlp(g, p, 'g1', x, [dimX, ...MLP_DIMS]);
  const zy = mlp(g, p, 'g2', y, [dimY, ...MLP_DIMS]);
  const est = estimate(g, cfg, scores(g, p, cfg, zx, zy));
  const loss = objective(g, cfg, est);
  const names = [...p.vars.keys()];
  const grads = g.gradients(
    loss,
    names.map((n) => p.reads.get(n)!),
  );
  const acc = { b1: g.variable(`${prefix}/adam/beta1_power`, []), b2: g.variable(`${prefix}/adam/beta2_power`, []) };
  const { slots, assigns } = adam(
    g,
    { learningRate: cfg.learning_rate, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
    p.vars,
    p.reads,
    new Map(names.map((n, i) => [n, grads[i]])),
    acc,
  );
  const done = (s: Sym, name: string) =>
    g.node('Identity', [s], { T: { type: 'float32' } }, [{ shape: [], dtype: 'float32' }], {
      name,
      control: assigns,
    })[0].ref;
  return {
    graph: g,
    params: p.vars,
    slots,
    betaPowers: acc,
    fetches: { loss: done(loss, 'step/loss'), estimate: done(est, 'step/estimate') },
  };
}

/** Feeds that set every variable at once (loads a checkpoint), and reads that take them out. */
export interface StateIo {
  /** Placeholder name by variable name; run `loaded` with them all fed. */
  feeds: Map<string, string>;
  loaded: string;
  /** A read of each variable by name, for fetching its value. */
  peeks: Map<string, string>;
}

export function addStateIo(g: Graph, variables: readonly Variable[]): StateIo {
  const feeds = new Map<string, string>();
  const peeks = new Map<string, string>();
  const assigns: string[] = [];
  for (const v of variables) {
    const ph = g.placeholder(`load/${v.name}`, v.shape);
    feeds.set(v.name, ph.ref);
    assigns.push(v.assign(ph));
    peeks.set(v.name, v.read().ref);
  }
  // The binding fetches outputs only (no run targets): a constant behind the assigns.
  const loaded = g.node('Identity', [g.constant(0)], { T: { type: 'float32' } }, [{ shape: [], dtype: 'float32' }], {
    name: 'load/done',
    control: assigns,
  })[0];
  return { feeds, loaded: loaded.ref, peeks };
}
