// The task a cgroup runs, as a signature (signature.ts): its oldest process's executable,
// arguments, working directory and chosen environment, read from /proc while it lives. Used
// by the task runs (agent/predict/task-runs.ts) to key a run's profile.
import { readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hashFile, taskSignature, type TaskSignature } from './signature.js';

export interface CgroupTask {
  pid: number;
  signature: TaskSignature;
  /** when the process started (ms since the epoch, to about 10 ms), null when not read */
  startedAtMs: number | null;
}

/** Clock ticks per second of /proc/<pid>/stat's times: USER_HZ, 100 on every Linux ABI. */
const USER_HZ = 100;

/** Binaries hashed so far, by device, inode, size and mtime: each is read once, not per run. */
const HASHES_KEPT = 256;

export class TaskReader {
  private readonly hashes = new Map<string, Promise<{ sha256: string; bytes: number }>>();

  constructor(private readonly opts: { envKeys: readonly string[]; proc?: string } = { envKeys: [] }) {}

  /**
   * The task of the cgroup at `dir`: its oldest process (the one that started the run; the
   * others are its children). null when the cgroup is empty or gone, or the process exited
   * before it could be read. Throws SignatureError for a process whose executable cannot be read.
   */
  async of(dir: string): Promise<CgroupTask | null> {
    const oldest = await this.oldest(dir);
    if (oldest === null) return null;
    const pid = oldest.pid;
    const proc = join(this.opts.proc ?? '/proc', String(pid));
    try {
      const [exe, cmdline, cwd, environ] = await Promise.all([
        readlink(join(proc, 'exe')),
        readFile(join(proc, 'cmdline')),
        readlink(join(proc, 'cwd')),
        this.opts.envKeys.length > 0 ? readFile(join(proc, 'environ')) : Promise.resolve(Buffer.alloc(0)),
      ]);
      const argv = splitNul(cmdline);
      const env: Record<string, string> = {};
      for (const kv of splitNul(environ)) {
        const eq = kv.indexOf('=');
        if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
      // the binary is hashed through /proc/<pid>/exe and the inputs found under
      // /proc/<pid>/root: a container's own files, and a binary deleted since it started;
      // what changed since it started is its output (signature.ts)
      const started = await startedAtMs(oldest.start, this.opts.proc ?? '/proc');
      const signature = await taskSignature({
        exe: exe.replace(/ \(deleted\)$/, ''), exeFile: join(proc, 'exe'), root: join(proc, 'root'),
        // (the name it was called by: a multi-call binary, xz as unxz, does another job under
        // another name; but not a title a process gave itself in its argv, "nginx: master
        // process ...", which may change from run to run)
        ...(argv[0] && /^[^\s:]+$/.test(argv[0]) ? { argv0: argv[0] } : {}),
        args: argv.slice(1), cwd, env, envKeys: this.opts.envKeys, hash: (p) => this.hash(p), ...(started !== null ? { startedAtMs: started } : {}),
      });
      return { pid, signature, startedAtMs: started };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') return null; // exited meanwhile
      throw err;
    }
  }

  /** The pid with the earliest start time in the cgroup, or null when it holds none. */
  private async oldest(dir: string): Promise<{ pid: number; start: number } | null> {
    let text: string;
    try {
      text = await readFile(join(dir, 'cgroup.procs'), 'utf8');
    } catch {
      return null;
    }
    let best: { pid: number; start: number } | null = null;
    for (const line of text.split('\n')) {
      const pid = Number(line);
      if (!(pid > 0)) continue;
      const start = await startTime(join(this.opts.proc ?? '/proc', line, 'stat'));
      if (start !== null && (best === null || start < best.start || (start === best.start && pid < best.pid))) best = { pid, start };
    }
    return best;
  }

  private hash(path: string): Promise<{ sha256: string; bytes: number }> {
    return stat(path).then((st) => {
      const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
      let h = this.hashes.get(key);
      if (!h) {
        h = hashFile(path);
        h.catch(() => this.hashes.delete(key));
        if (this.hashes.size >= HASHES_KEPT) this.hashes.delete(this.hashes.keys().next().value!);
        this.hashes.set(key, h);
      }
      return h;
    });
  }
}

/**
 * When the host booted (ms since the epoch: now less the uptime), read once per /proc: read
 * again at each start, its 10 ms steps and the moment between the two reads moved a start by
 * up to 20 ms from one read to the next, and an input written just before fell either side.
 */
const bootMs = new Map<string, number>();

/** A start time in clock ticks since boot, as ms since the epoch. */
async function startedAtMs(ticks: number, proc: string): Promise<number | null> {
  let boot = bootMs.get(proc);
  if (boot === undefined) {
    try {
      const now = Date.now();
      const uptime = Number((await readFile(join(proc, 'uptime'), 'utf8')).split(' ')[0]);
      if (!Number.isFinite(uptime)) return null;
      bootMs.set(proc, (boot = now - uptime * 1000));
    } catch {
      return null;
    }
  }
  return Math.round(boot + (ticks / USER_HZ) * 1000);
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks); the comm field may hold spaces and parentheses. */
async function startTime(statPath: string): Promise<number | null> {
  try {
    const text = await readFile(statPath, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const v = Number(fields[19]); // field 22, counted from field 3 (state)
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

function splitNul(buf: Buffer): string[] {
  const text = buf.toString('utf8');
  const parts = text.split('\0');
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}
