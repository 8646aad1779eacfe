// A test cgroup with a memory limit, always under "headroom-test". On hybrid hosts the memory
// controller lives in its own v1 hierarchy: the cgroup is made at the same path in the v1 cpu
// and v1 memory hierarchies (as docker's cgroupfs driver does) and a process joins both. On
// pure cgroup v2 hosts it is one unified directory with the memory controller enabled.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_ROOT_NAME, TestCgroup, unifiedRoot } from './cgroups.js';
import { start, workloadDir, type Running } from './proc.js';

const V1_MEMORY_ROOT = '/sys/fs/cgroup/memory';

/** True when this host has a memory controller a test can limit (v1 memory, or v2 with memory). */
export function memoryControllerWhy(): string | null {
  if (existsSync(join(V1_MEMORY_ROOT, 'memory.limit_in_bytes'))) return null;
  try {
    const root = unifiedRoot();
    if (readFileSync(join(root, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('memory')) return null;
  } catch { /* no unified tree */ }
  return 'a memory cgroup controller (v1 memory hierarchy, or cgroup2 with memory enabled at the root)';
}

const killAll = (procsFile: string): void => {
  if (!existsSync(procsFile)) return;
  for (const pid of readFileSync(procsFile, 'utf8').split('\n').filter(Boolean).map(Number)) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
};

export class MemoryTestCgroup {
  /** path relative to each hierarchy's root, e.g. "/headroom-test/oom" */
  readonly path: string;
  /** the cgroup in the hierarchy with the cpu controller (v1 cpu, or the unified one on v2) */
  readonly cpu: TestCgroup;
  /** the directory whose memory files limit it: the v1 memory cgroup, or the unified one */
  readonly memDir: string;
  readonly v2: boolean;

  constructor(name: string) {
    this.cpu = new TestCgroup(name);
    this.v2 = this.cpu.v2;
    this.path = this.cpu.path;
    if (this.v2) {
      // Children of headroom-test need the memory controller; ours to enable, we created it.
      const base = join(unifiedRoot(), TEST_ROOT_NAME);
      const ctl = readFileSync(join(base, 'cgroup.subtree_control'), 'utf8');
      if (!ctl.includes('memory')) writeFileSync(join(base, 'cgroup.subtree_control'), '+memory');
      this.memDir = this.cpu.dir;
    } else {
      const base = join(V1_MEMORY_ROOT, TEST_ROOT_NAME);
      if (!existsSync(base)) mkdirSync(base);
      this.memDir = join(base, name);
      if (!existsSync(this.memDir)) mkdirSync(this.memDir);
    }
  }

  /** The kernfs ids a probe reports: the cpu-side directory's inode and the memory one's. */
  get cpuCgid(): bigint {
    return BigInt(statSync(this.cpu.dir).ino);
  }

  get memCgid(): bigint {
    return BigInt(statSync(this.memDir).ino);
  }

  /** Caps memory (and swap, so the limit is one on RAM plus swap) at `bytes`. */
  setLimit(bytes: number): void {
    if (this.v2) {
      writeFileSync(join(this.memDir, 'memory.max'), String(bytes));
      if (existsSync(join(this.memDir, 'memory.swap.max'))) writeFileSync(join(this.memDir, 'memory.swap.max'), '0');
      return;
    }
    // memsw must stay >= limit: the limit first (memsw starts unlimited), then memsw
    writeFileSync(join(this.memDir, 'memory.limit_in_bytes'), String(bytes));
    if (existsSync(join(this.memDir, 'memory.memsw.limit_in_bytes'))) {
      writeFileSync(join(this.memDir, 'memory.memsw.limit_in_bytes'), String(bytes));
    }
  }

  /** OOM kills the kernel counted in this memory cgroup (v1 memory.oom_control, v2 memory.events). */
  oomKills(): number {
    const file = this.v2 ? 'memory.events' : 'memory.oom_control';
    const m = /^oom_kill (\d+)$/m.exec(readFileSync(join(this.memDir, file), 'utf8'));
    if (!m) throw new Error(`${join(this.memDir, file)} has no oom_kill line`);
    return Number(m[1]);
  }

  /** Starts `cmd` already inside the cgroup (in both hierarchies on hybrid hosts). */
  startIn(cmd: string, args: string[], timeoutMs = 60_000): Running {
    const files = this.v2 ? [join(this.cpu.dir, 'cgroup.procs')] : [join(this.cpu.dir, 'cgroup.procs'), join(this.memDir, 'cgroup.procs')];
    const join_ = files.map((f) => `echo $$ > '${f}'`).join(' && ');
    const quoted = [cmd, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    return start('sh', ['-c', `${join_} && exec ${quoted}`], { timeoutMs, cwd: workloadDir() });
  }

  /** Kills what still runs inside, removes the cgroup in every hierarchy, and the test roots
   * when empty. Safe after a failure halfway and safe to call twice. */
  async remove(): Promise<void> {
    if (!this.v2) {
      for (let i = 0; i < 50 && existsSync(this.memDir); i++) {
        killAll(join(this.memDir, 'cgroup.procs'));
        try { rmdirSync(this.memDir); } catch { await new Promise((r) => setTimeout(r, 50)); }
      }
      const base = join(V1_MEMORY_ROOT, TEST_ROOT_NAME);
      if (existsSync(base) && !readdirSync(base, { withFileTypes: true }).some((d) => d.isDirectory())) {
        try { rmdirSync(base); } catch { /* another test still uses it */ }
      }
    }
    await this.cpu.remove();
  }
}
