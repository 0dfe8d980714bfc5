// The adversarial study: an invertible encoder (so MI between input and code stays
// maximal) is trained to make a linear classifier on its codes fail, while the
// classifier keeps training on the true labels.
import * as tf from '@tensorflow/tfjs';
import type { TrialConfig } from './config.js';
import { TrialState, type ScalarRecord } from './trial-state.js';
import { buildEncoder, type Encoder } from './encoders.js';
import { denseLayer, applyDense, type Dense } from './params.js';
import { MnistPairSource, type PairSource } from './data/pairs.js';
import { CLASSES } from './data/mnist.js';
import { mnistEvalData, linearEvalMetrics, type MnistEvalData } from './eval-data.js';
import { isEvaluationStep } from './metric-names.js';
import type { EvalTiming } from './eval-timing.js';
import { FlatAdam } from './flat-adam.js';
import { AdversarialGraphStep, adversarialGraphApplies } from './graph/adversarial-step.js';

export class AdversarialTrial extends TrialState {
  protected readonly source: PairSource;
  readonly encoder: Encoder;
  private readonly classifier: Dense;
  private readonly encoderVars: tf.Variable[];
  private readonly classifierVars: tf.Variable[];
  private evalData: MnistEvalData | null = null;
  /** Set where warm-up steps and rounds run as graph session calls (ml/graph/adversarial-step.ts). */
  private readonly graphPath: boolean;
  private graph: AdversarialGraphStep | null = null;
  /** Where the trial's own state stands against the session's (see InfomaxTrial). */
  private graphState: 'behind' | 'current' | 'ahead' = 'behind';

  constructor(cfg: TrialConfig) {
    super(cfg);
    this.source = MnistPairSource.train(cfg.view1, cfg.view2, cfg.noise, cfg.seed);
    this.encoder = buildEncoder(cfg.encoder, this.store, 'g1', this.source.dimX, cfg, this.rng);
    this.classifier = denseLayer(this.store, 'classifier', this.encoder.outDim, CLASSES);
    this.encoderVars = this.store.list('g1/');
    this.classifierVars = this.store.list('classifier/');
    this.optimizers.classifier = this.adam(cfg.adv_classifier_lr);
    this.optimizers.encoder = this.adam(cfg.adv_encoder_lr);
    this.graphPath =
      this.optimizers.classifier instanceof FlatAdam &&
      this.optimizers.encoder instanceof FlatAdam &&
      adversarialGraphApplies(cfg);
  }

  get totalSteps(): number {
    return this.cfg.adv_warmup_steps + this.cfg.adv_rounds;
  }

  private logits(x: tf.Tensor2D): tf.Tensor2D {
    return applyDense(this.classifier, this.encoder.apply(x));
  }

  /**
   * Codes of the next `batches` training batches, encoded in one forward pass outside
   * any gradient tape: the classifier's steps never differentiate through the encoder,
   * and the encoder does not change between them. Rows of a product do not depend on
   * the other rows, so the codes are bit for bit those of encoding each batch alone
   * (test/unit/ml-adversarial.test.ts); one 1,280-row pass of the paper's flow took 330 ms
   * where ten 128-row passes took 480 (native, loaded 2-core machine).
   */
  private nextCodes(batches: number): { codes: tf.Tensor2D; labels: Uint8Array[] } {
    const { x, labels } = this.nextBatches(batches);
    const codes = tf.tidy(() =>
      this.encoder.apply(tf.tensor2d(x, [labels.length * this.cfg.batch_size, this.source.dimX])),
    );
    return { codes, labels };
  }

  /** The next `batches` training batches' inputs, concatenated, and their labels. */
  private nextBatches(batches: number): { x: Float32Array; labels: Uint8Array[] } {
    const k = this.cfg.batch_size;
    const drawn = Array.from({ length: batches }, () => this.source.next(k));
    const x = new Float32Array(batches * k * this.source.dimX);
    drawn.forEach((b, i) => x.set(b.x, i * k * this.source.dimX));
    return { x, labels: drawn.map((b) => b.labels!) };
  }

  /** One classifier step on rows [i k, (i + 1) k) of codes already computed. */
  private classifierStep(codes: tf.Tensor2D, i: number, labels: Uint8Array): tf.Scalar {
    const k = this.cfg.batch_size;
    return this.optimizers.classifier.minimize(
      () => {
        const y = tf.oneHot(tf.tensor1d(Array.from(labels), 'int32'), CLASSES);
        const z = codes.shape[0] === k ? codes : tf.slice(codes, [i * k, 0], [k, codes.shape[1]]);
        return tf.losses.softmaxCrossEntropy(y, applyDense(this.classifier, z));
      },
      true,
      this.classifierVars,
    )!;
  }

  /** The classifier's `count` steps of a round (or one warm-up step) on the next batches. */
  private classifierSteps(count: number): tf.Scalar {
    const { codes, labels } = this.nextCodes(count);
    let last: tf.Scalar | null = null;
    try {
      for (let i = 0; i < count; i++) {
        last?.dispose();
        last = this.classifierStep(codes, i, labels[i]);
      }
    } finally {
      codes.dispose();
    }
    return last!;
  }

  /** Cross-entropy against uniform labels: pushes the classifier's output towards chance. */
  private encoderStep(): tf.Scalar {
    const k = this.cfg.batch_size;
    const { x } = this.source.next(k);
    return this.optimizers.encoder.minimize(
      () => {
        const logp = tf.logSoftmax(this.logits(tf.tensor2d(x, [k, this.source.dimX])));
        return tf.neg(tf.mean(logp)) as tf.Scalar;
      },
      true,
      this.encoderVars,
    )!;
  }

  /** A warm-up step trains the classifier once; after warm-up a step is one round. */
  advance(): ScalarRecord {
    if (this.graphPath) return this.graphAdvance();
    if (this.step < this.cfg.adv_warmup_steps) return { classifier_loss: this.classifierSteps(1) };
    return { classifier_loss: this.classifierSteps(this.cfg.adv_classifier_steps), encoder_loss: this.encoderStep() };
  }

  /** advance() through the graph: the same batches drawn in the same order. */
  private graphAdvance(): ScalarRecord {
    const [classifier, encoder] = [this.optimizers.classifier as FlatAdam, this.optimizers.encoder as FlatAdam];
    this.graph ??= new AdversarialGraphStep(this.cfg, this.source.dimX, { permutations: this.encoder.permutations });
    if (this.graphState === 'behind') this.graph.load(this.paramStore, classifier, encoder);
    this.graphState = 'ahead';
    const k = this.cfg.batch_size;
    if (this.step < this.cfg.adv_warmup_steps) {
      const b = this.source.next(k);
      return { classifier_loss: this.graph.warmup(b.x, b.labels!) };
    }
    const { x, labels } = this.nextBatches(this.cfg.adv_classifier_steps);
    const r = this.graph.round(x, labels, this.source.next(k).x);
    return { classifier_loss: r.classifier, encoder_loss: r.encoder };
  }

  protected override syncState(): void {
    if (this.graph && this.graphState === 'ahead') {
      this.graph.save(this.paramStore, this.optimizers.classifier as FlatAdam, this.optimizers.encoder as FlatAdam);
      this.graphState = 'current';
    }
  }

  protected override stateRestored(): void {
    this.graphState = 'behind';
  }

  /** Nodes of the round's graph, once a graph step ran (null on the eager paths). */
  override get graphNodes(): number | null {
    return this.graph?.nodeCount ?? null;
  }

  evalDue(step: number): boolean {
    return isEvaluationStep(this.cfg, step);
  }

  async evaluate(timing?: EvalTiming): Promise<Record<string, number>> {
    this.syncState();
    if (!this.cfg.evaluations.includes('linear_eval')) return {};
    this.evalData ??= mnistEvalData(this.cfg);
    return linearEvalMetrics((x) => this.encoder.apply(x), this.evalData, this.cfg, this.step, timing);
  }

  override dispose(): void {
    this.graph?.dispose();
    this.graph = null;
    this.encoder?.dispose();
    super.dispose();
  }
}
