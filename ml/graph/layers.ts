// The study's encoders and critics as graph nodes (ml/graph/graph.ts), each the same
// operations in the same order as its tfjs form (ml/encoders.ts, ml/realnvp.ts,
// ml/critics.ts, ml/ops.ts) and reading the same ParamStore names, so a graph step and
// an eager step agree to float rounding and share checkpoints.
import type { TrialConfig } from '../config.js';
import { Graph, GraphError, type Sym, type Variable } from './graph.js';
import * as op from './ops.js';

const MLP_DIMS = [300, 300, 100];
const SEPARABLE_DIMS = [100, 100];
const SHORTCUT_LAYERS = 5;

/** The graph's trainable variables by their ParamStore names, and their reads for this step. */
export class Params {
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

/** RealNVP (ml/realnvp.ts): per coupling layer, b += shift(a) (or b * scale(a) + shift(a)), then a fixed column permutation. */
function realnvp(
  g: Graph,
  p: Params,
  name: string,
  x: Sym,
  cfg: TrialConfig,
  permutations: readonly ArrayLike<number>[],
): Sym {
  const half = x.shape[1] / 2;
  const affine = cfg.coupling === 'affine';
  const dims = [half, cfg.realnvp_hidden, cfg.realnvp_hidden, affine ? 2 * half : half];
  let h = x;
  permutations.forEach((perm, i) => {
    const a = op.sliceColumns(g, h, 0, half);
    const b = op.sliceColumns(g, h, half, half);
    const out = mlp(g, p, `${name}/coupling${i}`, a, dims);
    let bOut: Sym;
    if (!affine) bOut = op.add(g, b, out);
    else {
      const scale = op.add(g, op.softplus(g, op.sliceColumns(g, out, 0, half)), g.constant(1e-7));
      bOut = op.add(g, op.mul(g, b, scale), op.sliceColumns(g, out, half, half));
    }
    h = op.permuteColumns(g, op.concatColumns(g, a, bOut), perm);
  });
  return h;
}

/** ml/encoders.ts' mlp-shortcut: x <- relu?(x W + b) + x per layer, the last linear. */
function mlpShortcut(g: Graph, p: Params, name: string, x: Sym): Sym {
  const d = x.shape[1];
  let h = x;
  for (let i = 0; i < SHORTCUT_LAYERS; i++)
    h = op.add(g, dense(g, p, `${name}/dense${i}`, h, d, d, i < SHORTCUT_LAYERS - 1), h);
  return h;
}

/**
 * ml/encoders.ts' ConvNet on a 14 x 28 view: two strided 'same' convolutions with bias and
 * ReLU, Keras-style layer norm over (h, w, c) as tf.moments computes it, mean pooling and
 * a dense head.
 */
function convnet(g: Graph, p: Params, name: string, x: Sym): Sym {
  if (x.shape[1] !== 392) throw new GraphError(`${name}: convnet expects a 14x28 view (392 values), got ${x.shape[1]}`);
  const convLayer = (h: Sym, i: number, ci: number, co: number) => {
    const kernel = p.get(`${name}/conv${i}/kernel`, [5, 5, ci, co]);
    return op.relu(g, op.add(g, op.conv2dSame(g, h, kernel, 2), p.get(`${name}/conv${i}/bias`, [co])));
  };
  const img = op.reshape(g, x, [x.shape[0], 14, 28, 1]);
  const h2 = convLayer(convLayer(img, 0, 1, 64), 1, 64, 128);
  const mean = op.mean(g, h2, [1, 2, 3], true);
  const variance = op.mean(g, op.square(g, op.sub(g, h2, mean)), [1, 2, 3], true);
  const centred = op.div(g, op.sub(g, h2, mean), op.sqrt(g, op.add(g, variance, g.constant(1e-3))));
  const normed = op.add(
    g,
    op.mul(g, centred, p.get(`${name}/layernorm/gamma`, [4, 7, 128])),
    p.get(`${name}/layernorm/beta`, [4, 7, 128]),
  );
  return dense(g, p, `${name}/dense`, op.mean(g, normed, [1, 2]), 128, 100, false);
}

/** What an encoder's graph needs beyond the configuration: a RealNVP's permutations. */
export interface EncoderHints {
  permutations?: readonly ArrayLike<number>[];
}

/** An encoder's graph form: the registry entry of ml/encoders.ts holds one per encoder. */
export type GraphEncoder = (g: Graph, p: Params, name: string, x: Sym, cfg: TrialConfig, hints: EncoderHints) => Sym;

export const identityGraph: GraphEncoder = (_g, _p, _name, x) => x;
export const mlpGraph: GraphEncoder = (g, p, name, x) => mlp(g, p, name, x, [x.shape[1], ...MLP_DIMS]);
export const mlpShortcutGraph: GraphEncoder = (g, p, name, x) => mlpShortcut(g, p, name, x);
export const convnetGraph: GraphEncoder = (g, p, name, x) => convnet(g, p, name, x);
export const realnvpGraph: GraphEncoder = (g, p, name, x, cfg, hints) => {
  if (!hints.permutations) throw new GraphError(`${name}: a RealNVP graph needs its permutations`);
  return realnvp(g, p, name, x, cfg, hints.permutations);
};

/** A critic's graph form, K x K pair scores: the registry entry of ml/critics.ts holds one per critic. */
export type GraphCritic = (g: Graph, p: Params, cfg: TrialConfig, zx: Sym, zy: Sym) => Sym;

export const innerGraph: GraphCritic = (g, _p, _cfg, zx, zy) => op.matMul(g, zx, zy, false, true);
export const bilinearGraph: GraphCritic = (g, p, _cfg, zx, zy) =>
  op.matMul(g, dense(g, p, 'critic/bilinear', zx, zx.shape[1], zy.shape[1], false, false), zy, false, true);
export const separableGraph: GraphCritic = (g, p, _cfg, zx, zy) =>
  op.matMul(
    g,
    mlp(g, p, 'critic/phi1', zx, [zx.shape[1], ...SEPARABLE_DIMS]),
    mlp(g, p, 'critic/phi2', zy, [zy.shape[1], ...SEPARABLE_DIMS]),
    false,
    true,
  );

/**
 * ml/critics.ts' concat critic: the first layer split as (x Wx) + (y Wy + b) and
 * broadcast over pairs, relu'd; the hidden layers over all K x K pair rows; the last
 * layer's kernel gradient taken as dy^T x with dy as a row, as there (autodiff's
 * transposed-operand product over the pair matrix is the slow way to the same sum).
 */
export const concatGraph: GraphCritic = (g, p, cfg, zx, zy) => {
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
};

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
