// Checks that need more than one field at a time: settings written twice, zip lists of
// unequal length, repeated values (which would give two trials the same id), the trial
// limit, and the cross-field rules of every resolved trial configuration.
import { formatPath, shortJson, type PathSegment, type SpecIssue } from './errors.js';
import { configIssues, formatCount, planSpec, resolveConfig, trialLimitIssue, type Plan } from './plan.js';
import type { Profile, Spec } from './schema.js';
import { canonicalJson } from './trial-id.js';

/** Problems within one layer (the spec itself, or one profile). */
function layerIssues(layer: Profile, prefix: PathSegment[], file: string): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const at = (...segments: PathSegment[]) => formatPath([...prefix, ...segments]);
  const trialKeys = new Set(Object.keys(layer.trial ?? {}));
  const gridKeys = new Set(Object.keys(layer.grid ?? {}));

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
      issues.push({ file, path: at('zip', g), value: '{}', message: 'empty zip group: list at least one setting with its values' });
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
        issues.push({ file, path: at('zip', g, key), message: `is also fixed in ${at('trial', key)}; a setting is either fixed or varied, not both` });
      } else if (gridKeys.has(key)) {
        issues.push({ file, path: at('zip', g, key), message: `is also a grid axis (${at('grid', key)}); a setting can be varied in one place only` });
      } else if (zipOwner.has(key)) {
        issues.push({ file, path: at('zip', g, key), message: `is also in ${at('zip', zipOwner.get(key)!)}; a setting can be varied in one place only` });
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
  for (const dim of plan.dimensions) {
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

/** Runs every distinct configuration (seed aside) through trialConfigSchema. */
function configurationIssues(plan: Plan, file: string, context: string): SpecIssue[] {
  // Seeds cannot break a cross-field rule (their range is checked by the seeds schema),
  // so each configuration is resolved once, with the first seed.
  const dims = plan.dimensions.length - 1;
  const configurations = plan.dimensions.slice(0, dims).reduce((n, d) => n * d.rows.length, 1);
  const groups = new Map<string, { issue: SpecIssue; count: number }>();
  const picks = new Array<number>(plan.dimensions.length).fill(0);
  for (let c = 0; c < configurations; c++) {
    let rest = c;
    for (let d = dims - 1; d >= 0; d--) {
      const n = plan.dimensions[d].rows.length;
      picks[d] = rest % n;
      rest = Math.floor(rest / n);
    }
    const resolved = resolveConfig(plan, picks);
    if (resolved.ok) continue;
    for (const issue of configIssues(plan, picks, resolved.input, resolved.issues, file)) {
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

function planIssues(plan: Plan, file: string): SpecIssue[] {
  const context = plan.profile === null ? '' : `with profile "${plan.profile}": `;
  const limit = trialLimitIssue(plan, file);
  if (limit) return [limit];
  const repeats = repeatIssues(plan, file, context);
  if (repeats.length) return repeats;
  return configurationIssues(plan, file, context);
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
