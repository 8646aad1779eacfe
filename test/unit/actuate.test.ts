// agent/actuate: pure writers and mapping, the journal, and the Actuator on real test cgroups
// (kernelTest: root, under headroom-test only), ending with stress-ng held to 0.5 cores.
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Actuator, ActuateError, readCpuLimit, reconcile, RefusedError } from '../../agent/actuate/index.js';
import {
  cgroupVersion, cpuWeightWrites, limitWritesFor, MIN_QUOTA_US, parseCpuMax, readCpuWeight, sharesToWeight,
  weightToShares, weightWritesFor, writeCgroupFile,
} from '../../agent/actuate/cpu-writer.js';
import { fileKey, Journal } from '../../agent/actuate/journal.js';
import { DEFAULT_CLAIMS_DIR } from '../../agent/actuate/actuator.js';
import { nameLockPath } from '../../agent/dir-lock.js';
import type { Action, Decision, Mode } from '../../agent/plan/types.js';
import type { Workload } from '../../agent/workloads/types.js';
import { TestCgroup } from '../helpers/cgroups.js';
import { isRoot, kernelTest, testIf } from '../helpers/host.js';

// ---- helpers ----

/** Where this file's in-process actuators claim their cgroups (the host's /run/headroom stays untouched). */
const testClaims = mkdtempSync(join(tmpdir(), 'headroom-claims-'));
process.once('exit', () => rmSync(testClaims, { recursive: true, force: true }));

function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-actuate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function cgroup(t: ExecutionContext, name: string): TestCgroup {
  const cg = new TestCgroup(name);
  t.teardown(() => cg.remove());
  return cg;
}

function workloadOf(cg: { path: string; dir: string; v2?: boolean }): Workload {
  const hierarchy = cg.v2 ? 'v2' : 'v1-cpu';
  return { id: `${hierarchy}:${cg.path}`, path: cg.path, hierarchy, cpuDir: cg.dir };
}

let decisionSeq = 0;
function decision(workload: Workload, action: Action, cpuCores: number | null): Decision {
  decisionSeq++;
  return {
    id: `d${decisionSeq}`, atMs: Date.now(), rule: 'test', action, workload, resource: 'cpu', cpuCores,
    reason: `test ${action} to ${cpuCores ?? 'unlimited'}`,
  };
}

/** The limit file of the host's cpu hierarchy and what it reads for a given quota. */
function limitFile(cg: TestCgroup): string {
  return cg.v2 ? 'cpu.max' : 'cpu.cfs_quota_us';
}
function quotaText(cg: TestCgroup, quotaUs: number | null): string {
  if (cg.v2) return `${quotaUs ?? 'max'} 100000`;
  return String(quotaUs ?? -1);
}

function snapshot(cg: TestCgroup): Record<string, string> {
  const files = cg.v2 ? ['cpu.max', 'cpu.weight'] : ['cpu.cfs_quota_us', 'cpu.cfs_period_us', 'cpu.shares'];
  return Object.fromEntries(files.map((f) => [f, cg.read(f)]));
}

const allowAll = (): boolean => true;

// ---- pure: limits ----

test('limit writes: v1 quota from cores and period, -1 for unlimited', (t) => {
  t.deepEqual(limitWritesFor('v1', 100000, 0.5), [{ file: 'cpu.cfs_quota_us', value: '50000' }]);
  t.deepEqual(limitWritesFor('v1', 250000, 1.5), [{ file: 'cpu.cfs_quota_us', value: '375000' }]);
  t.deepEqual(limitWritesFor('v1', 100000, null), [{ file: 'cpu.cfs_quota_us', value: '-1' }]);
});

test('limit writes: v2 cpu.max "quota period" or "max period"', (t) => {
  t.deepEqual(limitWritesFor('v2', 100000, 0.5), [{ file: 'cpu.max', value: '50000 100000' }]);
  t.deepEqual(limitWritesFor('v2', 50000, null), [{ file: 'cpu.max', value: 'max 50000' }]);
});

test('limit writes: below the kernel minimum rises to 1 ms; nonsense cores throw', (t) => {
  t.deepEqual(limitWritesFor('v1', 100000, 0.001), [{ file: 'cpu.cfs_quota_us', value: String(MIN_QUOTA_US) }]);
  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    t.throws(() => limitWritesFor('v1', 100000, bad), { instanceOf: RangeError });
  }
});

test('parseCpuMax reads both forms', (t) => {
  t.deepEqual(parseCpuMax('max 100000\n'), { quotaUs: null, periodUs: 100000 });
  t.deepEqual(parseCpuMax('25000 50000'), { quotaUs: 25000, periodUs: 50000 });
  t.throws(() => parseCpuMax('lots 100000'));
});

test('a directory without cpu files is neither version, and the error says which files it looked for', (t) => {
  const dir = tempDir(t);
  const err = t.throws(() => cgroupVersion(dir), { instanceOf: ActuateError });
  t.regex(err!.message, /cpu\.cfs_quota_us.*cpu\.max/);
  t.true(err!.message.includes(dir));
});

// ---- pure: weights ----

test('weights: defaults correspond (1024 shares = weight 100) and every weight survives the round trip', (t) => {
  t.is(weightToShares(100), 1024);
  t.is(sharesToWeight(1024), 100);
  for (let w = 1; w <= 10000; w++) {
    if (sharesToWeight(weightToShares(w)) !== w) return t.fail(`weight ${w} -> ${weightToShares(w)} shares -> ${sharesToWeight(weightToShares(w))}`);
  }
  t.pass();
});

test('weights: the ends clamp to each interface range', (t) => {
  t.is(weightToShares(1), 10);
  t.is(weightToShares(10000), 102400);
  t.is(sharesToWeight(2), 1);
  t.is(sharesToWeight(262144), 10000);
  t.is(sharesToWeight(512), 50);
});

test('weight writes: v1 cpu.shares, v2 cpu.weight; out of range throws', (t) => {
  t.deepEqual(weightWritesFor('v1', 200), [{ file: 'cpu.shares', value: '2048' }]);
  t.deepEqual(weightWritesFor('v2', 200), [{ file: 'cpu.weight', value: '200' }]);
  t.throws(() => weightWritesFor('v2', 0), { instanceOf: RangeError });
  t.throws(() => weightWritesFor('v1', 10001), { instanceOf: RangeError });
});

/**
 * Another process standing for an agent: an enforcing Actuator (claims in `claimsDir`, else the
 * host's) throttles each workload to `cores`, then waits to be killed; resolves once it has.
 */
async function agentProcess(t: ExecutionContext, args: { journalPath: string; claimsDir?: string; workloads: Workload[]; cores: number }): Promise<ReturnType<typeof spawn>> {
  const moduleUrl = new URL('../../agent/actuate/index.js', import.meta.url).href;
  const script = `
    import { Actuator } from ${JSON.stringify(moduleUrl)};
    const { journalPath, claimsDir, workloads, cores } = JSON.parse(process.env.HR_ARGS);
    const a = new Actuator({ mode: 'enforce', journalPath, claimsDir, allow: () => true });
    for (const w of workloads) {
      a.apply({ id: 'agent-' + w.path, atMs: Date.now(), rule: 'test', action: 'throttle', workload: w, resource: 'cpu', cpuCores: cores, reason: 'another agent' });
    }
    process.stdout.write('applied\\n');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, HR_ARGS: JSON.stringify(args) }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { child.kill('SIGKILL'); });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => { if (b.toString().includes('applied')) resolve(); });
    child.on('exit', (code) => reject(new Error(`the other agent exited (${code}) before applying: ${stderr}`)));
  });
  return child;
}

// ---- journal ----

test('journal: creates its directory 0700, keeps the first original per file, continues seq', (t) => {
  const path = join(tempDir(t), 'state', 'journal.jsonl');
  const j = new Journal(path);
  t.deepEqual(j.entries(), []);
  j.append({ decisionId: 'a', dir: '/cg/x', file: 'cpu.max', original: 'max 100000', value: '50000 100000' });
  j.append({ decisionId: 'b', dir: '/cg/y', file: 'cpu.max', original: '80000 100000', value: '40000 100000' });
  j.append({ decisionId: 'c', dir: '/cg/x', file: 'cpu.max', original: '50000 100000', value: '20000 100000' });
  t.is(statSync(join(path, '..')).mode & 0o777, 0o700);
  t.deepEqual(j.originals().map((o) => [o.dir, o.original, o.seq]), [['/cg/x', 'max 100000', 1], ['/cg/y', '80000 100000', 2]]);
  t.is(j.originalOf('/cg/x', 'cpu.max'), 'max 100000');
  // A second instance (the next agent start) continues the sequence.
  const again = new Journal(path).append({ decisionId: 'd', dir: '/cg/z', file: 'cpu.max', original: 'max 100000', value: '1000 100000' });
  t.is(again.seq, 4);
  j.clear();
  t.is(readFileSync(path, 'utf8'), '');
  t.deepEqual(j.entries(), []);
});

test('journal: a torn last line (crash mid-append) is ignored and cut before the next append', (t) => {
  const path = join(tempDir(t), 'journal.jsonl');
  const j = new Journal(path);
  j.append({ decisionId: 'a', dir: '/cg/x', file: 'cpu.cfs_quota_us', original: '-1', value: '50000' });
  appendFileSync(path, '{"seq":2,"atMs":17,"decis');
  t.is(new Journal(path).entries().length, 1);
  const k = new Journal(path);
  k.append({ decisionId: 'b', dir: '/cg/y', file: 'cpu.cfs_quota_us', original: '-1', value: '50000' });
  t.deepEqual(k.entries().map((e) => [e.seq, e.decisionId]), [[1, 'a'], [2, 'b']]);
});

test('journal: a corrupt line in the middle is an error, not silently dropped', (t) => {
  const path = join(tempDir(t), 'journal.jsonl');
  writeFileSync(path, 'not json\n{"seq":1}\n');
  const err = t.throws(() => new Journal(path).entries(), { instanceOf: ActuateError });
  t.regex(err!.message, /line 1/);
});

// (a walkthrough: a journal on a nearly full disk took 4096 of an entry's 4213 bytes, and the
// write went ahead; the next start dropped the torn line, and the throttle was never undone)
kernelTest('journal: an append the disk takes only part of fails whole, the file cut back to before it', (t) => {
  const mnt = tempDir(t);
  // two pages of tmpfs: an entry of three pages is taken in part, then ENOSPC
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8k,mode=0700', 'headroom-test-journal', mnt]);
  t.teardown(() => { execFileSync('umount', [mnt]); });
  const path = join(mnt, 'journal.jsonl');
  const j = new Journal(path);
  j.append({ decisionId: 'a', dir: '/cg/x', file: 'cpu.max', original: 'max 100000', value: '50000 100000' });
  const before = readFileSync(path, 'utf8');
  const err = t.throws(() => j.append({ decisionId: 'b', dir: `/cg/${'y'.repeat(10_000)}`, file: 'cpu.max', original: 'max 100000', value: '40000 100000' }), { instanceOf: ActuateError });
  t.is(err!.code, 'ENOSPC', err!.message);
  t.is(readFileSync(path, 'utf8'), before, 'nothing of the failed entry left');
  t.is(new Journal(path).entries().length, 1);
});

testIf(isRoot, 'root', 'journal: one a restore cannot trust is refused before anything is written (its folder or itself open to others, another owner)', (t) => {
  const dir = join(tempDir(t), 'state');
  const path = join(dir, 'journal.jsonl');
  const j = new Journal(path);
  j.append({ decisionId: 'a', dir: '/sys/fs/cgroup/cpu/headroom-test/x', file: 'cpu.cfs_quota_us', original: '-1', value: '50000' });
  t.is(j.trustProblem(), undefined);
  chmodSync(dir, 0o777);
  t.regex(j.trustProblem()!, /^its folder \S+state is writable by everyone \(mode 777\): whoever can write there would choose what the agent writes as root; chmod go-w it, or give another --state-dir$/);
  const err = t.throws(() => reconcile(path), { instanceOf: ActuateError });
  t.regex(err!.message, /^restoring from \S+journal\.jsonl: its folder .* is writable by everyone .*; nothing restored$/);
  chmodSync(dir, 0o700);
  chownSync(path, 65534, 65534);
  t.regex(j.trustProblem()!, /^journal \S+journal\.jsonl is owned by uid 65534, not this agent's \(0\): .*; chown it, or give another --state-dir$/);
  chownSync(path, 0, 0);
  chmodSync(path, 0o620);
  t.regex(j.trustProblem()!, /^journal \S+ is writable by its group \(mode 620\)/);
  // and before the first write too: a journal the restore would refuse kept its throttles for good
  const before = readFileSync(path, 'utf8');
  const appendErr = t.throws(() => new Journal(path).append({ decisionId: 'b', dir: '/cg/x', file: 'cpu.max', original: 'max 100000', value: '50000 100000' }), { instanceOf: ActuateError });
  t.regex(appendErr!.message, /^appending to \S+journal\.jsonl: journal \S+ is writable by its group \(mode 620\).*; nothing written$/);
  t.is(readFileSync(path, 'utf8'), before);
});

// (a walkthrough: a journal written by hand, in a state dir another user could write, put its
// line into a root-owned file at the next start, even in observe mode)
test('journal: an entry naming a file the actuator never writes, or a folder that is no cgroup\'s, refuses the whole restore, writing nothing', (t) => {
  const dir = tempDir(t);
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'root\n');
  for (const [entryDir, file, why] of [
    [dir, 'victim', /entry 2 names \S+victim, not a cgroup CPU file headroom writes/],
    [dir, 'cpu.max', /entry 2 names \S+cpu\.max, not a cgroup CPU file headroom writes/],
    ['/sys/fs/cgroup/cpu/../../../etc', 'cpu.max', /entry 2 names \/sys\/fs\/cgroup\/cpu\/\.\.\/\.\.\/\.\.\/etc\/cpu\.max,/],
    ['relative/dir', 'cpu.max', /entry 2 names relative\/dir\/cpu\.max/],
  ] as const) {
    writeFileSync(join(dir, 'cpu.max'), 'max 100000\n');
    const path = join(dir, 'j', 'journal.jsonl');
    rmSync(join(dir, 'j'), { recursive: true, force: true });
    const j = new Journal(path);
    j.append({ decisionId: 'a', dir: '/sys/fs/cgroup/cpu/headroom-test/gone', file: 'cpu.cfs_quota_us', original: '-1', value: '50000' });
    j.append({ decisionId: 'b', dir: entryDir, file, original: 'owned', value: '1' });
    const err = t.throws(() => reconcile(path), { instanceOf: ActuateError }, `${entryDir} ${file}`);
    t.regex(err!.message, why);
    t.regex(err!.message, /nothing restored \(look at it, then move it aside\)$/);
    t.is(readFileSync(victim, 'utf8'), 'root\n');
    t.is(readFileSync(join(dir, 'cpu.max'), 'utf8'), 'max 100000\n');
    t.is(new Journal(path).entries().length, 2, 'the journal kept');
  }
});

test('journal: originals are what the file held before the agent wrote it, an owner\'s write between two of the agent\'s included', (t) => {
  const j = new Journal(join(tempDir(t), 'journal.jsonl'));
  j.append({ decisionId: 'a', dir: '/cg/x', file: 'cpu.max', original: 'max 100000', value: '50000 100000' });
  j.append({ decisionId: 'b', dir: '/cg/x', file: 'cpu.max', original: '50000 100000', value: '25000 100000' });
  t.is(j.originals()[0]!.original, 'max 100000');
  // the owner wrote 60000 since; the agent's next step journals it as that entry's original
  j.append({ decisionId: 'c', dir: '/cg/x', file: 'cpu.max', original: '60000 100000', value: '35000 100000' });
  t.deepEqual(j.originals().map((o) => [o.original, o.seq]), [['60000 100000', 1]]);
  t.deepEqual([...j.written().get(fileKey('/cg/x', 'cpu.max'))!], ['50000 100000', '25000 100000', '35000 100000']);
});

// ---- actuator on a cgroup v2 file layout (this hybrid host has no v2 cpu controller) ----

test('v2 layout: enforce writes cpu.max with the period kept, restoreAll puts "max" back', (t) => {
  // Plain files in cgroup v2's format: covers the v2 read/write path where no v2 cpu controller exists.
  const dir = tempDir(t);
  writeFileSync(join(dir, 'cpu.max'), 'max 50000\n');
  writeFileSync(join(dir, 'cpu.weight'), '100\n');
  const w = workloadOf({ path: '/fixture', dir, v2: true });
  // (plain files, not a cgroup filesystem: a restore is told this folder is a cgroup's)
  const a = new Actuator({ mode: 'enforce', journalPath: join(dir, 'j', 'journal.jsonl'), allow: allowAll, cgroupFs: () => true, claimsDir: testClaims });
  const change = a.apply(decision(w, 'throttle', 1.5));
  t.deepEqual(change?.writes, [{ file: 'cpu.max', from: 'max 50000', to: '75000 50000' }]);
  t.is(readCpuLimit(dir).cores, 1.5);
  t.is(readCpuWeight(dir).weight, 100);
  t.deepEqual(cpuWeightWrites(dir, 300), [{ dir, file: 'cpu.weight', value: '300' }]);
  const report = a.restoreAll();
  t.true(report.cleared);
  t.is(readFileSync(join(dir, 'cpu.max'), 'utf8'), 'max 50000');
});

testIf(isRoot, 'root', 'a journal that cannot be emptied after a restore (immutable): what was put back is said, and so is the journal left', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'cpu.max'), 'max 100000\n');
  const w = workloadOf({ path: '/fixture', dir, v2: true });
  const journalPath = join(dir, 'j', 'journal.jsonl');
  const a = new Actuator({ mode: 'enforce', journalPath, allow: allowAll, claimsDir: testClaims, cgroupFs: () => true });
  a.apply(decision(w, 'throttle', 0.5));
  try {
    execFileSync('chattr', ['+i', journalPath], { stdio: 'ignore' });
  } catch {
    // (a filesystem without the immutable flag: tmpfs, overlay on older kernels)
    t.log(`chattr +i is refused on ${tmpdir()}'s filesystem: nothing to check here`);
    return;
  }
  t.teardown(() => { execFileSync('chattr', ['-i', journalPath]); });
  const report = a.restoreAll();
  t.false(report.cleared);
  t.deepEqual(report.failed, []);
  t.is(readFileSync(join(dir, 'cpu.max'), 'utf8'), 'max 100000');
  t.is(report.messages[0], `restored ${join(dir, 'cpu.max')} to "max 100000"`);
  t.regex(report.messages[1]!, /^clearing journal \S+journal\.jsonl: EPERM: operation not permitted: the originals above are back in place, but the journal still lists them$/);
});

test('a journal with a line that is no entry: nothing restored, and what to do said', (t) => {
  const path = join(tempDir(t), 'journal.jsonl');
  writeFileSync(path, 'garbage\n');
  const err = t.throws(() => reconcile(path), { instanceOf: ActuateError });
  t.regex(err!.message, /^restoring from \S+journal\.jsonl: line 1 is not a journal entry: garbage; nothing restored: look at it, put back by hand what it lists, then move it aside$/);
});

// (a walkthrough: two enforcing agents, each with its own state dir, on one cgroup: the second
// journaled the first's throttle as the original, and put it back when it stopped, for good)
test('enforce claims a cgroup before writing it: a second agent (another process) is refused, until the first is gone', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'cpu.max'), 'max 100000\n');
  const w = workloadOf({ path: '/fixture', dir, v2: true });
  const claimsDir = join(tempDir(t), 'claims');
  const child = await agentProcess(t, { journalPath: join(dir, 'first.jsonl'), claimsDir, workloads: [w], cores: 0.5 });
  t.is(readFileSync(join(dir, 'cpu.max'), 'utf8'), '50000 100000');
  const journalPath = join(dir, 'second.jsonl');
  const second = new Actuator({ mode: 'enforce', journalPath, claimsDir, allow: allowAll, cgroupFs: () => true });
  const err = t.throws(() => second.apply(decision(w, 'throttle', 0.3)), { instanceOf: RefusedError });
  t.is(err!.message, `cgroup ${dir} is in use by another headroom agent (pid ${child.pid}): two agents writing one cgroup leave it throttled when they stop; keep it out of one of their policies`);
  t.is(readFileSync(join(dir, 'cpu.max'), 'utf8'), '50000 100000', 'not written');
  t.false(existsSync(journalPath), 'nothing journaled');
  // the first one killed: its claim is stale, but its journal still lists the cgroup, so it is
  // kept (taken over, the second journaled the first's throttle as the original: throttled for good)
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const kept = t.throws(() => second.apply(decision(w, 'throttle', 0.3)), { instanceOf: RefusedError });
  t.is(kept!.message, `cgroup ${dir} was written by an agent that is gone, and its journal ${join(dir, 'first.jsonl')} still lists it: not written until that journal's next start puts the original back`);
  t.is(readFileSync(join(dir, 'cpu.max'), 'utf8'), '50000 100000');
  // that journal's next start puts the original back, and the claim goes with it: then it is taken
  const restart = new Actuator({ mode: 'enforce', journalPath: join(dir, 'first.jsonl'), claimsDir, allow: allowAll, cgroupFs: () => true });
  t.true(restart.restoreAll().cleared);
  t.is(readFileSync(join(dir, 'cpu.max'), 'utf8'), 'max 100000');
  t.truthy(second.apply(decision(w, 'throttle', 0.3)));
  t.is(readFileSync(join(dir, 'cpu.max'), 'utf8'), '30000 100000');
  const change = second.restoreAll();
  t.deepEqual(change.restored.map((r) => r.value), ['max 100000'], 'the true original');
});

// ---- actuator on real cgroups ----

kernelTest('enforce writes the quota, reads it back, and journals the original first', (t) => {
  const cg = cgroup(t, 'actuate-enforce');
  const journalPath = join(tempDir(t), 'journal.jsonl');
  const a = new Actuator({ mode: 'enforce', journalPath, allow: allowAll, claimsDir: testClaims });
  t.teardown(() => { a.restoreAll(); });
  const before = cg.read(limitFile(cg));
  const change = a.apply(decision(workloadOf(cg), 'throttle', 0.5));
  t.truthy(change);
  t.false(change!.dryRun);
  t.true(change!.verified);
  t.is(change!.coresBefore, null);
  t.is(change!.coresAfter, 0.5);
  t.is(cg.read(limitFile(cg)), quotaText(cg, 50000));
  t.is(readCpuLimit(cg.dir).cores, 0.5);
  const [entry, ...rest] = new Journal(journalPath).entries();
  t.is(rest.length, 0);
  t.like(entry, { dir: cg.dir, file: limitFile(cg), original: before, value: quotaText(cg, 50000) });
  // The same decision again changes nothing and journals nothing.
  t.is(a.apply(decision(workloadOf(cg), 'throttle', 0.5)), null);
  t.is(new Journal(journalPath).entries().length, 1);
});

for (const mode of ['observe', 'recommend'] as Mode[]) {
  kernelTest(`${mode} writes nothing and returns what enforce would do`, (t) => {
    const cg = cgroup(t, `actuate-${mode}`);
    const journalPath = join(tempDir(t), 'journal.jsonl');
    const before = snapshot(cg);
    const a = new Actuator({ mode, journalPath, allow: allowAll, claimsDir: testClaims });
    const change = a.apply(decision(workloadOf(cg), 'throttle', 0.5));
    t.true(change!.dryRun);
    t.false(change!.verified);
    t.is(change!.coresAfter, 0.5);
    t.deepEqual(change!.writes, [{ file: limitFile(cg), from: before[limitFile(cg)]!, to: quotaText(cg, 50000) }]);
    t.deepEqual(snapshot(cg), before);
    t.false(existsSync(journalPath));
    t.deepEqual(a.restoreAll(), { restored: [], vanished: [], changed: [], failed: [], cleared: false, messages: [] });
    t.deepEqual(snapshot(cg), before);
  });
}

kernelTest('restoreAll puts back an owner limit after several steps on two cgroups, newest first', (t) => {
  const owned = cgroup(t, 'actuate-restore-a');
  const other = cgroup(t, 'actuate-restore-b');
  // The "owner's" own limit, 1.5 cores, set before the agent acts (our cgroup: ours to write).
  writeCgroupFile(owned.dir, limitFile(owned), quotaText(owned, 150000));
  const journalPath = join(tempDir(t), 'journal.jsonl');
  const a = new Actuator({ mode: 'enforce', journalPath, allow: allowAll, claimsDir: testClaims });
  a.apply(decision(workloadOf(owned), 'throttle', 0.5));
  a.apply(decision(workloadOf(other), 'throttle', 1));
  a.apply(decision(workloadOf(owned), 'throttle', 0.25));
  t.is(owned.read(limitFile(owned)), quotaText(owned, 25000));
  const report = a.restoreAll();
  t.deepEqual(report.restored.map((r) => [r.dir, r.value]), [
    [other.dir, quotaText(other, null)],
    [owned.dir, quotaText(owned, 150000)],
  ]);
  t.true(report.cleared);
  t.is(owned.read(limitFile(owned)), quotaText(owned, 150000));
  t.is(other.read(limitFile(other)), quotaText(other, null));
  t.is(readFileSync(journalPath, 'utf8'), '');
});

kernelTest('a restore decision, or a release to null cores, puts back the original of that cgroup only', (t) => {
  const cg = cgroup(t, 'actuate-restore-decision');
  const cg2 = cgroup(t, 'actuate-restore-decision-2');
  writeCgroupFile(cg.dir, limitFile(cg), quotaText(cg, 120000));
  const a = new Actuator({ mode: 'enforce', journalPath: join(tempDir(t), 'journal.jsonl'), allow: allowAll, claimsDir: testClaims });
  t.teardown(() => { a.restoreAll(); });
  a.apply(decision(workloadOf(cg), 'throttle', 0.4));
  a.apply(decision(workloadOf(cg2), 'throttle', 0.3));
  const back = a.apply(decision(workloadOf(cg), 'restore', null));
  t.deepEqual(back?.writes, [{ file: limitFile(cg), from: quotaText(cg, 40000), to: quotaText(cg, 120000) }]);
  t.is(cg2.read(limitFile(cg2)), quotaText(cg2, 30000));
  a.apply(decision(workloadOf(cg), 'throttle', 0.6));
  a.apply(decision(workloadOf(cg), 'release', null));
  t.is(cg.read(limitFile(cg)), quotaText(cg, 120000));
  // Nothing was ever changed on a fresh cgroup: restoring it has nothing to do.
  const fresh = cgroup(t, 'actuate-restore-decision-3');
  t.is(a.apply(decision(workloadOf(fresh), 'restore', null)), null);
});

kernelTest('reconcile restores what a SIGKILLed agent changed and reports a cgroup that vanished', async (t) => {
  const cg = cgroup(t, 'actuate-crash');
  const gone = cgroup(t, 'actuate-crash-gone');
  const original = cg.read(limitFile(cg));
  const journalPath = join(tempDir(t), 'journal.jsonl');
  // A real agent process: applies two decisions, says so, then waits to be killed.
  const child = await agentProcess(t, { journalPath, workloads: [workloadOf(cg), workloadOf(gone)], cores: 0.3 });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  t.is(cg.read(limitFile(cg)), quotaText(cg, 30000));
  await gone.remove();

  const report = reconcile(journalPath);
  t.deepEqual(report.restored, [{ dir: cg.dir, file: limitFile(cg), value: original }]);
  t.deepEqual(report.vanished.map((v) => v.dir), [gone.dir]);
  t.deepEqual(report.failed, []);
  t.true(report.cleared);
  t.is(report.messages.length, 2);
  t.regex(report.messages[1]!, /is gone/);
  t.is(cg.read(limitFile(cg)), original);
  t.is(readFileSync(journalPath, 'utf8'), '');
  // the killed agent's claims on its cgroups went with its journal
  t.false(existsSync(nameLockPath(cg.dir, DEFAULT_CLAIMS_DIR)));
  t.false(existsSync(nameLockPath(gone.dir, DEFAULT_CLAIMS_DIR)));
  // Nothing left: a second reconcile does nothing; no journal at all, likewise.
  t.deepEqual(reconcile(journalPath).restored, []);
  t.deepEqual(reconcile(join(tempDir(t), 'none.jsonl')), { restored: [], vanished: [], changed: [], failed: [], cleared: false, messages: [] });
});

kernelTest('refuses a workload outside the policy selection, or without a cpu cgroup, writing nothing', (t) => {
  const cg = cgroup(t, 'actuate-refuse');
  const journalPath = join(tempDir(t), 'journal.jsonl');
  const before = snapshot(cg);
  const w = workloadOf(cg);
  const a = new Actuator({ mode: 'enforce', journalPath, allow: (x) => x.id !== w.id, claimsDir: testClaims });
  const err = t.throws(() => a.apply(decision(w, 'throttle', 0.5)), { instanceOf: RefusedError });
  t.true(err!.message.includes(w.id));
  t.throws(() => a.apply(decision({ ...w, id: 'v1-cpu:/elsewhere', cpuDir: null }, 'throttle', 0.5)), { instanceOf: RefusedError });
  t.deepEqual(snapshot(cg), before);
  t.false(existsSync(journalPath));
});

kernelTest('the journal holds the attempt before the write: a write the kernel refuses is still journaled', (t) => {
  const cg = cgroup(t, 'actuate-wal');
  const journalPath = join(tempDir(t), 'journal.jsonl');
  const before = cg.read(limitFile(cg));
  const a = new Actuator({ mode: 'enforce', journalPath, allow: allowAll, claimsDir: testClaims });
  // A billion cores: a quota above the kernel's maximum bandwidth, refused with EINVAL.
  const err = t.throws(() => a.apply(decision(workloadOf(cg), 'throttle', 1e9)), { instanceOf: ActuateError });
  t.is(err!.code, 'EINVAL');
  t.true(err!.message.includes(join(cg.dir, limitFile(cg))), err!.message);
  t.is(cg.read(limitFile(cg)), before);
  const entries = new Journal(journalPath).entries();
  t.is(entries.length, 1);
  t.like(entries[0], { dir: cg.dir, original: before, value: quotaText(cg, 1e9 * 100000) });
  // Restoring writes the (unchanged) original back and clears the journal.
  t.true(a.restoreAll().cleared);
  t.is(cg.read(limitFile(cg)), before);
});

kernelTest('weight writers on a real cgroup: shares/weight written and read back in v2 units', (t) => {
  const cg = cgroup(t, 'actuate-weight');
  t.is(readCpuWeight(cg.dir).weight, 100);
  for (const wr of cpuWeightWrites(cg.dir, 250)) writeCgroupFile(wr.dir, wr.file, wr.value);
  t.is(cg.read(cg.v2 ? 'cpu.weight' : 'cpu.shares'), cg.v2 ? '250' : '2560');
  t.is(readCpuWeight(cg.dir).weight, 250);
});

/** Parses dash/bash `times` "0m1.234s 0m0.010s" lines: the second line is the children's user+sys. */
function childCpuSeconds(timesOutput: string): number {
  const lines = timesOutput.trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  let total = 0;
  for (const m of last.matchAll(/(\d+)m([\d.]+)s/g)) total += Number(m[1]) * 60 + Number(m[2]);
  return total;
}

function cpuStat(cg: TestCgroup): Record<string, number> {
  return Object.fromEntries(cg.read('cpu.stat').split('\n').map((l) => l.split(' ')).map(([k, v]) => [k!, Number(v)]));
}

kernelTest('stress-ng --cpu 2 in a cgroup held to 0.5 cores is throttled and gets about 0.5 cores', async (t) => {
  const cg = cgroup(t, 'actuate-stress');
  const a = new Actuator({ mode: 'enforce', journalPath: join(tempDir(t), 'journal.jsonl'), allow: allowAll, claimsDir: testClaims });
  t.teardown(() => { a.restoreAll(); });
  a.apply(decision(workloadOf(cg), 'throttle', 0.5));
  // The shell joins the cgroup before starting stress-ng, so every worker is born inside it.
  const sh = spawn('/bin/sh', ['-c', 'echo $$ > "$1/cgroup.procs" && stress-ng --cpu 2 --timeout 4s --quiet; times', 'sh', cg.dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => { sh.kill('SIGKILL'); });
  let out = '';
  let err = '';
  sh.stdout.on('data', (b: Buffer) => { out += b.toString(); });
  sh.stderr.on('data', (b: Buffer) => { err += b.toString(); });
  const started = Date.now();
  const code = await new Promise<number | null>((r) => sh.on('exit', r));
  const wallS = (Date.now() - started) / 1000;
  t.is(code, 0, err);
  const cpuS = childCpuSeconds(out);
  const stat = cpuStat(cg);
  const throttled = cg.v2 ? stat.throttled_usec! : stat.throttled_time!;
  t.log(`wall ${wallS.toFixed(2)} s, stress-ng cpu ${cpuS.toFixed(2)} s (${(cpuS / wallS).toFixed(2)} cores), ` +
    `nr_periods ${stat.nr_periods}, nr_throttled ${stat.nr_throttled}, throttled ${throttled}`);
  t.true(stat.nr_throttled! > 0);
  t.true(throttled > 0);
  // Two busy workers would use ~2 cores unthrottled; held to 0.5 they get about half a core.
  t.true(cpuS / wallS < 0.65, `used ${(cpuS / wallS).toFixed(2)} cores`);
  t.true(cpuS / wallS > 0.3, `used only ${(cpuS / wallS).toFixed(2)} cores`);
});

// (a walkthrough: an owner's limit written while the agent held a throttle, and a cgroup removed
// and made again at the path, were overwritten by the journal's original at the stop)
kernelTest('restore puts back only a file that still holds one of the agent\'s values: an owner\'s write since is left, and said', (t) => {
  const cg = cgroup(t, 'actuate-owner-wrote');
  const original = cg.read(limitFile(cg));
  const a = new Actuator({ mode: 'enforce', journalPath: join(tempDir(t), 'journal.jsonl'), allow: allowAll, claimsDir: testClaims });
  t.teardown(() => { a.restoreAll(); });
  a.apply(decision(workloadOf(cg), 'throttle', 0.5));
  writeCgroupFile(cg.dir, limitFile(cg), quotaText(cg, 60000));
  // a restore decision mid-run leaves it too
  t.is(a.apply(decision(workloadOf(cg), 'restore', null)), null);
  t.is(cg.read(limitFile(cg)), quotaText(cg, 60000));
  const report = a.restoreAll();
  t.deepEqual(report.restored, []);
  t.deepEqual(report.changed, [{ dir: cg.dir, file: limitFile(cg), original, current: quotaText(cg, 60000) }]);
  t.true(report.cleared);
  t.regex(report.messages[0]!, /was written by someone else since headroom wrote it \(now "[^"]+"\): left as it is, not put back to "[^"]+"$/);
  t.is(cg.read(limitFile(cg)), quotaText(cg, 60000));
});

kernelTest('restore after an owner\'s write between two of the agent\'s: the owner\'s value comes back, not the first original', (t) => {
  const cg = cgroup(t, 'actuate-owner-between');
  const a = new Actuator({ mode: 'enforce', journalPath: join(tempDir(t), 'journal.jsonl'), allow: allowAll, claimsDir: testClaims });
  t.teardown(() => { a.restoreAll(); });
  a.apply(decision(workloadOf(cg), 'throttle', 0.5));
  writeCgroupFile(cg.dir, limitFile(cg), quotaText(cg, 60000));
  a.apply(decision(workloadOf(cg), 'throttle', 0.3));
  const report = a.restoreAll();
  t.deepEqual(report.restored, [{ dir: cg.dir, file: limitFile(cg), value: quotaText(cg, 60000) }]);
  t.is(cg.read(limitFile(cg)), quotaText(cg, 60000));
});
