// The blockio probe on the real kernel: fio with direct I/O, inside a test cgroup, on a loop
// device over a file this test creates. The loop driver completes each request from its own
// worker (or the interrupt of the disk below), never from fio: the bytes and operations the
// probe charges to (fio's cgroup, the loop device) must still equal fio's own report, and
// nothing on that device may be charged anywhere else. Latency is compared with libbpf-tools
// biolatency watching the same device over the same seconds; the knobs (cgroup filter,
// sampling) are checked against a second cgroup's I/O on the same device.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ExecutionContext } from 'ava';
import { quantileSlot } from '../helpers/histogram.js';
import { hasBtf, isRoot, testIf } from '../helpers/host.js';
import { TestCgroup } from '../helpers/cgroups.js';
import { projectRoot, start, startIn, waitFor, type Running } from '../helpers/proc.js';
import { BlockioSource, type BlockioSourceOptions } from '../../agent/probes/blockio-source.js';
import { devString, emptyBlkStats, type BlkKey, type BlkStats } from '../../agent/probes/blockio.js';
import { detectCgroupLayout } from '../../agent/workloads/layout.js';
import {
  biolatencyPath, createLoopDevice, diskStat, fioArgs, parseBiolatency, parseFio, type FioResult, type LoopDevice,
} from '../helpers/loop.js';

const objectPath = resolve(projectRoot, 'build/bpf/blockio.bpf.o');
const verifierLogPath = resolve(projectRoot, 'build/blockio-test-verifier.log');
const readV1Cpu = detectCgroupLayout().kind === 'hybrid';

const onPath = (cmd: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const missing = [
  ...['fio', 'losetup', 'stdbuf'].filter((c) => !onPath(c)),
  ...(biolatencyPath() ? [] : ['biolatency (libbpf-tools, the peer tool)']),
];

/** Root, BTF, fio and the peer tool; otherwise a skip (a failure under HEADROOM_REQUIRE_ALL=1). */
function blockioTest(title: string, fn: (t: ExecutionContext) => Promise<void>): void {
  const why = !isRoot ? 'root' : !hasBtf ? 'kernel BTF' : missing.join(', ');
  testIf(isRoot && hasBtf && missing.length === 0, why, title, fn);
}

function inCgroup(cg: TestCgroup): (k: BlkKey) => boolean {
  const id = cg.id();
  return (k) => (cg.v2 ? k.cg.cgid === id : k.cg.cpuCgid === id);
}

type Stats = Map<string, { key: BlkKey; stats: BlkStats }>;

/** Sum of (after - before) over the keys that match. */
function delta(after: Stats, before: Stats, match: (k: BlkKey) => boolean): BlkStats {
  const out = emptyBlkStats();
  for (const [id, { key, stats }] of after) {
    if (!match(key)) continue;
    const b = before.get(id)?.stats ?? emptyBlkStats();
    stats.latSlots.forEach((n, i) => (out.latSlots[i] += n - b.latSlots[i]));
    out.latCount += stats.latCount - b.latCount;
    out.latSumNs += stats.latSumNs - b.latSumNs;
    out.readBytes += stats.readBytes - b.readBytes;
    out.writeBytes += stats.writeBytes - b.writeBytes;
    out.readOps += stats.readOps - b.readOps;
    out.writeOps += stats.writeOps - b.writeOps;
  }
  return out;
}

function openProbe(t: ExecutionContext, opts: BlockioSourceOptions): BlockioSource {
  const { obj, source } = BlockioSource.open(objectPath, verifierLogPath, opts);
  t.teardown(() => { source.close(); obj.close(); });
  return source;
}

function withLoop(t: ExecutionContext): LoopDevice {
  const loop = createLoopDevice(128);
  t.teardown(() => loop.remove());
  t.log(`${loop.path} (${loop.majorMinor}) over a 128 MiB file, loop direct I/O ${loop.directIo ? 'on' : 'off (file system cannot)'}`);
  return loop;
}

/** Runs fio in `cg` to the end; meanwhile collects the pids that were in the cgroup. */
async function fioIn(t: ExecutionContext, cg: TestCgroup, args: string[]): Promise<{ fio: FioResult; pids: Set<number> }> {
  const run = startIn(cg, 'fio', args, 40_000);
  t.teardown(() => run.child.kill('SIGKILL'));
  const pids = new Set<number>();
  const poll = setInterval(() => {
    try { cg.pids().forEach((p) => pids.add(p)); } catch { /* removed meanwhile */ }
  }, 50);
  const done = await run.done.finally(() => clearInterval(poll));
  if (done.code !== 0) throw new Error(`fio failed (code ${done.code}): ${done.stderr.slice(-500)}`);
  return { fio: parseFio(done.stdout), pids };
}

/**
 * On this kernel a few completions of the loop device never reach BPF programs: measured up to
 * 7 in 10,000 when the loop driver completes from the disk's interrupt (none with the loop
 * device's direct I/O off). Programs of every attach type (tp_btf, raw_tp, tracepoint) and
 * biolatency's lose the same ones in the same run, no recursion misses are reported, and the
 * tracefs event of the same tracepoint sees them all. So against fio's count (not against
 * biolatency's) the probe may fall short by a few: at most 0.2% + 2, about three times the
 * worst seen, and never above fio's figure.
 */
const MISSED_COMPLETIONS = { fraction: 0.002, absolute: 2 };

function nearBelow(t: ExecutionContext, what: string, ours: number, truth: number): void {
  const slack = MISSED_COMPLETIONS.fraction * truth + MISSED_COMPLETIONS.absolute;
  t.true(ours <= truth && truth - ours <= slack, `${what}: probe ${ours}, truth ${truth} (may fall short by at most ${slack.toFixed(0)})`);
}

blockioTest('blockio: fio in a test cgroup on a loop device, charged to fio not the completing worker; bytes and ops match fio, latency matches biolatency', async (t) => {
  const loop = withLoop(t);
  const cg = new TestCgroup('blockio-fio');
  t.teardown(() => cg.remove());
  // slow-I/O threshold of 1 ns: every I/O is a ring event, so the events can be checked one by one
  const source = openProbe(t, { slowIoMs: 1e-6, readV1Cpu, ringBytes: 4 << 20, keepRecent: 10_000_000 });

  const stdbuf = ['/usr/bin/stdbuf', '/bin/stdbuf'].find((p) => { try { statSync(p); return true; } catch { return false; } }) ?? 'stdbuf';
  const peer: Running = start(stdbuf, ['-oL', biolatencyPath()!, '-d', loop.name], { timeoutMs: 40_000 });
  t.teardown(() => peer.child.kill('SIGKILL'));
  await waitFor(() => peer.stdout().includes('Tracing'), 'biolatency to attach', 20_000);

  const before = source.read();
  const disk0 = diskStat(loop.name);
  // two psync jobs, 60% reads: two submitters at once, every pread/pwrite one 4 KiB request
  const { fio, pids } = await fioIn(t, cg, fioArgs({ filename: loop.path, seconds: 3, numjobs: 2 }));
  const after = source.read();
  const disk1 = diskStat(loop.name);
  peer.child.kill('SIGINT'); // biolatency prints its histogram on SIGINT
  const peerDone = await peer.done;
  t.is(peerDone.code, 0, peerDone.stderr);

  const onLoop = (k: BlkKey): boolean => k.dev === loop.dev;
  const mine = inCgroup(cg);
  const ours = delta(after.stats, before.stats, (k) => onLoop(k) && mine(k));
  const device = delta(after.stats, before.stats, onLoop);
  const merges = { read: disk1.readMerges - disk0.readMerges, write: disk1.writeMerges - disk0.writeMerges };
  t.log(`fio: ${fio.readIos} reads (${fio.readBytes} B), ${fio.writeIos} writes (${fio.writeBytes} B), ${fio.iops.toFixed(0)} IOPS`);
  t.log(`probe, (fio's cgroup, ${loop.name}): ${ours.readOps} reads (${ours.readBytes} B), ${ours.writeOps} writes (${ours.writeBytes} B); kernel merged ${merges.read} reads, ${merges.write} writes`);
  t.true(fio.readIos > 500 && fio.writeIos > 300, 'fio did enough I/O to compare');

  // Each pread/pwrite is one bio that becomes one request (two merged ones become one
  // operation, which the kernel's own merge counters tell), and bytes are bytes: equal but for
  // completions the kernel never shows BPF (MISSED_COMPLETIONS), each a whole 4 KiB request.
  const short = { reads: fio.readIos - merges.read - ours.readOps, writes: fio.writeIos - merges.write - ours.writeOps };
  t.log(`requests never seen completing: ${short.reads} reads, ${short.writes} writes`);
  nearBelow(t, 'read operations', ours.readOps, fio.readIos - merges.read);
  nearBelow(t, 'write operations', ours.writeOps, fio.writeIos - merges.write);
  t.is(fio.readBytes - ours.readBytes, short.reads * 4096, 'read bytes: exact but for whole missed requests');
  t.is(fio.writeBytes - ours.writeBytes, short.writes * 4096, 'write bytes: exact but for whole missed requests');
  t.is(ours.latCount, ours.readOps + ours.writeOps, 'every request timed from its issue');
  // Attribution: the completions ran in the loop worker or an interrupt, yet nothing on this
  // device went to any other workload; the kernel's own per-device count agrees.
  t.is(device.readOps + device.writeOps, ours.readOps + ours.writeOps, 'nothing on the loop device charged elsewhere');
  const kernelIos = disk1.readIos - disk0.readIos + disk1.writeIos - disk0.writeIos;
  nearBelow(t, `the kernel's diskstats for ${loop.name}`, device.readOps + device.writeOps, kernelIos);
  t.is(after.statsDrops, 0);

  // The disk below: where the loop driver's own I/O on the backing file went (informative).
  const below = new Map<string, number>();
  for (const [id, { key, stats }] of after.stats) {
    if (onLoop(key)) continue;
    const b = before.stats.get(id)?.stats;
    const bytes = stats.readBytes + stats.writeBytes - (b ? b.readBytes + b.writeBytes : 0);
    if (bytes > 0) below.set(`${devString(key.dev)} cg ${key.cg.cgid}/${key.cg.cpuCgid}${mine(key) ? ' (fio\'s)' : ''}`, bytes);
  }
  t.log(`other devices meanwhile (bytes by device and workload): ${[...below].map(([k, v]) => `${k}: ${v}`).join('; ') || 'none'}`);

  // Ring events at a 1 ns threshold: one per request, each the submitter's, adding up exactly.
  const events = after.slowIos.filter((e) => e.dev === loop.dev);
  t.is(after.ringDrops, 0, 'no ring drops');
  t.is(events.length, ours.readOps + ours.writeOps, 'one slow-I/O event per request');
  t.is(events.filter((e) => e.op === 'read').length, ours.readOps);
  t.is(events.filter((e) => e.op === 'write').length, ours.writeOps);
  t.true(events.every((e) => mine({ cg: e.key, dev: e.dev })), 'events carry the submitter\'s workload');
  t.true(events.every((e) => e.bytes === 4096), 'each event is one 4 KiB request');
  t.is(events.reduce((n, e) => n + e.latencyNs, 0), ours.latSumNs, 'event latencies add up to the histogram\'s sum');
  const strangers = [...new Set(events.map((e) => e.pid))].filter((p) => !pids.has(p));
  t.deepEqual(strangers, [], `every event's pid is a process that was in the test cgroup (seen: ${[...pids].join(', ')})`);

  // biolatency over the same device: both time each request from block_rq_issue to
  // block_rq_complete, in log2 microsecond slots. Its window holds ours (it attached before our
  // first reading and stops after our last), nothing but fio used the device, and both lose the
  // same completions (MISSED_COMPLETIONS), so the counts should be equal. A request may still land
  // one slot apart: the two tools' programs run one after the other on each tracepoint, so their
  // clock reads differ by up to about a microsecond, and here latencies bunch near the 64 us
  // boundary (0.4% to 1.2% of requests moved one slot in our runs). Tolerances: totals within
  // 0.5%; histograms apart by at most 3% of requests (half the L1 distance of the two normalized
  // histograms); p50/p90/p99 in the same slot or the one next to it (a quantile that sits on a
  // boundary may move with a handful of requests).
  const peerSlots = parseBiolatency(peerDone.stdout);
  const peerTotal = peerSlots.reduce((a, b) => a + b, 0);
  const oursSlots = device.latSlots;
  const oursTotal = oursSlots.reduce((a, b) => a + b, 0);
  const row = (s: number[]): string => s.map((n, i) => (n ? `${2 ** i}us:${n}` : '')).filter(Boolean).join(' ');
  t.log(`headroom  (${oursTotal}): ${row(oursSlots)}`);
  t.log(`biolatency (${peerTotal}): ${row(peerSlots)}`);
  t.true(peerTotal > 0, `biolatency printed a histogram:\n${peerDone.stdout}`);
  t.log(`requests timed: headroom ${oursTotal}, biolatency ${peerTotal} (tolerance 0.5%)`);
  t.true(Math.abs(oursTotal - peerTotal) <= 0.005 * peerTotal, `totals ${oursTotal} vs ${peerTotal}`);
  const distance = oursSlots.reduce((d, n, i) => d + Math.abs(n / oursTotal - peerSlots[i] / peerTotal), 0) / 2;
  t.log(`histogram distance: ${(distance * 100).toFixed(2)}% of requests (tolerance 3%)`);
  t.true(distance <= 0.03, 'histograms close slot by slot');
  for (const q of [0.5, 0.9, 0.99]) {
    const a = quantileSlot(oursSlots, q), b = quantileSlot(peerSlots, q);
    t.log(`p${q * 100}: headroom slot ${a} (${2 ** a} us), biolatency slot ${b} (${2 ** b} us)`);
    t.true(Math.abs(a - b) <= 1, `p${q * 100} slots ${a} vs ${b}`);
  }
});

blockioTest('blockio knobs: the cgroup filter drops other workloads, sampling keeps the totals as estimates', async (t) => {
  const loop = withLoop(t);
  const kept = new TestCgroup('blockio-kept');
  const other = new TestCgroup('blockio-other');
  t.teardown(async () => { await kept.remove(); await other.remove(); });
  const source = openProbe(t, { slowIoMs: 0, readV1Cpu });
  const isKept = inCgroup(kept), isOther = inCgroup(other);
  const onLoop = (k: BlkKey): boolean => k.dev === loop.dev;
  const DD_BLOCKS = 8192; // 4 KiB direct reads by dd in the other cgroup: 8192 requests

  /** fio in `kept` and dd in `other` at the same time, on the same device. */
  const phase = async (): Promise<{ fio: FioResult; kept: BlkStats; other: BlkStats; kernelIos: number }> => {
    const before = source.read().stats;
    const disk0 = diskStat(loop.name);
    const dd = startIn(other, 'dd', [`if=${loop.path}`, 'of=/dev/null', 'bs=4k', `count=${DD_BLOCKS}`, 'iflag=direct', 'status=none'], 40_000);
    t.teardown(() => dd.child.kill('SIGKILL'));
    const [{ fio }, ddDone] = await Promise.all([fioIn(t, kept, fioArgs({ filename: loop.path, seconds: 2 })), dd.done]);
    t.is(ddDone.code, 0, ddDone.stderr);
    const after = source.read();
    const disk1 = diskStat(loop.name);
    t.is(disk1.readMerges - disk0.readMerges + disk1.writeMerges - disk0.writeMerges, 0, 'no merges: requests are fio\'s and dd\'s own');
    return {
      fio,
      kept: delta(after.stats, before, (k) => onLoop(k) && isKept(k)),
      other: delta(after.stats, before, (k) => onLoop(k) && isOther(k)),
      kernelIos: disk1.readIos - disk0.readIos + disk1.writeIos - disk0.writeIos,
    };
  };

  // Filter: only the kept cgroup's id. Its figures stay exact; the other's I/O is not counted
  // at all, though the kernel saw it.
  source.setFilter([kept.filterKey()]);
  source.setKnobs({ sampleShift: 0, filter: true });
  const f = await phase();
  t.log(`filter on: fio ${f.fio.readIos + f.fio.writeIos} ops, probe kept ${f.kept.readOps + f.kept.writeOps}, other ${f.other.readOps + f.other.writeOps}; kernel saw ${f.kernelIos}`);
  nearBelow(t, 'kept reads', f.kept.readOps, f.fio.readIos);
  nearBelow(t, 'kept writes', f.kept.writeOps, f.fio.writeIos);
  t.is(f.kept.readBytes + f.kept.writeBytes, (f.kept.readOps + f.kept.writeOps) * 4096, 'kept bytes: 4 KiB a request');
  t.is(f.other.readOps + f.other.writeOps + f.other.latCount, 0, 'the filtered-out cgroup left no figures');
  t.is(f.kernelIos, f.fio.readIos + f.fio.writeIos + DD_BLOCKS, 'the kernel did see dd\'s requests');

  // Sampling 1 in 4, filter off: each sampled request weighs 4. The count estimate of N requests
  // is 4 x Binomial(N, 1/4), standard deviation sqrt(3N); tolerance 5 of those (a false failure
  // about once in 1.7 million runs).
  source.setKnobs({ sampleShift: 2, filter: false });
  const s = await phase();
  const check = (what: string, est: number, truth: number): void => {
    const tol = 5 * Math.sqrt(3 * truth);
    t.log(`sampled 1/4, ${what}: estimate ${est}, true ${truth}, tolerance +-${tol.toFixed(0)}`);
    t.true(Math.abs(est - truth) <= tol, `${what}: ${est} vs ${truth}`);
    t.is(est % 4, 0, 'every sampled request weighs 4');
  };
  check('fio requests', s.kept.readOps + s.kept.writeOps, s.fio.readIos + s.fio.writeIos);
  check('dd requests', s.other.readOps, DD_BLOCKS);
  t.is(s.kept.readBytes, s.kept.readOps * 4096, 'bytes weighted like the operations');
  t.is(s.kept.latCount, s.kept.readOps + s.kept.writeOps, 'latency counted for the same sampled requests');
});
