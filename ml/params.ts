// Named trainable variables with initial values drawn from our own seeded generator,
// so that every backend starts a trial from bit-identical weights.
import * as tf from '@tensorflow/tfjs';
import { Rng } from './rng.js';
import { dense } from './ops.js';

export type Init = 'glorot_uniform' | 'zeros' | 'ones' | { truncatedNormal: number };

export class ParamStore {
  private readonly vars = new Map<string, tf.Variable>();

  constructor(private readonly rng: Rng) {}

  create(name: string, shape: number[], init: Init, fan?: { in: number; out: number }): tf.Variable {
    if (this.vars.has(name)) throw new Error(`parameter ${name} created twice`);
    const size = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    if (init === 'ones') values.fill(1);
    else if (init === 'glorot_uniform') {
      const f = fan ?? { in: shape[0], out: shape[shape.length - 1] };
      const limit = Math.sqrt(6 / (f.in + f.out));
      for (let i = 0; i < size; i++) values[i] = (2 * this.rng.uniform() - 1) * limit;
    } else if (typeof init === 'object') {
      for (let i = 0; i < size; i++) values[i] = init.truncatedNormal * this.rng.truncatedNormal();
    }
    const initial = tf.tensor(values, shape);
    const v = tf.variable(initial, true, name);
    initial.dispose();
    this.vars.set(name, v);
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`no parameter ${name}`);
    return v;
  }

  list(prefix = ''): tf.Variable[] {
    return [...this.vars.entries()].filter(([k]) => k.startsWith(prefix)).map(([, v]) => v);
  }

  names(): string[] {
    return [...this.vars.keys()];
  }

  count(prefix = ''): number {
    return this.list(prefix).reduce((n, v) => n + v.size, 0);
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

export interface Dense {
  kernel: tf.Variable;
  bias: tf.Variable | null;
}

export function denseLayer(
  store: ParamStore,
  name: string,
  inDim: number,
  outDim: number,
  opts: { bias?: boolean; init?: Init } = {},
): Dense {
  const kernel = store.create(`${name}/kernel`, [inDim, outDim], opts.init ?? 'glorot_uniform');
  const bias = opts.bias === false ? null : store.create(`${name}/bias`, [outDim], 'zeros');
  return { kernel, bias };
}

export function applyDense(layer: Dense, x: tf.Tensor2D, relu = false): tf.Tensor2D {
  return dense(x, layer.kernel as tf.Tensor2D, layer.bias as tf.Tensor1D | null, relu);
}

/** Dense layers with ReLU between them and a linear last layer. */
/** Multiply-adds (x2) of applyMlp over `rows` inputs: what ml/flops.ts counts for a dense stack. */
export function mlpFlops(dims: readonly number[], rows: number): number {
  let f = 0;
  for (let i = 0; i + 1 < dims.length; i++) f += 2 * rows * dims[i] * dims[i + 1];
  return f;
}

export function mlpLayers(store: ParamStore, name: string, dims: number[], init?: Init): Dense[] {
  const layers: Dense[] = [];
  for (let i = 0; i + 1 < dims.length; i++)
    layers.push(denseLayer(store, `${name}/dense${i}`, dims[i], dims[i + 1], { init }));
  return layers;
}

export function applyMlp(layers: Dense[], x: tf.Tensor2D): tf.Tensor2D {
  let h = x;
  layers.forEach((l, i) => {
    h = applyDense(l, h, i < layers.length - 1);
  });
  return h as tf.Tensor2D;
}
