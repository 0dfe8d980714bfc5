// A search objective read at a step (not at the end): the activity keeps the first value
// at or after that step in its heartbeat, so a retry that resumes past it still has it.
import type { ObjectiveProbe, TrialHeartbeat } from '../workflows/types.js';

/** The search objective's value from this report, the first time the report reaches its step. */
export function probeObjective(
  objective: ObjectiveProbe | undefined,
  beat: TrialHeartbeat,
  msg: { step: number; metrics: Record<string, number> },
): Pick<TrialHeartbeat, 'objective'> {
  if (!objective || beat.objective || msg.step < objective.step) return {};
  const value = msg.metrics[objective.metric];
  return typeof value === 'number' ? { objective: { step: msg.step, value } } : {};
}
