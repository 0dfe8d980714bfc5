// TensorFlow's ReluGrad, which tfjs-node does not expose, registered as a tfjs kernel of
// the 'tensorflow' backend so the engine tracks (and tf.profile counts) it like any other.
// It is dy where the relu output is positive, else 0, in one kernel, where tfjs needs
// Sign (or Step, six kernels on tfjs-node) and Multiply; the result is the same bit for
// bit. On the concat critic's 128 x 128 x 200 pair tensor that is a pass saved each step.
//
// TensorFlow's 2-d MatMul was measured too (25-30% faster than the BatchMatMulV2 that
// tfjs runs for every product: 0.34 vs 0.48 ms for 128x392 by 392x300), but its results
// differ from BatchMatMulV2's by summation order for some shapes, which near-zero-initialised
// models (mlp-shortcut) amplify to 1.3e-4 of the loss in 50 steps; it is not used.
import * as tf from '@tensorflow/tfjs';

/** The parts of tfjs-node's NodeJSKernelBackend used here (it is an optional dependency). */
interface NativeBackend {
  binding: { TF_ATTR_TYPE: number; TF_FLOAT: number };
  executeSingleOutput(
    name: string,
    attrs: { name: string; type: number; value: unknown }[],
    inputs: tf.TensorInfo[],
  ): tf.Tensor;
}

const RELU_GRAD = 'MirlReluGrad';
let registered: boolean | null = null;

function register(): boolean {
  const be = tf.findBackend('tensorflow') as unknown as Partial<NativeBackend> | null;
  if (!be || typeof be.executeSingleOutput !== 'function' || !be.binding) return false;
  const native = be as NativeBackend;
  const type = { name: 'T', type: native.binding.TF_ATTR_TYPE, value: native.binding.TF_FLOAT };
  tf.registerKernel({
    kernelName: RELU_GRAD,
    backendName: 'tensorflow',
    kernelFunc: ({ inputs }) => native.executeSingleOutput('ReluGrad', [type], [inputs.dy!, inputs.y!]),
  });
  return true;
}

/** Whether nativeReluGrad can run now: on the tensorflow backend, once registered. */
export function nativeReluGradAvailable(): boolean {
  if (tf.getBackend() !== 'tensorflow') return false;
  registered ??= register();
  return registered;
}

/** dy where y = relu(pre) > 0, else 0; call only where nativeReluGradAvailable(). */
export function nativeReluGrad(dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(RELU_GRAD, { dy, y }) as tf.Tensor;
}
