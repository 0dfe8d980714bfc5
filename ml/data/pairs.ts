// Sources of (view 1, view 2) training pairs. Their state is plain data so a checkpoint
// can carry the exact position in the data order and noise stream.
import { Rng, type RngState } from '../rng.js';
import { loadMnist, extractView, VIEW_PIXELS, type ViewName, type MnistSplit } from './mnist.js';

export interface PairBatch {
  x: Float32Array;
  y: Float32Array;
  /** Labels of the rows, where the data has them (MNIST). */
  labels?: Uint8Array;
  rows: number;
}

export interface PairSource {
  readonly dimX: number;
  readonly dimY: number;
  next(rows: number): PairBatch;
  state(): unknown;
  restore(state: unknown): void;
}

/**
 * The batch `source` will hand out next, without taking it: the source is put back in the
 * state it was in, so the training stream (and a resume from a checkpoint) is unchanged.
 */
export function peekBatch(source: PairSource, rows: number): PairBatch {
  const saved = source.state();
  const batch = source.next(rows);
  source.restore(saved);
  return batch;
}

export function addNoise(values: Float32Array, std: number, rng: Rng): void {
  if (std === 0) return;
  for (let i = 0; i < values.length; i++) values[i] += std * rng.normal();
}

/**
 * One noise tensor of the views' shape added to both views, as the authors' notebook
 * does: the noise is information the two views share, which changes what maximising
 * I(g1(x1); g2(x2)) rewards. Views of different shapes cannot share it (the notebook
 * asserts the same).
 */
export function addSharedNoise(x: Float32Array, y: Float32Array, std: number, rng: Rng): void {
  if (std === 0) return;
  if (x.length !== y.length)
    throw new RangeError(`shared noise needs views of one shape, got ${x.length} and ${y.length} values`);
  for (let i = 0; i < x.length; i++) {
    const e = std * rng.normal();
    x[i] += e;
    y[i] += e;
  }
}

interface MnistPairState {
  epochStart: RngState;
  pos: number;
  epoch: number;
  noise: RngState;
}

/** Shuffled, repeated pass over the training split, as `shuffle().repeat().batch()`. */
export class MnistPairSource implements PairSource {
  readonly dimX = VIEW_PIXELS;
  readonly dimY = VIEW_PIXELS;
  private readonly xs: Float32Array;
  private readonly ys: Float32Array;
  private readonly labels: Uint8Array;
  private readonly n: number;
  private order!: Rng;
  private epochStart!: RngState;
  private perm!: Int32Array;
  private pos = 0;
  private epoch = 0;
  private noiseRng: Rng;

  constructor(
    split: MnistSplit,
    view1: ViewName,
    view2: ViewName,
    private readonly noise: number,
    seed: number,
  ) {
    this.xs = extractView(split, view1);
    this.ys = extractView(split, view2);
    this.labels = split.labels;
    this.n = split.n;
    this.startEpoch(new Rng(seed, 1).state());
    this.noiseRng = new Rng(seed, 2);
  }

  static train(view1: ViewName, view2: ViewName, noise: number, seed: number): MnistPairSource {
    return new MnistPairSource(loadMnist().train, view1, view2, noise, seed);
  }

  private startEpoch(state: RngState): void {
    this.epochStart = state;
    this.order = Rng.fromState(state);
    this.perm = this.order.permutation(this.n);
    this.pos = 0;
  }

  next(rows: number): PairBatch {
    const d = VIEW_PIXELS;
    const x = new Float32Array(rows * d);
    const y = new Float32Array(rows * d);
    const labels = new Uint8Array(rows);
    for (let r = 0; r < rows; r++) {
      if (this.pos === this.n) {
        this.epoch++;
        this.startEpoch(this.order.state());
      }
      const i = this.perm[this.pos++];
      x.set(this.xs.subarray(i * d, (i + 1) * d), r * d);
      y.set(this.ys.subarray(i * d, (i + 1) * d), r * d);
      labels[r] = this.labels[i];
    }
    addSharedNoise(x, y, this.noise, this.noiseRng);
    return { x, y, labels, rows };
  }

  state(): MnistPairState {
    return { epochStart: this.epochStart, pos: this.pos, epoch: this.epoch, noise: this.noiseRng.state() };
  }

  restore(state: unknown): void {
    const s = state as MnistPairState;
    this.startEpoch(s.epochStart);
    this.pos = s.pos;
    this.epoch = s.epoch;
    this.noiseRng = Rng.fromState(s.noise);
  }
}

/**
 * The non-i.i.d. study's 2-d Gaussian: (x_i, y_i) = Z + eps_i with Z shared by the
 * whole batch when `noniid`, or drawn per row (i.i.d. samples of the same marginal).
 */
export const GAUSSIAN_COV_Z: [[number, number], [number, number]] = [
  [1, -0.5],
  [-0.5, 1],
];
export const GAUSSIAN_COV_EPS: [[number, number], [number, number]] = [
  [1, 0.9],
  [0.9, 1],
];

/** True MI of the (x, y) marginal: -0.5 log(1 - rho^2) of the summed covariance. */
export function gaussianTrueMi(): number {
  const c = [0, 1].map((i) => [0, 1].map((j) => GAUSSIAN_COV_Z[i][j] + GAUSSIAN_COV_EPS[i][j]));
  const rho = c[0][1] / Math.sqrt(c[0][0] * c[1][1]);
  return -0.5 * Math.log(1 - rho * rho);
}

function sample2d(cov: [[number, number], [number, number]], rng: Rng): [number, number] {
  // Cholesky of a 2x2 covariance.
  const l11 = Math.sqrt(cov[0][0]);
  const l21 = cov[1][0] / l11;
  const l22 = Math.sqrt(cov[1][1] - l21 * l21);
  const a = rng.normal();
  const b = rng.normal();
  return [l11 * a, l21 * a + l22 * b];
}

export class GaussianPairSource implements PairSource {
  readonly dimX = 1;
  readonly dimY = 1;
  private rng: Rng;

  constructor(
    private readonly noniid: boolean,
    seed: number,
    stream = 1,
  ) {
    this.rng = new Rng(seed, stream);
  }

  next(rows: number): PairBatch {
    const x = new Float32Array(rows);
    const y = new Float32Array(rows);
    const shared = this.noniid ? sample2d(GAUSSIAN_COV_Z, this.rng) : null;
    for (let r = 0; r < rows; r++) {
      const z = shared ?? sample2d(GAUSSIAN_COV_Z, this.rng);
      const e = sample2d(GAUSSIAN_COV_EPS, this.rng);
      x[r] = z[0] + e[0];
      y[r] = z[1] + e[1];
    }
    return { x, y, rows };
  }

  state(): RngState {
    return this.rng.state();
  }

  restore(state: unknown): void {
    this.rng = Rng.fromState(state as RngState);
  }
}
