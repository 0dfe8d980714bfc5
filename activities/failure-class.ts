// Whether a trainer's failure can go away on a retry. An outage (a server restarting, a
// dropped connection, memory another attempt may find) is worth the attempts Temporal's
// retry policy allows; a mistake in the trial's settings or in our own code fails the same
// way on every attempt, and retrying it only delays the message by the back-offs and
// buries it under identical copies. Pure, so the rule is tested as a table.
import { NON_RETRYABLE_ERROR_TYPES } from '../workflows/types.js';

/** A trainer's error as it crosses the IPC channel (activities/trainer-protocol.ts). */
export interface TrainerError {
  name: string;
  message: string;
  stack?: string;
}

/**
 * retryable: an outage, or an error not known to be ours; configuration: the trial's
 * settings; programming: a bug of ours; deterministic: the other failures a retry cannot
 * fix (NON_RETRYABLE_ERROR_TYPES: divergence, a corrupt checkpoint).
 */
export type FailureClass = 'retryable' | 'configuration' | 'programming' | 'deterministic';

/** Errors that say the trial's settings are wrong: the spec needs fixing, not the worker. */
export const CONFIGURATION_ERROR_TYPES: readonly string[] = ['TrialConfigError', 'ZodError', 'SpecError'];

/** JavaScript's own errors of misuse, and checks of ours that only a bug can trip. */
export const PROGRAMMING_ERROR_TYPES: readonly string[] = [
  'TypeError',
  'ReferenceError',
  'RangeError',
  'MissingGradientError',
  'GraphError',
];

// Node's fetch (undici) reports a refused or dropped connection as a TypeError ("fetch
// failed", "terminated"); socket errors carry their errno code in the text.
const NETWORK =
  /^(fetch failed|terminated)$|\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH)\b|socket hang up/;
// A RangeError for memory the machine refused: a fresh trainer, maybe on another worker, may get it.
const OUT_OF_MEMORY = /allocation failed|out of memory|cannot allocate|memory size exceeded/i;

const FRAME = /^\s*at (?:.*? \()?(.+?):(\d+):\d+\)?$/;

/**
 * Where the error was thrown: the first stack frame with a file position (built-ins such
 * as `Array.forEach (<anonymous>)` have none), and whether that file is this project's
 * rather than a package's or Node's. Null when the stack names no such frame.
 */
export function throwSite(stack: string | undefined): { own: boolean; where: string } | null {
  for (const line of (stack ?? '').split('\n')) {
    const m = FRAME.exec(line);
    if (!m) continue;
    const file = m[1].replace(/^file:\/\//, '');
    const own = !file.startsWith('node:') && !file.startsWith('internal/') && !file.includes('/node_modules/');
    // The last two segments name the file in this repository (`ml/infomax-trial.ts`) on any machine.
    return { own, where: `${file.split('/').slice(-2).join('/')}:${m[2]}` };
  }
  return null;
}

/** Which kind of failure a trainer's error is (see FailureClass). */
export function failureClassOf(err: TrainerError): FailureClass {
  if (CONFIGURATION_ERROR_TYPES.includes(err.name)) return 'configuration';
  if (NON_RETRYABLE_ERROR_TYPES.includes(err.name)) return 'deterministic';
  if (!PROGRAMMING_ERROR_TYPES.includes(err.name)) return 'retryable';
  if (NETWORK.test(err.message) || OUT_OF_MEMORY.test(err.message)) return 'retryable';
  // A TypeError inside a package may be a device or connection gone bad under it: not known to be ours.
  const site = throwSite(err.stack);
  return site && !site.own ? 'retryable' : 'programming';
}

/** zod's message is its issue list as indented JSON: as `path: message` pairs it fits one status line. */
function configurationText(err: TrainerError): string {
  if (err.name === 'ZodError') {
    try {
      const issues = JSON.parse(err.message) as { path?: unknown[]; message?: string }[];
      if (Array.isArray(issues) && issues.length > 0)
        return issues.map((i) => `${(i.path ?? []).join('.') || '(config)'}: ${i.message ?? '?'}`).join('; ');
    } catch {
      // Not the JSON list zod writes: the text as it is.
    }
  }
  return oneLine(err.message);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

export interface TrialFailure {
  /** The error's own name: Temporal's failure type, and the first word of the status line. */
  type: string;
  message: string;
  nonRetryable: boolean;
}

/**
 * The failure an attempt reports for its trainer's error. `lastStep` is the last step the
 * trainer reported in this attempt, null before the first: it tells a bug in setting the
 * trial up from one that struck in training. Retryable failures keep their message as it
 * was; the others say so up front, since `mirl sweep status` and the MLflow run show
 * `type: message` and nothing else.
 */
export function trialFailureOf(err: TrainerError, lastStep: number | null): TrialFailure {
  const type = err.name;
  switch (failureClassOf(err)) {
    case 'configuration':
      return { type, nonRetryable: true, message: `configuration error (not retried): ${configurationText(err)}` };
    case 'programming': {
      const stage = lastStep === null ? 'in trial set-up' : `in training after step ${lastStep}`;
      const site = throwSite(err.stack);
      const at = site ? ` (at ${site.where})` : '';
      return {
        type,
        nonRetryable: true,
        message: `programming error ${stage} (not retried): ${oneLine(err.message)}${at}`,
      };
    }
    case 'deterministic':
      return { type, nonRetryable: true, message: err.message };
    case 'retryable':
      return { type, nonRetryable: false, message: err.message };
  }
}
