// The agent on a host with many workloads: N cgroups under headroom-test (the v1 cpu hierarchy
// on hybrid hosts, the unified one on pure v2 hosts), each with one small bash process that
// wakes every second, spins a little and sleeps again (no fork: `read -t 1` on a FIFO). The
// agent's CPU and RSS are measured with the footprint bench, idle first, same script.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TestCgroup, removeTestRootIfEmpty } from '../helpers/cgroups.js';
import { start, undoOnExit, type Child } from './children.js';
import { progress, sleep } from './stats.js';

/** One worker's loop: wake each second (FIFO read timeout), count to `spin`, sleep again. */
const workerScript = (fifo: string, spin: number): string =>
  `exec 3<>'${fifo}'; while :; do read -t 1 -u 3; i=0; while ((i<${spin})); do ((i++)); done; done`;

export interface ManyCgroups {
  count: number;
  /** the workers' own CPU, as a share of one CPU (what "a little work" came to) */
  workersCpuPercent: number;
  /** workers still running (each runs until release(), at most WORKER_LIFETIME_MS) */
  running: () => number;
  release: () => Promise<void>;
}

/** How long a worker may run at most: the section's runs, the busy ticks' included, take minutes (the children's default is 2). */
const WORKER_LIFETIME_MS = 60 * 60_000;

/** Creates `n` test cgroups with one worker each; release() kills them and removes the cgroups. */
export async function manyCgroups(n: number, spin = 300): Promise<ManyCgroups> {
  const dir = join('/tmp', `headroom-bench-cgroups-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const fifo = join(dir, 'tick');
  if (!existsSync(fifo)) execFileSync('mkfifo', [fifo]);
  const groups: TestCgroup[] = [];
  const workers: Child[] = [];
  // a Ctrl-C mid-section exits without release(): the cgroups go on the way out
  const forgetExitUndo = undoOnExit(() => {
    removeNow(groups);
    rmSync(dir, { recursive: true, force: true });
  });
  const release = async (): Promise<void> => {
    for (const w of workers) w.proc.kill('SIGKILL');
    for (const g of groups) await g.remove();
    removeTestRootIfEmpty();
    rmSync(dir, { recursive: true, force: true });
    forgetExitUndo();
  };
  try {
    for (let i = 0; i < n; i++) {
      const g = new TestCgroup(`many-${i}`);
      groups.push(g);
      workers.push(start(`worker-${i}`, 'bash', ['-c', `echo $$ > '${g.dir}/cgroup.procs' && ${workerScript(fifo, spin)}`], { keepStdout: false, timeoutMs: WORKER_LIFETIME_MS }));
      if (i % 100 === 99) progress(`many cgroups: ${i + 1}/${n} created`);
    }
    await sleep(2000);
    const cpu0 = workersCpu(workers);
    await sleep(3000);
    const workersCpuPercent = ((workersCpu(workers) - cpu0) / 3) * 100;
    const running = (): number => workers.filter((w) => w.proc.exitCode === null && w.proc.signalCode === null).length;
    return { count: n, workersCpuPercent, running, release };
  } catch (err) {
    await release();
    throw err;
  }
}

/**
 * The workers' CPU time, seconds, from /proc/PID/schedstat (nanoseconds on the CPU): each
 * worker uses well under a clock tick in the window, and /proc/PID/stat's utime and stime,
 * whole ticks per process, read 0 for every one of them.
 */
function workersCpu(workers: Child[]): number {
  let ns = 0;
  for (const w of workers) {
    try {
      ns += Number(readFileSync(`/proc/${w.pid}/schedstat`, 'utf8').split(' ')[0]);
    } catch { /* gone */ }
  }
  return ns / 1e9;
}

/** Removes the cgroups at once (the bench's exit path cannot wait), as TestCgroup.removeNow does each. */
function removeNow(groups: TestCgroup[]): void {
  const left = groups.filter((g) => !g.removeNow());
  removeTestRootIfEmpty();
  if (left.length > 0) process.stderr.write(`bench: ${left.length} test cgroups left under headroom-test (first ${left[0]!.dir})\n`);
}
