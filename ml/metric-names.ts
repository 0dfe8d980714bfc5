// Which metrics a trial logs and for how many steps, decided by its configuration alone. Pure (no TensorFlow),
// so spec validation and workflow code can check a search objective against it before
// anything launches.
import type { TrialConfig } from './config.js';
import { protocolAccuracyMetrics } from './eval/protocols.js';

/** Steps a trial runs (the adversarial procedure: warm-up steps, then one per round). */
export function totalSteps(cfg: Pick<TrialConfig, 'procedure' | 'steps' | 'adv_warmup_steps' | 'adv_rounds'>): number {
  return cfg.procedure === 'adversarial' ? cfg.adv_warmup_steps + cfg.adv_rounds : cfg.steps;
}

type ScheduleConfig = Pick<
  TrialConfig,
  'procedure' | 'steps' | 'adv_warmup_steps' | 'adv_rounds' | 'eval_interval' | 'adv_eval_every_rounds'
>;

/**
 * Whether a trial evaluates after `step` (step 0: before training, on a fresh start):
 * every eval_interval steps and at the end; the adversarial procedure every
 * adv_eval_every_rounds rounds after its warm-up. The trial classes and spec
 * validation both ask this, so early stopping is checked against the real schedule.
 */
export function isEvaluationStep(cfg: ScheduleConfig, step: number): boolean {
  const total = totalSteps(cfg);
  if (step === total) return true;
  if (cfg.procedure !== 'adversarial') return step % cfg.eval_interval === 0;
  const w = cfg.adv_warmup_steps;
  return step >= w && (step - w) % cfg.adv_eval_every_rounds === 0;
}

/** The first evaluation at or after `step`, or null past the end. */
export function evaluationAtOrAfter(cfg: ScheduleConfig, step: number): number | null {
  const total = totalSteps(cfg);
  if (step > total) return null;
  const [origin, every] =
    cfg.procedure === 'adversarial' ? [cfg.adv_warmup_steps, cfg.adv_eval_every_rounds] : [0, cfg.eval_interval];
  const next = step <= origin ? origin : origin + Math.ceil((step - origin) / every) * every;
  return Math.min(next, total);
}

/** How many evaluations a fresh trial runs, step 0 and the end included. */
export function evaluationCount(cfg: ScheduleConfig): number {
  const total = totalSteps(cfg);
  const [origin, every] =
    cfg.procedure === 'adversarial' ? [cfg.adv_warmup_steps, cfg.adv_eval_every_rounds] : [0, cfg.eval_interval];
  if (origin > total) return 1;
  const regular = Math.floor((total - origin) / every) + 1;
  return regular + ((total - origin) % every === 0 ? 0 : 1);
}

export const CONDITION_PERCENTILES = [0, 20, 40, 60, 80, 100] as const;

type MetricConfig = Pick<TrialConfig, 'procedure' | 'evaluations' | 'linear_eval_protocols'>;

/** Test and train accuracy of each chosen linear-evaluation protocol (ml/eval/protocols.ts). */
function linearEval(cfg: MetricConfig): string[] {
  return cfg.evaluations.includes('linear_eval') ? protocolAccuracyMetrics(cfg.linear_eval_protocols) : [];
}

/** The metrics an evaluation reports (what early stopping can judge a trial by). */
export function evaluationMetrics(cfg: MetricConfig): string[] {
  const evals = new Set(cfg.evaluations);
  if (cfg.procedure === 'adversarial') return linearEval(cfg);
  return [
    ...(evals.has('i_est_test') ? ['i_est_test'] : []),
    ...linearEval(cfg),
    ...(evals.has('jacobian') ? CONDITION_PERCENTILES.map((q) => `log_condition_number_p${q}`) : []),
  ];
}

/** The names a trial of this configuration logs (training metrics, then evaluations). */
export function loggedMetrics(cfg: MetricConfig): string[] {
  const evals = new Set(cfg.evaluations);
  if (cfg.procedure === 'adversarial') {
    // The adversarial trial evaluates only linear separability (ml/adversarial-trial.ts).
    return ['classifier_loss', 'encoder_loss', ...linearEval(cfg)];
  }
  return [
    'loss',
    'i_est_train',
    ...(evals.has('i_est_test') ? ['i_est_test'] : []),
    ...linearEval(cfg),
    ...(evals.has('jacobian') ? CONDITION_PERCENTILES.map((q) => `log_condition_number_p${q}`) : []),
  ];
}
