// Messages between the runTrial activity and its trainer process (Node IPC, 'advanced'
// serialization so checkpoint bytes travel as binary).
import type { BackendRequest } from '../ml/backend.js';
import type { TrialConfig } from '../ml/config.js';
import type { TrialResult } from '../ml/run-trial.js';

export type ToTrainer =
  | {
      type: 'start';
      config: TrialConfig;
      backend: BackendRequest;
      checkpointEvery: number;
      resumeFrom: Uint8Array | null;
    }
  /** Stop after the current step, checkpoint, and report a 'stopped' result. */
  | { type: 'stop' };

export type FromTrainer =
  | { type: 'ready' }
  | { type: 'train'; step: number; metrics: Record<string, number> }
  | { type: 'eval'; step: number; metrics: Record<string, number>; system?: Record<string, number> }
  | { type: 'checkpoint'; step: number; bytes: Uint8Array }
  | { type: 'result'; result: TrialResult }
  | { type: 'error'; name: string; message: string; stack?: string };
