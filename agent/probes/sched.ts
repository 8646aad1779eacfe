// Decodes sched.bpf.c: its per-CPU stats map, its ring events and its load-time settings.
// Layouts follow bpf/events.h field by field.
import { bootEpochMs } from '../boot-clock.js';
import type { BpfMap } from '../kernel/index.js';
import type { CgroupKey } from '../workloads/types.js';
import { cgKeyIn, commIn, internedCgKey, keyString, NO_WORDS, wordsOver } from './decode.js';

export const RUNQ_SLOTS = 32; // HR_RUNQ_SLOTS
export const CG_KEY_SIZE = 16; // struct hr_cg_key
export const SCHED_STATS_SIZE = (RUNQ_SLOTS + 6) * 8; // struct hr_sched_stats
export const SCHED_CONFIG_SIZE = 16; // struct hr_sched_config
export const SLOW_WAKEUP_SIZE = 56; // struct hr_slow_wakeup
export const ONCPU_SIZE = 48; // struct hr_oncpu
export const EXEC_CWD_NAMES = 512; // HR_CWD_NAMES
export const EXEC_CWD_SIZE = 32 + EXEC_CWD_NAMES + 256; // struct hr_exec_cwd
export const EXIT_SIZE = 24; // struct hr_exit
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

export const emptySchedStats = (): SchedStats =>
  ({ runqSlots: new Array(RUNQ_SLOTS).fill(0), runqCount: 0, runqSumNs: 0, oncpuNs: 0, nvcsw: 0, nivcsw: 0 });

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

export interface SchedStatsReading {
  stats: Map<string, { key: CgroupKey; stats: SchedStats }>;
  /** when the read began (CLOCK_MONOTONIC ns, bpf_ktime_get_ns's clock): running slices are lent up to here */
  atNs: bigint;
}

/**
 * Reads the whole stats map (one batched read), summing each key's per-CPU slots. A slot whose
 * workload has a task on that CPU (running_since) is lent the slice from then until the read
 * began: the kernel side commits on-CPU time only at switch-out, so a hog that keeps its CPU
 * would otherwise show in bursts. Committed and running time come from the same slot, so a
 * switch during the read moves no whole stint to the next reading (sched.bpf.c, end_running):
 * each slot reads between its total at `atNs` and when it was copied (but for a copy torn by a
 * switch-out within nanoseconds of it, which misses that stint until the next reading).
 * `atNs`: now, taken before the read. `reuse`: the stats of a reading its caller holds no longer
 * (none of its objects): a key it has is given its entry again, overwritten, not a new one.
 */
export function readSchedStats(map: BpfMap, atNs: bigint = process.hrtime.bigint(), reuse?: SchedStatsReading['stats']): SchedStatsReading {
  const stats = new Map<string, { key: CgroupKey; stats: SchedStats }>();
  // per CPU, the slot lent its slice: the latest switch-in before the read began (a task switched
  // in later is not lent; a mark older than the latest can only be stale). Marks are compared as
  // numbers (a few ns off past 2^53 ns of uptime, 104 days: no matter to which is later), and
  // only the one lent is taken as a BigInt: many slots hold a stale mark, each made BigInts.
  const ncpus = map.ncpus;
  const lent: Array<SchedStats | undefined> = new Array(ncpus);
  const lentSince = new Array<number>(ncpus).fill(-1), lentLo = new Array<number>(ncpus).fill(0), lentHi = new Array<number>(ncpus).fill(0);
  const before = Number(atNs);
  const slotWords = map.valueStride / ncpus / 4; // (offsets into the value: no view per CPU and key)
  const tail = RUNQ_SLOTS * 2;
  let words = NO_WORDS, wordsOf: Buffer | null = null;
  map.forEachEntry((keys, keyAt, values, valueAt) => {
    if (values !== wordsOf || words.buffer !== values.buffer) words = wordsOver((wordsOf = values));
    const k = internedCgKey(keys, keyAt);
    const first = valueAt / 4;
    const had = reuse?.get(k.id);
    // Summed over CPUs in locals, then stored once: a sum kept in an object's field or a
    // growing array allocates a number at each add (twice the bytes of the figures themselves).
    const s = had ? had.stats : emptySchedStats();
    const runqSlots = s.runqSlots;
    for (let i = 0; i < RUNQ_SLOTS; i++) {
      let n = 0;
      for (let cpu = 0, at = first + 2 * i; cpu < ncpus; cpu++, at += slotWords) n += words[at]! + words[at + 1]! * 0x1_0000_0000;
      runqSlots[i] = n;
    }
    let runqCount = 0, runqSumNs = 0, oncpuNs = 0, nvcsw = 0, nivcsw = 0;
    for (let cpu = 0, at = first + tail; cpu < ncpus; cpu++, at += slotWords) {
      runqCount += words[at]! + words[at + 1]! * 0x1_0000_0000;
      runqSumNs += words[at + 2]! + words[at + 3]! * 0x1_0000_0000;
      oncpuNs += words[at + 4]! + words[at + 5]! * 0x1_0000_0000;
      nvcsw += words[at + 6]! + words[at + 7]! * 0x1_0000_0000;
      nivcsw += words[at + 8]! + words[at + 9]! * 0x1_0000_0000;
    }
    s.runqCount = runqCount;
    s.runqSumNs = runqSumNs;
    s.oncpuNs = oncpuNs;
    s.nvcsw = nvcsw;
    s.nivcsw = nivcsw;
    for (let cpu = 0, at = first + tail + 10; cpu < ncpus; cpu++, at += slotWords) {
      const lo = words[at]!, hi = words[at + 1]!;
      if (!lo && !hi) continue; // (most slots have no task on their CPU)
      const since = lo + hi * 0x1_0000_0000;
      if (since < before && since > lentSince[cpu]!) {
        lent[cpu] = s;
        lentSince[cpu] = since;
        lentLo[cpu] = lo;
        lentHi[cpu] = hi;
      }
    }
    stats.set(k.id, had ?? { key: k.key, stats: s });
  }, () => {
    stats.clear();
    lent.fill(undefined);
    lentSince.fill(-1);
  });
  for (let cpu = 0; cpu < ncpus; cpu++) {
    const since = (BigInt(lentHi[cpu]!) << 32n) | BigInt(lentLo[cpu]!);
    if (lent[cpu] && since < atNs) lent[cpu]!.oncpuNs += Number(atNs - since);
  }
  return { stats, atNs };
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

/** /proc/<pid>/stat's clock ticks per second (USER_HZ): its start is start_boottime in these. */
const NS_PER_TICK = 10_000_000n;

/** Whether a per-process entry (its start_boottime first, in ns) is of the process that started at `startTicks` (/proc/<pid>/stat's clock ticks): not another that had its pid. */
function sameProcess(v: Buffer, startTicks: number): boolean {
  return v.readBigUInt64LE(0) / NS_PER_TICK === BigInt(startTicks);
}

/** A filesystem's device as stat() gives it (glibc's makedev), from the kernel's dev_t (MKDEV: major << 20 | minor). */
export function userDev(kernelDev: number): bigint {
  const major = BigInt(kernelDev >>> 20);
  const minor = BigInt(kernelDev & 0xfffff);
  return ((major & 0xfffff000n) << 32n) | ((major & 0xfffn) << 8n) | ((minor & 0xffffff00n) << 12n) | (minor & 0xffn);
}

/**
 * A process's cwd when it exec'd, as it saw it from its root then, from a struct hr_exec_cwd;
 * null when that is another process's (its start, in /proc/<pid>/stat's clock ticks, is not
 * `startTicks`: the pid was reused), when its root is not `root` now (its inode and device, as
 * stat gives them: a process that chroots after its exec), or when it was not read whole (too
 * long or too deep, removed, or outside its root).
 */
export function decodeExecCwd(v: Buffer, startTicks: number, root: { ino: bigint; dev: bigint }): string | null {
  if (v.length < EXEC_CWD_SIZE || !sameProcess(v, startTicks)) return null;
  if (v.readBigUInt64LE(8) !== root.ino || userDev(v.readUInt32LE(16)) !== root.dev) return null;
  const len = v.readUInt32LE(20);
  if ((v.readUInt32LE(24) & 1) === 0 || len > EXEC_CWD_NAMES) return null;
  // (the cwd's own name first, then its parents'; each ends in a NUL)
  const names = len === 0 ? [] : v.subarray(32, 32 + len - 1).toString('utf8').split('\0');
  return `/${names.reverse().join('/')}`;
}

/** How a process ended: the signal that killed it, or the status it exited with; and when (clock ticks since boot, as /proc/<pid>/stat's starts). */
export type ProcessEnd = ({ signal: number } | { status: number }) & { endTicks: number; endMs?: number };

/** A process's end from a struct hr_exit; null when that is another process's (its start, in clock ticks, is not `startTicks`). */
export function decodeExit(v: Buffer, startTicks: number): ProcessEnd | null {
  if (v.length < EXIT_SIZE || !sameProcess(v, startTicks)) return null;
  const endTicks = Number(v.readBigUInt64LE(8) / NS_PER_TICK);
  // (and ms since the epoch, where the boot's is known: Date.now() less /proc/uptime, to 10 ms)
  const boot = bootEpochMs();
  const endMs = boot === null ? {} : { endMs: Math.round(boot + Number(v.readBigUInt64LE(8) / 1_000_000n)) };
  const code = v.readInt32LE(16);
  // (wait(2)'s encoding: WIFSIGNALED when the low 7 bits hold a signal)
  return (code & 0x7f) !== 0 ? { signal: code & 0x7f, endTicks, ...endMs } : { status: (code >> 8) & 0xff, endTicks, ...endMs };
}
