// Decodes blockio.bpf.c: its per-CPU stats map (per workload and device), its slow-I/O ring
// events and its load-time settings. Layouts follow bpf/events.h field by field.
import type { BpfMap } from '../kernel/index.js';
import type { CgroupKey } from '../workloads/types.js';
import { cgKeyAt, cgKeyIn, internedCgKey, u64 } from './decode.js';

export const LAT_SLOTS = 32; // HR_RUNQ_SLOTS: log2 microseconds, like biolatency
export const BLK_KEY_SIZE = 24; // struct hr_blk_key
export const BLK_STATS_SIZE = (LAT_SLOTS + 6) * 8; // struct hr_blk_stats
export const BLOCKIO_CONFIG_SIZE = 16; // struct hr_blockio_config
export const SLOW_IO_SIZE = 64; // struct hr_slow_io
export const EV_SLOW_IO = 4; // HR_EV_SLOW_IO
export const DROP_RING_FULL = 0, DROP_STATS_FULL = 1; // enum hr_drop_reason

/** enum hr_blk_op */
export const BLK_OPS = ['read', 'write', 'other'] as const;
export type BlkOp = (typeof BLK_OPS)[number];

/** Which workload submitted the I/O, to which device (the kernel's dev_t: major << 20 | minor). */
export interface BlkKey {
  cg: CgroupKey;
  dev: number;
}

/** Cumulative figures of one (workload, device) since the program was loaded, summed over CPUs.
 * Under sampling (sample_shift n) every figure is an estimate: each sampled I/O counts 2^n. */
export interface BlkStats {
  /** latency, issue to completion: slot i counts I/Os of [2^i, 2^(i+1)) us (slot 0 from 0) */
  latSlots: number[];
  latCount: number;
  latSumNs: number;
  readBytes: number;
  writeBytes: number;
  readOps: number;
  writeOps: number;
}

/** One I/O that took at least the slow-I/O threshold. */
export interface SlowIo {
  /** the submitter */
  pid: number;
  /** completion, CLOCK_MONOTONIC (bpf_ktime_get_ns) */
  tsNs: bigint;
  /** the submitter's workload */
  key: CgroupKey;
  latencyNs: number;
  sector: bigint;
  bytes: number;
  dev: number;
  op: BlkOp;
}

export interface BlockioConfig {
  /** ring event for each I/O at or above this; 0 = none */
  slowIoNs: number;
  /** hybrid hosts: also read each task's v1 cpu cgroup */
  readV1Cpu: boolean;
}

export function encodeBlockioConfig(cfg: BlockioConfig): Uint8Array {
  if (!(cfg.slowIoNs >= 0)) throw new RangeError(`slow-I/O threshold must be 0 or more ns (got ${cfg.slowIoNs})`);
  const b = Buffer.alloc(BLOCKIO_CONFIG_SIZE);
  b.writeBigUInt64LE(BigInt(Math.round(cfg.slowIoNs)), 0);
  b.writeUInt32LE(cfg.readV1Cpu ? 1 : 0, 8);
  return b;
}

export const devMajor = (dev: number): number => dev >>> 20;
export const devMinor = (dev: number): number => dev & 0xfffff;
/** The kernel's dev_t from a major and minor (what the probe reports). */
export const makeDev = (major: number, minor: number): number => ((major << 20) | minor) >>> 0;
/** "major:minor", as lsblk and /sys/dev/block name a device. */
export const devString = (dev: number): string => `${devMajor(dev)}:${devMinor(dev)}`;

export function blkKeyString(key: BlkKey): string {
  return `${key.cg.cgid}:${key.cg.cpuCgid}:${devString(key.dev)}`;
}

export function decodeBlkKey(b: Buffer): BlkKey {
  return { cg: cgKeyAt(b), dev: b.readUInt32LE(16) };
}

export function emptyBlkStats(): BlkStats {
  return { latSlots: new Array(LAT_SLOTS).fill(0), latCount: 0, latSumNs: 0, readBytes: 0, writeBytes: 0, readOps: 0, writeOps: 0 };
}

/** Adds one CPU's struct hr_blk_stats (at `at` of `v`) into `s`. */
export function addBlkStats(s: BlkStats, v: Buffer, at = 0): void {
  for (let i = 0; i < LAT_SLOTS; i++) s.latSlots[i] += u64(v, at + i * 8);
  const tail = at + LAT_SLOTS * 8;
  s.latCount += u64(v, tail);
  s.latSumNs += u64(v, tail + 8);
  s.readBytes += u64(v, tail + 16);
  s.writeBytes += u64(v, tail + 24);
  s.readOps += u64(v, tail + 32);
  s.writeOps += u64(v, tail + 40);
}

/** Reads the whole stats map (one batched read), summing each key's per-CPU values. */
export function readBlockioStats(map: BpfMap): Map<string, { key: BlkKey; stats: BlkStats }> {
  const out = new Map<string, { key: BlkKey; stats: BlkStats }>();
  const slot = map.valueStride / map.ncpus;
  map.forEachEntry((keys, keyAt, values, valueAt) => {
    const cg = internedCgKey(keys, keyAt);
    const k: BlkKey = { cg: cg.key, dev: keys.readUInt32LE(keyAt + 16) };
    const s = emptyBlkStats();
    for (let cpu = 0, at = valueAt; cpu < map.ncpus; cpu++, at += slot) addBlkStats(s, values, at);
    out.set(`${cg.id}:${devString(k.dev)}`, { key: k, stats: s }); // (blkKeyString, from the interned id)
  }, () => out.clear());
  return out;
}

/** Decodes a struct hr_slow_io; null for a record of another type or size. */
export function decodeSlowIo(d: DataView, off: number, len: number): SlowIo | null {
  if (len < SLOW_IO_SIZE || d.getUint32(off, true) !== EV_SLOW_IO) return null;
  return {
    pid: d.getUint32(off + 4, true),
    tsNs: d.getBigUint64(off + 8, true),
    key: cgKeyIn(d, off + 16),
    latencyNs: Number(d.getBigUint64(off + 32, true)),
    sector: d.getBigUint64(off + 40, true),
    bytes: d.getUint32(off + 48, true),
    dev: d.getUint32(off + 52, true),
    op: BLK_OPS[d.getUint32(off + 56, true)] ?? 'other',
  };
}
