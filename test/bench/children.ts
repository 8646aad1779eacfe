// Every process the bench starts, tracked so that all of them end with the bench: each child
// leads its own process group (stress-ng's workers included) and is killed as a group, on the
// normal path, on an exception and on SIGINT/SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly proc: ChildProcess;
  /** stdout lines so far (unless started with keepStdout: false) */
  readonly lines: string[];
  stderr(): string;
  /** stdout and stderr together, as received */
  output(): string;
  readonly exited: Promise<Exit>;
  /** resolves with the first stdout line that satisfies `pred`; rejects on timeout or exit */
  waitLine(pred: (line: string) => boolean, timeoutMs: number): Promise<string>;
  /** sends `signal` to the group, then SIGKILL after `graceMs` if it still runs */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<Exit>;
  write(text: string): void;
}

const running = new Set<Child>();

/** The useful part of a failing child's stderr: its first error line, else its tail. */
export function errorSummary(stderr: string): string {
  const text = stderr.trim();
  if (!text) return 'stderr empty';
  const line = text.split('\n').find((l) => /error|fail|cannot|denied|not found/i.test(l));
  return (line ?? text.slice(-300)).trim().slice(0, 400);
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try { process.kill(pid, signal); } catch { /* already gone */ }
  }
}

export interface StartOptions {
  /** keep stdout lines (default true); false counts lines only (the agent's JSON is discarded) */
  keepStdout?: boolean;
  /** give the child a stdin pipe */
  stdin?: boolean;
  /** killed (SIGKILL) after this long at the latest */
  timeoutMs?: number;
  cwd?: string;
  /** added to the bench's environment */
  env?: NodeJS.ProcessEnv;
}

export function start(name: string, cmd: string, args: string[], opts: StartOptions = {}): Child {
  const proc = spawn(cmd, args, {
    detached: true, // its own process group, so a group kill reaches its children too
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    cwd: opts.cwd,
    env: opts.env ? { ...process.env, ...opts.env } : process.env,
  });
  if (proc.pid === undefined) {
    // spawn failures (ENOENT) arrive as an 'error' event; surface them as an exit
    proc.on('error', () => {});
  }
  const keep = opts.keepStdout ?? true;
  const lines: string[] = [];
  let partial = '', err = '', all = '';
  let lineCount = 0;
  const waiters: { pred: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  proc.stdout!.on('data', (d: Buffer) => {
    const text = d.toString();
    if (keep) all += text;
    partial += text;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lineCount++;
      if (keep) lines.push(line);
      for (const w of [...waiters]) {
        if (w.pred(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
    if (!keep && partial.length > 1 << 20) partial = '';
  });
  proc.stderr!.on('data', (d: Buffer) => {
    const text = d.toString();
    err += text;
    all += text;
  });
  const killer = setTimeout(() => killGroup(proc.pid!, 'SIGKILL'), opts.timeoutMs ?? 120_000);
  killer.unref();
  const exited = new Promise<Exit>((resolve) => {
    let settled = false;
    const done = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(killer);
      running.delete(child);
      resolve({ code, signal });
    };
    proc.on('close', done);
    proc.on('error', (e) => {
      err += `${e.message}\n`;
      done(127, null);
    });
  });
  const child: Child = {
    name,
    pid: proc.pid ?? -1,
    proc,
    lines,
    stderr: () => err,
    output: () => all,
    exited,
    waitLine(pred, timeoutMs) {
      const seen = lines.find(pred);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise<string>((resolve, reject) => {
        const w = { pred, resolve: (l: string) => { clearTimeout(t); resolve(l); } };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`${name}: no expected output within ${timeoutMs} ms (${lineCount} lines; ${errorSummary(err)})`));
        }, timeoutMs);
        waiters.push(w);
        void exited.then((x) => {
          if (!waiters.includes(w)) return;
          waiters.splice(waiters.indexOf(w), 1);
          clearTimeout(t);
          reject(new Error(`${name} exited (code ${x.code}, signal ${x.signal}) before the expected output: ${errorSummary(err)}`));
        });
      });
    },
    async stop(signal = 'SIGINT', graceMs = 3000) {
      if (running.has(child) && child.pid > 0) {
        killGroup(child.pid, signal);
        const t = setTimeout(() => killGroup(child.pid, 'SIGKILL'), graceMs);
        const x = await exited;
        clearTimeout(t);
        return x;
      }
      return exited;
    },
    write(text) {
      proc.stdin?.write(text);
    },
  };
  if (proc.pid !== undefined) running.add(child);
  return child;
}

/** Runs to completion; throws (with its stderr) unless it exits 0. */
export async function run(name: string, cmd: string, args: string[], timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<Child> {
  const c = start(name, cmd, args, { timeoutMs, env });
  const x = await c.exited;
  if (x.code !== 0) throw new Error(`${name} failed (code ${x.code}, signal ${x.signal}): ${errorSummary(c.stderr())}`);
  return c;
}

/** JSON objects printed one per line on stdout. */
export function jsonLines<T>(c: Child): T[] {
  return c.lines.filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l) as T);
}

/** Stops everything still running: a signal first, SIGKILL after the grace period. */
export async function stopAll(graceMs = 2000): Promise<void> {
  await Promise.all([...running].map((c) => c.stop('SIGINT', graceMs)));
}

/** Synchronous undoings of what the bench made (cgroups, namespaces), for its way out. */
const exitCleanups = new Set<() => void>();

/**
 * Runs `undo` (synchronous) should the bench end before the section does, on SIGINT too,
 * after its children are killed; the returned function unregisters it (the section's own
 * cleanup ran).
 */
export function undoOnExit(undo: () => void): () => void {
  exitCleanups.add(undo);
  return () => { exitCleanups.delete(undo); };
}

/** Synchronous last resort (process 'exit' handler): every child killed, then every registered undoing run. */
export function killAllNow(): void {
  for (const c of running) if (c.pid > 0) killGroup(c.pid, 'SIGKILL');
  running.clear();
  for (const undo of exitCleanups) {
    try {
      undo();
    } catch (err) {
      process.stderr.write(`bench: cleanup on the way out failed: ${(err as Error).message}\n`);
    }
  }
  exitCleanups.clear();
}

export function installCleanup(): void {
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`bench: ${sig}: stopping what it started\n`);
      killAllNow();
      process.exit(130);
    });
  }
}
