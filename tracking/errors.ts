// The errors the client throws, and the scrubbing that keeps credentials out of them.
// Errors travel far (Temporal failure payloads, CLI output, logs), so nothing that
// leaves this module may carry an Authorization header or a password in a URL.

/** Base class: every failure of the client carries MLflow's error vocabulary. */
export class MlflowError extends Error {
  override name = 'MlflowError';
  /** MLflow's error_code (e.g. RESOURCE_DOES_NOT_EXIST) or a client-side code. */
  readonly errorCode: string;

  constructor(errorCode: string, message: string, options?: { cause?: unknown }) {
    super(redactText(message), options);
    this.errorCode = errorCode;
  }
}

/** The server answered with an error status (after retries, for retryable ones). */
export class MlflowApiError extends MlflowError {
  override name = 'MlflowApiError';
  readonly httpStatus: number;
  /** `METHOD /path` of the failing request, for people reading the message. */
  readonly endpoint: string;

  constructor(args: { errorCode: string; httpStatus: number; message: string; endpoint: string }) {
    super(args.errorCode, `${args.endpoint} -> ${args.httpStatus} ${args.errorCode}: ${args.message}`);
    this.httpStatus = args.httpStatus;
    this.endpoint = args.endpoint;
  }
}

/** No HTTP answer at all (refused, reset, timed out), after retries ran out. */
export class MlflowNetworkError extends MlflowError {
  override name = 'MlflowNetworkError';
  /** The socket-level code, e.g. ECONNREFUSED or ETIMEDOUT. */
  readonly code: string;
  readonly endpoint: string;
  readonly attempts: number;

  constructor(args: { code: string; message: string; endpoint: string; attempts: number }) {
    super(
      'NETWORK_ERROR',
      `${args.endpoint} failed after ${args.attempts} attempt(s): ` +
        (args.message.includes(args.code) ? args.message : `${args.code} ${args.message}`),
    );
    this.code = args.code;
    this.endpoint = args.endpoint;
    this.attempts = args.attempts;
  }
}

/** Not sent, or its retries stopped, because the caller's AbortSignal fired (a fenced trial attempt). */
export class MlflowAbortedError extends MlflowError {
  override name = 'MlflowAbortedError';
  readonly endpoint: string;

  constructor(endpoint: string, reason: unknown) {
    super('ABORTED', `${endpoint} not sent: ${String(reason)}`);
    this.endpoint = endpoint;
  }
}

/** Rejected before sending: the server would refuse it too (bad key, bad value). */
export class MlflowValidationError extends MlflowError {
  override name = 'MlflowValidationError';

  constructor(message: string) {
    super('INVALID_PARAMETER_VALUE', message);
  }
}

export function isMlflowError(err: unknown): err is MlflowError {
  return err instanceof MlflowError;
}

/** True when the server said the thing does not exist (404-style answers). */
export function isNotFound(err: unknown): boolean {
  return err instanceof MlflowApiError && err.errorCode === 'RESOURCE_DOES_NOT_EXIST';
}

/**
 * A concurrent insert of the same row lost to another writer (sqlite and PostgreSQL/MySQL
 * word it differently); the server answers 400 although asking again succeeds.
 */
export function isUniqueConstraintRace(err: unknown): boolean {
  return (
    err instanceof MlflowApiError &&
    err.httpStatus === 400 &&
    /UNIQUE constraint failed|duplicate key value|Duplicate entry|IntegrityError/i.test(err.message)
  );
}

const REDACTED = '[REDACTED]';

/** Removes userinfo from URLs and bearer/basic credentials from free text. */
export function redactText(text: string): string {
  return text
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1')
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, `$1 ${REDACTED}`);
}

const SECRET_HEADER = /^(authorization|proxy-authorization|cookie)$/i;

function redactHeaders(headers: unknown): void {
  if (!headers || typeof headers !== 'object') return;
  for (const name of Object.keys(headers)) {
    if (SECRET_HEADER.test(name)) (headers as Record<string, unknown>)[name] = REDACTED;
  }
}

/**
 * Scrubs an axios-style error in place and returns it: the request config keeps
 * the Authorization header and `auth`, and Node's ClientRequest keeps the raw header
 * block, all of which util.inspect would print.
 */
export function redactError<T>(err: T): T {
  if (!err || typeof err !== 'object') return err;
  const e = err as Record<string, any>;
  if (typeof e.message === 'string') e.message = redactText(e.message);
  if (typeof e.stack === 'string') e.stack = redactText(e.stack);
  const config = e.config;
  if (config && typeof config === 'object') {
    redactHeaders(config.headers);
    if (config.auth) config.auth = REDACTED;
    for (const field of ['url', 'baseURL']) {
      if (typeof config[field] === 'string') config[field] = redactText(config[field]);
    }
  }
  if (e.request && typeof e.request === 'object') {
    // The live ClientRequest is huge and holds the raw header block; nobody needs it.
    e.request = undefined;
  }
  if (e.response && typeof e.response === 'object') {
    redactHeaders(e.response.headers);
    if (e.response.config) e.response.config = config;
    e.response.request = undefined;
  }
  return err;
}
