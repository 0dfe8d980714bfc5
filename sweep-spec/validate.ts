// Checks that need more than one field at a time: settings written twice, zip lists of
// unequal length, repeated values (which would give two trials the same id), the search
// section, the trial limit, the cross-field rules of every resolved trial configuration
// and the objective's metric.
import { formatPath, shortJson, type PathSegment, type SpecIssue } from './errors.js';
import { loggedMetrics, totalSteps } from '../ml/metric-names.js';
import {
  axesOf,
  configIssues,
  formatCount,
  isVaried,
  planSpec,
  resolveConfig,
  settingSource,
  trialLimitIssue,
  type Plan,
} from './plan.js';
import { combinationRefusal, COMBINATION_KEYS, type CombinationRefusal } from './buildable.js';
import type { Profile, Spec } from './schema.js';
import { earlyStopScheduleIssues, type ConfigurationSample } from './early-stop.js';
import { canonicalJson } from './trial-id.js';

/** Problems within one layer (the spec itself, or one profile). */
function layerIssues(layer: Profile, prefix: PathSegment[], file: string): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const at = (...segments: PathSegment[]) => formatPath([...prefix, ...segments]);
  const trialKeys = new Set(Object.keys(layer.trial ?? {}));
  const gridKeys = new Set(Object.keys(layer.grid ?? {}));
  const zipKeys = new Set((layer.zip ?? []).flatMap((group) => Object.keys(group)));
  for (const key of Object.keys(layer.search?.params ?? {})) {
    const other = trialKeys.has(key)
      ? at('trial', key)
      : gridKeys.has(key)
        ? at('grid', key)
        : zipKeys.has(key)
          ? 'a zip group'
          : null;
    if (other)
      issues.push({
        file,
        path: at('search', 'params', key),
        message: `is also set in ${other}; a setting is fixed, varied or searched, in one place only`,
      });
  }

  for (const key of gridKeys) {
    if (trialKeys.has(key)) {
      issues.push({
        file,
        path: at('grid', key),
        message: `is also fixed in ${at('trial', key)}; a setting is either fixed (trial) or varied (grid, zip), not both`,
      });
    }
  }

  const zipOwner = new Map<string, number>();
  (layer.zip ?? []).forEach((group, g) => {
    const lists = Object.entries(group as Record<string, unknown[]>);
    if (lists.length === 0) {
      issues.push({
        file,
        path: at('zip', g),
        value: '{}',
        message: 'empty zip group: list at least one setting with its values',
      });
      return;
    }
    const [firstKey, firstList] = lists[0];
    for (const [key, list] of lists.slice(1)) {
      if (list.length !== firstList.length) {
        issues.push({
          file,
          path: at('zip', g, key),
          value: shortJson(list),
          message:
            `has ${list.length} values but ${at('zip', g, firstKey)} has ${firstList.length}; ` +
            'lists in a zip group are varied together and need equal lengths',
        });
      }
    }
    for (const [key] of lists) {
      if (trialKeys.has(key)) {
        issues.push({
          file,
          path: at('zip', g, key),
          message: `is also fixed in ${at('trial', key)}; a setting is either fixed or varied, not both`,
        });
      } else if (gridKeys.has(key)) {
        issues.push({
          file,
          path: at('zip', g, key),
          message: `is also a grid axis (${at('grid', key)}); a setting can be varied in one place only`,
        });
      } else if (zipOwner.has(key)) {
        issues.push({
          file,
          path: at('zip', g, key),
          message: `is also in ${at('zip', zipOwner.get(key)!)}; a setting can be varied in one place only`,
        });
      } else {
        zipOwner.set(key, g);
      }
    }
  });
  return issues;
}

/** Repeated values in a dimension would produce identical trials (and identical ids). */
function repeatIssues(plan: Plan, file: string, context: string): SpecIssue[] {
  const issues: SpecIssue[] = [];
  // Sampled points are distinct by construction (spec/search/points.ts).
  for (const dim of plan.dimensions.filter((d) => d.kind !== 'search')) {
    const seen = new Map<string, number>();
    dim.rows.forEach((row, i) => {
      const key = canonicalJson(row);
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, i);
        return;
      }
      if (dim.kind === 'zip') {
        issues.push({
          file,
          path: dim.source,
          value: shortJson(row),
          message: `${context}row ${i} repeats row ${first} (${describeRow(row)}); it would run the same trials twice`,
        });
      } else {
        const list = dim.keyPaths[dim.keys[0]];
        issues.push({
          file,
          path: `${list}[${i}]`,
          value: shortJson(row[dim.keys[0]]),
          message: `${context}${shortJson(row[dim.keys[0]])} repeats ${list}[${first}]; it would run the same trials twice`,
        });
      }
    });
  }
  return issues;
}

function describeRow(row: Record<string, unknown>): string {
  return Object.entries(row)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : shortJson(v)}`)
    .join(', ');
}

/**
 * Row picks of every combination of the dimensions in [from, last) with the others at
 * row 0. Seeds (the last dimension) cannot break a cross-field rule (their range is
 * checked by the seeds schema), so each configuration is visited once, with the first seed.
 */
function* configurationPicks(plan: Plan, from: number): Generator<number[]> {
  const dims = plan.dimensions.length - 1;
  const configurations = plan.dimensions.slice(from, dims).reduce((n, d) => n * d.rows.length, 1);
  const picks = new Array<number>(plan.dimensions.length).fill(0);
  for (let c = 0; c < configurations; c++) {
    let rest = c;
    for (let d = dims - 1; d >= from; d--) {
      const n = plan.dimensions[d].rows.length;
      picks[d] = rest % n;
      rest = Math.floor(rest / n);
    }
    yield picks;
  }
}

const listed = (values: readonly string[]) =>
  values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;

/**
 * A configuration whose critic x encoder x estimator x objective cannot be built (see
 * buildable.ts), blamed on the setting a user most likely varied, with the values each
 * setting involved may take instead.
 */
function combinationIssue(plan: Plan, picks: readonly number[], refusal: CombinationRefusal, file: string): SpecIssue {
  const { combination, alternatives } = refusal;
  const involved = COMBINATION_KEYS.filter((k) => alternatives[k]);
  const candidates = involved.length ? involved : [...COMBINATION_KEYS];
  const blamed =
    candidates.find((k) => isVaried(plan, k)) ?? candidates.find((k) => k in plan.fixedPaths) ?? candidates[0];
  const named = (k: string) => `${k} ${shortJson(combination[k as keyof typeof combination])}`;
  const others = (involved.length > 1 ? involved : COMBINATION_KEYS).filter((k) => k !== blamed);
  const instead = others
    .filter((k) => alternatives[k])
    .map((k) => `; or keep ${named(blamed)} and set ${k} to ${listed(alternatives[k]!)}`);
  const { path, note } = settingSource(plan, picks, blamed);
  return {
    file,
    path,
    value: shortJson(combination[blamed]),
    message: `${named(blamed)} cannot be built with ${others.map(named).join(', ')}: ${refusal.refusals.join('; ')}${instead.join('')}${note}`,
    ...(alternatives[blamed] ? { allowed: alternatives[blamed] } : {}),
    trial: axesOf(plan, picks),
  };
}

/** The problems of one configuration: its combination first, then the rest of trialConfigSchema's rules. */
function issuesOfConfiguration(plan: Plan, picks: readonly number[], file: string): SpecIssue[] {
  const resolved = resolveConfig(plan, picks);
  const refusal = combinationRefusal(resolved.ok ? resolved.config : resolved.input);
  const issues = refusal ? [combinationIssue(plan, picks, refusal, file)] : [];
  if (resolved.ok) return issues;
  // The schema's own issue for the refused combination is already told, in the combination's words.
  const rest = resolved.issues.filter((issue) => !refusal?.refusals.includes(issue.message));
  return [...issues, ...configIssues(plan, picks, resolved.input, rest, file)];
}

/** Runs every distinct configuration (seed aside) through the combination table and trialConfigSchema. */
function configurationIssues(plan: Plan, file: string, context: string): SpecIssue[] {
  let configurations = 0;
  const groups = new Map<string, { issue: SpecIssue; count: number }>();
  for (const picks of configurationPicks(plan, 0)) {
    configurations++;
    if (plan.dimensions[0].rows[picks[0]] === undefined) continue; // a TPE point, known only once suggested
    for (const issue of issuesOfConfiguration(plan, picks, file)) {
      const key = `${issue.path}\u0000${issue.message}`;
      const group = groups.get(key);
      if (group) group.count++;
      else groups.set(key, { issue, count: 1 });
    }
  }
  return [...groups.values()].map(({ issue, count }) => {
    const { seed: _seed, ...axes } = issue.trial ?? {};
    const example = Object.entries(axes)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : shortJson(v)}`)
      .join(', ');
    const where =
      configurations === 1
        ? ''
        : count === configurations
          ? `; fails in all ${formatCount(configurations)} configurations`
          : `; fails in ${formatCount(count)} of ${formatCount(configurations)} configurations, e.g. ${example}`;
    return { ...issue, trial: axes, message: `${context}${issue.message}${where}` };
  });
}

/**
 * An objective metric must be logged by every configuration: a trial without it tells
 * the search nothing. Which metrics a trial logs depends on its procedure and
 * evaluations, never on a sampled number, so the first sampled point stands for all.
 */
function objectiveIssues(plan: Plan, file: string, context: string): SpecIssue[] {
  const { objective, objectivePath } = plan;
  if (!objective || !objectivePath) return [];
  const common = new Map<string, number>();
  let configurations = 0;
  let example: number[] | null = null;
  let missing = 0;
  let shortest = Infinity;
  for (const picks of configurationPicks(plan, plan.search ? 1 : 0)) {
    const resolved = resolveConfig(plan, picks);
    if (!resolved.ok) continue;
    configurations++;
    shortest = Math.min(shortest, totalSteps(resolved.config));
    const logged = loggedMetrics(resolved.config);
    for (const m of logged) common.set(m, (common.get(m) ?? 0) + 1);
    if (logged.includes(objective.metric)) continue;
    missing++;
    example ??= [...picks];
  }
  if (!example) return stepIssues(plan, file, context, shortest);
  const axes = Object.entries(axesOf(plan, example)).filter(([k]) => k !== 'seed' && !plan.search?.keyPaths[k]);
  const where =
    missing === configurations
      ? 'is not logged by any trial of this spec'
      : `is not logged by ${formatCount(missing)} of ${formatCount(configurations)} configurations, e.g. ${describeRow(Object.fromEntries(axes))}`;
  return [
    {
      file,
      path: `${objectivePath}.metric`,
      value: shortJson(objective.metric),
      message: `${context}${shortJson(objective.metric)} ${where}`,
      allowed: [...common].filter(([, n]) => n === configurations).map(([m]) => m),
    },
  ];
}

/** An objective read at a step no trial reaches would never arrive. */
function stepIssues(plan: Plan, file: string, context: string, shortest: number): SpecIssue[] {
  const step = plan.objective?.step;
  if (typeof step !== 'number' || step <= shortest) return [];
  const message = `${context}step ${step} is past the end of the shortest trial (${formatCount(shortest)} steps); use a step it reaches, or last`;
  return [{ file, path: `${plan.objectivePath}.step`, value: String(step), message }];
}

/** Early stopping checked against every configuration's evaluation schedule (sampled points that are known). */
function earlyStopIssues(plan: Plan, file: string, context: string): SpecIssue[] {
  const { earlyStop, earlyStopPath } = plan;
  if (!earlyStop || !earlyStopPath) return [];
  function* samples(): Generator<ConfigurationSample> {
    for (const picks of configurationPicks(plan, 0)) {
      if (plan.dimensions[0].rows[picks[0]] === undefined) continue; // a TPE point, known only once suggested
      const resolved = resolveConfig(plan, picks);
      if (!resolved.ok) continue;
      const axes = Object.entries(axesOf(plan, [...picks])).filter(([k]) => k !== 'seed');
      yield {
        config: resolved.config,
        describe: () => (axes.length ? describeRow(Object.fromEntries(axes)) : 'every trial'),
      };
    }
  }
  const perConfiguration = plan.dimensions[plan.dimensions.length - 1].rows.length;
  // Unsampled TPE points run like the sampled ones: count them as the configurations seen.
  const known = plan.search ? plan.dimensions[0].rows.filter((r) => r !== undefined).length : 1;
  const scale = plan.search ? plan.search.budget / Math.max(1, known) : 1;
  return earlyStopScheduleIssues(earlyStop, earlyStopPath, samples(), perConfiguration * scale, file, context);
}

function planIssues(plan: Plan, file: string): SpecIssue[] {
  const context = plan.profile === null ? '' : `with profile "${plan.profile}": `;
  if (plan.searchIssues.length)
    return plan.searchIssues.map((issue) => ({ ...issue, message: `${context}${issue.message}` }));
  if (plan.earlyStopIssues.length)
    return plan.earlyStopIssues.map((issue) => ({ ...issue, message: `${context}${issue.message}` }));
  const limit = trialLimitIssue(plan, file);
  if (limit) return [limit];
  const repeats = repeatIssues(plan, file, context);
  if (repeats.length) return repeats;
  const configs = configurationIssues(plan, file, context);
  if (configs.length) return configs;
  const objective = objectiveIssues(plan, file, context);
  return objective.length ? objective : earlyStopIssues(plan, file, context);
}

/**
 * The problems of a spec that is structurally valid (already through specSchema).
 * Profiles are checked only once the spec itself is clean, so one mistake in the
 * base is reported once, not again for every profile.
 */
export function semanticIssues(spec: Spec, file: string): SpecIssue[] {
  const layered = [
    ...layerIssues(spec, [], file),
    ...Object.entries(spec.profiles).flatMap(([name, profile]) => layerIssues(profile, ['profiles', name], file)),
  ];
  if (layered.length) return layered;
  const base = planIssues(planSpec(spec, null, file), file);
  if (base.length) return base;
  return Object.keys(spec.profiles).flatMap((name) => planIssues(planSpec(spec, name, file), file));
}
