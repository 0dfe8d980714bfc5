// Floating-point operations of one training step, counted from the model shapes once, so
// a benchmark can turn milliseconds into achieved GFLOP/s. Each encoder and critic counts
// its own forward pass where it is defined (ml/encoders.ts, ml/critics.ts); only matrix
// products and convolutions are counted (elementwise work is a few percent), and a
// backward pass costs twice its forward pass.
import type { TrialConfig } from './config.js';
import { criticFlops } from './critics.js';
import { encoderFlops } from './encoders.js';
import { mlpFlops } from './params.js';

const VIEW = 392;

export function trainingStepFlops(cfg: TrialConfig): number {
  const k = cfg.batch_size;
  const dim = cfg.data === 'gaussian' ? 1 : VIEW;
  const enc = encoderFlops(cfg.encoder, cfg, k, dim);
  if (cfg.procedure === 'adversarial') {
    const clf = mlpFlops([enc.outDim, 10], k);
    // One round: classifier steps (encoder forward, no encoder gradient) plus one encoder step.
    return cfg.adv_classifier_steps * (enc.flops + 3 * clf) + 3 * (enc.flops + clf);
  }
  // Both encoders share an architecture and (in every study) a view size.
  return 3 * (2 * enc.flops + criticFlops(cfg.critic, cfg, k, enc.outDim, enc.outDim));
}
