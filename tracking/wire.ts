// MLflow's JSON on the wire (snake_case, proto3 JSON) and its translation into the
// client's types. Responses are checked with zod so a server that answers something
// unexpected fails here, with the field named, not later in a caller.
import { z } from 'zod';
import { MlflowApiError } from './errors.js';
import type { Experiment, FileInfo, Metric, Run, RunInfo, RunStatus } from './types.js';

// proto3 JSON allows int64 as strings; MLflow's server sends numbers, others may not.
const int64 = z.union([z.number(), z.string()]).transform(Number);
// Non-finite doubles travel as strings; the SQL store clamps +-Infinity to +-MAX_VALUE.
const double = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]).transform(Number);
const keyValue = z.object({ key: z.string(), value: z.string().default('') });

const experimentWire = z.object({
  experiment_id: z.string(),
  name: z.string(),
  artifact_location: z.string().default(''),
  lifecycle_stage: z.string().default('active'),
  creation_time: int64.optional(),
  last_update_time: int64.optional(),
  tags: z.array(keyValue).default([]),
});

const runInfoWire = z.object({
  run_id: z.string().optional(),
  run_uuid: z.string().optional(),
  experiment_id: z.string(),
  run_name: z.string().default(''),
  user_id: z.string().default(''),
  status: z.enum(['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED']).default('RUNNING'),
  start_time: int64.optional(),
  end_time: int64.optional(),
  artifact_uri: z.string().default(''),
  lifecycle_stage: z.string().default('active'),
});

const metricWire = z.object({
  key: z.string(),
  value: double,
  timestamp: int64.default(0),
  step: int64.default(0),
});

const runWire = z.object({
  info: runInfoWire,
  data: z
    .object({
      metrics: z.array(metricWire).default([]),
      params: z.array(keyValue).default([]),
      tags: z.array(keyValue).default([]),
    })
    .default({ metrics: [], params: [], tags: [] }),
});

const fileInfoWire = z.object({
  path: z.string(),
  is_dir: z.boolean().default(false),
  file_size: int64.optional(),
});

export const responses = {
  experiment: z.object({ experiment: experimentWire }),
  createExperiment: z.object({ experiment_id: z.string() }),
  run: z.object({ run: runWire }),
  updateRun: z.object({ run_info: runInfoWire }),
  searchRuns: z.object({ runs: z.array(runWire).default([]), next_page_token: z.string().optional() }),
  metricHistory: z.object({ metrics: z.array(metricWire).default([]), next_page_token: z.string().optional() }),
  artifactList: z.object({ files: z.array(fileInfoWire).default([]) }),
};

/** Validates a response body; a mismatch is the server's fault, reported as such. */
export function parseResponse<S extends z.ZodType>(schema: S, body: unknown, endpoint: string): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new MlflowApiError({
    errorCode: 'MALFORMED_RESPONSE',
    httpStatus: 200,
    message: `unexpected response shape at '${issue?.path.join('.') ?? ''}': ${issue?.message ?? 'invalid'}`,
    endpoint,
  });
}

function toRecord(pairs: readonly { key: string; value: string }[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (const { key, value } of pairs) record[key] = value;
  return record;
}

export function toExperiment(wire: z.output<typeof experimentWire>): Experiment {
  return {
    experimentId: wire.experiment_id,
    name: wire.name,
    artifactLocation: wire.artifact_location,
    lifecycleStage: wire.lifecycle_stage,
    creationTime: wire.creation_time,
    lastUpdateTime: wire.last_update_time,
    tags: toRecord(wire.tags),
  };
}

export function toRunInfo(wire: z.output<typeof runInfoWire>): RunInfo {
  return {
    runId: wire.run_id ?? wire.run_uuid ?? '',
    experimentId: wire.experiment_id,
    runName: wire.run_name,
    userId: wire.user_id,
    status: wire.status as RunStatus,
    startTime: wire.start_time,
    endTime: wire.end_time,
    artifactUri: wire.artifact_uri,
    lifecycleStage: wire.lifecycle_stage,
  };
}

export function toMetric(wire: z.output<typeof metricWire>): Metric {
  return { key: wire.key, value: wire.value, timestamp: wire.timestamp, step: wire.step };
}

export function toRun(wire: z.output<typeof runWire>): Run {
  return {
    info: toRunInfo(wire.info),
    data: {
      metrics: wire.data.metrics.map(toMetric),
      params: toRecord(wire.data.params),
      tags: toRecord(wire.data.tags),
    },
  };
}

export function toFileInfo(wire: z.output<typeof fileInfoWire>, parent: string): FileInfo {
  return {
    path: parent ? `${parent}/${wire.path}` : wire.path,
    isDir: wire.is_dir,
    fileSize: wire.file_size,
  };
}

/** JSON has no NaN/Infinity; MLflow's proto JSON parser takes these strings instead. */
export function encodeDouble(value: number): number | string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return value;
}

export interface MetricWireOut {
  key: string;
  value: number | string;
  timestamp: number;
  step: number;
}

export function metricToWire(metric: Metric): MetricWireOut {
  return { key: metric.key, value: encodeDouble(metric.value), timestamp: metric.timestamp, step: metric.step };
}
