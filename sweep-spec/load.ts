// The one spec function that touches the file system; kept apart so workflow code can
// import the rest of spec/ without pulling in node:fs.
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { ROOT_PATH, SpecError } from './errors.js';
import { MAX_SPEC_FILE_BYTES, specFileTooLarge } from './limits.js';
import { parseSpec } from './parse.js';
import type { Spec } from './schema.js';

export { MAX_SPEC_FILE_BYTES } from './limits.js';

/** A spec as validated, with the bytes it was read from (stored with the sweep as written). */
export interface LoadedSpec {
  spec: Spec;
  text: string;
  bytes: number;
}

/** Reads and validates a spec file; every failure, unreadable file included, is a SpecError. */
export function loadSpecFile(path: string): Spec {
  return readSpecFile(path).spec;
}

/**
 * Reads and validates a spec file, keeping its text. Refuses anything but a regular file
 * before opening it (opening a FIFO for reading blocks until a writer comes) and a file
 * over MAX_SPEC_FILE_BYTES before reading it.
 */
export function readSpecFile(path: string, maxBytes = MAX_SPEC_FILE_BYTES): LoadedSpec {
  const raw = readBounded(path, maxBytes);
  const spec = parseSpec(raw, path);
  // parseSpec accepted the bytes as UTF-8; the BOM, if any, stays in the text as written.
  return { spec, text: new TextDecoder('utf-8', { ignoreBOM: true }).decode(raw), bytes: raw.length };
}

const cannotRead = (path: string, reason: string) =>
  new SpecError([{ file: path, path: ROOT_PATH, message: `cannot read the spec: ${reason}` }]);

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a named pipe';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'not a file';
}

function checkRegular(path: string, stats: Stats, maxBytes: number): void {
  if (!stats.isFile()) throw cannotRead(path, `not a regular file (${kindOf(stats)})`);
  const tooLarge = specFileTooLarge(path, stats.size, maxBytes);
  if (tooLarge) throw tooLarge;
}

function readBounded(path: string, maxBytes: number): Uint8Array {
  let fd: number;
  try {
    checkRegular(path, statSync(path), maxBytes);
    // O_NONBLOCK: should the path turn into a FIFO between stat and open, the open
    // still returns at once and the fstat below refuses it.
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    if (err instanceof SpecError) throw err;
    throw cannotRead(path, errnoReason(err));
  }
  try {
    checkRegular(path, fstatSync(fd), maxBytes);
    // One byte past the limit tells a file that grew since the stat from one that did not.
    const buffer = new Uint8Array(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    const tooLarge = specFileTooLarge(path, length, maxBytes);
    if (tooLarge) throw tooLarge;
    return buffer.subarray(0, length);
  } catch (err) {
    if (err instanceof SpecError) throw err;
    throw cannotRead(path, errnoReason(err));
  } finally {
    closeSync(fd);
  }
}

function errnoReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return (err as Error).message;
}
