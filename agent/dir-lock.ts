// One agent per directory it writes: a lock file naming the process that holds the directory.
// `run` journals its writes in its state dir, and at its start puts back the originals a killed
// agent's journal names: a second agent on the same dir would undo the first one's live writes.
// Two agents on one profile store overwrite each other's files from stale copies and lose runs.
//
// The file holds the holder's pid and its start time (/proc/<pid>/stat): a lock whose process
// is gone, or whose pid now names another process, is stale and taken over (an agent killed
// with SIGKILL leaves its lock). The lock goes when the process exits, however it exits.
import { closeSync, mkdirSync, openSync, readFileSync, rmdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const LOCK_FILE = 'agent.lock';

export interface LockHolder {
  pid: number;
  /** the process's start, in clock ticks since boot (field 22 of /proc/<pid>/stat) */
  start: number;
}

/** A process's start in clock ticks since boot, or null when it is not running. */
export function processStart(pid: number | 'self'): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // (the command name, in parentheses, may hold spaces and parentheses: fields count from the last ')')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = Number(fields[19]);
    return Number.isFinite(start) ? start : null;
  } catch {
    return null;
  }
}

/** The live process holding `dir`'s lock, or null when none does (no lock, or a stale one). */
export function lockHolder(dir: string): LockHolder | null {
  let held: Partial<LockHolder>;
  try {
    held = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as Partial<LockHolder>;
  } catch {
    return null; // none, or unreadable (a write cut short): not a live holder's
  }
  if (typeof held.pid !== 'number' || typeof held.start !== 'number') return null;
  return processStart(held.pid) === held.start ? { pid: held.pid, start: held.start } : null;
}

export class DirLockedError extends Error {
  override readonly name = 'DirLockedError';
  constructor(readonly dir: string, readonly holder: LockHolder, what: string) {
    super(`${dir} is in use by another headroom agent (pid ${holder.pid}): ${what}`);
  }
}

/**
 * Takes `dir` (created, mode 0700, when missing; removed at the exit if still empty) for this process until it exits. Throws
 * DirLockedError, its message ending in `why`, when a live process holds it; a stale lock is
 * taken over and said through `log`.
 */
export function lockDir(dir: string, why: string, log: (msg: string) => void = () => {}): void {
  const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, start: processStart('self') ?? 0 };
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = lockHolder(dir);
      if (holder && holder.pid !== process.pid) throw new DirLockedError(dir, holder, why);
      if (!holder) log(`${path}: left by an agent that is gone; taken over`);
      unlinkSync(path);
      continue;
    }
    try {
      writeSync(fd, `${JSON.stringify(me)}\n`);
    } finally {
      closeSync(fd);
    }
    process.once('exit', () => {
      // only our own: a lock taken over from us (we were thought gone) is not ours to remove
      if (lockHolder(dir)?.pid !== process.pid) return;
      try { unlinkSync(path); } catch { /* gone already */ }
      // and the folders made for it, where nothing else was put in them (an agent that failed
      // to start leaves nothing behind)
      if (created === undefined) return;
      for (let d = dir; ; d = dirname(d)) {
        try { rmdirSync(d); } catch { break; }
        if (d === created || dirname(d) === d) break;
      }
    });
    return;
  }
  throw new Error(`${path}: could not be taken (another agent starting at the same moment?)`);
}

/**
 * Why a directory the agent trusts is open to others, or undefined: writable by its group or everyone, or
 * owned by another user. Whoever can write there sets the forecasts the agent exports and acts
 * on (a hand-made profile of 1e300 cores was exported as the next run's peak).
 */
export function openTo(dir: string): string | undefined {
  const st = statSync(dir);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) return `owned by uid ${st.uid}, not this agent's (${uid}): whoever owns it sets the forecasts; chown it, or give another --profiles-dir`;
  if ((st.mode & 0o022) !== 0) return `writable by ${(st.mode & 0o002) !== 0 ? 'everyone' : 'its group'} (mode ${(st.mode & 0o777).toString(8)}): whoever can write there sets the forecasts; chmod go-w it`;
  return undefined;
}
