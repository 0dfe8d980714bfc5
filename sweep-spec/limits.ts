// Size limits a spec must meet before anything is launched. Pure (no node: imports), so
// workflow code may import it too. Temporal refuses a workflow input over 2 MB (and gRPC
// a message over 4 MB) only after a long round of retries, with an error that names
// neither the file nor the limit; checking here turns that into one line up front.
import { ROOT_PATH, SpecError } from './errors.js';

/** The largest spec file read at all; real specs are a few KiB. */
export const MAX_SPEC_FILE_BYTES = 1024 * 1024;

/**
 * The largest serialized sweep input (spec, its text, options) sent to Temporal. The
 * server warns at 512 KB and refuses 2 MB; the sweep input is also carried through every
 * continue-as-new, so it stays at the warning level, well clear of the hard limit.
 */
export const MAX_WORKFLOW_INPUT_BYTES = 512 * 1024;

/** Bytes for people: `5.0 MiB`, `612.3 KiB`, `812 bytes`; limits that are whole units print bare (`1 MiB`). */
export function formatBytes(n: number): string {
  const units: [number, string][] = [
    [1024 * 1024 * 1024, 'GiB'],
    [1024 * 1024, 'MiB'],
    [1024, 'KiB'],
  ];
  for (const [size, unit] of units) {
    if (n < size) continue;
    const value = n / size;
    return `${Number.isInteger(value) ? value : value.toFixed(1)} ${unit}`;
  }
  return `${n} bytes`;
}

/** The UTF-8 size of a value as JSON, which is how Temporal's default converter sends it. */
export function jsonByteLength(value: unknown): number {
  return new TextEncoder().encode(JSON.stringify(value) ?? '').length;
}

/** A SpecError when a spec file of `bytes` bytes is over MAX_SPEC_FILE_BYTES. */
export function specFileTooLarge(file: string, bytes: number, limit = MAX_SPEC_FILE_BYTES): SpecError | undefined {
  if (bytes <= limit) return undefined;
  return new SpecError([
    {
      file,
      path: ROOT_PATH,
      message: `the spec file is ${formatBytes(bytes)}; a spec file may be at most ${formatBytes(limit)}`,
    },
  ]);
}

/** Throws a SpecError naming `file` when the workflow input is over the budget. */
export function checkWorkflowInputSize(file: string, input: unknown, limit = MAX_WORKFLOW_INPUT_BYTES): void {
  const bytes = jsonByteLength(input);
  if (bytes <= limit) return;
  throw new SpecError([
    {
      file,
      path: ROOT_PATH,
      message:
        `the sweep's workflow input (the resolved spec and its text as JSON) would be ${formatBytes(bytes)}; ` +
        `it may be at most ${formatBytes(limit)} (Temporal refuses large inputs); shorten the spec or its comments`,
    },
  ]);
}
