// The one place that says what a sweep run hands to the next (continue-as-new, or a
// restart after it closed): the book, and each optional part only where the sweep has it.
import type { Spec } from '../sweep-spec/index.js';
import type { EarlyStopBook } from './early-stop-state.js';
import type { SearchBook } from './search-state.js';
import type { SweepBook } from './sweep-state.js';
import type { SweepCarry } from './types.js';

/** What a sweep run holds that outlives it; the parts other than the book are optional. */
export interface CarriedState {
  book: SweepBook;
  search: SearchBook | null;
  earlyStop?: EarlyStopBook | null;
  extensions?: Spec[];
}

/**
 * The state a sweep run hands on: the book's, plus a TPE search's points and
 * observations, early stopping's reports and the extensions, each only where present.
 */
export function sweepCarry({ book, search, earlyStop, extensions }: CarriedState): SweepCarry {
  return {
    ...book.toCarry(),
    ...(search ? { search: search.toCarry() } : {}),
    ...(earlyStop ? { earlyStop: earlyStop.toCarry() } : {}),
    ...(extensions?.length ? { extensions } : {}),
  };
}
