// The sched probe on the real kernel: two stress-ng CPU hogs in two test cgroups (v1 cpu
// hierarchy on hybrid hosts: the unified hierarchy does not see them), attributed by the agent,
// and its run-queue histogram compared with libbpf-tools runqlat over the same seconds.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { cpus } from 'node:os';
import { execFileSync, spawn } from 'node:child_process';
import { quantileSlot } from '../helpers/histogram.js';
import type { ExecutionContext } from 'ava';
import { kernelTest } from '../helpers/host.js';
import { TestCgroup } from '../helpers/cgroups.js';
import { headroom, projectRoot, start, startIn, waitFor, sleep } from '../helpers/proc.js';
import { SchedSource, type SchedReading } from '../../agent/probes/sched-source.js';
import { CG_KEY_SIZE, RUNQ_SLOTS } from '../../agent/probes/sched.js';
import { PerfEventSet, PERF_COUNT_SW_PAGE_FAULTS, PERF_TYPE_SOFTWARE, parseCpuList } from '../../agent/kernel/perf.js';
import { detectCgroupLayout } from '../../agent/workloads/layout.js';
import { TaskReader } from '../../agent/workloads/task.js';

interface TopDoc {
  intervalMs: number;
  workloads: Record<string, { id: string; hierarchy: string; cpu: { cores: number }; runq: { count: number; p99Ms: number | null; slotsUs: number[] }; switches: { voluntary: number; involuntary: number } }>;
  health: { eventsRead: number; ringDrops: number };
}

const docs = (stdout: string): TopDoc[] => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as TopDoc);

/**
 * The host's steal time (a VM's CPU taken by its host), in ms, of one CPU or of all together:
 * on the probe's clock, and not in the kernel's own CPU counts (schedstat, cpuacct, utime). A
 * steal tick is 10 ms of one CPU (USER_HZ 100).
 */
function stealMs(cpu?: number): number {
  const name = cpu === undefined ? 'cpu' : `cpu${cpu}`;
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.trim().split(/\s+/)[8]) * 10 : 0;
}

/** What a window's steal (ms, from stealMs) may add to a probe's count: itself and, where any, one of /proc/stat's 10 ms ticks. */
function stolenMs(steal: number): number {
  return steal > 0 ? steal + 10 : 0;
}

/** runqlat's histogram: [lo, hi] usecs -> count. */
function parseRunqlat(text: string): { lo: number; count: number }[] {
  const rows: { lo: number; count: number }[] = [];
  for (const m of text.matchAll(/^\s*(\d+)\s*->\s*(\d+)\s*:\s*(\d+)/gm)) rows.push({ lo: Number(m[1]), count: Number(m[3]) });
  return rows;
}

kernelTest('sched: CPU time and run-queue latency attributed to the right test cgroups; close to runqlat', async (t) => {
  const light = new TestCgroup('sched-light');
  const heavy = new TestCgroup('sched-heavy');
  t.teardown(async () => { await light.remove(); await heavy.remove(); });
  // Equal threads, unequal weights: the heavy group is entitled to 3x the light one's CPU.
  writeFileSync(`${light.dir}/${light.v2 ? 'cpu.weight' : 'cpu.shares'}`, light.v2 ? '50' : '512');
  writeFileSync(`${heavy.dir}/${heavy.v2 ? 'cpu.weight' : 'cpu.shares'}`, heavy.v2 ? '150' : '1536');
  const hogs = [light, heavy].map((cg) => startIn(cg, 'stress-ng', ['--cpu', '2', '--timeout', '30s', '--quiet'], 40_000));
  t.teardown(() => hogs.forEach((h) => h.child.kill('SIGKILL')));
  await waitFor(() => light.pids().length >= 3 && heavy.pids().length >= 3, 'stress-ng workers in both cgroups');
  await sleep(1000);

  // The agent first; once it reports (loaded, baseline taken), runqlat over the next 3 s, so
  // both watch the same steady seconds and neither's start-up falls in the other's window.
  const agent = headroom(['top', '--json', '--interval', '1', '--count', '5', '--state-dir', '/tmp/headroom-test-state'], { timeoutMs: 30_000 });
  await waitFor(() => agent.stdout().includes('\n'), 'the first report', 15_000);
  const runqlat = start('runqlat', ['3', '1'], { timeoutMs: 20_000 });
  const [peer, ours] = await Promise.all([runqlat.done, agent.done]);
  t.is(ours.code, 0, ours.stderr);
  t.is(peer.code, 0, peer.stderr);

  const all = docs(ours.stdout);
  t.is(all.length, 5);
  const last = all[all.length - 1];
  const l = last.workloads[light.path], h = last.workloads[heavy.path];
  t.truthy(l && h, `both test cgroups reported (got ${Object.keys(last.workloads).join(', ')})`);
  t.is(l.hierarchy, light.v2 ? 'v2' : 'v1-cpu');
  // Two CPUs, four hogs: nearly both CPUs go to the hogs, split about 1:3 by weight. (The mean
  // of the last four ticks: in any one second the scheduler may split them unevenly, and
  // runqlat loading its programs, in the second tick, takes a share from them there.)
  const mean = (path: string): number => all.slice(1).reduce((s, d) => s + (d.workloads[path]?.cpu.cores ?? 0), 0) / (all.length - 1);
  const lightCores = mean(light.path), heavyCores = mean(heavy.path);
  const total = lightCores + heavyCores;
  t.log(`light ${lightCores.toFixed(2)} cores, heavy ${heavyCores.toFixed(2)} cores (means of ticks 2-5; the last: ${l.cpu.cores.toFixed(2)}, ${h.cpu.cores.toFixed(2)})`);
  t.true(total > 1.6 && total < 2.05, `hogs used ${total.toFixed(2)} cores of 2`);
  const share = heavyCores / total;
  t.true(share > 0.65 && share < 0.85, `heavy share ${share.toFixed(2)}, expected about 0.75`);
  // Four CPU hogs on two CPUs wait in the run queue and get preempted.
  t.true(l.runq.count > 100 && h.runq.count > 100, 'run-queue waits counted in both');
  t.true(l.switches.involuntary > 50 && h.switches.involuntary > 50, 'involuntary switches counted');
  t.true((l.runq.p99Ms ?? 0) > 1, `light p99 ${l.runq.p99Ms} ms: a hog waits milliseconds for a CPU`);

  // runqlat counts every task on the host: compare with the sum over all workloads, as rates
  // over our last four intervals and its 3 s inside them.
  const sumSlots = (d: TopDoc): number[] => {
    const out = new Array(32).fill(0);
    for (const w of Object.values(d.workloads)) w.runq.slotsUs.forEach((n, i) => (out[i] += n));
    return out;
  };
  const first = sumSlots(all[0]), end = sumSlots(last);
  const oursSlots = end.map((n, i) => n - first[i]);
  const oursSeconds = (all.slice(1).reduce((s, d) => s + d.intervalMs, 0)) / 1000;
  const peerRows = parseRunqlat(peer.stdout);
  t.true(peerRows.length > 3, `runqlat printed a histogram:\n${peer.stdout}`);
  const peerSlots = new Array(32).fill(0);
  for (const r of peerRows) peerSlots[r.lo === 0 ? 0 : Math.round(Math.log2(r.lo))] += r.count;
  const oursRate = oursSlots.reduce((a, b) => a + b, 0) / oursSeconds;
  const peerRate = peerSlots.reduce((a, b) => a + b, 0) / 3;
  t.log(`run-queue waits/s: headroom ${oursRate.toFixed(0)}, runqlat ${peerRate.toFixed(0)}`);
  // Same tracepoints and definition, windows nearly the same, a steady load: within 25%.
  t.true(Math.abs(oursRate - peerRate) / peerRate < 0.25, `rates differ by more than 25%`);
  // (logged, not asserted yet: the largest gap between the two cumulative shares, slot by slot,
  // the sounder comparison once CI logs say how far apart they run; the p99 lies on a bucket's
  // edge here, one bucket apart in 4 of 10 CI runs)
  const cdf = (slots: number[]): number[] => {
    const total = slots.reduce((a, b) => a + b, 0);
    let run = 0;
    return slots.map((n) => (run += n) / total);
  };
  const oursCdf = cdf(oursSlots), peerCdf = cdf(peerSlots);
  const gaps = oursCdf.map((x, i) => Math.abs(x - peerCdf[i]!));
  const widest = gaps.indexOf(Math.max(...gaps));
  t.log(`cumulative shares: widest gap ${(gaps[widest]! * 100).toFixed(1)}% at slot ${widest} (${2 ** widest} us): headroom ${(oursCdf[widest]! * 100).toFixed(1)}%, runqlat ${(peerCdf[widest]! * 100).toFixed(1)}%`);
  for (const q of [0.5, 0.9, 0.99]) {
    const a = quantileSlot(oursSlots, q), b = quantileSlot(peerSlots, q);
    t.log(`p${q * 100}: headroom slot ${a} (${2 ** a} us), runqlat slot ${b} (${2 ** b} us)`);
    // Same log2 buckets: the quantile may move one bucket between two windows, not more.
    t.true(Math.abs(a - b) <= 1, `p${q * 100} buckets ${a} vs ${b}`);
  }
});

/** The sched probe alone, opened, loaded and attached (close both when done). */
function openSched(name: string): ReturnType<typeof SchedSource.open> {
  return SchedSource.open(resolve(projectRoot, 'build/bpf/sched.bpf.o'), `/tmp/headroom-test-state/${name}.verifier.log`, {
    slowWakeupMs: 1000, readV1Cpu: detectCgroupLayout().kind === 'hybrid', ringBytes: 1 << 16,
  });
}

/** A test cgroup's on-CPU time in a reading, ms (its key: cgid on cgroup2, the v1 cpu cgroup's id on hybrid hosts). */
function oncpuMs(r: SchedReading, cg: TestCgroup): number {
  const ino = cg.id();
  let ns = 0;
  for (const { key, stats } of r.stats.values()) if ((cg.v2 ? key.cgid : key.cpuCgid) === ino) ns += stats.oncpuNs;
  return ns / 1e6;
}

// Busy for 3 s from its start, a 50 ms sleep (a switch-out), busy 0.5 s more; then prints its
// own CPU seconds.
const BUSY_SLEEP_BUSY = `
import time
for busy, rest in ((3.0, 0.05), (0.5, 0)):
    t = time.time()
    while time.time() - t < busy:
        pass
    time.sleep(rest)
print(time.process_time(), flush=True)
`;

kernelTest('sched: a hog on its CPU since before the attach is credited its time from the first reading, at its first switch-out', async (t) => {
  const cg = new TestCgroup('sched-preattach');
  t.teardown(() => cg.remove());
  const hog = startIn(cg, '/usr/bin/python3', ['-c', BUSY_SLEEP_BUSY], 30_000);
  await sleep(500); // on its CPU before the probe is
  t.is(hog.child.exitCode, null, 'the hog runs');
  const { obj, source } = openSched('sched-preattach');
  t.teardown(() => { source.close(); obj.close(); });
  // without the runtime program's fill (the next test's): the switch-out path alone
  t.true(obj.detach('hr_sched_runtime'), 'the runtime program was attached');
  // (the stat line after the command's closing parenthesis: utime and stime are its 12th and 13th fields, in 1/100 s)
  const stat = readFileSync(`/proc/${hog.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const r0 = source.read();
  const steal0 = stealMs();
  const cpuAtFirst = (Number(stat[11]) + Number(stat[12])) / 100;
  const done = await hog.done;
  t.is(done.code, 0, done.stderr);
  const r1 = source.read();
  // (the host's steal on any CPU, the hog not pinned: on the probe's clock, not in its own)
  const steal = (stealMs() - steal0) / 1e3;
  const own = Number(done.stdout.trim()) - cpuAtFirst;
  const counted = (oncpuMs(r1, cg) - oncpuMs(r0, cg)) / 1e3;
  t.log(`hog's own CPU from the first reading to its exit: ${own.toFixed(2)} s; counted ${counted.toFixed(2)} s; the host's steal ${steal.toFixed(2)} s`);
  t.true(counted - own <= 0.05 * own + 0.05 + steal && own - counted <= 0.05 * own + 0.05, `counted ${counted.toFixed(2)} s of the hog's ${own.toFixed(2)} s (steal ${steal.toFixed(2)} s)`);
});

/** The last CPU this process may run on (Cpus_allowed_list: a cpuset container's may not start at 0). */
function lastAllowedCpu(): number | null {
  const cpus = parseCpuList(/^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '').filter((c) => Number.isInteger(c));
  return cpus.length >= 2 ? cpus[cpus.length - 1]! : null;
}

/** The CPU to pin busy loops to (lastAllowedCpu); on a host of one CPU, null, the test passed as not judged, saying `why`. */
function cpuToPin(t: ExecutionContext, why: string): number | null {
  const cpu = lastAllowedCpu();
  if (cpu === null) t.pass(`one CPU: ${why}`);
  return cpu;
}

/** `n` busy loops pinned to `cpu` in `cg` (killed after the test). */
function pinnedHogs(t: ExecutionContext, cg: TestCgroup, cpu: number, n: number): ReturnType<typeof startIn>[] {
  const hogs = Array.from({ length: n }, () => startIn(cg, 'taskset', ['-c', String(cpu), '/usr/bin/python3', '-c', 'while True: pass'], 60_000));
  t.teardown(() => hogs.forEach((h) => h.child.kill('SIGKILL')));
  return hogs;
}

/** A busy loop pinned alone to `cpu` in `cg` (killed after the test), and its own time on CPU so
 *  far as the scheduler counts it, ms (it lags by up to a tick). */
async function lonePinnedHog(t: ExecutionContext, cg: TestCgroup, cpu: number): Promise<{ child: ReturnType<typeof startIn>['child']; ownMs: () => number }> {
  const hog = pinnedHogs(t, cg, cpu, 1)[0]!;
  await waitFor(() => cg.pids().length === 1, 'the hog in its cgroup');
  return { child: hog.child, ownMs: () => Number(readFileSync(`/proc/${hog.child.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6 };
}

kernelTest('sched: a hog holding its CPU from before the attach is lent its running slice from the first reading, before its first switch-out', async (t) => {
  const cg = new TestCgroup('sched-fill');
  t.teardown(() => cg.remove());
  const ino = cg.id();
  // (pinned to one CPU: its only one, so while it is not switched out nothing else runs there;
  // on a host of one CPU this process shares it, and part 1 cannot be judged)
  const cpu = lastAllowedCpu();
  const hog = startIn(cg, cpu === null ? '/usr/bin/python3' : 'taskset',
    [...(cpu === null ? [] : ['-c', String(cpu), '/usr/bin/python3']), '-c', 'while True: pass'], 60_000);
  t.teardown(() => { hog.child.kill('SIGKILL'); });
  await sleep(500); // on its CPU before the probe is
  t.is(hog.child.exitCode, null, 'the hog runs');
  const open = (): ReturnType<typeof SchedSource.open> => openSched('sched-fill');
  const mine = (r: SchedReading): { seconds: number; switches: number } => {
    let ns = 0;
    let switches = 0;
    for (const { key, stats } of r.stats.values()) {
      if ((cg.v2 ? key.cgid : key.cpuCgid) !== ino) continue;
      ns += stats.oncpuNs;
      switches += stats.nvcsw + stats.nivcsw;
    }
    return { seconds: ns / 1e9, switches };
  };
  // the hog's own time on CPU, as the scheduler counts it (it lags by up to a tick)
  const own = (): number => Number(readFileSync(`/proc/${hog.child.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e9;

  // 1. Its CPU's on-CPU entry, 15 ms after counting starts (a scheduler tick or more, even at
  // HZ=100), where the hog was not switched out since the attach (so nothing else ran there
  // either): without the runtime program's fill (sched.bpf.c, hr_sched_runtime) nothing has filled it, and the hog's time read 0 until its first switch-out,
  // then all at once. Each try attaches afresh; the hog has held its CPU since before each.
  const tries: string[] = [];
  let judged = false;
  for (let attempt = 0; attempt < 20 && !judged && cpu !== null; attempt++) {
    const { obj, source } = open();
    try {
      const r0 = source.read();
      const o0 = own();
      await sleep(15);
      // (the entry first: no switch by the reading after it, none before it either)
      const entry = obj.map('sched_oncpu').perCpuValues(obj.map('sched_oncpu').lookup(Buffer.alloc(4))!)[cpu]!;
      const filled = { pid: entry.readUInt32LE(8), since: entry.readBigUInt64LE(0) };
      const r1 = source.read();
      const o1 = own();
      const switches = mine(r1).switches;
      const counted = mine(r1).seconds - mine(r0).seconds;
      tries.push(`${switches === 0 ? '' : 'switched '}${(counted * 1e3).toFixed(1)}/${((o1 - o0) * 1e3).toFixed(1)} ms pid ${filled.pid}`);
      if (switches > 0) {
        await sleep(200); // (the last object's freeing runs in kernel workers, there too)
        continue;
      }
      judged = true;
      t.is(filled.pid, hog.child.pid!, `the hog's CPU's entry holds the hog: ${tries.join('; ')}`);
      // (running since before the attach: from when counting started, the first reading's time; or
      // from a later pick of the hog without a switch, where the scheduler restarted its stint and
      // sched_switch does not fire (prev is next): 3.16 ms after it, once in a CI run)
      t.true(filled.since >= r0.atNs && filled.since <= r1.atNs, `from when counting started (${r0.atNs}), or a later pick before the second reading (${r1.atNs}): ${filled.since}`);
      t.true(counted > 0.005, `its running slice lent: ${tries.join('; ')}`);
    } finally {
      source.close();
      obj.close();
    }
  }
  t.log(`tries (counted/own, the entry's pid): ${tries.join('; ')}`);
  if (cpu === null) t.log('one CPU: the filled entry is not judged');
  else t.true(judged, `the hog was switched out within 15 ms of the attach in each of 20 tries: ${tries.join('; ')}`);

  // 2. 15 windows of 100 ms against its own time
  t.is(hog.child.exitCode, null, 'the hog still runs');
  const { obj, source } = open();
  t.teardown(() => { source.close(); obj.close(); });

  // (its own time read on both sides of each reading: the reading lies between the two, so a
  // slow one, the first after the attach most of all, widens that window's tolerance by as much
  // rather than shifting ms between neighbouring windows)
  const bracket = (): { seconds: number; own: number; slack: number; steal: number } => {
    const before = own();
    const seconds = mine(source.read()).seconds;
    const after = own();
    return { seconds, own: (before + after) / 2, slack: (after - before) / 2, steal: stealMs(cpu ?? undefined) };
  };
  let last = bracket();
  const windows: Array<{ counted: number; own: number; slack: number; steal: number }> = []; // (steal in ms, the rest in s)
  for (let i = 0; i < 15; i++) {
    await sleep(100);
    const now = bracket();
    windows.push({ counted: now.seconds - last.seconds, own: now.own - last.own, slack: now.slack + last.slack, steal: now.steal - last.steal });
    last = now;
  }
  const shown = windows.map((w) => `${(w.counted * 1e3).toFixed(0)}/${(w.own * 1e3).toFixed(0)}${w.slack > 0.0005 ? `+-${(w.slack * 1e3).toFixed(1)}` : ''}${w.steal > 0 ? ` (steal ${w.steal})` : ''}`).join(' ');
  t.log(`ms counted/own per 100 ms window: ${shown}`);

  t.true(windows.reduce((a, w) => a + w.own, 0) > 1, `the hog ran: ${shown}`);
  // (the CPU's steal may be counted above its own, the probe's clock running while the host
  // holds the CPU, in the 10 ms ticks /proc/stat counts it in; never below)
  const off = windows.filter((w) => w.counted - w.own > 0.05 * w.own + 0.012 + w.slack + stolenMs(w.steal) / 1e3 || w.own - w.counted > 0.05 * w.own + 0.012 + w.slack).length;
  t.is(off, 0, `ms counted/own per window: ${shown}`);
});

kernelTest('sched: two hogs sharing one CPU, read every 10 ms: no window counts more than its length (a switch during a reading moves no whole stint to the next)', async (t) => {
  const cpu = cpuToPin(t, 'the reader would share the hogs\' CPU');
  if (cpu === null) return;
  const cg = new TestCgroup('sched-share');
  t.teardown(() => cg.remove());
  // two on one CPU: each is switched out every few ms, often while a reading is under way
  const hogs = pinnedHogs(t, cg, cpu, 2);
  const { obj, source } = openSched('sched-share');
  t.teardown(() => { source.close(); obj.close(); });
  const counted = (r: SchedReading): number => oncpuMs(r, cg);
  // their own time on CPU as the scheduler counts it (brought up to date at ticks: for the whole run only)
  const own = (): number => hogs.reduce((a, h) => a + Number(readFileSync(`/proc/${h.child.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6, 0);
  source.read(); // counting starts
  await sleep(1100);
  let prev = source.read();
  const first = { counted: counted(prev), own: own(), steal: stealMs(cpu) };
  // (a window may count up to its end reading's own length past its end: a slot copied after a
  // switch-out holds the stint up to it)
  const windows: Array<{ counted: number; wall: number; readMs: number }> = [];
  for (let i = 0; i < 300; i++) {
    await sleep(10);
    const r = source.read();
    const readMs = Number(process.hrtime.bigint() - r.atNs) / 1e6;
    windows.push({ counted: counted(r) - counted(prev), wall: Number(r.atNs - prev.atNs) / 1e6, readMs });
    prev = r;
  }
  const whole = { counted: counted(prev) - first.counted, own: own() - first.own, steal: stealMs(cpu) - first.steal };
  t.true(hogs.every((h) => h.child.exitCode === null), 'the hogs ran throughout');
  // One CPU's hogs cannot run longer than a window; other tasks there may take some of it. (A
  // stint is a few ms: with the running task read from a second map after the stats, 9 to 14 of
  // 500 such windows read 0.61 then 1.39 of their length, a stint lost then found.)
  const over = windows.filter((w) => w.counted > w.wall * 1.05 + 0.5 + w.readMs);
  t.log(`${windows.length} windows; ${whole.counted.toFixed(0)} ms counted, ${whole.own.toFixed(0)} ms their own; over their length: ${over.length}; their CPU's steal ${whole.steal} ms`);
  // (the CPU's steal may be counted above their own: one CI run's host stole 3.9% of a CPU)
  const gap = whole.counted - whole.own;
  t.true(gap < 0.03 * whole.own + 10 + whole.steal && -gap < 0.03 * whole.own + 10, `${whole.counted.toFixed(0)} ms counted of their ${whole.own.toFixed(0)} ms (steal ${whole.steal} ms)`);
  t.true(whole.own > 2000, `the hogs ran ${whole.own.toFixed(0)} ms`);
  t.deepEqual(over.map((w) => `${w.counted.toFixed(1)}/${w.wall.toFixed(1)}`), [], 'ms counted/length of the windows over their length');
});

kernelTest('sched: a wait in flight when the sampling changes weighs what it was stamped with (not 2^16 for each wait begun unsampled)', async (t) => {
  const cpu = cpuToPin(t, 'the reader would share the hogs\' CPU');
  if (cpu === null) return;
  const cg = new TestCgroup('sched-resample');
  t.teardown(() => cg.remove());
  // eight on one CPU: at any moment seven wait in its run queue
  const hogs = pinnedHogs(t, cg, cpu, 8);
  await waitFor(() => cg.pids().length >= 8, 'the hogs in their cgroup');
  const { obj, source } = openSched('sched-resample');
  t.teardown(() => { source.close(); obj.close(); });
  const waits = (r: SchedReading): { count: number; sumMs: number } => {
    const ino = cg.id();
    let count = 0, sumNs = 0;
    for (const { key, stats } of r.stats.values()) {
      if ((cg.v2 ? key.cgid : key.cpuCgid) !== ino) continue;
      count += stats.runqCount;
      sumNs += stats.runqSumNs;
    }
    return { count, sumMs: sumNs / 1e6 };
  };
  source.setKnobs({ sampleShift: 0, filter: false });
  source.read(); // counting starts
  await sleep(500);
  const before = waits(source.read());
  // Every wait in flight now was stamped at weight 1; from here a wait is stamped 1 time in
  // 65536 (about 70 begin in the 300 ms below: a stamp there is a 1 in 900 chance), at 65536.
  source.setKnobs({ sampleShift: 16, filter: false });
  await sleep(300);
  const after = waits(source.read());
  const count = after.count - before.count, sumMs = after.sumMs - before.sumMs;
  t.log(`waits counted after the switch to 1 in 65536: ${count} (${sumMs.toFixed(1)} ms); before it, ${before.count} (${before.sumMs.toFixed(0)} ms) in 0.5 s`);
  t.true(hogs.every((h) => h.child.exitCode === null), 'the hogs ran throughout');
  t.true(before.count > 50, `all waits were counted before the switch (${before.count})`);
  // The seven waits in flight end within a few slices, at weight 1 each; read at the end's
  // weight (the old way), they counted 7 x 65536. Two stamps after the switch would be 2 x 65536.
  t.true(count >= 1, 'the waits in flight at the switch still count');
  t.true(count < 3 * 65536, `${count} waits counted after the switch: the waits in flight weighed 65536 each`);
});

kernelTest('sched: a hog switched in while a filter kept its workload out is counted once the filter is off, before its next switch', async (t) => {
  const cpu = cpuToPin(t, 'the reader would share the hog\'s CPU');
  if (cpu === null) return;
  const cg = new TestCgroup('sched-unfilter');
  t.teardown(() => cg.remove());
  const { obj, source } = openSched('sched-unfilter');
  t.teardown(() => { source.close(); obj.close(); });
  const filtered = { sampleShift: 0, filter: true };
  source.setFilter([]); // (no workload passes)
  source.setKnobs(filtered);
  source.read(); // counting starts
  const hog = await lonePinnedHog(t, cg, cpu);
  // its switches so far, as the kernel counts them (one thread)
  const switches = (): number => {
    const status = readFileSync(`/proc/${hog.child.pid}/status`, 'utf8');
    return Number(/^voluntary_ctxt_switches:\s*(\d+)/m.exec(status)?.[1]) + Number(/^nonvoluntary_ctxt_switches:\s*(\d+)/m.exec(status)?.[1]);
  };
  // Each try: the filter on until the hog is switched in again (so its CPU's entry says "not
  // counted"), then off, and 30 ms with no switch of the hog. Before, it read 0 until its next
  // switch-in; now from its CPU's next scheduler tick.
  const tries: string[] = [];
  let judged = false;
  for (let attempt = 0; attempt < 30 && !judged; attempt++) {
    // (the first try: it has run under the filter from its start)
    if (attempt > 0) {
      source.setKnobs(filtered);
      const before = switches();
      const deadline = Date.now() + 3000;
      while (switches() === before && Date.now() < deadline) await sleep(5);
      if (switches() === before) continue;
    }
    const s0 = switches();
    source.setKnobs({ sampleShift: 0, filter: false });
    const r0 = source.read();
    const o0 = hog.ownMs();
    await sleep(30);
    const r1 = source.read();
    const o1 = hog.ownMs();
    const counted = oncpuMs(r1, cg) - oncpuMs(r0, cg);
    if (switches() !== s0) {
      tries.push(`switched (${counted.toFixed(1)}/${(o1 - o0).toFixed(1)} ms)`);
      continue;
    }
    judged = true;
    tries.push(`${counted.toFixed(1)} ms counted of its ${(o1 - o0).toFixed(1)} ms`);
    // (from the CPU's next tick after the switch-off: 4-10 ms in; its own time lags by a tick too)
    t.true(counted >= 12, `counted once the filter is off: ${tries.join('; ')}`);
  }
  t.log(tries.join('; '));
  t.true(judged, `a 30 ms window with no switch of the hog: ${tries.join('; ')}`);
});

kernelTest('sched: a hog moved to another cgroup while running is counted there from the move; the cgroup it left reads no CPU', async (t) => {
  const cpu = cpuToPin(t, 'the reader would share the hog\'s CPU');
  if (cpu === null) return;
  const from = new TestCgroup('sched-move-from');
  const to = new TestCgroup('sched-move-to');
  t.teardown(async () => { await from.remove(); await to.remove(); });
  // alone on its CPU: nothing else runs there to switch it out, so the move falls in a stint
  const hog = await lonePinnedHog(t, from, cpu);
  const own = hog.ownMs;
  const { obj, source } = openSched('sched-move');
  t.teardown(() => { source.close(); obj.close(); });
  source.read(); // counting starts
  await sleep(600);
  let last = { r: source.read(), own: own(), steal: stealMs(cpu) };
  let moveMs = 0;
  const windows: Array<{ from: number; to: number; own: number; moved: boolean; steal: number }> = [];
  for (let i = 0; i < 8; i++) {
    // (moved right after the reading that opens the fourth window)
    if (i === 3) {
      writeFileSync(join(to.dir, 'cgroup.procs'), `${hog.child.pid}\n`);
      moveMs = Number(process.hrtime.bigint() - last.r.atNs) / 1e6;
    }
    await sleep(200);
    const now = { r: source.read(), own: own(), steal: stealMs(cpu) };
    windows.push({
      from: oncpuMs(now.r, from) - oncpuMs(last.r, from), to: oncpuMs(now.r, to) - oncpuMs(last.r, to),
      own: now.own - last.own, moved: i >= 3, steal: now.steal - last.steal,
    });
    last = now;
  }
  t.deepEqual(from.pids(), [], 'the hog left');
  t.true(hog.child.exitCode === null, 'the hog ran throughout');
  const shown = windows.map((w) => `${w.from.toFixed(0)}/${w.to.toFixed(0)}/${w.own.toFixed(0)}${w.steal > 0 ? ` (steal ${w.steal})` : ''}`).join(' ');
  t.log(`ms in the cgroup it left / the one it joined / the hog's own, per 200 ms window (moved at the fourth, ${moveMs.toFixed(1)} ms after its opening reading): ${shown}`);
  // (counted over its own by at most the CPU's steal, as above)
  const near = (a: number, b: number, steal: number): boolean => a - b <= 0.05 * b + 12 + stolenMs(steal) && b - a <= 0.05 * b + 12;
  const before = windows.filter((w) => !w.moved), after = windows.filter((w) => w.moved);
  t.true(before.every((w) => near(w.from, w.own, w.steal) && w.to < 2), `before the move: ${shown}`);
  // (before, the whole stint went to the cgroup it left, lent its running slice until the hog's
  // next switch-out: it read 0.6 to 0.9 cores with no task in it.) The move's own window holds
  // the few ms between its opening reading and the move's end (the write may wait tens of ms for
  // an RCU grace period on a busy host: then that long).
  const moved = after[0]!;
  t.true(near(moved.from + moved.to, moved.own, moved.steal) && moved.to > Math.min(0.7 * moved.own, moved.own - moveMs - 12), `the move's window: ${shown} (moved ${moveMs.toFixed(1)} ms after its opening reading)`);
  t.true(after.slice(1).every((w) => w.from < 2 && near(w.to, w.own, w.steal)), `from the move: ${shown}`);
});

// Upstream kernels report every switch; the custom guest kernel this project is built and tested
// on never reports PID 1's threads leaving their CPU (ftrace's own sched_switch agrees). The CPU's
// entry then names a task that is gone, as it does in these tests when they write it so.

// struct hr_sched_stats (bpf/events.h): oncpu_ns and running_since after the histogram and two counts
const ONCPU_NS_AT = RUNQ_SLOTS * 8 + 16, RUNNING_SINCE_AT = RUNQ_SLOTS * 8 + 40;
// struct hr_oncpu: since @0, pid @8, counted @12, key @16, task @32, cset @40
const FORGED_PID = 0x7ffffff0;

/** This process kept off `cpu` until the test ends: what it does there would be switches there. */
function keepOff(t: ExecutionContext, cpu: number): void {
  const allowed = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]!;
  const others = parseCpuList(allowed).filter((c) => c !== cpu);
  const pin = (list: string): void => { execFileSync('taskset', ['-a', '-p', '-c', list, String(process.pid)], { stdio: 'ignore' }); };
  pin(others.join(','));
  t.teardown(() => pin(allowed));
}

/** A workload key of a test cgroup's (on hybrid hosts the cgroup2 root's id, where tasks are, and its v1 cpu cgroup's). */
function keyOf(cg: TestCgroup): Buffer {
  const key = Buffer.alloc(CG_KEY_SIZE);
  key.writeBigUInt64LE(cg.v2 ? cg.id() : 1n, 0);
  key.writeBigUInt64LE(cg.v2 ? 0n : cg.id(), 8);
  return key;
}

/**
 * What hr_sched_switch leaves on `cpu` for a task of `decoy`'s switched in now whose switch-out
 * is never reported: the CPU's entry naming it (no task_struct is at address 1) and the decoy's
 * slot there marked running. `before` runs first, given the switch's time (the displaced task's
 * stint ended). Whole per-CPU values are written back: another CPU's may be a moment stale,
 * another switch not seen there. Returns the switch's time.
 */
function forgeUnseenSwitch(obj: ReturnType<typeof openSched>['obj'], cpu: number, decoy: TestCgroup, before: (since: bigint) => void = () => {}): bigint {
  const oncpu = obj.map('sched_oncpu'), stats = obj.map('sched_stats');
  const zero = Buffer.alloc(4);
  const entries = oncpu.lookup(zero)!;
  const at = cpu * (oncpu.valueStride / oncpu.ncpus);
  const key = keyOf(decoy);
  const slot = Buffer.alloc(stats.valueStride);
  const since = process.hrtime.bigint();
  before(since);
  slot.writeBigUInt64LE(since, cpu * (stats.valueStride / stats.ncpus) + RUNNING_SINCE_AT);
  stats.update(key, slot);
  entries.writeBigUInt64LE(since, at);
  entries.writeUInt32LE(FORGED_PID, at + 8);
  entries.writeUInt32LE(1, at + 12); // counted
  key.copy(entries, at + 16);
  entries.writeBigUInt64LE(1n, at + 32); // task
  entries.writeBigUInt64LE(0n, at + 40); // cset
  oncpu.update(zero, entries);
  return since;
}

kernelTest('sched: a switch the kernel did not report (the CPU\'s entry names another workload\'s task): the running hog is counted from its next tick, the workload named is not lent the CPU', async (t) => {
  const cpu = cpuToPin(t, 'the reader would share the hog\'s CPU');
  if (cpu === null) return;
  const cg = new TestCgroup('sched-unseen');
  const decoy = new TestCgroup('sched-unseen-decoy'); // (no task: only its key)
  t.teardown(async () => { await cg.remove(); await decoy.remove(); });
  const hog = await lonePinnedHog(t, cg, cpu);
  const own = hog.ownMs;
  const { obj, source } = openSched('sched-unseen');
  t.teardown(() => { source.close(); obj.close(); });
  // (written from the hog's CPU, this process's own switch-out there would end the decoy's stint at once)
  keepOff(t, cpu);
  source.read(); // counting starts
  await sleep(300);
  const before = { r: source.read(), own: own(), steal: stealMs(cpu) };

  // the hog displaced on its CPU: its stint so far committed to its slot there, as the reported
  // switch-out would
  const stats = obj.map('sched_stats');
  const statsAt = cpu * (stats.valueStride / stats.ncpus);
  const hogSlot = stats.entries().map(({ key, value }) => ({ key: Buffer.from(key), value: Buffer.from(value) }))
    .find(({ key }) => key.readBigUInt64LE(cg.v2 ? 0 : 8) === cg.id())!;
  let marked = 0n;
  forgeUnseenSwitch(obj, cpu, decoy, (since) => {
    marked = hogSlot.value.readBigUInt64LE(statsAt + RUNNING_SINCE_AT);
    if (marked === 0n || marked >= since) return;
    hogSlot.value.writeBigUInt64LE(hogSlot.value.readBigUInt64LE(statsAt + ONCPU_NS_AT) + since - marked, statsAt + ONCPU_NS_AT);
    hogSlot.value.writeBigUInt64LE(0n, statsAt + RUNNING_SINCE_AT);
    stats.update(hogSlot.key, hogSlot.value);
  });
  t.true(marked > 0n, 'the hog was marked running on its CPU');

  // 30 ms on (a few of the hog's ticks; its CPU switches a few times a second)
  await sleep(30);
  let last = { r: source.read(), own: own(), steal: stealMs(cpu) };
  const soon = { hog: oncpuMs(last.r, cg) - oncpuMs(before.r, cg), decoy: oncpuMs(last.r, decoy), own: last.own - before.own, steal: last.steal - before.steal };
  const windows: Array<{ hog: number; decoy: number; own: number; steal: number }> = [];
  for (let i = 0; i < 6; i++) {
    await sleep(200);
    const now = { r: source.read(), own: own(), steal: stealMs(cpu) };
    windows.push({ hog: oncpuMs(now.r, cg) - oncpuMs(last.r, cg), decoy: oncpuMs(now.r, decoy) - oncpuMs(last.r, decoy), own: now.own - last.own, steal: now.steal - last.steal });
    last = now;
  }
  const decoyAll = oncpuMs(last.r, decoy);
  t.true(hog.child.exitCode === null, 'the hog ran throughout');
  const shown = windows.map((w) => `${w.hog.toFixed(0)}/${w.decoy.toFixed(0)}/${w.own.toFixed(0)}${w.steal > 0 ? ` (steal ${w.steal})` : ''}`).join(' ');
  const soonShown = `${soon.hog.toFixed(1)}/${soon.decoy.toFixed(1)}/${soon.own.toFixed(1)}${soon.steal > 0 ? ` (steal ${soon.steal})` : ''}`;
  // (the hog counted over its own by at most its CPU's steal: stolenMs)
  const near = (counted: number, ownMs: number, tol: number, steal: number): boolean => counted - ownMs <= 0.05 * ownMs + tol + stolenMs(steal) && ownMs - counted <= 0.05 * ownMs + tol;
  t.log(`ms counted for the hog / the decoy / the hog's own: ${soonShown} up to 30 ms after the entry was written; per 200 ms window after: ${shown}; the decoy in all ${decoyAll.toFixed(1)} ms`);
  // (before: the hog's ticks found its CPU's entry naming another task and left it; the hog read
  // nothing until its CPU's next switch, which the lone hog may not see for a second, and the
  // decoy was lent the CPU: 2/31 ms in the first 30, then 0/201 per window, 3 of 3 runs.) The
  // decoy holds at most the few ms until the hog's next tick.
  t.true(soon.decoy < 6 && near(soon.hog, soon.own, 6, soon.steal), `up to 30 ms after: ${soonShown}`);
  t.true(decoyAll < 15, `the decoy counted ${decoyAll.toFixed(1)} ms`);
  t.true(windows.every((w) => near(w.hog, w.own, 12, w.steal) && w.decoy < 15), `per window: ${shown}`);
});

kernelTest('sched: a switch to idle the kernel did not report (an idle CPU\'s entry names a task): the task\'s stint ends when the CPU next enters its idle loop, not at its next switch', async (t) => {
  const cpu = cpuToPin(t, 'this process would share the CPU');
  if (cpu === null) return;
  const decoy = new TestCgroup('sched-unseen-idle'); // (no task: only its key)
  t.teardown(() => decoy.remove());
  const { obj, source } = openSched('sched-unseen-idle');
  t.teardown(() => { source.close(); obj.close(); });
  keepOff(t, cpu);
  source.read(); // counting starts
  const oncpu = obj.map('sched_oncpu');
  const at = cpu * (oncpu.valueStride / oncpu.ncpus);
  const entry = (): { pid: number; since: bigint } => {
    const v = oncpu.lookup(Buffer.alloc(4))!;
    return { pid: v.readUInt32LE(at + 8), since: v.readBigUInt64LE(at) };
  };
  // Written while the CPU idles, then an interrupt there with no task to run: a perf event
  // installed on that CPU and removed (each an IPI to it), after which it enters its idle loop
  // again. Only hr_sched_idle sees that; sched_switch sees nothing until a task wakes there.
  const tries: string[] = [];
  let ended = false, credited = 0, elapsedMs = 0;
  for (let i = 0; i < 20 && !ended; i++) {
    await sleep(50);
    if (entry().pid !== 0) continue; // (a task runs there: not idle)
    const was = oncpuMs(source.read(), decoy);
    const since = forgeUnseenSwitch(obj, cpu, decoy);
    PerfEventSet.open({ type: PERF_TYPE_SOFTWARE, config: PERF_COUNT_SW_PAGE_FAULTS, samplePeriod: 1 }, [cpu]).close();
    const deadline = process.hrtime.bigint() + 3_000_000n;
    let e = entry();
    while (e.pid === FORGED_PID && process.hrtime.bigint() < deadline) e = entry();
    elapsedMs = Number(process.hrtime.bigint() - since) / 1e6;
    credited = oncpuMs(source.read(), decoy) - was;
    tries.push(`${e.pid === FORGED_PID ? 'still named' : e.pid === 0 ? 'idle' : `pid ${e.pid}`} after ${elapsedMs.toFixed(2)} ms, credited ${credited.toFixed(3)} ms`);
    // (a task that woke there first ends the stint by its switch, which stops the lending and
    // credits nothing (when the stint ended is not known there): try again)
    ended = e.pid === 0 && credited > 0;
  }
  t.log(tries.join('; '));
  // (before: the entry named the task until the CPU's next switch, its workload lent the idle
  // CPU meanwhile, then credited nothing)
  t.true(ended, `the entry was set to the idle task at the CPU's next idle entry, the stint credited: ${tries.join('; ')}`);
  // (no more than the time from the write to the look that found the CPU idle)
  t.true(credited <= elapsedMs + 0.5, `the named task credited its stint up to the idle entry: ${credited.toFixed(3)} ms of ${elapsedMs.toFixed(3)}`);
});

/**
 * A workload's on-CPU time as the probe counts it against its cgroup's own CPU accounting (v1
 * cpuacct.usage, v2 cpu.stat usage_usec), in 8 windows of 500 ms: `command` runs in a test
 * cgroup (a shell line; on hybrid hosts also in a cgroup of ours at the same path in the cpuacct
 * hierarchy, where that is mounted apart from cpu). Null where there is no such accounting.
 */
async function againstKernelAccounting(t: ExecutionContext, name: string, command: string, ready: (pids: number) => boolean):
  Promise<{ windows: Array<{ counted: number; kernel: number; stealMs: number }>; whole: { counted: number; kernel: number; stealMs: number }; shown: string } | null> {
  const cg = new TestCgroup(name);
  t.teardown(() => cg.remove());
  const layout = detectCgroupLayout();
  const acctRoot = cg.v2 ? null : layout.cpuacctV1Root ?? null;
  if (!cg.v2 && acctRoot === null) return null;
  const acctDir = cg.v2 ? cg.dir : join(acctRoot!, cg.path);
  const made: string[] = []; // (ours to remove, deepest last)
  t.teardown(async () => {
    await cg.remove();
    for (const dir of [...made].reverse()) {
      for (let i = 0; i < 50 && existsSync(dir); i++) {
        try { rmdirSync(dir); } catch { await sleep(50); }
      }
    }
  });
  for (const dir of [dirname(acctDir), acctDir]) {
    if (existsSync(dir)) continue;
    mkdirSync(dir);
    made.push(dir);
  }
  const usageMs = (): number => cg.v2
    ? Number(/^usage_usec (\d+)/m.exec(readFileSync(`${acctDir}/cpu.stat`, 'utf8'))![1]) / 1e3
    : Number(readFileSync(`${acctDir}/cpuacct.usage`, 'utf8')) / 1e6;
  const joinAcct = acctDir === cg.dir ? '' : `echo $$ > ${acctDir}/cgroup.procs && `;
  const load = startIn(cg, 'sh', ['-c', `${joinAcct}exec ${command}`], 30_000);
  t.teardown(() => load.child.kill('SIGKILL'));
  await waitFor(() => ready(cg.pids().length), `${command} running`);
  const { obj, source } = openSched(name);
  t.teardown(() => { source.close(); obj.close(); });
  const counted = (r: SchedReading): number => oncpuMs(r, cg);
  source.read(); // counting starts
  await sleep(1100);
  const steal0 = stealMs();
  let last = { counted: counted(source.read()), kernel: usageMs(), steal: steal0 };
  const first = last;
  const windows: Array<{ counted: number; kernel: number; stealMs: number }> = [];
  for (let i = 0; i < 8; i++) {
    await sleep(500);
    const now = { counted: counted(source.read()), kernel: usageMs(), steal: stealMs() };
    windows.push({ counted: now.counted - last.counted, kernel: now.kernel - last.kernel, stealMs: now.steal - last.steal });
    last = now;
  }
  const shown = windows.map((w) => `${w.counted.toFixed(0)}/${w.kernel.toFixed(0)}`).join(' ');
  const whole = { counted: last.counted - first.counted, kernel: last.kernel - first.kernel, stealMs: last.steal - first.steal };
  t.log(`ms counted/the kernel's per 500 ms window: ${shown}; in all ${whole.counted.toFixed(0)}/${whole.kernel.toFixed(0)}; steal ${whole.stealMs} ms`);
  return { windows, whole, shown };
}

// (the kernel charges a running task at its ticks, so each end of a window may lag a tick, 10 ms
// at HZ=100, on each CPU; it leaves out IRQ and steal time, which the probe's clock holds)
const TICKS_MS = 2 * cpus().length * 10;

kernelTest('sched: a workload\'s on-CPU time agrees with its cgroup\'s own CPU accounting (v1 cpuacct.usage, v2 cpu.stat usage_usec), window by window', async (t) => {
  // three workers, each busy 60% of every few ms: thousands of switches a second, partly idle CPUs
  const got = await againstKernelAccounting(t, 'sched-acct', 'stress-ng --cpu 3 --cpu-load 60 --timeout 20s --quiet', (n) => n >= 4);
  if (!got) {
    t.pass('no cpuacct hierarchy: nothing to compare with');
    return;
  }
  const { windows, whole, shown } = got;
  t.true(whole.kernel > 2000, `the workers ran ${whole.kernel.toFixed(0)} ms`);
  // (the host's steal while the workers ran is on the probe's clock and not in the kernel's figure:
  // 121 ticks in one CI run, 6822 ms counted of the kernel's 5683)
  t.true(Math.abs(whole.counted - whole.kernel) < 0.03 * whole.kernel + TICKS_MS + whole.stealMs, `in all ${whole.counted.toFixed(0)} ms counted of the kernel's ${whole.kernel.toFixed(0)} (steal ${whole.stealMs} ms)`);
  t.true(windows.every((w) => Math.abs(w.counted - w.kernel) < 0.05 * w.kernel + TICKS_MS + w.stealMs), `ms counted/the kernel's per window: ${shown}`);
});

kernelTest('sched: a thread that execs on its CPU (its pid changes there) is counted whole, against the cgroup\'s own accounting', async (t) => {
  // two loops of: fork, a second thread execs /bin/true, wait. The exec'ing thread takes its
  // leader's pid on its CPU; known by its pid, its switch-out fell back on the scheduler's count
  // of its stint, which the exiting program's autogroup move restarts: 63% of the time was lost.
  const bin = resolve(projectRoot, 'build/thread-exec');
  const got = await againstKernelAccounting(t, 'sched-thread-exec', `sh -c '${bin} 20 /bin/true & ${bin} 20 /bin/true & wait'`, (n) => n >= 3);
  if (!got) {
    t.pass('no cpuacct hierarchy: nothing to compare with');
    return;
  }
  const { whole } = got;
  t.true(whole.kernel > 1000, `the loops ran ${whole.kernel.toFixed(0)} ms`);
  // (the host's steal while the workers ran is on the probe's clock and not in the kernel's figure:
  // 121 ticks in one CI run, 6822 ms counted of the kernel's 5683)
  t.true(Math.abs(whole.counted - whole.kernel) < 0.03 * whole.kernel + TICKS_MS + whole.stealMs, `in all ${whole.counted.toFixed(0)} ms counted of the kernel's ${whole.kernel.toFixed(0)} (steal ${whole.stealMs} ms)`);
});

/** A process's start in /proc/<pid>/stat (field 22, clock ticks since boot). */
function startTicks(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[19]);
}

const readlinkOr = (path: string): string | null => {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
};

/** A process's root now (stat of /proc/<pid>/root): what its cwd at exec is checked against. */
function rootOf(pid: number): { ino: bigint; dev: bigint } {
  const st = statSync(`/proc/${pid}/root`, { bigint: true });
  return { ino: st.ino, dev: st.dev };
}

kernelTest('sched: a process\'s cwd when it exec\'d, as it sees it (a chroot\'s from its root): a task that chdirs at once is signed with the inputs its relative arguments name', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-exec-cwd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'data.bin'), Buffer.alloc(4096));
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub/rules.mk'), Buffer.alloc(15));
  const before = spawn('sleep', ['30'], { cwd: dir, stdio: 'ignore' });
  t.teardown(() => before.kill('SIGKILL'));
  await waitFor(() => readlinkOr(`/proc/${before.pid}/exe`) === '/usr/bin/sleep', 'the sleep exec\'d before the probe');
  const { obj, source } = openSched('sched-exec-cwd');
  t.teardown(() => { source.close(); obj.close(); });
  const atExec = (pid: number): string | null => source.cwdAtExec(pid, startTicks(pid), rootOf(pid));
  const perl = (script: string, args: string[], env: Record<string, string> = {}, cwd = dir): ReturnType<typeof spawn> => {
    const p = spawn('perl', ['-e', script, ...args], { cwd, env: { ...process.env, ...env }, stdio: 'ignore' });
    t.teardown(() => p.kill('SIGKILL'));
    return p;
  };

  // perl chdirs to sub at once, as `make -C sub` does: by the time a task is read (half a second
  // on), its cwd is sub. It names sub from where it started, rules.mk from sub.
  const mover = perl('chdir($ENV{D}) or die; sleep 30', ['data.bin', 'sub', 'rules.mk'], { D: 'sub' });
  await waitFor(() => readlinkOr(`/proc/${mover.pid}/cwd`) === join(dir, 'sub'), 'perl in sub');
  t.is(atExec(mover.pid!), dir);
  t.is(source.cwdAtExec(mover.pid!, startTicks(mover.pid!) + 1, rootOf(mover.pid!)), null, 'another start: another process that had the pid');
  t.is(atExec(before.pid!), null, 'exec\'d before the probe attached: not known');
  t.is(atExec(process.pid), null, 'nor this process');

  const cgroup = join(dir, 'cgroup');
  mkdirSync(cgroup);
  const inputsOf = async (pid: number, withProbe: boolean): Promise<unknown> => {
    writeFileSync(join(cgroup, 'cgroup.procs'), `${pid}\n`);
    const reader = new TaskReader({ envKeys: [], settleMs: 0, ...(withProbe ? { cwdAtExec: (p: number, start: number, root: { ino: bigint; dev: bigint }) => source.cwdAtExec(p, start, root) } : {}) });
    return (await reader.of(cgroup))?.signature.parts.inputs.map((i) => [i.arg, i.name, i.kind]);
  };
  t.deepEqual(await inputsOf(mover.pid!, true), [[2, 'data.bin', 'file'], [3, 'sub', 'dir'], [4, 'rules.mk', 'file']]);
  t.deepEqual(await inputsOf(mover.pid!, false), [[4, 'rules.mk', 'file']], 'from its cwd now only: data.bin and sub are not in sub');

  // a cwd removed since: not whole (a folder made again by that name is another)
  mkdirSync(join(dir, 'gone'));
  const orphan = perl('sleep 30', [], {}, join(dir, 'gone'));
  await waitFor(() => readlinkOr(`/proc/${orphan.pid}/exe`) === '/usr/bin/perl', 'perl in gone');
  t.is(atExec(orphan.pid!), join(dir, 'gone'));
  const deleted = spawn('sh', ['-c', 'rmdir "$PWD" && exec sleep 30'], { cwd: join(dir, 'gone'), stdio: 'ignore' });
  t.teardown(() => deleted.kill('SIGKILL'));
  await waitFor(() => readlinkOr(`/proc/${deleted.pid}/exe`) === '/usr/bin/sleep', 'the sleep in a removed folder');
  t.is(atExec(deleted.pid!), null, 'its cwd removed before its exec');

  // perl chroots itself after its exec (a daemon dropping into its jail): its cwd at exec was
  // from another root, so not taken; the inputs found from its cwd now, within its root
  const jail = join(dir, 'jail');
  mkdirSync(join(jail, 'work'), { recursive: true });
  writeFileSync(join(jail, 'work/in.bin'), Buffer.alloc(1000));
  const selfJailed = perl('chroot($ENV{J}) or die; chdir($ENV{W}) or die; sleep 30', ['in.bin'], { J: jail, W: '/work' });
  await waitFor(() => readlinkOr(`/proc/${selfJailed.pid}/root`) === jail, 'perl in its jail');
  t.is(atExec(selfJailed.pid!), null, 'from the root it had at its exec: not this one');
  t.deepEqual(await inputsOf(selfJailed.pid!, true), [[2, 'in.bin', 'file']]);
  // in a mount namespace of its own, the jail holds the host's binaries (bound there, gone with it)
  const binds = 'for d in usr bin lib lib64; do if [ -L /$d ]; then ln -sfn "$(readlink /$d)" "$J/$d"; elif [ -d /$d ]; then mkdir -p "$J/$d" && mount --bind /$d "$J/$d"; fi; done';
  const jailed = async (then: string, what: string): Promise<number> => {
    const p = spawn('unshare', ['--mount', '--propagation', 'private', 'bash', '-c', `${binds}; ${then}`], { cwd: dir, env: { ...process.env, J: jail }, stdio: ['ignore', 'ignore', 'pipe'] });
    t.teardown(() => p.kill('SIGKILL'));
    let err = '';
    p.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    await waitFor(() => readlinkOr(`/proc/${p.pid}/root`) === jail && readlinkOr(`/proc/${p.pid}/exe`)?.endsWith('sleep') === true, `${what} (${err})`);
    return p.pid!;
  };
  // a chroot and its cwd within it: the path stops at its root; /proc reads the host's path
  const boxed = await jailed('exec chroot "$J" /usr/bin/bash -c \'cd /work && exec /usr/bin/sleep 30\'', 'the chrooted sleep');
  t.is(readlinkOr(`/proc/${boxed}/cwd`), join(jail, 'work'));
  t.is(atExec(boxed), '/work');
  // a chroot without a chdir: its cwd outside its root, not whole
  const outside = await jailed('exec perl -e \'chroot($ENV{J}) or die; exec("/usr/bin/sleep", "30") or die\'', 'the sleep chrooted without a chdir');
  t.is(readlinkOr(`/proc/${outside}/cwd`), dir);
  t.is(atExec(outside), null, 'its cwd outside its root');
});

kernelTest('sched: how a process ended, at its last thread\'s exit: killed by a signal, or its exit status; a thread that ends while it lives says nothing', async (t) => {
  const { obj, source } = openSched('sched-exit');
  t.teardown(() => { source.close(); obj.close(); });
  const ended = async (cmd: string, args: string[], kill?: NodeJS.Signals): Promise<ReturnType<typeof source.endOf>> => {
    const p = spawn(cmd, args, { stdio: 'ignore' });
    t.teardown(() => p.kill('SIGKILL'));
    await waitFor(() => readlinkOr(`/proc/${p.pid}/exe`)?.includes(cmd) === true, `${cmd} running`);
    const start = startTicks(p.pid!);
    if (kill) p.kill(kill);
    await new Promise((r) => p.once('exit', r));
    return source.endOf(p.pid!, start);
  };
  t.like(await ended('sleep', ['30'], 'SIGKILL'), { signal: 9 });
  t.like(await ended('sleep', ['30'], 'SIGTERM'), { signal: 15 });
  t.like(await ended('perl', ['-e', 'sleep 1; exit 3']), { status: 3 });
  t.like(await ended('perl', ['-e', 'sleep 1; exit 0']), { status: 0 });
  // killed while a second thread sleeps: its last thread to exit is seldom its leader, and the
  // end is the process's (its leader's start), not that thread's
  t.like(await ended('python3', ['-c', 'import threading, time; threading.Thread(target=time.sleep, args=(30,)).start(); time.sleep(30)'], 'SIGKILL'), { signal: 9 });
  t.like(await ended('python3', ['-c', 'import threading, time, os; threading.Thread(target=time.sleep, args=(30,)).start(); time.sleep(1); os._exit(5)']), { status: 5 });
  // a thread of a process that lives on ends: not the process's end
  const threaded = spawn('python3', ['-c', 'import threading, time; t = threading.Thread(target=lambda: None); t.start(); t.join(); print("joined", flush=True); time.sleep(30)'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => threaded.kill('SIGKILL'));
  let said = '';
  threaded.stdout.on('data', (c: Buffer) => { said += c.toString(); });
  await waitFor(() => said.includes('joined'), 'the thread joined');
  const start = startTicks(threaded.pid!);
  t.is(source.endOf(threaded.pid!, start), null, 'its thread ended, the process lives');
  threaded.kill('SIGKILL');
  await new Promise((r) => threaded.once('exit', r));
  const killed = source.endOf(threaded.pid!, start);
  t.like(killed, { signal: 9 });
  // its end on /proc/<pid>/stat's clock: after its start, before now
  const uptimeTicks = Math.floor(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 100);
  t.true(killed !== null && killed.endTicks > start && killed.endTicks <= uptimeTicks + 1, `${killed?.endTicks} within ${start}..${uptimeTicks}`);
  t.is(source.endOf(process.pid, startTicks(process.pid)), null, 'alive: not ended');
});
