// The runtime knobs every probe has (bpf/events.h, struct hr_probe_knobs) and its cgroup filter
// map: written by the overhead governor while the programs run.
import type { BpfMap } from '../kernel/index.js';
import type { Hierarchy } from '../workloads/types.js';

export const KNOBS_SIZE = 8; // struct hr_probe_knobs

export interface ProbeKnobs {
  /** count 1 in 2^n of the probe's hottest event, each weighted 2^n; 0 = every event */
  sampleShift: number;
  /** true: only workloads whose cgroups' keys (`filterKey`) are in the filter map */
  filter: boolean;
}

export const FULL: ProbeKnobs = { sampleShift: 0, filter: false };

export function encodeKnobs(k: ProbeKnobs): Buffer {
  if (!Number.isInteger(k.sampleShift) || k.sampleShift < 0 || k.sampleShift > 16) {
    throw new RangeError(`sample shift must be an integer from 0 to 16 (got ${k.sampleShift})`);
  }
  const b = Buffer.alloc(KNOBS_SIZE);
  b.writeUInt32LE(k.sampleShift, 0);
  b.writeUInt32LE(k.filter ? 1 : 0, 4);
  return b;
}

export function writeKnobs(map: BpfMap, k: ProbeKnobs): void {
  map.update(Buffer.alloc(4), encodeKnobs(k));
}

/** events.h HR_FILTER_V1_CPU: the bit a v1 cpu cgroup's id carries in a filter map. */
const FILTER_V1_CPU = 1n << 63n;

/**
 * A cgroup's key in a probe's filter map: its id (directory inode) in its own hierarchy. The two
 * hierarchies number their directories apart, so on a hybrid host one number can name a
 * cgroup2 directory and a v1 cpu one; keyed by the bare number, selecting one let the other in.
 */
export function filterKey(hierarchy: Hierarchy, id: bigint): bigint {
  return hierarchy === 'v1-cpu' ? id | FILTER_V1_CPU : id;
}

/** Makes the filter map hold exactly these keys (`filterKey`). */
export function writeFilter(map: BpfMap, keys: Iterable<bigint>): void {
  // (a Set compares bigints by value)
  const want = new Set(keys);
  for (const { key } of map.entries()) {
    const id = key.readBigUInt64LE(0);
    if (!want.has(id)) map.delete(key);
    else want.delete(id);
  }
  for (const id of want) {
    const key = Buffer.alloc(8);
    key.writeBigUInt64LE(id);
    map.update(key, Buffer.from([1]));
  }
}
