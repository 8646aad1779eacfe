// Reads a text file line by line in fixed-size chunks: bounded memory whatever the file size,
// and synchronous, so a reader is a plain loop (no stream plumbing for a batch replay). A file
// whose name ends in .gz, or that starts as gzip does, is gunzipped first, in memory (node has no synchronous streaming
// gunzip): fine for recordings of hours, not for a public trace of gigabytes. Its first line
// alone (which format is it?) costs only the file's first 64 KB. A pipe (`--trace <(zcat x)`,
// /dev/stdin) can be read only once, and a trace is read twice (its format, then its rows): it
// is read whole into memory at its first use, as a gzip file is.
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { getSystemErrorMessage } from 'node:util';
import { constants, gunzipSync } from 'node:zlib';

const CHUNK_BYTES = 1 << 20;

/** The most a pipe may hold (`--trace /dev/zero` would grow until it failed). */
const MAX_ONCE_BYTES = 2 ** 30;

/** What pipes and other files that are not regular held, read once (a path's bytes for the process's life: a CLI reads one trace). */
const readOnce = new Map<string, Buffer>();

/** The name `predict --trace -` reads: stdin, read from fd 0. */
export const STDIN_PATH = '/dev/stdin';

/** A file's bytes when it is not a regular file (read whole at the first ask), else undefined: read it in chunks. */
function onceRead(path: string): Buffer | undefined {
  const held = readOnce.get(path);
  if (held) return held;
  // (stdin read through its fd: opened by name, a socket, as a test's or a supervisor's, is ENXIO)
  const fd = path === STDIN_PATH ? 0 : openSync(path, 'r');
  try {
    if (fstatSync(fd).isFile()) return undefined;
    const parts: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(CHUNK_BYTES);
      const n = readSync(fd, buf, 0, CHUNK_BYTES, null);
      if (n === 0) break;
      total += n;
      if (total > MAX_ONCE_BYTES) throw new Error(`${path}: over ${MAX_ONCE_BYTES / 2 ** 30} GiB through a pipe (held in memory, as a pipe is read once): save it to a file`);
      parts.push(buf.subarray(0, n));
    }
    const data = Buffer.concat(parts, total);
    readOnce.set(path, data);
    return data;
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

/** Whether the first bytes are gzip's magic number. */
const gzipMagic = (b: Buffer): boolean => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

const strip = (line: string): string => (line.endsWith('\r') ? line.slice(0, -1) : line);

/** Whether a path names a gzip-compressed file (by its name). */
export const isGzip = (path: string): boolean => /\.gz$/i.test(path);

/** Whether a file is gzip-compressed: by its name, or its first two bytes (a trace gzipped and renamed read as an unknown format). */
export function isGzipFile(path: string): boolean {
  if (isGzip(path)) return true;
  let fd: number | undefined;
  try {
    const held = onceRead(path);
    if (held) return gzipMagic(held);
    fd = openSync(path, 'r');
    const magic = Buffer.alloc(2);
    return readSync(fd, magic, 0, 2, 0) === 2 && gzipMagic(magic);
  } catch {
    return false; // (what cannot be opened fails where it is read, with its reason)
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Why a file operation failed, as a user reads it: its errno name and what it means (`ENOSPC:
 * no space left on device`: the name alone is for those who know it), else the message.
 */
export function ioReason(err: unknown): string {
  const { code, errno, message } = err as NodeJS.ErrnoException;
  if (code === undefined) return message;
  // (Node's own errors, ERR_*, have a code and no errno: their message says what)
  return `${code}: ${typeof errno === 'number' ? getSystemErrorMessage(errno) : message}`;
}

/** A UTF-8 byte order mark, as decoded: editors on Windows start files with it. */
const BOM = '\uFEFF';
const withoutBom = (text: string): string => (text.startsWith(BOM) ? text.slice(1) : text);

/**
 * Yields each line without its terminator (`\n` or `\r\n`), a last unterminated one too (said to
 * `onWarning`, after whole lines, with `warnUnterminated`); a byte order mark before the first is dropped. A gzip file cut short (a copy or download stopped) gives
 * the lines it holds, said to `onWarning`, less its last one when that is cut.
 */
export function* readLines(path: string, onWarning?: (message: string) => void, opts: { warnUnterminated?: boolean } = {}): Generator<string> {
  const cut = { short: false };
  const chunks = isGzipFile(path) ? gunzippedChunks(path, cut) : fileChunks(path);
  // the decoder holds back a multi-byte character split across two chunks
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let first = true;
  let sawLineEnd = false;
  for (const chunk of chunks) {
    let text = decoder.write(chunk);
    if (first && text.length > 0) {
      text = withoutBom(text);
      first = false;
    }
    const parts = (carry + text).split('\n');
    carry = parts.pop()!;
    if (parts.length > 0) sawLineEnd = true;
    for (const p of parts) yield strip(p);
  }
  carry += decoder.end();
  if (cut.short) {
    onWarning?.(`${path}: its gzip stream ends early (the file cut short?): read what it holds${carry.length > 0 ? ', less its last line, possibly cut' : ''}`);
    return;
  }
  // (a CSV row cut mid-number reads as a number, in silence: 57 KB of memory for 57,146. Every
  // public trace ends its last row with a line end, so one without, after whole lines, may be cut)
  if (carry.length > 0 && opts.warnUnterminated && sawLineEnd) onWarning?.(`${path}: its last line has no line end (the file cut short?): read as it is; check its last row`);
  if (carry.length > 0) yield strip(carry);
}

function* fileChunks(path: string): Generator<Buffer> {
  const held = onceRead(path);
  if (held) {
    for (let at = 0; at < held.length; at += CHUNK_BYTES) yield held.subarray(at, at + CHUNK_BYTES);
    return;
  }
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

/** `cut.short` is set when the stream ends before gzip's end: what it held is given. */
function* gunzippedChunks(path: string, cut: { short: boolean }): Generator<Buffer> {
  // (read apart from the gunzip: a file that cannot be read is said as such, not as bad gzip)
  const packed = onceRead(path) ?? readFileSync(path);
  // (a byte or two named .gz: its "stream ended early" read as an empty trace)
  if (packed.length > 0 && !gzipMagic(packed)) throw new Error(`${path}: not a gzip file, though named .gz (it does not start as one)`);
  let data: Buffer;
  try {
    data = gunzipSync(packed);
  } catch (err) {
    // a sync flush gives what a stream cut short holds; corrupt data still fails
    if ((err as NodeJS.ErrnoException).code !== 'Z_BUF_ERROR') throw new Error(`${path}: not a readable gzip file (${(err as Error).message})`);
    try {
      data = gunzipSync(packed, { finishFlush: constants.Z_SYNC_FLUSH });
    } catch (again) {
      throw new Error(`${path}: not a readable gzip file (${(again as Error).message})`);
    }
    cut.short = true;
  }
  for (let at = 0; at < data.length; at += CHUNK_BYTES) yield data.subarray(at, at + CHUNK_BYTES);
}

/** Whether a file holds nothing but white space: in its first CHUNK_BYTES (a file of NUL bytes is not read whole to say it is not blank); a gzip file, whole. */
export function startsBlank(path: string): boolean {
  if (!isGzipFile(path)) return firstChunkBlank(path);
  for (const line of readLines(path)) if (line.trim() !== '') return false;
  return true;
}

function firstChunkBlank(path: string): boolean {
  const chunk = firstChunk(path);
  return chunk === undefined || chunk.toString('utf8').trim() === '';
}

/** A file's first CHUNK_BYTES (undefined when it is empty), the file closed after. */
function firstChunk(path: string): Buffer | undefined {
  const chunks = fileChunks(path);
  const chunk = chunks.next();
  chunks.return(undefined); // (closes the file)
  return chunk.done ? undefined : chunk.value;
}

/** Compressed bytes read for a gzip file's first line before falling back to the whole file. */
const GZIP_HEAD_BYTES = 64 << 10;

/**
 * The first line of a file, '' for an empty file: at most its first CHUNK_BYTES (a file of one
 * endless line, or of NUL bytes, is not read whole to tell that it is no trace); of a .gz file,
 * the start decompressed.
 */
export function firstLine(path: string): string {
  if (isGzipFile(path)) {
    const head = gzipHead(path);
    const nl = head?.indexOf('\n') ?? -1;
    if (head !== undefined && nl >= 0) return strip(withoutBom(head.slice(0, nl)));
    for (const line of readLines(path)) return line;
    return '';
  }
  const chunk = firstChunk(path);
  if (chunk === undefined) return '';
  const text = withoutBom(new StringDecoder('utf8').write(chunk));
  const nl = text.indexOf('\n');
  return strip(nl >= 0 ? text.slice(0, nl) : text);
}

/** The text at the start of a gzip file (what its first GZIP_HEAD_BYTES compressed bytes give); undefined when that fails. */
function gzipHead(path: string): string | undefined {
  let fd: number | undefined;
  try {
    const held = onceRead(path);
    let buf = held?.subarray(0, GZIP_HEAD_BYTES);
    if (!buf) {
      fd = openSync(path, 'r');
      buf = Buffer.allocUnsafe(GZIP_HEAD_BYTES);
      buf = buf.subarray(0, readSync(fd, buf, 0, GZIP_HEAD_BYTES, 0));
    }
    // a sync flush decompresses what a truncated stream holds instead of failing at its end
    return gunzipSync(buf, { finishFlush: constants.Z_SYNC_FLUSH }).toString('utf8');
  } catch {
    return undefined; // the whole-file read names the problem
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A CSV field as a number: NaN for an empty or missing field (Number('') would say 0). */
export function parseNumber(field: string | undefined): number {
  if (field === undefined) return Number.NaN;
  const s = field.trim();
  return s === '' ? Number.NaN : Number(s);
}

/** Rows of a file shown by line in the one warning that says some were left out. */
const SHOWN_ROWS = 3;

/**
 * The rows a CSV reader leaves out, or reads only in part (a field that is not a number), each
 * with its line and why: public traces have their odd row, so a reader goes on, and says once
 * per file where, rather than failing the replay or only counting them.
 */
export class SkippedRows {
  private count = 0;
  private readonly shown: string[] = [];

  /** A row read in part. */
  add(line: number, why: string): void {
    this.count++;
    if (this.shown.length < SHOWN_ROWS) this.shown.push(`line ${line}: ${why}`);
  }

  /** A row left out whole. */
  drop(line: number, why: string | undefined): void {
    this.add(line, `${why}; row left out`);
  }

  /** Tells `warn` of the rows, once, when there were any. */
  report(path: string, warn: ((message: string) => void) | undefined): void {
    if (this.count === 0 || !warn) return;
    const more = this.count - this.shown.length;
    const rows = this.count === 1 ? 'a row' : `${this.count} rows`;
    warn(`${path}: ${rows} left out or read in part: ${this.shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}`);
  }
}

/**
 * No demand a trace holds reaches this (bytes: a petabyte; MHz, KB/s, percent, cores: far less).
 * A value above it is a unit slip or a corrupt field, and one such value sets a series' mean (its
 * losses' scale) alone; two near 1e308 overflow the mean to infinity.
 */
export const MAX_DEMAND = 1e15;

/** What is wrong with a demand's value (a number already), or undefined: below 0, or above MAX_DEMAND. */
export function demandRangeProblem(name: string, v: number): string | undefined {
  if (v < 0) return `field "${name}": ${v} is below 0 (a demand never is)`;
  if (v > MAX_DEMAND) return `field "${name}": ${v} is above ${MAX_DEMAND} (no demand reads that: a unit slip or a corrupt field?)`;
  return undefined;
}

/**
 * The lower of a series' lowest limit so far (NaN: none yet) and a limit read (a level above 0;
 * 0, missing or not a number: none given), as a recording's limit is its lowest.
 */
export const lowerLimit = (lowest: number, v: number): number => (v > 0 && !(v >= lowest) ? v : lowest);

/** A CSV field as a demand: NaN when it is not a number, or is below 0 or above MAX_DEMAND (firstFieldProblem says why). */
export function demandValue(field: string | undefined): number {
  const v = parseNumber(field);
  return v >= 0 && v <= MAX_DEMAND ? v : Number.NaN;
}

/**
 * A CSV line's fields. A field in double quotes may hold commas and doubled quotes, not line breaks (Google's
 * exports quote the arrays of cpu_usage_distribution: split on every comma, the columns after
 * one shifted and were read as the wrong ones).
 */
export function splitCsv(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c !== '"') field += c;
      else if (line[i + 1] === '"') {
        field += '"';
        i++;
      } else quoted = false;
    } else if (c === '"' && field === '') quoted = true; // (a quote inside a field, 5", is a character)
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out;
}

/** What is wrong with a numeric field, for SkippedRows (undefined when it reads as a number). */
export function fieldProblem(name: string, field: string | undefined): string | undefined {
  if (Number.isFinite(parseNumber(field))) return undefined;
  if (field === undefined) return `field "${name}": missing (the row is short)`;
  return field.trim() === '' ? `field "${name}": empty` : `field "${name}": ${JSON.stringify(field.trim())} is not a number`;
}

/** The first of a row's demand fields (name, column) that does not read as one (demandValue), as `fieldProblem` or `demandRangeProblem` says it; `ranged` false: not a number only (a reader that drops its format's own out-of-range marks quietly). */
export function firstFieldProblem(fields: readonly string[], columns: Iterable<readonly [string, number]>, ranged = true): string | undefined {
  for (const [name, c] of columns) {
    const p = fieldProblem(name, fields[c]) ?? (ranged ? demandRangeProblem(name, parseNumber(fields[c])) : undefined);
    if (p) return p;
  }
  return undefined;
}

/**
 * A field's value as an error message shows it, short: a hand-edited file may hold anything.
 * (A number JSON cannot hold, 1e400, was parsed as Infinity: said as such, not as JSON's null;
 * an array or object is named, not printed: one nested 200,000 deep overflowed the stack.)
 */
export function shownValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object' && v !== null) return 'an object';
  return JSON.stringify(v).slice(0, 40);
}
