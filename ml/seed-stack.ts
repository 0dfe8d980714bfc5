// S seeds of one configuration trained as one computation: every weight stacked along a
// leading seed axis, every product batched ([S, B, n] x [S, n, m]), one loss summed over
// the seeds so each seed's weights get exactly its own gradient, one Adam over it all.
// Each seed keeps its own initial weights (drawn by the solo trial of that seed) and its
// own data stream, so seed s trains the trial it would train alone, to float rounding
// (test/unit/ml-seed-stack.test.ts). Built for MLP encoders and the critics whose pair
// scores are products (inner, bilinear, separable): issue 13 asks whether amortising a
// step's dispatch over S trials buys trials per hour; `mirl bench --seed-stack S` measures it.
import * as tf from '@tensorflow/tfjs';
import type { TrialConfig } from './config.js';
import { InfomaxTrial } from './infomax-trial.js';
import { MnistPairSource } from './data/pairs.js';
import { getEstimator, objectiveLoss } from './estimators.js';
import { FlatAdam } from './flat-adam.js';
import { nativeReluGrad, nativeReluGradAvailable } from './native-kernels.js';
import { stepPath } from './step-path.js';
import { encodeCheckpoint, decodeCheckpoint, CheckpointCorruptError, type NamedArray } from './checkpoint.js';
import { adamBetaPowers, restoreAdamBetaPowers } from './adam-state.js';
import { betaPowersName, optimizerEntryName } from './trial-state.js';

export class SeedStackError extends Error {}

export const STACKABLE_CRITICS = ['inner', 'bilinear', 'separable'] as const;

type GradBody = Parameters<typeof tf.customGrad>[0];

/** Why these configurations cannot train as one stack, or null when they can. */
export function stackRefusal(cfgs: readonly TrialConfig[]): string | null {
  if (cfgs.length === 0) return 'no seeds to stack';
  const [first] = cfgs;
  const { seed: _seed, ...shared } = first;
  for (const c of cfgs) {
    const { seed: _s, ...rest } = c;
    if (JSON.stringify(rest) !== JSON.stringify(shared)) return 'the stacked trials differ in more than their seed';
  }
  if (new Set(cfgs.map((c) => c.seed)).size !== cfgs.length) return 'a seed appears twice';
  if (first.procedure !== 'infomax' || first.data !== 'mnist') return 'only infomax trials on MNIST stack';
  if (first.encoder !== 'mlp') return `encoder "${first.encoder}" does not stack (only "mlp")`;
  if (!(STACKABLE_CRITICS as readonly string[]).includes(first.critic))
    return `critic "${first.critic}" does not stack (only ${STACKABLE_CRITICS.join(', ')})`;
  return null;
}

/** a x b (transposing b) on a seed axis; wasm multiplies transposed operands ~18x slower, so it transposes first. */
function bmm(a: tf.Tensor3D, b: tf.Tensor3D, transposeA = false, transposeB = false): tf.Tensor3D {
  if (tf.getBackend() !== 'wasm') return tf.matMul(a, b, transposeA, transposeB);
  const t = (x: tf.Tensor3D) => tf.transpose(x, [0, 2, 1]) as tf.Tensor3D;
  return tf.matMul(transposeA ? t(a) : a, transposeB ? t(b) : b);
}

/** dy where y = relu(pre) > 0: TensorFlow's one-kernel ReluGrad on the native fast path. */
function reluBackward(dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  if (stepPath() === 'fast' && nativeReluGradAvailable()) return nativeReluGrad(dy, y);
  return tf.mul(dy, tf.step(y));
}

/** relu?(x W + b) for every seed at once, its gradient written out as ml/ops.ts does for one. */
function stackedDense(x: tf.Tensor3D, w: tf.Variable, b: tf.Variable | null, relu: boolean): tf.Tensor3D {
  const body = (xIn: tf.Tensor, wIn: tf.Tensor, ...rest: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = rest[rest.length - 1] as tf.GradSaveFunc;
    const prod = bmm(xIn as tf.Tensor3D, wIn as tf.Tensor3D);
    const pre = b ? tf.add(prod, rest[0] as tf.Tensor) : prod;
    const y = relu ? tf.relu(pre) : pre;
    save([xIn, wIn, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws, out] = saved as tf.Tensor3D[];
        const g = (relu ? reluBackward(dy, out) : dy) as tf.Tensor3D;
        const grads = [bmm(g, ws, false, true), bmm(xs, g, true, false)];
        return b ? [...grads, tf.sum(g, 1, true)] : grads;
      },
    };
  };
  const f = tf.customGrad(body as GradBody);
  return (b ? f(x, w, b) : f(x, w)) as tf.Tensor3D;
}

let stackCount = 0;

export class SeedStack {
  readonly seeds: number[];
  /** Solo parameter name -> the stacked variable ([S, ...shape]; a bias [S, 1, n]). */
  private readonly stacked = new Map<string, tf.Variable>();
  private readonly soloShapes = new Map<string, number[]>();
  private readonly sources: MnistPairSource[];
  private readonly optimizer: tf.Optimizer;
  private readonly dim: number;
  step = 0;

  constructor(readonly cfgs: readonly TrialConfig[]) {
    const refusal = stackRefusal(cfgs);
    if (refusal) throw new SeedStackError(refusal);
    this.seeds = cfgs.map((c) => c.seed);
    this.sources = cfgs.map((c) => MnistPairSource.train(c.view1, c.view2, c.noise, c.seed));
    this.dim = this.sources[0].dimX;
    // Each seed's solo trial draws its initial weights exactly as a trial of that seed
    // would; one at a time, since a trial's variable names are global to the engine (so a
    // stack is built while no trial of the same model is alive in the process).
    const initial = cfgs.map((c) => {
      const solo = new InfomaxTrial(c);
      try {
        return new Map(solo.store.names().map((n) => [n, tf.clone(solo.store.get(n))]));
      } finally {
        solo.dispose();
      }
    });
    stackCount++;
    for (const [name, first] of initial[0]) {
      this.soloShapes.set(name, first.shape);
      const lifted = initial.map((w) => (first.rank === 1 ? w.get(name)!.reshape([1, first.shape[0]]) : w.get(name)!));
      // Variable names are global to the engine: two stacks alive at once need their own.
      this.stacked.set(
        name,
        tf.tidy(() => tf.variable(tf.stack(lifted), true, `stack${stackCount}:${name}`)),
      );
      tf.dispose(lifted);
    }
    initial.forEach((w) => tf.dispose([...w.values()]));
    const lr = cfgs[0].learning_rate;
    const native = stepPath() === 'fast' && tf.getBackend() === 'tensorflow';
    this.optimizer = native ? new FlatAdam(lr, 0.9, 0.999, 1e-7) : tf.train.adam(lr, 0.9, 0.999, 1e-7);
  }

  private param(name: string): tf.Variable {
    const v = this.stacked.get(name);
    if (!v) throw new SeedStackError(`no stacked parameter ${name}`);
    return v;
  }

  private mlp(prefix: string, layers: number, x: tf.Tensor3D): tf.Tensor3D {
    let h = x;
    for (let i = 0; i < layers; i++)
      h = stackedDense(
        h,
        this.param(`${prefix}/dense${i}/kernel`),
        this.param(`${prefix}/dense${i}/bias`),
        i < layers - 1,
      );
    return h;
  }

  /** Pair scores [S, K, K] of the stacked critic. */
  private scores(z1: tf.Tensor3D, z2: tf.Tensor3D): tf.Tensor3D {
    const critic = this.cfgs[0].critic;
    if (critic === 'inner') return bmm(z1, z2, false, true);
    if (critic === 'bilinear')
      return bmm(stackedDense(z1, this.param('critic/bilinear/kernel'), null, false), z2, false, true);
    return bmm(this.mlp('critic/phi1', 2, z1), this.mlp('critic/phi2', 2, z2), false, true);
  }

  /** One step of every seed; returns each seed's I_EST on its batch, [S]. */
  advance(): tf.Tensor1D {
    const k = this.cfgs[0].batch_size;
    const s = this.seeds.length;
    const x = new Float32Array(s * k * this.dim);
    const y = new Float32Array(s * k * this.dim);
    this.sources.forEach((src, i) => {
      const b = src.next(k);
      x.set(b.x, i * k * this.dim);
      y.set(b.y, i * k * this.dim);
    });
    const { objective, target, estimator } = this.cfgs[0];
    let est!: tf.Tensor1D;
    const loss = this.optimizer.minimize(
      () => {
        const z1 = this.mlp('g1', 3, tf.tensor3d(x, [s, k, this.dim]));
        const z2 = this.mlp('g2', 3, tf.tensor3d(y, [s, k, this.dim]));
        est = tf.keep(getEstimator(estimator)(this.scores(z1, z2)));
        return objectiveLoss(est, objective, target);
      },
      true,
      [...this.stacked.values()],
    );
    loss?.dispose();
    this.step++;
    return est;
  }

  /** Seed i's weights under their solo names and shapes (fresh tensors, the caller's to dispose). */
  weightsOf(i: number): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [name, v] of this.stacked)
      out.set(
        name,
        tf.tidy(() => tf.reshape(tf.slice(v, [i], [1]), this.soloShapes.get(name)!)),
      );
    return out;
  }

  /** The solo name of a stacked variable or of one of its Adam moments (`<var>/m`). */
  private soloName(stackedName: string): string {
    return stackedName.slice(stackedName.indexOf(':') + 1);
  }

  /** Row i of a stacked tensor in the solo shape of `soloName` (a moment has its variable's). */
  private rowOf(t: tf.Tensor, i: number, soloName: string): tf.Tensor {
    const shape = this.soloShapes.get(soloName.replace(/\/[mv]$/, ''))!;
    return tf.tidy(() => tf.reshape(tf.slice(t, [i], [1]), shape));
  }

  /**
   * Seed i's state as the checkpoint its solo trial would write at this step (parameters,
   * Adam's moments and beta powers, data position): it resumes as a solo trial, or with
   * other seeds' checkpoints of the same step as a stack (restore()).
   */
  async checkpointOf(i: number): Promise<Buffer> {
    const arrays: NamedArray[] = [];
    const read = async (name: string, t: tf.Tensor) => {
      const row = this.rowOf(t, i, name);
      arrays.push({ name, shape: row.shape, values: (await row.data()) as Float32Array });
      row.dispose();
    };
    for (const [name, v] of this.stacked) await read(name, v);
    arrays.forEach((a) => (a.name = `param:${a.name}`));
    const weights = await this.optimizer.getWeights();
    for (const [j, w] of weights.entries()) {
      const entry = optimizerEntryName('main', j, w.name === 'iter' ? 'iter' : this.soloName(w.name));
      if (w.name === 'iter') arrays.push({ name: entry, shape: [], values: Float32Array.from(await w.tensor.data()) });
      else {
        await read(this.soloName(w.name), w.tensor);
        arrays[arrays.length - 1].name = entry;
      }
      if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose();
    }
    const powers = await adamBetaPowers(this.optimizer);
    if (powers) arrays.push({ name: betaPowersName('main'), shape: [2], values: powers });
    return encodeCheckpoint({ step: this.step, arrays, state: { source: this.sources[i].state() } });
  }

  /** Resumes every seed from its own checkpoint (solo or stacked, all of one step), in seed order. */
  async restore(checkpoints: readonly Uint8Array[]): Promise<void> {
    if (checkpoints.length !== this.seeds.length)
      throw new SeedStackError(`${checkpoints.length} checkpoints for ${this.seeds.length} seeds`);
    const decoded = checkpoints.map((b) => decodeCheckpoint(b));
    if (new Set(decoded.map((c) => c.step)).size !== 1)
      throw new SeedStackError(
        `the seeds' checkpoints are of different steps (${decoded.map((c) => c.step).join(', ')})`,
      );
    const byName = decoded.map((c) => new Map(c.arrays.map((a) => [a.name, a])));
    const stackOf = (entry: string, soloName: string) =>
      tf.tidy(() => {
        const rows = byName.map((m) => {
          const a = m.get(entry);
          if (!a) throw new CheckpointCorruptError(`checkpoint has no ${entry}`);
          return tf.tensor(a.values, a.shape);
        });
        const shape = this.stacked.get(soloName.replace(/\/[mv]$/, ''))!.shape.slice(1);
        return tf.stack(rows.map((r) => r.reshape(shape)));
      });
    for (const [name, v] of this.stacked) {
      const t = stackOf(`param:${name}`, name);
      v.assign(t);
      t.dispose();
    }
    await this.restoreOptimizer(decoded[0].arrays, stackOf);
    restoreAdamBetaPowers(this.optimizer, byName[0].get(betaPowersName('main'))?.values ?? null);
    decoded.forEach((c, i) => this.sources[i].restore((c.state as { source: unknown }).source as never));
    this.step = decoded[0].step;
  }

  private async restoreOptimizer(
    first: readonly NamedArray[],
    stackOf: (entry: string, soloName: string) => tf.Tensor,
  ): Promise<void> {
    const entries = first
      .filter((a) => a.name.startsWith('opt:main:'))
      .map((a) => {
        const [, , index, ...rest] = a.name.split(':');
        return { index: Number(index), name: rest.join(':'), a };
      })
      .sort((x, y) => x.index - y.index);
    const prefix = this.stacked.values().next().value!.name.split(':')[0];
    const tensors = entries.map(({ index, name, a }) =>
      name === 'iter'
        ? { name, tensor: tf.tensor(a.values, a.shape) }
        : { name: `${prefix}:${name}`, tensor: stackOf(optimizerEntryName('main', index, name), name) },
    );
    await this.optimizer.setWeights(tensors);
    tf.dispose(tensors.map((t) => t.tensor));
  }

  dispose(): void {
    for (const v of this.stacked.values()) v.dispose();
    this.stacked.clear();
    this.optimizer.dispose();
  }
}
