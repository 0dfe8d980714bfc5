// The study's main procedure: two encoders and a critic trained to maximise (or hit a
// target value of) an MI lower bound between two views.
import * as tf from '@tensorflow/tfjs';
import type { TrialConfig } from './config.js';
import { TrialState, type ScalarRecord } from './trial-state.js';
import { buildEncoder, type Encoder } from './encoders.js';
import { buildCritic, ShapeError, type Critic } from './critics.js';
import { getEstimator, objectiveLoss, type Estimator } from './estimators.js';
import { MnistPairSource, GaussianPairSource, peekBatch, type PairSource } from './data/pairs.js';
import { mnistEvalData, linearEvalMetrics, type MnistEvalData } from './eval-data.js';
import { jacobianConditionMetrics } from './eval/jacobian.js';
import { TrialConfigError } from './errors.js';
import { isEvaluationStep } from './metric-names.js';
import { timed, type EvalTiming } from './eval-timing.js';
import { FlatAdam } from './flat-adam.js';
import { GraphStep, graphStepApplies } from './graph/graph-step.js';

/** The mean of scalar tensors, read in one download and summed in order; disposes them. */
async function meanOf(estimates: tf.Tensor[]): Promise<number> {
  const stacked = tf.stack(estimates);
  const values = await stacked.data();
  tf.dispose([stacked, ...estimates]);
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

export class InfomaxTrial extends TrialState {
  protected readonly source: PairSource;
  readonly g1: Encoder;
  readonly g2: Encoder;
  readonly critic: Critic;
  private readonly estimator: Estimator;
  private readonly vars: tf.Variable[];
  private evalData: MnistEvalData | null = null;
  /** Set where steps run as one graph session call (ml/graph/graph-step.ts); built at the first step. */
  private readonly graphPath: boolean;
  private graph: GraphStep | null = null;
  /** Which holds the newest state: 'behind' the session lacks the trial's, 'ahead' the store lacks the session's. */
  private graphState: 'behind' | 'current' | 'ahead' = 'behind';

  constructor(cfg: TrialConfig) {
    super(cfg);
    try {
      this.estimator = getEstimator(cfg.estimator);
      this.source =
        cfg.data === 'gaussian'
          ? new GaussianPairSource(cfg.negatives === 'noniid', cfg.seed)
          : MnistPairSource.train(cfg.view1, cfg.view2, cfg.noise, cfg.seed);
      this.g1 = buildEncoder(cfg.encoder, this.store, 'g1', this.source.dimX, cfg, this.rng);
      this.g2 = buildEncoder(cfg.encoder, this.store, 'g2', this.source.dimY, cfg, this.rng);
      this.critic = buildCritic(cfg.critic, this.store, this.g1.outDim, this.g2.outDim, cfg);
    } catch (e) {
      this.dispose();
      if (e instanceof ShapeError) throw new TrialConfigError((e as Error).message);
      throw e;
    }
    this.vars = this.store.list();
    if (this.vars.length > 0) this.optimizers.main = this.adam(cfg.learning_rate);
    this.graphPath = this.optimizers.main instanceof FlatAdam && graphStepApplies(cfg);
  }

  get totalSteps(): number {
    return this.cfg.steps;
  }

  private estimate(x: tf.Tensor2D, y: tf.Tensor2D): tf.Scalar {
    return this.estimator(this.critic.scores(this.g1.apply(x), this.g2.apply(y)));
  }

  advance(): ScalarRecord {
    if (this.graphPath) return this.graphAdvance();
    const k = this.cfg.batch_size;
    const batch = this.source.next(k);
    let est!: tf.Scalar;
    const lossOf = () => {
      const x = tf.tensor2d(batch.x, [k, this.source.dimX]);
      const y = tf.tensor2d(batch.y, [k, this.source.dimY]);
      est = tf.keep(this.estimate(x, y));
      return objectiveLoss(est, this.cfg.objective, this.cfg.target);
    };
    const opt = this.optimizers.main;
    const loss = opt ? opt.minimize(lossOf, true, this.vars)! : tf.tidy(lossOf);
    return { loss, i_est_train: est };
  }

  private graphAdvance(): ScalarRecord {
    const opt = this.optimizers.main as FlatAdam;
    this.graph ??= new GraphStep(this.cfg, this.source.dimX, this.source.dimY, {
      g1: { permutations: this.g1.permutations },
      g2: { permutations: this.g2.permutations },
    });
    if (this.graphState === 'behind') this.graph.load(this.paramStore, opt);
    const k = this.cfg.batch_size;
    const batch = this.source.next(k);
    const { loss, estimate } = this.graph.step(batch.x, batch.y, k);
    this.graphState = 'ahead';
    return { loss, i_est_train: estimate };
  }

  protected override syncState(): void {
    if (this.graph && this.graphState === 'ahead') {
      this.graph.save(this.paramStore, this.optimizers.main as FlatAdam);
      this.graphState = 'current';
    }
  }

  protected override stateRestored(): void {
    this.graphState = 'behind';
  }

  /** Nodes of the step's graph, once a graph step ran (null on the eager paths). */
  override get graphNodes(): number | null {
    return this.graph?.nodeCount ?? null;
  }

  evalDue(step: number): boolean {
    return isEvaluationStep(this.cfg, step);
  }

  private mnistEval(): MnistEvalData {
    this.evalData ??= mnistEvalData(this.cfg);
    return this.evalData;
  }

  /** Mean I_EST over test batches in a fixed order (Gaussian: a fixed set of fresh samples). */
  private async iEstTest(): Promise<number> {
    const k = this.cfg.batch_size;
    const estimates: tf.Tensor[] = [];
    if (this.cfg.data === 'gaussian') {
      const src = new GaussianPairSource(this.cfg.negatives === 'noniid', this.cfg.seed, 21);
      for (let b = 0; b < this.cfg.i_est_test_batches; b++) {
        const batch = src.next(k);
        estimates.push(tf.tidy(() => this.estimate(tf.tensor2d(batch.x, [k, 1]), tf.tensor2d(batch.y, [k, 1]))));
      }
      return meanOf(estimates);
    }
    const e = this.mnistEval();
    const d = e.dim;
    const batches = Math.min(this.cfg.i_est_test_batches, Math.floor(e.testN / k));
    if (batches < 1) throw new TrialConfigError(`batch_size ${k} is larger than the ${e.testN} test examples`);
    for (let b = 0; b < batches; b++) {
      estimates.push(
        tf.tidy(() => {
          const x = tf.tensor2d(e.testX.subarray(b * k * d, (b + 1) * k * d), [k, d]);
          const y = tf.tensor2d(e.testY.subarray(b * k * d, (b + 1) * k * d), [k, d]);
          return this.estimate(x, y);
        }),
      );
    }
    return meanOf(estimates);
  }

  /**
   * Conditioning of g1 at the current noisy training batch, as the notebook: its
   * evaluation after t steps pulls the next batch from the training pipeline. Here that
   * is the batch step t + 1 trains on, peeked so the training stream stays as it was
   * (and it exists at step 0 and right after a resume).
   */
  private jacobianMetrics(): Promise<Record<string, number>> {
    const batch = peekBatch(this.source, this.cfg.batch_size);
    const n = Math.min(this.cfg.jacobian_inputs, batch.rows);
    return jacobianConditionMetrics((x) => this.g1.apply(x), batch.x, n, this.source.dimX, this.g1.outDim);
  }

  async evaluate(timing?: EvalTiming): Promise<Record<string, number>> {
    this.syncState();
    const out: Record<string, number> = {};
    const evals = new Set(this.cfg.evaluations);
    if (evals.has('i_est_test')) out.i_est_test = await timed(timing, 'i_est_test', () => this.iEstTest());
    if (evals.has('linear_eval'))
      Object.assign(
        out,
        await linearEvalMetrics((x) => this.g1.apply(x), this.mnistEval(), this.cfg, this.step, timing),
      );
    if (evals.has('jacobian')) Object.assign(out, await timed(timing, 'jacobian', () => this.jacobianMetrics()));
    return out;
  }

  override dispose(): void {
    this.graph?.dispose();
    this.graph = null;
    this.g1?.dispose();
    this.g2?.dispose();
    super.dispose();
  }
}
