// Turning failures into one actionable line and an exit code: 0 done, 1 failed, 2 usage.
import { SpecError, formatSpecError } from '../sweep-spec/errors.js';
import { ZodError } from 'zod';
import { SweepLookupError } from '../results/sweep-runs.js';
import { SweepRefusal } from '../client/sweeps.js';
import { TemporalUnreachableError } from '../servers/temporal-connection.js';

export class UsageError extends Error {}

/**
 * A failure whose message already says what happened and what to do (a server that did
 * not answer, and where mirl looked for it): printed as it is, with no class name before it.
 */
export class ActionableError extends Error {}

/**
 * A call to a server that failed, with what mirl was doing as its message. The server's
 * own error rides along as `cause` and is printed with it: Temporal's ServiceError says
 * only "Failed to start Workflow", the reason is in the gRPC error beneath.
 */
export class ServerCallError extends Error {
  override readonly name = 'ServerCallError';
  constructor(doing: string, cause: unknown) {
    super(doing, { cause });
  }
}

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export function describeFailure(err: unknown): { message: string; code: number } {
  if (err instanceof SpecError) return { message: formatSpecError(err), code: EXIT.usage };
  if (
    err instanceof UsageError ||
    err instanceof SweepRefusal ||
    err instanceof SweepLookupError ||
    err instanceof RangeError
  )
    return { message: err.message, code: EXIT.usage };
  if (err instanceof ZodError) {
    const lines = err.issues.map((i) => `${i.path.join('.') || '(settings)'}: ${i.message}`);
    return { message: lines.join('\n'), code: EXIT.usage };
  }
  if (err instanceof ServerCallError) return { message: withCauses(err.message, err.cause), code: EXIT.failed };
  // Whole stories, the server layer's "cannot reach Temporal" among them: a class name adds nothing.
  if (err instanceof ActionableError || err instanceof TemporalUnreachableError)
    return { message: err.message, code: EXIT.failed };
  if (err instanceof Error) {
    const lead = `${err.name === 'Error' ? 'error' : err.name}: ${err.message}`;
    return { message: withCauses(lead, err.cause), code: EXIT.failed };
  }
  return { message: String(err), code: EXIT.failed };
}

// The names of gRPC status codes (grpc/status.h), which a gRPC error carries as a number.
const GRPC_STATUS = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

const MAX_CAUSES = 8;

/** One error's own words, on one line; a gRPC error as `STATUS: details`. */
export function describeCause(err: unknown): string {
  const e = err as { code?: unknown; details?: unknown; message?: unknown; name?: unknown } | null;
  let text: string;
  if (e && typeof e === 'object' && typeof e.code === 'number' && typeof e.details === 'string') {
    text = `${GRPC_STATUS[e.code] ?? `gRPC status ${e.code}`}: ${e.details || '(no details)'}`;
  } else if (err instanceof Error) {
    text = err.message || err.name;
  } else {
    text = String(err);
  }
  return text.replace(/\s+/g, ' ').trim();
}

// Temporal's ServiceError wraps a gRPC error in a stock sentence ("Failed to start
// Workflow"); beneath a lead of mirl's own, the gRPC error is the news.
function isSdkWrapper(err: unknown): boolean {
  return err instanceof Error && err.name === 'ServiceError' && err.cause !== undefined;
}

/** `lead: cause: cause's cause ...`, skipping causes that only repeat what is already said. */
export function withCauses(lead: string, cause: unknown): string {
  let out = lead;
  const seen = new Set<unknown>();
  for (let c = cause, depth = 0; c !== undefined && c !== null && !seen.has(c) && depth < MAX_CAUSES; depth++) {
    seen.add(c);
    const text = isSdkWrapper(c) ? '' : describeCause(c);
    if (text && !out.includes(text)) out += `: ${text}`;
    c = (c as { cause?: unknown }).cause;
  }
  return out;
}
