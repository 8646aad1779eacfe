// What a workload holds and may hold, read from its cgroup files: memory in use and its limit,
// and its CPU limit. v2: memory.current, memory.max, cpu.max, cpuset.cpus.effective in its
// directory. v1 (hybrid hosts): cpu.cfs_quota_us/cpu.cfs_period_us in its cpu cgroup,
// memory.usage_in_bytes and memory.limit_in_bytes in the memory cgroup of the same path,
// cpuset.effective_cpus in the cpuset cgroup of the same path. Page cache from memory.stat
// (v2 active_file + inactive_file; v1 their total_ forms). Missing files give null.
//
// A limit may also come from above: a Kubernetes pod's cgroup or a systemd slice caps every
// cgroup below it. The tightest of the workload's own limit, its ancestors' and its CPU set is
// the one reported, with where it comes from. An ancestor's memory limit leaves the workload
// what its siblings do not hold (limit - the ancestor's usage + its own); an ancestor's CPU
// quota, what its siblings do not use (the quota less the rate of the ancestor's CPU time less
// the workload's own, from v2 cpu.stat usage_usec or v1 cpuacct.usage, between two readings at
// least CPU_RATE_MIN_MS apart; taken whole until there are two, or without those counters).
//
// Limits change rarely and reading them was most of a workload's cost (68 us a workload each
// tick on this host, 27 with them kept; 19 with the paths concatenated and memory.stat searched
// in place, most of it the kernel making memory.stat and usage_in_bytes), so a LimitCache keeps
// the limit files of a workload's cgroup, its ancestors' and its CPU set for 5-10 s. Usage is
// read every time. The agent forgets a directory's when it writes a limit there (read the next
// tick); one set by someone else is seen up to 10 s late. What is kept of a cgroup that went is
// dropped when the agent's index sees it go, so one made again at the same path is read afresh
// after the index's next walk (every 10 ticks, sooner when its tasks run). The index walks the
// cgroup2 tree and the v1 cpu one: a v1 memory or cpuset cgroup made again while its cpu one
// stays is seen up to 10 s late.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { posix, resolve } from 'node:path';
import type { CgroupLayout } from './layout.js';
import type { Hierarchy, Workload } from './types.js';

/** Where a cgroup limit comes from: the workload's own cgroup, an ancestor's, or the CPUs its cpuset allows. */
export type CgroupLimitSource = 'cgroup' | 'parent' | 'cpuset';

export interface WorkloadUsage {
  memoryBytes: number | null;
  /**
   * of memoryBytes, the page cache on the file LRU lists (active_file + inactive_file in
   * memory.stat): reclaimable, so the host's MemAvailable counts it too; null when unreadable
   */
  memoryFileBytes: number | null;
  /** null: no limit */
  memoryLimitBytes: number | null;
  /** null: no CPU limit (quota or a CPU set smaller than the host) */
  cpuLimitCores: number | null;
  /** which limit binds (null with no limit) */
  memoryLimitSource: CgroupLimitSource | null;
  cpuLimitSource: CgroupLimitSource | null;
  /**
   * the most it can hold or use whatever the others do: the tightest memory limit and CPU quota
   * of its own cgroup and its ancestors, and its CPU set, as set (the limits above are what an
   * ancestor's leaves it, less its other descendants' use); null: none
   */
  memoryCeilingBytes: number | null;
  cpuCeilingCores: number | null;
}

const NO_USAGE: WorkloadUsage = {
  memoryBytes: null, memoryFileBytes: null, memoryLimitBytes: null, cpuLimitCores: null, memoryLimitSource: null, cpuLimitSource: null,
  memoryCeilingBytes: null, cpuCeilingCores: null,
};

/** v1 writes "no limit" as the largest page-aligned value: anything this large means none. */
const V1_UNLIMITED = 2 ** 60;

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

function readNumber(path: string): number | null {
  const text = readText(path);
  if (text === null || text === '' || text === 'max') return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

/** "max 100000" or "50000 100000" (cpu.max) -> cores, null without a limit. */
export function coresFromCpuMax(text: string | null): number | null {
  if (!text) return null;
  const [quota, period] = text.split(/\s+/);
  if (quota === 'max' || !period) return null;
  const q = Number(quota), p = Number(period);
  return q > 0 && p > 0 ? q / p : null;
}

/** Memory in use alone (one file read, for workloads followed every tick): null when unknown. */
export function readMemoryBytes(layout: CgroupLayout, w: Workload): number | null {
  return readMemoryFile(layout, w, 'memory.current', 'memory.usage_in_bytes');
}

/**
 * The highest memory the cgroup held since it was made (v2 memory.peak, kernel 5.19+; v1
 * memory.max_usage_in_bytes): null when unknown. A spike between two ticks is in it, and not in
 * any tick's read of the memory in use.
 */
export function readMemoryHighWaterBytes(layout: CgroupLayout, w: Workload): number | null {
  return readMemoryFile(layout, w, 'memory.peak', 'memory.max_usage_in_bytes');
}

/**
 * The page cache on its file lists alone (WorkloadUsage.memoryFileBytes; for workloads whose
 * usage is not read, alone): a job that read a 300 MB file held 300 MB of it, and needed 9 MiB. Null
 * when unknown.
 */
export function readFileCacheBytes(layout: CgroupLayout, w: Workload): number | null {
  const m = memoryCgroupOf(layout, w);
  return m ? fileLruBytes(readText(`${m.dir}/memory.stat`), !m.v2) : null;
}

/** The workload's memory cgroup directory (the unified one on cgroup2, the v1 memory one on hybrid hosts); null for the root or where there is none. */
function memoryCgroupOf(layout: CgroupLayout, w: Workload): { dir: string; v2: boolean } | null {
  if (w.path === '/') return null;
  const v2 = w.hierarchy === 'v2';
  const root = v2 ? layout.unifiedRoot : layout.memoryV1Root;
  return root ? { dir: under(root, w.path), v2 } : null;
}

/** A number from the workload's memory cgroup: the v2 file on cgroup2, the v1 one in the v1 memory hierarchy; null for the root or when unknown. */
function readMemoryFile(layout: CgroupLayout, w: Workload, v2File: string, v1File: string): number | null {
  const m = memoryCgroupOf(layout, w);
  return m ? readNumber(`${m.dir}/${m.v2 ? v2File : v1File}`) : null;
}

/**
 * OOM kills the kernel counted in a workload's memory cgroup (v2 memory.events, v1
 * memory.oom_control: `oom_kill N`); null without one, or on a kernel that does not count them.
 */
export function readOomKills(layout: CgroupLayout, w: Workload): number | null {
  const m = memoryCgroupOf(layout, w);
  if (!m) return null;
  try {
    return statField(readFileSync(`${m.dir}/${m.v2 ? 'memory.events' : 'memory.oom_control'}`, 'utf8'), 'oom_kill');
  } catch {
    return null;
  }
}

/** active_file + inactive_file from a memory.stat (v1: its hierarchical total_ fields, as usage_in_bytes counts the subtree); null when absent. */
export function fileLruBytes(stat: string | null, v1: boolean): number | null {
  if (stat === null) return null;
  const active = statField(stat, v1 ? 'total_active_file' : 'active_file');
  const inactive = statField(stat, v1 ? 'total_inactive_file' : 'inactive_file');
  return active === null || inactive === null ? null : active + inactive;
}

/**
 * One field of a flat keyed file (`key value` lines), found in place: splitting a memory.stat
 * into its lines, for two fields, made most of a workload's garbage each tick. Null when the
 * field is absent or not a number.
 */
function statField(text: string, key: string): number | null {
  const head = `${key} `;
  let at = 0;
  if (!text.startsWith(head)) {
    const i = text.indexOf(`\n${head}`);
    if (i < 0) return null;
    at = i + 1;
  }
  at += head.length;
  let end = text.indexOf('\n', at);
  if (end < 0) end = text.length;
  const value = text.slice(at, end).trim();
  const n = value === '' ? NaN : Number(value);
  return Number.isFinite(n) ? n : null;
}

/**
 * What the host leaves a workload's memory: what it holds, plus MemAvailable, less its own page
 * cache (MemAvailable counts reclaimable page cache, the workload's included: added to its
 * usage as it was, a workload holding 4 GiB of cache was given 4 GiB more room than exists).
 */
export function memoryLeftByHost(usage: Pick<WorkloadUsage, 'memoryBytes' | 'memoryFileBytes'>, memAvailable: number | null): number | null {
  if (usage.memoryBytes === null || memAvailable === null) return null;
  const file = Math.min(usage.memoryBytes, usage.memoryFileBytes ?? 0);
  return usage.memoryBytes - file + memAvailable;
}

/**
 * What a workload holds and may hold. `limits` keeps the limit files of its cgroup and its
 * ancestors, and its CPU set, a while (an ancestor's usage is read each time, and only where
 * it has a memory limit); without it every file is read.
 */
export function readUsage(layout: CgroupLayout, w: Workload, hostCpus = cpus().length, limits?: LimitCache, rates?: CpuRates): WorkloadUsage {
  if (w.path === '/') return NO_USAGE; // the host: its own page
  const memoryBytes = readMemoryBytes(layout, w);
  const memoryFileBytes = memoryBytes === null ? null : readFileCacheBytes(layout, w);
  let cpu: Limit | null = null;
  let memory: Limit | null = null;
  // the limits as set, whoever else uses them: the ceilings
  let cpuCap: Limit | null = null;
  let memoryCap: Limit | null = null;
  const limitsAt = (at: string, read: () => DirLimits): DirLimits => (limits ? limits.of(at, read) : read());
  const cpusetAt = (file: string): number | null =>
    limitsAt(cpusetKey(file), () => ({ cpu: cpusetCores(readText(file), hostCpus), memory: null })).cpu;
  // an ancestor's quota less what the rest of its subtree uses (cores), once rates are known
  let ownCores: number | null | undefined;
  const cpuRoom = (quota: number | null, at: string, source: CgroupLimitSource, counter: (dir: string) => number | null, ownDir: string | null): number | null => {
    if (quota === null || source !== 'parent' || !rates || ownDir === null) return quota;
    if (ownCores === undefined) ownCores = rates.rate(ownDir, counter(ownDir));
    const subtree = rates.rate(at, counter(at));
    if (ownCores === null || subtree === null) return quota;
    return Math.max(0, quota - Math.max(0, subtree - ownCores));
  };
  if (w.hierarchy === 'v2') {
    if (!layout.unifiedRoot) return NO_USAGE;
    const dir = under(layout.unifiedRoot, w.path);
    for (const [at, source] of withAncestors(layout.unifiedRoot, w.path)) {
      const l = limitsAt(at, () => ({ cpu: coresFromCpuMax(readText(`${at}/cpu.max`)), memory: readNumber(`${at}/memory.max`) }));
      cpu = tightest(cpu, cpuRoom(l.cpu, at, source, v2CpuSeconds, dir), source);
      cpuCap = tightest(cpuCap, l.cpu, source);
      const used = source === 'cgroup' || l.memory === null ? null : readNumber(`${at}/memory.current`);
      memory = tightest(memory, memoryRoom(l.memory, used, memoryBytes), source);
      memoryCap = tightest(memoryCap, l.memory, source);
    }
    const cpuset = cpusetAt(`${dir}/${V2_CPUSET_FILE}`);
    cpu = tightest(cpu, cpuset, 'cpuset');
    cpuCap = tightest(cpuCap, cpuset, 'cpuset');
  } else {
    if (w.cpuDir && layout.cpuV1Root) {
      // the cpuacct cgroup of the same path counts the CPU time (the cpu one itself when co-mounted)
      const acct = layout.cpuacctV1Root ?? null;
      for (const [at, source, rel] of withAncestors(layout.cpuV1Root, w.path)) {
        const l = limitsAt(at, () => {
          const quota = readNumber(`${at}/cpu.cfs_quota_us`);
          const period = readNumber(`${at}/cpu.cfs_period_us`);
          return { cpu: quota !== null && quota > 0 && period ? quota / period : null, memory: null };
        });
        // (the cpuacct directories only where an ancestor's quota asks for rates)
        const room = acct && l.cpu !== null && source === 'parent'
          ? cpuRoom(l.cpu, under(acct, rel), source, v1CpuSeconds, under(acct, w.path))
          : l.cpu;
        cpu = tightest(cpu, room, source);
        cpuCap = tightest(cpuCap, l.cpu, source);
      }
    }
    if (layout.memoryV1Root) {
      for (const [at, source] of withAncestors(layout.memoryV1Root, w.path)) {
        const l = limitsAt(memoryKey(at), () => {
          const limit = readNumber(`${at}/memory.limit_in_bytes`);
          return { cpu: null, memory: limit !== null && limit < V1_UNLIMITED ? limit : null };
        });
        const used = source === 'cgroup' || l.memory === null ? null : readNumber(`${at}/memory.usage_in_bytes`);
        memory = tightest(memory, memoryRoom(l.memory, used, memoryBytes), source);
        memoryCap = tightest(memoryCap, l.memory, source);
      }
    }
    if (layout.cpusetV1Root) {
      const cpuset = cpusetAt(`${under(layout.cpusetV1Root, w.path)}/${V1_CPUSET_FILE}`);
      cpu = tightest(cpu, cpuset, 'cpuset');
      cpuCap = tightest(cpuCap, cpuset, 'cpuset');
    }
  }
  return {
    memoryBytes, memoryFileBytes,
    memoryLimitBytes: memory?.value ?? null, memoryLimitSource: memory?.source ?? null,
    cpuLimitCores: cpu?.value ?? null, cpuLimitSource: cpu?.source ?? null,
    memoryCeilingBytes: memoryCap?.value ?? null, cpuCeilingCores: cpuCap?.value ?? null,
  };
}

/** A cgroup directory's own limits, as read from its files (null: none). */
interface DirLimits {
  cpu: number | null;
  memory: number | null;
}

/** Limits are read again after at most this long... */
const LIMIT_TTL_MS = 10_000;
/** ...and at least half of it: each directory's own share, so that the thousands read in one tick are not all read again in another. */
const LIMIT_TTL_SPREAD = 0.5;
/** Entries a cache holds at most (a tick reads two to four a workload, and forecast.demand_workloads goes to 100,000; CpuRates' bound too). */
const CACHE_ENTRIES = 65_536;

/**
 * Before a new directory joins a per-directory cache at its bound: the stale entries out, and
 * if none is, the first quarter made (a Map iterates in the order its keys came), so a host past
 * the bound keeps most of its entries rather than reading every file again.
 */
function makeRoom<T>(byDir: Map<string, T>, stale: (e: T) => boolean): void {
  if (byDir.size < CACHE_ENTRIES) return;
  for (const [d, e] of byDir) if (stale(e)) byDir.delete(d);
  if (byDir.size < CACHE_ENTRIES) return;
  let drop = CACHE_ENTRIES / 4;
  for (const d of byDir.keys()) {
    if (drop-- <= 0) break;
    byDir.delete(d);
  }
}

/** A key's fixed fraction in [0, 1) (FNV-1a): where in the spread its lifetime falls. */
function keyFraction(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 2 ** 32;
}

/**
 * The limit files of the workloads' cgroups, their ancestors and their CPU sets, kept for
 * (LIMIT_TTL_MS / 2, LIMIT_TTL_MS] each: fifty workloads in four-deep Kubernetes paths would
 * otherwise read hundreds of unchanged files every tick, and thousands of workloads spend half
 * their reading on them. The agent forgets a directory's when it writes a limit there.
 */
export class LimitCache {
  private readonly byDir = new Map<string, { expiresMs: number; limits: DirLimits }>();

  constructor(private readonly nowMs: () => number = Date.now) {}

  of(dir: string, read: () => DirLimits): DirLimits {
    const now = this.nowMs();
    const hit = this.byDir.get(dir);
    if (hit && now < hit.expiresMs) return hit.limits;
    if (!hit) makeRoom(this.byDir, (e) => now >= e.expiresMs);
    const limits = read();
    this.byDir.set(dir, { expiresMs: now + LIMIT_TTL_MS * (1 - LIMIT_TTL_SPREAD * keyFraction(dir)), limits });
    return limits;
  }

  /**
   * Drops the kept limits of one directory (the workloads below it read its files afresh too,
   * as they find its limits under the same key), or of all without one.
   */
  forget(dir?: string): void {
    if (dir === undefined) this.byDir.clear();
    else this.byDir.delete(resolve(dir));
  }

  /**
   * Drops what is kept of a cgroup that went (WorkloadIndex.takeDeparted): its limits in each
   * hierarchy of the layout that has them, and its CPU set, so that one made again at its path
   * is read afresh.
   */
  forgetCgroup(layout: CgroupLayout, hierarchy: Hierarchy, path: string): void {
    if (hierarchy === 'v2') {
      if (!layout.unifiedRoot) return;
      const dir = under(layout.unifiedRoot, path);
      this.forget(dir);
      this.forget(cpusetKey(`${dir}/${V2_CPUSET_FILE}`));
      return;
    }
    if (layout.cpuV1Root) this.forget(under(layout.cpuV1Root, path));
    if (layout.memoryV1Root) this.forget(memoryKey(under(layout.memoryV1Root, path)));
    if (layout.cpusetV1Root) this.forget(cpusetKey(`${under(layout.cpusetV1Root, path)}/${V1_CPUSET_FILE}`));
  }
}

/** A CPU set's key (its file sits in the limits' directory on v2: a key of its own). */
const cpusetKey = (file: string): string => `${file}#cpuset`;
/** A v1 memory directory's key (a memory hierarchy mounted with the cpu one has the same directories). */
const memoryKey = (dir: string): string => `${dir}#memory`;
const V2_CPUSET_FILE = 'cpuset.cpus.effective';
const V1_CPUSET_FILE = 'cpuset.effective_cpus';

/** A v2 cgroup's CPU time (its subtree's), seconds; null when unreadable. */
function v2CpuSeconds(dir: string): number | null {
  const m = /^usage_usec (\d+)$/m.exec(readText(`${dir}/cpu.stat`) ?? '');
  return m ? Number(m[1]) / 1e6 : null;
}

/** A v1 cpuacct cgroup's CPU time (its subtree's), seconds; null when unreadable. */
function v1CpuSeconds(dir: string): number | null {
  const ns = readNumber(`${dir}/cpuacct.usage`);
  return ns === null ? null : ns / 1e9;
}

/**
 * The cumulative CPU time (seconds) of a workload's cgroup, and the directory that counts it (a
 * CpuRates key), read where it counts the tasks the probes would name the workload by: cpu.stat's
 * usage_usec on a cgroup v2 host; on a v1 or hybrid one the cpuacct cgroup of its v1 cpu path
 * (the cpu cgroup itself where the two are mounted together, as systemd mounts them). Null for a
 * cgroup2 path on a hybrid host (its tasks' CPU is counted under their v1 cpu cgroup, which may
 * be another path), the root (the host), or an unreadable counter. The counter counts the
 * subtree: the caller asks only for cgroups with no child cgroup.
 */
export function readCgroupCpu(layout: CgroupLayout, w: Workload): { dir: string; seconds: number } | null {
  if (cleanPath(w.path) === '/') return null;
  let dir: string;
  let seconds: number | null;
  if (w.hierarchy === 'v2') {
    if (layout.kind !== 'v2' || !layout.unifiedRoot) return null;
    dir = under(layout.unifiedRoot, w.path);
    seconds = v2CpuSeconds(dir);
  } else {
    if (!layout.cpuacctV1Root) return null;
    dir = under(layout.cpuacctV1Root, w.path);
    seconds = v1CpuSeconds(dir);
  }
  return seconds === null ? null : { dir, seconds };
}

/** Readings of one counter closer than this give the rate of the last interval again (two workloads under one ancestor in a tick). */
const CPU_RATE_MIN_MS = 500;
/** A reading older than this starts over, by default (the counter's cgroup may have been remade). */
const CPU_RATE_MAX_MS = 60_000;

/**
 * Cores a cgroup used between readings of its cumulative CPU time, by directory: what an
 * ancestor's quota leaves a workload needs its siblings' rate. Null at a directory's first
 * reading, after a gap, or when the counter went backwards.
 */
export class CpuRates {
  /** per directory: its last reading, the rate it gave, and how old a reading it takes a rate from (its caller's) */
  private readonly byDir = new Map<string, { seconds: number; atMs: number; cores: number | null; maxAgeMs: number }>();

  constructor(private readonly nowMs: () => number = Date.now) {}

  /** maxAgeMs: a reading older than this starts over; never less than CPU_RATE_MAX_MS (a caller that reads once a walk passes a walk's length, or a long --interval would give no rate) */
  rate(dir: string, seconds: number | null, maxAgeMs = CPU_RATE_MAX_MS): number | null {
    if (seconds === null) return null;
    const now = this.nowMs();
    const last = this.byDir.get(dir);
    if (last && now - last.atMs < CPU_RATE_MIN_MS) return last.cores;
    const oldest = Math.max(CPU_RATE_MAX_MS, maxAgeMs);
    const cores = last && now - last.atMs <= oldest && seconds >= last.seconds ? (seconds - last.seconds) / ((now - last.atMs) / 1000) : null;
    if (last) {
      // (in place: read for every busy cgroup at every tick while the sched probe is filtered)
      last.seconds = seconds;
      last.atMs = now;
      last.cores = cores;
      // (the longest any caller takes: another's default 60 s must not shorten a walked one's)
      last.maxAgeMs = Math.max(last.maxAgeMs, oldest);
    } else {
      // (stale by its own caller's age: one read once a walk, at a long --interval, kept its rate)
      makeRoom(this.byDir, (e) => now - e.atMs > e.maxAgeMs);
      this.byDir.set(dir, { seconds, atMs: now, cores, maxAgeMs: oldest });
    }
    return cores;
  }
}

interface Limit {
  value: number;
  source: CgroupLimitSource;
}

/** The tighter of a limit found so far and another (null: none); the first found wins a tie. */
function tightest(a: Limit | null, value: number | null, source: CgroupLimitSource): Limit | null {
  if (value === null || (a !== null && a.value <= value)) return a;
  return { value, source };
}

/** The workload's directory, then each ancestor's below the hierarchy's root (the root has no limits). */
function* withAncestors(root: string, path: string): Generator<[string, CgroupLimitSource, string]> {
  let p = cleanPath(path);
  let source: CgroupLimitSource = 'cgroup';
  while (p !== '/') {
    yield [under(root, p), source, p];
    p = p.slice(0, p.lastIndexOf('/')) || '/';
    source = 'parent';
  }
}

/** A path of the index's shape: '/', or '/a/b' (no empty, '.' or '..' part, no '/' at the end). */
const CLEAN_PATH = /^(?:\/(?!\.\.?(?:\/|$))[^/]+)+$/;

/** The path in the index's shape ('/a/b'), as path.resolve makes it. */
function cleanPath(path: string): string {
  return path === '/' || CLEAN_PATH.test(path) ? path : posix.resolve('/', path);
}

/**
 * A cgroup's directory in a hierarchy: its root and its path, concatenated (what path.join
 * gives, without its normalising pass and garbage: a few thousand workloads ask for tens of
 * thousands a tick).
 */
function under(root: string, path: string): string {
  // (a root as a mount point is: '/sys/fs/cgroup/cpu'; another, '/' or '/x/', as path.join takes it)
  const r = root !== '/' && CLEAN_PATH.test(root) ? root : posix.resolve('/', root);
  const p = cleanPath(path);
  if (p === '/') return r;
  return r === '/' ? p : r + p;
}

/**
 * The memory a limit leaves the workload: its own limit as it is; an ancestor's less what the
 * ancestor's other descendants hold (its usage less the workload's own).
 */
function memoryRoom(limit: number | null, ancestorUsed: number | null, own: number | null): number | null {
  if (limit === null) return null;
  if (ancestorUsed === null) return limit;
  return Math.max(0, limit - Math.max(0, ancestorUsed - (own ?? 0)));
}

/** "0-3,8,10-11" -> 7 CPUs; null when empty, unreadable, or no fewer than the host's (no limit then). */
export function cpusetCores(list: string | null, hostCpus?: number): number | null {
  if (!list) return null;
  let n = 0;
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return null;
    n += m[2] === undefined ? 1 : Number(m[2]) - Number(m[1]) + 1;
  }
  if (n <= 0 || (hostCpus !== undefined && n >= hostCpus)) return null;
  return n;
}

/** The host's MemAvailable (bytes) from /proc/meminfo: what it could give without swapping; null when unreadable. */
export function readHostMemoryAvailable(meminfo = '/proc/meminfo'): number | null {
  const m = /^MemAvailable:\s+(\d+) kB$/m.exec(readText(meminfo) ?? '');
  return m ? Number(m[1]) * 1024 : null;
}

/** Busy and total time of all the host's CPUs (clock ticks, from /proc/stat); null when unreadable. */
export function readHostCpuTimes(stat = '/proc/stat'): { busy: number; total: number } | null {
  const line = (readText(stat) ?? '').split('\n', 1)[0]!;
  if (!line.startsWith('cpu ')) return null;
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (f.length < 5 || f.some((x) => !Number.isFinite(x))) return null;
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - f[4]!, total };
}
