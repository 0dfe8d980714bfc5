// A 2-d convolution with TensorFlow's 'same' padding whose gradients use only forward
// Conv2D kernels. The wasm backend registers no Conv2DBackpropFilter and its
// Conv2DBackpropInput is slow; both gradients are exact rewrites as forward convolutions.
import * as tf from '@tensorflow/tfjs';

export interface SamePadding {
  top: number;
  bottom: number;
  left: number;
  right: number;
  outH: number;
  outW: number;
}

export function samePadding(h: number, w: number, k: number, stride: number): SamePadding {
  const outH = Math.ceil(h / stride);
  const outW = Math.ceil(w / stride);
  const padH = Math.max((outH - 1) * stride + k - h, 0);
  const padW = Math.max((outW - 1) * stride + k - w, 0);
  const top = Math.floor(padH / 2);
  const left = Math.floor(padW / 2);
  return { top, bottom: padH - top, left, right: padW - left, outH, outW };
}

function hasNativeConvGrads(): boolean {
  const b = tf.getBackend();
  return tf.getKernel('Conv2DBackpropFilter', b) !== undefined && b !== 'wasm';
}

/** Inserts stride-1 zeros between the rows and columns of dy (zero upsampling). */
function upsample(dy: tf.Tensor4D, stride: number): tf.Tensor4D {
  if (stride === 1) return dy;
  const [b, h, w, c] = dy.shape;
  const e = dy.reshape([b, h, 1, w, 1, c]);
  const padded = tf.pad(e, [
    [0, 0],
    [0, 0],
    [0, stride - 1],
    [0, 0],
    [0, stride - 1],
    [0, 0],
  ]);
  const full = padded.reshape([b, h * stride, w * stride, c]);
  return full.slice([0, 0, 0, 0], [b, (h - 1) * stride + 1, (w - 1) * stride + 1, c]) as tf.Tensor4D;
}

/**
 * conv2d(x, filter, stride, 'same'). On backends with native convolution gradients
 * this is tf.conv2d; elsewhere a customGrad whose backward pass is two forward convs.
 */
export function conv2dSame(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number): tf.Tensor4D {
  if (hasNativeConvGrads()) return tf.conv2d(x, filter, stride, 'same');
  return conv2dSameRewritten(x, filter, stride);
}

export function conv2dSameRewritten(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  const [k] = filter.shape;
  const p = samePadding(h, w, k, stride);
  const body = (xIn: tf.Tensor, wIn: tf.Tensor, save: tf.GradSaveFunc) => {
    const xp = tf.pad(xIn as tf.Tensor4D, [
      [0, 0],
      [p.top, p.bottom],
      [p.left, p.right],
      [0, 0],
    ]);
    save([xp, wIn]);
    const value = tf.conv2d(xp, wIn as tf.Tensor4D, stride, 'valid');
    const gradFunc = (dyIn: tf.Tensor, saved: tf.Tensor[]) => {
      const dy = dyIn as tf.Tensor4D;
      const [xPad, wt] = saved as [tf.Tensor4D, tf.Tensor4D];
      const [b, hp, wp, ci] = xPad.shape;
      const [, , , co] = wt.shape;
      // dL/dw[kh,kw,ci,co] = sum_{b,i,j} xPad[b, i*s+kh, j*s+kw, ci] dy[b,i,j,co]:
      // a valid convolution of xPad (batch and channels swapped) by dy, dilated by s.
      const xT = xPad.transpose([3, 1, 2, 0]) as tf.Tensor4D; // [ci, hp, wp, b]
      const dyT = dy.transpose([1, 2, 0, 3]) as tf.Tensor4D; // [oh, ow, b, co]
      const gw = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', stride); // [ci, kh', kw', co]
      const dw = gw.slice([0, 0, 0, 0], [ci, k, k, co]).transpose([1, 2, 0, 3]);
      // dL/dxPad: full correlation of the zero-upsampled dy with the flipped filter.
      const up = upsample(dy, stride);
      const upPadded = tf.pad(up, [
        [0, 0],
        [k - 1, k - 1],
        [k - 1, k - 1],
        [0, 0],
      ]);
      const wFlip = tf.reverse(wt, [0, 1]).transpose([0, 1, 3, 2]) as tf.Tensor4D;
      const gx = tf.conv2d(upPadded, wFlip, 1, 'valid'); // [b, (oh-1)s+k, (ow-1)s+k, ci]
      const gxFull = tf.pad(gx, [
        [0, 0],
        [0, hp - gx.shape[1]],
        [0, wp - gx.shape[2]],
        [0, 0],
      ]);
      const dx = gxFull.slice([0, p.top, p.left, 0], [b, h, w, ci]);
      return [dx, dw];
    };
    return { value, gradFunc };
  };
  const f = tf.customGrad(body as Parameters<typeof tf.customGrad>[0]);
  return f(x, filter) as tf.Tensor4D;
}
