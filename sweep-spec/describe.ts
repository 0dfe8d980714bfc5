// What `mirl sweep validate` shows: how many trials a spec makes and from which axes.
import { settingText } from './expand.js';
import { formatCount, planSpec, type Plan } from './plan.js';
import { DEFAULT_LINEAR_EVAL_PROTOCOLS } from '../ml/config.js';
import { MAX_TRIALS, type Objective, type QueueName, type Spec, type TrialSettings } from './schema.js';
import type { Distribution } from './search/space.js';
import type { PlannedEarlyStop } from './search/pruning.js';

export interface AxisDescription {
  /** The setting (`seed` for the seeds axis). */
  name: string;
  values: unknown[];
  count: number;
  /** Where it is written: `grid.critic`, `zip[0]`, `profiles.quick.seeds`, ... */
  source: string;
  kind: 'search' | 'grid' | 'zip' | 'seeds';
  /** A searched setting's distribution, e.g. `log_uniform 1e-06..0.0001` (values: the points known before launch). */
  distribution?: string;
}

export interface SearchDescription {
  method: string;
  budget: number;
  seed: number;
  /** TPE: points sampled quasi-randomly before the model. */
  startup: number;
}

export interface ProfileSummary {
  name: string;
  description: string;
  trialCount: number;
}

/** The linear-evaluation protocols the trials fit (ml/eval/protocols.ts). */
export interface LinearEvalDescription {
  /** One list per value the spec gives (several where an axis varies it). */
  protocols: string[][];
  /** `default`, or where it is written: `trial.linear_eval_protocols`, `grid.linear_eval_protocols`, ... */
  source: string;
}

export interface SpecDescription {
  name: string;
  study: string;
  description: string;
  profile: string | null;
  trialCount: number;
  /** Distinct settings combinations, seeds aside. */
  configurationCount: number;
  seeds: number[];
  /** Settings the spec (and profile) write in `trial:`; the rest take their defaults. */
  fixed: TrialSettings;
  /** In expansion order: searched settings, grid axes, zip settings, seed last. */
  axes: AxisDescription[];
  /** Null where no trial evaluates linearly (evaluations fixed without linear_eval). */
  linearEval: LinearEvalDescription | null;
  search: SearchDescription | null;
  objective: Objective | null;
  earlyStop: PlannedEarlyStop | null;
  profiles: ProfileSummary[];
  maxConcurrentTrials: number;
  queue: QueueName;
  taskQueue: string;
  trialLimit: number;
}

export function describeSpec(spec: Spec, profile?: string | null): SpecDescription {
  const plan = planSpec(spec, profile ?? null);
  const distributions = new Map(plan.search?.params.map((p) => [p.key, p.dist]));
  const axes: AxisDescription[] = plan.dimensions.flatMap((dim) =>
    dim.keys.map((key) => ({
      name: key,
      // A TPE search's rows past its quasi-random start are holes until it runs.
      values: dim.rows.filter((row) => row !== undefined).map((row) => row[key]),
      count: dim.rows.length,
      source: dim.kind === 'search' ? dim.keyPaths[key] : dim.source,
      kind: dim.kind,
      ...(distributions.has(key) ? { distribution: describeDistribution(distributions.get(key)!) } : {}),
    })),
  );
  const { search } = plan;
  return {
    name: spec.name,
    study: spec.study,
    description: spec.description,
    profile: plan.profile,
    trialCount: plan.trialCount,
    configurationCount: plan.seeds.length ? plan.trialCount / plan.seeds.length : 0,
    seeds: plan.seeds,
    fixed: plan.fixed,
    axes,
    linearEval: linearEvalOf(plan),
    search: search && { method: search.method, budget: search.budget, seed: search.seed, startup: search.startup },
    objective: plan.objective,
    earlyStop: plan.earlyStop,
    profiles: Object.entries(spec.profiles).map(([name, p]) => ({
      name,
      description: p.description ?? '',
      trialCount: planSpec(spec, name).trialCount,
    })),
    maxConcurrentTrials: plan.maxConcurrentTrials,
    queue: plan.queue,
    taskQueue: plan.taskQueue,
    trialLimit: MAX_TRIALS,
  };
}

function linearEvalOf(plan: Plan): LinearEvalDescription | null {
  const varies = (key: string) => plan.dimensions.find((d) => d.keys.includes(key));
  const evaluations = plan.fixed.evaluations as string[] | undefined;
  if (!varies('evaluations') && evaluations && !evaluations.includes('linear_eval')) return null;
  const axis = varies('linear_eval_protocols');
  if (axis) {
    const rows = axis.rows.filter((row) => row !== undefined);
    return {
      protocols: rows.map((row) => row.linear_eval_protocols as string[]),
      source: axis.keyPaths.linear_eval_protocols ?? axis.source,
    };
  }
  const fixed = plan.fixed.linear_eval_protocols as string[] | undefined;
  return fixed
    ? { protocols: [fixed], source: plan.fixedPaths.linear_eval_protocols }
    : { protocols: [[...DEFAULT_LINEAR_EVAL_PROTOCOLS]], source: 'default' };
}

function describeDistribution(dist: Distribution): string {
  return dist.distribution === 'choice'
    ? `choice of ${dist.values.length}`
    : `${dist.distribution} ${dist.low}..${dist.high}`;
}

function searchLines(d: SpecDescription): string[] {
  const lines: string[] = [];
  const { search, objective } = d;
  if (search) {
    const start =
      search.method !== 'tpe'
        ? ''
        : search.startup >= search.budget
          ? ", all quasi-random (the budget is within the model's start)"
          : `, the first ${search.startup} quasi-random, the rest suggested as results arrive`;
    lines.push(`search:      ${search.method}, ${formatCount(search.budget)} points (seed ${search.seed})${start}`);
  }
  if (objective)
    lines.push(
      `objective:   ${objective.mode} ${objective.metric} at ${objective.step === 'last' ? 'the last report' : `step ${objective.step}`}`,
    );
  const es = d.earlyStop;
  if (es) {
    const rule =
      es.method === 'asha'
        ? `asha, rungs at step ${es.gracePeriod} x ${es.reductionFactor}^k, the best 1/${es.reductionFactor} go on`
        : `median of finished trials' running means, once ${es.minTrials} have finished, from step ${es.gracePeriod}`;
    lines.push(`early stop:  ${es.mode} ${es.metric}: ${rule}`);
  }
  return lines;
}

function table(rows: string[][], indent = '  '): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map(
    (r) =>
      indent +
      r
        .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c])))
        .join('  ')
        .trimEnd(),
  );
}

const MAX_VALUES_SHOWN = 12;

function showValues(values: unknown[]): string {
  const shown = values.slice(0, MAX_VALUES_SHOWN).map(settingText).join(', ');
  return values.length > MAX_VALUES_SHOWN ? `${shown}, ... (${values.length - MAX_VALUES_SHOWN} more)` : shown;
}

/** The human-readable report of `mirl sweep validate`. */
export function renderValidateText(d: SpecDescription, file?: string): string {
  const lines: string[] = [];
  lines.push(
    `${file ? `${file}: ` : ''}OK  sweep "${d.name}" (study ${d.study})${d.profile ? `, profile "${d.profile}"` : ''}`,
  );
  if (d.description.trim()) for (const line of d.description.trim().split('\n')) lines.push(`  ${line}`);
  lines.push('');
  const configs = `${formatCount(d.configurationCount)} configuration${d.configurationCount === 1 ? '' : 's'}`;
  const seeds = `${d.seeds.length} seed${d.seeds.length === 1 ? '' : 's'}`;
  lines.push(`trials:      ${formatCount(d.trialCount)} (${configs} x ${seeds}; limit ${formatCount(d.trialLimit)})`);
  lines.push(
    `task queue:  ${d.taskQueue}, at most ${d.maxConcurrentTrials} trial${d.maxConcurrentTrials === 1 ? '' : 's'} at a time`,
  );
  const le = d.linearEval;
  lines.push(
    le
      ? `linear eval: ${le.protocols.map((p) => p.join(' + ')).join(' | ')} (${le.source})`
      : 'linear eval: none (evaluations leave out linear_eval)',
  );
  lines.push(...searchLines(d));
  lines.push('');

  const fixed = Object.entries(d.fixed);
  lines.push(
    fixed.length
      ? 'fixed settings (everything else takes its default):'
      : 'fixed settings: none (every setting takes its default)',
  );
  if (fixed.length) lines.push(...table(fixed.map(([k, v]) => [k, settingText(v)])));
  lines.push('');

  lines.push('axes (first varies slowest, seed fastest):');
  lines.push(
    ...table([
      ['setting', 'count', 'values', 'from'],
      ...d.axes.map((a) => [
        a.name,
        String(a.count),
        a.distribution ? `${a.distribution}: ${showValues(a.values)}` : showValues(a.values),
        a.source,
      ]),
    ]),
  );

  if (d.profiles.length) {
    lines.push('');
    lines.push('profiles (mirl sweep launch SPEC --profile NAME):');
    lines.push(
      ...table(
        d.profiles.map((p) => [
          p.name === d.profile ? `${p.name} *` : p.name,
          `${formatCount(p.trialCount)} trial${p.trialCount === 1 ? '' : 's'}`,
          p.description,
        ]),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}
