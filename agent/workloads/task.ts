// The task a cgroup runs, as a signature (signature.ts): its oldest process's executable,
// arguments, working directory and chosen environment, read from /proc while it lives. Used
// by the task runs (agent/predict/task-runs.ts) to key a run's profile.
import { readFileSync } from 'node:fs';
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { bootEpochMs } from '../boot-clock.js';
import { hashFile, NOT_UTF8, taskSignature, type OpenForReading, type TaskSignature } from './signature.js';
import type { RunWindow } from './earlier-runs.js';

export interface CgroupTask {
  pid: number;
  signature: TaskSignature;
  /** when the process started (ms since the epoch, to about 10 ms), null when not read */
  startedAtMs: number | null;
  /** its start in /proc/<pid>/stat (clock ticks since boot): with its pid, which process it is */
  startTicks: number;
}

/** A task is read once its oldest process is this old (ms): a launcher (a shim, `env`, a wrapper) has exec'd the task by then. */
const TASK_SETTLE_MS = 500;

/** Clock ticks per second of /proc/<pid>/stat's times: USER_HZ, 100 on every Linux ABI. */
const USER_HZ = 100;

/** Binaries hashed so far, by device, inode, size, mtime and ctime: each is read once, not per run (the least recently used forgotten first). */
const HASHES_KEPT = 256;

export class TaskReader {
  private readonly hashes = new Map<string, Promise<{ sha256: string; bytes: number }>>();

  /**
   * `settleMs`: how old the oldest process must be before it is read (default TASK_SETTLE_MS);
   * `hashFile`: how a binary is hashed when not remembered (default signature.ts's hashFile);
   * `cwdAtExec`: where a process was (its cwd, as it sees it) when it exec'd, where known (the
   * sched probe's, by its pid, its start in clock ticks (pid reuse) and its root now (stat of
   * /proc/<pid>/root: its root then must be the same)), else null
   */
  constructor(private readonly opts: {
    envKeys: readonly string[]; proc?: string; settleMs?: number;
    hashFile?: (path: string) => Promise<{ sha256: string; bytes: number }>;
    cwdAtExec?: (pid: number, startTicks: number, root: { ino: bigint; dev: bigint }) => string | null;
    /** the spans of a command line's earlier runs: what they wrote is no input (TaskSpec.earlierRuns) */
    earlierRuns?: (commandKey: string) => readonly RunWindow[];
  } = { envKeys: [] }) {}

  /**
   * The task of the cgroup at `dir`: its oldest process (the one that started the run; the
   * others are its children). null when the cgroup is empty or gone, or the process exited
   * before it could be read, or while it was (its inputs, read through /proc/<pid>/root, would
   * have read as missing). Throws SignatureError for a process whose executable cannot be read,
   * or once `signal` is aborted.
   */
  async of(dir: string, signal?: AbortSignal): Promise<CgroupTask | null> {
    let oldest = await this.oldest(dir);
    if (oldest === null) return null;
    // A process younger than settleMs may still be a launcher about to exec the task: read at
    // once, `python3 job.py` under pyenv was signed 1 run in 5 as `bash pyenv-exec python3
    // job.py`, the shim, its own profile never forecast (this session's walk)
    let started = startedAtMs(oldest.start, this.opts.proc ?? '/proc');
    const age = started === null ? Number.POSITIVE_INFINITY : Date.now() - started;
    const settleMs = this.opts.settleMs ?? TASK_SETTLE_MS;
    if (age < settleMs) {
      await new Promise((r) => setTimeout(r, settleMs - age));
      const before = oldest.start;
      oldest = await this.oldest(dir);
      if (oldest === null) return null;
      // (another oldest process meanwhile: its own start)
      if (oldest.start !== before) started = startedAtMs(oldest.start, this.opts.proc ?? '/proc');
    }
    const pid = oldest.pid;
    const proc = join(this.opts.proc ?? '/proc', String(pid));
    try {
      const [exe, cmdline, cwdHere, rootHere, rootStat, environ] = await Promise.all([
        readlink(join(proc, 'exe')),
        readFile(join(proc, 'cmdline')),
        readlink(join(proc, 'cwd')),
        readlink(join(proc, 'root')),
        stat(join(proc, 'root'), { bigint: true }),
        this.opts.envKeys.length > 0 ? readFile(join(proc, 'environ')) : Promise.resolve(Buffer.alloc(0)),
      ]);
      const argv = argvOf(cmdline);
      const env: Record<string, string> = {};
      for (const kv of splitNul(environ)) {
        const eq = kv.indexOf('=');
        if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
      // the binary is hashed through /proc/<pid>/exe and the inputs found under
      // /proc/<pid>/root: a container's own files, and a binary deleted since it started;
      // what changed since it started is its output (signature.ts)
      // /proc's links read as paths from our root: a chroot's cwd as /srv/jail/work, where the
      // process sees /work (joined under its root it was /srv/jail/srv/jail/work: every relative
      // input missing; a review). A container's, in a mount namespace of its own, are its own.
      // null: a cwd outside its root (a chroot without a chdir), the host's
      const cwdNow = withinRoot(cwdHere, rootHere);
      // Its arguments name files from where it was when it exec'd: by now (half a second on), a
      // program that chdirs at once (make -C, git -C, a daemon) is elsewhere, and its relative
      // inputs were not found there (a review); those not found there are looked for from its
      // cwd now (what `make -C sub` reads is named from sub). Not known (it exec'd before the
      // probe attached, or from another root): its cwd now alone.
      const atExec = cwdNow === null ? null : this.opts.cwdAtExec?.(pid, oldest.start, { ino: rootStat.ino, dev: rootStat.dev }) ?? null;
      const { writing, reading } = await openFiles(oldest.pids, this.opts.proc ?? '/proc');
      const signature = await taskSignature({
        exe: withoutDeleted(exe), exeFile: join(proc, 'exe'),
        // (a cwd outside its root is the host's: its inputs are found as the host sees them,
        // right for the relative ones)
        ...(cwdNow === null
          ? { cwd: cwdHere, cwdIsNow: true, writing, reading }
          : {
            root: join(proc, 'root'), cwd: atExec ?? cwdNow, ...(atExec === null ? { cwdIsNow: true } : atExec !== cwdNow ? { alsoFrom: cwdNow } : {}),
            writing: writing.map((p) => withinRoot(p, rootHere) ?? p),
            reading: reading.flatMap((r) => { const path = withinRoot(r.path, rootHere); return path === null ? [] : [{ ...r, path }]; }),
          }),
        // (the name it was called by: a multi-call binary, xz as unxz, does another job under
        // another name; but not a title a process gave itself in its argv, "nginx: master
        // process ...", which may change from run to run)
        ...(argv[0] && /^[^\s:]+$/.test(argv[0]) ? { argv0: argv[0] } : {}),
        // (the hash is shared by every run of the binary read meanwhile: not stopped by this one's deadline)
        args: argv.slice(1), env, envKeys: this.opts.envKeys, hash: (p) => this.hash(p), ...(started !== null ? { startedAtMs: started } : {}),
        ...(signal ? { signal } : {}), ...(this.opts.earlierRuns ? { earlierRuns: this.opts.earlierRuns } : {}),
      });
      // (a process that exited while it was read, or whose pid was reused since, had its inputs
      // read as missing or as another's: 2.5 s of `bash -c 'sleep 2.5' ... data.bin` was signed
      // with `missing` for its inputs and recorded so; a review)
      // (a zombie keeps its stat and start, not its root: exited all the same)
      const now = await procStat(join(proc, 'stat'));
      if (now === null || now.start !== oldest.start || now.state === 'Z' || now.state === 'X') return null;
      return { pid, signature, startedAtMs: started, startTicks: oldest.start };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') return null; // exited meanwhile
      throw err;
    }
  }

  /** The pid with the earliest start time in the cgroup (and every pid there), or null when it holds none. */
  private async oldest(dir: string): Promise<{ pid: number; start: number; pids: number[] } | null> {
    let text: string;
    try {
      text = await readFile(join(dir, 'cgroup.procs'), 'utf8');
    } catch {
      return null;
    }
    let best: { pid: number; start: number } | null = null;
    const pids: number[] = [];
    for (const line of text.split('\n')) {
      const pid = Number(line);
      if (!(pid > 0)) continue;
      pids.push(pid);
      const start = await startTime(join(this.opts.proc ?? '/proc', line, 'stat'));
      if (start !== null && (best === null || start < best.start || (start === best.start && pid < best.pid))) best = { pid, start };
    }
    return best && { ...best, pids };
  }

  private hash(path: string): Promise<{ sha256: string; bytes: number }> {
    return stat(path).then((st) => {
      // (the ctime too: a binary rewritten in place at its size, its mtime put back (cp -p, a
      // build with SOURCE_DATE_EPOCH), kept its old hash, and so its old binary's profile)
      const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
      let h = this.hashes.get(key);
      if (h) {
        // least recently used goes first: a binary run every minute is not hashed again after 256 others
        this.hashes.delete(key);
      } else {
        h = (this.opts.hashFile ?? hashFile)(path);
        h.catch(() => this.hashes.delete(key));
        if (this.hashes.size >= HASHES_KEPT) this.hashes.delete(this.hashes.keys().next().value!);
      }
      this.hashes.set(key, h);
      return h;
    });
  }
}

/** A start time in clock ticks since boot, as ms since the epoch. */
function startedAtMs(ticks: number, proc: string): number | null {
  const boot = bootEpochMs(proc);
  return boot === null ? null : Math.round(boot + (ticks / USER_HZ) * 1000);
}

/** How /proc names the target of a link to a file deleted since it was opened. */
const DELETED = ' (deleted)';

/** A /proc link's path without the kernel's ` (deleted)` mark. */
const withoutDeleted = (link: string): string => (link.endsWith(DELETED) ? link.slice(0, -DELETED.length) : link);
/** Processes and open files looked at for outputs, at most (a task is a handful of each). */
const MAX_PIDS_LOOKED_AT = 64;
const MAX_FDS_LOOKED_AT = 1024;

/**
 * The files the cgroup's processes hold open: for writing (O_WRONLY or O_RDWR), the task's
 * outputs whenever they were last written (signature.ts); for reading alone, with the link to
 * the open file (`/proc/<pid>/fd/<n>`), so that an input deleted or renamed since the start is
 * still sized through it (a file deleted since it was opened reads as its old path). Paths as
 * read from /proc here. Sockets, pipes and anonymous files are not paths.
 */
async function openFiles(pids: readonly number[], proc: string): Promise<{ writing: string[]; reading: OpenForReading[] }> {
  const writing = new Set<string>();
  const reading = new Map<string, OpenForReading>();
  for (const pid of pids.slice(0, MAX_PIDS_LOOKED_AT)) {
    const dir = join(proc, String(pid));
    let fds: string[];
    try {
      fds = await readdir(join(dir, 'fd'));
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds.slice(0, MAX_FDS_LOOKED_AT)) {
      try {
        const link = await readlink(join(dir, 'fd', fd));
        if (!link.startsWith('/')) continue;
        const deleted = link.endsWith(DELETED);
        const target = withoutDeleted(link);
        const flags = /^flags:\s+([0-7]+)$/m.exec(await readFile(join(dir, 'fdinfo', fd), 'utf8'));
        if (!flags) continue;
        // (the access mode: 0 read only, 1 write only, 2 read and write; a file deleted since it
        // was written is no argument's output)
        if ((parseInt(flags[1]!, 8) & 3) !== 0) {
          if (!deleted) writing.add(target);
        } else if (!reading.has(target)) {
          // (stat'ed now, through the fd: its number may be another file's later)
          const st = await stat(join(dir, 'fd', fd));
          if (st.isFile()) reading.set(target, { path: target, bytes: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, birthtimeMs: st.birthtimeMs, ...(deleted ? { deleted } : {}) });
        }
      } catch {
        // closed meanwhile
      }
    }
  }
  return { writing: [...writing], reading: [...reading.values()] };
}

/** `path` (as read from /proc here) as a process whose root reads as `root` sees it; null when outside that root. */
function withinRoot(path: string, root: string): string | null {
  if (root === '/') return path;
  if (path === root) return '/';
  return path.startsWith(`${root}/`) ? path.slice(root.length) : null;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks); the comm field may hold spaces and parentheses. */
async function startTime(statPath: string): Promise<number | null> {
  return (await procStat(statPath))?.start ?? null;
}

/** A process's state (field 3: R, S, Z...) and start time (field 22, clock ticks), per /proc/<pid>/stat; null when gone. */
async function procStat(statPath: string): Promise<{ state: string; start: number } | null> {
  try {
    return statOf(await readFile(statPath, 'utf8'));
  } catch {
    return null;
  }
}

/** State (field 3) and start (field 22) of a /proc/<pid>/stat line; the comm field may hold spaces and parentheses. */
function statOf(text: string): { state: string; start: number } | null {
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const v = Number(fields[19]); // field 22, counted from field 3 (state)
  return Number.isFinite(v) ? { state: fields[0]!, start: v } : null;
}

/**
 * A process's arguments (its cmdline, NUL-separated bytes) as strings. One whose bytes are not
 * UTF-8 (a latin1 file name) is NOT_UTF8 and its bytes, the valid runs as text and each other
 * byte as \xNN: decoded as UTF-8, two names that differ in such a byte read the same (each
 * byte U+FFFD) and were one task, the second forecast from the first (a walkthrough). A NUL
 * cannot be in an argument, so the form is no other argument's.
 */
export function argvOf(buf: Buffer): string[] {
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i <= buf.length; i++) {
    if (i < buf.length && buf[i] !== 0) continue;
    if (i === buf.length && from === i) break;
    out.push(argOf(buf.subarray(from, i)));
    from = i + 1;
  }
  return out;
}

export { NOT_UTF8 };

function argOf(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(bytes)) return text;
  let out = NOT_UTF8;
  for (let i = 0; i < bytes.length;) {
    const n = utf8Length(bytes, i);
    if (n > 0) {
      out += bytes.toString('utf8', i, i + n);
      i += n;
    } else {
      out += `\\x${bytes[i]!.toString(16).padStart(2, '0')}`;
      i++;
    }
  }
  return out;
}

/** Bytes of the well-formed UTF-8 sequence at `i` (no overlong form, no surrogate, at most U+10FFFF), or 0. */
function utf8Length(b: Buffer, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (n === 0 || i + n > b.length) return 0;
  for (let k = 1; k < n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return 0;
  const c1 = b[i + 1]!;
  if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f) || (c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return 0;
  return n;
}

function splitNul(buf: Buffer): string[] {
  const text = buf.toString('utf8');
  const parts = text.split('\0');
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/**
 * The start (clock ticks since boot) of the oldest process in the cgroup at `dir`, read at once
 * (a run's tick asks it where its task has ended: TaskRunsOptions.oldestStartTicks); null when
 * it holds none, or is gone.
 */
export function oldestStartTicksSync(dir: string, proc = '/proc'): number | null {
  let text: string;
  try {
    text = readFileSync(join(dir, 'cgroup.procs'), 'utf8');
  } catch {
    return null;
  }
  let oldest: number | null = null;
  for (const line of text.split('\n')) {
    if (!(Number(line) > 0)) continue;
    try {
      const v = statOf(readFileSync(join(proc, line, 'stat'), 'utf8'))?.start;
      if (v !== undefined && (oldest === null || v < oldest)) oldest = v;
    } catch {
      // exited meanwhile
    }
  }
  return oldest;
}
