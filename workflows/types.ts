// Data that crosses the workflow boundary (workflow inputs, results, signals, queries,
// activity input and output). Plain JSON only: it is stored in Temporal's history.
import type { AxisValues, Spec, TrialSettings } from '../sweep-spec/index.js';
import type { TrialConfig } from '../ml/config.js';
import type { FinalRunStatus } from '../tracking/index.js';

/** Sweep and trial workflows live here; activity queues are per resource (mirl-cpu, mirl-gpu). */
export const SWEEP_TASK_QUEUE = 'mirl-sweeps';

/**
 * Failures a retry cannot fix: the trial fails at once instead of burning attempts.
 * TypeError and its kin are not listed: Node's fetch throws a TypeError for a refused
 * connection too, so the trial's activity tells our bugs from outages by where they were
 * thrown (activities/failure-class.ts) and marks the failure non-retryable itself.
 */
export const NON_RETRYABLE_ERROR_TYPES = [
  'NonFiniteError',
  'TrialConfigError',
  'ZodError',
  'CheckpointCorruptError',
  'SpecError',
];

// Appended, never reordered: a carry stores each state as its position here.
export const TRIAL_STATES = ['pending', 'running', 'done', 'failed', 'cancelled', 'pruned'] as const;
export type TrialStateName = (typeof TRIAL_STATES)[number];
export type StateCounts = Record<TrialStateName, number>;
/** Where a trial's start can end: every state but waiting and running. */
export type ClosedTrialState = Exclude<TrialStateName, 'pending' | 'running'>;

/** An axis's values by how far their trials got. */
export interface AxisSummary {
  values: number;
  /** Every trial with this value done. */
  complete: number;
  /** Some done, not all. */
  partly: number;
  /** None done. */
  untouched: number;
}

export interface SweepOptions {
  /** Activity heartbeat timeout: how long a dead worker holds a trial before a retry elsewhere. */
  heartbeatTimeoutMs?: number;
  /** Trainer checkpoints every this many steps (default: the trial's eval_interval). */
  checkpointEvery?: number;
  /** Continue-as-new after this many child starts in one run (history size guard). */
  continueAsNewAfterStarts?: number;
  /** Attempts per trial activity before the trial counts as failed. */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt up to a minute. */
  retryInitialIntervalMs?: number;
  /**
   * Temporal task priority of the sweep's trials, 1 (first) to 5 (last); 0 leaves the
   * server's default (3). Workers take queued trials of a lower key first, across sweeps.
   */
  priority?: number;
}

export const PRIORITY_KEYS = [1, 2, 3, 4, 5] as const;

export const DEFAULT_SWEEP_OPTIONS: Required<SweepOptions> = {
  heartbeatTimeoutMs: 60_000,
  checkpointEvery: 0,
  continueAsNewAfterStarts: 500,
  maxAttempts: 5,
  retryInitialIntervalMs: 2_000,
  priority: 0,
};

/**
 * A trial record of sweeps started before the compact carry (format 2): still read when
 * such a sweep is replayed, continued or rerun.
 */
export interface LegacyTrialRecord {
  state: TrialStateName;
  runs: number;
  step?: number | null;
  metrics?: Record<string, number>;
  resumedFrom?: number | null;
  backend?: string;
  error?: string;
  overrides?: TrialSettings;
  startedAt?: number;
  recordedAt?: number;
  adopted?: boolean;
}

export interface LegacySweepCarry {
  trials: LegacyTrialRecord[];
  paused: boolean;
  cancelRequested: boolean;
  maxConcurrent: number;
  startedTotal: number;
  generation: number;
}

/** A running trial: which start it is and when the sweep started it (workflow time, ms). */
export interface RunningTrial {
  run: number;
  startedAt: number;
}

/** What the sweep remembers of one of its latest outcomes (the full record is the trial's own workflow and MLflow run). */
export interface TrialDetail {
  index: number;
  run: number;
  state: ClosedTrialState;
  step: number | null;
  metrics: Record<string, number>;
  resumedFrom: number | null;
  backend: string | null;
  startedAt: number | null;
  recordedAt: number;
}

/**
 * Everything a sweep run hands to the next (continue-as-new, or a restart after it
 * closed). Its size grows with the window, the reruns and two bounded logs, never
 * with the trial count: states are run-length encoded, everything else is sparse.
 */
export interface SweepCarry {
  format: 2;
  total: number;
  /** Every trial's state, run-length encoded in index order: `d1500r200p300` (see sweep-state.ts). */
  states: string;
  /** Starts per trial where it differs from the state's default (0 for pending/cancelled, 1 otherwise). */
  runs: Record<string, number>;
  running: Record<string, RunningTrial>;
  /** Distinct override sets from rerun-failed, and which trials use which. */
  overrideSets: TrialSettings[];
  overrideOf: Record<string, number>;
  /** The newest failure texts (at most MAX_ERRORS), by trial index. */
  errors: Record<string, string>;
  /** The newest outcomes (at most MAX_RECENT), oldest first. */
  recent: TrialDetail[];
  /** Wall time of done trials, for the ETA: how many and their total (ms). */
  durations: { count: number; totalMs: number };
  paused: boolean;
  cancelRequested: boolean;
  maxConcurrent: number;
  /** Children started over the sweep's whole life. */
  startedTotal: number;
  /** Runs so far (continue-as-new count + restarts). */
  generation: number;
  /** A TPE search's suggested points and observed objectives (absent for every other sweep). */
  search?: SearchCarry;
  /** The evaluations reported for early stopping and the trials pruned (absent without early_stop). */
  earlyStop?: EarlyStopCarry;
  /** The specs the sweep was extended to, in order (absent until `mirl sweep extend`). */
  extensions?: Spec[];
}

/** `mirl sweep extend`: the whole extended spec, checked by the client and again by the sweep. */
export interface ExtendRequest {
  spec: Spec;
}

export interface ExtendResult {
  /** Trials in the sweep after the extension, and how many it added. */
  total: number;
  added: number;
}

/** workflows/early-stop-state.ts's memory: curves as [step, value] pairs, by trial index. */
export interface EarlyStopCarry {
  curves: Record<string, [number, number][]>;
  completed: Record<string, [number, number][]>;
  /** ASHA: milestone -> trial -> value. */
  rungs: Record<string, Record<string, number>>;
  /** Pruned trials and why. */
  pruned: Record<string, string>;
}

/** What a trial tells its sweep after each evaluation (the reportEvaluation update). */
export interface EvaluationReport {
  index: number;
  /** Which start of the trial reports: a report of an earlier start is not judged. */
  run: number;
  step: number;
  /** The early_stop metric's value at `step`. */
  value: number;
  /** The trial's last step: recorded, never stopped. */
  last: boolean;
}

/** The sweep's answer: go on, or stop now as pruned (and why). */
export interface EvaluationVerdict {
  stop: boolean;
  reason?: string;
}

/** Set on trials of a sweep with early_stop: which metric to report, and as which start. */
export interface EarlyStopProbe {
  metric: string;
  run: number;
}

/**
 * What a TPE search remembers (workflows/search-state.ts), at most MAX_TPE_BUDGET entries
 * each: the points its model suggested (quasi-random ones are recomputed from the seed)
 * and, per observed point, the sum and count of its trials' objective values.
 */
export interface SearchCarry {
  points: Record<string, number[]>;
  objectives: Record<string, [number, number]>;
}

/** A search objective read at a given step: the trial reports the metric's value at the first report at or after it. */
export interface ObjectiveProbe {
  metric: string;
  step: number;
}

export interface SweepInput {
  spec: Spec;
  sweepId: string;
  profile: string | null;
  options?: SweepOptions;
  /** The state so far; the legacy form comes from sweeps started by older workers. */
  carry?: SweepCarry | LegacySweepCarry;
  /** The spec file's text as launched, stored with the sweep's MLflow run (spec.yaml). */
  specText?: string;
  /**
   * The data path version (ml/data-path.ts) the sweep's trials compute under, set at
   * launch and kept through continue-as-new and restarts. In the input, not read from
   * code: trial ids hash it, and a recorded history must rebuild the ids it started.
   * Absent in sweeps launched before versions existed (version 1).
   */
  dataPath?: number;
  /**
   * The sweep's MLflow run, once the tracking activity has answered: null when the
   * workers track nothing, absent when not asked yet (a fresh launch or a restart).
   */
  tracking?: SweepTracking | null;
}

/** Where a sweep is recorded in MLflow; trials nest their runs under parentRunId. */
export interface SweepTracking {
  experimentId: string;
  parentRunId: string;
}

export interface EnsureSweepRunInput {
  sweepId: string;
  spec: Spec;
  profile: string | null;
  specText?: string;
  /** Recorded as the run's mirl.data_path tag; absent: version 1. */
  dataPath?: number;
}

export interface FinishSweepRunInput {
  sweepId: string;
  tracking: SweepTracking;
  status: FinalRunStatus;
  /** Counts and axes with no trial list: the activity reads each trial's state from `carry`. */
  progress: SweepProgress;
  /** Present from the compact carry on: the activity expands the trials it needs itself. */
  carry?: SweepCarry;
  spec?: Spec;
  /** Why the sweep failed, when it did. */
  error?: string;
  /** The sweep's data path version, to rebuild its trial ids; absent: version 1. */
  dataPath?: number;
}

export interface TrialInput {
  sweepId: string;
  index: number;
  trialId: string;
  runName: string;
  axes: AxisValues;
  config: TrialConfig;
  /** Which start of this trial (1 + reruns); the outcome names it so stale reports are ignored. */
  run: number;
  taskQueue: string;
  study: string;
  /** Checkpoints of a different config must never be resumed: key = hash of the effective config. */
  checkpointKey: string;
  checkpointEvery: number;
  heartbeatTimeoutMs: number;
  maxAttempts: number;
  retryInitialIntervalMs: number;
  /** The spec's name: the MLflow experiment. */
  sweepName: string;
  /** The sweep's MLflow run; null when tracking is off. */
  tracking: SweepTracking | null | undefined;
  /** Set only for a search whose objective is read at a step (not at the end). */
  objective?: ObjectiveProbe;
  /** Set only for a sweep with early_stop. */
  earlyStop?: EarlyStopProbe;
  /** Set only for a sweep launched with a priority: its trial's Temporal priority key. */
  priority?: number;
  /**
   * What the trial must compute under; a worker of another version refuses it. Undefined
   * only in trials started before versions existed (version 1); required, so whoever builds
   * the input states it rather than get version 1 by omission.
   */
  dataPath: number | undefined;
}

/** What the trial's activity reads of its TrialInput: the activity input is this slice, never a copy by hand. */
export const ACTIVITY_INPUT_KEYS = [
  'sweepId',
  'trialId',
  'runName',
  'config',
  'checkpointKey',
  'checkpointEvery',
  'sweepName',
  'study',
  'index',
  'axes',
  'tracking',
  'maxAttempts',
  'objective',
  'earlyStop',
  'dataPath',
] as const;

type ActivityInputKey = (typeof ACTIVITY_INPUT_KEYS)[number];
/** What only the MLflow run records, or the retry rule reads: an attempt run outside a sweep (tests, tools) may omit it. */
type SweepContextKey = 'sweepName' | 'study' | 'index' | 'axes' | 'tracking' | 'maxAttempts';
export type RunTrialActivityInput = Pick<TrialInput, Exclude<ActivityInputKey, SweepContextKey>> &
  Partial<Pick<TrialInput, SweepContextKey>>;

export interface RunTrialActivityResult {
  status: 'finished' | 'stopped';
  step: number;
  backend: string;
  resumedFrom: number | null;
  train: Record<string, number>;
  eval: Record<string, number>;
  seconds: number;
  msPerStep: number;
  attempt: number;
  worker: string;
  /** Wall clock (ms since epoch) when the activity began and when the trainer sent its result. */
  activityStartedAt: number;
  trainerStartedAt: number;
  finishedAt: number;
  /** Time the activity spent on tracking in this attempt (absent when tracking is off). */
  tracking?: TrackingOverhead;
  /** The probed objective (see ObjectiveProbe), when asked for and reached. */
  objective?: ProbedObjective;
  /** Set when the sweep stopped the trial early (status 'stopped'): at which step and why. */
  pruned?: { step: number; reason: string };
}

export interface ProbedObjective {
  step: number;
  value: number;
}

/**
 * Milliseconds of tracking work in one attempt. open/close/add run on the activity's
 * critical path; flushes and checkpoint uploads run beside training (the trainer is
 * another process), so they cost training time only through the shared CPU.
 */
export interface TrackingOverhead {
  openMs: number;
  /** The part of openMs the ready trainer waited for (opening overlaps its start-up). */
  openWaitMs?: number;
  addMs: number;
  closeMs: number;
  flushMs: number;
  flushes: number;
  checkpointMs: number;
  metricsLogged: number;
  metricsSkipped: number;
}

/** What the activity heartbeats; a retry reads the previous attempt's last one. */
export interface TrialHeartbeat {
  step: number;
  checkpointStep: number | null;
  checkpointRef: string | null;
  train?: Record<string, number>;
  eval?: Record<string, number>;
  /** The probed objective once reached: a retry that resumes past its step keeps it. */
  objective?: ProbedObjective;
}

export interface TrialOutcome {
  index: number;
  trialId: string;
  run: number;
  state: ClosedTrialState;
  result?: RunTrialActivityResult;
  error?: string;
}

export interface TrialProgress {
  index: number;
  trialId: string;
  runName: string;
  axes: AxisValues;
  state: TrialStateName;
  runs: number;
  step: number | null;
  metrics: Record<string, number>;
  resumedFrom: number | null;
  backend: string | null;
  error: string | null;
  startedAt: number | null;
  recordedAt: number | null;
  /** Filled by the CLI for running trials from their pending activity (absent in the workflow's reply). */
  liveness?: TrialLiveness;
}

/** How a running trial's activity looks from Temporal's side. */
export interface TrialLiveness {
  /** Seconds since the activity last heartbeated (null: it has not yet). */
  heartbeatAgeS: number | null;
  attempt: number;
  /** Longer without a heartbeat than a live worker ever goes: its worker is probably gone. */
  stale: boolean;
  /** Waiting for a free worker slot (a first attempt, or a retry after its worker went away). */
  queued?: boolean;
  /** The trial workflow has closed (its status) although the sweep still counts it running. */
  closed?: string;
}

export interface SweepProgress {
  sweepId: string;
  name: string;
  study: string;
  profile: string | null;
  taskQueue: string;
  /** The trials' activity heartbeat timeout: how quiet a live worker can be (absent from older sweeps). */
  heartbeatTimeoutMs?: number;
  /** The trials' Temporal priority key, where the sweep was launched with one. */
  priority?: number;
  total: number;
  paused: boolean;
  cancelRequested: boolean;
  maxConcurrent: number;
  generation: number;
  startedTotal: number;
  finished: boolean;
  counts: StateCounts;
  /** axis -> value (as written in the run name) -> counts per state; axes of more than AXIS_VALUES_MAX values are in `axisSummaries` instead. */
  axes: Record<string, Record<string, StateCounts>>;
  /** Axes with too many values to list (a seed axis of thousands): how many values are complete, partly done, untouched. */
  axisSummaries?: Record<string, AxisSummary>;
  /** Done trials' wall time: how many and their total (ms). */
  durations: { count: number; totalMs: number };
  /** The page of trials asked for (see ProgressRequest), in index order. */
  trials: TrialProgress[];
  page: ProgressPage;
  /** The newest outcomes, oldest first (at most RECENT_IN_PROGRESS). */
  recent: TrialProgress[];
}

/** Which trials a progress reply lists; counts and axes always cover every trial. */
export interface ProgressRequest {
  /** Only trials in these states (default: all). */
  states?: TrialStateName[];
  /** Skip this many matching trials (default 0). */
  offset?: number;
  /** At most this many (default and cap: PROGRESS_PAGE_MAX). */
  limit?: number;
}

export interface ProgressPage {
  offset: number;
  limit: number;
  states: TrialStateName[] | null;
  /** How many trials match the states, over the whole sweep. */
  matching: number;
}

export interface SweepResult {
  sweepId: string;
  /** Counts, axes and the first RESULT_PAGE trials; other pages are rebuilt from `carry` (see closedProgress in client/sweeps.ts). */
  progress: SweepProgress;
  carry: SweepCarry;
}

export interface RerunRequest {
  /** Settings to change for the rerun (e.g. a smaller learning rate). */
  overrides?: TrialSettings;
  /** Limit the rerun to these trial indices (default: every failed or cancelled trial). */
  indices?: number[];
}
