// The agent on a host with many workloads: N cgroups under headroom-test (the v1 cpu hierarchy
// on hybrid hosts, the unified one on pure v2 hosts), each with one small bash process that
// wakes every second, spins a little and sleeps again (no fork: `read -t 1` on a FIFO). The
// agent's CPU and RSS are measured with the footprint bench, idle first, same script.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TestCgroup, removeTestRootIfEmpty } from '../helpers/cgroups.js';
import { start, type Child } from './children.js';
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
  const release = async (): Promise<void> => {
    for (const w of workers) w.proc.kill('SIGKILL');
    for (const g of groups) await g.remove();
    removeTestRootIfEmpty();
    rmSync(dir, { recursive: true, force: true });
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
    const workersCpuPercent = ((workersCpu(workers) - cpu0) / clockTicks() / 3) * 100;
    const running = (): number => workers.filter((w) => w.proc.exitCode === null && w.proc.signalCode === null).length;
    return { count: n, workersCpuPercent, running, release };
  } catch (err) {
    await release();
    throw err;
  }
}

function workersCpu(workers: Child[]): number {
  let ticks = 0;
  for (const w of workers) {
    try {
      const f = readFileSync(`/proc/${w.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch { /* gone */ }
  }
  return ticks;
}

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}
