// Kept apart from worker.ts so the CLI can offer the choices without loading a worker.
export const TRACKING_MODES = ['auto', 'mlflow', 'off'] as const;
export type TrackingMode = (typeof TRACKING_MODES)[number];
