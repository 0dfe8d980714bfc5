// The MLflow client as the CLI uses it: a person waits at the prompt, so a refused
// connection fails within seconds (the workers' client rides out outages instead), and
// the failure reads as one line naming what to do.
import {
  connectionInputFromEnv,
  MlflowApiError,
  MlflowClient,
  MlflowNetworkError,
  silentLogger,
} from '../tracking/index.js';
import { ActionableError } from './errors.js';

const CLI_TIMEOUT_MS = 15_000;

/** unreachable: nothing answered at the address (the stack's line can say which home it was); slow, refused: a server did. */
export type MlflowFailure = 'unreachable' | 'slow' | 'refused';

export class MlflowUnreachableError extends ActionableError {
  override name = 'MlflowUnreachable';
  constructor(
    message: string,
    readonly failure: MlflowFailure,
    /** The address tried, as the client prints it (no credentials). */
    readonly trackingUri: string,
  ) {
    super(message);
  }
}

export function cliMlflowClient(env: NodeJS.ProcessEnv = process.env): MlflowClient {
  // MLFLOW_HTTP_REQUEST_TIMEOUT, when set, is the user's own answer to a slow server.
  const timeoutMs = connectionInputFromEnv(env).timeoutMs ?? CLI_TIMEOUT_MS;
  return MlflowClient.fromEnv(
    { retry: { maxAttempts: 2, baseDelayMs: 200, maxElapsedMs: 3_000 }, timeoutMs, logger: silentLogger },
    env,
  );
}

/** Runs `work` against MLflow, turning "no server there" into an actionable one-liner. */
export async function withMlflow<T>(client: MlflowClient, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof MlflowNetworkError && err.code === 'ETIMEDOUT') {
      // The server is there but slow (busy, or a big sweep read back): a different fix.
      throw new MlflowUnreachableError(
        `the MLflow server at ${client.trackingUri} did not answer in time (ETIMEDOUT): it is busy or the request is large; ` +
          'set MLFLOW_HTTP_REQUEST_TIMEOUT (seconds) to wait longer',
        'slow',
        client.trackingUri,
      );
    }
    if (err instanceof MlflowNetworkError) {
      throw new MlflowUnreachableError(
        `cannot reach the MLflow server at ${client.trackingUri} (${err.code}); start the local stack with \`mirl up\` ` +
          'or point MLFLOW_TRACKING_URI at a running server',
        'unreachable',
        client.trackingUri,
      );
    }
    if (err instanceof MlflowApiError && (err.httpStatus === 401 || err.httpStatus === 403)) {
      throw new MlflowUnreachableError(
        `the MLflow server at ${client.trackingUri} refused the request (${err.httpStatus}); set MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD`,
        'refused',
        client.trackingUri,
      );
    }
    throw err;
  }
}
