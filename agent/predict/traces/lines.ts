// Reads a text file line by line in fixed-size chunks: bounded memory whatever the file size,
// and synchronous, so a reader is a plain loop (no stream plumbing for a batch replay).
import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

const CHUNK_BYTES = 1 << 20;

const strip = (line: string): string => (line.endsWith('\r') ? line.slice(0, -1) : line);

/** Yields each line without its terminator (`\n` or `\r\n`), a last unterminated one too. */
export function* readLines(path: string): Generator<string> {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    // the decoder holds back a multi-byte character split across two chunks
    const decoder = new StringDecoder('utf8');
    let carry = '';
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK_BYTES, null);
      if (n === 0) break;
      const parts = (carry + decoder.write(buf.subarray(0, n))).split('\n');
      carry = parts.pop()!;
      for (const p of parts) yield strip(p);
    }
    carry += decoder.end();
    if (carry.length > 0) yield strip(carry);
  } finally {
    closeSync(fd);
  }
}

/** The first line of a file (at most one chunk read), '' for an empty file. */
export function firstLine(path: string): string {
  for (const line of readLines(path)) return line;
  return '';
}

/** A CSV field as a number: NaN for an empty or missing field (Number('') would say 0). */
export function parseNumber(field: string | undefined): number {
  if (field === undefined) return Number.NaN;
  const s = field.trim();
  return s === '' ? Number.NaN : Number(s);
}
