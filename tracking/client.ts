// The typed MLflow REST client: experiments, runs, metrics and proxied artifacts.
// One method per endpoint the project uses; retries, limits and errors live below it.
import {
  ARTIFACTS_PROXY_PREFIX,
  artifactRoot,
  cleanArtifactPath,
  encodePath,
  type ArtifactRunRef,
} from './artifact-paths.js';
import { chunkBatch, prepareBatch, SERVER_LIMITS, truncateValue, validateKey, type BatchLimits } from './batch.js';
import {
  authorizationHeader,
  connectionInputFromEnv,
  resolveConnection,
  type ConnectionInput,
  type Credentials,
} from './config.js';
import { MlflowApiError, MlflowError, MlflowValidationError, isNotFound, isUniqueConstraintRace } from './errors.js';
import { createAxiosTransport, HttpClient, type Transport } from './http.js';
import { consoleLogger, type TrackingLogger } from './logger.js';
import { DEFAULT_RETRY_POLICY, realSleep, type RetryPolicy, type Sleep } from './retry.js';
import type {
  BatchInput,
  DatasetInput,
  Experiment,
  FileInfo,
  Metric,
  Page,
  Run,
  RunInfo,
  RunStatus,
  ViewType,
} from './types.js';
import { parseResponse, responses, toExperiment, toFileInfo, toMetric, toRun, toRunInfo } from './wire.js';

const API = '/api/2.0/mlflow';
/** A race has one winner, so a second try succeeds; the third covers a three-way race. */
const LOG_INPUTS_RACE_ATTEMPTS = 3;
const LOG_INPUTS_RACE_DELAY_MS = 200;

export interface MlflowClientOptions extends ConnectionInput {
  retry?: Partial<RetryPolicy>;
  logger?: TrackingLogger;
  /** Replaces the network (tests); built from the connection settings otherwise. */
  transport?: Transport;
  sleep?: Sleep;
  now?: () => number;
  random?: () => number;
  /** Lower than the server's limits only to exercise chunking in tests. */
  batchLimits?: Partial<BatchLimits>;
}

export interface CreateRunInput {
  experimentId: string;
  runName?: string;
  /** Defaults to now. */
  startTime?: number;
  tags?: Record<string, string>;
  /** Makes this a nested run of the given parent (MLflow's `mlflow.parentRunId` tag). */
  parentRunId?: string;
}

export interface UpdateRunInput {
  status?: RunStatus;
  endTime?: number;
  runName?: string;
}

export interface SearchRunsQuery {
  experimentIds: readonly string[];
  /** MLflow search syntax, e.g. tags.`mirl.trial_id` = 'abc'. */
  filter?: string;
  /** e.g. ['attributes.start_time DESC', 'metrics.loss ASC']. */
  orderBy?: readonly string[];
  /** Per page; the server allows up to 50000 and defaults to 1000. */
  maxResults?: number;
  pageToken?: string;
  viewType?: ViewType;
}

export interface PageRequest {
  maxResults?: number;
  pageToken?: string;
}

function secretsOf(credentials: Credentials): string[] {
  const header = authorizationHeader(credentials)?.split(' ')[1];
  if (credentials.kind === 'bearer') return [credentials.token];
  if (credentials.kind === 'basic') return [credentials.password, header ?? ''];
  return [];
}

export class MlflowClient {
  /** The server's base URL, never with credentials in it. */
  readonly trackingUri: string;
  private readonly http: HttpClient;
  private readonly logger: TrackingLogger;
  private readonly now: () => number;
  private readonly batchLimits: BatchLimits;
  private readonly sleep: Sleep;

  constructor(options: MlflowClientOptions = {}) {
    const connection = resolveConnection(options);
    this.trackingUri = connection.baseUrl;
    this.logger = options.logger ?? consoleLogger;
    this.now = options.now ?? Date.now;
    this.batchLimits = { ...SERVER_LIMITS, ...options.batchLimits };
    this.sleep = options.sleep ?? realSleep;
    this.http = new HttpClient({
      transport: options.transport ?? createAxiosTransport(connection),
      retry: { ...DEFAULT_RETRY_POLICY, ...options.retry },
      timeoutMs: connection.timeoutMs,
      logger: this.logger,
      sleep: this.sleep,
      now: this.now,
      random: options.random ?? Math.random,
      secrets: secretsOf(connection.credentials),
    });
  }

  /** Connection from MLFLOW_* variables; explicit options win over the environment. */
  static fromEnv(options: MlflowClientOptions = {}, env: NodeJS.ProcessEnv = process.env): MlflowClient {
    const fromEnv = connectionInputFromEnv(env);
    const explicit = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    return new MlflowClient({ ...fromEnv, ...explicit });
  }

  // ---- experiments ----

  /** Undefined when no experiment (active or deleted) has this name. */
  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    const path = `${API}/experiments/get-by-name`;
    try {
      const body = await this.http.json({ method: 'GET', path, query: { experiment_name: name } });
      return toExperiment(parseResponse(responses.experiment, body, `GET ${path}`).experiment);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    const path = `${API}/experiments/get`;
    const body = await this.http.json({ method: 'GET', path, query: { experiment_id: experimentId } });
    return toExperiment(parseResponse(responses.experiment, body, `GET ${path}`).experiment);
  }

  /**
   * Creates the experiment, or returns the one that exists under this name: another
   * worker may create it at the same moment, and a retried create may find its own
   * first attempt. A deleted experiment of that name is an error the user must resolve.
   */
  async createExperiment(
    name: string,
    options: { artifactLocation?: string; tags?: Record<string, string> } = {},
  ): Promise<Experiment> {
    const path = `${API}/experiments/create`;
    try {
      const body = await this.http.json({
        method: 'POST',
        path,
        json: {
          name,
          artifact_location: options.artifactLocation,
          tags: Object.entries(options.tags ?? {}).map(([key, value]) => ({ key, value })),
        },
      });
      const { experiment_id } = parseResponse(responses.createExperiment, body, `POST ${path}`);
      return await this.getExperiment(experiment_id);
    } catch (err) {
      if (!(err instanceof MlflowApiError && err.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw err;
    }
    const existing = await this.getExperimentByName(name);
    if (!existing) {
      throw new MlflowError(
        'RESOURCE_DOES_NOT_EXIST',
        `experiment '${name}' was reported to exist but cannot be found`,
      );
    }
    if (existing.lifecycleStage === 'deleted') {
      throw new MlflowError(
        'RESOURCE_ALREADY_EXISTS',
        `experiment '${name}' (id ${existing.experimentId}) exists but is deleted: ` +
          'restore it (`mlflow experiments restore`) or choose another name',
      );
    }
    return existing;
  }

  /** get-by-name first: the common case costs one read and no failed insert. */
  async getOrCreateExperiment(name: string): Promise<Experiment> {
    const existing = await this.getExperimentByName(name);
    if (existing && existing.lifecycleStage !== 'deleted') return existing;
    return this.createExperiment(name);
  }

  async setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    validateKey('tag', key);
    await this.post('experiments/set-experiment-tag', { experiment_id: experimentId, key, value });
  }

  // ---- runs ----

  async createRun(input: CreateRunInput): Promise<Run> {
    const tags = { ...input.tags };
    if (input.parentRunId) tags['mlflow.parentRunId'] = input.parentRunId;
    const body = await this.post('runs/create', {
      experiment_id: input.experimentId,
      run_name: input.runName,
      start_time: input.startTime ?? this.now(),
      tags: Object.entries(tags).map(([key, value]) => this.tagEntry(key, value)),
    });
    return toRun(parseResponse(responses.run, body, `POST ${API}/runs/create`).run);
  }

  async getRun(runId: string): Promise<Run> {
    const path = `${API}/runs/get`;
    const body = await this.http.json({ method: 'GET', path, query: { run_id: runId } });
    return toRun(parseResponse(responses.run, body, `GET ${path}`).run);
  }

  async updateRun(runId: string, update: UpdateRunInput): Promise<RunInfo> {
    const body = await this.post('runs/update', {
      run_id: runId,
      status: update.status,
      end_time: update.endTime,
      run_name: update.runName,
    });
    return toRunInfo(parseResponse(responses.updateRun, body, `POST ${API}/runs/update`).run_info);
  }

  /** Marks the run finished (or failed/killed) now. */
  async endRun(runId: string, status: Exclude<RunStatus, 'RUNNING' | 'SCHEDULED'> = 'FINISHED'): Promise<RunInfo> {
    return this.updateRun(runId, { status, endTime: this.now() });
  }

  async setTag(runId: string, key: string, value: string): Promise<void> {
    await this.post('runs/set-tag', { run_id: runId, ...this.tagEntry(key, value) });
  }

  /** Removing a tag that is not there is not an error (so a retried delete is safe). */
  async deleteTag(runId: string, key: string): Promise<void> {
    validateKey('tag', key);
    try {
      await this.post('runs/delete-tag', { run_id: runId, key });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Soft delete: the run moves to lifecycle stage 'deleted'. */
  async deleteRun(runId: string): Promise<void> {
    await this.post('runs/delete', { run_id: runId });
  }

  async searchRuns(query: SearchRunsQuery): Promise<Page<Run>> {
    const body = await this.post('runs/search', {
      experiment_ids: query.experimentIds,
      filter: query.filter,
      order_by: query.orderBy,
      max_results: query.maxResults,
      page_token: query.pageToken,
      run_view_type: query.viewType,
    });
    const page = parseResponse(responses.searchRuns, body, `POST ${API}/runs/search`);
    return { items: page.runs.map(toRun), nextPageToken: page.next_page_token || undefined };
  }

  /** Every matching run, fetching pages as the caller iterates. */
  async *searchAllRuns(query: Omit<SearchRunsQuery, 'pageToken'>): AsyncGenerator<Run> {
    let pageToken: string | undefined;
    do {
      const page = await this.searchRuns({ ...query, pageToken });
      yield* page.items;
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  // ---- metrics, params, tags ----

  /**
   * Logs any number of metrics, params and tags, split into as many requests as the
   * server's limits require and sent in order. Resolves with the number of requests.
   * A retried request cannot double a metric: the SQL store drops exact duplicates
   * (same key, step, timestamp and value), which is why timestamps are fixed here.
   */
  async logBatch(
    runId: string,
    batch: BatchInput,
    options: { signal?: AbortSignal } = {},
  ): Promise<{ requests: number }> {
    const prepared = prepareBatch(batch, this.logger, this.now);
    const bodies = chunkBatch(runId, prepared, this.batchLimits);
    for (const body of bodies) await this.post('runs/log-batch', body, options.signal);
    return { requests: bodies.length };
  }

  /**
   * Records the datasets a run used (MLflow's Datasets panel). Safe to repeat: the server
   * keeps one dataset per (experiment, name, digest) and one input link per run and dataset.
   */
  async logInputs(runId: string, datasets: readonly DatasetInput[]): Promise<void> {
    if (datasets.length === 0) return;
    // The server's get-or-create of a dataset is not atomic: two runs of a new experiment
    // logging the same dataset at once can both try the insert, and the loser gets a 400
    // from the unique constraint. Its transaction rolled back, so asking again finds the
    // winner's dataset.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.postInputs(runId, datasets);
      } catch (err) {
        if (attempt >= LOG_INPUTS_RACE_ATTEMPTS || !isUniqueConstraintRace(err)) throw err;
        this.logger.warn(
          `log-inputs lost a dataset insert race; asking again (${attempt}/${LOG_INPUTS_RACE_ATTEMPTS - 1})`,
        );
        await this.sleep(LOG_INPUTS_RACE_DELAY_MS * attempt);
      }
    }
  }

  private async postInputs(runId: string, datasets: readonly DatasetInput[]): Promise<void> {
    await this.post('runs/log-inputs', {
      run_id: runId,
      datasets: datasets.map((d) => ({
        tags: [{ key: 'mlflow.data.context', value: d.context }],
        dataset: {
          name: d.name,
          digest: d.digest,
          source_type: d.sourceType,
          source: d.source,
          ...(d.profile !== undefined ? { profile: d.profile } : {}),
        },
      })),
    });
  }

  async getMetricHistory(runId: string, metricKey: string, page: PageRequest = {}): Promise<Page<Metric>> {
    const path = `${API}/metrics/get-history`;
    const body = await this.http.json({
      method: 'GET',
      path,
      query: { run_id: runId, metric_key: metricKey, max_results: page.maxResults, page_token: page.pageToken },
    });
    const parsed = parseResponse(responses.metricHistory, body, `GET ${path}`);
    return { items: parsed.metrics.map(toMetric), nextPageToken: parsed.next_page_token || undefined };
  }

  /** The whole history of one metric, ordered by timestamp, step and value (the server's order). */
  async getFullMetricHistory(runId: string, metricKey: string, pageSize = 10_000): Promise<Metric[]> {
    const all: Metric[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.getMetricHistory(runId, metricKey, { maxResults: pageSize, pageToken });
      all.push(...page.items);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return all;
  }

  // ---- artifacts (through the server's proxy) ----

  async uploadArtifact(
    run: ArtifactRunRef,
    path: string,
    data: Uint8Array | string,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    await this.http.send({
      method: 'PUT',
      path: this.artifactUrlPath(run, path),
      bytes,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
    });
  }

  async downloadArtifact(run: ArtifactRunRef, path: string, options: { timeoutMs?: number } = {}): Promise<Buffer> {
    const response = await this.http.send({
      method: 'GET',
      path: this.artifactUrlPath(run, path),
      timeoutMs: options.timeoutMs,
    });
    return response.body;
  }

  /**
   * Deletes a file (or a folder with its contents) through the artifact proxy's DELETE
   * endpoint; a path that does not exist is not an error.
   */
  async deleteArtifact(run: ArtifactRunRef, path: string, options: { timeoutMs?: number } = {}): Promise<void> {
    await this.http.send({ method: 'DELETE', path: this.artifactUrlPath(run, path), timeoutMs: options.timeoutMs });
  }

  /** Direct children of `path` (the run's root by default); paths are relative to the run root. */
  async listArtifacts(run: ArtifactRunRef, path = ''): Promise<FileInfo[]> {
    const dir = cleanArtifactPath(path);
    const proxied = [artifactRoot(run), dir].filter(Boolean).join('/');
    const body = await this.http.json({ method: 'GET', path: ARTIFACTS_PROXY_PREFIX, query: { path: proxied } });
    const parsed = parseResponse(responses.artifactList, body, `GET ${ARTIFACTS_PROXY_PREFIX}`);
    return parsed.files.map((f) => toFileInfo(f, dir));
  }

  private artifactUrlPath(run: ArtifactRunRef, path: string): string {
    const file = cleanArtifactPath(path);
    if (!file) throw new MlflowValidationError('artifact path must name a file');
    return `${ARTIFACTS_PROXY_PREFIX}/${encodePath(artifactRoot(run))}/${encodePath(file)}`;
  }

  private tagEntry(key: string, value: string): { key: string; value: string } {
    validateKey('tag', key);
    return { key, value: truncateValue('tag', key, value, SERVER_LIMITS.tagValueLength, this.logger) };
  }

  private post(endpoint: string, json: unknown, signal?: AbortSignal): Promise<unknown> {
    return this.http.json({ method: 'POST', path: `${API}/${endpoint}`, json, signal });
  }
}
