// Which figures a study's report draws, keyed by the spec's `study:` name, after the
// paper's figures. A study the catalogue does not know (smoke, a user's own) gets one
// figure per logged metric against the training step.
import { SYSTEM_PREFIX } from '../results/mlflow-contract.js';
import { gaussianTrueMi } from '../ml/data/pairs.js';
import type { ReportTrial, XOf } from './aggregate.js';

export type XAxis = 'step' | 'round';

export interface CurveFigure {
  kind: 'curves';
  /** File stem: <name>.svg, <name>.png. */
  name: string;
  title: string;
  metric: string;
  x: XAxis;
  /** Draw the true MI of the trials' data as a horizontal rule (the Gaussian study). */
  trueMi?: boolean;
}

export interface Band {
  lo: string;
  hi: string;
  label: string;
}

export interface BandFigure {
  kind: 'bands';
  name: string;
  title: string;
  /** Nested bands, widest first; their curves are means over seeds. */
  bands: Band[];
  yTitle: string;
  x: XAxis;
}

export type Figure = CurveFigure | BandFigure;

export const METRIC_TITLES: Record<string, string> = {
  linear_eval_accuracy: 'linear evaluation accuracy (test)',
  linear_eval_notebook_accuracy: "linear evaluation accuracy (test, the notebook's early-stopped fit)",
  linear_eval_train_accuracy: 'linear evaluation accuracy (train)',
  linear_eval_converged: 'linear evaluation converged (1) or cut off by its budget (0)',
  linear_eval_iterations: 'linear evaluation L-BFGS iterations',
  linear_eval_notebook_train_accuracy: "linear evaluation accuracy (train, the notebook's early-stopped fit)",
  linear_eval_notebook_converged: "the notebook's saga fit met tol 0.1 (1) or ran all 100 epochs (0)",
  linear_eval_notebook_epochs: "the notebook's saga fit: epochs run",
  i_est_test: 'I_EST (test)',
  i_est_train: 'I_EST (training batch)',
  loss: 'training loss',
  classifier_loss: 'classifier loss',
  encoder_loss: 'encoder loss (against uniform labels)',
};

export const metricTitle = (metric: string): string => METRIC_TITLES[metric] ?? metric;

export const X_TITLES: Record<XAxis, string> = { step: 'training step', round: 'adversarial round' };

export const CONDITION_BANDS: Band[] = [
  { lo: 'log_condition_number_p0', hi: 'log_condition_number_p100', label: 'p0 to p100 (min to max)' },
  { lo: 'log_condition_number_p20', hi: 'log_condition_number_p80', label: 'p20 to p80' },
  { lo: 'log_condition_number_p40', hi: 'log_condition_number_p60', label: 'p40 to p60' },
];

function curves(metric: string, extra: Partial<CurveFigure> = {}): CurveFigure {
  return {
    kind: 'curves',
    name: metric,
    title: `${metricTitle(metric)} vs ${X_TITLES[extra.x ?? 'step']}`,
    metric,
    x: 'step',
    ...extra,
  };
}

const accuracyAndMi = [curves('linear_eval_accuracy'), curves('i_est_test')];

export const CATALOGUE: Record<string, Figure[]> = {
  invertible: accuracyAndMi,
  adversarial: [
    curves('linear_eval_accuracy', { x: 'round', title: 'linear evaluation accuracy vs adversarial round' }),
    curves('encoder_loss', { x: 'round', title: 'encoder loss vs adversarial round' }),
  ],
  'hard-to-invert': [
    {
      kind: 'bands',
      name: 'log_condition_number',
      title: 'log condition number of the Jacobian dg1/dx1 vs training step',
      bands: CONDITION_BANDS,
      yTitle: 'log(σmax / σmin)',
      x: 'step',
    },
    ...accuracyAndMi,
  ],
  'critic-capacity': accuracyAndMi,
  'encoder-architecture': accuracyAndMi,
  noniid: [
    curves('i_est_test', { trueMi: true, title: 'I_EST (test) vs training step, true MI as a rule' }),
    curves('i_est_train', { trueMi: true, title: 'I_EST (training batch) vs training step, true MI as a rule' }),
  ],
};

export function figureMetrics(f: Figure): string[] {
  return f.kind === 'curves' ? [f.metric] : f.bands.flatMap((b) => [b.lo, b.hi]);
}

const FALLBACK_ORDER = ['linear_eval_accuracy', 'i_est_test', 'i_est_train', 'loss'];

/**
 * The study's figures; unknown studies get one per logged metric, evaluations first.
 * Not the trainer's own cost (system/): it says how a trial ran, not what it found, and
 * MLflow's system metrics charts already show it. A metric name becomes a file stem,
 * so any character a path would split on is replaced.
 */
export function figuresFor(study: string, loggedMetrics: Iterable<string>): Figure[] {
  const known = CATALOGUE[study];
  if (known) return [...known, ...notebookTwins(known, new Set(loggedMetrics))];
  const rank = (m: string) => (FALLBACK_ORDER.includes(m) ? FALLBACK_ORDER.indexOf(m) : FALLBACK_ORDER.length);
  return [...new Set(loggedMetrics)]
    .filter((m) => !m.startsWith(SYSTEM_PREFIX))
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
    .map((m) => curves(m, { name: m.replace(/[^\w.-]+/g, '_') }));
}

const NOTEBOOK_ACCURACY = 'linear_eval_notebook_accuracy';

/**
 * Trials that also ran the notebook's linear-evaluation protocol get its accuracy drawn
 * like the converged one, so the two protocols' curves sit side by side; other trials
 * get no empty figure for it.
 */
function notebookTwins(figures: Figure[], logged: ReadonlySet<string>): Figure[] {
  if (!logged.has(NOTEBOOK_ACCURACY)) return [];
  return figures.flatMap((f) =>
    f.kind === 'curves' && f.metric === 'linear_eval_accuracy'
      ? [
          {
            ...f,
            name: NOTEBOOK_ACCURACY,
            metric: NOTEBOOK_ACCURACY,
            title: `${metricTitle(NOTEBOOK_ACCURACY)} vs ${X_TITLES[f.x]}`,
          },
        ]
      : [],
  );
}

/** The adversarial procedure counts warm-up steps first, then one step per round. */
export const roundOf: XOf = (trial: ReportTrial, step: number) => step - Number(trial.params.adv_warmup_steps ?? 0);

export const xOf = (axis: XAxis): XOf | undefined => (axis === 'round' ? roundOf : undefined);

/**
 * The true MI of the trials' data where it is known in closed form: the Gaussian
 * study's marginal is the same for i.i.d. and dependent batches, so one value serves.
 */
export function trueMiOf(trials: ReportTrial[]): number | null {
  return trials.some((t) => t.params.data === 'gaussian') ? gaussianTrueMi() : null;
}
