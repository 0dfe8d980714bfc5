// Floating-point operations of one training step, counted from the model shapes once, so
// a benchmark can turn milliseconds into achieved GFLOP/s. Only matrix products and
// convolutions are counted (elementwise work is a few percent); a backward pass costs
// twice its forward pass.
import type { TrialConfig } from './config.js';

const VIEW = 392;

function mlp(dims: number[], rows: number): number {
  let f = 0;
  for (let i = 0; i + 1 < dims.length; i++) f += 2 * rows * dims[i] * dims[i + 1];
  return f;
}

function encoderForward(cfg: TrialConfig, rows: number, inDim: number): { flops: number; outDim: number } {
  switch (cfg.encoder) {
    case 'identity':
      return { flops: 0, outDim: inDim };
    case 'mlp':
      return { flops: mlp([inDim, 300, 300, 100], rows), outDim: 100 };
    case 'mlp-shortcut':
      return { flops: 5 * mlp([inDim, inDim], rows), outDim: inDim };
    case 'convnet': {
      // 14x28x1 -> 7x14x64 -> 4x7x128 (5x5 kernels, stride 2), then Dense 128 -> 100.
      const c1 = 2 * rows * 7 * 14 * 25 * 1 * 64;
      const c2 = 2 * rows * 4 * 7 * 25 * 64 * 128;
      return { flops: c1 + c2 + mlp([128, 100], rows), outDim: 100 };
    }
    case 'realnvp': {
      const half = inDim / 2;
      const out = cfg.coupling === 'affine' ? inDim : half;
      return { flops: cfg.realnvp_layers * mlp([half, cfg.realnvp_hidden, cfg.realnvp_hidden, out], rows), outDim: inDim };
    }
  }
}

function criticForward(cfg: TrialConfig, k: number, dx: number, dy: number): number {
  switch (cfg.critic) {
    case 'inner':
      return 2 * k * k * dx;
    case 'bilinear':
      return 2 * k * dx * dy + 2 * k * k * dy;
    case 'separable':
      return mlp([dx, 100, 100], k) + mlp([dy, 100, 100], k) + 2 * k * k * 100;
    case 'concat': {
      const [h0, ...rest] = cfg.critic_hidden;
      return 2 * k * (dx + dy) * h0 + mlp([h0, ...rest, 1], k * k);
    }
  }
}

export function trainingStepFlops(cfg: TrialConfig): number {
  const k = cfg.batch_size;
  const dim = cfg.data === 'gaussian' ? 1 : VIEW;
  if (cfg.procedure === 'adversarial') {
    const enc = encoderForward(cfg, k, dim);
    const clf = mlp([enc.outDim, 10], k);
    // One round: classifier steps (encoder forward, no encoder gradient) plus one encoder step.
    return cfg.adv_classifier_steps * (enc.flops + 3 * clf) + 3 * (enc.flops + clf);
  }
  const g1 = encoderForward(cfg, k, dim);
  const g2 = encoderForward(cfg, k, dim);
  return 3 * (g1.flops + g2.flops + criticForward(cfg, k, g1.outDim, g2.outDim));
}
