// How many steps each trial of a sweep trains for, read from the spec the sweep was
// started with (its first history event), so the watch view can show "step 120/200".
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { expandSpec } from '../../spec/index.js';
import type { SweepInput } from '../../workflows/types.js';

export async function trialSteps(handle: WorkflowHandle): Promise<Record<number, number>> {
  try {
    const history = await handle.fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    if (!payload) return {};
    const input = defaultPayloadConverter.fromPayload(payload) as SweepInput;
    const steps: Record<number, number> = {};
    for (const t of expandSpec(input.spec, { sweepId: input.sweepId, profile: input.profile })) {
      steps[t.index] = t.config.steps;
      const override = input.carry?.trials[t.index]?.overrides?.steps;
      if (typeof override === 'number') steps[t.index] = override;
    }
    return steps;
  } catch {
    // Only a nicety: without it the view shows bare step numbers.
    return {};
  }
}
