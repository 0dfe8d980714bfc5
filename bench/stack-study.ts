// Trials per hour of a study's stackable trials (the seeds of one configuration, where
// ml/seed-stack.ts can train them), run alone against run as stacks: the same trials,
// spread over as many concurrent processes as a worker runs trainers, alternating round
// by round so both see the same load, each process with a worker trainer's thread pools.
// Steps, evaluations and process start-up all count.
import os from 'node:os';
import type { BackendName } from '../ml/backend.js';
import { trainerThreadEnv } from '../activities/trainer-threads.js';
import type { TrialConfig } from '../ml/config.js';
import { DATA_PATH_VERSION } from '../ml/data-path.js';
import { stackRefusal } from '../ml/stackable.js';
import { loadSpecFile } from '../sweep-spec/load.js';
import { expandSpec } from '../sweep-spec/expand.js';
import type { MeasureRequest } from './measure.js';
import type { BenchRow } from './targets.js';

export interface StackStudyOptions {
  spec: string;
  profile: string | null;
  backend: BackendName;
  lanes: number;
  rounds: number;
}

export type Measure = (
  req: MeasureRequest,
  env?: Record<string, string>,
) => Promise<Record<string, number | string> | { error: string }>;

/** The seeds of each configuration that stacks, as groups; configurations with one seed or that do not stack are left out. */
export function stackGroups(configs: readonly TrialConfig[]): TrialConfig[][] {
  const groups = new Map<string, TrialConfig[]>();
  for (const c of configs) {
    const { seed: _seed, ...rest } = c;
    const key = JSON.stringify(rest);
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  return [...groups.values()].filter((g) => g.length > 1 && stackRefusal(g) === null);
}

/** Every trial configuration of a study spec under a profile. */
export function studyConfigs(spec: string, profile: string | null): TrialConfig[] {
  return expandSpec(loadSpecFile(spec), { sweepId: 'bench', profile, dataPath: DATA_PATH_VERSION }).map(
    (t) => t.config,
  );
}

/** Units dealt to lanes in turn. */
export function dealLanes<T>(units: readonly T[], lanes: number): T[][] {
  const out: T[][] = Array.from({ length: Math.max(1, Math.min(lanes, units.length)) }, () => []);
  units.forEach((u, i) => out[i % out.length].push(u));
  return out;
}

/** Seconds until every lane's units have run, the lanes in parallel processes; `extraEnv` goes to each. */
export async function wallSeconds(
  measure: Measure,
  backend: BackendName,
  lanes: TrialConfig[][][],
  extraEnv: Record<string, string> = {},
): Promise<number> {
  // Each lane's thread pools sized as a worker sizes its trainers'.
  const env = { ...trainerThreadEnv(os.availableParallelism(), lanes.length), ...extraEnv };
  const t0 = performance.now();
  const rows = await Promise.all(lanes.map((units) => measure({ kind: 'trials', backend, units }, env)));
  const failed = rows.find((r) => 'error' in r);
  if (failed) throw new Error(String((failed as { error: string }).error));
  return (performance.now() - t0) / 1000;
}

export async function measureStackStudy(o: StackStudyOptions, measure: Measure): Promise<BenchRow> {
  const base = { measure: 'stack_study', spec: o.spec, profile: o.profile, backend: o.backend, lanes: o.lanes };
  try {
    const groups = stackGroups(studyConfigs(o.spec, o.profile));
    const count = groups.reduce((n, g) => n + g.length, 0);
    if (count === 0) return { ...base, error: 'no configuration of this study stacks' };
    const solo = dealLanes(
      groups.flat().map((c) => [c]),
      o.lanes,
    );
    const stacked = dealLanes(groups, o.lanes);
    const soloS: number[] = [];
    const stackedS: number[] = [];
    for (let r = 0; r < o.rounds; r++) {
      soloS.push(await wallSeconds(measure, o.backend, solo));
      stackedS.push(await wallSeconds(measure, o.backend, stacked));
    }
    const perHour = (s: number) => (3600 * count) / s;
    const best = (xs: number[]) => Math.min(...xs);
    return {
      ...base,
      trials: count,
      stacks: groups.length,
      rounds: o.rounds,
      solo_seconds: soloS,
      stacked_seconds: stackedS,
      solo_trials_per_hour: perHour(best(soloS)),
      stacked_trials_per_hour: perHour(best(stackedS)),
      gain: best(soloS) / best(stackedS),
    };
  } catch (err) {
    return { ...base, error: String(err instanceof Error ? err.message : err).slice(0, 400) };
  }
}
