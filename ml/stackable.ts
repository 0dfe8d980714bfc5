// Which trials can train as one seed stack (ml/seed-stack.ts), without TensorFlow.js:
// the CLI and the spec layer ask before anything loads or launches.
import type { TrialConfig } from './config.js';
import { CRITIC_FORMS, ENCODER_FORMS, STACKABLE_CRITICS, STACKABLE_ENCODERS } from './model-forms.js';

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
  const encoder = ENCODER_FORMS[first.encoder].stacked;
  if (encoder !== true)
    return `encoder "${first.encoder}" does not stack (${encoder}; stacked encoders: ${STACKABLE_ENCODERS.join(', ')})`;
  const critic = CRITIC_FORMS[first.critic].stacked;
  if (critic !== true)
    return `critic "${first.critic}" does not stack (${critic}; stacked critics: ${STACKABLE_CRITICS.join(', ')})`;
  return null;
}
