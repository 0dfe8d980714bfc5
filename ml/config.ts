// The resolved settings of one trial. A sweep spec's `trial:` block and grid axes use
// exactly these keys, so this schema is the single source of truth for names, defaults
// and allowed values (the spec layer reuses it; the CLI prints its errors).
import { z } from 'zod';

export const ENCODERS = ['identity', 'mlp', 'mlp-shortcut', 'convnet', 'realnvp'] as const;
export const CRITICS = ['inner', 'bilinear', 'separable', 'concat'] as const;
export const ESTIMATORS = ['nce', 'nwj'] as const;
export const OBJECTIVES = ['maximize', 'target'] as const;
export const COUPLINGS = ['shift', 'affine'] as const;
export const DATASETS = ['mnist', 'gaussian'] as const;
export const VIEWS = ['top', 'bottom'] as const;
export const PROCEDURES = ['infomax', 'adversarial'] as const;
export const EVALUATIONS = ['i_est_test', 'linear_eval', 'jacobian'] as const;
export const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
/** Linear-evaluation protocols (ml/eval/protocols.ts): how the codes' classifier is fitted. */
export const LINEAR_EVAL_PROTOCOLS = ['converged', 'notebook'] as const;
export type LinearEvalProtocol = (typeof LINEAR_EVAL_PROTOCOLS)[number];
export const DEFAULT_LINEAR_EVAL_PROTOCOLS: readonly LinearEvalProtocol[] = ['converged', 'notebook'];

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

export const trialConfigSchema = z
  .object({
    procedure: z.enum(PROCEDURES).default('infomax'),
    data: z.enum(DATASETS).default('mnist'),
    /** Gaussian study only: whether one shared Z is drawn per batch (non-i.i.d.). */
    negatives: z.enum(['iid', 'noniid']).default('iid'),
    view1: z.enum(VIEWS).default('top'),
    view2: z.enum(VIEWS).default('bottom'),
    noise: z.number().nonnegative().max(10).default(0),
    encoder: z.enum(ENCODERS).default('mlp'),
    coupling: z.enum(COUPLINGS).default('shift'),
    realnvp_layers: positiveInt.max(200).default(30),
    realnvp_hidden: positiveInt.max(4096).default(512),
    critic: z.enum(CRITICS).default('bilinear'),
    /** Hidden widths of the concat critic's MLP (first layer split over x and y). */
    critic_hidden: z.array(positiveInt.max(4096)).min(1).max(16).default([200]),
    estimator: z.enum(ESTIMATORS).default('nce'),
    objective: z.enum(OBJECTIVES).default('maximize'),
    /** t in |I_EST - t|; required when objective is `target`. */
    target: z.number().nullable().default(null),
    learning_rate: z.number().positive().max(10).default(1e-4),
    batch_size: positiveInt.min(2).max(8192).default(128),
    /** At least 1: a trial of no steps trains nothing and is a mistyped spec, not a result. */
    steps: positiveInt.max(10_000_000).default(21_000),
    eval_interval: positiveInt.max(10_000_000).default(1_000),
    log_interval: positiveInt.max(10_000_000).default(10),
    evaluations: z.array(z.enum(EVALUATIONS)).default(['i_est_test', 'linear_eval']),
    /** Train linear evaluation on this many training codes (null: all 60,000). */
    linear_eval_train_size: positiveInt.nullable().default(null),
    /** Evaluate on this many test codes (null: all 10,000). */
    linear_eval_test_size: positiveInt.nullable().default(null),
    /**
     * L-BFGS iterations a linear evaluation may use before it reports converged: false.
     * The one budget of every trial, the CLI and the bench: the paper's study specs and
     * their profiles leave it alone (test/unit/study-specs.test.ts), so a study's
     * accuracies never differ by where the solver was cut off. The rule it allows time
     * for, LINEAR_EVAL_STOP, was met after 805-841 iterations on all 60,000 codes.
     * (500 before data path 2, see ml/data-path.ts.)
     */
    linear_eval_max_iter: positiveInt.max(100_000).default(2_000),
    /** scikit-learn's C: inverse L2 strength on the summed loss (the `converged` protocol's). */
    linear_eval_c: z.number().positive().default(10),
    /**
     * Which fits a linear evaluation runs on the same scaled codes, each logging its own
     * metrics: `converged` (L-BFGS to LINEAR_EVAL_STOP, metrics linear_eval_*) and
     * `notebook` (the authors' saga, C = 10, tol = 0.1, at most 100 epochs, metrics
     * linear_eval_notebook_*). Both by default since data path 3 (['converged'] before).
     */
    linear_eval_protocols: z
      .array(
        z.enum(LINEAR_EVAL_PROTOCOLS, {
          error: (issue) =>
            `unknown linear-evaluation protocol ${JSON.stringify(issue.input)}: allowed are ${LINEAR_EVAL_PROTOCOLS.map((p) => `"${p}"`).join(', ')}`,
        }),
      )
      .min(1, { error: `name at least one linear-evaluation protocol (${LINEAR_EVAL_PROTOCOLS.join(', ')})` })
      .refine((list) => new Set(list).size === list.length, {
        error: (issue) => `each linear-evaluation protocol may be named once, got ${JSON.stringify(issue.input)}`,
      })
      .default(() => [...DEFAULT_LINEAR_EVAL_PROTOCOLS]),
    /** Jacobians per evaluation: the first this many rows of the current training batch. */
    jacobian_inputs: positiveInt.max(10_000).default(128),
    /** Batches averaged for I_EST on the test split (Gaussian: fresh samples). */
    i_est_test_batches: positiveInt.max(10_000).default(78),
    adv_classifier_lr: z.number().positive().default(1e-3),
    adv_encoder_lr: z.number().positive().default(1e-5),
    adv_warmup_steps: nonNegativeInt.default(1_000),
    adv_rounds: nonNegativeInt.default(4_000),
    adv_classifier_steps: positiveInt.default(10),
    adv_eval_every_rounds: positiveInt.default(400),
    seed: nonNegativeInt.max(2 ** 31 - 1).default(0),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.objective === 'target' && c.target === null) {
      ctx.addIssue({ code: 'custom', path: ['target'], message: 'objective "target" needs a number in `target`' });
    }
    if (c.procedure === 'adversarial' && c.encoder !== 'realnvp') {
      ctx.addIssue({
        code: 'custom',
        path: ['encoder'],
        message: 'the adversarial procedure trains an invertible encoder: use encoder "realnvp"',
      });
    }
    if (c.encoder === 'identity' && c.critic === 'inner') {
      // Neither has a weight: the optimizer would get an empty variable list and every
      // attempt would fail at its first step (a TypeError in tfjs' minimize).
      ctx.addIssue({
        code: 'custom',
        path: ['critic'],
        message:
          'encoder "identity" and critic "inner" have no weights between them: nothing to train; use a critic with weights (bilinear, separable, concat) or a trained encoder',
      });
    }
    if (c.data === 'gaussian' && c.encoder !== 'identity') {
      ctx.addIssue({
        code: 'custom',
        path: ['encoder'],
        message: 'the Gaussian study feeds raw 1-d samples to the critic: use encoder "identity"',
      });
    }
    if (c.data === 'gaussian' && c.evaluations.some((e) => e !== 'i_est_test')) {
      ctx.addIssue({
        code: 'custom',
        path: ['evaluations'],
        message: 'the Gaussian study has no labels or images: only "i_est_test" applies',
      });
    }
  });

export type TrialConfig = z.output<typeof trialConfigSchema>;
export type TrialConfigInput = z.input<typeof trialConfigSchema>;

export function parseTrialConfig(input: unknown): TrialConfig {
  return trialConfigSchema.parse(input);
}
