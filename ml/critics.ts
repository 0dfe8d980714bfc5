// Critics f(x, y) that score every pair of a batch: S[i][j] = f(x_i, y_j), positives
// on the diagonal. A new critic is one builder in the registry.
import * as tf from '@tensorflow/tfjs';
import type { TrialConfig } from './config.js';
import { CRITICS } from './config.js';
import { ParamStore, mlpLayers, applyMlp, denseLayer, applyDense } from './params.js';
import { UnknownNameError } from './encoders.js';
import { matMul, dense } from './ops.js';

export interface Critic {
  readonly name: string;
  scores(x: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor2D;
}

type CriticName = (typeof CRITICS)[number];
type Builder = (store: ParamStore, dimX: number, dimY: number, cfg: TrialConfig) => Critic;

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
  const phi1 = mlpLayers(store, 'critic/phi1', [dimX, 100, 100]);
  const phi2 = mlpLayers(store, 'critic/phi2', [dimY, 100, 100]);
  return { name: 'separable', scores: (x, y) => matMul(applyMlp(phi1, x), applyMlp(phi2, y), false, true) };
};

/**
 * The "MLP critic" phi([x, y]) over all K x K pairs. Its first layer W [x; y] + b is
 * split as (x Wx) + (y Wy + b) and broadcast, so the K^2 x (dx + dy) concatenation is
 * never built: only a K x K x h hidden tensor.
 */
const concat: Builder = (store, dimX, dimY, cfg) => {
  const [h0, ...rest] = cfg.critic_hidden;
  const wx = store.create('critic/concat/first/kernel_x', [dimX, h0], 'glorot_uniform', { in: dimX + dimY, out: h0 });
  const wy = store.create('critic/concat/first/kernel_y', [dimY, h0], 'glorot_uniform', { in: dimX + dimY, out: h0 });
  const b0 = store.create('critic/concat/first/bias', [h0], 'zeros');
  const tail = mlpLayers(store, 'critic/concat', [h0, ...rest, 1]);
  return {
    name: 'concat',
    scores: (x, y) => {
      const k = x.shape[0];
      const m = y.shape[0];
      const a = matMul(x, wx as tf.Tensor2D).reshape([k, 1, h0]);
      const b = dense(y, wy as tf.Tensor2D, b0 as tf.Tensor1D, false).reshape([1, m, h0]);
      const hidden = tf.relu(tf.add(a, b)).reshape([k * m, h0]) as tf.Tensor2D;
      return applyMlp(tail, hidden).reshape([k, m]) as tf.Tensor2D;
    },
  };
};

const REGISTRY: Record<CriticName, Builder> = { inner, bilinear, separable, concat };

export function buildCritic(kind: string, store: ParamStore, dimX: number, dimY: number, cfg: TrialConfig): Critic {
  const builder = REGISTRY[kind as CriticName];
  if (!builder) throw new UnknownNameError(`unknown critic "${kind}"; valid critics: ${Object.keys(REGISTRY).join(', ')}`);
  return builder(store, dimX, dimY, cfg);
}
