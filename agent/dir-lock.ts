// One agent per directory it writes: a lock file naming the process that holds the directory.
// `run` journals its writes in its state dir, and at its start puts back the originals a killed
// agent's journal names: a second agent on the same dir would undo the first one's live writes.
// Two agents on one profile store overwrite each other's files from stale copies and lose runs.
// Two recorders on one file interleave their lines (lockFile: a lock beside the file). Two
// enforcing agents on one cgroup each journal the other's value as the original, and the last to
// stop leaves the other's throttle for good (lockName: a lock in a folder of locks).
//
// The file names its holder: pid, start time (/proc/<pid>/stat), boot and pid namespace. A lock
// from an earlier boot, or whose process is gone or whose pid now names another process, is
// stale and taken over (an agent killed with SIGKILL leaves its lock); one from another pid
// namespace cannot be judged from here and is held. The file appears whole (written aside, then
// linked into place), so no reader takes a half-written lock for a stale one. Locks go at any
// exit Node sees, the last taken first, with the folders made for them where left empty.
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, rmdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { createHash } from 'node:crypto';

export const LOCK_FILE = 'agent.lock';

export interface LockHolder {
  pid: number;
  /** the process's start, in clock ticks since boot (field 22 of /proc/<pid>/stat) */
  start: number;
  /** /proc/sys/kernel/random/boot_id */
  boot: string;
  /** the inode of /proc/<pid>/ns/pid: its pid means nothing from another namespace */
  pidns: number;
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

function me(): LockHolder {
  let boot = '';
  let pidns = 0;
  try { boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(); } catch { /* not Linux's procfs */ }
  try { pidns = statSync('/proc/self/ns/pid').ino; } catch { /* idem */ }
  return { pid: process.pid, start: processStart('self') ?? 0, boot, pidns };
}

/** What a lock file says, when it says it whole (a lock written before boot and pidns were: those read as ours). */
function readLock(path: string, self: LockHolder): LockHolder | null {
  return holderOf(readRaw(path), self);
}

/** The holder a lock's JSON names, or null (none, or garbled). */
function holderOf(raw: Record<string, unknown>, self: LockHolder): LockHolder | null {
  const held = raw as Partial<LockHolder>;
  if (typeof held.pid !== 'number' || typeof held.start !== 'number') return null;
  return { pid: held.pid, start: held.start, boot: held.boot ?? self.boot, pidns: held.pidns ?? self.pidns };
}

/** A lock file's JSON as an object ({} when missing or unreadable). */
function readRaw(path: string): Record<string, unknown> {
  try {
    const x = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * Removes the lock at `path` whose holder was judged gone (or garbled: a lock is never written in
 * place): moved aside, then read again, in case another process took it over meanwhile, which is
 * then put back ('live'). 'missing': none was there any more.
 */
function removeStale(path: string, self: LockHolder): { kind: 'removed'; was: LockHolder | null } | { kind: 'live'; holder: LockHolder } | { kind: 'missing' } {
  const aside = join(dirname(path), `.${basename(path)}.stale.${process.pid}`);
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw err;
  }
  const moved = readLock(aside, self);
  if (moved && live(moved, self)) {
    try { linkSync(aside, path); } catch { /* taken again meanwhile */ }
    unlinkSync(aside);
    return { kind: 'live', holder: moved };
  }
  unlinkSync(aside);
  return { kind: 'removed', was: moved };
}

/** Whether the holder a lock names still holds it, as far as this process can tell. */
function live(held: LockHolder, self: LockHolder): boolean {
  if (held.boot !== self.boot) return false; // written before the last boot
  if (held.pidns !== self.pidns) return true; // its pid names another process here: not ours to judge
  return processStart(held.pid) === held.start;
}

/** The process holding `dir`'s lock, or null when none does (no lock, or a stale one). */
export function lockHolder(dir: string): LockHolder | null {
  const self = me();
  const held = readLock(join(resolve(dir), LOCK_FILE), self);
  return held && live(held, self) ? held : null;
}

export class DirLockedError extends Error {
  override readonly name = 'DirLockedError';
  constructor(readonly dir: string, readonly holder: LockHolder, what: string, foreign: boolean, lockPath = join(dir, LOCK_FILE)) {
    super(foreign
      ? `${dir} is in use by a headroom agent in another pid namespace (a container; pid ${holder.pid} there): ${what}; if none runs, remove ${lockPath}`
      : `${dir} is in use by another headroom agent (pid ${holder.pid}): ${what}`);
  }
}

interface Held {
  dir: string;
  path: string;
  /** the topmost folder made for it, if any */
  created: string | undefined;
}

/** The locks this process holds, released together at its exit, the last taken first. */
const held: Held[] = [];

function releaseAll(): void {
  const self = process.pid;
  for (const h of held.splice(0).reverse()) {
    // only our own: a lock taken over from us (we were thought gone) is not ours to remove
    if (readLock(h.path, me())?.pid !== self) continue;
    try { unlinkSync(h.path); } catch { /* gone already */ }
    // and the folders made for it, where nothing else was put in them (an agent that failed to
    // start leaves nothing behind)
    if (h.created === undefined) continue;
    for (let d = h.dir; !relative(h.created, d).startsWith('..'); d = dirname(d)) {
      try { rmdirSync(d); } catch { break; }
      if (d === h.created) break;
    }
  }
}

/**
 * Makes `dir` and the folders above it that are missing (mode 0700); returns the topmost made.
 * Its errors name the real cause: Node's recursive mkdir says ENOENT on a read-only filesystem,
 * and EEXIST for a file where the folder should be ("a state dir that is a file: EEXIST").
 */
function makeDirs(dir: string): string | undefined {
  const notDir = (path: string): Error => Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), { code: 'ENOTDIR', errno: -20 });
  let st;
  try { st = statSync(dir); } catch { /* missing */ }
  if (st) {
    if (!st.isDirectory()) throw notDir(dir);
    return undefined;
  }
  try {
    return mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EEXIST') throw err;
    // the topmost missing folder, made alone, says why (EROFS, ENOTDIR, EACCES); made, the
    // failure was a race (a folder removed meanwhile): tried once more
    let top = dir;
    while (dirname(top) !== top && !existsSync(dirname(top))) top = dirname(top);
    mkdirSync(top, { mode: 0o700 });
    return mkdirSync(dir, { recursive: true, mode: 0o700 }) ?? top;
  }
}

/**
 * Takes `dir` (created, mode 0700, when missing; removed at the exit if still empty) for this
 * process until it exits. Throws DirLockedError, its message ending in `why`, when a live
 * process holds it; a stale lock is taken over and said through `log`.
 */
export function lockDir(dirGiven: string, why: string, log: (msg: string) => void = () => {}): void {
  const dir = resolve(dirGiven);
  const created = makeDirs(dir);
  takeLock(dir, join(dir, LOCK_FILE), created, dir, why, log);
}

/**
 * Takes the file `file` (a recording's output) for this process until it exits: a lock file
 * beside it, `<file>.lock`, as git's index.lock. Throws DirLockedError naming the file when a
 * live process holds it. A file is known by its real path: two names of one file share a lock.
 */
export function lockFile(file: string, why: string, log: (msg: string) => void = () => {}): void {
  // (a link's lock is its target's, in the target's folder: the folder of the name and the name
  // of the target paired two files' locks, and /dev/stdout's went into /dev)
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    real = join(realpathSync(dirname(resolve(file))), basename(file)); // not there yet
  }
  takeLock(dirname(real), `${real}.lock`, undefined, file, why, log);
}

/**
 * Takes `name` (a cgroup's folder: nothing of ours can be put in it) for this process until it
 * exits: a lock file in the folder `locks` (created, mode 0700) named by a hash of `name`.
 * Throws DirLockedError naming `name` when a live process holds it.
 */
export function lockName(name: string, locks: string, why: string, log: (msg: string) => void = () => {}, opts: NameLockOptions = {}): void {
  const path = nameLockPath(name, locks);
  const created = makeDirs(dirname(path));
  // a lock whose holder is gone, but which its holder's work still needs (a journal listing the
  // cgroup): kept, and the taking refused
  if (opts.keepStale) {
    const self = me();
    const raw = readRaw(path);
    const held = holderOf(raw, self);
    if (held && !live(held, self)) {
      const keep = opts.keepStale(raw);
      if (keep !== undefined) throw new StaleHeldError(keep);
    }
  }
  takeLock(dirname(path), path, created, name, why, log, opts.note);
}

export interface NameLockOptions {
  /** more to write into the lock, beside who holds it (e.g. the holder's journal) */
  note?: Readonly<Record<string, string>>;
  /** a stale lock's content (its note too): a reason to keep it, refusing this taking, or undefined to take it over */
  keepStale?: (held: Record<string, unknown>) => string | undefined;
}

/** lockName refused a stale lock that its gone holder's work still needs (NameLockOptions.keepStale). */
export class StaleHeldError extends Error {
  override readonly name = 'StaleHeldError';
}

/** Where lockName keeps the lock for `name` in `locks`. */
export function nameLockPath(name: string, locks: string): string {
  return join(resolve(locks), `${createHash('sha256').update(name).digest('hex').slice(0, 32)}.lock`);
}

/**
 * Removes the lock lockName took for `name` in `locks` when its holder is gone (an agent killed
 * with SIGKILL), then `locks` and the folder above it where that leaves them empty. A live
 * holder's lock stays.
 */
export function dropStaleName(name: string, locks: string): void {
  const path = nameLockPath(name, locks);
  const dir = dirname(path);
  const self = me();
  const holder = readLock(path, self);
  if (holder === null || live(holder, self)) return;
  // (as takeLock does: another agent may have taken it over between the look and the removal)
  try {
    if (removeStale(path, self).kind !== 'removed') return;
  } catch {
    return; // best effort: a lock that cannot be moved is taken over when needed
  }
  try { rmdirSync(dir); rmdirSync(dirname(dir)); } catch { /* not empty: others' locks */ }
}

/** The lock at `path` (in `dir`), taken for this process; `created`: the topmost folder made for it. */
function takeLock(dir: string, path: string, created: string | undefined, what: string, why: string, log: (msg: string) => void, note: Readonly<Record<string, string>> = {}): void {
  const self = me();
  const name = basename(path);
  // written aside, then linked into place: the lock is never seen half-written
  const aside = join(dir, `.${name}.${process.pid}`);
  const fd = openSync(aside, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify({ ...note, ...self })}\n`);
  } finally {
    closeSync(fd);
  }
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(aside, path);
        if (held.length === 0) process.once('exit', releaseAll);
        held.push({ dir, path, created });
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = readLock(path, self);
      if (holder?.pid === self.pid && holder.start === self.start) return; // ours already
      if (holder && live(holder, self)) throw new DirLockedError(what, holder, why, holder.pidns !== self.pidns, path);
      // stale: removed, unless another agent took it over meanwhile (then refused)
      const removed = removeStale(path, self);
      if (removed.kind === 'missing') continue; // taken away meanwhile: try again
      if (removed.kind === 'live') throw new DirLockedError(what, removed.holder, why, removed.holder.pidns !== self.pidns, path);
      log(`${path}: left by an agent that is gone${removed.was ? ` (pid ${removed.was.pid})` : ''}; taken over`);
    }
    throw new Error(`${path}: could not be taken (other agents starting at the same moment?)`);
  } finally {
    try { unlinkSync(aside); } catch { /* gone already */ }
  }
}

/**
 * Why a directory the agent trusts is open to others, or undefined: writable by its group or
 * everyone, or owned by another user. Whoever can write there sets the forecasts the agent
 * exports and acts on (a hand-made profile of 1e300 cores was exported as the next run's peak).
 */
export function openTo(dir: string): string | undefined {
  const open = openToOthers(dir);
  if (open === undefined) return undefined;
  return open.owner ? `${open.what}: whoever owns it sets the forecasts; chown it, or give another --profiles-dir` : `${open.what}: whoever can write there sets the forecasts; chmod go-w it`;
}

/**
 * Whether a file or folder is open to others: owned by another user (`owner`), or writable by its
 * group or everyone; `what` says which, e.g. "writable by everyone (mode 777)".
 */
export function openToOthers(path: string): { what: string; owner: boolean } | undefined {
  const st = statSync(path);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) return { what: `owned by uid ${st.uid}, not this agent's (${uid})`, owner: true };
  if ((st.mode & 0o022) !== 0) return { what: `writable by ${(st.mode & 0o002) !== 0 ? 'everyone' : 'its group'} (mode ${(st.mode & 0o777).toString(8)})`, owner: false };
  return undefined;
}
