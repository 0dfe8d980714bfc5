// The operations a study model needs, each a TensorFlow node and the rule for its
// gradient, written to run the same kernels in the same order as the tfjs fast path
// (ml/ops.ts, ml/estimators.ts), so both paths give the same numbers to float rounding.
import { Graph, GraphError, broadcastShape, sizeOf, type Sym } from './graph.js';

const T = { T: { type: 'float32' as const } };
const f32 = (shape: readonly number[]) => [{ shape, dtype: 'float32' as const }];

/** The axes of `out` along which `shape` was broadcast, for summing a gradient back. */
function broadcastAxes(shape: readonly number[], out: readonly number[]): number[] {
  const lead = out.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < out.length; i++) if (i < lead || (shape[i - lead] === 1 && out[i] !== 1)) axes.push(i);
  return axes;
}

/** A gradient of the broadcast shape summed back to an operand's shape. */
function unbroadcast(g: Graph, grad: Sym, shape: readonly number[]): Sym {
  const axes = broadcastAxes(shape, grad.shape);
  if (axes.length === 0) return grad;
  const summed = sum(g, grad, axes);
  return summed.shape.length === shape.length && summed.shape.every((d, i) => d === shape[i])
    ? summed
    : reshape(g, summed, shape);
}

export function reshape(g: Graph, x: Sym, shape: readonly number[]): Sym {
  if (sizeOf(shape) !== sizeOf(x.shape)) throw new GraphError(`cannot reshape [${x.shape}] to [${shape}]`);
  return g.node('Reshape', [x, g.intConstant(shape)], { ...T, Tshape: { type: 'int32' } }, f32(shape), {
    grad: (dy) => [reshape(g, dy, x.shape)],
  })[0];
}

export function matMul(g: Graph, a: Sym, b: Sym, transposeA = false, transposeB = false): Sym {
  const [m, ka] = transposeA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
  const [kb, n] = transposeB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
  if (ka !== kb)
    throw new GraphError(`matMul of [${a.shape}] and [${b.shape}] (transposes ${transposeA}, ${transposeB})`);
  const attrs = { ...T, transpose_a: { b: transposeA }, transpose_b: { b: transposeB } };
  return g.node('MatMul', [a, b], attrs, f32([m, n]), {
    grad: (dy) => {
      if (!transposeA && !transposeB) return [matMul(g, dy, b, false, true), matMul(g, a, dy, true, false)];
      if (!transposeA && transposeB) return [matMul(g, dy, b), matMul(g, dy, a, true, false)];
      if (transposeA && !transposeB) return [matMul(g, b, dy, false, true), matMul(g, a, dy)];
      return [matMul(g, b, dy, true, true), matMul(g, dy, a, true, true)];
    },
  })[0];
}

function binary(g: Graph, op: 'AddV2' | 'Sub' | 'Mul', a: Sym, b: Sym): Sym {
  const out = broadcastShape(a.shape, b.shape);
  return g.node(op, [a, b], T, f32(out), {
    grad: (dy) => {
      if (op === 'AddV2') return [unbroadcast(g, dy, a.shape), unbroadcast(g, dy, b.shape)];
      if (op === 'Sub') return [unbroadcast(g, dy, a.shape), unbroadcast(g, neg(g, dy), b.shape)];
      return [unbroadcast(g, mul(g, dy, b), a.shape), unbroadcast(g, mul(g, dy, a), b.shape)];
    },
  })[0];
}

export const add = (g: Graph, a: Sym, b: Sym) => binary(g, 'AddV2', a, b);
export const sub = (g: Graph, a: Sym, b: Sym) => binary(g, 'Sub', a, b);
export const mul = (g: Graph, a: Sym, b: Sym) => binary(g, 'Mul', a, b);

export function neg(g: Graph, x: Sym): Sym {
  return g.node('Neg', [x], T, f32(x.shape), { grad: (dy) => [neg(g, dy)] })[0];
}

export function exp(g: Graph, x: Sym): Sym {
  const y: Sym = g.node('Exp', [x], T, f32(x.shape), { grad: (dy) => [mul(g, dy, y)] })[0];
  return y;
}

export function log(g: Graph, x: Sym): Sym {
  return g.node('Log', [x], T, f32(x.shape), {
    grad: (dy) => [g.node('RealDiv', [dy, x], T, f32(x.shape))[0]],
  })[0];
}

/** |x|; its gradient is dy where x > 0 and -dy elsewhere, as tfjs' (a step with alpha -1). */
export function abs(g: Graph, x: Sym): Sym {
  return g.node('Abs', [x], T, f32(x.shape), {
    grad: (dy) => {
      const positive = g.node('Greater', [x, g.constant(0)], T, [{ shape: x.shape, dtype: 'bool' }])[0];
      const sign = g.node('SelectV2', [positive, g.constant(1), g.constant(-1)], T, f32(x.shape))[0];
      return [mul(g, dy, sign)];
    },
  })[0];
}

export function relu(g: Graph, x: Sym): Sym {
  const y: Sym = g.node('Relu', [x], T, f32(x.shape), {
    grad: (dy) => [g.node('ReluGrad', [dy, y], T, f32(x.shape))[0]],
  })[0];
  return y;
}

function reduced(shape: readonly number[], axes: readonly number[], keepDims: boolean): number[] {
  return keepDims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

/** dy of a reduction, reshaped with the reduced axes kept and broadcast back to `shape`. */
function spread(g: Graph, dy: Sym, shape: readonly number[], axes: readonly number[]): Sym {
  const kept = reshape(g, dy, reduced(shape, axes, true));
  return g.node('BroadcastTo', [kept, g.intConstant(shape)], { ...T, Tidx: { type: 'int32' } }, f32(shape))[0];
}

function reduction(g: Graph, op: 'Sum' | 'Mean' | 'Max', x: Sym, axes: readonly number[], keepDims: boolean): Sym {
  const attrs = { ...T, Tidx: { type: 'int32' as const }, keep_dims: { b: keepDims } };
  const n = axes.reduce((p, a) => p * x.shape[a], 1);
  const y: Sym = g.node(op, [x, g.intConstant(axes)], attrs, f32(reduced(x.shape, axes, keepDims)), {
    grad: (dy) => {
      const back = spread(g, dy, x.shape, axes);
      if (op === 'Sum') return [back];
      if (op === 'Mean') return [g.node('RealDiv', [back, g.constant(n)], T, f32(x.shape))[0]];
      const hit = g.node('Equal', [x, spread(g, y, x.shape, axes)], { ...T, incompatible_shape_error: { b: true } }, [
        { shape: x.shape, dtype: 'bool' },
      ])[0];
      const mask = g.node(
        'Cast',
        [hit],
        { SrcT: { type: 'bool' }, DstT: { type: 'float32' }, Truncate: { b: false } },
        f32(x.shape),
      )[0];
      return [mul(g, back, mask)];
    },
  })[0];
  return y;
}

export const sum = (g: Graph, x: Sym, axes: readonly number[], keepDims = false) =>
  reduction(g, 'Sum', x, axes, keepDims);
export const mean = (g: Graph, x: Sym, axes: readonly number[], keepDims = false) =>
  reduction(g, 'Mean', x, axes, keepDims);
export const max = (g: Graph, x: Sym, axes: readonly number[], keepDims = false) =>
  reduction(g, 'Max', x, axes, keepDims);

/** tfjs' logSumExp, op for op: max + log(sum(exp(x - max))). */
export function logSumExp(g: Graph, x: Sym, axis: number): Sym {
  const xMax = max(g, x, [axis], true);
  const c = sum(g, exp(g, sub(g, x, xMax)), [axis]);
  const d = log(g, c);
  return add(g, reshape(g, xMax, d.shape), d);
}

/** Columns [begin, begin + size) of a 2-d x; its gradient pads dy back with zeros. */
export function sliceColumns(g: Graph, x: Sym, begin: number, size: number): Sym {
  const [rows, cols] = x.shape;
  return g.node(
    'Slice',
    [x, g.intConstant([0, begin]), g.intConstant([rows, size])],
    { ...T, Index: { type: 'int32' } },
    f32([rows, size]),
    {
      grad: (dy) => [
        g.node(
          'Pad',
          [dy, g.intMatrix([0, 0, begin, cols - begin - size], [2, 2])],
          { ...T, Tpaddings: { type: 'int32' } },
          f32(x.shape),
        )[0],
      ],
    },
  )[0];
}

/** [a, b] side by side (2-d); its gradient is dy's two column blocks. */
export function concatColumns(g: Graph, a: Sym, b: Sym): Sym {
  const [rows, ca] = a.shape;
  const cb = b.shape[1];
  return g.node(
    'ConcatV2',
    [a, b, g.intScalar(1)],
    { ...T, N: { i: 2 }, Tidx: { type: 'int32' } },
    f32([rows, ca + cb]),
    {
      grad: (dy) => [sliceColumns(g, dy, 0, ca), sliceColumns(g, dy, ca, cb)],
    },
  )[0];
}

/** x's columns in the order `perm` gives; its gradient gathers dy by the inverse permutation. */
export function permuteColumns(g: Graph, x: Sym, perm: ArrayLike<number>): Sym {
  const inverse = new Int32Array(perm.length);
  for (let j = 0; j < perm.length; j++) inverse[perm[j]] = j;
  const gather = (v: Sym, order: ArrayLike<number>) =>
    g.node(
      'GatherV2',
      [v, g.intConstant(Array.from(order)), g.intScalar(1)],
      { Tparams: { type: 'float32' }, Tindices: { type: 'int32' }, Taxis: { type: 'int32' }, batch_dims: { i: 0 } },
      f32(v.shape),
    )[0];
  const y = gather(x, perm);
  return g.node('Identity', [y], T, f32(x.shape), { grad: (dy) => [gather(dy, inverse)], inputs: [x] })[0];
}

/** log(1 + e^x); its gradient dy * sigmoid(x), as tfjs writes it. */
export function softplus(g: Graph, x: Sym): Sym {
  return g.node('Softplus', [x], T, f32(x.shape), {
    grad: (dy) => [mul(g, dy, g.node('Sigmoid', [x], T, f32(x.shape))[0])],
  })[0];
}

/** a / b with broadcasting; its gradients as tfjs writes them (b's summed before dividing by b^2). */
export function div(g: Graph, a: Sym, b: Sym): Sym {
  const out = broadcastShape(a.shape, b.shape);
  return g.node('RealDiv', [a, b], T, f32(out), {
    grad: (dy) => {
      const da = unbroadcast(g, g.node('RealDiv', [dy, b], T, f32(out))[0], a.shape);
      const summed = unbroadcast(g, mul(g, dy, a), b.shape);
      const db = neg(g, g.node('RealDiv', [summed, square(g, b)], T, f32(b.shape))[0]);
      return [da, db];
    },
  })[0];
}

/** x^2; its gradient dy * (x * 2), as tfjs writes it. */
export function square(g: Graph, x: Sym): Sym {
  return g.node('Square', [x], T, f32(x.shape), { grad: (dy) => [mul(g, dy, mul(g, x, g.constant(2)))] })[0];
}

/** sqrt(x); its gradient dy / (sqrt(x) * 2), as tfjs writes it. */
export function sqrt(g: Graph, x: Sym): Sym {
  const y: Sym = g.node('Sqrt', [x], T, f32(x.shape), {
    grad: (dy) => [g.node('RealDiv', [dy, mul(g, y, g.constant(2))], T, f32(x.shape))[0]],
  })[0];
  return y;
}

/**
 * conv2d(x, filter) with TensorFlow's 'same' padding in NHWC, the Conv2D node tfjs-node
 * runs; its gradients are the Conv2DBackpropInput and Conv2DBackpropFilter nodes that
 * tfjs' gradient of Conv2D runs there.
 */
export function conv2dSame(g: Graph, x: Sym, filter: Sym, stride: number): Sym {
  const [b, h, w] = x.shape;
  const co = filter.shape[3];
  const attrs = {
    ...T,
    strides: { ints: [1, stride, stride, 1] },
    padding: { s: 'SAME' },
    data_format: { s: 'NHWC' },
    use_cudnn_on_gpu: { b: true },
    dilations: { ints: [1, 1, 1, 1] },
  };
  return g.node('Conv2D', [x, filter], attrs, f32([b, Math.ceil(h / stride), Math.ceil(w / stride), co]), {
    grad: (dy) => [
      g.node('Conv2DBackpropInput', [g.intConstant(x.shape), filter, dy], attrs, f32(x.shape))[0],
      g.node('Conv2DBackpropFilter', [x, g.intConstant(filter.shape), dy], attrs, f32(filter.shape))[0],
    ],
  })[0];
}
