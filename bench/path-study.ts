// Trials per hour of a whole study on each training-step path (ml/step-path.ts): the
// study's trials, spread over as many concurrent processes as a worker runs trainers,
// run to their ends once per path, alternating round by round so every path sees the
// same load. Steps, evaluations and process start-up all count; Temporal and MLflow do
// not (orchestration is measured on its own, ~0.3 s a trial).
import type { BackendName } from '../ml/backend.js';
import type { StepPath } from '../ml/step-path.js';
import { dealLanes, studyConfigs, wallSeconds, type Measure } from './stack-study.js';
import type { BenchRow } from './targets.js';

export interface PathStudyOptions {
  spec: string;
  profile: string | null;
  backend: BackendName;
  lanes: number;
  rounds: number;
  /** The first is the baseline the gain is taken against. */
  paths: readonly StepPath[];
}

export async function measurePathStudy(o: PathStudyOptions, measure: Measure): Promise<BenchRow> {
  const base = { measure: 'path_study', spec: o.spec, profile: o.profile, backend: o.backend, lanes: o.lanes };
  try {
    const configs = studyConfigs(o.spec, o.profile);
    const lanes = dealLanes(
      configs.map((c) => [c]),
      o.lanes,
    );
    const seconds = new Map<StepPath, number[]>(o.paths.map((p) => [p, []]));
    for (let r = 0; r < o.rounds; r++)
      for (const path of o.paths)
        seconds.get(path)!.push(await wallSeconds(measure, o.backend, lanes, { MIRL_STEP_PATH: path }));
    const best = (p: StepPath) => Math.min(...seconds.get(p)!);
    const row: BenchRow = { ...base, trials: configs.length, rounds: o.rounds, paths: o.paths.join(',') };
    for (const p of o.paths) {
      row[`${p}_seconds`] = seconds.get(p)!;
      row[`${p}_trials_per_hour`] = (3600 * configs.length) / best(p);
    }
    row.gain = best(o.paths[0]) / best(o.paths[o.paths.length - 1]);
    return row;
  } catch (err) {
    return { ...base, error: String(err instanceof Error ? err.message : err).slice(0, 400) };
  }
}
