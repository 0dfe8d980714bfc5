// The study configurations the benchmark times: one per distinct model of REFERENCE.md.
import type { TrialConfigInput } from '../ml/config.js';

export const BENCH_CASES: Record<string, TrialConfigInput> = {
  'mlp+bilinear': { encoder: 'mlp', critic: 'bilinear' },
  'mlp+separable': { encoder: 'mlp', critic: 'separable' },
  'mlp+concat': { encoder: 'mlp', critic: 'concat' },
  'mlp-shortcut+bilinear': { encoder: 'mlp-shortcut', critic: 'bilinear', noise: 0.05 },
  'convnet+bilinear': { encoder: 'convnet', critic: 'bilinear', objective: 'target', target: 4 },
  'realnvp-shift+bilinear': { encoder: 'realnvp', critic: 'bilinear', coupling: 'shift' },
  // No warm-up: each timed step is then a round (classifier steps + one encoder step), which is what trainingStepFlops counts.
  'adversarial-realnvp-affine': {
    procedure: 'adversarial',
    encoder: 'realnvp',
    coupling: 'affine',
    adv_warmup_steps: 0,
  },
  'gaussian+concat5x10': {
    data: 'gaussian',
    encoder: 'identity',
    critic: 'concat',
    critic_hidden: [10, 10, 10, 10, 10],
  },
};
