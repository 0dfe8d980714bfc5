// What `mirl sweep validate` shows: how many trials a spec makes and from which axes.
import { formatCount, planSpec } from './plan.js';
import { MAX_TRIALS, type QueueName, type Spec, type TrialSettings } from './schema.js';

export interface AxisDescription {
  /** The setting (`seed` for the seeds axis). */
  name: string;
  values: unknown[];
  count: number;
  /** Where it is written: `grid.critic`, `zip[0]`, `profiles.quick.seeds`, ... */
  source: string;
  kind: 'grid' | 'zip' | 'seeds';
}

export interface ProfileSummary {
  name: string;
  description: string;
  trialCount: number;
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
  /** In expansion order: grid axes, zip settings, seed last. */
  axes: AxisDescription[];
  profiles: ProfileSummary[];
  maxConcurrentTrials: number;
  queue: QueueName;
  taskQueue: string;
  trialLimit: number;
}

export function describeSpec(spec: Spec, profile?: string | null): SpecDescription {
  const plan = planSpec(spec, profile ?? null);
  const axes: AxisDescription[] = plan.dimensions.flatMap((dim) =>
    dim.keys.map((key) => ({
      name: key,
      values: dim.rows.map((row) => row[key]),
      count: dim.rows.length,
      source: dim.source,
      kind: dim.kind,
    })),
  );
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

function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function table(rows: string[][], indent = '  '): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => indent + r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd());
}

const MAX_VALUES_SHOWN = 12;

function showValues(values: unknown[]): string {
  const shown = values.slice(0, MAX_VALUES_SHOWN).map(show).join(', ');
  return values.length > MAX_VALUES_SHOWN ? `${shown}, ... (${values.length - MAX_VALUES_SHOWN} more)` : shown;
}

/** The human-readable report of `mirl sweep validate`. */
export function renderValidateText(d: SpecDescription, file?: string): string {
  const lines: string[] = [];
  lines.push(`${file ? `${file}: ` : ''}OK  sweep "${d.name}" (study ${d.study})${d.profile ? `, profile "${d.profile}"` : ''}`);
  if (d.description.trim()) for (const line of d.description.trim().split('\n')) lines.push(`  ${line}`);
  lines.push('');
  const configs = `${formatCount(d.configurationCount)} configuration${d.configurationCount === 1 ? '' : 's'}`;
  const seeds = `${d.seeds.length} seed${d.seeds.length === 1 ? '' : 's'}`;
  lines.push(`trials:      ${formatCount(d.trialCount)} (${configs} x ${seeds}; limit ${formatCount(d.trialLimit)})`);
  lines.push(`task queue:  ${d.taskQueue}, at most ${d.maxConcurrentTrials} trial${d.maxConcurrentTrials === 1 ? '' : 's'} at a time`);
  lines.push('');

  const fixed = Object.entries(d.fixed);
  lines.push(fixed.length ? 'fixed settings (everything else takes its default):' : 'fixed settings: none (every setting takes its default)');
  if (fixed.length) lines.push(...table(fixed.map(([k, v]) => [k, show(v)])));
  lines.push('');

  lines.push('axes (first varies slowest, seed fastest):');
  lines.push(...table([['setting', 'count', 'values', 'from'], ...d.axes.map((a) => [a.name, String(a.count), showValues(a.values), a.source])]));

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
