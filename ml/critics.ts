// Critics f(x, y) that score every pair of a batch: S[i][j] = f(x_i, y_j), positives
// on the diagonal. A new critic is one builder in the registry.
import * as tf from '@tensorflow/tfjs';
import type { TrialConfig } from './config.js';
import { CRITICS } from './config.js';
import { ParamStore, mlpLayers, mlpFlops, applyMlp, denseLayer, applyDense, type Dense } from './params.js';
import { matMul, dense } from './ops.js';
import { nativeReluGrad, nativeReluGradAvailable } from './native-kernels.js';
import { eagerFast } from './step-path.js';
import { CRITIC_FORMS, type HasStacked } from './model-forms.js';
import { bilinearGraph, concatGraph, innerGraph, separableGraph, type GraphCritic } from './graph/layers.js';

export interface Critic {
  readonly name: string;
  scores(x: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor2D;
}

export type CriticName = (typeof CRITICS)[number];
type Builder = (store: ParamStore, dimX: number, dimY: number, cfg: TrialConfig) => Critic;
/** Matrix-product FLOPs of scoring a K x K batch of code pairs (sizes dx, dy). */
type CriticFlops = (cfg: TrialConfig, k: number, dx: number, dy: number) => number;

const SEPARABLE_DIMS = [100, 100];

export class ShapeError extends Error {}

const inner: Builder = (_s, dimX, dimY) => {
  if (dimX !== dimY) throw new ShapeError(`the inner critic needs codes of equal size, got ${dimX} and ${dimY}`);
  return { name: 'inner', scores: (x, y) => matMul(x, y, false, true) };
};

const bilinear: Builder = (store, dimX, dimY) => {
  const w = denseLayer(store, 'critic/bilinear', dimX, dimY, { bias: false });
  return { name: 'bilinear', scores: (x, y) => matMul(applyDense(w, x), y, false, true) };
};

const separable: Builder = (store, dimX, dimY) => {
  const phi1 = mlpLayers(store, 'critic/phi1', [dimX, ...SEPARABLE_DIMS]);
  const phi2 = mlpLayers(store, 'critic/phi2', [dimY, ...SEPARABLE_DIMS]);
  return { name: 'separable', scores: (x, y) => matMul(applyMlp(phi1, x), applyMlp(phi2, y), false, true) };
};

type GradBody = Parameters<typeof tf.customGrad>[0];

// Each backend has its own fast kernels for the two elementwise steps of the pair tensor's
// gradient (measured on [128, 128, 200]): native TensorFlow runs tfjs's step as six ops
// and a broadcast multiply slower than a rank-1 matMul; WebAssembly the other way round.
const onNative = () => tf.getBackend() === 'tensorflow';

/** relu'(pre) from r = relu(pre) >= 0: 1 where r > 0, else 0 (sign(r) equals step(r) there). */
function reluMask(r: tf.Tensor): tf.Tensor {
  return onNative() ? tf.sign(r) : tf.step(r);
}

/** The outer product of a column [n, 1] and a row [1, h]. */
function outer(col: tf.Tensor2D, row: tf.Tensor2D): tf.Tensor2D {
  return onNative() ? tf.matMul(col, row) : (tf.mul(col, row) as tf.Tensor2D);
}

/** dy relu'(pre) from r = relu(pre); the fast path's one ReluGrad kernel halves the passes over the pair tensor. */
function pairReluBackward(dy: tf.Tensor, r: tf.Tensor): tf.Tensor {
  return eagerFast() && nativeReluGradAvailable() ? nativeReluGrad(dy, r) : tf.mul(dy, reluMask(r));
}

/** relu(a_i + b_j) for every pair, as a (k m) x h matrix, touching that tensor once in the backward pass. */
function pairRelu(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  const [k, h] = a.shape;
  const m = b.shape[0];
  const body = (aIn: tf.Tensor, bIn: tf.Tensor, save: tf.GradSaveFunc) => {
    const r = tf.relu(tf.add(tf.reshape(aIn, [k, 1, h]), tf.reshape(bIn, [1, m, h])));
    save([r]);
    return {
      value: tf.reshape(r, [k * m, h]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const g = pairReluBackward(tf.reshape(dy, [k, m, h]), saved[0]);
        return [tf.sum(g, 1), tf.sum(g, 0)];
      },
    };
  };
  return tf.customGrad(body as GradBody)(a, b) as tf.Tensor2D;
}

/**
 * x w + b for one output over the k m pair rows. Its kernel gradient is the row vector
 * dy^T x (a reshape of dy, no transpose): autodiff asks for x^T dy, a transposed-operand
 * product over the whole pair matrix that costs ~10x more on both backends.
 */
function pairScore(x: tf.Tensor2D, layer: Dense): tf.Tensor2D {
  const [n, h] = x.shape;
  const body = (xIn: tf.Tensor, wIn: tf.Tensor, bIn: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xIn, wIn]);
    return {
      value: tf.add(tf.matMul(xIn as tf.Tensor2D, wIn as tf.Tensor2D), bIn),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, w] = saved;
        return [
          outer(dy as tf.Tensor2D, tf.reshape(w, [1, h]) as tf.Tensor2D),
          tf.reshape(tf.matMul(tf.reshape(dy, [1, n]) as tf.Tensor2D, xs as tf.Tensor2D), [h, 1]),
          tf.reshape(tf.sum(dy), [1]),
        ];
      },
    };
  };
  return tf.customGrad(body as GradBody)(x, layer.kernel, layer.bias!) as tf.Tensor2D;
}

/**
 * The "MLP critic" phi([x, y]) over all K x K pairs. Its first layer W [x; y] + b is
 * split as (x Wx) + (y Wy + b) and broadcast, so the K^2 x (dx + dy) concatenation is
 * never built: only a K x K x h hidden tensor. Work on that tensor is memory-bound (a
 * few flops per element), so its gradients are spelled out to touch it as little as possible.
 */
const concat: Builder = (store, dimX, dimY, cfg) => {
  const [h0, ...rest] = cfg.critic_hidden;
  const wx = store.create('critic/concat/first/kernel_x', [dimX, h0], 'glorot_uniform', { in: dimX + dimY, out: h0 });
  const wy = store.create('critic/concat/first/kernel_y', [dimY, h0], 'glorot_uniform', { in: dimX + dimY, out: h0 });
  const b0 = store.create('critic/concat/first/bias', [h0], 'zeros');
  const tail = mlpLayers(store, 'critic/concat', [h0, ...rest, 1]);
  const hiddenTail = tail.slice(0, -1);
  const last = tail[tail.length - 1];
  return {
    name: 'concat',
    scores: (x, y) => {
      const k = x.shape[0];
      const m = y.shape[0];
      const a = matMul(x, wx as tf.Tensor2D);
      const b = dense(y, wy as tf.Tensor2D, b0 as tf.Tensor1D, false);
      let hidden = pairRelu(a, b);
      for (const layer of hiddenTail) hidden = applyDense(layer, hidden, true);
      return pairScore(hidden, last).reshape([k, m]) as tf.Tensor2D;
    },
  };
};

const separableFlops: CriticFlops = (_cfg, k, dx, dy) =>
  mlpFlops([dx, ...SEPARABLE_DIMS], k) +
  mlpFlops([dy, ...SEPARABLE_DIMS], k) +
  2 * k * k * SEPARABLE_DIMS[SEPARABLE_DIMS.length - 1];

// The split first layer scores K + K rows, the rest of the MLP all K x K pairs.
const concatFlops: CriticFlops = (cfg, k, dx, dy) => {
  const [h0, ...rest] = cfg.critic_hidden;
  return 2 * k * (dx + dy) * h0 + mlpFlops([h0, ...rest, 1], k * k);
};

/**
 * What a stacked critic gets from the seed stack (ml/seed-stack.ts): parameters with a
 * leading seed axis, applied by the stack's own batched layers.
 */
export interface StackedLayers {
  /** a x b over the seed axis. */
  bmm(a: tf.Tensor3D, b: tf.Tensor3D, transposeA?: boolean, transposeB?: boolean): tf.Tensor3D;
  /** x W over the seed axis, W the stacked `${name}/kernel` (no bias, no ReLU). */
  linear(name: string, x: tf.Tensor3D): tf.Tensor3D;
  /** The stacked MLP `${prefix}/dense0..` of `layers` layers, ReLU between. */
  mlp(prefix: string, layers: number, x: tf.Tensor3D): tf.Tensor3D;
}

/** A critic's seed-stacked form: S x K x K pair scores from S x K codes per view. */
export type StackedCritic = (s: StackedLayers, z1: tf.Tensor3D, z2: tf.Tensor3D) => tf.Tensor3D;

interface CriticEntry<K extends CriticName> {
  /** The eager form (tfjs), which every backend runs. */
  build: Builder;
  /** The form of the whole-step TensorFlow graph (ml/graph/). */
  graph: GraphCritic;
  /** The seed-stacked form where ml/model-forms.ts lists one, else null. */
  stacked: HasStacked<typeof CRITIC_FORMS, K> extends true ? StackedCritic : null;
  /** What scoring one batch costs (for `mirl bench`'s GFLOP/s). */
  flops: CriticFlops;
}

/** Each critic in every form it has: a new critic is one entry, and a form it lacks a type error. */
const REGISTRY: { [K in CriticName]: CriticEntry<K> } = {
  inner: {
    build: inner,
    graph: innerGraph,
    stacked: (s, z1, z2) => s.bmm(z1, z2, false, true),
    flops: (_cfg, k, dx) => 2 * k * k * dx,
  },
  bilinear: {
    build: bilinear,
    graph: bilinearGraph,
    stacked: (s, z1, z2) => s.bmm(s.linear('critic/bilinear', z1), z2, false, true),
    flops: (_cfg, k, dx, dy) => 2 * k * dx * dy + 2 * k * k * dy,
  },
  separable: {
    build: separable,
    graph: separableGraph,
    stacked: (s, z1, z2) =>
      s.bmm(
        s.mlp('critic/phi1', SEPARABLE_DIMS.length, z1),
        s.mlp('critic/phi2', SEPARABLE_DIMS.length, z2),
        false,
        true,
      ),
    flops: separableFlops,
  },
  concat: { build: concat, graph: concatGraph, stacked: null, flops: concatFlops },
};

/** Every form of critic `kind` (a name from a parsed config: the schema refused others). */
export function criticForms(kind: CriticName): CriticEntry<CriticName> {
  return REGISTRY[kind];
}

export function criticFlops(kind: CriticName, cfg: TrialConfig, k: number, dx: number, dy: number): number {
  return REGISTRY[kind].flops(cfg, k, dx, dy);
}

/** `kind` comes from a parsed config, whose schema already refused names outside the registry. */
export function buildCritic(kind: CriticName, store: ParamStore, dimX: number, dimY: number, cfg: TrialConfig): Critic {
  return REGISTRY[kind].build(store, dimX, dimY, cfg);
}
