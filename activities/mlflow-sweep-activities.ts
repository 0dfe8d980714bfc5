// The sweep workflow's tracking activities (queue mirl-sweeps, on workflow workers).
// With tracking off they answer null / do nothing, so a sweep runs the same either way.
import type { EnsureSweepRunInput, FinishSweepRunInput, SweepTracking } from '../workflows/types.js';
import type { MlflowTracking } from './mlflow-tracking.js';

export function createSweepActivities(tracking: MlflowTracking | null) {
  return {
    ensureSweepRun: async (input: EnsureSweepRunInput): Promise<SweepTracking | null> => (tracking ? tracking.ensureSweepRun(input) : null),
    finishSweepRun: async (input: FinishSweepRunInput): Promise<void> => {
      if (tracking) await tracking.finishSweepRun(input);
    },
  };
}

export type SweepActivities = ReturnType<typeof createSweepActivities>;
