// Public trace readers: `readTraces(path)` reads a file or a folder of files, telling each
// format from the file's first line, and returns every series on its 300 s (or recorded) grid.
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { isAlibaba, readAlibaba } from './alibaba.js';
import { isBitbrains, readBitbrains } from './bitbrains.js';
import { isGoogle, readGoogle } from './google.js';
import { isJsonl, readJsonl } from './jsonl.js';
import { firstLine, ioReason, startsBlank } from './lines.js';
import { printableName } from '../../printable.js';
import { isActive, mostlyMerged, observedCount, REFERENCE_RESOURCES, sampleGaps, TraceOptionError, type Dataset, type Series } from './series.js';

export { REFERENCE_RESOURCES, observedCount, sampleGaps, TraceOptionError, type Dataset, type Series, type SeriesStats } from './series.js';
export { formatSample, TRACE_FORMAT, type TraceHeader, type TraceSample } from './jsonl.js';
export { readAlibaba, readBitbrains, readGoogle, readJsonl };

export interface ReadTracesOptions {
  /**
   * Which resources to keep: 'reference' (default: those BASELINES.md scores; of recorded
   * traces, the series above zero at least a tenth of the time), 'all', or a list of names.
   */
  resources?: 'reference' | 'all' | readonly string[];
  /** grid step for recorded traces without a header (default: inferred from the samples) */
  stepMs?: number;
  /** told of what a reader skipped: a recorded trace's truncated last line, a public trace's rows that do not read (by line) */
  onWarning?: (message: string) => void;
}

/** The format of one file from its first line, or undefined when none matches. */
export function detectFormat(path: string): Dataset | undefined {
  const line = firstLine(path);
  if (isJsonl(line)) return 'headroom';
  if (isGoogle(line)) return 'google';
  if (isAlibaba(line)) return 'alibaba';
  if (isBitbrains(line)) return 'bitbrains';
  return undefined;
}

function readFile(path: string, format: Dataset, opts: ReadTracesOptions, inFolder: boolean): Series[] {
  switch (format) {
    case 'bitbrains':
      return readBitbrains(path, opts.onWarning);
    case 'google':
      return readGoogle(path, opts.onWarning);
    case 'alibaba':
      return readAlibaba(path, opts.onWarning);
    case 'headroom':
      return readJsonl(path, { stepMs: opts.stepMs, headerStepWins: inFolder, onWarning: opts.onWarning });
  }
}

/** The names of the files a folder's trace files go by. */
const TRACE_NAME = /\.(csv|jsonl|ndjson)(\.gz)?$/i;

/** A file or folder the system failed to read, as a user reads it. */
const cannotRead = (path: string, err: unknown): string => `${path}: cannot read (${ioReason(err)})`;

/**
 * Data files under a folder (gzipped ones too), in a stable order; notes, sources and dot-files
 * are not data. Symbolic links are followed (a folder of links to a dataset's files is a
 * dataset), each folder and file once; a link to nothing, or a folder inside that cannot be
 * read, is skipped and said. Files of other names are left in `unnamed` (said when no trace is found).
 */
function listFiles(dir: string, warn: (m: string) => void, visited = new Set<string>(), unnamed: string[] = []): string[] {
  const out: string[] = [];
  const self = realpathSync(dir);
  if (visited.has(self)) return out; // read already, or a link back up the tree
  visited.add(self);
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  } catch (err) {
    if (visited.size === 1) throw new Error(cannotRead(dir, err));
    warn(`${cannotRead(dir, err)}; skipped`);
    return out;
  }
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    let kind: 'dir' | 'file' | 'other' = e.isDirectory() ? 'dir' : e.isFile() ? 'file' : 'other';
    if (e.isSymbolicLink()) {
      try {
        const st = statSync(p);
        kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
      } catch (err) {
        warn(`${p}: ${(err as NodeJS.ErrnoException).code === 'ELOOP' ? 'a loop of links' : 'a link to nothing'}; skipped`);
        continue;
      }
    }
    const named = TRACE_NAME.test(e.name);
    if (kind === 'dir') out.push(...listFiles(p, warn, visited, unnamed));
    else if (kind === 'other' && named) warn(`${p}: not a regular file (a pipe or a device: reading it could wait for ever in a folder); skipped`);
    else if (kind === 'file' && !named) unnamed.push(p);
    else if (kind === 'file') {
      const real = realpathSync(p); // (a file reached by a link and by its own path is read once)
      if (visited.has(real)) continue;
      visited.add(real);
      out.push(p);
    }
  }
  return out;
}

/**
 * What a first line that no reader takes comes close to, and what that format wants instead:
 * the near misses a walkthrough met (a header on Alibaba's headerless file, Bitbrains saved with
 * commas, a Google header that does not start with time), or undefined.
 */
export function nearMiss(line: string): string | undefined {
  const fields = line.split(/[,;\t]\s*/).map((f) => f.trim().replace(/^"|"$/g, ''));
  const lower = fields.map((f) => f.toLowerCase());
  if (lower.includes('avg_cpu_usage')) {
    return lower[0] === 'time'
      ? 'it names time and avg_cpu_usage, as Google instance_usage does, whose fields are separated by commas'
      : 'it names avg_cpu_usage, as Google instance_usage does, whose header starts with "time"';
  }
  if (lower.includes('machine_id') || lower.includes('cpu_util_percent')) return 'it reads as a header of Alibaba machine_usage, which has none: its first line is a row (m_1,<time>,...)';
  if (/^m_\d+$/.test(fields[0] ?? '')) {
    const n = line.split(',').length;
    return n === 9
      ? 'it starts as an Alibaba machine_usage row, whose second field, time_stamp, is a number of seconds'
      : `it starts as an Alibaba machine_usage row, which has 9 comma-separated fields (machine_id, time_stamp, cpu_util_percent, mem_util_percent, mem_gps, mkpi, net_in, net_out, disk_io_percent); it has ${n}`;
  }
  if (/^timestamp/i.test(fields[0] ?? '') && !line.includes(';')) return 'it starts as a Bitbrains header, whose fields are separated by ";" (";\\t" in the dataset)';
  return undefined;
}

/**
 * Tells of a series most of whose values were averaged into steps already holding one: the
 * rows are closer than the grid, as when times are in seconds where the format has µs (Google:
 * 8250 rows became 1 point, and "too short" said nothing of why). Alibaba's samples, about 60 s
 * apart, are averaged into its 300 s steps by design; Bitbrains says it in its own reader.
 */
function mergedWarning(file: string, series: Series[], warn: ((m: string) => void) | undefined): void {
  const merged = series.filter((s) => s.dataset !== 'alibaba' && s.dataset !== 'bitbrains' && s.stats.rows >= 10 && mostlyMerged(s.stats.merged, s.stats.rows));
  const s = merged[0];
  if (!s) return;
  const others = merged.length > 1 ? ` (and ${merged.length - 1} other series of this file)` : '';
  warn?.(`${file}: ${s.name} ${s.resource}: ${s.stats.merged} of its ${s.stats.rows} values fell into a grid step (${s.stepSeconds} s) already holding one and were averaged, leaving ${observedCount(s.values)} step${observedCount(s.values) === 1 ? '' : 's'}${others}: its times in another unit?`);
}

/** Share of a series' gaps between values that must be one same number of grid steps for its grid to read as too fine. */
const REGULAR_SHARE = 0.8;

/**
 * Says so when a file's densest series holds its values a same number of grid steps apart (2 or
 * more) nearly every time: its grid step (a header's stepMs, or --step-ms) is finer than its
 * samples. A header's 1000 ms over samples 10 s apart was taken without a word, and every target
 * then read "too short". Values that are sparse for their own reasons come irregularly (a
 * latency in the ticks that saw some, a timer's job for a few seconds a minute) and are not this.
 */
function sparseWarning(file: string, series: Series[], warn: ((m: string) => void) | undefined): void {
  let densest: Series | undefined;
  let observed = -1;
  for (const s of series) {
    const n = observedCount(s.values);
    if (n > observed) [densest, observed] = [s, n];
  }
  if (!densest || observed < 20) return;
  const { gaps, usual: gap } = sampleGaps(densest.values);
  // (a step that does not divide the samples' spacing leaves gaps a step apart: 666 and 667)
  let count = 0;
  for (const [g, n] of gaps) if (Math.abs(g - gap) <= 1) count += n;
  if (gap < 2 || count < REGULAR_SHARE * (observed - 1)) return;
  const step = densest.stepSeconds;
  warn?.(`${file}: its densest series, ${densest.name} ${densest.resource}, holds a value every ${gap} grid steps (${count} of its ${observed - 1} gaps): ` +
    `its samples are ${Number((gap * step).toPrecision(3))} s apart, not ${step} s (a header's stepMs, or --step-ms, finer than its samples?)`);
}

/** Whether the selection keeps a series: 'idle' when only its activity left it out (a recording's idle series, by default). */
function selection(s: Series, which: ReadTracesOptions['resources']): 'keep' | 'idle' | 'drop' {
  if (which === 'all') return 'keep';
  if (which === undefined || which === 'reference') {
    const ref = REFERENCE_RESOURCES[s.dataset];
    if (ref === 'active') return isActive(s.values) ? 'keep' : 'idle';
    return ref.includes(s.resource) ? 'keep' : 'drop';
  }
  return which.includes(s.resource) ? 'keep' : 'drop';
}

/** What `read` returns; an error the system gave reading `file` (EACCES, EIO...) is said with the file's name. */
function withFileName<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (typeof (err as NodeJS.ErrnoException).code === 'string' && (err as NodeJS.ErrnoException).syscall !== undefined) {
      throw new Error(cannotRead(file, err));
    }
    throw err;
  }
}

/** What a trace whose `n` series read 0 throughout says (read, or replayed): nothing to forecast, and no mean to measure a loss against. */
export function allZero(path: string, n: number): string {
  return `${path}: nothing to score: ${n === 1 ? 'its one series reads' : `every series read (${n}) reads`} 0 throughout; there is no demand to forecast, and losses are measured against a series' mean`;
}

/**
 * Reads a trace file, or every trace file under a folder (recursively; files of no known format
 * are skipped there, but a single file of no known format is an error). Series come in file
 * order, then in each reader's order. Resources named in `opts.resources` that no series has
 * are an error that lists those it has.
 */
export function readTraces(path: string, opts: ReadTracesOptions = {}): Series[] {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // (a path that names nothing is a typo in the command: exit 2, as a bad option)
    if (code === 'ENOENT') throw new TraceOptionError(`${path}: no such trace file or folder`);
    throw new Error(cannotRead(path, err));
  }
  const unnamed: string[] = [];
  const files = isDir ? listFiles(path, (m) => opts.onWarning?.(m), new Set(), unnamed) : [path];
  const out: Series[] = [];
  const seen = new Set<string>();
  let idle = 0;
  let idleNonZero = 0;
  let unread = 0; // series of rows whose values all failed to read
  let read = 0; // trace files read
  let stepMsSaid = false;
  for (const file of files) {
    let format: Dataset | undefined;
    let series: Series[];
    try {
      format = withFileName(file, () => detectFormat(file));
      if (!format) {
        const blank = startsBlank(file);
        const near = blank ? undefined : nearMiss(firstLine(file));
        if (isDir) {
          opts.onWarning?.(`${file}: ${blank ? 'empty' : `not a trace format headroom reads${near ? ` (${near})` : ''}`}; skipped`);
          continue;
        }
        if (blank) throw new Error(`${file}: empty (no trace lines in it)`);
        throw new Error(`${file}: unknown trace format (expected Bitbrains, Google instance_usage, Alibaba machine_usage or headroom JSON Lines)${near ? `; ${near}` : ''}`);
      }
      series = withFileName(file, () => readFile(file, format!, opts, isDir));
      // names as every table, warning and option (--resources, --limit) after this reads them
      for (const s of series) {
        s.name = printableName(s.name);
        s.resource = printableName(s.resource);
      }
      if (opts.stepMs !== undefined && format !== 'headroom' && !stepMsSaid) {
        stepMsSaid = true;
        opts.onWarning?.(`${file}: --step-ms is for headroom JSON Lines traces without a header; a ${format} trace's grid is its format's (${series[0]?.stepSeconds ?? 300} s): not used for it`);
      }
    } catch (err) {
      // in a folder, a file the system will not read is skipped as a folder is (its format errors still fail)
      if (isDir && (err as Error).message.startsWith(`${file}: cannot read (`)) {
        opts.onWarning?.(`${(err as Error).message}; skipped`);
        continue;
      }
      throw err;
    }
    read++;
    if (format !== 'headroom' && series.every((s) => s.values.length === 0 && s.stats.rows === 0 && s.stats.dropped === 0)) {
      // (a header and nothing after it: said here, rather than only "no trace series found";
      // a recording says its own)
      opts.onWarning?.(`${file}: no data rows read (a header alone, or rows the warnings above left out)`);
    }
    mergedWarning(file, series, opts.onWarning);
    sparseWarning(file, series, opts.onWarning);
    for (const s of series) {
      seen.add(s.resource);
      // a series with no value at all (every row abnormal) has nothing to replay
      if (s.values.length === 0 || s.values.every(Number.isNaN)) {
        if (s.stats.dropped > 0 && selection(s, opts.resources) !== 'drop') unread++;
        continue;
      }
      const kept = selection(s, opts.resources);
      if (kept === 'keep') out.push({ ...s, source: file });
      else if (kept === 'idle') {
        idle++;
        if (s.values.some((v) => v !== 0 && !Number.isNaN(v))) idleNonZero++;
      }
    }
  }
  if (out.length === 0 && idle === 0 && unread > 0) {
    throw new Error(`${path}: no usable value in ${unread === 1 ? 'its one series' : `any of its ${unread} series`} (the warnings above say which line and field)`);
  }
  if (isDir && read === 0 && unnamed.length > 0) {
    const shown = unnamed.slice(0, 3).map((f) => basename(f)).join(', ');
    throw new Error(`${path}: no trace files in it: a folder's traces are its .csv, .jsonl and .ndjson files (gzipped too); it has ${unnamed.length} other${unnamed.length === 1 ? '' : 's'} (${shown}${unnamed.length > 3 ? ', ...' : ''}): name one as its format's, or give the file itself`);
  }
  if (out.length === 0 && idle > 0) {
    // (not "no series found": they were found, and left out by the default selection; and not
    // "--resources all" where every one is 0 throughout: that fails again, with nothing to forecast)
    if (idleNonZero === 0) throw new Error(allZero(path, idle));
    throw new Error(`${path}: ${idle} series read, none active enough to score by default (a recorded series counts when above zero at least a tenth of the time); --resources all scores the ${idleNonZero} above zero at times`);
  }
  const which = opts.resources;
  if (Array.isArray(which) && seen.size > 0) {
    const unknown = which.filter((r) => !seen.has(r));
    if (unknown.length > 0) throw new TraceOptionError(`${path}: no series of ${unknown.map((r) => JSON.stringify(r)).join(', ')}; its resources: ${[...seen].sort().join(', ')}`);
  }
  labelSources(out, isDir ? path : undefined);
  return out;
}

/** Sets each series' sourceLabel: its file's name, or its path under `folder` where two files share that name. */
function labelSources(series: Series[], folder: string | undefined): void {
  const filesNamed = new Map<string, Set<string>>();
  for (const s of series) {
    const name = basename(s.source!);
    if (!filesNamed.has(name)) filesNamed.set(name, new Set());
    filesNamed.get(name)!.add(s.source!);
  }
  for (const s of series) {
    const name = basename(s.source!);
    s.sourceLabel = printableName(folder !== undefined && filesNamed.get(name)!.size > 1 ? relative(folder, s.source!) : name);
  }
}
