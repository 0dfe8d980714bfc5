// Checkpoints as artifacts of the trial's MLflow run (checkpoints/step-NNNNNNNNNN.ckpt),
// so a retry on any machine that reaches the tracking server resumes from them. The
// run of a checkpoint key is the one the MLflow metrics sink opened for the attempt
// (the activity opens the sink before it reads the store).
import {
  isMlflowError,
  MlflowApiError,
  type ArtifactRunRef,
  type MlflowClient,
  type TrackingLogger,
} from '../tracking/index.js';
import {
  newestIntact,
  type CheckpointStore,
  type DamagedCheckpoint,
  type StoredCheckpoint,
} from './checkpoint-store.js';
import { CHECKPOINT_DIR, checkpointArtifactPath, checkpointStepOf } from '../results/mlflow-contract.js';

export const DEFAULT_KEEP_CHECKPOINTS = 2;
// A checkpoint of a large encoder is tens of MB: more than the client's default timeout allows.
const TRANSFER_TIMEOUT_MS = 300_000;

export interface CheckpointRunResolver {
  /** The run holding `key`'s checkpoints; throws when no attempt has it open. */
  runFor(key: string): { run: ArtifactRunRef; onSaved?(ms: number): void };
}

export class MlflowCheckpointStore implements CheckpointStore {
  private pruning = true;

  constructor(
    private readonly client: Pick<
      MlflowClient,
      'uploadArtifact' | 'downloadArtifact' | 'listArtifacts' | 'deleteArtifact'
    >,
    private readonly runs: CheckpointRunResolver,
    private readonly logger: TrackingLogger,
    /** Newest checkpoints kept per run; older ones are deleted after each save. */
    readonly keep = DEFAULT_KEEP_CHECKPOINTS,
  ) {}

  async save(key: string, step: number, bytes: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<string> {
    const { run, onSaved } = this.runs.runFor(key);
    const t0 = performance.now();
    const path = checkpointArtifactPath(step);
    // The proxy writes the upload in one piece; a torn file (the uploader died) fails
    // the checksum in latest() and an older one is used instead.
    await this.client.uploadArtifact(run, path, bytes, { timeoutMs: TRANSFER_TIMEOUT_MS, signal: options.signal });
    // A fenced attempt must not prune the checkpoints its retry is writing.
    if (!options.signal?.aborted) await this.prune(run);
    onSaved?.(performance.now() - t0);
    return `runs:/${run.runId}/${path}`;
  }

  async latest(key: string, onDamaged?: (damaged: DamagedCheckpoint) => void): Promise<StoredCheckpoint | null> {
    const { run } = this.runs.runFor(key);
    const candidates = (await this.list(run)).map(({ step, path }) => ({
      step,
      ref: `runs:/${run.runId}/${path}`,
      read: async () => {
        const bytes = await this.client.downloadArtifact(run, path, { timeoutMs: TRANSFER_TIMEOUT_MS });
        return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      },
    }));
    return newestIntact(candidates, (damaged) => {
      this.logger.warn(`checkpoint ${damaged.ref} is damaged (${damaged.reason}); trying an older one`);
      onDamaged?.(damaged);
    });
  }

  /** Newest first. */
  private async list(run: ArtifactRunRef): Promise<{ step: number; path: string }[]> {
    const files = await this.client.listArtifacts(run, CHECKPOINT_DIR);
    return files
      .filter((f) => !f.isDir)
      .map((f) => ({ step: checkpointStepOf(f.path), path: f.path }))
      .filter((f): f is { step: number; path: string } => f.step !== null)
      .sort((a, b) => b.step - a.step);
  }

  private async prune(run: ArtifactRunRef): Promise<void> {
    if (!this.pruning) return;
    try {
      const old = (await this.list(run)).slice(this.keep);
      for (const { path } of old) await this.client.deleteArtifact(run, path);
    } catch (err) {
      // A server without the proxy's DELETE keeps every checkpoint; any other failure
      // is retried after the next save. Neither is worth failing a trial for.
      if (
        err instanceof MlflowApiError &&
        (err.httpStatus === 404 || err.httpStatus === 405) &&
        err.endpoint.startsWith('DELETE')
      ) {
        this.pruning = false;
        this.logger.warn(`the tracking server cannot delete artifacts (${err.message}); keeping every checkpoint`);
      } else {
        this.logger.warn(
          `pruning old checkpoints of run ${run.runId} failed: ${isMlflowError(err) ? err.message : String(err)}`,
        );
      }
    }
  }
}
