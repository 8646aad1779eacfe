// The fault probe on the real kernel. Peers: the kernel's own per-process fault counts
// (getrusage, the same mm_account_fault the perf events come from) and, for OOM kills, the
// memory cgroup's own oom_kill counter. Workloads are python3 scripts in test cgroups.
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ExecutionContext } from 'ava';
import { hasBtf, isRoot, testIf } from '../helpers/host.js';
import { TestCgroup, UnifiedTestCgroup } from '../helpers/cgroups.js';
import { MemoryTestCgroup, memoryControllerWhy } from '../helpers/memory-cgroup.js';
import { projectRoot, start, startIn, type Running } from '../helpers/proc.js';
import { FaultSource, type FaultReading } from '../../agent/probes/fault-source.js';
import { emptyFaultStats, type FaultStats } from '../../agent/probes/fault.js';
import { detectCgroupLayout } from '../../agent/workloads/layout.js';
import { readOomKills } from '../../agent/workloads/usage.js';
import type { BpfObject } from '../../agent/kernel/index.js';

const OBJECT = resolve(projectRoot, 'build/bpf/fault.bpf.o');
const hybrid = detectCgroupLayout().kind === 'hybrid';
const PAGE = 4096;
// The distribution's interpreter by its path: a python3 earlier in PATH may be a shim (pyenv
// runs bash and helpers first, thousands of faults the workload's own getrusage never sees).
const PYTHON = '/usr/bin/python3';
const hasPython = existsSync(PYTHON);
const hostLacks = !isRoot ? 'root' : !hasBtf ? 'kernel BTF' : !hasPython ? PYTHON : null;

/** A kernel test that also needs the interpreter, and whatever `alsoLacks` names. */
function faultTest(title: string, fn: (t: ExecutionContext) => Promise<void>, alsoLacks: string | null = null): void {
  testIf(hostLacks === null && alsoLacks === null, hostLacks ?? alsoLacks ?? '', title, fn);
}

/** Opens its own fault object (closed in teardown); `name` keeps verifier logs apart. */
function openSource(t: ExecutionContext, name: string): { obj: BpfObject; source: FaultSource } {
  const opened = FaultSource.open(OBJECT, `/tmp/headroom-test-state/fault-${name}.verifier.log`, { readV1Cpu: hybrid });
  t.teardown(() => { opened.source.close(); opened.obj.close(); });
  return opened;
}

/** The kernfs id a test cgroup's workload is keyed by (v1 cpu cgroup on hybrid hosts, else cgroup2). */
const keyIdOf = (cg: TestCgroup): bigint => BigInt(statSync(cg.dir).ino);

/** The map key of the workload whose id (v1 cpu cgroup on hybrid hosts, cgroup2 otherwise) is `id`. */
function keyOf(r: FaultReading, id: bigint): string | undefined {
  for (const [k, { key }] of r.stats) if ((hybrid ? key.cpuCgid : key.cgid) === id) return k;
  return undefined;
}

/** Stats of the workload whose id is `id` (zeros when it has none). */
function statsOf(r: FaultReading, id: bigint): FaultStats {
  const k = keyOf(r, id);
  return k ? r.stats.get(k)!.stats : emptyFaultStats();
}

/** Workload keys whose figures differ between two readings of one source. */
function changedKeys(before: FaultReading, after: FaultReading): string[] {
  return [...after.stats.entries()]
    .filter(([k, e]) => JSON.stringify(e.stats) !== JSON.stringify(before.stats.get(k)?.stats ?? emptyFaultStats()))
    .map(([k]) => k);
}

const sumMinor = (r: FaultReading): number => [...r.stats.values()].reduce((n, e) => n + e.stats.minor, 0);

/** Waits for a python3 workload and returns the "ru_minflt ru_majflt" line it printed last. */
async function rusageOf(w: Running): Promise<{ minflt: number; majflt: number }> {
  const done = await w.done;
  if (done.code !== 0) throw new Error(`workload failed (${done.code ?? done.signal}): ${done.stderr}`);
  const [minflt, majflt] = done.stdout.trim().split('\n').pop()!.split(' ').map(Number);
  return { minflt, majflt };
}

// Touches one byte in each of `pages` fresh anonymous pages, `rounds` times (a new mapping each
// round), without transparent huge pages (one fault per 2 MiB would defeat the count), then
// prints its own fault counts for its whole life.
const TOUCH_ANON = `
import mmap, resource, sys
pages, rounds = int(sys.argv[1]), int(sys.argv[2])
for _ in range(rounds):
    m = mmap.mmap(-1, pages * 4096)
    m.madvise(mmap.MADV_NOHUGEPAGE)
    for i in range(0, pages * 4096, 4096):
        m[i] = 1
    m.close()
ru = resource.getrusage(resource.RUSAGE_SELF)
print(ru.ru_minflt, ru.ru_majflt, flush=True)
`;

faultTest('fault: N fresh pages give at least N minor faults, as the kernel counts them; sampled and filtered copies agree', async (t) => {
  const cg = new TestCgroup('fault-minor');
  t.teardown(() => cg.remove());
  const id = keyIdOf(cg);
  const full = openSource(t, 'full').source;
  const sampled = openSource(t, 'sampled').source;
  const filtered = openSource(t, 'filtered').source;
  sampled.setKnobs({ sampleShift: 4, filter: false });
  filtered.setKnobs({ sampleShift: 0, filter: true }); // and an empty filter map
  // Each copy counted unfiltered between its attach and its knobs: compare from here on.
  const c0 = filtered.read();

  const pages = 25_600, rounds = 8, n = pages * rounds; // 100 MiB a round
  const ru = await rusageOf(startIn(cg, PYTHON, ['-c', TOUCH_ANON, String(pages), String(rounds)], 30_000));
  const a = full.read(), b = sampled.read(), c = filtered.read();
  const ours = statsOf(a, id).minor, est = statsOf(b, id).minor;
  t.log(`touched ${n} pages; python3's own minflt ${ru.minflt}; headroom minor ${ours}, sampled 1/16 estimate ${est}`);
  t.true(ours >= n, `at least one minor fault per touched page (${ours} < ${n})`);
  // Same kernel accounting (mm_account_fault), two differences: ours adds the faults of the
  // shell that joined the cgroup before it exec'd python3 and of the exit, which its own
  // getrusage cannot see; getrusage adds faults taken for it by get_user_pages (execve copying
  // its arguments), which raise no perf event. Each is tens to about a hundred here; 1000 leaves
  // room without hiding a double count (that would be n more).
  t.true(Math.abs(ours - ru.minflt) <= 1000, `headroom ${ours} vs getrusage ${ru.minflt}`);
  // Fresh anonymous pages need no I/O; the interpreter's own files may have left the page
  // cache (a few major faults, one was seen here), never anything like n.
  t.true(statsOf(a, id).major <= 500, `major faults ${statsOf(a, id).major}: fresh anonymous pages need no I/O`);
  // Sampling 1 in 16 at random: the estimate's standard deviation is sqrt(n * 15), about 0.9%
  // of n here; 5% is more than 5 of them.
  t.true(Math.abs(est - ours) / ours < 0.05, `sampled estimate ${est} vs ${ours}: more than 5% apart`);
  t.deepEqual(changedKeys(c0, c), [], 'filter on with an empty filter map: nothing counted');
  t.is(a.statsDrops + b.statsDrops + c.statsDrops, 0);

  // Now the filter names the test cgroup: the filtered copy counts it exactly as the full one
  // does (same kernel events), and nothing else.
  filtered.setFilter([cg.filterKey()]);
  const before = statsOf(full.read(), id).minor;
  await rusageOf(startIn(cg, PYTHON, ['-c', TOUCH_ANON, '10000', '1'], 30_000));
  const after = statsOf(full.read(), id).minor, f = filtered.read();
  t.log(`filtered on the test cgroup: ${statsOf(f, id).minor} minor faults, full copy ${after - before}; host total seen by the full copy ${sumMinor(full.read())}`);
  t.deepEqual(changedKeys(c, f), [keyOf(f, id)], 'only the filtered workload');
  t.is(statsOf(f, id).minor - statsOf(c, id).minor, after - before);
  t.true(after - before >= 10_000);
});

const inoOf = (dir: string): bigint => statSync(dir, { bigint: true }).ino;

/** Directory steps tried before giving up on twin cgroups (about 20 us each; some 300 needed here). */
const MAX_TWIN_STEPS = 100_000;

/**
 * A cgroup2 test cgroup and a v1 cpu one with the same directory number. Each hierarchy numbers
 * its directories and their interface files from one counter (here a v1 cpu directory takes 14
 * numbers, a cgroup2 one 19), so whichever directory has the lower number is made again until
 * the two meet.
 */
async function twinCgroups(t: ExecutionContext): Promise<{ v1: TestCgroup; v2: UnifiedTestCgroup }> {
  const v1 = new TestCgroup('filter-twin');
  t.teardown(() => v1.remove());
  const v2 = new UnifiedTestCgroup('filter-twin');
  t.teardown(() => v2.remove());
  const again = (dir: string): bigint => {
    rmdirSync(dir);
    mkdirSync(dir);
    return inoOf(dir);
  };
  let a = inoOf(v1.dir), b = inoOf(v2.dir), steps = 0;
  for (; a !== b && steps < MAX_TWIN_STEPS; steps++) {
    if (a < b) a = again(v1.dir);
    else b = again(v2.dir);
  }
  if (a !== b) throw new Error(`no directory number in common after ${steps} tries (v1 cpu at ${a}, cgroup2 at ${b})`);
  t.log(`cgroup2 ${v2.path} and v1 cpu ${v1.path} are both directory ${a} of their hierarchies (${steps} directories made again)`);
  return { v1, v2 };
}

faultTest('fault filter: selecting a v1 cpu cgroup does not let in the cgroup2 cgroup of the same number', async (t) => {
  const { v1: selected, v2: twin } = await twinCgroups(t);
  const other = new TestCgroup('filter-other');
  t.teardown(() => other.remove());
  const filtered = openSource(t, 'twin').source;
  filtered.setKnobs({ sampleShift: 0, filter: true });
  filtered.setFilter([selected.filterKey()]);
  const before = filtered.read();
  // in the v1 cpu cgroup 'other' (its workload) and in the cgroup2 twin: not selected
  const outside = await rusageOf(start('sh', ['-c', `echo $$ > '${other.dir}/cgroup.procs' && echo $$ > '${twin.dir}/cgroup.procs' && exec ${PYTHON} -c '${TOUCH_ANON}' 10000 1`], { timeoutMs: 30_000 }));
  const mid = filtered.read();
  t.log(`outside the filter: ${outside.minflt} minor faults; counted ${statsOf(mid, keyIdOf(other)).minor}`);
  t.deepEqual(changedKeys(before, mid), [], 'a workload outside the filter is not counted, whatever its cgroup2 number');
  await rusageOf(startIn(selected, PYTHON, ['-c', TOUCH_ANON, '10000', '1'], 30_000));
  const after = filtered.read();
  t.deepEqual(changedKeys(mid, after), [keyOf(after, keyIdOf(selected))], 'the selected one is');
  t.true(statsOf(after, keyIdOf(selected)).minor >= 10_000);
}, !hybrid ? 'a hybrid cgroup host (v1 cpu beside cgroup2)' : null);

// Evicts its file from the page cache, maps it, and reads one byte per page. MADV_RANDOM turns
// readahead off: with it on, one major fault here brought in the whole 64 MiB (measured: 1
// major fault, about 440 minor), so the count would say little. Prints its own fault counts.
const READ_EVICTED = `
import mmap, os, resource, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
m = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
m.madvise(mmap.MADV_RANDOM)
s = 0
for i in range(0, len(m), 4096):
    s += m[i]
ru = resource.getrusage(resource.RUSAGE_SELF)
print(ru.ru_minflt, ru.ru_majflt, flush=True)
`;

faultTest('fault: reading a file mapping evicted from the page cache counts major faults', async (t) => {
  const cg = new TestCgroup('fault-major');
  // /var/tmp: on disk (a tmpfs file cannot be evicted: it has no backing store to read back)
  const dir = mkdtempSync('/var/tmp/headroom-test-fault-');
  t.teardown(async () => { await cg.remove(); rmSync(dir, { recursive: true, force: true }); });
  const file = join(dir, 'data');
  const size = 64 << 20, pages = size / PAGE;
  writeFileSync(file, Buffer.alloc(size, 0xa5), { flush: true }); // flushed: fadvise drops clean pages only
  const { source } = openSource(t, 'major');
  const id = keyIdOf(cg);

  const ru = await rusageOf(startIn(cg, PYTHON, ['-c', READ_EVICTED, file], 40_000));
  const s = statsOf(source.read(), id);
  t.log(`${pages} pages read from an evicted mapping; python3's own majflt ${ru.majflt}; headroom major ${s.major}, minor ${s.minor}`);
  t.true(ru.majflt >= pages * 0.95, `the file was not evicted (python3 saw only ${ru.majflt} major faults)`);
  // Nothing else reads this file; the 5% slack is for pages another reader could have brought
  // back into the cache, never seen here (it is every page exactly).
  t.true(s.major >= pages * 0.95, `major faults ${s.major} for ${pages} evicted pages`);
  // Same kernel accounting as getrusage: equal but for the few faults outside python3's view.
  t.true(Math.abs(s.major - ru.majflt) <= 20, `headroom ${s.major} vs getrusage ${ru.majflt}`);
});

const memoryWhy = memoryControllerWhy();
const LIMIT = 64 << 20;

// Reads a file it first evicts (so its page cache is charged to this cgroup), then fills 256 MiB
// byte by byte, four times the limit: reclaim has to take the cache back before the OOM killer
// runs. Only this process is in the cgroup, so only it can be chosen.
const CACHE_THEN_HOG = `
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
while os.read(fd, 1 << 20):
    pass
x = b'x' * (256 << 20)
print('survived', flush=True)
`;

faultTest('fault: a hog over its cgroup memory limit stalls in reclaim, is OOM-killed, and the event names it', async (t) => {
  const cg = new MemoryTestCgroup('fault-oom');
  const dir = mkdtempSync('/var/tmp/headroom-test-fault-');
  t.teardown(async () => { await cg.remove(); rmSync(dir, { recursive: true, force: true }); });
  const file = join(dir, 'cache');
  const cacheBytes = 32 << 20;
  writeFileSync(file, Buffer.alloc(cacheBytes, 0x5a), { flush: true }); // flushed: fadvise drops clean pages only
  cg.setLimit(LIMIT);
  const { source } = openSource(t, 'oom');

  const hog = cg.startIn(PYTHON, ['-c', CACHE_THEN_HOG, file], 30_000);
  const pid = hog.child.pid!;
  const done = await hog.done;
  t.is(done.signal, 'SIGKILL', `the hog was killed (exit ${done.code}, ${done.stdout}${done.stderr})`);
  const r = source.read();
  const ev = r.oomKills.find((e) => e.pid === pid);
  t.log(`OOM events: ${JSON.stringify(r.oomKills, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
  if (!ev) return t.fail(`no OOM event for the hog (pid ${pid})`);
  t.true(ev.comm.startsWith('python3'), `comm ${ev.comm}`);
  if (hybrid) {
    t.is(ev.key.cpuCgid, cg.cpuCgid, 'workload key: the v1 cpu cgroup');
    t.is(ev.memCgid, cg.memCgid, 'the v1 memory cgroup');
  } else {
    t.is(ev.key.cgid, cg.cpuCgid, 'workload key: the cgroup2 directory');
    t.is(ev.memCgid, 0n);
  }
  const limitPages = LIMIT / PAGE;
  t.log(`victim rss ${ev.rssPages} pages (limit ${limitPages}), total_vm ${ev.totalVmPages} pages`);
  // Resident when chosen: about the limit. Below it by what the cgroup holds besides (page
  // tables, interpreter pages charged here); above it by shared file pages charged elsewhere
  // (python3's binary and libraries, about 10 MiB). Half to 1.25x covers both.
  t.true(ev.rssPages >= limitPages * 0.5 && ev.rssPages <= limitPages * 1.25, `rss ${ev.rssPages} pages`);
  t.true(ev.totalVmPages >= ev.rssPages, 'total_vm covers rss');

  const s = statsOf(r, cg.cpuCgid);
  t.log(`hog's workload: oom_kills ${s.oomKills}, reclaim passes ${s.reclaimCount} (${(s.reclaimNs / 1e6).toFixed(2)} ms, ${s.reclaimedPages} pages), minor ${s.minor}`);
  t.is(s.oomKills, 1);
  t.is(cg.oomKills(), 1, "the memory cgroup's own oom_kill counter agrees");
  // what task runs read at a run's start and end to tell a run cut short (readOomKills)
  const workload = { id: `${hybrid ? 'v1-cpu' : 'v2'}:${cg.path}`, path: cg.path, hierarchy: hybrid ? 'v1-cpu' : 'v2', cpuDir: null } as const;
  t.is(readOomKills(detectCgroupLayout(), workload), 1, 'read as the agent reads it');
  // The charge path reclaims (up to 16 passes) before it gives up and calls the OOM killer.
  t.true(s.reclaimCount >= 1 && s.reclaimNs > 0, 'stalled in memcg reclaim first');
  // The hog's own page cache was all it could give back (no swap, anon pages stay): most of
  // it. Half leaves room for cache pages reclaimed before the charge ran short or never read.
  const cachePages = cacheBytes / PAGE;
  t.true(s.reclaimedPages >= cachePages * 0.5 && s.reclaimedPages <= cachePages * 1.25,
    `reclaimed ${s.reclaimedPages} pages, its cache was ${cachePages}`);
  t.true(s.minor >= limitPages * 0.5, 'the hog faulted its pages in');
  t.is(r.ringDrops, 0);
}, memoryWhy);
