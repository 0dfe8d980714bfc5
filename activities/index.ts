// Activities a mirl worker registers, built from their dependencies (checkpoint store,
// metrics sink, MLflow tracking) so tests and the worker choose them.
export { createActivities, type ActivityDeps } from './run-trial.js';
export { LocalCheckpointStore, type CheckpointStore, type StoredCheckpoint } from './checkpoint-store.js';
export {
  nullMetricsSink,
  type MetricsSink,
  type TrialAttemptContext,
  type TrialMetricsWriter,
} from './metrics-sink.js';
export { MlflowTracking, DEFAULT_TRIAL_BUFFER, type MlflowTrackingOptions } from './mlflow-tracking.js';
export { MlflowCheckpointStore, DEFAULT_KEEP_CHECKPOINTS } from './mlflow-checkpoint-store.js';
export { createSweepActivities, type SweepActivities } from './mlflow-sweep-activities.js';
export * from '../results/mlflow-contract.js';
