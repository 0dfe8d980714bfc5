// The one spec function that touches the file system; kept apart so workflow code can
// import the rest of spec/ without pulling in node:fs.
import { readFileSync } from 'node:fs';
import { ROOT_PATH, SpecError } from './errors.js';
import { parseSpec } from './parse.js';
import type { Spec } from './schema.js';

/** Reads and validates a spec file; every failure, unreadable file included, is a SpecError. */
export function loadSpecFile(path: string): Spec {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new SpecError([{ file: path, path: ROOT_PATH, message: `cannot read the spec: ${reason}` }]);
  }
  return parseSpec(bytes, path);
}
