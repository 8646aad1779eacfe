// From the probes' cumulative per-key counters to each workload's figures: sum the keys that
// resolve to one workload, then subtract the previous tick's sums for rates. Used by the tick.
import type { FaultStats } from './probes/fault.js';
import { devString, type BlkKey, type BlkStats } from './probes/blockio.js';
import type { TcpStats } from './probes/sock.js';
import { percentileMs, subtractSlots } from './probes/log2.js';
import type { CgroupKey, Workload } from './workloads/types.js';
import type { IoDeviceFigures, IoFigures, MemoryFigures, NetFigures, WorkloadReport } from './report.js';

/**
 * What a cumulative figure gained since the last tick. A small step back is a read race (a
 * per-CPU value read a moment apart): nothing gained. A large one is a reset (the LRU entry was
 * evicted and started again): count from zero.
 */
export const delta = (now: number, before: number | undefined): number =>
  before === undefined ? now : now >= before ? now - before : now >= before / 2 ? 0 : now;

/**
 * Sums per-key values into per-workload ones. A workload with one key (most) has that key's
 * values as its sum, shared, not a copy: read only; a sum of its own is made at a second key.
 * `reuse`: sums nothing holds any more, whose entries are taken again (not their sums).
 */
export function sumByWorkload<K, S>(
  entries: EachOf<{ key: K; stats: S }>,
  resolve: (key: K) => Workload,
  empty: () => S,
  add: (into: S, s: S) => void,
  reuse?: Map<string, { workload: Workload; stats: S }>,
): Map<string, { workload: Workload; stats: S }> {
  const out = new Map<string, { workload: Workload; stats: S }>();
  let own: Set<string> | undefined; // (workloads with a sum of their own)
  entries.forEach(({ key, stats }) => {
    const workload = resolve(key);
    // (a cgroup gone for good: its counters stay in the maps until their LRU needs the room)
    if (workload.departed) return;
    const t = out.get(workload.id);
    if (!t) {
      const e = reuse?.get(workload.id);
      if (e) {
        e.workload = workload;
        e.stats = stats;
      }
      out.set(workload.id, e ?? { workload, stats });
      return;
    }
    if (!own?.has(workload.id)) {
      const first = t.stats;
      t.stats = empty();
      add(t.stats, first);
      (own ??= new Set()).add(workload.id);
    }
    add(t.stats, stats);
  });
  return out;
}

/**
 * What hands its entries to forEach: a Map (its values) or an array. A tick's loops over every
 * workload go by forEach, not for-of: the agent's tick runs once a second and is seldom
 * compiled past V8's middle tier, which made an iterator result (a pair, from a Map) per entry.
 */
export interface EachOf<E> {
  forEach(fn: (e: E) => void): void;
}

export function addFault(into: FaultStats, s: FaultStats): void {
  into.minor += s.minor;
  into.major += s.major;
  into.reclaimCount += s.reclaimCount;
  into.reclaimNs += s.reclaimNs;
  into.reclaimedPages += s.reclaimedPages;
  into.oomKills += s.oomKills;
}

export function addTcp(into: TcpStats, s: TcpStats): void {
  into.txBytes += s.txBytes;
  into.rxBytes += s.rxBytes;
  into.retransmits += s.retransmits;
  into.opened += s.opened;
  into.closed += s.closed;
}

/** Block I/O of one workload: per device ("major:minor"). */
export type IoByDevice = Map<string, BlkStats>;

export function emptyBlk(): BlkStats {
  return { latSlots: new Array(32).fill(0), latCount: 0, latSumNs: 0, readBytes: 0, writeBytes: 0, readOps: 0, writeOps: 0 };
}

export function addBlk(into: BlkStats, s: BlkStats): void {
  for (let i = 0; i < s.latSlots.length; i++) into.latSlots[i] += s.latSlots[i];
  into.latCount += s.latCount;
  into.latSumNs += s.latSumNs;
  into.readBytes += s.readBytes;
  into.writeBytes += s.writeBytes;
  into.readOps += s.readOps;
  into.writeOps += s.writeOps;
}

/** blockio entries are keyed by (workload key, device): group them by workload, then device. */
export function ioByWorkload(
  entries: Iterable<{ key: BlkKey; stats: BlkStats }>,
  resolve: (key: CgroupKey) => Workload,
): Map<string, { workload: Workload; stats: IoByDevice }> {
  return sumByWorkload(
    [...entries].map(({ key, stats }) => ({ key: key.cg, stats: new Map([[devString(key.dev), stats]]) as IoByDevice })),
    resolve,
    () => new Map(),
    (into, s) => {
      for (const [dev, v] of s) {
        let d = into.get(dev);
        if (!d) into.set(dev, (d = emptyBlk()));
        addBlk(d, v);
      }
    },
  );
}

const perSecond = (now: number, before: number | undefined, intervalMs: number): number => (delta(now, before) * 1000) / intervalMs;

export function memoryFigures(now: FaultStats, before: FaultStats | undefined, intervalMs: number): MemoryFigures {
  // (no closure: made for every workload, each tick)
  return {
    minorFaults: now.minor,
    majorFaults: now.major,
    minorPerSecond: perSecond(now.minor, before?.minor, intervalMs),
    majorPerSecond: perSecond(now.major, before?.major, intervalMs),
    reclaimStalls: now.reclaimCount,
    reclaimSeconds: now.reclaimNs / 1e9,
    reclaimedPages: now.reclaimedPages,
    reclaimMsPerSecond: perSecond(now.reclaimNs, before?.reclaimNs, intervalMs) / 1e6,
    oomKills: now.oomKills,
    oomKillsPerSecond: perSecond(now.oomKills, before?.oomKills, intervalMs),
  };
}

function deviceFigures(s: BlkStats, tickSlots: number[]): IoDeviceFigures {
  return {
    readBytes: s.readBytes, writeBytes: s.writeBytes, readOps: s.readOps, writeOps: s.writeOps,
    latency: {
      slots: s.latSlots, count: s.latCount, sumSeconds: s.latSumNs / 1e9,
      p50Ms: percentileMs(tickSlots, 0.5), p99Ms: percentileMs(tickSlots, 0.99),
    },
  };
}

export function ioFigures(now: IoByDevice, before: IoByDevice | undefined, intervalMs: number): IoFigures {
  const all = emptyBlk();
  const allBefore = emptyBlk();
  const devices: Record<string, IoDeviceFigures> = {};
  for (const [dev, s] of now) {
    const b = before?.get(dev);
    addBlk(all, s);
    if (b) addBlk(allBefore, b);
    devices[dev] = deviceFigures(s, subtractSlots(s.latSlots, b?.latSlots));
  }
  const perS = (n: number, b: number): number => (delta(n, before ? b : undefined) * 1000) / intervalMs;
  return {
    ...deviceFigures(all, subtractSlots(all.latSlots, before ? allBefore.latSlots : undefined)),
    readBytesPerSecond: perS(all.readBytes, allBefore.readBytes),
    writeBytesPerSecond: perS(all.writeBytes, allBefore.writeBytes),
    opsPerSecond: perS(all.readOps + all.writeOps, allBefore.readOps + allBefore.writeOps),
    devices,
  };
}

export function netFigures(now: TcpStats, before: TcpStats | undefined, intervalMs: number): NetFigures {
  const perS = (n: number, b: number | undefined): number => (delta(n, b) * 1000) / intervalMs;
  return {
    txBytes: now.txBytes, rxBytes: now.rxBytes, retransmits: now.retransmits, opened: now.opened, closed: now.closed,
    txBytesPerSecond: perS(now.txBytes, before?.txBytes),
    rxBytesPerSecond: perS(now.rxBytes, before?.rxBytes),
    retransmitsPerSecond: perS(now.retransmits, before?.retransmits),
  };
}

/**
 * How busy a workload was in a tick, in cores' worth, for ranking which workloads' demand is
 * forecast beyond the policy's (above ACTIVE_FLOOR): activity of any kind counts. A workload
 * growing its memory faults pages in while it is nearly idle on CPU: 100 new pages a second
 * (0.4 MiB/s) weigh like 1% of a core. At 1,000 a leak of 2 MiB/s (512 pages/s) by a process
 * otherwise asleep ranked under the floor and had no forecast at all.
 */
export function activityOf(r: WorkloadReport): number {
  return (r.cpu.cores ?? 0) + (r.io?.opsPerSecond ?? 0) / 1000 + ((r.net?.txBytesPerSecond ?? 0) + (r.net?.rxBytesPerSecond ?? 0)) / 1e8 +
    (r.memory?.minorPerSecond ?? 0) / 1e4;
}

/** The least activity (activityOf) for a workload the policy does not name to have its demand forecast. */
export const ACTIVE_FLOOR = 0.01;
