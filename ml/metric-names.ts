// Which metrics a trial logs and for how many steps, decided by its configuration alone. Pure (no TensorFlow),
// so spec validation and workflow code can check a search objective against it before
// anything launches.
import type { TrialConfig } from './config.js';

/** Steps a trial runs (the adversarial procedure: warm-up steps, then one per round). */
export function totalSteps(cfg: Pick<TrialConfig, 'procedure' | 'steps' | 'adv_warmup_steps' | 'adv_rounds'>): number {
  return cfg.procedure === 'adversarial' ? cfg.adv_warmup_steps + cfg.adv_rounds : cfg.steps;
}

export const CONDITION_PERCENTILES = [0, 20, 40, 60, 80, 100] as const;

const LINEAR_EVAL = ['linear_eval_accuracy', 'linear_eval_train_accuracy'];

/** The names a trial of this configuration logs (training metrics, then evaluations). */
export function loggedMetrics(cfg: Pick<TrialConfig, 'procedure' | 'evaluations'>): string[] {
  const evals = new Set(cfg.evaluations);
  if (cfg.procedure === 'adversarial') {
    // The adversarial trial evaluates only linear separability (ml/adversarial-trial.ts).
    return ['classifier_loss', 'encoder_loss', ...(evals.has('linear_eval') ? LINEAR_EVAL : [])];
  }
  return [
    'loss',
    'i_est_train',
    ...(evals.has('i_est_test') ? ['i_est_test'] : []),
    ...(evals.has('linear_eval') ? LINEAR_EVAL : []),
    ...(evals.has('jacobian') ? CONDITION_PERCENTILES.map((q) => `log_condition_number_p${q}`) : []),
  ];
}
