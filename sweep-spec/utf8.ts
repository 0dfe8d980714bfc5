// Strict UTF-8 decoding that says where the first bad byte is. TextDecoder's fatal mode
// only throws, and a lenient decode would turn a Latin-1 "µ" into U+FFFD silently.

export type Utf8Result =
  { ok: true; text: string } | { ok: false; offset: number; byte: number; line: number; column: number };

/** Length of the valid UTF-8 sequence starting at i, or 0 if it is not valid. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i];
  if (b0 < 0x80) return 1;
  let length: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) length = 2;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    length = 3;
    if (b0 === 0xe0) lo = 0xa0; // overlong
    if (b0 === 0xed) hi = 0x9f; // UTF-16 surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    length = 4;
    if (b0 === 0xf0) lo = 0x90; // overlong
    if (b0 === 0xf4) hi = 0x8f; // above U+10FFFF
  } else return 0;
  if (i + length > bytes.length) return 0;
  if (bytes[i + 1] < lo || bytes[i + 1] > hi) return 0;
  for (let k = 2; k < length; k++) if (bytes[i + k] < 0x80 || bytes[i + k] > 0xbf) return 0;
  return length;
}

export function decodeUtf8Strict(bytes: Uint8Array): Utf8Result {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < bytes.length;) {
    const n = sequenceLength(bytes, i);
    if (n === 0) return { ok: false, offset: i, byte: bytes[i], line, column: i - lineStart + 1 };
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
    i += n;
  }
  // The bytes are known valid here; the decoder also drops a leading byte-order mark.
  return { ok: true, text: new TextDecoder('utf-8').decode(bytes) };
}
