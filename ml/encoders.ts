// Encoders g1, g2 by the names a sweep spec uses. A new encoder is one builder here.
import * as tf from '@tensorflow/tfjs';
import type { TrialConfig } from './config.js';
import { ENCODERS } from './config.js';
import type { Rng } from './rng.js';
import { ParamStore, mlpLayers, mlpFlops, applyMlp, denseLayer, applyDense } from './params.js';
import { conv2dSame } from './conv.js';
import { RealNvp } from './realnvp.js';
import { ENCODER_FORMS, type HasStacked } from './model-forms.js';
import {
  convnetGraph,
  identityGraph,
  mlpGraph,
  mlpShortcutGraph,
  realnvpGraph,
  type GraphEncoder,
} from './graph/layers.js';

export interface Encoder {
  readonly name: string;
  readonly inDim: number;
  readonly outDim: number;
  apply(x: tf.Tensor2D): tf.Tensor2D;
  /** Present for invertible encoders. */
  inverse?(z: tf.Tensor2D): tf.Tensor2D;
  /** A RealNVP's coupling-layer permutations, which a graph of the same model needs. */
  readonly permutations?: readonly Int32Array[];
  dispose(): void;
}

export type EncoderName = (typeof ENCODERS)[number];
type Builder = (store: ParamStore, name: string, inDim: number, cfg: TrialConfig, rng: Rng) => Encoder;
/** Matrix-product and convolution FLOPs of one forward pass over `rows` inputs, and the code size. */
export type EncoderFlops = (cfg: TrialConfig, rows: number, inDim: number) => { flops: number; outDim: number };

const MLP_DIMS = [300, 300, 100];
const SHORTCUT_LAYERS = 5;

const noop = () => {};

const identity: Builder = (_s, name, inDim) => ({
  name,
  inDim,
  outDim: inDim,
  apply: (x) => x,
  inverse: (z) => z,
  dispose: noop,
});

const mlp: Builder = (store, name, inDim) => {
  const layers = mlpLayers(store, name, [inDim, ...MLP_DIMS]);
  return { name, inDim, outDim: MLP_DIMS[MLP_DIMS.length - 1], apply: (x) => applyMlp(layers, x), dispose: noop };
};

/** Five residual layers x <- relu(Wx + b) + x (linear last); near identity at init. */
const mlpShortcut: Builder = (store, name, inDim) => {
  const layers = Array.from({ length: SHORTCUT_LAYERS }, (_, i) =>
    denseLayer(store, `${name}/dense${i}`, inDim, inDim, { init: { truncatedNormal: 1e-4 } }),
  );
  return {
    name,
    inDim,
    outDim: inDim,
    apply: (x) => {
      let h = x;
      layers.forEach((l, i) => {
        h = tf.add(applyDense(l, h, i < layers.length - 1), h);
      });
      return h;
    },
    dispose: noop,
  };
};

/** Half an MNIST image (14 x 28) through two strided convolutions and layer norm. */
const convnet: Builder = (store, name, inDim) => {
  if (inDim !== 392) throw new Error(`convnet expects a 14x28 view (392 values), got ${inDim}`);
  const k1 = store.create(`${name}/conv0/kernel`, [5, 5, 1, 64], 'glorot_uniform', { in: 25, out: 25 * 64 });
  const b1 = store.create(`${name}/conv0/bias`, [64], 'zeros');
  const k2 = store.create(`${name}/conv1/kernel`, [5, 5, 64, 128], 'glorot_uniform', { in: 25 * 64, out: 25 * 128 });
  const b2 = store.create(`${name}/conv1/bias`, [128], 'zeros');
  // Keras LayerNormalization over (h, w, c) keeps one gamma and beta per normalised element.
  const gamma = store.create(`${name}/layernorm/gamma`, [4, 7, 128], 'ones');
  const beta = store.create(`${name}/layernorm/beta`, [4, 7, 128], 'zeros');
  const head = denseLayer(store, `${name}/dense`, 128, 100);
  return {
    name,
    inDim,
    outDim: 100,
    apply: (x) => {
      const img = x.reshape([x.shape[0], 14, 28, 1]) as tf.Tensor4D;
      const h1 = tf.relu(tf.add(conv2dSame(img, k1 as tf.Tensor4D, 2), b1)) as tf.Tensor4D;
      const h2 = tf.relu(tf.add(conv2dSame(h1, k2 as tf.Tensor4D, 2), b2)) as tf.Tensor4D;
      const { mean, variance } = tf.moments(h2, [1, 2, 3], true);
      const normed = tf.add(tf.mul(tf.div(tf.sub(h2, mean), tf.sqrt(tf.add(variance, 1e-3))), gamma), beta);
      const pooled = tf.mean(normed, [1, 2]) as tf.Tensor2D;
      return applyDense(head, pooled);
    },
    dispose: noop,
  };
};

const realnvp: Builder = (store, name, inDim, cfg, rng) => {
  const flow = new RealNvp(store, name, inDim, cfg.coupling, cfg.realnvp_layers, cfg.realnvp_hidden, rng);
  return {
    name,
    inDim,
    outDim: inDim,
    apply: (x) => flow.forward(x),
    inverse: (z) => flow.inverse(z),
    permutations: flow.permutations,
    dispose: () => flow.dispose(),
  };
};

// 14x28x1 -> 7x14x64 -> 4x7x128 (5x5 kernels, stride 2), then Dense 128 -> 100.
const convnetFlops: EncoderFlops = (_cfg, rows) => ({
  flops: 2 * rows * 7 * 14 * 25 * 1 * 64 + 2 * rows * 4 * 7 * 25 * 64 * 128 + mlpFlops([128, 100], rows),
  outDim: 100,
});

const realnvpFlops: EncoderFlops = (cfg, rows, inDim) => {
  const half = inDim / 2;
  const out = cfg.coupling === 'affine' ? inDim : half;
  return {
    flops: cfg.realnvp_layers * mlpFlops([half, cfg.realnvp_hidden, cfg.realnvp_hidden, out], rows),
    outDim: inDim,
  };
};

/** An encoder's seed-stacked form: S x K codes from S x K inputs, through the stack's batched layers. */
export type StackedEncoder = (
  s: { mlp(prefix: string, layers: number, x: tf.Tensor3D): tf.Tensor3D },
  name: string,
  x: tf.Tensor3D,
) => tf.Tensor3D;

interface EncoderEntry<K extends EncoderName> {
  /** The eager form (tfjs), which every backend runs. */
  build: Builder;
  /** The form of the whole-step TensorFlow graph (ml/graph/). */
  graph: GraphEncoder;
  /** The seed-stacked form where ml/model-forms.ts lists one, else null. */
  stacked: HasStacked<typeof ENCODER_FORMS, K> extends true ? StackedEncoder : null;
  /** What one forward pass costs (for `mirl bench`'s GFLOP/s). */
  flops: EncoderFlops;
}

/** Each encoder in every form it has: a new encoder is one entry, and a form it lacks a type error. */
const REGISTRY: { [K in EncoderName]: EncoderEntry<K> } = {
  identity: {
    build: identity,
    graph: identityGraph,
    stacked: null,
    flops: (_cfg, _rows, inDim) => ({ flops: 0, outDim: inDim }),
  },
  mlp: {
    build: mlp,
    graph: mlpGraph,
    stacked: (s, name, x) => s.mlp(name, MLP_DIMS.length, x),
    flops: (_cfg, rows, inDim) => ({
      flops: mlpFlops([inDim, ...MLP_DIMS], rows),
      outDim: MLP_DIMS[MLP_DIMS.length - 1],
    }),
  },
  'mlp-shortcut': {
    build: mlpShortcut,
    graph: mlpShortcutGraph,
    stacked: null,
    flops: (_cfg, rows, inDim) => ({ flops: SHORTCUT_LAYERS * mlpFlops([inDim, inDim], rows), outDim: inDim }),
  },
  convnet: { build: convnet, graph: convnetGraph, stacked: null, flops: convnetFlops },
  realnvp: { build: realnvp, graph: realnvpGraph, stacked: null, flops: realnvpFlops },
};

/** Every form of encoder `kind` (a name from a parsed config: the schema refused others). */
export function encoderForms(kind: EncoderName): EncoderEntry<EncoderName> {
  return REGISTRY[kind];
}

export function encoderFlops(
  kind: EncoderName,
  cfg: TrialConfig,
  rows: number,
  inDim: number,
): { flops: number; outDim: number } {
  return REGISTRY[kind].flops(cfg, rows, inDim);
}

/** `kind` comes from a parsed config, whose schema already refused names outside the registry. */
export function buildEncoder(
  kind: EncoderName,
  store: ParamStore,
  name: string,
  inDim: number,
  cfg: TrialConfig,
  rng: Rng,
): Encoder {
  return REGISTRY[kind].build(store, name, inDim, cfg, rng);
}
