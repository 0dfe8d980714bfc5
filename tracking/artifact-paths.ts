// Where a run's artifacts live behind the server's artifact proxy
// (/api/2.0/mlflow-artifacts/artifacts/<experiment>/<run>/artifacts/<path>).
import { MlflowValidationError } from './errors.js';
import type { RunInfo } from './types.js';

/** A run's artifact root: a RunInfo fits, and so do bare ids. */
export type ArtifactRunRef = Pick<RunInfo, 'runId' | 'experimentId'> & { artifactUri?: string };

export const ARTIFACTS_PROXY_PREFIX = '/api/2.0/mlflow-artifacts/artifacts';

/**
 * The proxy-relative root, e.g. `1/<run>/artifacts`. Taken from artifact_uri when the
 * run has one (`mlflow-artifacts:/1/<run>/artifacts`, optionally with a host), since
 * an experiment created with a custom artifact location may not follow the default.
 */
export function artifactRoot(run: ArtifactRunRef): string {
  const uri = run.artifactUri;
  if (!uri) return `${run.experimentId}/${run.runId}/artifacts`;
  const match = /^mlflow-artifacts:(?:\/\/[^/]*)?\/*(.*)$/.exec(uri);
  if (!match) {
    throw new MlflowValidationError(
      `run ${run.runId} stores artifacts at '${uri}', which is not behind the tracking server's ` +
        'artifact proxy (start the server with --serve-artifacts)',
    );
  }
  return match[1].replace(/\/+$/, '');
}

/** Normalizes a caller's relative artifact path and refuses escapes from the run root. */
export function cleanArtifactPath(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new MlflowValidationError(`artifact path must not contain '..': ${path}`);
  return parts.join('/');
}

export function encodePath(path: string): string {
  return path
    .split('/')
    .filter((p) => p !== '')
    .map(encodeURIComponent)
    .join('/');
}
