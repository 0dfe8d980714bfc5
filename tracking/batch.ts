// log-batch preparation: the server's own key rules and length limits, applied before
// sending so a bad key fails fast with its name, and the chunking that keeps every
// request inside the server's per-request limits (mlflow/utils/validation.py, 3.x).
import { MlflowValidationError } from './errors.js';
import type { TrackingLogger } from './logger.js';
import type { BatchInput, Metric, MetricInput, Param, RunTag } from './types.js';
import { metricToWire, type MetricWireOut } from './wire.js';

export const SERVER_LIMITS = {
  metricsPerBatch: 1000,
  paramsPerBatch: 100,
  tagsPerBatch: 100,
  /** metrics + params + tags in one request. */
  entitiesPerBatch: 1000,
  requestBytes: 1_000_000,
  keyLength: 250,
  paramValueLength: 6000,
  tagValueLength: 8000,
  experimentTagValueLength: 20_000,
} as const;

export interface BatchLimits {
  metricsPerBatch: number;
  paramsPerBatch: number;
  tagsPerBatch: number;
  entitiesPerBatch: number;
  requestBytes: number;
}

// Python's \w is Unicode-aware; the colon is allowed on every server but Windows,
// and a Windows server would reject it, so it is refused here to stay portable.
const KEY_CHARACTERS = /^[\p{L}\p{N}_/.\- ]*$/u;

/** posixpath.normpath, which the server uses to refuse keys that alias other keys. */
export function pythonNormpath(path: string): string {
  if (path === '') return '.';
  const leading = path.startsWith('/') ? (path.startsWith('//') && !path.startsWith('///') ? 2 : 1) : 0;
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part !== '..' || (leading === 0 && parts.length === 0) || parts[parts.length - 1] === '..') {
      parts.push(part);
    } else if (parts.length > 0) parts.pop();
  }
  const joined = '/'.repeat(leading) + parts.join('/');
  return joined || '.';
}

export type KeyKind = 'metric' | 'param' | 'tag';

/** Throws MlflowValidationError for keys the server would reject. */
export function validateKey(kind: KeyKind, key: string): void {
  if (typeof key !== 'string' || key === '') {
    throw new MlflowValidationError(`${kind} key must be a non-empty string`);
  }
  if (!KEY_CHARACTERS.test(key)) {
    throw new MlflowValidationError(
      `invalid ${kind} key ${JSON.stringify(key)}: names may only contain alphanumerics, ` +
        'underscores (_), dashes (-), periods (.), spaces ( ) and slashes (/)',
    );
  }
  const normalized = pythonNormpath(key);
  if (normalized !== key || normalized === '.' || normalized.startsWith('..') || normalized.startsWith('/')) {
    throw new MlflowValidationError(
      `invalid ${kind} key ${JSON.stringify(key)}: it would resolve to ${JSON.stringify(normalized)} as a path`,
    );
  }
  if (codePointLength(key) > SERVER_LIMITS.keyLength) {
    throw new MlflowValidationError(
      `${kind} key ${JSON.stringify(key.slice(0, 40))}... is longer than ${SERVER_LIMITS.keyLength} characters`,
    );
  }
}

// The server counts Python characters (code points), not UTF-16 units.
function codePointLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** Cuts `value` to `limit` code points, warning through `logger`, as the server would. */
export function truncateValue(
  kind: 'param' | 'tag',
  key: string,
  value: string,
  limit: number,
  logger: TrackingLogger,
): string {
  if (value.length <= limit) return value;
  const length = codePointLength(value);
  if (length <= limit) return value;
  logger.warn(`${kind} '${key}' value (${length} characters) truncated to ${limit} characters`);
  return Array.from(value).slice(0, limit).join('');
}

// A training loop logs the same few keys at every step: validating each once is enough.
const validMetricKeys = new Set<string>();
const VALID_KEY_CACHE_LIMIT = 10_000;

function validateMetricKey(key: string): void {
  if (validMetricKeys.has(key)) return;
  validateKey('metric', key);
  if (validMetricKeys.size < VALID_KEY_CACHE_LIMIT) validMetricKeys.add(key);
}

export function toMetric(input: MetricInput, now: () => number): Metric {
  validateMetricKey(input.key);
  if (typeof input.value !== 'number') {
    throw new MlflowValidationError(`metric '${input.key}' value must be a number, got ${typeof input.value}`);
  }
  const step = input.step ?? 0;
  const timestamp = input.timestamp ?? now();
  if (!Number.isSafeInteger(step)) throw new MlflowValidationError(`metric '${input.key}' step must be an integer`);
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new MlflowValidationError(`metric '${input.key}' timestamp must be a non-negative integer (ms)`);
  }
  return { key: input.key, value: input.value, step, timestamp };
}

function entries(input: BatchInput['params'] | BatchInput['tags']): { key: string; value: string }[] {
  if (!input) return [];
  if (Array.isArray(input)) return input.map(({ key, value }) => ({ key, value: String(value) }));
  return Object.entries(input).map(([key, value]) => ({ key, value: String(value) }));
}

export interface PreparedBatch {
  metrics: Metric[];
  params: Param[];
  tags: RunTag[];
}

/** Validates keys, truncates values and drops exact duplicate params, keeping order. */
export function prepareBatch(input: BatchInput, logger: TrackingLogger, now: () => number): PreparedBatch {
  const metrics = (input.metrics ?? []).map((m) => toMetric(m, now));
  const params: Param[] = [];
  const seen = new Map<string, string>();
  for (const { key, value } of entries(input.params)) {
    validateKey('param', key);
    const v = truncateValue('param', key, value, SERVER_LIMITS.paramValueLength, logger);
    const previous = seen.get(key);
    if (previous === v) continue;
    // The server refuses a changed param value; saying so here names the key early.
    if (previous !== undefined) throw new MlflowValidationError(`param '${key}' given twice with different values`);
    seen.set(key, v);
    params.push({ key, value: v });
  }
  const tags = entries(input.tags).map(({ key, value }) => {
    validateKey('tag', key);
    return { key, value: truncateValue('tag', key, value, SERVER_LIMITS.tagValueLength, logger) };
  });
  return { metrics, params, tags };
}

export interface LogBatchBody {
  run_id: string;
  metrics: MetricWireOut[];
  params: Param[];
  tags: RunTag[];
}

const byteLength = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');

/**
 * Splits a prepared batch into request bodies that each respect the count and byte
 * limits. Params go first, then tags, then metrics, each in the caller's order, so
 * a run's params are on the server before its first metrics.
 */
export function chunkBatch(runId: string, batch: PreparedBatch, limits: BatchLimits = SERVER_LIMITS): LogBatchBody[] {
  const emptyBytes = byteLength({ run_id: runId, metrics: [], params: [], tags: [] });
  const bodies: LogBatchBody[] = [];
  let body: LogBatchBody = { run_id: runId, metrics: [], params: [], tags: [] };
  let bytes = emptyBytes;

  const add = <K extends 'metrics' | 'params' | 'tags'>(field: K, item: LogBatchBody[K][number], max: number) => {
    // +1 for the separating comma; a conservative estimate is all the limit needs.
    const size = byteLength(item) + 1;
    const count = body.metrics.length + body.params.length + body.tags.length;
    if (
      count > 0 &&
      (body[field].length >= max || count >= limits.entitiesPerBatch || bytes + size > limits.requestBytes)
    ) {
      bodies.push(body);
      body = { run_id: runId, metrics: [], params: [], tags: [] };
      bytes = emptyBytes;
    }
    (body[field] as unknown[]).push(item);
    bytes += size;
  };

  for (const p of batch.params) add('params', p, limits.paramsPerBatch);
  for (const t of batch.tags) add('tags', t, limits.tagsPerBatch);
  for (const m of batch.metrics) add('metrics', metricToWire(m), limits.metricsPerBatch);
  if (body.metrics.length + body.params.length + body.tags.length > 0) bodies.push(body);
  return bodies;
}
