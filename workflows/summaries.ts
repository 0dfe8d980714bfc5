// What the Temporal UI shows of a sweep and its trials before anyone opens a history:
// a one-line summary and markdown details, fixed at start. Pure, so the client (sweep
// start) and the sweep workflow (trial starts) write them alike.
import { canonicalJson, type Spec } from '../sweep-spec/index.js';
import { sha256Hex } from '../sweep-spec/sha256.js';
import type { TrialInput } from './types.js';

/** Short digest of the resolved spec: equal digests, equal sweeps. */
export function specDigest(spec: Spec): string {
  return sha256Hex(canonicalJson(spec)).slice(0, 12);
}

export function sweepStaticSummary(spec: Spec, profile: string | null, trials: number): string {
  return `${spec.name} (${spec.study}${profile ? `, profile ${profile}` : ''}): ${trials} trials`;
}

export function sweepStaticDetails(
  spec: Spec,
  profile: string | null,
  plan: { trialCount: number; maxConcurrentTrials: number; taskQueue: string },
): string {
  return [
    `**${spec.name}**: study \`${spec.study}\`, profile \`${profile ?? 'none'}\``,
    `${plan.trialCount} trials, at most ${plan.maxConcurrentTrials} at once on \`${plan.taskQueue}\``,
    `spec digest \`${specDigest(spec)}\``,
    ...(spec.description ? ['', spec.description] : []),
  ].join('\n');
}

export function trialStaticSummary(input: Pick<TrialInput, 'runName' | 'index' | 'run'>): string {
  return `${input.runName} (trial ${input.index}${input.run > 1 ? `, run ${input.run}` : ''})`;
}

/** The configuration as `key: value` lines, the settings that vary first. */
export function trialStaticDetails(input: Pick<TrialInput, 'axes' | 'config' | 'sweepId'>): string {
  const varied = Object.keys(input.axes);
  const rest = Object.keys(input.config)
    .filter((k) => !varied.includes(k))
    .sort();
  const line = (k: string) => `${k}: \`${JSON.stringify((input.config as Record<string, unknown>)[k])}\``;
  return [`sweep \`${input.sweepId}\``, '', '**varied**', ...varied.map(line), '', '**fixed**', ...rest.map(line)].join(
    '\n',
  );
}
