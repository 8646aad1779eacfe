// The probes' stats readers over a batched read: three keys in two batches through one reused
// pair of buffers, two CPUs each; every field summed over CPUs, each key under its own id.
import test from 'ava';
import { batchedMapDouble, u64s } from '../helpers/batched-map.js';
import type { BpfMap } from '../../agent/kernel/index.js';
import { CG_KEY_SIZE, RUNQ_SLOTS, SCHED_STATS_SIZE, keyString, readSchedStats } from '../../agent/probes/sched.js';
import { FAULT_STATS_SIZE, readFaultStats } from '../../agent/probes/fault.js';
import { TCP_STATS_SIZE, readSockStats } from '../../agent/probes/sock.js';
import { BLK_KEY_SIZE, BLK_STATS_SIZE, LAT_SLOTS, blkKeyString, makeDev, readBlockioStats } from '../../agent/probes/blockio.js';

const cgKey = (cgid: number, cpuCgid: number): Buffer => u64s(cgid, cpuCgid);
const id = (cgid: number, cpuCgid: number): string => keyString({ cgid: BigInt(cgid), cpuCgid: BigInt(cpuCgid) });
const BIG = 2 ** 40; // (past 32 bits: both words count)

test('fault stats: each field summed over CPUs, for keys of both batches', (t) => {
  const map = batchedMapDouble({
    keySize: CG_KEY_SIZE, valueSize: FAULT_STATS_SIZE, ncpus: 2, batch: 2, entries: [1, 2, 3].map((n) => ({
      key: cgKey(n, 100 + n),
      perCpu: [u64s(n, 2 * n, 3, BIG + n, 5, 0), u64s(10 * n, 0, 1, BIG, 1, 1)],
    })),
  });
  const stats = readFaultStats(map);
  t.deepEqual([...stats.keys()], [id(1, 101), id(2, 102), id(3, 103)]);
  t.deepEqual(stats.get(id(3, 103)), {
    key: { cgid: 3n, cpuCgid: 103n },
    stats: { minor: 33, major: 6, reclaimCount: 4, reclaimNs: 2 * BIG + 3, reclaimedPages: 6, oomKills: 1 },
  });
});

test('TCP stats: each field summed over CPUs, for keys of both batches', (t) => {
  const map = batchedMapDouble({
    keySize: CG_KEY_SIZE, valueSize: TCP_STATS_SIZE, ncpus: 2, batch: 2, entries: [1, 2, 3].map((n) => ({
      key: cgKey(n, 0),
      perCpu: [u64s(BIG * n, n, 0, 1, 0), u64s(7, 8, 9, 10, 11)],
    })),
  });
  const stats = readSockStats(map);
  t.is(stats.size, 3);
  t.deepEqual(stats.get(id(3, 0))!.stats, { txBytes: 3 * BIG + 7, rxBytes: 11, retransmits: 9, opened: 11, closed: 11 });
  t.deepEqual(stats.get(id(1, 0))!.stats, { txBytes: BIG + 7, rxBytes: 9, retransmits: 9, opened: 11, closed: 11 });
});

test('block I/O stats: latency slots and counters summed over CPUs, keyed by workload and device, for keys of both batches', (t) => {
  const slots = (v: number): number[] => Array.from({ length: LAT_SLOTS }, (_, i) => (i === 3 ? v : i === 31 ? BIG : 0));
  const key = (n: number): Buffer => Buffer.concat([cgKey(n, 7), u64s(makeDev(8, n))]).subarray(0, BLK_KEY_SIZE);
  const map = batchedMapDouble({
    keySize: BLK_KEY_SIZE, valueSize: BLK_STATS_SIZE, ncpus: 2, batch: 2, entries: [1, 2, 3].map((n) => ({
      key: key(n),
      perCpu: [u64s(...slots(n), 1, 2, 3, 4, 5, 6), u64s(...slots(1), 10, 20, 30, 40, 50, 60)],
    })),
  });
  const stats = readBlockioStats(map);
  const third = stats.get(blkKeyString({ cg: { cgid: 3n, cpuCgid: 7n }, dev: makeDev(8, 3) }));
  t.truthy(third, [...stats.keys()].join(' '));
  t.is(third!.stats.latSlots[3], 4);
  t.is(third!.stats.latSlots[31], 2 * BIG);
  t.deepEqual([third!.stats.latCount, third!.stats.latSumNs, third!.stats.readBytes, third!.stats.writeBytes, third!.stats.readOps, third!.stats.writeOps], [11, 22, 33, 44, 55, 66]);
  t.is(stats.size, 3);
});

test('sched stats: run-queue slots and counters summed over CPUs, for keys of both batches; a running mark on a later batch is lent', (t) => {
  const atNs = 10n ** 15n;
  const slots = (v: number): number[] => Array.from({ length: RUNQ_SLOTS }, (_, i) => (i === 5 ? v : i === 30 ? BIG : 0));
  // struct hr_sched_stats: the slots, then count, sum, oncpu, nvcsw, nivcsw, running_since
  const value = (n: number, since: bigint): Buffer => u64s(...slots(n), n, BIG * n, 1000 * n, 3, 4, since);
  const map = batchedMapDouble({
    keySize: CG_KEY_SIZE, valueSize: SCHED_STATS_SIZE, ncpus: 2, batch: 2, entries: [1, 2, 3].map((n) => ({
      key: cgKey(n, 0),
      // cpu 1: the third key's task on it since 2 ms before the read
      perCpu: [value(n, 0n), value(n, n === 3 ? atNs - 2_000_000n : 0n)],
    })),
  });
  const { stats } = readSchedStats(map, atNs);
  t.is(stats.size, 3);
  const third = stats.get(id(3, 0))!.stats;
  t.is(third.runqSlots[5], 6);
  t.is(third.runqSlots[30], 2 * BIG);
  t.deepEqual([third.runqCount, third.runqSumNs, third.nvcsw, third.nivcsw], [6, 6 * BIG, 6, 8]);
  t.is(third.oncpuNs, 6000 + 2_000_000, 'committed on both CPUs, lent 2 ms on cpu 1');
  t.is(stats.get(id(2, 0))!.stats.oncpuNs, 4000);
});

test('sched and fault stats read over a reading handed back: the keys read again keep their objects, overwritten; a new key has its own; a key gone is not in the new reading', (t) => {
  const atNs = 10n ** 15n;
  const schedValue = (n: number, since: bigint): Buffer => u64s(...Array.from({ length: RUNQ_SLOTS }, (_, i) => (i === 2 ? n : 0)), n, n, 1000 * n, n, n, since);
  const schedMap = (ns: number[], mul: number, runningKey = -1): BpfMap => batchedMapDouble({
    keySize: CG_KEY_SIZE, valueSize: SCHED_STATS_SIZE, ncpus: 2, batch: 2, entries: ns.map((n) => ({
      key: cgKey(n, 0), perCpu: [schedValue(n * mul, 0n), schedValue(n * mul, n === runningKey ? atNs - 1000n : 0n)],
    })),
  });
  const first = readSchedStats(schedMap([1, 2, 3], 1), atNs);
  const kept = first.stats.get(id(2, 0))!;
  const slots = kept.stats.runqSlots;
  const second = readSchedStats(schedMap([2, 3, 4], 10, 2), atNs, first.stats);
  t.deepEqual([...second.stats.keys()], [id(2, 0), id(3, 0), id(4, 0)]);
  t.is(second.stats.get(id(2, 0)), kept, 'the entry taken again');
  t.is(kept.stats.runqSlots, slots, 'its slots array overwritten in place');
  t.deepEqual([slots[2], kept.stats.runqCount, kept.stats.oncpuNs, kept.stats.nivcsw], [40, 40, 40_000 + 1000, 40], 'new figures, and lent its running slice');
  t.is(second.stats.get(id(4, 0))!.stats.runqSlots[2], 80);
  const fresh = second.stats.get(id(4, 0))!.stats.runqSlots;
  t.false([...second.stats.values()].some((e) => e.stats !== second.stats.get(id(4, 0))!.stats && e.stats.runqSlots === fresh), 'a new key has arrays of its own');
  t.is(first.stats.get(id(1, 0))!.stats.runqSlots[2], 2, 'a key not read again keeps its figures (its entry is not in the new reading)');

  // a batch refused mid-read: the read starts over, every figure set (not added) again, lent once
  const third = readSchedStats(batchedMapDouble({
    keySize: CG_KEY_SIZE, valueSize: SCHED_STATS_SIZE, ncpus: 2, batch: 2, restartAfter: 3, entries: [2, 3, 4].map((n) => ({
      key: cgKey(n, 0), perCpu: [schedValue(n * 10, 0n), schedValue(n * 10, n === 2 ? atNs - 1000n : 0n)],
    })),
  }), atNs, second.stats);
  t.deepEqual([...third.stats.keys()], [id(2, 0), id(3, 0), id(4, 0)]);
  t.is(third.stats.get(id(2, 0)), kept);
  t.deepEqual([slots[2], kept.stats.runqCount, kept.stats.oncpuNs], [40, 40, 40_000 + 1000]);

  const faultMap = (ns: number[], mul: number): BpfMap => batchedMapDouble({
    keySize: CG_KEY_SIZE, valueSize: FAULT_STATS_SIZE, ncpus: 2, batch: 2, entries: ns.map((n) => ({
      key: cgKey(n, 5), perCpu: [u64s(n * mul, n, 0, 0, 0, 0), u64s(n * mul, 0, 0, 0, 0, 1)],
    })),
  });
  const faults = readFaultStats(faultMap([1, 2], 1));
  const entry = faults.get(id(1, 5))!;
  const again = readFaultStats(faultMap([1, 3], 100), faults);
  t.deepEqual([...again.keys()], [id(1, 5), id(3, 5)]);
  t.is(again.get(id(1, 5)), entry);
  t.deepEqual(entry.stats, { minor: 200, major: 1, reclaimCount: 0, reclaimNs: 0, reclaimedPages: 0, oomKills: 1 });
  t.deepEqual(again.get(id(3, 5))!.stats, { minor: 600, major: 3, reclaimCount: 0, reclaimNs: 0, reclaimedPages: 0, oomKills: 1 });
});
