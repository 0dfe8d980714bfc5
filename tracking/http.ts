// One request to the tracking server, with retries and MLflow's error vocabulary.
// The Transport is the boundary to the network: axios in production, a fake in
// unit tests; everything above it (retry, error mapping, JSON) is the same code.
import https from 'node:https';
import axios, { type AxiosInstance } from 'axios';
import { authorizationHeader, type ConnectionConfig } from './config.js';
import {
  MlflowAbortedError,
  MlflowApiError,
  MlflowError,
  MlflowNetworkError,
  redactError,
  redactText,
} from './errors.js';
import type { TrackingLogger } from './logger.js';
import {
  backoffDelayMs,
  isRetryableNetworkCode,
  isRetryableStatus,
  retryAfterMs,
  type RetryPolicy,
  type Sleep,
} from './retry.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';
export type QueryValue = string | number | boolean | undefined;

export interface HttpRequest {
  method: HttpMethod;
  /** Absolute path below the tracking URI, already percent-encoded, e.g. /api/2.0/mlflow/runs/get. */
  path: string;
  query?: Record<string, QueryValue>;
  /** Sent as application/json. */
  json?: unknown;
  /** Sent as application/octet-stream. */
  bytes?: Uint8Array;
  timeoutMs: number;
  /** Once fired, no attempt or retry of this request starts and one in flight is cancelled. */
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  body: Buffer;
}

/** Resolves with any HTTP status; rejects only when no answer came (error with a `code`). */
export type Transport = (request: HttpRequest) => Promise<HttpResponse>;

export function createAxiosTransport(connection: ConnectionConfig): Transport {
  const authorization = authorizationHeader(connection.credentials);
  const instance: AxiosInstance = axios.create({
    baseURL: connection.baseUrl,
    headers: authorization ? { Authorization: authorization } : {},
    httpsAgent: connection.insecureTls ? new https.Agent({ rejectUnauthorized: false }) : undefined,
    // Statuses are classified by the caller, so none of them should throw here.
    validateStatus: () => true,
    responseType: 'arraybuffer',
    maxBodyLength: Infinity,
    maxContentLength: Infinity,
    // Reports timeouts as ETIMEDOUT rather than the ambiguous ECONNABORTED.
    transitional: { clarifyTimeoutError: true },
  });
  return async (request) => {
    try {
      const response = await instance.request<ArrayBuffer>({
        method: request.method,
        url: request.path,
        params: request.query,
        timeout: request.timeoutMs,
        data: request.json !== undefined ? JSON.stringify(request.json) : asBuffer(request.bytes),
        headers: contentTypeHeader(request),
        signal: request.signal,
      });
      const headers: Record<string, string | undefined> = {};
      for (const [name, value] of Object.entries(response.headers ?? {})) {
        headers[name.toLowerCase()] = value == null ? undefined : String(value);
      }
      return { status: response.status, headers, body: Buffer.from(response.data ?? []) };
    } catch (err) {
      throw redactError(err);
    }
  };
}

// axios sends a typed-array view as its whole underlying ArrayBuffer (a Uint8Array that
// arrived over IPC is a window into a larger one); a Buffer view is sent as itself.
function asBuffer(bytes: Uint8Array | undefined): Buffer | undefined {
  if (bytes === undefined || Buffer.isBuffer(bytes)) return bytes;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function contentTypeHeader(request: HttpRequest): Record<string, string> {
  if (request.json !== undefined) return { 'Content-Type': 'application/json' };
  if (request.bytes !== undefined) return { 'Content-Type': 'application/octet-stream' };
  return {};
}

export interface HttpClientOptions {
  transport: Transport;
  retry: RetryPolicy;
  timeoutMs: number;
  logger: TrackingLogger;
  sleep: Sleep;
  now: () => number;
  random: () => number;
  /** Literal credentials to blank out of any text the server sends back. */
  secrets?: readonly string[];
}

type Attempt =
  | { ok: true; response: HttpResponse }
  | {
      ok: false;
      retryable: boolean;
      /** One line for the retry warning. */
      reason: string;
      error: (attempts: number) => MlflowError;
      waitAtLeastMs?: number;
    };

export class HttpClient {
  constructor(private readonly options: HttpClientOptions) {}

  /** Sends with retries; resolves with the 2xx response or throws an MlflowError. */
  async send(request: Omit<HttpRequest, 'timeoutMs'> & { timeoutMs?: number }): Promise<HttpResponse> {
    const { retry, sleep, now, random, logger } = this.options;
    const full: HttpRequest = { ...request, timeoutMs: request.timeoutMs ?? this.options.timeoutMs };
    const endpoint = `${request.method} ${request.path}`;
    const started = now();
    for (let attempt = 1; ; attempt++) {
      if (request.signal?.aborted) throw new MlflowAbortedError(endpoint, request.signal.reason);
      const outcome = await this.attempt(full, endpoint);
      if (request.signal?.aborted && !outcome.ok) throw new MlflowAbortedError(endpoint, request.signal.reason);
      if (outcome.ok) return outcome.response;
      const error = outcome.error(attempt);
      if (!outcome.retryable || attempt >= retry.maxAttempts) throw error;
      const delay = Math.min(
        retry.maxDelayMs,
        Math.max(backoffDelayMs(attempt, retry, random), outcome.waitAtLeastMs ?? 0),
      );
      if (now() - started + delay > retry.maxElapsedMs) throw error;
      logger.warn(`${endpoint}: ${outcome.reason}; retry ${attempt}/${retry.maxAttempts - 1} in ${delay} ms`);
      await sleep(delay);
    }
  }

  async json<T = unknown>(request: Omit<HttpRequest, 'timeoutMs' | 'bytes'> & { timeoutMs?: number }): Promise<T> {
    const response = await this.send(request);
    return parseJsonBody(response, `${request.method} ${request.path}`) as T;
  }

  private scrub(text: string): string {
    let clean = redactText(text);
    for (const secret of this.options.secrets ?? []) {
      if (secret.length >= 4) clean = clean.split(secret).join('[REDACTED]');
    }
    return clean;
  }

  private async attempt(request: HttpRequest, endpoint: string): Promise<Attempt> {
    let response: HttpResponse;
    try {
      response = await this.options.transport(request);
    } catch (err) {
      const e = redactError(err) as { code?: unknown; message?: unknown };
      const code = typeof e?.code === 'string' ? e.code : 'UNKNOWN';
      const message = this.scrub(typeof e?.message === 'string' ? e.message : String(err));
      return {
        ok: false,
        retryable: isRetryableNetworkCode(code),
        reason: message.includes(code) ? message : `${code} ${message}`,
        error: (attempts) => new MlflowNetworkError({ code, message, endpoint, attempts }),
      };
    }
    if (response.status >= 200 && response.status < 300) return { ok: true, response };
    const error = apiErrorFromResponse(response, endpoint, (text) => this.scrub(text));
    return {
      ok: false,
      retryable: isRetryableStatus(response.status),
      reason: `HTTP ${response.status} ${error.errorCode}`,
      error: () => error,
      waitAtLeastMs: retryAfterMs(response.headers['retry-after'], this.options.now()),
    };
  }
}

const FALLBACK_ERROR_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'ENDPOINT_NOT_FOUND',
  429: 'REQUEST_LIMIT_EXCEEDED',
  503: 'TEMPORARILY_UNAVAILABLE',
};

/** MLflow answers `{error_code, message}`; proxies in front of it answer HTML or nothing. */
export function apiErrorFromResponse(
  response: HttpResponse,
  endpoint: string,
  scrub: (text: string) => string = redactText,
): MlflowApiError {
  const text = response.body.toString('utf8');
  let errorCode: string | undefined;
  let message: string | undefined;
  try {
    const parsed = JSON.parse(text) as { error_code?: unknown; message?: unknown };
    if (typeof parsed?.error_code === 'string') errorCode = parsed.error_code;
    if (typeof parsed?.message === 'string') message = parsed.message;
  } catch {
    // not JSON: keep the start of the text as the message
  }
  return new MlflowApiError({
    errorCode:
      errorCode ?? FALLBACK_ERROR_CODES[response.status] ?? (response.status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST'),
    httpStatus: response.status,
    message: scrub(message ?? (text.trim().slice(0, 500) || '(empty body)')),
    endpoint,
  });
}

function parseJsonBody(response: HttpResponse, endpoint: string): unknown {
  const text = response.body.toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new MlflowApiError({
      errorCode: 'MALFORMED_RESPONSE',
      httpStatus: response.status,
      message: `expected JSON, got: ${text.slice(0, 200)}`,
      endpoint,
    });
  }
}
