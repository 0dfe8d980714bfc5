// Is each part of the stack ready for work: Temporal answers gRPC with the mirl search
// attributes registered and serves its UI, MLflow answers /health, and the worker polls
// both of its task queues (which a live but stuck process would not).
import { Connection } from '@temporalio/client';
import { SWEEP_TASK_QUEUE } from '../../workflows/types.js';

// temporal.api.enums.v1.TaskQueueType, spelled out: @temporalio/proto is not a direct dependency.
const TASK_QUEUE_TYPE_WORKFLOW = 1;
const TASK_QUEUE_TYPE_ACTIVITY = 2;
// temporal.api.enums.v1.DescribeTaskQueueMode.DESCRIBE_TASK_QUEUE_MODE_ENHANCED.
const TASK_QUEUE_API_MODE_ENHANCED = 1;
const SEARCH_ATTRIBUTES = ['MirlSweep', 'MirlStudy'];

async function httpOk(url: string, timeoutMs = 2_000): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

export async function temporalReady(port: number, uiPort: number): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: 1_000 });
    const r = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    const keys = Object.keys(r.customAttributes ?? {});
    if (!SEARCH_ATTRIBUTES.every((k) => keys.includes(k))) return false;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => {});
  }
  return httpOk(`http://127.0.0.1:${uiPort}/`);
}

export function mlflowReady(port: number): Promise<boolean> {
  return httpOk(`http://127.0.0.1:${port}/health`);
}

/**
 * Both queues the worker serves list a poller whose identity ends in the worker's pid.
 * Asked in the enhanced mode, which gathers the pollers of every partition of a queue:
 * the plain mode reports the root partition only, and a worker restarted with trials
 * queued fills its slots from whichever partitions its first polls reach, then stops
 * polling; seen here, a resumed worker that had polled partitions 2 and 3 only was
 * killed by `mirl up` as never ready while it trained.
 */
export async function workerPolling(temporalPort: number, pid: number, activityQueue: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address: `127.0.0.1:${temporalPort}`, connectTimeout: 1_000 });
    const polled = async (name: string, taskQueueType: number) => {
      const r = await connection!.workflowService.describeTaskQueue({
        namespace: 'default',
        taskQueue: { name },
        apiMode: TASK_QUEUE_API_MODE_ENHANCED,
        versions: { unversioned: true, allActive: true },
        taskQueueTypes: [taskQueueType],
        reportPollers: true,
      });
      const pollers = Object.values(r.versionsInfo ?? {}).flatMap((v) =>
        Object.values(v.typesInfo ?? {}).flatMap((t) => t.pollers ?? []),
      );
      return pollers.some((p) => p.identity?.endsWith(`:${pid}`));
    };
    const [workflows, activities] = await Promise.all([
      polled(SWEEP_TASK_QUEUE, TASK_QUEUE_TYPE_WORKFLOW),
      polled(activityQueue, TASK_QUEUE_TYPE_ACTIVITY),
    ]);
    return workflows && activities;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => {});
  }
}
