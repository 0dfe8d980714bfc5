// What every kind of trial shares: parameters, optimizers, a data source, a step
// counter, and turning all of it into checkpoint bytes and back.
import * as tf from '@tensorflow/tfjs';
import type { TrialConfig } from './config.js';
import { ParamStore } from './params.js';
import type { PairSource } from './data/pairs.js';
import { Rng } from './rng.js';
import { encodeCheckpoint, decodeCheckpoint, CheckpointCorruptError, type NamedArray } from './checkpoint.js';
import { adamBetaPowers, restoreAdamBetaPowers } from './adam-state.js';
import { FlatAdam } from './flat-adam.js';
import { eagerFast } from './step-path.js';
import type { EvalTiming } from './eval-timing.js';

/** Not under `opt:<key>:`, whose entries setWeights() takes by position. */
export const betaPowersName = (key: string) => `adam-beta-powers:${key}`;
/** An optimizer's i-th weight (getWeights() order) in a checkpoint. */
export const optimizerEntryName = (key: string, i: number, name: string) => `opt:${key}:${i}:${name}`;

export type ScalarRecord = Record<string, tf.Scalar>;

export abstract class TrialState {
  step = 0;
  readonly rng: Rng;
  /** The parameters as they stand, without the sync that `store` does. */
  protected readonly paramStore: ParamStore;
  protected optimizers: Record<string, tf.Optimizer> = {};
  protected abstract readonly source: PairSource;

  constructor(readonly cfg: TrialConfig) {
    this.rng = new Rng(cfg.seed, 0);
    this.paramStore = new ParamStore(this.rng);
  }

  /** The parameters, brought up to date first: readers see every step taken. */
  get store(): ParamStore {
    this.syncState();
    return this.paramStore;
  }

  abstract get totalSteps(): number;
  /** One optimisation step; returns scalars to record, kept alive for the caller. */
  abstract advance(): ScalarRecord;
  abstract evalDue(step: number): boolean;
  /** The evaluation's metrics; `timing`, when given, receives the seconds each part took. */
  abstract evaluate(timing?: EvalTiming): Promise<Record<string, number>>;

  /**
   * Adam with Keras' epsilon, the same on every backend (tfjs defaults to the backend's).
   * The fast path's flat Adam computes the same bits in fewer kernels; it pays on
   * tensorflow only (see ml/flat-adam.ts).
   */
  protected adam(learningRate: number): tf.Optimizer {
    if (eagerFast() && tf.getBackend() === 'tensorflow') return new FlatAdam(learningRate, 0.9, 0.999, 1e-7);
    return tf.train.adam(learningRate, 0.9, 0.999, 1e-7);
  }

  /**
   * Brings the store and optimizers up to date where steps ran elsewhere (a graph
   * session); called before anything reads them.
   */
  protected syncState(): void {}

  /** Called after restore() replaced the store and optimizers' state. */
  protected stateRestored(): void {}

  /** Nodes of the trial's step graph once a graph step ran; null where steps run eagerly. */
  get graphNodes(): number | null {
    return null;
  }

  async checkpoint(): Promise<Buffer> {
    this.syncState();
    const arrays: NamedArray[] = [];
    for (const name of this.store.names()) {
      const v = this.store.get(name);
      arrays.push({ name: `param:${name}`, shape: v.shape, values: (await v.data()) as Float32Array });
    }
    for (const [key, opt] of Object.entries(this.optimizers)) {
      const weights = await opt.getWeights();
      for (const [i, w] of weights.entries()) {
        // Adam matches moments to variables by position, so keep the order explicit.
        arrays.push({
          name: optimizerEntryName(key, i, w.name),
          shape: w.tensor.shape,
          values: Float32Array.from(await w.tensor.data()),
        });
        // getWeights() makes a fresh 'iter' scalar each call; tfjs' Adam hands out its own
        // moment variables, the flat Adam fresh slices of its buffers.
        if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose();
      }
      const powers = await adamBetaPowers(opt);
      if (powers) arrays.push({ name: betaPowersName(key), shape: [2], values: powers });
    }
    return encodeCheckpoint({ step: this.step, arrays, state: { source: this.source.state() } });
  }

  async restore(bytes: Uint8Array): Promise<void> {
    const c = decodeCheckpoint(bytes);
    const params = new Map(c.arrays.filter((a) => a.name.startsWith('param:')).map((a) => [a.name.slice(6), a]));
    const expected = this.paramStore.names();
    if (params.size !== expected.length || expected.some((n) => !params.has(n))) {
      throw new CheckpointCorruptError(
        `checkpoint does not match this model (parameters ${[...params.keys()].slice(0, 3).join(', ')}...)`,
      );
    }
    for (const name of expected) {
      const v = this.paramStore.get(name);
      const a = params.get(name)!;
      if (a.shape.join('x') !== v.shape.join('x')) {
        throw new CheckpointCorruptError(`checkpoint shape ${a.shape} for ${name}, model has ${v.shape}`);
      }
      tf.tidy(() => v.assign(tf.tensor(a.values, a.shape)));
    }
    for (const [key, opt] of Object.entries(this.optimizers)) {
      const mine = c.arrays
        .filter((a) => a.name.startsWith(`opt:${key}:`))
        .map((a) => {
          const [, , index, ...rest] = a.name.split(':');
          return { index: Number(index), name: rest.join(':'), a };
        })
        .sort((x, y) => x.index - y.index);
      const tensors = mine.map(({ name, a }) => ({ name, tensor: tf.tensor(a.values, a.shape) }));
      await opt.setWeights(tensors);
      tf.dispose(tensors.map((t) => t.tensor));
      restoreAdamBetaPowers(opt, c.arrays.find((a) => a.name === betaPowersName(key))?.values ?? null);
    }
    this.source.restore(c.state.source);
    this.step = c.step;
    this.stateRestored();
  }

  dispose(): void {
    this.paramStore.dispose();
    for (const opt of Object.values(this.optimizers)) opt.dispose();
  }
}
