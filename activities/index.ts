// Activities a mirl worker registers, built from their dependencies (checkpoint store,
// metrics sink) so tests and the MLflow integration choose them.
export { createActivities, type ActivityDeps } from './run-trial.js';
export { LocalCheckpointStore, type CheckpointStore, type StoredCheckpoint } from './checkpoint-store.js';
export { nullMetricsSink, type MetricsSink, type TrialMetricsWriter } from './metrics-sink.js';
