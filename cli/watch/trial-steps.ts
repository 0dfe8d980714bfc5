// How many steps each trial of a sweep trains for, read from the spec the sweep was
// started with (its first history event), so the watch view can show "step 120/200".
// Trials are built one at a time on demand: a 100,000-trial sweep is never expanded.
import type { Client } from '@temporalio/client';
import { trialSource } from '../../sweep-spec/index.js';
import { SweepBook } from '../../workflows/sweep-state.js';
import { startInput } from '../../client/sweeps.js';

export type StepLookup = (index: number) => number | undefined;

export async function trialSteps(client: Client, sweepId: string): Promise<StepLookup> {
  try {
    const input = await startInput(client, sweepId);
    // A TPE sweep's points suggested before this run; later ones show bare step numbers.
    const carry = input.carry && 'format' in input.carry ? input.carry : undefined;
    const source = trialSource(input.spec, {
      ...input,
      points: carry?.search?.points,
      dataPath: input.dataPath,
      extensions: carry?.extensions,
    });
    const book = input.carry ? SweepBook.fromCarry(input.carry) : null;
    const cache = new Map<number, number | undefined>();
    return (index) => {
      if (!cache.has(index)) {
        const override = book?.overridesOf(index)?.steps;
        cache.set(index, typeof override === 'number' ? override : safeSteps(() => source.at(index).config.steps));
      }
      return cache.get(index);
    };
  } catch {
    // Only a nicety: without it the view shows bare step numbers.
    return () => undefined;
  }
}

function safeSteps(read: () => number): number | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}
