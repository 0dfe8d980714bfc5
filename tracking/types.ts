// The client's view of MLflow entities: camelCase, int64 fields as numbers, tags and
// params as records (the natural lookup for `run.data.tags['mirl.trial_id']`).

export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';
/** The statuses a run can be closed with. */
export type FinalRunStatus = Exclude<RunStatus, 'RUNNING' | 'SCHEDULED'>;
export type LifecycleStage = 'active' | 'deleted';
export type ViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';

export interface Experiment {
  experimentId: string;
  name: string;
  artifactLocation: string;
  lifecycleStage: LifecycleStage | string;
  creationTime?: number;
  lastUpdateTime?: number;
  tags: Record<string, string>;
}

export interface RunInfo {
  runId: string;
  experimentId: string;
  runName: string;
  userId: string;
  status: RunStatus;
  /** Milliseconds since the epoch. */
  startTime?: number;
  endTime?: number;
  /** e.g. `mlflow-artifacts:/<experiment>/<run>/artifacts` when the server proxies artifacts. */
  artifactUri: string;
  lifecycleStage: LifecycleStage | string;
}

export interface Metric {
  key: string;
  /** NaN and +-Infinity survive the round trip (sent as MLflow's JSON strings). */
  value: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
  step: number;
}

export interface Param {
  key: string;
  value: string;
}

export interface RunTag {
  key: string;
  value: string;
}

export interface RunData {
  /** The latest value of each metric. */
  metrics: Metric[];
  params: Record<string, string>;
  tags: Record<string, string>;
}

export interface Run {
  info: RunInfo;
  data: RunData;
}

export interface FileInfo {
  /** Relative to the run's artifact root, `/`-separated. */
  path: string;
  isDir: boolean;
  fileSize?: number;
}

export interface Page<T> {
  items: T[];
  /** Absent on the last page. */
  nextPageToken?: string;
}

/** What one logBatch call carries before chunking; every part is optional. */
export interface BatchInput {
  metrics?: readonly MetricInput[];
  params?: readonly Param[] | Record<string, string | number | boolean>;
  tags?: readonly RunTag[] | Record<string, string>;
}

/**
 * One dataset a run used, as MLflow's log-inputs API takes it. MLflow keeps one record per
 * (experiment, name, digest), so the digest must change whenever the data does.
 */
export interface DatasetInput {
  name: string;
  /** At most 36 characters (the server's limit). */
  digest: string;
  sourceType: string;
  /** JSON text saying where the data came from. */
  source: string;
  /** JSON text: shapes and sizes shown in the run's Datasets panel. */
  profile?: string;
  /** The `mlflow.data.context` input tag: training, evaluation, ... */
  context: string;
}

export interface MetricInput {
  key: string;
  value: number;
  /** Defaults to 0, as in MLflow. */
  step?: number;
  /** Defaults to now; fix it yourself when a retried send must stay idempotent. */
  timestamp?: number;
}
