// The tracking layer's public surface: import from 'tracking/index.js' only.
export { MlflowClient } from './client.js';
export type { CreateRunInput, MlflowClientOptions, PageRequest, SearchRunsQuery, UpdateRunInput } from './client.js';
export { MetricBuffer, DEFAULT_METRIC_BUFFER_OPTIONS } from './metric-buffer.js';
export type { MetricBufferOptions } from './metric-buffer.js';
export {
  MlflowApiError,
  MlflowError,
  MlflowNetworkError,
  MlflowAbortedError,
  MlflowValidationError,
  isMlflowError,
  isNotFound,
  redactError,
  redactText,
} from './errors.js';
export { DEFAULT_TRACKING_URI, DEFAULT_TIMEOUT_MS, connectionInputFromEnv, resolveConnection } from './config.js';
export type { ConnectionConfig, ConnectionInput, Credentials } from './config.js';
export { DEFAULT_RETRY_POLICY } from './retry.js';
export type { RetryPolicy, Sleep } from './retry.js';
export { SERVER_LIMITS, validateKey } from './batch.js';
export { createAxiosTransport } from './http.js';
export type { HttpRequest, HttpResponse, Transport } from './http.js';
export { consoleLogger, silentLogger } from './logger.js';
export type { TrackingLogger } from './logger.js';
export type { ArtifactRunRef } from './artifact-paths.js';
export type * from './types.js';
export { runsViewUrl } from './ui-links.js';
