// Adam over a seed stack's variables ([S, ...] each): one buffer for the first and one
// for the second moments, as ml/flat-adam.ts, but every seed keeps its own bias
// corrections beta^t, t its own step. So seeds that entered the stack at different steps
// (a trial resumed from its checkpoint beside a fresh one) each follow the Adam of their
// solo trial: the same float32 operations on each element. The buffers are [S, P], a row
// per seed (P: one seed's parameters), so the per-seed (1 - beta^t) divide by
// broadcasting; gathering them to a flat buffer's elements cost 30-40 ms a step.
import * as tf from '@tensorflow/tfjs';
import { adamConstants, type AdamConstants } from './flat-adam.js';

/** [S, ...] as [S, n]: a seed's row. */
const rows = (x: tf.Tensor): tf.Tensor2D => (x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [x.shape[0], -1]));

/** One seed's Adam state: moments in its variables' solo shapes, and its beta powers. */
export interface SeedMoments {
  m: tf.Tensor[];
  v: tf.Tensor[];
  /** beta1^(t+1), beta2^(t+1) as float32 running products (what tfjs' Adam holds). */
  powers: [number, number];
}

export class StackAdam {
  private readonly m: tf.Variable;
  private readonly v: tf.Variable;
  private readonly accBeta1: tf.Variable;
  private readonly accBeta2: tf.Variable;
  /** One seed's size of each variable: the columns of the buffers it owns. */
  private readonly widths: number[];
  private readonly c: AdamConstants;

  /** `seeds[i]`: seed i's state, or null for a fresh start (zero moments, step 0). */
  constructor(
    private readonly vars: readonly tf.Variable[],
    seeds: readonly (SeedMoments | null)[],
    learningRate: number,
    beta1 = 0.9,
    beta2 = 0.999,
    epsilon = 1e-7,
  ) {
    const s = seeds.length;
    this.widths = vars.map((x) => x.size / s);
    const moments = (pick: (m: SeedMoments) => tf.Tensor[]) =>
      tf.tidy(() =>
        tf.variable(
          tf.stack(
            seeds.map((m) => tf.concat(this.widths.map((w, k) => (m ? tf.reshape(pick(m)[k], [w]) : tf.zeros([w]))))),
          ),
          false,
        ),
      );
    this.m = moments((m) => m.m);
    this.v = moments((m) => m.v);
    this.accBeta1 = tf.variable(tf.tensor1d(seeds.map((m) => (m ? m.powers[0] : beta1))), false);
    this.accBeta2 = tf.variable(tf.tensor1d(seeds.map((m) => (m ? m.powers[1] : beta2))), false);
    this.c = adamConstants(learningRate, beta1, beta2, epsilon);
  }

  /** tfjs' AdamOptimizer.applyGradients, operation for operation, each seed with its own beta powers. */
  update(grads: readonly tf.Tensor[]): void {
    const c = this.c;
    tf.tidy(() => {
      const g = tf.concat(grads.map(rows), 1);
      const newM = tf.add(tf.mul(this.m, c.beta1), tf.mul(g, c.oneMinusBeta1));
      const newV = tf.add(tf.mul(this.v, c.beta2), tf.mul(tf.square(g), c.oneMinusBeta2));
      const column = (acc: tf.Variable) => tf.reshape(tf.sub(c.one, acc), [-1, 1]);
      const mHat = tf.div(newM, column(this.accBeta1));
      const vHat = tf.div(newV, column(this.accBeta2));
      this.m.assign(newM);
      this.v.assign(newV);
      const step = tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), c.epsilon)), c.negLr);
      const values = tf.split(tf.add(step, tf.concat(this.vars.map(rows), 1)), this.widths, 1);
      this.vars.forEach((x, i) => x.assign(tf.reshape(values[i], x.shape)));
      this.accBeta1.assign(tf.mul(this.accBeta1, c.beta1));
      this.accBeta2.assign(tf.mul(this.accBeta2, c.beta2));
    });
  }

  /** Seed i's moments (shaped as the stacked variables without their seed axis) and beta powers. */
  async momentsOf(i: number): Promise<SeedMoments> {
    const row = (buffer: tf.Variable) =>
      tf.tidy(() =>
        tf
          .split(tf.reshape(tf.slice(buffer, [i], [1]), [-1]), this.widths)
          .map((part, k) => tf.reshape(part, this.vars[k].shape.slice(1))),
      );
    const [b1, b2] = await Promise.all([this.accBeta1.data(), this.accBeta2.data()]);
    return { m: row(this.m), v: row(this.v), powers: [b1[i], b2[i]] };
  }

  dispose(): void {
    tf.dispose([this.m, this.v, this.accBeta1, this.accBeta2, ...Object.values(this.c)]);
  }
}
