// Test cgroups, always under a "headroom-test" subtree that the tests create and remove.
// On hybrid hosts they live in the v1 cpu hierarchy (where the cpu controller is); on pure
// cgroup v2 hosts in the unified tree, with the cpu controller enabled for the subtree.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { filterKey } from '../../agent/probes/knobs.js';

export const TEST_ROOT_NAME = 'headroom-test';

function cpuHierarchyRoot(): { root: string; v2: boolean } {
  for (const dir of ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) {
    if (existsSync(join(dir, 'cpu.shares'))) return { root: dir, v2: false };
  }
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return { root: '/sys/fs/cgroup', v2: true };
  throw new Error('no cgroup hierarchy with the cpu controller found under /sys/fs/cgroup');
}

/**
 * The v1 cpuacct hierarchy where it is mounted apart from the cpu one, else null (mounted with it,
 * as systemd mounts them, a cpu cgroup counts its own CPU time).
 */
function separateCpuacctRoot(): string | null {
  const { root, v2 } = cpuHierarchyRoot();
  if (v2 || existsSync(join(root, 'cpuacct.usage'))) return null;
  return existsSync('/sys/fs/cgroup/cpuacct/cpuacct.usage') ? '/sys/fs/cgroup/cpuacct' : null;
}

export class TestCgroup {
  /** path relative to the hierarchy root, e.g. "/headroom-test/batch" */
  readonly path: string;
  /** absolute directory */
  readonly dir: string;
  readonly v2: boolean;
  /** its twin at the same path in a cpuacct hierarchy mounted apart (opts.cpuacct), its tasks in both */
  readonly cpuacctDir: string | null = null;

  /** opts.cpuacct: where cpuacct is mounted apart from cpu, a cpuacct cgroup at the same path too, its tasks in both (its CPU time counted, as where the two are mounted together) */
  constructor(name: string, opts: { cpuacct?: boolean } = {}) {
    const { root, v2 } = cpuHierarchyRoot();
    this.v2 = v2;
    const base = join(root, TEST_ROOT_NAME);
    if (!existsSync(base)) mkdirSync(base);
    if (v2) {
      // Children of headroom-test need the cpu controller; ours to enable, we created it.
      const ctl = readFileSync(join(base, 'cgroup.subtree_control'), 'utf8');
      if (!ctl.includes('cpu')) writeFileSync(join(base, 'cgroup.subtree_control'), '+cpu');
    }
    this.path = `/${TEST_ROOT_NAME}/${name}`;
    this.dir = join(base, name);
    const made = !existsSync(this.dir);
    if (made) mkdirSync(this.dir);
    const acct = opts.cpuacct ? separateCpuacctRoot() : null;
    if (acct) {
      const acctBase = join(acct, TEST_ROOT_NAME);
      try {
        if (!existsSync(acctBase)) mkdirSync(acctBase);
        this.cpuacctDir = join(acctBase, name);
        if (!existsSync(this.cpuacctDir)) mkdirSync(this.cpuacctDir);
      } catch (err) {
        // (no object to remove it by: the cpu cgroup made above would be left)
        if (made) {
          try { rmdirSync(this.dir); } catch { /* in use: left for the caller's error */ }
        }
        throw err;
      }
    }
  }

  /**
   * The file counting its CPU time as the agent reads it: cpu.stat on a cgroup v2 host,
   * cpuacct.usage in its cpuacct twin or, where cpu and cpuacct are mounted together, in itself;
   * null where there is none.
   */
  cpuTimeFile(): string | null {
    if (this.v2) return join(this.dir, 'cpu.stat');
    for (const dir of [this.cpuacctDir, this.dir]) if (dir && existsSync(join(dir, 'cpuacct.usage'))) return join(dir, 'cpuacct.usage');
    return null;
  }

  /** Its CPU time so far (seconds), from cpuTimeFile. */
  cpuTimeSeconds(): number {
    const file = this.cpuTimeFile();
    if (file === null) throw new Error(`${this.path}: no CPU time counter`);
    const text = readFileSync(file, 'utf8');
    return this.v2 ? Number(/^usage_usec (\d+)$/m.exec(text)![1]) / 1e6 : Number(text) / 1e9;
  }

  /** The cgroup.procs files a task joins it by (its cpuacct twin's too). */
  procsFiles(): string[] {
    return [join(this.dir, 'cgroup.procs'), ...(this.cpuacctDir ? [join(this.cpuacctDir, 'cgroup.procs')] : [])];
  }

  addPid(pid: number): void {
    for (const f of this.procsFiles()) writeFileSync(f, `${pid}\n`);
  }

  /** Its kernel id (directory inode): a probe's workload key holds it, as cgid or as cpu_cgid. */
  id(): bigint {
    return statSync(this.dir, { bigint: true }).ino;
  }

  /** Its key in a probe's cgroup filter (its id, marked with its hierarchy). */
  filterKey(): bigint {
    return filterKey(this.v2 ? 'v2' : 'v1-cpu', this.id());
  }

  pids(): number[] {
    return readFileSync(join(this.dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  }

  read(file: string): string {
    return readFileSync(join(this.dir, file), 'utf8').trim();
  }

  /** Kills what still runs inside, then removes the cgroup and its cpuacct twin (and the test roots when empty). */
  async remove(): Promise<void> {
    this.removeNow();
    removeTestRootIfEmpty();
  }

  /**
   * Kills what still runs inside and removes the cgroup and its cpuacct twin (and the twin's test
   * root when empty), trying again for up to 2.5 s each while its tasks leave, synchronously (a
   * bench's way out cannot wait); the cpu test root is left as it is. False when either is still there.
   */
  removeNow(): boolean {
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < 50 && existsSync(this.dir); i++) {
      this.killTasks();
      try { rmdirSync(this.dir); } catch { Atomics.wait(pause, 0, 0, 50); }
    }
    // (its tasks are gone with the cpu cgroup's: the twin empties with them)
    for (let i = 0; i < 50 && this.cpuacctDir && existsSync(this.cpuacctDir); i++) {
      try { rmdirSync(this.cpuacctDir); } catch { Atomics.wait(pause, 0, 0, 50); }
    }
    if (this.cpuacctDir) {
      try { rmdirSync(join(this.cpuacctDir, '..')); } catch { /* another test's twin is still in it, or gone */ }
    }
    return !existsSync(this.dir) && !(this.cpuacctDir && existsSync(this.cpuacctDir));
  }

  /** SIGKILL to every task inside now (one gone meanwhile, or the cgroup itself, is no error). */
  killTasks(): void {
    let pids: number[] = [];
    try { pids = this.pids(); } catch { /* the cgroup went meanwhile */ }
    for (const pid of pids) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  }
}

export function removeTestRootIfEmpty(): void {
  const { root } = cpuHierarchyRoot();
  const base = join(root, TEST_ROOT_NAME);
  if (!existsSync(base)) return;
  const children = readdirSync(base, { withFileTypes: true }).filter((d) => d.isDirectory());
  if (children.length === 0) {
    try { rmdirSync(base); } catch { /* another test still uses it */ }
  }
}

/** The cgroup2 (unified) tree: /sys/fs/cgroup on pure v2 hosts, /sys/fs/cgroup/unified on hybrid ones. */
export function unifiedRoot(): string {
  for (const dir of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    if (existsSync(join(dir, 'cgroup.controllers'))) return dir;
  }
  throw new Error('no cgroup2 (unified) tree found under /sys/fs/cgroup');
}

/**
 * A test cgroup in the unified tree, whatever holds the cpu controller (on hybrid hosts this is
 * the tree that only names tasks). No controllers are enabled for it.
 */
export class UnifiedTestCgroup {
  /** path relative to the unified root, e.g. "/headroom-test/ids" */
  readonly path: string;
  readonly dir: string;
  private readonly base: string;

  constructor(name: string) {
    this.base = join(unifiedRoot(), TEST_ROOT_NAME);
    if (!existsSync(this.base)) mkdirSync(this.base);
    this.path = `/${TEST_ROOT_NAME}/${name}`;
    this.dir = join(this.base, name);
    if (!existsSync(this.dir)) mkdirSync(this.dir);
  }

  /** Kills what still runs inside, removes the cgroup, and the unified test root when empty. */
  async remove(): Promise<void> {
    for (let i = 0; i < 50 && existsSync(this.dir); i++) {
      const pids = readFileSync(join(this.dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
      for (const pid of pids) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
      }
      try { rmdirSync(this.dir); } catch { await new Promise((r) => setTimeout(r, 50)); }
    }
    const left = existsSync(this.base) && readdirSync(this.base, { withFileTypes: true }).some((d) => d.isDirectory());
    if (existsSync(this.base) && !left) {
      try { rmdirSync(this.base); } catch { /* another test still uses it */ }
    }
  }
}
