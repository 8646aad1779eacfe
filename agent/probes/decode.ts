// Field readers every probe's decoder shares: the workload key (struct hr_cg_key), a task's
// comm, and u64 counters as numbers. Layouts are bpf/events.h's.
import type { CgroupKey } from '../workloads/types.js';

/** struct hr_cg_key at `off` of a map key or value buffer. */
export const cgKeyAt = (b: Buffer, off = 0): CgroupKey => ({ cgid: b.readBigUInt64LE(off), cpuCgid: b.readBigUInt64LE(off + 8) });

/** struct hr_cg_key at `off` of a ring record. */
export const cgKeyIn = (d: DataView, off: number): CgroupKey => ({ cgid: d.getBigUint64(off, true), cpuCgid: d.getBigUint64(off + 8, true) });

/** A NUL-terminated char[16] (HR_COMM_LEN) of a ring record. */
export function commIn(d: DataView, off: number): string {
  let comm = '';
  for (let i = 0; i < 16; i++) {
    const c = d.getUint8(off + i);
    if (!c) break;
    comm += String.fromCharCode(c);
  }
  return comm;
}

/** A little-endian u64 as a number, without a BigInt (exact below 2^53: counters and ns). */
export const u64 = (b: Buffer, off: number): number => b.readUInt32LE(off) + b.readUInt32LE(off + 4) * 0x1_0000_0000;

/** The cgroup pair as one map key ("cgid:cpuCgid"). */
export function keyString(key: CgroupKey): string {
  return `${key.cgid}:${key.cpuCgid}`;
}
