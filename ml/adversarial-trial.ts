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

export class AdversarialTrial extends TrialState {
  protected readonly source: PairSource;
  readonly encoder: Encoder;
  private readonly classifier: Dense;
  private readonly encoderVars: tf.Variable[];
  private readonly classifierVars: tf.Variable[];
  private evalData: MnistEvalData | null = null;

  constructor(cfg: TrialConfig) {
    super(cfg);
    this.source = MnistPairSource.train(cfg.view1, cfg.view2, cfg.noise, cfg.seed);
    this.encoder = buildEncoder(cfg.encoder, this.store, 'g1', this.source.dimX, cfg, this.rng);
    this.classifier = denseLayer(this.store, 'classifier', this.encoder.outDim, CLASSES);
    this.encoderVars = this.store.list('g1/');
    this.classifierVars = this.store.list('classifier/');
    this.optimizers.classifier = this.adam(cfg.adv_classifier_lr);
    this.optimizers.encoder = this.adam(cfg.adv_encoder_lr);
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
    const k = this.cfg.batch_size;
    const drawn = Array.from({ length: batches }, () => this.source.next(k));
    const x = new Float32Array(batches * k * this.source.dimX);
    drawn.forEach((b, i) => x.set(b.x, i * k * this.source.dimX));
    const codes = tf.tidy(() => this.encoder.apply(tf.tensor2d(x, [batches * k, this.source.dimX])));
    return { codes, labels: drawn.map((b) => b.labels!) };
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
    if (this.step < this.cfg.adv_warmup_steps) return { classifier_loss: this.classifierSteps(1) };
    return { classifier_loss: this.classifierSteps(this.cfg.adv_classifier_steps), encoder_loss: this.encoderStep() };
  }

  evalDue(step: number): boolean {
    return isEvaluationStep(this.cfg, step);
  }

  async evaluate(): Promise<Record<string, number>> {
    if (!this.cfg.evaluations.includes('linear_eval')) return {};
    this.evalData ??= mnistEvalData(this.cfg);
    return linearEvalMetrics((x) => this.encoder.apply(x), this.evalData, this.cfg);
  }

  override dispose(): void {
    this.encoder?.dispose();
    super.dispose();
  }
}
