// Turning failures into one actionable line and an exit code: 0 done, 1 failed, 2 usage.
import { SpecError, formatSpecError } from '../spec/errors.js';
import { ZodError } from 'zod';

export class UsageError extends Error {}

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export function describeFailure(err: unknown): { message: string; code: number } {
  if (err instanceof SpecError) return { message: formatSpecError(err), code: EXIT.usage };
  if (err instanceof UsageError || err instanceof RangeError) return { message: err.message, code: EXIT.usage };
  if (err instanceof ZodError) {
    const lines = err.issues.map((i) => `${i.path.join('.') || '(settings)'}: ${i.message}`);
    return { message: lines.join('\n'), code: EXIT.usage };
  }
  if (err instanceof Error) return { message: `${err.name === 'Error' ? 'error' : err.name}: ${err.message}`, code: EXIT.failed };
  return { message: String(err), code: EXIT.failed };
}
