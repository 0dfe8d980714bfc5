// RealNVP (Dinh et al.) as the study uses it: coupling layers on 392 dims, each followed
// by a fixed random permutation, with an exact inverse.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from './rng.js';
import { ParamStore, mlpLayers, applyMlp, type Dense } from './params.js';

export type Coupling = 'shift' | 'affine';

interface CouplingLayer {
  net: Dense[];
  order: Int32Array;
  perm: tf.Tensor1D;
  invPerm: tf.Tensor1D;
}

/**
 * Gather along axis 1 by a permutation. The gradient of a permutation is the inverse
 * permutation; spelling it out avoids UnsortedSegmentSum, which wasm lacks.
 */
function permuteColumns(x: tf.Tensor2D, perm: tf.Tensor1D, invPerm: tf.Tensor1D): tf.Tensor2D {
  const body = (xIn: tf.Tensor) => ({
    value: tf.gather(xIn, perm, 1) as tf.Tensor2D,
    gradFunc: (dy: tf.Tensor2D) => tf.gather(dy, invPerm, 1),
  });
  return tf.customGrad(body as Parameters<typeof tf.customGrad>[0])(x) as tf.Tensor2D;
}

export class RealNvp {
  private readonly layers: CouplingLayer[] = [];
  private readonly half: number;

  constructor(
    store: ParamStore,
    name: string,
    readonly dim: number,
    readonly coupling: Coupling,
    layerCount: number,
    hidden: number,
    rng: Rng,
  ) {
    if (dim % 2 !== 0) throw new Error(`RealNVP needs an even dimension, got ${dim}`);
    this.half = dim / 2;
    const outDim = coupling === 'affine' ? 2 * this.half : this.half;
    for (let i = 0; i < layerCount; i++) {
      const net = mlpLayers(store, `${name}/coupling${i}`, [this.half, hidden, hidden, outDim], {
        truncatedNormal: 1e-4,
      });
      const p = rng.permutation(dim);
      const inv = new Int32Array(dim);
      p.forEach((v, j) => (inv[v] = j));
      this.layers.push({
        net,
        order: Int32Array.from(p),
        perm: tf.keep(tf.tensor1d(p, 'int32')),
        invPerm: tf.keep(tf.tensor1d(inv, 'int32')),
      });
    }
  }

  /** Each coupling layer's column order, as its permutation gathers them (for ml/graph/). */
  get permutations(): Int32Array[] {
    return this.layers.map((l) => l.order);
  }

  private shiftAndScale(layer: CouplingLayer, a: tf.Tensor2D): { shift: tf.Tensor2D; scale: tf.Tensor2D | null } {
    const out = applyMlp(layer.net, a);
    if (this.coupling === 'shift') return { shift: out, scale: null };
    const [raw, shift] = tf.split(out, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    return { shift, scale: tf.add(tf.softplus(raw), 1e-7) as tf.Tensor2D };
  }

  forward(x: tf.Tensor2D): tf.Tensor2D {
    let h = x;
    for (const layer of this.layers) {
      const [a, b] = tf.split(h, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
      const { shift, scale } = this.shiftAndScale(layer, a);
      const bOut = scale ? tf.add(tf.mul(b, scale), shift) : tf.add(b, shift);
      h = permuteColumns(tf.concat([a, bOut as tf.Tensor2D], 1), layer.perm, layer.invPerm);
    }
    return h;
  }

  inverse(z: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      let h = z;
      for (let i = this.layers.length - 1; i >= 0; i--) {
        const layer = this.layers[i];
        const unperm = tf.gather(h, layer.invPerm, 1) as tf.Tensor2D;
        const [a, bOut] = tf.split(unperm, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
        const { shift, scale } = this.shiftAndScale(layer, a);
        const b = scale ? tf.div(tf.sub(bOut, shift), scale) : tf.sub(bOut, shift);
        h = tf.concat([a, b as tf.Tensor2D], 1);
      }
      return h;
    });
  }

  dispose(): void {
    for (const l of this.layers) {
      l.perm.dispose();
      l.invPerm.dispose();
    }
  }
}
