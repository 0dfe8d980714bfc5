// The effective early_stop of a plan: the spec's section with the chosen profile's fields
// laid over it, reduced to the rule's settings (defaults filled in), or the problems that
// make it unusable, each naming its field.
import type { TrialConfig } from '../ml/config.js';
import { evaluationAtOrAfter, evaluationCount, evaluationMetrics, totalSteps } from '../ml/metric-names.js';
import type { SpecIssue } from './errors.js';
import {
  DEFAULT_MEDIAN_MIN_TRIALS,
  DEFAULT_REDUCTION_FACTOR,
  EARLY_STOP_METHODS,
  MAX_EARLY_STOP_REPORTS,
  type EarlyStopSpec,
} from './schema.js';
import type { PlannedEarlyStop } from './search/pruning.js';

export interface ResolvedEarlyStop {
  earlyStop: PlannedEarlyStop | null;
  /** Where the section is written (`early_stop` or `profiles.quick.early_stop`), for its problems. */
  path: string | null;
  issues: SpecIssue[];
}

const REQUIRED = ['method', 'metric', 'mode', 'grace_period'] as const;

/** Later layers win per field; a profile alone must write every required field. */
export function resolveEarlyStop(
  layers: { section: Partial<EarlyStopSpec> | undefined; prefix: string }[],
  file: string,
): ResolvedEarlyStop {
  const fields: Partial<EarlyStopSpec> = {};
  const paths: Record<string, string> = {};
  let path: string | null = null;
  for (const { section, prefix } of layers) {
    if (!section) continue;
    path = `${prefix}early_stop`;
    for (const [k, v] of Object.entries(section)) {
      if (v === undefined) continue;
      (fields as Record<string, unknown>)[k] = v;
      paths[k] = `${prefix}early_stop.${k}`;
    }
  }
  if (path === null) return { earlyStop: null, path: null, issues: [] };
  const at = (field: string) => paths[field] ?? `${path}.${field}`;
  const issues: SpecIssue[] = [];
  // Only a profile's section can lack a field (the spec's own is checked by its schema).
  const missing = REQUIRED.filter((field) => fields[field] === undefined);
  if (missing.length) {
    issues.push({
      file,
      path,
      message: `missing ${missing.join(', ')}: the spec has no early_stop for the profile to amend, so the profile must write ${REQUIRED.join(', ')}`,
      ...(missing.includes('method') ? { allowed: EARLY_STOP_METHODS } : {}),
    });
  }
  if (fields.method === 'median' && fields.reduction_factor !== undefined) {
    issues.push({
      file,
      path: at('reduction_factor'),
      message: 'applies to method asha only, not median',
      allowed: ['asha'],
    });
  }
  if (fields.method === 'asha' && fields.min_trials !== undefined) {
    issues.push({
      file,
      path: at('min_trials'),
      message: 'applies to method median only, not asha',
      allowed: ['median'],
    });
  }
  if (issues.length) return { earlyStop: null, path, issues };
  return {
    earlyStop: {
      method: fields.method!,
      metric: fields.metric!,
      mode: fields.mode!,
      gracePeriod: fields.grace_period!,
      reductionFactor: fields.reduction_factor ?? DEFAULT_REDUCTION_FACTOR,
      minTrials: fields.min_trials ?? DEFAULT_MEDIAN_MIN_TRIALS,
    },
    path,
    issues,
  };
}

/** One resolved configuration (seeds aside) and how to name it in a message. */
export interface ConfigurationSample {
  config: TrialConfig;
  describe(): string;
}

/**
 * What early stopping needs of every configuration: its metric among those an evaluation
 * reports, an evaluation between grace_period and the last step (else nothing can ever be
 * stopped), and few enough reports in all for the sweep's state to carry them.
 */
export function earlyStopScheduleIssues(
  es: PlannedEarlyStop,
  path: string,
  samples: Iterable<ConfigurationSample>,
  seeds: number,
  file: string,
  context: string,
): SpecIssue[] {
  const common = new Map<string, number>();
  let configurations = 0;
  let reports = 0;
  let missing = 0;
  let example = '';
  let unevaluated: SpecIssue | null = null;
  for (const { config, describe } of samples) {
    configurations++;
    reports += evaluationCount(config) * seeds;
    const metrics = evaluationMetrics(config);
    for (const m of metrics) common.set(m, (common.get(m) ?? 0) + 1);
    if (!metrics.includes(es.metric) && missing++ === 0) example = describe();
    const last = totalSteps(config);
    const next = evaluationAtOrAfter(config, es.gracePeriod);
    if (!unevaluated && (next === null || next >= last)) {
      unevaluated = {
        file,
        path: `${path}.grace_period`,
        value: String(es.gracePeriod),
        message:
          `${context}no evaluation between step ${es.gracePeriod} and the last step (${last}) of ${describe()}, so no trial could be stopped: ` +
          `lower grace_period or evaluate more often (${config.procedure === 'adversarial' ? 'adv_eval_every_rounds' : 'eval_interval'})`,
      };
    }
  }
  if (missing) {
    const where =
      missing === configurations
        ? 'is not reported by the evaluations of any trial of this spec'
        : `is not reported by the evaluations of ${missing} of ${configurations} configurations, e.g. ${example}`;
    const allowed = [...common].filter(([, n]) => n === configurations).map(([m]) => m);
    return [
      {
        file,
        path: `${path}.metric`,
        value: JSON.stringify(es.metric),
        message: `${context}${JSON.stringify(es.metric)} ${where}`,
        allowed,
      },
    ];
  }
  if (unevaluated) return [unevaluated];
  if (reports > MAX_EARLY_STOP_REPORTS) {
    return [
      {
        file,
        path,
        message:
          `${context}the trials would report ${reports} evaluations in all; early stopping keeps every report in the sweep's state, ` +
          `at most ${MAX_EARLY_STOP_REPORTS}: fewer trials, or evaluate less often`,
      },
    ];
  }
  return [];
}
