// Decodes fault.bpf.c: its per-CPU stats map, its OOM-kill ring events and its load-time
// settings. Layouts follow bpf/events.h field by field.
import type { BpfMap } from '../kernel/index.js';
import type { CgroupKey } from '../workloads/types.js';
import { cgKeyIn, commIn, internedCgKey, u64OverCpus } from './decode.js';

export const FAULT_CONFIG_SIZE = 8; // struct hr_fault_config
export const FAULT_STATS_SIZE = 48; // struct hr_fault_stats
export const OOM_KILL_SIZE = 72; // struct hr_oom_kill
export const EV_OOM_KILL = 3; // HR_EV_OOM_KILL

/** Cumulative figures of one workload key since the program was loaded, summed over CPUs. */
export interface FaultStats {
  /** estimates when minor faults are sampled (each sampled fault counts 2^sample_shift) */
  minor: number;
  major: number;
  reclaimCount: number;
  reclaimNs: number;
  reclaimedPages: number;
  oomKills: number;
}

export interface OomKill {
  /** the victim process (tgid) */
  pid: number;
  tsNs: bigint;
  /** the victim's workload */
  key: CgroupKey;
  /** its v1 memory cgroup's kernfs id (hybrid hosts), else 0 */
  memCgid: bigint;
  rssPages: number;
  totalVmPages: number;
  comm: string;
}

export function encodeFaultConfig(cfg: { readV1Cpu: boolean }): Uint8Array {
  const b = Buffer.alloc(FAULT_CONFIG_SIZE);
  b.writeUInt32LE(cfg.readV1Cpu ? 1 : 0, 0);
  return b;
}

export const emptyFaultStats = (): FaultStats => ({ minor: 0, major: 0, reclaimCount: 0, reclaimNs: 0, reclaimedPages: 0, oomKills: 0 });

/**
 * Reads the whole stats map (one batched read), summing each key's per-CPU slots. `reuse`: a
 * reading its caller holds no longer (none of its objects): a key it has is given its entry again.
 */
export function readFaultStats(map: BpfMap, reuse?: Map<string, { key: CgroupKey; stats: FaultStats }>): Map<string, { key: CgroupKey; stats: FaultStats }> {
  const out = new Map<string, { key: CgroupKey; stats: FaultStats }>();
  const ncpus = map.ncpus, slot = map.valueStride / ncpus;
  map.forEachEntry((keys, keyAt, values, valueAt) => {
    const k = internedCgKey(keys, keyAt);
    const had = reuse?.get(k.id);
    // (one call per field, no closure: made for every key, each tick)
    const s = had ? had.stats : emptyFaultStats();
    s.minor = u64OverCpus(values, valueAt, slot, ncpus);
    s.major = u64OverCpus(values, valueAt + 8, slot, ncpus);
    s.reclaimCount = u64OverCpus(values, valueAt + 16, slot, ncpus);
    s.reclaimNs = u64OverCpus(values, valueAt + 24, slot, ncpus);
    s.reclaimedPages = u64OverCpus(values, valueAt + 32, slot, ncpus);
    s.oomKills = u64OverCpus(values, valueAt + 40, slot, ncpus);
    out.set(k.id, had ?? { key: k.key, stats: s });
  }, () => out.clear());
  return out;
}

/** Decodes a struct hr_oom_kill; null for a record of another type or size. */
export function decodeOomKill(d: DataView, off: number, len: number): OomKill | null {
  if (len < OOM_KILL_SIZE || d.getUint32(off, true) !== EV_OOM_KILL) return null;
  return {
    pid: d.getUint32(off + 4, true),
    tsNs: d.getBigUint64(off + 8, true),
    key: cgKeyIn(d, off + 16),
    memCgid: d.getBigUint64(off + 32, true),
    rssPages: Number(d.getBigUint64(off + 40, true)),
    totalVmPages: Number(d.getBigUint64(off + 48, true)),
    comm: commIn(d, off + 56),
  };
}
