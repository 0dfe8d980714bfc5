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

  private nextInputs(): { x: Float32Array; labels: Uint8Array } {
    const b = this.source.next(this.cfg.batch_size);
    return { x: b.x, labels: b.labels! };
  }

  private classifierStep(): tf.Scalar {
    const { x, labels } = this.nextInputs();
    const k = this.cfg.batch_size;
    return this.optimizers.classifier.minimize(
      () => {
        const y = tf.oneHot(tf.tensor1d(Array.from(labels), 'int32'), CLASSES);
        return tf.losses.softmaxCrossEntropy(y, this.logits(tf.tensor2d(x, [k, this.source.dimX])));
      },
      true,
      this.classifierVars,
    )!;
  }

  /** Cross-entropy against uniform labels: pushes the classifier's output towards chance. */
  private encoderStep(): tf.Scalar {
    const { x } = this.nextInputs();
    const k = this.cfg.batch_size;
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
    if (this.step < this.cfg.adv_warmup_steps) return { classifier_loss: this.classifierStep() };
    let last: tf.Scalar | null = null;
    for (let i = 0; i < this.cfg.adv_classifier_steps; i++) {
      last?.dispose();
      last = this.classifierStep();
    }
    return { classifier_loss: last!, encoder_loss: this.encoderStep() };
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
