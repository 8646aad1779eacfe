// agent/workloads: container ids from paths, the layout from mount tables, the index on a fake
// tree (any user), then on real cgroups under headroom-test (kernelTest: root).
import test, { type ExecutionContext } from 'ava';
import { rng } from '../helpers/rng.js';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseContainerInfo, type ContainerInfo } from '../../agent/workloads/container.js';
import { WorkloadIndex } from '../../agent/workloads/index.js';
import { sumByWorkload } from '../../agent/workload-figures.js';
import { detectCgroupLayout, layoutFromMounts, type CgroupLayout } from '../../agent/workloads/layout.js';
import type { Workload } from '../../agent/workloads/types.js';
import { cgroupPopulated } from '../../agent/workloads/liveness.js';
import { coresFromCpuMax, CpuRates, cpusetCores, fileLruBytes, LimitCache, memoryLeftByHost, readCgroupCpu, readFileCacheBytes, readHostMemoryAvailable, readUsage } from '../../agent/workloads/usage.js';
import { cpuLeftByHost, RecentWaits, waitedToRun, type TickWaits } from '../../agent/workloads/cpu-left.js';
import { TestCgroup, UnifiedTestCgroup } from '../helpers/cgroups.js';
import { kernelTest } from '../helpers/host.js';
import { start, waitFor } from '../helpers/proc.js';

const ino = (dir: string): bigint => statSync(dir, { bigint: true }).ino;

// ---- parseContainerInfo ----

const C = 'a3f1c0de'.repeat(8); // 64 hex
const UID = '6f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';
const UID_ = UID.replaceAll('-', '_');

const shapes: [string, ContainerInfo][] = [
  [`/docker/${C}`, { runtime: 'docker', containerId: C }],
  [`/system.slice/docker-${C}.scope`, { runtime: 'docker', containerId: C }],
  [`/system.slice/containerd.service/cri-containerd-${C}.scope`, { runtime: 'containerd', containerId: C }],
  [`/machine.slice/crio-${C}.scope`, { runtime: 'cri-o', containerId: C }],
  [`/machine.slice/libpod-${C}.scope`, { runtime: 'podman', containerId: C }],
  [`/machine.slice/libpod-${C}.scope/container`, { runtime: 'podman', containerId: C }],
  [`/kubepods/burstable/pod${UID}/${C}`, { runtime: 'kubepods', podUid: UID, containerId: C }],
  [`/kubepods/pod${UID}/${C}`, { runtime: 'kubepods', podUid: UID, containerId: C }],
  [`/kubepods/besteffort/pod${UID}`, { runtime: 'kubepods', podUid: UID }],
  [
    `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${C}.scope`,
    { runtime: 'containerd', podUid: UID, containerId: C },
  ],
  [`/kubepods.slice/kubepods-pod${UID_}.slice/crio-${C}.scope`, { runtime: 'cri-o', podUid: UID, containerId: C }],
  // conmon is cri-o's monitor beside the container: the pod, not the container
  [
    `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-conmon-${C}.scope`,
    { runtime: 'cri-o', podUid: UID },
  ],
  [`/kubepods.slice/kubepods-burstable.slice`, { runtime: 'kubepods' }],
  [`/system.slice/sshd.service`, { runtime: 'systemd' }],
  [`/user.slice/user-1000.slice/session-3.scope`, { runtime: 'systemd' }],
  [`/system.slice`, { runtime: 'systemd' }],
  // docker in docker: the inner container
  [`/docker/${C}/docker/${'b'.repeat(64)}`, { runtime: 'docker', containerId: 'b'.repeat(64) }],
  // negatives
  ['/', {}],
  ['/headroom-test/batch', {}],
  ['/docker', {}],
  ['/docker/not-a-container-id', {}],
  [`/${C}`, {}],
  [`/batch/pod${UID}/${C}`, {}], // "pod<uid>" outside kubepods is just a name
  [`/system.slice/docker-xyz.scope`, { runtime: 'systemd' }], // not an id: a plain scope
];

for (const [path, want] of shapes) {
  test(`parseContainerInfo ${path.replaceAll(C, '<C>').replaceAll(UID, '<uid>').replaceAll(UID_, '<uid_>')}`, (t) => {
    t.deepEqual(parseContainerInfo(path), want);
  });
}

// ---- layoutFromMounts ----

const HYBRID = `\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

test('layout: hybrid with cpu mounted alone', (t) => {
  t.deepEqual(layoutFromMounts(HYBRID), {
    kind: 'hybrid', unifiedRoot: '/sys/fs/cgroup/unified', cpuV1Root: '/sys/fs/cgroup/cpu', memoryV1Root: '/sys/fs/cgroup/memory',
    cpusetV1Root: '/sys/fs/cgroup/cpuset', cpuacctV1Root: '/sys/fs/cgroup/cpuacct',
  });
});

test('layout: hybrid with cpu,cpuacct co-mounted (systemd symlinks beside it)', (t) => {
  const text = `\
25 24 0:22 / /sys/fs/cgroup/unified rw,nosuid shared:5 - cgroup2 cgroup2 rw,nsdelegate
28 24 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct
29 24 0:26 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid shared:10 - cgroup cgroup rw,net_cls,net_prio
`;
  t.deepEqual(layoutFromMounts(text), {
    kind: 'hybrid', unifiedRoot: '/sys/fs/cgroup/unified', cpuV1Root: '/sys/fs/cgroup/cpu,cpuacct', memoryV1Root: null, cpusetV1Root: null,
    cpuacctV1Root: '/sys/fs/cgroup/cpu,cpuacct',
  });
});

test('layout: pure v2; a bind mount of a subtree is not preferred', (t) => {
  const text = `\
30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
90 88 0:26 /system.slice/x.service /run/x/cgroup rw - cgroup2 cgroup2 rw
`;
  t.deepEqual(layoutFromMounts(text), { kind: 'v2', unifiedRoot: '/sys/fs/cgroup', cpuV1Root: null, memoryV1Root: null, cpusetV1Root: null, cpuacctV1Root: null });
});

test('layout: v1 only, from /proc/mounts, escaped path', (t) => {
  const text = `\
tmpfs /cg tmpfs rw 0 0
cgroup /cg/cpu\\040and\\040acct cgroup rw,relatime,cpuacct,cpu 0 0
cgroup /cg/memory cgroup rw,relatime,memory 0 0
`;
  t.deepEqual(layoutFromMounts(text, { fsRoot: '/cg', format: 'mounts' }), {
    kind: 'v1', unifiedRoot: null, cpuV1Root: '/cg/cpu and acct', memoryV1Root: '/cg/memory', cpusetV1Root: null, cpuacctV1Root: '/cg/cpu and acct',
  });
});

test('layout: no cgroup filesystem is a clear error', (t) => {
  const err = t.throws(() => layoutFromMounts('22 1 0:5 / /proc rw - proc proc rw\n'));
  t.regex(err!.message, /no cgroup filesystem is mounted/);
});

// ---- WorkloadIndex on a fake tree: plain directories have inodes too ----

/** A scratch directory removed after the test, and a writer of files below it (parents made). */
function fakeTree(t: ExecutionContext, name = 'workloads'): { root: string; put: (rel: string, text: string) => void } {
  const root = mkdtempSync(join(tmpdir(), `headroom-${name}-`));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  return {
    root,
    put: (rel, text) => {
      mkdirSync(join(root, dirname(rel)), { recursive: true });
      writeFileSync(join(root, rel), text);
    },
  };
}


test('index on a fake v2 tree: paths, cpuDir where cpu.max exists, container info, unknown ids', (t) => {
  const { root } = fakeTree(t);
  const svc = join(root, 'system.slice', `docker-${C}.scope`);
  mkdirSync(svc, { recursive: true });
  writeFileSync(join(svc, 'cpu.max'), 'max 100000\n');
  const index = new WorkloadIndex({ kind: 'v2', unifiedRoot: root, cpuV1Root: null }, { lazyRefreshMs: 60_000 });
  index.refresh();

  const w = index.resolve({ cgid: ino(svc), cpuCgid: 0n });
  t.like(w, { id: `v2:/system.slice/docker-${C}.scope`, hierarchy: 'v2', cpuDir: svc, runtime: 'docker', containerId: C });
  t.like(index.resolve({ cgid: ino(root), cpuCgid: 0n }), { path: '/', cpuDir: null });
  t.like(index.findByPath('v2', '/system.slice'), { path: '/system.slice', cpuDir: null, runtime: 'systemd' });
  t.is(index.findByPath('v1-cpu', '/system.slice'), undefined);
  t.deepEqual(index.list().map((x) => x.path).sort(), ['/', '/system.slice', `/system.slice/docker-${C}.scope`]);
  t.deepEqual(index.resolve({ cgid: 999_999_999n, cpuCgid: 0n }), {
    id: 'v2:?999999999', path: '?999999999', hierarchy: 'v2', cpuDir: null,
  });
});

test('index on a fake hybrid tree: a v1 cpu cgroup names the workload, the v1 root does not', (t) => {
  const uni = fakeTree(t).root;
  const cpu = fakeTree(t).root;
  mkdirSync(join(uni, 'system.slice', 'a.service'), { recursive: true });
  mkdirSync(join(cpu, 'docker', C), { recursive: true });
  const index = new WorkloadIndex({ kind: 'hybrid', unifiedRoot: uni, cpuV1Root: cpu });
  index.refresh();
  const v2Ino = ino(join(uni, 'system.slice', 'a.service'));

  t.like(index.resolve({ cgid: v2Ino, cpuCgid: ino(join(cpu, 'docker', C)) }), {
    id: `v1-cpu:/docker/${C}`, cpuDir: join(cpu, 'docker', C), runtime: 'docker', containerId: C,
  });
  t.like(index.resolve({ cgid: v2Ino, cpuCgid: ino(cpu) }), { id: 'v2:/system.slice/a.service', cpuDir: null });
  t.like(index.resolve({ cgid: v2Ino, cpuCgid: 0n }), { id: 'v2:/system.slice/a.service' });
});

test('index: the ids of the cgroups a selector keeps, in both hierarchies, new ones after a walk', (t) => {
  const uni = fakeTree(t).root;
  const cpu = fakeTree(t).root;
  mkdirSync(join(uni, 'web', 'a'), { recursive: true });
  mkdirSync(join(cpu, 'web', 'b'), { recursive: true });
  mkdirSync(join(cpu, 'batch'), { recursive: true });
  const index = new WorkloadIndex({ kind: 'hybrid', unifiedRoot: uni, cpuV1Root: cpu });
  index.refresh();
  const web = (path: string): boolean => path.startsWith('/web/');
  // each id with its hierarchy: the two number their directories apart
  t.deepEqual(index.idsOf(web), [{ hierarchy: 'v2', id: ino(join(uni, 'web', 'a')), workload: 'v2:/web/a' }, { hierarchy: 'v1-cpu', id: ino(join(cpu, 'web', 'b')), workload: 'v1-cpu:/web/b' }]);
  const before = index.generation;
  // a cgroup made after the walk is known after the next one
  mkdirSync(join(cpu, 'web', 'c'));
  t.is(index.idsOf(web).length, 2);
  index.refresh();
  t.is(index.generation, before + 1);
  t.true(index.idsOf(web).some((c) => c.hierarchy === 'v1-cpu' && c.id === ino(join(cpu, 'web', 'c'))));
  t.deepEqual(index.idsOf(() => false), []);
});

test('index: a workload is kept across walks while its directory is there; one made again after it went is named afresh', (t) => {
  const { root } = fakeTree(t);
  mkdirSync(join(root, 'a'));
  mkdirSync(join(root, 'b'));
  const index = new WorkloadIndex({ kind: 'v2', unifiedRoot: root, cpuV1Root: null }, { lazyRefreshMs: 60_000, goneKeepMs: 0 });
  index.refresh();
  const a = index.resolve({ cgid: ino(join(root, 'a')), cpuCgid: 0n });
  const b = index.findByPath('v2', '/b')!;
  rmSync(join(root, 'b'), { recursive: true });
  index.refresh();
  t.is(index.resolve({ cgid: ino(join(root, 'a')), cpuCgid: 0n }), a, 'the same object, not one built at each walk');
  t.is(index.findByPath('v2', '/b'), undefined);
  mkdirSync(join(root, 'b'));
  index.refresh();
  const again = index.findByPath('v2', '/b')!;
  t.not(again, b, 'dropped when its directory went');
  t.deepEqual(again, b);
});

test('index: a cgroup gone longer than its name is kept, or one no walk found for as long, is a departed id: not a `?<id>` workload for good', async (t) => {
  const { root } = fakeTree(t);
  mkdirSync(join(root, 'job'));
  const index = new WorkloadIndex({ kind: 'v2', unifiedRoot: root, cpuV1Root: null }, { lazyRefreshMs: 0, goneKeepMs: 50 });
  index.refresh();
  const job = { cgid: ino(join(root, 'job')), cpuCgid: 0n };
  t.like(index.resolve(job), { path: '/job' });
  rmSync(join(root, 'job'), { recursive: true });
  index.refresh();
  t.like(index.resolve(job), { path: '/job' }, 'its name kept a while, for the events still to come about it');
  t.false(index.resolve(job).departed === true);
  // an id no walk ever found (a cgroup made and removed between two walks)
  const never = { cgid: 987_654_321n, cpuCgid: 0n };
  t.like(index.resolve(never), { path: '?987654321' });
  t.false(index.resolve(never).departed === true, 'first: perhaps a cgroup newer than the walk');
  await new Promise((r) => setTimeout(r, 80));
  index.refresh();
  t.like(index.resolve(job), { path: `?${job.cgid}`, departed: true });
  // (walked for again once UNRESOLVABLE_KEEP_MS has passed; here, the first walk after goneKeepMs)
  const fresh = new WorkloadIndex({ kind: 'v2', unifiedRoot: root, cpuV1Root: null }, { lazyRefreshMs: 0, goneKeepMs: 0 });
  t.like(fresh.resolve(never), { path: '?987654321', departed: true }, 'not found by a walk for goneKeepMs: gone for good');
  // (the agent says once that such ids are left out: counted here; a removed cgroup is not one)
  t.is(fresh.neverFound, 1);
  t.is(index.neverFound, 0, 'a cgroup a walk found, then removed, is gone, not never found');
  // their counters are no workload's
  const sums = sumByWorkload([{ key: job, stats: 1 }, { key: { cgid: ino(root), cpuCgid: 0n }, stats: 2 }], (k) => index.resolve(k), () => 0, () => {});
  t.deepEqual([...sums.values()].map((e) => e.workload.path), ['/']);
});

test('index: a kept workload\'s CPU directory follows its cpu.max at each walk (the controller turned on, or off, under it)', (t) => {
  const { root } = fakeTree(t);
  const dir = join(root, 'svc');
  mkdirSync(dir);
  const index = new WorkloadIndex({ kind: 'v2', unifiedRoot: root, cpuV1Root: null }, { lazyRefreshMs: 60_000 });
  index.refresh();
  const id = { cgid: ino(dir), cpuCgid: 0n };
  t.is(index.resolve(id).cpuDir, null);
  writeFileSync(join(dir, 'cpu.max'), 'max 100000\n');
  index.refresh();
  t.is(index.resolve(id).cpuDir, dir);
  t.is(index.findByPath('v2', '/svc')!.cpuDir, dir);
  rmSync(join(dir, 'cpu.max'));
  index.refresh();
  t.is(index.resolve(id).cpuDir, null);
});

// ---- real cgroups (root) ----

function testCgroup(t: ExecutionContext, name: string): TestCgroup {
  const cg = new TestCgroup(name);
  t.teardown(() => cg.remove());
  return cg;
}

/** The workload the index finds for a test cgroup (made by `testCgroup`). */
function workloadOf(layout: CgroupLayout, cg: TestCgroup): Workload {
  const index = new WorkloadIndex(layout);
  index.refresh();
  const w = index.findByPath(cg.v2 ? 'v2' : 'v1-cpu', cg.path);
  if (!w) throw new Error(`no workload for ${cg.path}`);
  return w;
}

/** The key the kernel would report for a task in `cg`, a TestCgroup in the cpu-controller tree. */
function keyOf(index: WorkloadIndex, cg: TestCgroup): { cgid: bigint; cpuCgid: bigint } {
  return cg.v2 ? { cgid: ino(cg.dir), cpuCgid: 0n } : { cgid: ino(index.layout.unifiedRoot!), cpuCgid: ino(cg.dir) };
}

kernelTest('detectCgroupLayout matches this host', (t) => {
  const layout = detectCgroupLayout();
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    t.deepEqual(layout, { kind: 'v2', unifiedRoot: '/sys/fs/cgroup', cpuV1Root: null, memoryV1Root: null, cpusetV1Root: null, cpuacctV1Root: null });
  } else {
    t.is(layout.kind, 'hybrid');
    t.is(layout.unifiedRoot, '/sys/fs/cgroup/unified');
    t.true(existsSync(join(layout.cpuV1Root!, 'cpu.shares')));
  }
});

kernelTest('a test cgroup in the cpu tree resolves to its path after refresh', (t) => {
  const index = new WorkloadIndex();
  const cg = testCgroup(t, 'wl-known');
  index.refresh();
  const w = index.resolve(keyOf(index, cg));
  t.like(w, { path: cg.path, hierarchy: cg.v2 ? 'v2' : 'v1-cpu', cpuDir: cg.dir });
  t.is(w.id, `${w.hierarchy}:${cg.path}`);
  t.is(index.findByPath(w.hierarchy, cg.path), w);
});

kernelTest('a cgroup created after the first refresh resolves lazily, rate-limited', async (t) => {
  const eager = new WorkloadIndex(undefined, { lazyRefreshMs: 0 });
  const lazy = new WorkloadIndex(undefined, { lazyRefreshMs: 60_000 });
  eager.refresh();
  lazy.refresh();
  const cg = testCgroup(t, 'wl-late');
  t.is(eager.resolve(keyOf(eager, cg)).path, cg.path);
  // within the rate limit no walk happens: unknown, then known after an explicit refresh
  const key = keyOf(lazy, cg);
  t.is(lazy.resolve(key).path, `?${cg.v2 ? key.cgid : key.cpuCgid}`);
  lazy.refresh();
  t.is(lazy.resolve(key).path, cg.path);
});

kernelTest('a new cgroup a tick after another is named at first sight (one walk a tick at most); an id no walk finds starts no walk again', async (t) => {
  // (a walkthrough: at a limit of one walk a second, a task that slept after its first tick in a
  // cgroup made a tick after another was never seen to start, and a busy one's first CPU was
  // counted in one tick: 1.96 cores for one thread)
  const index = new WorkloadIndex();
  index.refresh();
  await new Promise((r) => setTimeout(r, 300)); // a tick on
  const first = testCgroup(t, 'wl-tick-1');
  t.is(index.resolve(keyOf(index, first)).path, first.path);
  await new Promise((r) => setTimeout(r, 300)); // the next tick
  const second = testCgroup(t, 'wl-tick-2');
  t.is(index.resolve(keyOf(index, second)).path, second.path);
  // an id that names nothing (removed before any walk saw it): one walk, then none for it
  const gone = first.v2 ? { cgid: 987_654_321n, cpuCgid: 0n } : { cgid: keyOf(index, first).cgid, cpuCgid: 987_654_321n };
  await new Promise((r) => setTimeout(r, 300));
  const walks = index.generation;
  t.regex(index.resolve(gone).path, /^\?/);
  t.is(index.generation, walks + 1);
  await new Promise((r) => setTimeout(r, 300));
  index.resolve(gone);
  t.is(index.generation, walks + 1, 'not walked for again');
});

kernelTest('a removed cgroup leaves the list at refresh, but a late event about it still names it', async (t) => {
  const index = new WorkloadIndex(undefined, { lazyRefreshMs: 60_000 });
  const cg = testCgroup(t, 'wl-gone');
  index.refresh();
  const key = keyOf(index, cg);
  const hierarchy = cg.v2 ? 'v2' : 'v1-cpu';
  t.truthy(index.findByPath(hierarchy, cg.path));
  await cg.remove();
  index.refresh();
  t.is(index.findByPath(hierarchy, cg.path), undefined);
  t.false(index.list().some((w) => w.path === cg.path));
  // an OOM kill or a closed connection read after the cgroup went: still attributed
  t.is(index.resolve(key).path, cg.path);
});

kernelTest('cpuCgid of the v1 cpu root falls back to the cgroup2 path', async (t) => {
  const index = new WorkloadIndex();
  const cg = new UnifiedTestCgroup('wl-unified');
  t.teardown(() => cg.remove());
  index.refresh();
  const cpuRoot = index.layout.cpuV1Root;
  const w = index.resolve({ cgid: ino(cg.dir), cpuCgid: cpuRoot ? ino(cpuRoot) : 0n });
  t.like(w, { id: `v2:${cg.path}`, hierarchy: 'v2' });
  // hybrid: cgroup2 has no cpu controller here, so nowhere to write a quota
  if (index.layout.kind === 'hybrid') t.is(w.cpuDir, null);
  t.is(index.resolve({ cgid: ino(cg.dir), cpuCgid: 0n }).id, `v2:${cg.path}`);
});

test('usage: cpu.max parses to cores, "max" to no limit', (t) => {
  t.is(coresFromCpuMax('50000 100000'), 0.5);
  t.is(coresFromCpuMax('max 100000'), null);
  t.is(coresFromCpuMax(null), null);
});

test('usage: on a fake v2 tree, a parent\'s limits bind, are kept up to 10 s, and its usage is read each time', (t) => {
  const { root, put } = fakeTree(t, 'limits');
  put('pod/cpu.max', '50000 100000');
  put('pod/memory.max', '1000');
  put('pod/memory.current', '600');
  put('pod/app/cpu.max', 'max 100000');
  put('pod/app/memory.max', 'max');
  put('pod/app/memory.current', '100');
  const layout = { kind: 'v2', unifiedRoot: root, cpuV1Root: null } as const;
  const w = { id: 'v2:/pod/app', path: '/pod/app', hierarchy: 'v2', cpuDir: join(root, 'pod/app') } as const;
  let now = 0;
  const cache = new LimitCache(() => now);
  t.like(readUsage(layout, w, 8, cache), { cpuLimitCores: 0.5, cpuLimitSource: 'parent', memoryLimitBytes: 500, memoryLimitSource: 'parent', memoryBytes: 100 });
  put('pod/cpu.max', '20000 100000');
  put('pod/memory.current', '800');
  now = 5000;
  // the quota is the cached one; the siblings' memory is read afresh (1000 - (800 - 100))
  t.like(readUsage(layout, w, 8, cache), { cpuLimitCores: 0.5, memoryLimitBytes: 300 });
  // the ceilings are the limits as set, whatever the siblings hold
  t.like(readUsage(layout, w, 8, cache), { cpuCeilingCores: 0.5, memoryCeilingBytes: 1000 });
  now = 10_000;
  t.like(readUsage(layout, w, 8, cache), { cpuLimitCores: 0.2, cpuLimitSource: 'parent' });
  t.like(readUsage(layout, w, 8), { cpuLimitCores: 0.2 }, 'without a cache, read every time');
  for (const path of ['/pod//app/', 'pod/app', '/pod/./x/../app']) {
    t.like(readUsage(layout, { ...w, path }, 8), { cpuLimitCores: 0.2, cpuLimitSource: 'parent', memoryLimitBytes: 300 }, `a path given as ${path}`);
  }
});

test('usage: the workload\'s own limits and CPU set are kept too, its usage is read each time, and forgetting its directory reads them afresh', (t) => {
  const { root, put } = fakeTree(t, 'ownlimits');
  put('app/cpu.max', '50000 100000');
  put('app/memory.max', '1000');
  put('app/memory.current', '100');
  put('app/cpuset.cpus.effective', '0-3');
  const layout = { kind: 'v2', unifiedRoot: root, cpuV1Root: null } as const;
  const w = { id: 'v2:/app', path: '/app', hierarchy: 'v2', cpuDir: join(root, 'app') } as const;
  let now = 0;
  const cache = new LimitCache(() => now);
  t.like(readUsage(layout, w, 8, cache), { cpuLimitCores: 0.5, cpuLimitSource: 'cgroup', memoryLimitBytes: 1000, memoryBytes: 100 });
  put('app/cpu.max', 'max 100000');
  put('app/memory.max', '2000');
  put('app/memory.current', '300');
  put('app/cpuset.cpus.effective', '0-1');
  // (every entry lives more than 5 s)
  now = 4000;
  t.like(readUsage(layout, w, 8, cache), { cpuLimitCores: 0.5, memoryLimitBytes: 1000, memoryBytes: 300 }, 'the limits kept, the usage read');
  cache.forget(join(root, 'other'));
  t.like(readUsage(layout, w, 8, cache), { cpuLimitCores: 0.5, memoryLimitBytes: 1000 }, 'another directory forgotten: still kept');
  cache.forget(join(root, 'app') + '/');
  // the quota gone, the CPU set as kept (4 of 8) binds
  t.like(readUsage(layout, w, 8, cache), { cpuLimitCores: 4, cpuLimitSource: 'cpuset', memoryLimitBytes: 2000 }, 'its directory forgotten: its limits read afresh, the CPU set kept');
  // (and no entry lives more than 10 s)
  now = 10_000;
  t.like(readUsage(layout, w, 8, cache), { cpuLimitCores: 2, cpuLimitSource: 'cpuset' }, 'the CPU set read again within 10 s');
});

test('usage: v1 cpu and memory mounted together (one hierarchy): both limits kept, each under its own key', (t) => {
  const { root, put } = fakeTree(t, 'comount');
  put('pod/cpu.cfs_quota_us', '50000');
  put('pod/cpu.cfs_period_us', '100000');
  put('pod/memory.limit_in_bytes', '1000');
  put('pod/memory.usage_in_bytes', '200');
  put('pod/app/cpu.cfs_quota_us', '-1');
  put('pod/app/cpu.cfs_period_us', '100000');
  put('pod/app/memory.limit_in_bytes', '600');
  put('pod/app/memory.usage_in_bytes', '100');
  const layout = { kind: 'v1', unifiedRoot: null, cpuV1Root: root, memoryV1Root: root, cpusetV1Root: null, cpuacctV1Root: null } as const;
  const w = { id: 'v1-cpu:/pod/app', path: '/pod/app', hierarchy: 'v1-cpu', cpuDir: join(root, 'pod/app') } as const;
  const cache = new LimitCache(() => 0);
  const want = { cpuLimitCores: 0.5, cpuLimitSource: 'parent', memoryLimitBytes: 600, memoryLimitSource: 'cgroup', memoryCeilingBytes: 600 };
  t.like(readUsage(layout, w, 8, cache), want, 'first reading');
  t.like(readUsage(layout, w, 8, cache), want, 'from the cache: the CPU entry did not hide the memory one');
});

/** Makes `dir` again with a new inode (renamed into place from a sibling made while the old one existed, so no file system can hand the old inode back). */
function remake(dir: string): void {
  const next = `${dir}.next`;
  mkdirSync(next);
  rmSync(dir, { recursive: true });
  renameSync(next, dir);
}

test('index and limit cache: a cgroup made again at its path is read afresh once a walk sees it went, in each hierarchy of a v1 layout', (t) => {
  const cpu = fakeTree(t, 'v1cpu');
  const memory = fakeTree(t, 'v1mem');
  const cpuset = fakeTree(t, 'v1cpuset');
  const uni = fakeTree(t, 'v1uni');
  const limits = (quota: number, bytes: number, cpus: string): void => {
    cpu.put('job/cpu.cfs_quota_us', String(quota));
    cpu.put('job/cpu.cfs_period_us', '100000');
    memory.put('job/memory.limit_in_bytes', String(bytes));
    memory.put('job/memory.usage_in_bytes', '10');
    cpuset.put('job/cpuset.effective_cpus', cpus);
  };
  limits(50_000, 1000, '0-3');
  mkdirSync(join(cpu.root, 'other'));
  const layout = { kind: 'hybrid', unifiedRoot: uni.root, cpuV1Root: cpu.root, memoryV1Root: memory.root, cpusetV1Root: cpuset.root, cpuacctV1Root: null } as const;
  const index = new WorkloadIndex(layout, { lazyRefreshMs: 60_000 });
  index.refresh();
  t.deepEqual(index.takeDeparted(), { cgroups: [], all: false }, 'nothing went before the first walk');
  const w = index.findByPath('v1-cpu', '/job')!;
  const cache = new LimitCache(() => 0);
  const first = { cpuLimitCores: 0.5, cpuCeilingCores: 0.5, memoryLimitBytes: 1000 };
  t.like(readUsage(layout, w, 8, cache), first);

  for (const root of [cpu.root, memory.root, cpuset.root]) remake(join(root, 'job'));
  limits(25_000, 2000, '0');
  t.like(readUsage(layout, w, 8, cache), first, 'kept: the index has not walked since');
  index.refresh();
  const departed = index.takeDeparted();
  t.deepEqual(departed, { cgroups: [{ hierarchy: 'v1-cpu', path: '/job' }], all: false }, 'the cpu tree\'s cgroup went; the one left in place did not');
  t.deepEqual(index.takeDeparted().cgroups, [], 'taken once');
  for (const c of departed.cgroups) cache.forgetCgroup(layout, c.hierarchy, c.path);
  // the quota (0.25) and the memory limit afresh, and the CPU set (1 CPU: the ceiling) too
  t.like(readUsage(layout, w, 8, cache), { cpuLimitCores: 0.25, cpuCeilingCores: 0.25, memoryLimitBytes: 2000 });
  cpu.put('job/cpu.cfs_quota_us', '-1');
  cache.forgetCgroup(layout, 'v1-cpu', '/job');
  t.like(readUsage(layout, w, 8, cache), { cpuLimitCores: 1, cpuLimitSource: 'cpuset' }, 'the CPU set as read afresh binds');
});

test('index and limit cache: on a v2 layout a cgroup made again at its path is read afresh once a walk sees it went', (t) => {
  const { root, put } = fakeTree(t, 'v2remake');
  put('pod/app/cpu.max', '50000 100000');
  put('pod/app/memory.max', '1000');
  put('pod/app/memory.current', '10');
  put('pod/app/cpuset.cpus.effective', '0-3');
  const layout = { kind: 'v2', unifiedRoot: root, cpuV1Root: null } as const;
  const index = new WorkloadIndex(layout, { lazyRefreshMs: 60_000 });
  index.refresh();
  const w = index.findByPath('v2', '/pod/app')!;
  const cache = new LimitCache(() => 0);
  t.like(readUsage(layout, w, 8, cache), { cpuLimitCores: 0.5, memoryLimitBytes: 1000 });
  remake(join(root, 'pod/app'));
  put('pod/app/cpu.max', 'max 100000');
  put('pod/app/memory.max', '3000');
  put('pod/app/memory.current', '10');
  put('pod/app/cpuset.cpus.effective', '0-1');
  index.refresh();
  const { cgroups } = index.takeDeparted();
  t.deepEqual(cgroups, [{ hierarchy: 'v2', path: '/pod/app' }]);
  for (const c of cgroups) cache.forgetCgroup(layout, c.hierarchy, c.path);
  t.like(readUsage(layout, w, 8, cache), { cpuLimitCores: 2, cpuLimitSource: 'cpuset', memoryLimitBytes: 3000 }, 'no quota now: the CPU set, read afresh, binds');
});

test('limit cache: its keys are the same however the root and the path are written, so forgetting a cgroup reaches every entry', (t) => {
  const { root, put } = fakeTree(t, 'keys');
  put('pod/app/cpu.max', '50000 100000');
  put('pod/app/memory.max', '1000');
  put('pod/app/memory.current', '10');
  put('pod/app/cpuset.cpus.effective', '0-3');
  for (const [given, path] of [[`${root}/`, '/pod/app/'], [root, '/pod//app'], [`${root}//`, 'pod/./app']] as const) {
    const layout = { kind: 'v2', unifiedRoot: given, cpuV1Root: null } as const;
    const w = { id: 'v2:/pod/app', path, hierarchy: 'v2', cpuDir: join(root, 'pod/app') } as const;
    const cache = new LimitCache(() => 0);
    put('pod/app/cpu.max', '50000 100000');
    put('pod/app/cpuset.cpus.effective', '0-3');
    t.like(readUsage(layout, w, 8, cache), { cpuLimitCores: 0.5, cpuLimitSource: 'cgroup' }, `${given} ${path}`);
    put('pod/app/cpu.max', 'max 100000');
    put('pod/app/cpuset.cpus.effective', '0-1');
    cache.forgetCgroup(layout, 'v2', '/pod/app');
    // the quota gone: the CPU set binds, read afresh too (2 CPUs, not the 4 kept)
    t.like(readUsage(layout, w, 8, cache), { cpuLimitCores: 2, cpuLimitSource: 'cpuset' }, `${given} ${path}: forgotten`);
  }
});

test('usage: the limit cache at its bound (65,536 entries) with none stale drops its oldest quarter, not all', (t) => {
  const cache = new LimitCache(() => 0);
  let reads = 0;
  const of = (d: string): void => { cache.of(d, () => { reads++; return { cpu: null, memory: null }; }); };
  for (let i = 0; i < 65_536; i++) of(`/cg/w${i}`);
  t.is(reads, 65_536);
  of('/cg/new');
  reads = 0;
  of('/cg/w65535');
  of('/cg/w20000');
  t.is(reads, 0, 'the newer entries kept');
  of('/cg/w0');
  t.is(reads, 1, 'the oldest one read again');
});

test('usage: the limit cache\'s entries live between 5 and 10 s each, spread so that a tick\'s thousands are not all read again at once', (t) => {
  let now = 0;
  const cache = new LimitCache(() => now);
  const reads = new Map<string, number>();
  const dirs = Array.from({ length: 2000 }, (_, i) => `/sys/fs/cgroup/headroom-test/many-${i}`);
  const readAll = (): void => {
    for (const d of dirs) cache.of(d, () => { reads.set(d, (reads.get(d) ?? 0) + 1); return { cpu: null, memory: null }; });
  };
  readAll();
  const readAgainBy = (ms: number): number => {
    now = ms;
    readAll();
    return dirs.filter((d) => reads.get(d)! > 1).length;
  };
  t.is(readAgainBy(5000), 0, 'none before 5 s');
  const by7500 = readAgainBy(7500);
  t.true(by7500 > 700 && by7500 < 1300, `about half by 7.5 s: ${by7500}`);
  t.is(readAgainBy(10_000), 2000, 'all by 10 s');
});

test('usage: a cgroup\'s own CPU time where it counts the tasks the probes name it by: cpu.stat on a v2 host, the cpuacct cgroup of its v1 cpu path; none for a cgroup2 path on a hybrid host, the root, or no counter', (t) => {
  const { root, put } = fakeTree(t, 'cputime');
  put('uni/app/cpu.stat', 'usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n');
  put('acct/app/cpuacct.usage', '7000000000\n');
  const v2w = { id: 'v2:/app', path: '/app', hierarchy: 'v2', cpuDir: null } as const;
  const v1w = { id: 'v1-cpu:/app', path: '/app', hierarchy: 'v1-cpu', cpuDir: join(root, 'cpu/app') } as const;
  const v2 = { kind: 'v2', unifiedRoot: join(root, 'uni'), cpuV1Root: null } as const;
  t.deepEqual(readCgroupCpu(v2, v2w), { dir: join(root, 'uni/app'), seconds: 2.5 });
  const hybrid = { kind: 'hybrid', unifiedRoot: join(root, 'uni'), cpuV1Root: join(root, 'cpu'), cpuacctV1Root: join(root, 'acct') } as const;
  t.deepEqual(readCgroupCpu(hybrid, v1w), { dir: join(root, 'acct/app'), seconds: 7 });
  t.is(readCgroupCpu(hybrid, v2w), null, 'a cgroup2 path on a hybrid host: its tasks\' CPU is counted under their v1 cpu cgroup');
  t.is(readCgroupCpu({ ...hybrid, cpuacctV1Root: null }, v1w), null, 'no cpuacct hierarchy');
  t.is(readCgroupCpu(hybrid, { ...v1w, id: 'v1-cpu:/other', path: '/other' }), null, 'no cpuacct cgroup at its path');
  put('uni/cpu.stat', 'usage_usec 9000000\n');
  t.is(readCgroupCpu(v2, { ...v2w, id: 'v2:/', path: '/' }), null, 'the root: the host');
});

test('usage: an ancestor\'s CPU quota leaves the workload what its other cgroups do not use, once two readings give rates', (t) => {
  const { root, put } = fakeTree(t, 'cpurates');
  const cpuStat = (usec: number): string => `usage_usec ${usec}\nuser_usec ${usec}\nsystem_usec 0\n`;
  put('pod/cpu.max', '200000 100000'); // 2 cores for the pod
  put('pod/cpu.stat', cpuStat(50_000_000));
  put('pod/app/cpu.max', 'max 100000');
  put('pod/app/cpu.stat', cpuStat(10_000_000));
  const layout = { kind: 'v2', unifiedRoot: root, cpuV1Root: null } as const;
  const w = { id: 'v2:/pod/app', path: '/pod/app', hierarchy: 'v2', cpuDir: join(root, 'pod/app') } as const;
  let now = 0;
  const rates = new CpuRates(() => now);
  t.like(readUsage(layout, w, 8, undefined, rates), { cpuLimitCores: 2, cpuLimitSource: 'parent' }, 'one reading: the quota whole');
  // a second later the pod used 1.8 cores, the workload 0.3 of them: its siblings 1.5
  now = 1000;
  put('pod/cpu.stat', cpuStat(51_800_000));
  put('pod/app/cpu.stat', cpuStat(10_300_000));
  const u = readUsage(layout, w, 8, undefined, rates);
  t.is(u.cpuLimitSource, 'parent');
  t.true(Math.abs(u.cpuLimitCores! - 0.5) < 1e-9, `2 - 1.5: ${u.cpuLimitCores}`);
  // read again 100 ms later (another workload of the pod in the same tick): the same rates
  now = 1100;
  t.true(Math.abs(readUsage(layout, w, 8, undefined, rates).cpuLimitCores! - 0.5) < 1e-9);
  // siblings using more than the quota leave nothing, never less
  now = 2000;
  put('pod/cpu.stat', cpuStat(54_800_000));
  put('pod/app/cpu.stat', cpuStat(10_300_000));
  t.is(readUsage(layout, w, 8, undefined, rates).cpuLimitCores, 0);
  t.is(readUsage(layout, w, 8, undefined, rates).cpuCeilingCores, 2, 'the ceiling stays the quota: what it could use were the siblings idle');
  // without a tracker, or with the counters gone, the quota is taken whole
  t.is(readUsage(layout, w, 8).cpuLimitCores, 2);
  rmSync(join(root, 'pod/cpu.stat'));
  now = 3000;
  t.is(readUsage(layout, w, 8, undefined, rates).cpuLimitCores, 2);
  // the workload's own quota is its own, whatever its siblings do
  put('pod/app/cpu.max', '50000 100000');
  t.like(readUsage(layout, w, 8, undefined, rates), { cpuLimitCores: 0.5, cpuLimitSource: 'cgroup', cpuCeilingCores: 0.5 });
});

test('usage: CPU rates start over after a gap or a counter that went back', (t) => {
  let now = 0;
  const rates = new CpuRates(() => now);
  t.is(rates.rate('/a', 10), null, 'first reading');
  now = 2000;
  t.is(rates.rate('/a', 13), 1.5);
  now = 2200;
  t.is(rates.rate('/a', 100), 1.5, 'within 500 ms: the last interval\'s rate');
  now = 3000;
  t.is(rates.rate('/a', 5), null, 'counter went back (a cgroup remade)');
  now = 100_000;
  t.is(rates.rate('/a', 50), null, 'a reading a minute and more old');
  t.is(rates.rate('/b', null), null, 'unreadable');
});

test('usage: CPU rates, their table full, drop readings stale by their own caller\'s age, not a reading a longer age still takes', (t) => {
  let now = 0;
  const rates = new CpuRates(() => now);
  // a cgroup read once a walk at a long --interval: its readings taken up to 5 minutes apart
  t.is(rates.rate('/walked', 10, 300_000), null);
  // the table fills (65,536 directories) with readings a minute and more old by the time the next comes
  for (let i = 0; i < 65_535; i++) rates.rate(`/d${i}`, 1);
  now = 120_000;
  rates.rate('/new', 1);
  // (the walked one, 2 minutes old, is within its 5: kept, and its rate given)
  t.is(rates.rate('/walked', 130, 300_000), 1, 'kept: (130 - 10) s over 120 s');
  t.is(rates.rate('/d0', 2), null, 'a minute-old reading made room: read afresh');
});

test('usage: a CPU set counts its CPUs; one as large as the host is no limit', (t) => {
  t.is(cpusetCores('0'), 1);
  t.is(cpusetCores('0-3,8,10-11', 64), 7);
  t.is(cpusetCores('0-1', 2), null, 'every CPU of a 2-CPU host');
  t.is(cpusetCores('', 8), null);
  t.is(cpusetCores('0-x', 8), null, 'unreadable');
});

test('usage: the host\'s available memory from /proc/meminfo (null when unreadable)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-meminfo-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'meminfo');
  writeFileSync(file, 'MemTotal:       24576000 kB\nMemFree:         1000 kB\nMemAvailable:   20480000 kB\nBuffers: 1 kB\n');
  t.is(readHostMemoryAvailable(file), 20480000 * 1024);
  t.is(readHostMemoryAvailable(join(dir, 'missing')), null);
  const live = readHostMemoryAvailable();
  t.true(live !== null && live > 0, `this host: ${live}`);
});

test('usage: what the host leaves a workload\'s CPU: the others\' use binds on a full host only where it waits to run', (t) => {
  // waited to run: a quarter of its runnable time or more, and 0.05 s a second or more (the
  // figures of a walkthrough's ticks: hogs of its weight held a quarter-core workload back, 0.28
  // s a second beside 0.24 s on CPU; the lowest-weight hogs did not, 0.04 s)
  t.true(waitedToRun(0.28, 0.24));
  t.false(waitedToRun(0.04, 0.26));
  t.true(waitedToRun(0.75, 0.25), 'a hog at the lowest weight');
  t.true(waitedToRun(0.25, 0.75), 'a quarter');
  t.false(waitedToRun(0.24, 0.75), 'a little less');
  // asleep most of the tick: 2 ms of CPU a wakeup every 100 ms, 3 ms waited a wakeup
  t.false(waitedToRun(0.03, 0.02), 'its wakeups\' latency is not the others holding it back');
  t.true(waitedToRun(0.05, 0.02), 'at the floor');
  t.false(waitedToRun(0, 0), 'idle');
  // a host with room: its CPUs less the others' use, waited or not (a climb is warned of before the host fills)
  t.is(cpuLeftByHost(0.5, false, 2, 1.5).cores, 1);
  t.is(cpuLeftByHost(0.5, true, 2, 1.5).cores, 1);
  // full (4 hogs and it on 2 CPUs): held back at its use where it waited, all the host's CPUs where not
  t.is(cpuLeftByHost(0.24, true, 2, 2).cores, 0.24);
  t.is(cpuLeftByHost(0.26, false, 2, 2).cores, 2, 'not held back: all the host\'s CPUs');
  // full is under a tenth of its use left beyond it, or under 0.05 cores
  t.is(cpuLeftByHost(1, false, 2, 1.91).cores, 2, '0.09 cores left beyond 1 core in use: full');
  t.is(cpuLeftByHost(1, false, 2, 1.9).cores, 1.1, 'a tenth left: room');
  t.is(cpuLeftByHost(0.125, false, 2, 1.96875).cores, 2, '0.03 cores left: full');
  t.is(cpuLeftByHost(0.125, false, 2, 1.9375).cores, 0.1875, '0.06 cores left: room');
  // or under a hundredth of the host's CPUs (a large host's idle reads a few hundredths of a core off)
  t.is(cpuLeftByHost(1, false, 64, 63.5).cores, 64, '0.5 cores left beyond its use on 64 CPUs: full');
  t.is(cpuLeftByHost(1, false, 64, 63).cores, 2, '1 core left: room');
  // idle on a full host: not held back (it read P(contention) 1 at a limit of 0 cores)
  t.is(cpuLeftByHost(0, false, 2, 2).cores, 2);
  // the host's count a little off its own sum (/proc/stat against the probe): never below 0
  t.is(cpuLeftByHost(0.5, true, 2, 2.7).cores, 0);
});

test('usage: a workload\'s wait to run is read over its last few ticks: a sampled probe\'s one long wait does not flip it, a lasting change does', (t) => {
  const waits = new RecentWaits();
  // unsampled: as many waits as switches (each switch-out a wait to come), the wait as counted
  const tick = (wait: number, cores: number, n = 20): TickWaits => ({ waitPerSecond: wait, waitsPerSecond: n, switchesPerSecond: n, cores, waitsSampled: n });
  // a starved hog (0.4 cores, 0.6 s waited a second), its waits counted 1 in 64: most ticks none, some 64 times one
  const sampled = [0, 0, 2.5, 0, 0, 0, 1.9, 0, 0, 0, 0, 2.2, 0, 0];
  t.true(waits.waited('hog', tick(0.6, 0.4), 0));
  const free = sampled.filter((w, i) => !waits.waited('hog', { waitPerSecond: w, waitsPerSecond: w > 0 ? 64 : 0, switchesPerSecond: 20, cores: 0.4, waitsSampled: w > 0 ? 1 : 0 }, (i + 1) * 1000)).length;
  t.true(free === 0, `read as free on ${free} of ${sampled.length} ticks (each tick alone: ${sampled.filter((w) => !waitedToRun(w, 0.4)).length})`);
  // a workload waking 4 times a second, 10 ms of CPU and 8 ms waited each time (0.032 s a second:
  // under the floor), its waits counted 1 in 8: a tick reads 0 or 0.064 s (held back on 4 of 15
  // ticks read so, on the waits as counted: a kernel test)
  const lumpy = [0.064, 0.064, 0, 0.128, 0, 0, 0.064, 0.064, 0, 0, 0.128, 0, 0.064, 0, 0];
  const held = lumpy.filter((w, i) => waits.waited('sleepy', { waitPerSecond: w, waitsPerSecond: w / 0.008, switchesPerSecond: 4, cores: 0.04, waitsSampled: w / 0.008 / 8 }, i * 1000)).length;
  t.is(held, 0, 'held back on no tick');
  // the same at 1 in 64, 6 waits a second of 5 ms on average (0.03 s a second), their lengths
  // spread as a queue's are (exponential): taken as the mean, the last counted one alone held it
  // back whenever it passed 8.3 ms (a fifth of them)
  const r = rng(5);
  let heldTicks = 0;
  for (let i = 0; i < 600; i++) {
    let n = 0, sum = 0;
    for (let k = 0; k < 6; k++) if (r() < 1 / 64) { n++; sum += -0.005 * Math.log(1 - r()); }
    if (waits.waited('queue', { waitPerSecond: 64 * sum, waitsPerSecond: 64 * n, switchesPerSecond: 6, cores: 0.04, waitsSampled: n }, i * 1000)) heldTicks++;
  }
  t.true(heldTicks <= 6, `held back on ${heldTicks} of 600 ticks`);
  // a service that stops waiting (the hogs beside it lowered) is free within a few ticks
  t.true(waits.waited('svc', tick(0.3, 0.24), 0));
  const freeAt = [1, 2, 3, 4, 5, 6, 7, 8].find((s) => !waits.waited('svc', tick(0.01, 0.26), s * 1000));
  t.true(freeAt !== undefined && freeAt <= 6, `free from tick ${freeAt}`);
  // a hog that waited, then exited (an idle tick): not waiting from that tick on (it read so 11
  // ticks on, held at the 0 cores the host left its empty cgroup), nor when a new run starts
  t.true(waits.waited('gone', tick(0.6, 0.4), 0));
  t.false(waits.waited('gone', tick(0, 0, 0), 1000));
  t.false(waits.waited('gone', tick(0.01, 0.3), 2000), 'a new run that hardly waits: taken afresh');
  t.false(waits.waited('nan', tick(Number.NaN, 0.4), 0), 'not a number: nothing waited');
  t.false(waits.waited('nan', tick(0.6, 0.4, Number.NaN), 500), 'nor a count that is not');
  t.true(waits.waited('nan', tick(0.6, 0.4), 1000), 'and nothing kept of it');
  // no switch counted (a hog alone on its CPU until the one preemption that ended its wait): the waits as counted
  t.true(waits.waited('alone', { waitPerSecond: 0.5, waitsPerSecond: 1, switchesPerSecond: 0, cores: 0.5, waitsSampled: 1 }, 0));
  // figures are kept while a workload is seen at every tick: one missed (out of the forecast set) starts afresh
  t.false(waits.waited('other', tick(0.01, 0.26), 0));
  waits.keepOnly(0);
  t.false(waits.waited('other', tick(0.3, 0.6), 1000), 'seen at the tick before: its free past outweighs this tick (0.07 s waited against 0.33 cores)');
  waits.keepOnly(1000);
  waits.keepOnly(2000);
  t.true(waits.waited('other', tick(0.3, 0.6), 3000), 'not seen at 2 s: taken afresh');
});

test('usage: page cache from memory.stat (v1: the subtree\'s total_ fields), and counted once in what the host leaves', (t) => {
  const v2 = 'anon 1000\nfile 7000\nactive_file 3000\ninactive_file 4000\nshmem 0\n';
  t.is(fileLruBytes(v2, false), 7000);
  const v1 = 'cache 100\nactive_file 10\ninactive_file 20\ntotal_cache 9000\ntotal_active_file 5000\ntotal_inactive_file 4000\n';
  t.is(fileLruBytes(v1, true), 9000, 'the hierarchical totals, as usage_in_bytes counts the subtree');
  t.is(fileLruBytes(v1, false), 30);
  t.is(fileLruBytes('anon 5\n', false), null, 'fields missing');
  t.is(fileLruBytes('active_file 1\ninactive_file 2', false), 3, 'the first line and the last, without its newline');
  t.is(fileLruBytes('inactive_file 2\ntotal_active_file 9\n', false), null, 'a field whose name ends the same is not it');
  t.is(fileLruBytes('active_file x\ninactive_file 2\n', false), null, 'not a number');
  t.is(fileLruBytes('active_file \ninactive_file 2\n', false), null, 'no value');
  t.is(fileLruBytes(null, false), null);
  // 10 GiB available of which 4 GiB is this workload's own cache: it may grow by 6 GiB more
  const GiB = 2 ** 30;
  t.is(memoryLeftByHost({ memoryBytes: 5 * GiB, memoryFileBytes: 4 * GiB }, 10 * GiB), 11 * GiB);
  t.is(memoryLeftByHost({ memoryBytes: 5 * GiB, memoryFileBytes: null }, 10 * GiB), 15 * GiB, 'no memory.stat: as before');
  t.is(memoryLeftByHost({ memoryBytes: 1 * GiB, memoryFileBytes: 3 * GiB }, 10 * GiB), 10 * GiB, 'the cache counted at most whole');
  t.is(memoryLeftByHost({ memoryBytes: null, memoryFileBytes: null }, 10 * GiB), null);
  t.is(memoryLeftByHost({ memoryBytes: 1, memoryFileBytes: 0 }, null), null);
  // on a fake v2 tree, readUsage reads it beside memory.current
  const { root, put } = fakeTree(t, 'stat');
  put('app/memory.current', '9000');
  put('app/memory.stat', v2);
  const layout = { kind: 'v2', unifiedRoot: root, cpuV1Root: null } as const;
  const w = { id: 'v2:/app', path: '/app', hierarchy: 'v2', cpuDir: join(root, 'app') } as const;
  t.like(readUsage(layout, w), { memoryBytes: 9000, memoryFileBytes: 7000 });
  t.is(readFileCacheBytes(layout, w), 7000, 'alone, for a run whose usage is not read');
  // v1: the subtree's totals; none without memory.stat
  const v1Tree = fakeTree(t, 'stat-v1');
  v1Tree.put('app/memory.usage_in_bytes', '9000');
  v1Tree.put('app/memory.stat', v1);
  const v1Layout: CgroupLayout = { kind: 'hybrid', unifiedRoot: null, cpuV1Root: null, memoryV1Root: v1Tree.root };
  const v1w = { id: 'v1-cpu:/app', path: '/app', hierarchy: 'v1-cpu', cpuDir: null } as const;
  t.is(readFileCacheBytes(v1Layout, v1w), 9000);
  t.like(readUsage(v1Layout, v1w), { memoryBytes: 9000, memoryFileBytes: 9000 });
  t.is(readFileCacheBytes(v1Layout, { ...v1w, path: '/none' }), null);
});

kernelTest('usage: a workload\'s page cache is read from its memory cgroup, and the host\'s room counts it once', async (t) => {
  const layout = detectCgroupLayout();
  const cg = testCgroup(t, 'wl-cache');
  const w = workloadOf(layout, cg);
  let memDir = cg.dir;
  if (!cg.v2) {
    if (!layout.memoryV1Root) {
      t.pass('no v1 memory hierarchy');
      return;
    }
    memDir = join(layout.memoryV1Root, cg.path);
    mkdirSync(memDir, { recursive: true });
    t.teardown(() => { try { rmdirSync(memDir); } catch { /* gone */ } try { rmdirSync(dirname(memDir)); } catch { /* in use */ } });
  } else if (!existsSync(join(memDir, 'memory.stat'))) {
    t.pass('no memory controller in this cgroup');
    return;
  }
  // a file on disk (not tmpfs: that is shmem, not the file LRU), written from inside the cgroup
  const dir = mkdtempSync(join('/var/tmp', 'headroom-cache-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const MiB = 2 ** 20;
  const writer = start('sh', ['-c', `echo $$ > '${memDir}/cgroup.procs' && exec dd if=/dev/zero of='${dir}/f' bs=1M count=48 status=none`], { timeoutMs: 30_000 });
  await writer.done;
  const u = readUsage(layout, w);
  t.log(`holds ${(u.memoryBytes! / MiB).toFixed(1)} MiB, of which page cache ${(u.memoryFileBytes! / MiB).toFixed(1)} MiB`);
  t.true(u.memoryFileBytes! >= 40 * MiB, 'the 48 MiB written are its page cache');
  t.true(u.memoryFileBytes! <= u.memoryBytes!, 'part of what it holds');
  const avail = readHostMemoryAvailable()!;
  t.is(memoryLeftByHost(u, avail), u.memoryBytes! - u.memoryFileBytes! + avail);
});

kernelTest('usage: a test cgroup\'s memory in use, its memory limit and its CPU quota, from its cgroup files', async (t) => {
  const layout = detectCgroupLayout();
  const cg = testCgroup(t, 'wl-usage');
  const w = workloadOf(layout, cg);
  t.deepEqual(readUsage(layout, w).cpuLimitCores, null, 'no quota yet');
  writeFileSync(join(cg.dir, cg.v2 ? 'cpu.max' : 'cpu.cfs_quota_us'), cg.v2 ? '25000 100000' : '25000');
  t.is(readUsage(layout, w).cpuLimitCores, 0.25);
  if (!cg.v2 && layout.memoryV1Root) {
    // the v1 memory cgroup of the same path, as docker's cgroupfs driver makes them
    const mem = join(layout.memoryV1Root, cg.path);
    mkdirSync(mem, { recursive: true });
    t.teardown(() => { try { rmdirSync(mem); } catch { /* gone */ } try { rmdirSync(dirname(mem)); } catch { /* in use */ } });
    t.is(readUsage(layout, w).memoryLimitBytes, null, 'unlimited');
    writeFileSync(join(mem, 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
    const u = readUsage(layout, w);
    t.is(u.memoryLimitBytes, 64 * 1024 * 1024);
    t.is(typeof u.memoryBytes, 'number');
  }
});

/** Makes `rel` (under headroom-test) in a hierarchy and removes it, deepest first, when the test ends. */
function hierarchyDirs(t: ExecutionContext, root: string, rels: string[]): string[] {
  const made: string[] = [];
  for (const rel of rels) {
    const dir = join(root, rel);
    if (!existsSync(dir)) {
      mkdirSync(dir);
      made.push(dir);
    }
  }
  t.teardown(async () => {
    for (const dir of made.reverse()) {
      for (let i = 0; i < 50; i++) {
        try { rmdirSync(dir); break; } catch { await new Promise((r) => setTimeout(r, 50)); }
      }
    }
  });
  return rels.map((rel) => join(root, rel));
}

kernelTest('usage: an ancestor\'s CPU quota, an ancestor\'s memory less what its other cgroups hold, and a CPU set bind a workload', async (t) => {
  const layout = detectCgroupLayout();
  const parent = testCgroup(t, 'wl-lim');
  const cg = testCgroup(t, 'wl-lim/app');
  const w = workloadOf(layout, cg);
  t.truthy(w);
  t.like(readUsage(layout, w), { cpuLimitCores: null, cpuLimitSource: null });
  const quota = (dir: string, cores: number): void =>
    writeFileSync(join(dir, cg.v2 ? 'cpu.max' : 'cpu.cfs_quota_us'), cg.v2 ? `${cores * 100000} 100000` : String(cores * 100000));
  quota(parent.dir, 1.5);
  t.like(readUsage(layout, w), { cpuLimitCores: 1.5, cpuLimitSource: 'parent', cpuCeilingCores: 1.5 }, 'the parent\'s quota caps the child');

  // A CPU set of one CPU is tighter than 1.5 cores (on a host with more than one CPU).
  const cpusetRoot = cg.v2 ? layout.unifiedRoot! : layout.cpusetV1Root;
  const v2Enable = (dir: string, ctl: string): boolean => {
    try {
      writeFileSync(join(dir, 'cgroup.subtree_control'), `+${ctl}`);
      return true;
    } catch {
      return false;
    }
  };
  let cpusetTested = false;
  if (cpus().length > 1 && cpusetRoot) {
    if (cg.v2) {
      // our own cgroups: headroom-test and wl-lim pass the cpuset controller down (when the host root does)
      if (v2Enable(dirname(parent.dir), 'cpuset') && v2Enable(parent.dir, 'cpuset')) {
        writeFileSync(join(cg.dir, 'cpuset.cpus'), '0');
        cpusetTested = true;
      }
    } else {
      const [base, mid, leaf] = hierarchyDirs(t, cpusetRoot, ['headroom-test', 'headroom-test/wl-lim', 'headroom-test/wl-lim/app']);
      const all = readFileSync(join(cpusetRoot, 'cpuset.cpus'), 'utf8').trim();
      const mems = readFileSync(join(cpusetRoot, 'cpuset.mems'), 'utf8').trim();
      for (const dir of [base!, mid!]) {
        writeFileSync(join(dir, 'cpuset.cpus'), all);
        writeFileSync(join(dir, 'cpuset.mems'), mems);
      }
      writeFileSync(join(leaf!, 'cpuset.mems'), mems);
      writeFileSync(join(leaf!, 'cpuset.cpus'), '0');
      cpusetTested = true;
    }
  }
  if (cpusetTested) t.like(readUsage(layout, w), { cpuLimitCores: 1, cpuLimitSource: 'cpuset', cpuCeilingCores: 1 }, 'one CPU allowed');
  else t.log('cpuset controller not available here: CPU-set limit not checked');
  quota(parent.dir, 0.5);
  t.like(readUsage(layout, w), { cpuLimitCores: 0.5, cpuLimitSource: 'parent' });
  quota(cg.dir, 0.25);
  t.like(readUsage(layout, w), { cpuLimitCores: 0.25, cpuLimitSource: 'cgroup' }, 'its own quota, tighter still');

  // Memory: the parent's 256 MiB less what a sibling holds (a process keeping 64 MiB).
  const MiB = 1024 * 1024;
  let memParent: string, memSibling: string;
  if (cg.v2) {
    if (!v2Enable(dirname(parent.dir), 'memory') || !v2Enable(parent.dir, 'memory')) {
      t.log('memory controller not available here: ancestor memory limit not checked');
      return;
    }
    memParent = parent.dir;
    memSibling = testCgroup(t, 'wl-lim/sibling').dir;
    writeFileSync(join(memParent, 'memory.max'), String(256 * MiB));
  } else {
    if (!layout.memoryV1Root) return;
    [, memParent, , memSibling] = hierarchyDirs(t, layout.memoryV1Root, ['headroom-test', 'headroom-test/wl-lim', 'headroom-test/wl-lim/app', 'headroom-test/wl-lim/sibling']) as [string, string, string, string];
    writeFileSync(join(memParent, 'memory.limit_in_bytes'), String(256 * MiB));
  }
  const used = (): number => Number(readFileSync(join(memParent, cg.v2 ? 'memory.current' : 'memory.usage_in_bytes'), 'utf8'));
  const hog = start('sh', ['-c', `echo $$ > '${memSibling}/cgroup.procs' && exec stress-ng --vm 1 --vm-bytes 64M --vm-keep --vm-populate --timeout 30s`], { timeoutMs: 40_000 });
  t.teardown(async () => {
    hog.child.kill('SIGKILL');
    await hog.done;
  });
  await waitFor(() => used() >= 60 * MiB, 'the sibling to hold 60 MiB', 15_000);
  const u = readUsage(layout, w);
  const room = 256 * MiB - used();
  t.is(u.memoryLimitSource, 'parent');
  t.true(Math.abs(u.memoryLimitBytes! - room) < 8 * MiB, `room ${(u.memoryLimitBytes! / MiB).toFixed(1)} MiB, expected about ${(room / MiB).toFixed(1)}`);
  t.true(u.memoryLimitBytes! < 200 * MiB, 'the sibling\'s memory is not the workload\'s to take');
  t.is(u.memoryCeilingBytes, 256 * MiB, 'the ceiling: the parent\'s limit as set');
  t.log(`parent 256 MiB, sibling holds ${((used()) / MiB).toFixed(1)} MiB: ${(u.memoryLimitBytes! / MiB).toFixed(1)} MiB left to the workload`);
});

kernelTest('usage: an ancestor\'s CPU quota less what a sibling burns (stress-ng), from the CPU time counters', async (t) => {
  const layout = detectCgroupLayout();
  const parent = testCgroup(t, 'wl-rate');
  const app = testCgroup(t, 'wl-rate/app');
  const sibling = testCgroup(t, 'wl-rate/sibling');
  const w = workloadOf(layout, app);
  t.truthy(w);
  // where the CPU time is counted: the v2 directories, or the v1 cpuacct cgroups of the same paths
  let counters = { parent: parent.dir, sibling: sibling.dir };
  const joinCmd = [`echo $$ > '${sibling.dir}/cgroup.procs'`];
  if (!app.v2) {
    if (!layout.cpuacctV1Root) {
      t.pass('no v1 cpuacct hierarchy: the quota is taken whole');
      return;
    }
    if (layout.cpuacctV1Root !== layout.cpuV1Root) {
      const [p, , sib] = hierarchyDirs(t, layout.cpuacctV1Root, ['headroom-test', 'headroom-test/wl-rate', 'headroom-test/wl-rate/app', 'headroom-test/wl-rate/sibling']).slice(1);
      counters = { parent: p!, sibling: sib! };
      joinCmd.push(`echo $$ > '${sib}/cgroup.procs'`);
    }
  }
  const seconds = (dir: string): number => app.v2
    ? Number(/^usage_usec (\d+)$/m.exec(readFileSync(join(dir, 'cpu.stat'), 'utf8'))![1]) / 1e6
    : Number(readFileSync(join(dir, 'cpuacct.usage'), 'utf8')) / 1e9;
  writeFileSync(join(parent.dir, app.v2 ? 'cpu.max' : 'cpu.cfs_quota_us'), app.v2 ? '150000 100000' : '150000');
  const burner = start('sh', ['-c', `${joinCmd.join(' && ')} && exec stress-ng --cpu 1 --timeout 20s --quiet`], { timeoutMs: 30_000 });
  t.teardown(async () => {
    burner.child.kill('SIGKILL');
    await burner.done;
  });
  await waitFor(() => sibling.pids().length > 0, 'the burner to join the sibling cgroup');
  await new Promise((r) => setTimeout(r, 300));
  const rates = new CpuRates();
  t.like(readUsage(layout, w, cpus().length, undefined, rates), { cpuLimitCores: 1.5, cpuLimitSource: 'parent' }, 'first reading: the quota whole');
  const s0 = seconds(counters.sibling);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, 1500));
  const u = readUsage(layout, w, cpus().length, undefined, rates);
  const burned = (seconds(counters.sibling) - s0) / ((performance.now() - t0) / 1000);
  t.log(`parent quota 1.5 cores, the sibling burns ${burned.toFixed(2)}: ${u.cpuLimitCores!.toFixed(2)} cores left to the workload (${u.cpuLimitSource})`);
  t.is(u.cpuLimitSource, 'parent');
  t.true(burned > 0.3, `the sibling ran: ${burned.toFixed(2)} cores`);
  t.true(Math.abs(u.cpuLimitCores! - (1.5 - burned)) < 0.15, `left ${u.cpuLimitCores}, expected about ${(1.5 - burned).toFixed(2)}`);
});

kernelTest('liveness: a cgroup counts as populated while it or a child cgroup holds a process (v1 cpu tree and the unified tree)', async (t) => {
  const layout = detectCgroupLayout();
  const parent = testCgroup(t, 'wl-live');
  const child = testCgroup(t, 'wl-live/worker');
  const w = { id: `x:${parent.path}`, path: parent.path, hierarchy: parent.v2 ? 'v2' : 'v1-cpu', cpuDir: null } as const;
  t.false(cgroupPopulated(layout, w), 'empty');
  const sleeper = start('sh', ['-c', `echo $$ > '${child.dir}/cgroup.procs' && exec sleep 30`], { timeoutMs: 40_000 });
  t.teardown(async () => {
    sleeper.child.kill('SIGKILL');
    await sleeper.done;
  });
  await waitFor(() => child.pids().length > 0, 'the sleeper to join the child cgroup');
  t.true(cgroupPopulated(layout, w), 'a process in a child cgroup');
  sleeper.child.kill('SIGKILL');
  await sleeper.done;
  await waitFor(() => !cgroupPopulated(layout, w), 'the cgroup to read as empty');
  t.false(cgroupPopulated(layout, { ...w, path: '/headroom-test/never-made' }), 'a cgroup that is gone');
  if (!parent.v2 && layout.unifiedRoot) {
    // the unified tree's own flag (cgroup.events), which counts descendants too
    const uni = new UnifiedTestCgroup('wl-live-v2');
    t.teardown(() => uni.remove());
    const uw = { id: `v2:${uni.path}`, path: uni.path, hierarchy: 'v2', cpuDir: null } as const;
    t.false(cgroupPopulated(layout, uw));
    const s2 = start('sh', ['-c', `echo $$ > '${uni.dir}/cgroup.procs' && exec sleep 30`], { timeoutMs: 40_000 });
    t.teardown(async () => {
      s2.child.kill('SIGKILL');
      await s2.done;
    });
    await waitFor(() => cgroupPopulated(layout, uw), 'populated 1 in cgroup.events');
    s2.child.kill('SIGKILL');
    await s2.done;
    await waitFor(() => !cgroupPopulated(layout, uw), 'populated 0 in cgroup.events');
  }
});
