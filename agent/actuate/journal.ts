// Write-ahead journal of cgroup writes: one JSON object per line, appended and fsynced before
// the write it describes is made. After a crash it still holds the original value of every file
// the agent touched, so the next start can put them back (Actuator.reconcile).
import {
  closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { ActuateError } from './errors.js';
import { openToOthers } from '../dir-lock.js';

export const DEFAULT_JOURNAL_PATH = '/var/lib/headroom/journal.jsonl';

export interface JournalEntry {
  seq: number;
  atMs: number;
  decisionId: string;
  dir: string;
  file: string;
  /** the file's value just before this write */
  original: string;
  /** the value about to be written */
  value: string;
}

/** A file's key in the journal's maps. */
export const fileKey = (dir: string, file: string): string => `${dir}\0${file}`;

/** The first value recorded for one file: what it held before the agent first touched it. */
export interface Original {
  dir: string;
  file: string;
  original: string;
  /** seq of the first entry for this file */
  seq: number;
  decisionId: string;
}

function isEntry(x: unknown): x is JournalEntry {
  const e = x as Record<string, unknown> | null;
  return !!e && typeof e.seq === 'number' && typeof e.atMs === 'number' && typeof e.decisionId === 'string'
    && typeof e.dir === 'string' && typeof e.file === 'string' && typeof e.original === 'string'
    && typeof e.value === 'string';
}

/**
 * Writes all of `b` at the end of the file, or none of it: a write(2) on a nearly full disk takes
 * part of a line and fails only on the next call. Taken as whole (writeSync's count unread), the
 * cgroup was written with its original held by a torn line, which the next start drops: a throttle
 * never undone. A failure cuts the file back to where it was, and throws.
 */
function appendWhole(fd: number, b: Buffer): void {
  const size = fstatSync(fd).size;
  let done = 0;
  try {
    while (done < b.length) done += writeSync(fd, b, done, b.length - done);
  } catch (err) {
    if (done > 0) {
      try { ftruncateSync(fd, size); } catch { /* the torn tail is cut at the next append (repairTornTail) */ }
    }
    throw err;
  }
}

function fsyncPath(path: string, flags: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, flags);
    fsyncSync(fd);
  } catch (err) {
    throw new ActuateError('fsyncing', path, err);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export class Journal {
  private nextSeq: number | null = null;
  private repaired = false;

  constructor(readonly path: string = DEFAULT_JOURNAL_PATH) {}

  exists(): boolean {
    return existsSync(this.path);
  }

  /**
   * Why the journal cannot be trusted, or undefined: it or its folder open to others. A restore
   * writes, as root, what the journal says into the files it names; a journal someone else could
   * write would let them choose (a hand-made one put a line of theirs into a root-owned file).
   */
  trustProblem(): string | undefined {
    for (const path of [dirname(this.path), this.path]) {
      if (!existsSync(path)) continue;
      const open = openToOthers(path);
      if (open) return `${path === this.path ? 'journal' : 'its folder'} ${path} is ${open.what}: whoever can write there would choose what the agent writes as root; ${open.owner ? 'chown' : 'chmod go-w'} it, or give another --state-dir`;
    }
    return undefined;
  }

  /** Every entry, in file order. A torn last line (crash mid-append) is ignored: its write never happened. */
  entries(): JournalEntry[] {
    if (!this.exists()) return [];
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      throw new ActuateError('reading journal', this.path, err);
    }
    const lines = text.split('\n');
    lines.pop(); // "" when the file ends with a newline, else a torn line
    const out: JournalEntry[] = [];
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = undefined;
      }
      if (!isEntry(parsed)) {
        throw new ActuateError('reading journal', this.path, undefined, `line ${i + 1} is not a journal entry: ${line.slice(0, 120)}`);
      }
      out.push(parsed);
    });
    return out;
  }

  /**
   * One per file, in the order the files were first touched: what it held before the agent
   * wrote it. That is the first entry's original, unless someone else wrote the file in between
   * (an entry's original not a value the agent had written): then the last such value, theirs.
   */
  originals(): Original[] {
    const seen = new Map<string, Original & { ours: Set<string> }>();
    for (const e of this.entries()) {
      const key = fileKey(e.dir, e.file);
      const o = seen.get(key);
      if (!o) seen.set(key, { dir: e.dir, file: e.file, original: e.original, seq: e.seq, decisionId: e.decisionId, ours: new Set([e.value]) });
      else {
        if (!o.ours.has(e.original)) o.original = e.original;
        o.ours.add(e.value);
      }
    }
    return [...seen.values()].sort((a, b) => a.seq - b.seq).map(({ ours: _, ...o }) => o);
  }

  /** The values written, per file (fileKey), from one read of the journal: a restore puts back only a file that still holds one of them. */
  written(): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const e of this.entries()) {
      const key = fileKey(e.dir, e.file);
      let values = out.get(key);
      if (!values) out.set(key, (values = new Set()));
      values.add(e.value);
    }
    return out;
  }

  originalOf(dir: string, file: string): string | undefined {
    return this.originals().find((o) => o.dir === dir && o.file === file)?.original;
  }

  /** Appends one entry and fsyncs it (and the directory, when this created the file). */
  append(e: Omit<JournalEntry, 'seq' | 'atMs'> & { atMs?: number }): JournalEntry {
    const parent = dirname(this.path);
    if (!existsSync(parent)) {
      try {
        mkdirSync(parent, { recursive: true, mode: 0o700 });
      } catch (err) {
        throw new ActuateError('creating journal directory', parent, err);
      }
    }
    if (!this.repaired) {
      // (checked before the first write, not only at the restore: a journal the restore would
      // refuse left the throttles written before it for good)
      const distrust = this.trustProblem();
      if (distrust !== undefined) throw new ActuateError('appending to', this.path, undefined, `${distrust}; nothing written`);
      this.repairTornTail();
    }
    if (this.nextSeq === null) this.nextSeq = this.entries().reduce((m, x) => Math.max(m, x.seq), 0) + 1;
    const entry: JournalEntry = {
      seq: this.nextSeq,
      atMs: e.atMs ?? Date.now(),
      decisionId: e.decisionId,
      dir: e.dir,
      file: e.file,
      original: e.original,
      value: e.value,
    };
    const created = !this.exists();
    let fd: number | undefined;
    try {
      fd = openSync(this.path, 'a', 0o600);
      appendWhole(fd, Buffer.from(JSON.stringify(entry) + '\n'));
      fsyncSync(fd);
    } catch (err) {
      throw new ActuateError('appending to journal', this.path, err);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    // A new file's name is durable only once its directory is synced.
    if (created) fsyncPath(parent, 'r');
    this.nextSeq++;
    return entry;
  }

  /** Empties the journal once every original is back in place. */
  clear(): void {
    if (!this.exists()) return;
    let fd: number | undefined;
    try {
      fd = openSync(this.path, 'r+');
      ftruncateSync(fd, 0);
      fsyncSync(fd);
    } catch (err) {
      throw new ActuateError('clearing journal', this.path, err);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    this.nextSeq = null;
  }

  /** Cuts a torn last line, so the next append starts on a line of its own. */
  private repairTornTail(): void {
    this.repaired = true;
    if (!this.exists()) return;
    let fd: number | undefined;
    try {
      fd = openSync(this.path, 'r+');
      const size = fstatSync(fd).size;
      if (size === 0) return;
      const buf = Buffer.alloc(size);
      readSync(fd, buf, 0, size, 0);
      if (buf[size - 1] === 0x0a) return;
      ftruncateSync(fd, buf.lastIndexOf(0x0a) + 1);
      fsyncSync(fd);
    } catch (err) {
      throw new ActuateError('repairing journal', this.path, err);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}
