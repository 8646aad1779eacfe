// Reads a text file line by line in fixed-size chunks: bounded memory whatever the file size,
// and synchronous, so a reader is a plain loop (no stream plumbing for a batch replay). A file
// whose name ends in .gz is gunzipped first, in memory (node has no synchronous streaming
// gunzip): fine for recordings of hours, not for a public trace of gigabytes.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { gunzipSync } from 'node:zlib';

const CHUNK_BYTES = 1 << 20;

const strip = (line: string): string => (line.endsWith('\r') ? line.slice(0, -1) : line);

/** Whether a path names a gzip-compressed file (by its name). */
export const isGzip = (path: string): boolean => /\.gz$/i.test(path);

/** Yields each line without its terminator (`\n` or `\r\n`), a last unterminated one too. */
export function* readLines(path: string): Generator<string> {
  const chunks = isGzip(path) ? gunzippedChunks(path) : fileChunks(path);
  // the decoder holds back a multi-byte character split across two chunks
  const decoder = new StringDecoder('utf8');
  let carry = '';
  for (const chunk of chunks) {
    const parts = (carry + decoder.write(chunk)).split('\n');
    carry = parts.pop()!;
    for (const p of parts) yield strip(p);
  }
  carry += decoder.end();
  if (carry.length > 0) yield strip(carry);
}

function* fileChunks(path: string): Generator<Buffer> {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK_BYTES, null);
      if (n === 0) break;
      yield buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

function* gunzippedChunks(path: string): Generator<Buffer> {
  let data: Buffer;
  try {
    data = gunzipSync(readFileSync(path));
  } catch (err) {
    throw new Error(`${path}: not a readable gzip file (${(err as Error).message})`);
  }
  for (let at = 0; at < data.length; at += CHUNK_BYTES) yield data.subarray(at, at + CHUNK_BYTES);
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
