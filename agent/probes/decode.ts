// Field readers every probe's decoder shares: the workload key (struct hr_cg_key), a task's
// comm, and u64 counters as numbers. Layouts are bpf/events.h's.
import type { CgroupKey } from '../workloads/types.js';

/** struct hr_cg_key at `off` of a map key or value buffer. */
export const cgKeyAt = (b: Buffer, off = 0): CgroupKey => ({ cgid: b.readBigUInt64LE(off), cpuCgid: b.readBigUInt64LE(off + 8) });

/** A workload key as the stats readers hand it out: the key, and its map-key string (keyString). */
export interface KeyAndId {
  key: CgroupKey;
  id: string;
}

/**
 * Keys read lately, by cgid then cpuCgid: the same pair is the same object every tick. Two
 * generations: once the fresh one holds INTERNED_PER_GENERATION keys it becomes the older one,
 * and a key found only there moves back; a key not read for two generations (a removed cgroup's:
 * their ids never come back) is dropped with the older one.
 */
let fresh = new Map<number, Map<number, KeyAndId>>();
let older = new Map<number, Map<number, KeyAndId>>();
let freshCount = 0;
const INTERNED_PER_GENERATION = 1 << 15;

/**
 * struct hr_cg_key at `off`, with its string, made once per distinct pair: a reader of
 * thousands of keys a tick made two BigInts, an object and a string for each, each tick (the
 * agent's largest allocation beside 1000 cgroups). Handed out shared: read only.
 */
export function internedCgKey(b: Buffer, off: number): KeyAndId {
  // (a u64 of 2^53 or more reads as a number that large, rounded: taken as BigInts instead)
  const cgid = u64(b, off), cpuCgid = u64(b, off + 8);
  if (cgid > Number.MAX_SAFE_INTEGER || cpuCgid > Number.MAX_SAFE_INTEGER) {
    const key = cgKeyAt(b, off);
    return { key, id: keyString(key) };
  }
  const had = fresh.get(cgid)?.get(cpuCgid);
  if (had) return had;
  let made = older.get(cgid)?.get(cpuCgid);
  if (!made) {
    const key: CgroupKey = { cgid: BigInt(cgid), cpuCgid: BigInt(cpuCgid) };
    made = { key, id: keyString(key) };
  }
  if (freshCount >= INTERNED_PER_GENERATION) {
    older = fresh;
    fresh = new Map();
    freshCount = 0;
  }
  let byCpu = fresh.get(cgid);
  if (!byCpu) fresh.set(cgid, (byCpu = new Map()));
  byCpu.set(cpuCgid, made);
  freshCount++;
  return made;
}

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

export const NO_WORDS: Uint32Array = new Uint32Array(0);
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * A buffer's bytes as little-endian u32 words, read in place where the host is little-endian and
 * the buffer 4-byte aligned (the map reader's are), else from a copy in that order. A stats
 * reader sums `w[i] + w[i + 1] * 2 ** 32` into locals: u64() per field, each tick, for every
 * key and CPU, allocated a number at each call (half a reader's bytes, and its time).
 */
export function wordsOver(b: Buffer): Uint32Array {
  if (LITTLE_ENDIAN && b.byteOffset % 4 === 0) return new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
  const out = new Uint32Array(b.length >>> 2);
  for (let i = 0; i < out.length; i++) out[i] = b.readUInt32LE(i * 4);
  return out;
}

/**
 * One u64 field of a per-CPU map value summed over its CPUs: the field `at` bytes into the
 * value's first CPU share, each further one `slot` bytes on (a struct of counters reads as one
 * call per field).
 */
export function u64OverCpus(b: Buffer, at: number, slot: number, ncpus: number): number {
  let sum = 0;
  for (let cpu = 0; cpu < ncpus; cpu++, at += slot) sum += u64(b, at);
  return sum;
}

/** The cgroup pair as one map key ("cgid:cpuCgid"). */
export function keyString(key: CgroupKey): string {
  return `${key.cgid}:${key.cpuCgid}`;
}
