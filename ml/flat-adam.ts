// Adam over one flat buffer per model: the same float32 operations, in the same order,
// as tfjs' AdamOptimizer, so every parameter comes out bit for bit the same, but run once
// on a concatenation of all gradients instead of once per weight tensor. tfjs' Adam
// costs 14 kernels and 7 scalar uploads per variable (186 kernels for mlp+bilinear's 13
// variables); this costs about 14 plus a concat, a split and the reshapes of 2-d
// weights (58). Measured alone on tensorflow, 2 loaded cores, interleaved: 12.3 -> 8.3 ms.
// On wasm the concatenation and split copies cost more than they save (25 -> 41 ms), so
// the trial uses this on tensorflow only (ml/trial-state.ts).
//
// Checkpoints see the same state as tfjs' Adam: getWeights() gives the iteration count
// and then per-variable first and second moments named `<var>/m`, `<var>/v`, and the
// running beta powers are tf.Variables named as tfjs names them, which ml/adam-state.ts
// reads and restores. So a checkpoint written by either optimizer restores into either.
import * as tf from '@tensorflow/tfjs';

/** tfjs' NamedTensor, which its public index does not export. */
interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

export class MissingGradientError extends Error {}

/** Adam's scalar operands, uploaded once (tfjs' Adam converts each JS number every step). */
export type AdamConstants = Record<
  'one' | 'beta1' | 'beta2' | 'oneMinusBeta1' | 'oneMinusBeta2' | 'epsilon' | 'negLr',
  tf.Scalar
>;

export function adamConstants(learningRate: number, beta1: number, beta2: number, epsilon: number): AdamConstants {
  return tf.tidy(() => ({
    one: tf.keep(tf.scalar(1)),
    beta1: tf.keep(tf.scalar(beta1)),
    beta2: tf.keep(tf.scalar(beta2)),
    oneMinusBeta1: tf.keep(tf.scalar(1 - beta1)),
    oneMinusBeta2: tf.keep(tf.scalar(1 - beta2)),
    epsilon: tf.keep(tf.scalar(epsilon)),
    negLr: tf.keep(tf.scalar(-learningRate)),
  }));
}

/** A 1-d view of x: Reshape is a kernel (and a shape upload) on tensorflow, so 1-d tensors skip it. */
const flat = (x: tf.Tensor): tf.Tensor1D => (x.rank === 1 ? (x as tf.Tensor1D) : tf.reshape(x, [-1]));

export class FlatAdam extends tf.Optimizer {
  static get className(): string {
    return 'Adam';
  }

  /** beta1^t and beta2^t as running float32 products, named as in tfjs' AdamOptimizer. */
  readonly accBeta1: tf.Variable;
  readonly accBeta2: tf.Variable;
  private m: tf.Variable | null = null;
  private v: tf.Variable | null = null;
  /** The variables m and v cover, in order, fixed by the first update (or a restore). */
  private names: string[] = [];
  private readonly c: AdamConstants;

  constructor(
    private readonly learningRate: number,
    private readonly beta1: number,
    private readonly beta2: number,
    private readonly epsilon: number,
  ) {
    super();
    this.accBeta1 = tf.tidy(() => tf.variable(tf.scalar(beta1), false));
    this.accBeta2 = tf.tidy(() => tf.variable(tf.scalar(beta2), false));
    this.c = adamConstants(learningRate, beta1, beta2, epsilon);
  }

  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const named = Array.isArray(variableGradients)
      ? variableGradients
      : Object.entries(variableGradients).map(([name, tensor]) => ({ name, tensor }));
    const missing = named.find((g) => g.tensor == null);
    // tfjs' Adam leaves such a variable's moments alone; one flat buffer cannot.
    if (missing)
      throw new MissingGradientError(
        `no gradient for ${missing.name}: the flat Adam updates every variable it was given`,
      );
    const vars = named.map((g) => tf.engine().registeredVariables[g.name]);
    if (!this.m)
      this.allocate(
        named.map((g) => g.name),
        vars,
      );
    else if (named.some((g, i) => g.name !== this.names[i]))
      throw new Error('FlatAdam: the variable list changed between steps');
    tf.tidy(() =>
      this.update(
        vars,
        named.map((g) => g.tensor),
      ),
    );
    this.incrementIterations();
  }

  private allocate(names: string[], vars: tf.Variable[]): void {
    const size = vars.reduce((n, v) => n + v.size, 0);
    this.names = names;
    this.m = tf.tidy(() => tf.variable(tf.zeros([size]), false));
    this.v = tf.tidy(() => tf.variable(tf.zeros([size]), false));
  }

  /** tfjs' AdamOptimizer.applyGradients, operation for operation, on the flat buffers. */
  private update(vars: tf.Variable[], grads: tf.Tensor[]): void {
    const c = this.c;
    const m = this.m!;
    const v = this.v!;
    const g = tf.concat(grads.map(flat));
    const newM = tf.add(tf.mul(m, c.beta1), tf.mul(g, c.oneMinusBeta1));
    const newV = tf.add(tf.mul(v, c.beta2), tf.mul(tf.square(g), c.oneMinusBeta2));
    const mHat = tf.div(newM, tf.sub(c.one, this.accBeta1));
    const vHat = tf.div(newV, tf.sub(c.one, this.accBeta2));
    m.assign(newM);
    v.assign(newV);
    const step = tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), c.epsilon)), c.negLr);
    const values = tf.split(
      tf.add(step, tf.concat(vars.map(flat))),
      vars.map((x) => x.size),
    );
    vars.forEach((x, i) => x.assign(x.rank === 1 ? values[i] : tf.reshape(values[i], x.shape)));
    this.accBeta1.assign(tf.mul(this.accBeta1, c.beta1));
    this.accBeta2.assign(tf.mul(this.accBeta2, c.beta2));
  }

  /** As tfjs' Adam: the iteration count, then every variable's m, then every variable's v (fresh tensors). */
  override async getWeights(): Promise<NamedTensor[]> {
    const iter = await this.saveIterations();
    if (!this.m || !this.v) return [iter];
    const named = (parts: tf.Tensor[], suffix: string) =>
      parts.map((tensor, i) => ({ name: `${this.names[i]}/${suffix}`, tensor }));
    return [iter, ...named(this.parts(this.m), 'm'), ...named(this.parts(this.v), 'v')];
  }

  /** A flat moment buffer cut back into one tensor per variable, in update order (fresh tensors). */
  private parts(buffer: tf.Variable): tf.Tensor[] {
    const vars = this.names.map((n) => tf.engine().registeredVariables[n]);
    return tf.tidy(() =>
      tf
        .split(
          buffer as tf.Tensor1D,
          vars.map((x) => x.size),
        )
        .map((p, i) => tf.reshape(p, vars[i].shape)),
    );
  }

  /** Replaces the moment buffers with these per-variable moments, in update order. */
  private setMoments(names: string[], m: tf.Tensor[], v: tf.Tensor[]): void {
    this.m?.dispose();
    this.v?.dispose();
    this.names = [...names];
    this.m = tf.tidy(() => tf.variable(tf.concat(m.map(flat)), false));
    this.v = tf.tidy(() => tf.variable(tf.concat(v.map(flat)), false));
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weightValues);
    tf.tidy(() => {
      // As tfjs' Adam does; ml/adam-state.ts then puts back the exact running products.
      this.accBeta1.assign(tf.pow(this.beta1, this.iterations + 1));
      this.accBeta2.assign(tf.pow(this.beta2, this.iterations + 1));
    });
    this.m?.dispose();
    this.v?.dispose();
    this.m = this.v = null;
    const count = rest.length / 2;
    if (count === 0) return;
    // `<var>/m` in the order the moments were written, which is the order of the update.
    this.setMoments(
      rest.slice(0, count).map((w) => w.name.replace(/\/m$/, '')),
      rest.slice(0, count).map((w) => w.tensor),
      rest.slice(count).map((w) => w.tensor),
    );
  }

  /**
   * The state as tensors, synchronously, for a caller that trains elsewhere (a graph
   * session, ml/graph/graph-step.ts): each variable's moments in update order (null before
   * the first update), the iteration count and the running beta powers. The caller owns
   * the moment tensors.
   */
  exportState(): { names: string[]; m: tf.Tensor[] | null; v: tf.Tensor[] | null; iterations: number } {
    if (!this.m || !this.v) return { names: [], m: null, v: null, iterations: this.iterations };
    return { names: [...this.names], m: this.parts(this.m), v: this.parts(this.v), iterations: this.iterations };
  }

  /**
   * Takes the state exportState() describes back, with the beta powers as they ran (no pow
   * recomputation); without them the running powers stay as they are.
   */
  importState(s: {
    names: string[];
    m: tf.Tensor[];
    v: tf.Tensor[];
    iterations: number;
    beta1Power?: tf.Tensor;
    beta2Power?: tf.Tensor;
  }): void {
    this.setMoments(s.names, s.m, s.v);
    this.iterations_ = s.iterations;
    if (s.beta1Power) this.accBeta1.assign(s.beta1Power);
    if (s.beta2Power) this.accBeta2.assign(s.beta2Power);
  }

  getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }

  override dispose(): void {
    this.accBeta1.dispose();
    this.accBeta2.dispose();
    this.m?.dispose();
    this.v?.dispose();
    tf.dispose(Object.values(this.c));
  }
}
