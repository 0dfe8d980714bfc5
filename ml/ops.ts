// Matrix products and dense layers with hand-written gradients. On the wasm backend a
// matMul with transposeA is about 18x slower than transposing explicitly and multiplying
// (51.7 ms vs 2.9 ms for 512x128 by 128x512), and every backward pass of a matMul asks
// for transposed operands; so on wasm we spell the gradients out. On tensorflow the
// fast step path (ml/step-path.ts) spells out the dense layer's gradient too, to run
// few kernels: tfjs' own gradient of a relu layer is most of a step's kernels.
import * as tf from '@tensorflow/tfjs';
import { eagerFast } from './step-path.js';
import { nativeReluGrad, nativeReluGradAvailable } from './native-kernels.js';

type GradBody = Parameters<typeof tf.customGrad>[0];

function explicitTransposes(): boolean {
  return tf.getBackend() === 'wasm';
}

const t = (x: tf.Tensor): tf.Tensor2D => tf.transpose(x) as tf.Tensor2D;

/** tf.matMul(a, b, transposeA, transposeB) with fast gradients on every backend. */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D, transposeA = false, transposeB = false): tf.Tensor2D {
  if (!explicitTransposes()) return tf.matMul(a, b, transposeA, transposeB);
  const body = (aIn: tf.Tensor, bIn: tf.Tensor, save: tf.GradSaveFunc) => {
    const left = transposeA ? t(aIn) : (aIn as tf.Tensor2D);
    const right = transposeB ? t(bIn) : (bIn as tf.Tensor2D);
    save([left, right]);
    return {
      value: tf.matMul(left, right),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [l, r] = saved as tf.Tensor2D[];
        const dLeft = tf.matMul(dy, t(r));
        const dRight = tf.matMul(t(l), dy);
        return [transposeA ? t(dLeft) : dLeft, transposeB ? t(dRight) : dRight];
      },
    };
  };
  return tf.customGrad(body as GradBody)(a, b) as tf.Tensor2D;
}

/**
 * relu?(x W + b). The fast path's layer runs on tensorflow only: on wasm it was measured
 * no faster (CPU time per step 0.97-1.03x the reference on the three MLP cases, same
 * kernel count, since there the reference already spells out its gradient).
 */
export function dense(x: tf.Tensor2D, kernel: tf.Tensor2D, bias: tf.Tensor1D | null, relu: boolean): tf.Tensor2D {
  const fast = eagerFast() && tf.getBackend() === 'tensorflow';
  return fast ? denseFast(x, kernel, bias, relu) : denseReference(x, kernel, bias, relu);
}

/** The plain path: tf.fused.matMul, with explicit-transpose gradients on wasm. */
export function denseReference(
  x: tf.Tensor2D,
  kernel: tf.Tensor2D,
  bias: tf.Tensor1D | null,
  relu: boolean,
): tf.Tensor2D {
  const activation = relu ? 'relu' : 'linear';
  if (!explicitTransposes())
    return tf.fused.matMul({ a: x, b: kernel, bias: bias ?? undefined, activation }) as tf.Tensor2D;
  const body = (xIn: tf.Tensor, wIn: tf.Tensor, ...rest: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = rest[rest.length - 1] as tf.GradSaveFunc;
    const b = bias ? (rest[0] as tf.Tensor1D) : undefined;
    const y = tf.fused.matMul({ a: xIn as tf.Tensor2D, b: wIn as tf.Tensor2D, bias: b, activation }) as tf.Tensor2D;
    save([xIn, wIn, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [xs, w, out] = saved as tf.Tensor2D[];
        // relu'(pre-activation) is 1 exactly where the output is positive.
        const g = relu ? tf.mul(dy, tf.step(out)) : dy;
        const grads = [tf.matMul(g, t(w)), tf.matMul(t(xs), g)];
        return bias ? [...grads, tf.sum(g, 0)] : grads;
      },
    };
  };
  const f = tf.customGrad(body as GradBody);
  return (bias ? f(x, kernel, bias) : f(x, kernel)) as tf.Tensor2D;
}

/**
 * The forward kernels of a dense layer. Under a gradient tape tf.fused.matMul does not fuse
 * a relu: it falls back to matMul on rank-3 reshapes (three Reshape kernels, each also
 * uploading a shape tensor on tensorflow) plus add and relu. TensorFlow's binding cannot
 * call its own _FusedMatMul (a list-of-strings attribute), so this is three 2-d kernels.
 */
function denseForward(x: tf.Tensor2D, w: tf.Tensor2D, bias: tf.Tensor1D | undefined, relu: boolean): tf.Tensor2D {
  const pre = bias ? tf.add(tf.matMul(x, w), bias) : tf.matMul(x, w);
  return (relu ? tf.relu(pre) : pre) as tf.Tensor2D;
}

/** dy relu'(pre) from y = relu(pre): TensorFlow's ReluGrad is one kernel where tfjs-node's Step is six. */
function reluBackward(dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  if (nativeReluGradAvailable()) return nativeReluGrad(dy, y);
  return tf.mul(dy, tf.getBackend() === 'tensorflow' ? tf.sign(y) : tf.step(y));
}

/**
 * relu?(x W + b) with its gradient written out: a forward of three kernels and a
 * backward of two products, a mask and a column sum, where tfjs' own gradient of the same
 * layer on tensorflow runs ~20 (reshapes with shape uploads, a six-kernel Step). Measured
 * on mlp+bilinear, tensorflow: 399 -> 326 kernels a step from this alone, 0.8x the time.
 */
export function denseFast(x: tf.Tensor2D, kernel: tf.Tensor2D, bias: tf.Tensor1D | null, relu: boolean): tf.Tensor2D {
  const body = (xIn: tf.Tensor, wIn: tf.Tensor, ...rest: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = rest[rest.length - 1] as tf.GradSaveFunc;
    const y = denseForward(xIn as tf.Tensor2D, wIn as tf.Tensor2D, bias ? (rest[0] as tf.Tensor1D) : undefined, relu);
    save([xIn, wIn, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [xs, w, out] = saved as tf.Tensor2D[];
        const g = relu ? (reluBackward(dy, out) as tf.Tensor2D) : dy;
        const grads = [tf.matMul(g, w, false, true), tf.matMul(xs, g, true, false)];
        return bias ? [...grads, tf.sum(g, 0)] : grads;
      },
    };
  };
  const f = tf.customGrad(body as GradBody);
  return (bias ? f(x, kernel, bias) : f(x, kernel)) as tf.Tensor2D;
}
