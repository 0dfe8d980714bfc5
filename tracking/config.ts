// Connection settings read the way MLflow's own clients read them, so one
// environment works for mirl, the Python client and the MLflow CLI alike.
import { MlflowValidationError } from './errors.js';

export const DEFAULT_TRACKING_URI = 'http://127.0.0.1:5000';
export const DEFAULT_TIMEOUT_MS = 30_000;

export type Credentials =
  { kind: 'none' } | { kind: 'bearer'; token: string } | { kind: 'basic'; username: string; password: string };

export interface ConnectionConfig {
  /** http(s) base URL without userinfo and without a trailing slash. */
  baseUrl: string;
  credentials: Credentials;
  insecureTls: boolean;
  timeoutMs: number;
}

export interface ConnectionInput {
  trackingUri?: string;
  token?: string;
  username?: string;
  password?: string;
  insecureTls?: boolean;
  timeoutMs?: number;
}

function truthy(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value.trim());
}

function positiveNumber(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * Reads MLFLOW_TRACKING_URI, MLFLOW_TRACKING_TOKEN, MLFLOW_TRACKING_USERNAME/PASSWORD,
 * MLFLOW_TRACKING_INSECURE_TLS and MLFLOW_HTTP_REQUEST_TIMEOUT (seconds, as in MLflow).
 */
export function connectionInputFromEnv(env: NodeJS.ProcessEnv = process.env): ConnectionInput {
  const timeoutSeconds = positiveNumber(env.MLFLOW_HTTP_REQUEST_TIMEOUT);
  return {
    trackingUri: env.MLFLOW_TRACKING_URI || undefined,
    token: env.MLFLOW_TRACKING_TOKEN || undefined,
    username: env.MLFLOW_TRACKING_USERNAME || undefined,
    password: env.MLFLOW_TRACKING_PASSWORD || undefined,
    insecureTls: truthy(env.MLFLOW_TRACKING_INSECURE_TLS),
    timeoutMs: timeoutSeconds === undefined ? undefined : timeoutSeconds * 1000,
  };
}

export function resolveConnection(input: ConnectionInput): ConnectionConfig {
  const raw = input.trackingUri ?? DEFAULT_TRACKING_URI;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new MlflowValidationError(`MLFLOW_TRACKING_URI is not a URL: ${raw}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new MlflowValidationError(
      `MLFLOW_TRACKING_URI must be an http(s) address of a tracking server, got '${url.protocol}' ` +
        '(file and database stores are only reachable through `mlflow server`)',
    );
  }
  // Userinfo in the URI is a legitimate MLflow setup, but it must not survive into
  // the base URL, where axios would echo it in every error's config.
  const urlUser = decodeURIComponent(url.username);
  const urlPassword = decodeURIComponent(url.password);
  url.username = '';
  url.password = '';

  let credentials: Credentials = { kind: 'none' };
  if (input.token) credentials = { kind: 'bearer', token: input.token };
  else if (input.username && input.password !== undefined) {
    credentials = { kind: 'basic', username: input.username, password: input.password };
  } else if (urlUser) credentials = { kind: 'basic', username: urlUser, password: urlPassword };

  return {
    baseUrl: url.toString().replace(/\/+$/, ''),
    credentials,
    insecureTls: input.insecureTls ?? false,
    timeoutMs: input.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };
}

export function authorizationHeader(credentials: Credentials): string | undefined {
  switch (credentials.kind) {
    case 'bearer':
      return `Bearer ${credentials.token}`;
    case 'basic':
      return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    case 'none':
      return undefined;
  }
}
