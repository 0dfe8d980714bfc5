// A worker's first word with MLflow, before it polls for trials. Credentials the server
// refuses would otherwise surface only inside trial attempts: each one fails on its
// first MLflow call, Temporal hands the retry back to any worker (this one too), and
// a sweep can burn its attempts on a worker that can never log. Refusing to start
// keeps those trials for workers that can. A server that is merely unreachable is
// not a reason to stay down: workers ride out tracking outages, so that only warns.
import {
  MlflowApiError,
  MlflowClient,
  MlflowNetworkError,
  silentLogger,
  type MlflowClientOptions,
} from '../tracking/index.js';

/** One quick try: the worker's own client would retry an unreachable server for minutes. */
const CHECK: MlflowClientOptions = { retry: { maxAttempts: 1 }, timeoutMs: 10_000, logger: silentLogger };

export class MlflowCredentialsError extends Error {
  override name = 'MlflowCredentialsRefused';
}

/** Which variables hold the credentials the server refused, for the fix in the message. */
function credentialSource(env: NodeJS.ProcessEnv): string {
  if (env.MLFLOW_TRACKING_TOKEN) return 'MLFLOW_TRACKING_TOKEN';
  if (env.MLFLOW_TRACKING_USERNAME) return 'MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD';
  if (/^[a-z]+:\/\/[^/@]+@/i.test(env.MLFLOW_TRACKING_URI ?? '')) return 'the user and password in MLFLOW_TRACKING_URI';
  return 'no credentials (set MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN)';
}

/**
 * Resolves when the server accepts the worker's credentials or cannot be reached (after
 * `warn`); throws MlflowCredentialsError, naming the server and the cause but never the
 * credentials, when it answers 401. A 403 on the probe means the user is known but may
 * not read the Default experiment, which says nothing about the sweeps' experiments.
 */
export async function checkTrackingCredentials(
  env: NodeJS.ProcessEnv = process.env,
  warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  options: MlflowClientOptions = {},
): Promise<void> {
  const client = MlflowClient.fromEnv({ ...CHECK, ...options }, env);
  try {
    await client.getExperimentByName('Default');
  } catch (err) {
    if (err instanceof MlflowApiError && err.httpStatus === 401) {
      throw new MlflowCredentialsError(
        `the MLflow server at ${client.trackingUri} refused this worker's credentials (401 Unauthorized, from ${credentialSource(env)}); ` +
          'the worker did not start, so its trials stay with workers that can log',
      );
    }
    if (err instanceof MlflowNetworkError) {
      warn(
        `mirl worker: the MLflow server at ${client.trackingUri} does not answer yet (${err.code}); starting anyway, trials retry until it does`,
      );
      return;
    }
    if (err instanceof MlflowApiError && err.httpStatus === 403) return;
    throw err;
  }
}
