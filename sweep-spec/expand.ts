// Spec -> trials. Pure and deterministic (no clock, no randomness, no node: modules), so
// the sweep workflow and `mirl sweep validate` expand a spec into exactly the same list.
import type { TrialConfig } from '../ml/config.js';
import { shortJson, SpecError } from './errors.js';
import {
  axesOf,
  configIssues,
  fillSearchPoint,
  planSpec,
  resolveConfig,
  rowIndices,
  trialLimitIssue,
  type AxisValues,
  type Plan,
} from './plan.js';
import type { Spec } from './schema.js';
import { makeTrialId } from './trial-id.js';
import { growsFirstOnly } from './extend.js';
import { dataPathOf, defaultsOfDataPath } from '../ml/data-path.js';

export interface Trial {
  /** Position in the expansion, 0-based. */
  index: number;
  trialId: string;
  sweepId: string;
  /** The settings that vary across the sweep (grid axes, zip settings, then seed). */
  axes: AxisValues;
  /** Every setting, defaults filled in. */
  config: TrialConfig;
  /** e.g. `mlp|bilinear|nce|seed=3`. */
  runName: string;
}

export interface ExpandOptions {
  /** The launch's sweep id (see makeSweepId); it is part of every trial id. */
  sweepId: string;
  profile?: string | null;
  /** Named in errors; defaults to `spec <name>`. */
  file?: string;
  /**
   * The data path version the sweep was launched under (ml/data-path.ts): a new launch's
   * DATA_PATH_VERSION, or a recorded sweep input's `dataPath`, where undefined means the
   * legacy version (inputs from before versions existed). Required, so no caller falls
   * back to either by omission. It enters the trial ids, and an older version's defaults
   * fill what the spec leaves unset.
   */
  dataPath: number | undefined;
  /** A TPE search's suggested points so far (point -> values in params order), e.g. from a sweep's carry. */
  points?: Record<string, number[]>;
  /** The specs the sweep was extended to, in order (spec/extend.ts); their new trials follow the old ones. */
  extensions?: Spec[];
}

/** Asked for a trial whose TPE point the sweep has not suggested yet. */
export class PointNotSampledError extends Error {
  override readonly name = 'PointNotSampledError';
}

/** How the trials of one launch are built: its id, data path and that path's defaults. */
interface Launch {
  sweepId: string;
  file: string;
  dataPath: number;
  defaults: Record<string, unknown>;
}

/** Enum values read on their own (`bilinear`); anything else needs its name (`target=2`). */
export function runNameOf(axes: AxisValues): string {
  return Object.entries(axes)
    .map(([key, value]) => (typeof value === 'string' && key !== 'seed' ? value : `${key}=${settingText(value)}`))
    .join('|');
}

/**
 * A setting's value as text, the one way mirl writes it everywhere (run names, axis
 * labels, MLflow params, `compare` keys): text stays as is, anything else as JSON.
 */
export function settingText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

// Trials outlive the spec object they came from (workflow state, MLflow params); lists
// in the spec must not be shared with them.
function copy<T>(value: T): T {
  return Array.isArray(value) ? (value.map(copy) as T) : value;
}

function fileOf(spec: Spec, options: ExpandOptions): string {
  return options.file ?? `spec ${spec.name}`;
}

function buildTrial(plan: Plan, index: number, launch: Launch): Trial {
  const { sweepId, file } = launch;
  const picks = rowIndices(plan, index);
  // Expanding a hole would quietly give the searched settings their defaults.
  if (plan.search && plan.dimensions[0].rows[picks[0]] === undefined) {
    throw new PointNotSampledError(
      `trial ${index} belongs to search point ${picks[0]}, which the sweep has not sampled yet`,
    );
  }
  const resolved = resolveConfig(plan, picks, launch.defaults);
  if (!resolved.ok) throw new SpecError(configIssues(plan, picks, resolved.input, resolved.issues, file));
  const axes = Object.fromEntries(Object.entries(axesOf(plan, picks)).map(([k, v]) => [k, copy(v)]));
  return {
    index,
    trialId: makeTrialId(sweepId, resolved.config, launch.dataPath),
    sweepId,
    axes,
    config: resolved.config,
    runName: runNameOf(axes),
  };
}

function checkedPlan(spec: Spec, options: ExpandOptions): { plan: Plan; launch: Launch } {
  if (typeof options.sweepId !== 'string' || options.sweepId.length === 0) {
    throw new TypeError(`expandSpec: a sweep id is required, got ${shortJson(options.sweepId)}`);
  }
  const file = fileOf(spec, options);
  const dataPath = dataPathOf(options.dataPath);
  const plan = planSpec(spec, options.profile ?? null, file);
  if (plan.searchIssues.length) throw new SpecError(plan.searchIssues);
  if (plan.earlyStopIssues.length) throw new SpecError(plan.earlyStopIssues);
  const limit = trialLimitIssue(plan, file);
  if (limit) throw new SpecError([limit]);
  for (const [point, values] of Object.entries(options.points ?? {})) fillSearchPoint(plan, Number(point), values);
  return { plan, launch: { sweepId: options.sweepId, file, dataPath, defaults: defaultsOfDataPath(dataPath) } };
}

/** Number of trials the spec (with the profile, if any) expands to. */
export function countTrials(spec: Spec, profile?: string | null): number {
  return planSpec(spec, profile ?? null).trialCount;
}

/**
 * Every trial of the sweep in a fixed order: sampled points (slowest), grid axes as
 * written, then zip groups, then seeds fastest. Throws SpecError for a spec that did not
 * pass parseSpec's checks, and PointNotSampledError for a TPE search (whose points come
 * from its results; see trialSource).
 */
export function expandSpec(spec: Spec, options: ExpandOptions): Trial[] {
  const { plan, launch } = checkedPlan(spec, options);
  const { file } = launch;
  const trials = Array.from({ length: plan.trialCount }, (_, i) => buildTrial(plan, i, launch));
  const seen = new Map<string, number>();
  for (const trial of trials) {
    const earlier = seen.get(trial.trialId);
    if (earlier !== undefined) {
      const a = rowIndices(plan, earlier);
      const b = rowIndices(plan, trial.index);
      const differing = plan.dimensions.find((_, d) => a[d] !== b[d]);
      throw new SpecError([
        {
          file,
          path: differing?.source ?? 'seeds',
          message: `trials ${earlier} and ${trial.index} resolve to the same config (${trial.runName}); remove the repeated value`,
        },
      ]);
    }
    seen.set(trial.trialId, trial.index);
  }
  return trials;
}

/** One trial by index, without expanding the rest (for `mirl trial run --index`). */
export function trialAt(spec: Spec, index: number, options: ExpandOptions): Trial {
  const { plan, launch } = checkedPlan(spec, options);
  if (!Number.isInteger(index) || index < 0 || index >= plan.trialCount) {
    throw new RangeError(
      `trial index ${index} is out of range: the sweep has ${plan.trialCount} trials (0..${plan.trialCount - 1})`,
    );
  }
  return buildTrial(plan, index, launch);
}

/** A sweep's trials built one at a time: what the workflow holds instead of the whole list. */
export interface TrialSource {
  plan: Plan;
  count: number;
  /** The trial at an index; throws SpecError when its configuration is invalid. */
  at(index: number): Trial;
  /** Each axis setting's value label (as in run names and progress axes) for a trial index. */
  axisLabels(index: number): [string, string][];
  /** Per dimension (plan order), per row: its settings' [key, label] pairs (none for sampled points: each is its own value). */
  labels: [string, string][][][];
  /**
   * The row of each plan dimension a trial takes, for a sweep extended in a way that does
   * not keep the plan's own index order (absent otherwise: rowIndices(plan, index) holds).
   */
  rowsOf?(index: number): number[];
}

const rowLabels = (row: AxisValues | undefined): [string, string][] =>
  Object.entries(row ?? {}).map(([k, v]) => [k, settingText(v)]);

/**
 * Like expandSpec without building every trial up front: a 100,000-trial sweep costs its
 * workflow a plan, not seconds of expansion. Checks the trial limit, not duplicate
 * configurations (validation at launch expands the spec once and does that).
 */
export function trialSource(spec: Spec, options: ExpandOptions): TrialSource {
  const chain = [spec, ...(options.extensions ?? [])];
  if (chain.length === 1) return planSource(spec, options);
  const checked = chain.map((s) => checkedPlan(s, options));
  // Only the slowest dimension grew: the new trials are the new plan's tail, its own order holds.
  if (checked.every((c, k) => k === 0 || growsFirstOnly(checked[k - 1].plan, c.plan)))
    return planSource(chain[chain.length - 1], options);
  return segmentedSource(checked);
}

function planSource(spec: Spec, options: ExpandOptions): TrialSource {
  const { plan, launch } = checkedPlan(spec, options);
  // Per-value counts of a sampled setting would list every point once; they are left out.
  const labels = plan.dimensions.map((dim) =>
    Array.from({ length: dim.rows.length }, (_, r) => (dim.kind === 'search' ? [] : rowLabels(dim.rows[r]))),
  );
  return {
    plan,
    count: plan.trialCount,
    at: (index) => buildTrial(plan, index, launch),
    axisLabels: (index) =>
      rowIndices(plan, index).flatMap((row, d) =>
        plan.dimensions[d].kind === 'search' ? rowLabels(plan.dimensions[d].rows[row]) : labels[d][row],
      ),
    labels,
  };
}

/**
 * An extended sweep's trials: those of its first spec, then per extension the trials its
 * plan has and the previous one had not, each run of them in that plan's order. Old
 * indices never move; every dimension of an earlier plan is a prefix of the later one's,
 * so a trial's rows are rows of the latest plan too.
 */
function segmentedSource(checked: { plan: Plan; launch: Launch }[]): TrialSource {
  const segments = checked.map(({ plan, launch }, k) => {
    if (k === 0) return { plan, launch, indices: null as Int32Array | null, count: plan.trialCount };
    const previous = checked[k - 1].plan.dimensions.map((d) => d.rows.length);
    const fresh: number[] = [];
    for (let i = 0; i < plan.trialCount; i++)
      if (rowIndices(plan, i).some((row, d) => row >= previous[d])) fresh.push(i);
    return { plan, launch, indices: Int32Array.from(fresh), count: fresh.length };
  });
  const locate = (index: number) => {
    let local = index;
    for (const segment of segments) {
      if (local < segment.count) return { segment, planIndex: segment.indices ? segment.indices[local] : local };
      local -= segment.count;
    }
    throw new RangeError(`trial index ${index} is out of range: the sweep has ${index - local} trials`);
  };
  const latest = segments[segments.length - 1].plan;
  const labels = latest.dimensions.map((dim) =>
    Array.from({ length: dim.rows.length }, (_, r) => (dim.kind === 'search' ? [] : rowLabels(dim.rows[r]))),
  );
  const rowsOf = (index: number) => {
    const { segment, planIndex } = locate(index);
    return rowIndices(segment.plan, planIndex);
  };
  return {
    plan: latest,
    count: segments.reduce((n, s) => n + s.count, 0),
    at: (index) => {
      const { segment, planIndex } = locate(index);
      return { ...buildTrial(segment.plan, planIndex, segment.launch), index };
    },
    axisLabels: (index) =>
      rowsOf(index).flatMap((row, d) =>
        latest.dimensions[d].kind === 'search' ? rowLabels(latest.dimensions[d].rows[row]) : labels[d][row],
      ),
    labels,
    rowsOf,
  };
}
