// The whole state of a trial as bytes: weights, optimizer moments, data-order and noise
// generators, step. A SHA-256 trailer lets a reader reject a truncated or corrupt file
// instead of resuming from garbage.
import { createHash } from 'node:crypto';

const MAGIC = Buffer.from('MIRLCKP1');

export interface NamedArray {
  name: string;
  shape: number[];
  values: Float32Array;
}

export interface CheckpointContent {
  step: number;
  /** Names and shapes identify the model; mismatches are refused on restore. */
  arrays: NamedArray[];
  /** Plain-JSON state (generators, counters). */
  state: Record<string, unknown>;
}

export class CheckpointCorruptError extends Error {}

export function encodeCheckpoint(c: CheckpointContent): Buffer {
  let offset = 0;
  const index = c.arrays.map((a) => {
    const entry = { name: a.name, shape: a.shape, offset, length: a.values.length };
    offset += a.values.length * 4;
    return entry;
  });
  const header = Buffer.from(JSON.stringify({ version: 1, step: c.step, arrays: index, state: c.state }), 'utf8');
  const payload = Buffer.alloc(offset);
  c.arrays.forEach((a, i) => {
    Buffer.from(a.values.buffer, a.values.byteOffset, a.values.byteLength).copy(payload, index[i].offset);
  });
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  const body = Buffer.concat([MAGIC, len, header, payload]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

/** Why `bytes` cannot be a whole mirl checkpoint, or null when magic and checksum hold. */
export function checkpointDamage(bytes: Uint8Array): string | null {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < MAGIC.length + 4 + 32 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    return 'not a mirl checkpoint (bad magic or too short)';
  }
  const digest = createHash('sha256')
    .update(buf.subarray(0, buf.length - 32))
    .digest();
  return digest.equals(buf.subarray(buf.length - 32)) ? null : 'checkpoint checksum mismatch (truncated or corrupt)';
}

export function decodeCheckpoint(bytes: Uint8Array): CheckpointContent {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const damage = checkpointDamage(buf);
  if (damage) throw new CheckpointCorruptError(damage);
  const body = buf.subarray(0, buf.length - 32);
  const headerLen = buf.readUInt32LE(MAGIC.length);
  const headerStart = MAGIC.length + 4;
  const header = JSON.parse(buf.subarray(headerStart, headerStart + headerLen).toString('utf8')) as {
    version: number;
    step: number;
    arrays: { name: string; shape: number[]; offset: number; length: number }[];
    state: Record<string, unknown>;
  };
  const payload = body.subarray(headerStart + headerLen);
  const arrays = header.arrays.map((a) => {
    // Copy into a fresh, aligned buffer: the payload offset need not be 4-byte aligned.
    const values = new Float32Array(a.length);
    Buffer.from(values.buffer).set(payload.subarray(a.offset, a.offset + a.length * 4));
    return { name: a.name, shape: a.shape, values };
  });
  return { step: header.step, arrays, state: header.state };
}
