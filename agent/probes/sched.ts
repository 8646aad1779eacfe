// Decodes sched.bpf.c: its per-CPU stats map, its ring events and its load-time settings.
// Layouts follow bpf/events.h field by field.
import type { BpfMap } from '../kernel/index.js';
import type { CgroupKey } from '../workloads/types.js';
import { cgKeyAt, cgKeyIn, commIn, keyString, u64 } from './decode.js';

export const RUNQ_SLOTS = 32; // HR_RUNQ_SLOTS
export const CG_KEY_SIZE = 16; // struct hr_cg_key
export const SCHED_STATS_SIZE = (RUNQ_SLOTS + 5) * 8; // struct hr_sched_stats
export const SCHED_CONFIG_SIZE = 16; // struct hr_sched_config
export const SLOW_WAKEUP_SIZE = 56; // struct hr_slow_wakeup
export const ONCPU_SIZE = 32; // struct hr_oncpu
export const EV_SLOW_WAKEUP = 1;
export const DROP_RING_FULL = 0, DROP_STATS_FULL = 1;

/** Cumulative figures of one cgroup key since the program was loaded, summed over CPUs. */
export interface SchedStats {
  runqSlots: number[];
  runqCount: number;
  runqSumNs: number;
  oncpuNs: number;
  nvcsw: number;
  nivcsw: number;
}

export interface SlowWakeup {
  pid: number;
  tsNs: bigint;
  key: CgroupKey;
  delayNs: number;
  comm: string;
}

export function encodeSchedConfig(cfg: { slowWakeupNs: number; readV1Cpu: boolean }): Uint8Array {
  const b = Buffer.alloc(SCHED_CONFIG_SIZE);
  b.writeBigUInt64LE(BigInt(Math.round(cfg.slowWakeupNs)), 0);
  b.writeUInt32LE(cfg.readV1Cpu ? 1 : 0, 8);
  return b;
}

export { keyString };

/** Reads the whole stats map (one batched read), summing each key's per-CPU slots. */
export function readSchedStats(map: BpfMap): Map<string, { key: CgroupKey; stats: SchedStats }> {
  const out = new Map<string, { key: CgroupKey; stats: SchedStats }>();
  for (const { key, value } of map.entries()) {
    const k = cgKeyAt(key);
    const s: SchedStats = { runqSlots: new Array(RUNQ_SLOTS).fill(0), runqCount: 0, runqSumNs: 0, oncpuNs: 0, nvcsw: 0, nivcsw: 0 };
    for (const v of map.perCpuValues(value)) {
      for (let i = 0; i < RUNQ_SLOTS; i++) s.runqSlots[i] += u64(v, i * 8);
      const tail = RUNQ_SLOTS * 8;
      s.runqCount += u64(v, tail);
      s.runqSumNs += u64(v, tail + 8);
      s.oncpuNs += u64(v, tail + 16);
      s.nvcsw += u64(v, tail + 24);
      s.nivcsw += u64(v, tail + 32);
    }
    out.set(keyString(k), { key: k, stats: s });
  }
  return out;
}

/**
 * Adds each CPU's running slice (since its task was switched in, until `nowNs` on the
 * CLOCK_MONOTONIC clock bpf_ktime_get_ns uses) to that task's workload: the kernel side commits
 * on-CPU time only at switch-out, so a hog that keeps its CPU would otherwise show in bursts.
 * Read the stats map first: a switch between the two reads then undercounts (made up at the
 * next reading) instead of counting a slice twice.
 */
export function addRunningSlices(
  stats: Map<string, { key: CgroupKey; stats: SchedStats }>, oncpu: BpfMap, nowNs: bigint,
): void {
  const value = oncpu.lookup(Buffer.alloc(4));
  if (!value) return;
  for (const v of oncpu.perCpuValues(value)) {
    const since = v.readBigUInt64LE(0);
    const pid = v.readUInt32LE(8);
    // (a task its filter leaves out: the kernel commits none of its time, so none is lent here)
    const counted = v.readUInt32LE(12);
    if (!pid || !since || !counted || nowNs <= since) continue;
    const key = cgKeyAt(v, 16);
    const k = keyString(key);
    let entry = stats.get(k);
    if (!entry) {
      entry = { key, stats: { runqSlots: new Array(RUNQ_SLOTS).fill(0), runqCount: 0, runqSumNs: 0, oncpuNs: 0, nvcsw: 0, nivcsw: 0 } };
      stats.set(k, entry);
    }
    entry.stats.oncpuNs += Number(nowNs - since);
  }
}

/** Decodes a struct hr_slow_wakeup; null for a record of another type or size. */
export function decodeSlowWakeup(d: DataView, off: number, len: number): SlowWakeup | null {
  if (len < SLOW_WAKEUP_SIZE || d.getUint32(off, true) !== EV_SLOW_WAKEUP) return null;
  return {
    pid: d.getUint32(off + 4, true),
    tsNs: d.getBigUint64(off + 8, true),
    key: cgKeyIn(d, off + 16),
    delayNs: Number(d.getBigUint64(off + 32, true)),
    comm: commIn(d, off + 40),
  };
}
