// S seeds of one configuration trained as one computation: every weight stacked along a
// leading seed axis, every product batched ([S, B, n] x [S, n, m]), one loss summed over
// the seeds so each seed's weights get exactly its own gradient, one Adam over it all
// (ml/stack-adam.ts: each seed with its own step, so a resumed seed can share a stack
// with a fresh one). Each seed keeps its own initial weights (drawn by the solo trial of
// that seed) and its own data stream, so seed s trains the trial it would train alone, to float rounding
// (test/unit/ml-seed-stack.test.ts). Built for MLP encoders and the critics whose pair
// scores are products (inner, bilinear, separable): issue 13 asks whether amortising a
// step's dispatch over S trials buys trials per hour; `mirl bench --seed-stack S` measures it.
import * as tf from '@tensorflow/tfjs';
import type { TrialConfig } from './config.js';
import { InfomaxTrial } from './infomax-trial.js';
import { MnistPairSource } from './data/pairs.js';
import { getEstimator, objectiveTerms } from './estimators.js';
import { StackAdam, type SeedMoments } from './stack-adam.js';
import { nativeReluGrad, nativeReluGradAvailable } from './native-kernels.js';
import { eagerFast } from './step-path.js';
import { stackRefusal } from './stackable.js';
import { criticForms, type StackedCritic, type StackedLayers } from './critics.js';
import { encoderForms, type StackedEncoder } from './encoders.js';
import { encodeCheckpoint, decodeCheckpoint, CheckpointCorruptError, type NamedArray } from './checkpoint.js';
import { runningPower } from './adam-state.js';
import { betaPowersName, optimizerEntryName } from './trial-state.js';

export class SeedStackError extends Error {}

type GradBody = Parameters<typeof tf.customGrad>[0];

/** a x b (transposing b) on a seed axis; wasm multiplies transposed operands ~18x slower, so it transposes first. */
function bmm(a: tf.Tensor3D, b: tf.Tensor3D, transposeA = false, transposeB = false): tf.Tensor3D {
  if (tf.getBackend() !== 'wasm') return tf.matMul(a, b, transposeA, transposeB);
  const t = (x: tf.Tensor3D) => tf.transpose(x, [0, 2, 1]) as tf.Tensor3D;
  return tf.matMul(transposeA ? t(a) : a, transposeB ? t(b) : b);
}

/** dy where y = relu(pre) > 0: TensorFlow's one-kernel ReluGrad on the native fast path. */
function reluBackward(dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  if (eagerFast() && nativeReluGradAvailable()) return nativeReluGrad(dy, y);
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
  private optimizer: StackAdam;
  private readonly dim: number;
  /** Each seed's step: the steps its trial has taken, here or before it joined. */
  readonly steps: number[];

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
    this.steps = cfgs.map(() => 0);
    this.optimizer = this.adam(cfgs.map(() => null));
  }

  private adam(seeds: readonly (SeedMoments | null)[]): StackAdam {
    return new StackAdam([...this.stacked.values()], seeds, this.cfgs[0].learning_rate);
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

  /** The stack's batched layers, as the registries' stacked forms use them. */
  private readonly layers: StackedLayers = {
    bmm,
    linear: (name, x) => stackedDense(x, this.param(`${name}/kernel`), null, false),
    mlp: (prefix, layers, x) => this.mlp(prefix, layers, x),
  };

  /** The stacked forms of the trials' encoder and critic (stackRefusal let only stackable ones in). */
  private forms(): { encoder: StackedEncoder; critic: StackedCritic } {
    const { encoder, critic } = this.cfgs[0];
    const e = encoderForms(encoder).stacked;
    const c = criticForms(critic).stacked;
    if (!e || !c) throw new SeedStackError(`no stacked form for encoder ${encoder} with critic ${critic}`);
    return { encoder: e, critic: c };
  }

  /** One step of every seed; returns each seed's I_EST on its batch and its loss, [S] each (the caller's). */
  advance(): { i_est_train: tf.Tensor1D; loss: tf.Tensor1D } {
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
    let loss!: tf.Tensor1D;
    const vars = [...this.stacked.values()];
    const { value, grads } = tf.variableGrads(() => {
      const forms = this.forms();
      const z1 = forms.encoder(this.layers, 'g1', tf.tensor3d(x, [s, k, this.dim]));
      const z2 = forms.encoder(this.layers, 'g2', tf.tensor3d(y, [s, k, this.dim]));
      est = tf.keep(getEstimator(estimator)(forms.critic(this.layers, z1, z2)));
      loss = tf.keep(objectiveTerms(est, objective, target) as tf.Tensor1D);
      return tf.sum(loss);
    }, vars);
    this.optimizer.update(vars.map((v) => grads[v.name]));
    tf.dispose([value, ...Object.values(grads)]);
    this.steps.forEach((_, i) => this.steps[i]++);
    return { i_est_train: est, loss };
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

  /**
   * Seed i's state as the checkpoint its solo trial would write at its step (parameters,
   * Adam's moments and beta powers, data position): it resumes as a solo trial, or in a
   * stack again (restore()).
   */
  async checkpointOf(i: number): Promise<Buffer> {
    const arrays: NamedArray[] = [];
    const push = async (name: string, t: tf.Tensor, shape: number[]) => {
      const row = tf.reshape(t, shape);
      arrays.push({ name, shape, values: (await row.data()) as Float32Array });
      tf.dispose([row, t]);
    };
    const names = [...this.stacked.keys()];
    for (const [name, t] of this.weightsOf(i)) await push(`param:${name}`, t, this.soloShapes.get(name)!);
    const { m, v, powers } = await this.optimizer.momentsOf(i);
    // As a solo trial's Adam writes it: its iteration count, every variable's m, every v.
    arrays.push({ name: optimizerEntryName('main', 0, 'iter'), shape: [], values: Float32Array.of(this.steps[i]) });
    const moments = [
      ...m.map((t, k) => ({ t, name: `${names[k]}/m` })),
      ...v.map((t, k) => ({ t, name: `${names[k]}/v` })),
    ];
    for (const [j, { t, name }] of moments.entries())
      await push(optimizerEntryName('main', j + 1, name), t, this.soloShapes.get(name.slice(0, -2))!);
    arrays.push({ name: betaPowersName('main'), shape: [2], values: Float32Array.from(powers) });
    return encodeCheckpoint({ step: this.steps[i], arrays, state: { source: this.sources[i].state() } });
  }

  /**
   * Puts each seed where its checkpoint left it (solo or from a stack, any step); a null
   * leaves that seed at its fresh start.
   */
  async restore(checkpoints: readonly (Uint8Array | null)[]): Promise<void> {
    if (checkpoints.length !== this.seeds.length)
      throw new SeedStackError(`${checkpoints.length} checkpoints for ${this.seeds.length} seeds`);
    const decoded = checkpoints.map((b) => (b ? decodeCheckpoint(b) : null));
    const arrays = decoded.map((c) => (c ? new Map(c.arrays.map((a) => [a.name, a])) : null));
    const entry = (i: number, name: string) => {
      const a = arrays[i]!.get(name);
      if (!a) throw new CheckpointCorruptError(`the checkpoint of seed ${this.seeds[i]} has no ${name}`);
      return tf.tensor(a.values, a.shape);
    };
    for (const [name, v] of this.stacked) {
      const rows = tf.tidy(() =>
        tf.stack(
          decoded.map((c, i) =>
            c
              ? tf.reshape(entry(i, `param:${name}`), v.shape.slice(1))
              : tf.slice(v, [i], [1]).reshape(v.shape.slice(1)),
          ),
        ),
      );
      v.assign(rows);
      rows.dispose();
    }
    const moments = decoded.map((c, i) => (c ? this.momentsIn(i, arrays[i]!, c.step, entry) : null));
    this.optimizer.dispose();
    this.optimizer = this.adam(moments);
    moments.forEach((m) => m && tf.dispose([...m.m, ...m.v]));
    decoded.forEach((c, i) => {
      if (!c) return;
      this.sources[i].restore((c.state as { source: unknown }).source);
      this.steps[i] = c.step;
    });
  }

  /** Seed i's Adam state in its checkpoint, found by name (`<var>/m`, `<var>/v`). */
  private momentsIn(
    i: number,
    arrays: Map<string, NamedArray>,
    step: number,
    entry: (i: number, name: string) => tf.Tensor,
  ): SeedMoments {
    const byName = new Map<string, string>();
    for (const name of arrays.keys()) {
      const m = /^opt:main:\d+:(.*)$/.exec(name);
      if (m) byName.set(m[1], name);
    }
    const names = [...this.stacked.keys()];
    const find = (moment: string) => {
      const key = byName.get(moment);
      if (!key) throw new CheckpointCorruptError(`the checkpoint of seed ${this.seeds[i]} has no ${moment}`);
      return entry(i, key);
    };
    const stored = arrays.get(betaPowersName('main'))?.values;
    const powers: [number, number] = stored
      ? [stored[0], stored[1]]
      : [runningPower(0.9, step), runningPower(0.999, step)];
    return { m: names.map((n) => find(`${n}/m`)), v: names.map((n) => find(`${n}/v`)), powers };
  }

  dispose(): void {
    for (const v of this.stacked.values()) v.dispose();
    this.stacked.clear();
    this.optimizer.dispose();
  }
}
