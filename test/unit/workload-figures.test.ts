// Per-key counters summed per workload: a workload's one key is shared as its sum, a second key
// gets a sum of its own, and nothing the probes read is changed by the summing.
import test from 'ava';
import { addFault, ioByWorkload, sumByWorkload } from '../../agent/workload-figures.js';
import { emptyFaultStats, type FaultStats } from '../../agent/probes/fault.js';
import { emptyBlkStats, type BlkStats } from '../../agent/probes/blockio.js';
import type { Workload } from '../../agent/workloads/types.js';

const workload = (path: string): Workload => ({ id: `v2:${path}`, path, hierarchy: 'v2', cpuDir: null });
const fault = (minor: number): FaultStats => ({ ...emptyFaultStats(), minor });

test('fault counters: one key is its workload\'s sum as is; two keys of one workload are added, their own figures unchanged', (t) => {
  const a = fault(3), b = fault(4), c = fault(10);
  const byKey = new Map<string, string>([['ka', '/a'], ['kb', '/a'], ['kc', '/c']]);
  const sums = sumByWorkload([{ key: 'ka', stats: a }, { key: 'kb', stats: b }, { key: 'kc', stats: c }], (k) => workload(byKey.get(k)!), emptyFaultStats, addFault);
  t.is(sums.get('v2:/a')!.stats.minor, 7);
  t.is(sums.get('v2:/c')!.stats, c, 'one key: shared, no copy');
  t.deepEqual([a.minor, b.minor, c.minor], [3, 4, 10], 'the keys\' own figures are not summed into');
  t.deepEqual([...sums.keys()], ['v2:/a', 'v2:/c']);
});

test('fault counters summed over sums handed back: a workload there again keeps its entry, with this reading\'s figures; one with two keys sums afresh', (t) => {
  const byKey = new Map<string, string>([['ka', '/a'], ['kb', '/a'], ['kc', '/c'], ['kd', '/d']]);
  const resolve = (k: string): Workload => workload(byKey.get(k)!);
  const first = sumByWorkload([{ key: 'ka', stats: fault(1) }, { key: 'kb', stats: fault(2) }, { key: 'kc', stats: fault(3) }], resolve, emptyFaultStats, addFault);
  const entryA = first.get('v2:/a')!, entryC = first.get('v2:/c')!;
  const c = fault(30), d = fault(40), a1 = fault(10), a2 = fault(20);
  const again = sumByWorkload([{ key: 'kc', stats: c }, { key: 'ka', stats: a1 }, { key: 'kb', stats: a2 }, { key: 'kd', stats: d }], resolve, emptyFaultStats, addFault, first);
  t.deepEqual([...again.keys()], ['v2:/c', 'v2:/a', 'v2:/d']);
  t.is(again.get('v2:/c'), entryC, 'the entry taken again');
  t.is(entryC.stats, c, 'holding this reading\'s figures (one key: shared)');
  t.is(again.get('v2:/a'), entryA);
  t.is(entryA.stats.minor, 30, 'two keys: summed afresh, nothing of the last sum kept');
  t.deepEqual([a1.minor, a2.minor], [10, 20], 'the keys\' own figures are not summed into');
  t.is(again.get('v2:/d')!.stats, d);
});

test('block I/O: two keys of one workload on one device are added, per device; the keys\' figures unchanged', (t) => {
  const blk = (readBytes: number): BlkStats => ({ ...emptyBlkStats(), readBytes });
  const x = blk(100), y = blk(50), z = blk(7);
  const io = ioByWorkload([
    { key: { cg: { cgid: 1n, cpuCgid: 0n }, dev: 8 << 20 }, stats: x },
    { key: { cg: { cgid: 1n, cpuCgid: 0n }, dev: (8 << 20) | 16 }, stats: z },
    { key: { cg: { cgid: 2n, cpuCgid: 0n }, dev: 8 << 20 }, stats: y },
  ], () => workload('/a'));
  const devs = io.get('v2:/a')!.stats;
  t.is(devs.get('8:0')!.readBytes, 150);
  t.is(devs.get('8:16')!.readBytes, 7);
  t.deepEqual([x.readBytes, y.readBytes, z.readBytes], [100, 50, 7]);
});
