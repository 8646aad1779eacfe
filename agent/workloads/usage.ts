// What a workload holds and may hold, read from its cgroup files: memory in use and its limit,
// and its CPU limit. v2: memory.current, memory.max, cpu.max in its directory. v1 (hybrid
// hosts): cpu.cfs_quota_us/cpu.cfs_period_us in its cpu cgroup, memory.usage_in_bytes and
// memory.limit_in_bytes in the memory cgroup of the same path. Missing files give null.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { workloadDir, type CgroupLayout } from './layout.js';
import type { Workload } from './types.js';

export interface WorkloadUsage {
  memoryBytes: number | null;
  /** null: no limit */
  memoryLimitBytes: number | null;
  /** null: no CPU limit (quota) */
  cpuLimitCores: number | null;
}

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
  if (w.path === '/') return null;
  if (w.hierarchy === 'v2') {
    const dir = workloadDir(layout, w);
    return dir ? readNumber(join(dir, 'memory.current')) : null;
  }
  return layout.memoryV1Root ? readNumber(join(layout.memoryV1Root, w.path, 'memory.usage_in_bytes')) : null;
}

export function readUsage(layout: CgroupLayout, w: Workload): WorkloadUsage {
  if (w.path === '/') return { memoryBytes: null, memoryLimitBytes: null, cpuLimitCores: null }; // the host: its own page
  if (w.hierarchy === 'v2') {
    const dir = workloadDir(layout, w);
    if (!dir) return { memoryBytes: null, memoryLimitBytes: null, cpuLimitCores: null };
    return {
      memoryBytes: readMemoryBytes(layout, w),
      memoryLimitBytes: readNumber(join(dir, 'memory.max')),
      cpuLimitCores: coresFromCpuMax(readText(join(dir, 'cpu.max'))),
    };
  }
  const quota = w.cpuDir ? readNumber(join(w.cpuDir, 'cpu.cfs_quota_us')) : null;
  const period = w.cpuDir ? readNumber(join(w.cpuDir, 'cpu.cfs_period_us')) : null;
  const mem = layout.memoryV1Root ? join(layout.memoryV1Root, w.path) : null;
  const limit = mem ? readNumber(join(mem, 'memory.limit_in_bytes')) : null;
  return {
    memoryBytes: readMemoryBytes(layout, w),
    memoryLimitBytes: limit !== null && limit < V1_UNLIMITED ? limit : null,
    cpuLimitCores: quota !== null && quota > 0 && period ? quota / period : null,
  };
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
