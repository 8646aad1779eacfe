// Task runs: a cgroup that appears while the agent runs is a run of its task; its samples are
// merged into the task's profile when it ends, and the next run of the same task is forecast as
// it starts. The store is the real one (in a temporary folder); the task reader reads the real
// /proc of a child process listed in a stand-in cgroup.procs file.
import type { ProcessEnd } from '../../agent/probes/sched.js';
import test from 'ava';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BINS, parseProfile, ProfileStore, unseenSlices, type FinishedRun } from '../../agent/predict/profiles.js';
import { TaskRuns, type RunEnd, type RunEvent, type RunStart, type RunTickInput } from '../../agent/predict/task-runs.js';
import { TaskReader } from '../../agent/workloads/task.js';
import { matchesGlob } from '../../agent/plan/policy.js';
import { taskSignature, type TaskSignature } from '../../agent/workloads/signature.js';
import type { Workload } from '../../agent/workloads/types.js';
import { formatRunEvent, runEventRecord } from '../../exporters/decision-log.js';
import { RunTelling } from '../../agent/cli/run-telling.js';

function readlinkSafe(p: string): string {
  try {
    return readlinkSync(p);
  } catch {
    return '';
  }
}

function scratch(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-runs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const workload = (path: string): Workload => ({ id: `v1-cpu:${path}`, path, hierarchy: 'v1-cpu', cpuDir: null });
const sig = (c: string): TaskSignature => ({
  id: c.repeat(64),
  parts: { version: 1, exePath: '/usr/bin/stress-ng', exeName: 'stress-ng', exeSha256: 'f'.repeat(64), exeBytes: 1, args: ['--cpu', '1'], inputs: [], env: {} },
  commandKey: `command-${c}`,
});

/** A world of cgroups that come and go, each running one task, and an agent ticking over them. */
function world(t: { teardown: (fn: () => void) => void }, opts: {
  minRunMs?: number; maxSamples?: number; maxBytes?: number; log?: (m: string) => void; follows?: (w: Workload) => boolean;
  ceiling?: { cpuCores: number | null; memoryBytes: number | null };
  earlierRun?: (commandKey: string, span: { startMs: number; endMs: number }) => void;
  endOf?: (pid: number, startTicks: number) => ProcessEnd | null;
  oldestStartTicks?: (w: Workload) => number | null;
  /** its task's process's start (ms), by workload id (absent: not read) */
  startedAt?: Map<string, number>;
} = {}) {
  const store = new ProfileStore({ dir: join(scratch(t), 'profiles'), maxBytes: opts.maxBytes });
  const alive = new Set<string>();
  const tasks = new Map<string, TaskSignature | null>();
  const ooms = new Map<string, number>();
  const runs = new TaskRuns({
    store, minRunMs: opts.minRunMs, maxSamples: opts.maxSamples, log: opts.log, follows: opts.follows,
    taskOf: async (w) => {
      const s = tasks.get(w.id);
      return s ? { signature: s, pid: 4000 + s.id.charCodeAt(0), startTicks: 777, startedAtMs: opts.startedAt?.get(w.id) ?? null } : null;
    },
    alive: (w) => alive.has(w.id),
    oomKills: (w) => ooms.get(w.id) ?? 0,
    ...(opts.ceiling ? { ceilingOf: () => opts.ceiling! } : {}),
    ...(opts.earlierRun ? { earlierRun: opts.earlierRun } : {}),
    ...(opts.endOf ? { endOf: opts.endOf } : {}),
    ...(opts.oldestStartTicks ? { oldestStartTicks: opts.oldestStartTicks } : {}),
  }, [workload('/'), workload('/system.slice/sshd.service')]);
  let now = 1_000_000;
  const events: RunEvent[] = [];
  /** one tick: every live workload's figures, then the task reads settle */
  const tick = async (figures: Record<string, Partial<RunTickInput>>): Promise<void> => {
    now += 1000;
    const inputs = Object.entries(figures).map(([path, f]) => ({
      workload: workload(path), cpuCores: 0, memoryBytes: null, ioBytesPerSec: 0, netBytesPerSec: 0, ...f,
    })).filter((x) => runs.wants(x.workload, x.cpuCores));
    events.push(...runs.observe(inputs, now));
    await new Promise((r) => setImmediate(r));
  };
  return { store, alive, tasks, ooms, runs, tick, events, now: () => now };
}

test('task runs: a run whose task was killed by a signal, or exited failing, is said so and not learned; one that exited 0 is', async (t) => {
  const ends = new Map<number, ProcessEnd>([[4000 + 'a'.charCodeAt(0), { signal: 9, endTicks: 0 }], [4000 + 'b'.charCodeAt(0), { status: 3, endTicks: 0 }], [4000 + 'c'.charCodeAt(0), { status: 0, endTicks: 0 }]]);
  const asked: number[][] = [];
  const w = world(t, { endOf: (pid, start) => { asked.push([pid, start]); return ends.get(pid) ?? null; } });
  const jobs = { a: '/jobs/killed', b: '/jobs/failed', c: '/jobs/fine' };
  for (const [c, job] of Object.entries(jobs)) {
    w.alive.add(`v1-cpu:${job}`);
    w.tasks.set(`v1-cpu:${job}`, sig(c));
  }
  const busy = Object.fromEntries(Object.values(jobs).map((j) => [j, { cpuCores: 1 }]));
  for (let i = 0; i < 4; i++) await w.tick(busy);
  for (const job of Object.values(jobs)) w.alive.delete(`v1-cpu:${job}`);
  await w.tick(busy);
  const end = (job: string): RunEnd => w.events.find((e) => e.kind === 'run-end' && e.workload.path === job) as RunEnd;
  t.like(end(jobs.a), { recorded: false, killedBy: 'SIGKILL', reason: 'killed by SIGKILL: a run cut short is not learned as the task\'s' });
  t.like(end(jobs.b), { recorded: false, heldBack: true, exitStatus: 3, reason: 'exited with status 3: held back (1 of 3 in a row): learned if 3 runs of its task in a row end so (its usual end, as grep\'s 1), else not (a failure)' });
  t.like(end(jobs.c), { recorded: true, exitStatus: 0 });
  t.is(w.store.forecastRun(sig('a').id), undefined);
  t.is(w.store.forecastRun(sig('b').id), undefined);
  t.truthy(w.store.forecastRun(sig('c').id));
  t.true(asked.every(([, start]) => start === 777), 'asked by its pid and its start');
  t.like(runEventRecord(end(jobs.a)), { killedBy: 'SIGKILL', recorded: false });
  t.like(runEventRecord(end(jobs.b)), { exitStatus: 3, heldBack: true });
});

test('task runs: a nonzero status that a task\'s runs end with as a rule (grep\'s 1, rsync\'s 24) is learned: three runs in a row held back and learned together, then each at once; a failure once or twice is not', async (t) => {
  const pid = 4000 + 'b'.charCodeAt(0);
  let status: number | null = 0;
  const w = world(t, { endOf: (p) => (p === pid && status !== null ? { status, endTicks: 0 } : null) });
  let n = 0;
  /** one run of task b in a cgroup of its own, ending with `s` (null: its end not seen) */
  const runOnce = async (s: number | null): Promise<RunEnd> => {
    const job = `/jobs/grep-${++n}`;
    w.alive.add(`v1-cpu:${job}`);
    w.tasks.set(`v1-cpu:${job}`, sig('b'));
    for (let i = 0; i < 4; i++) await w.tick({ [job]: { cpuCores: 1 } });
    status = s;
    w.alive.delete(`v1-cpu:${job}`);
    await w.tick({ [job]: { cpuCores: 1 } });
    return w.events.find((e) => e.kind === 'run-end' && e.workload.path === job) as RunEnd;
  };
  const runs = (): number => w.store.get(sig('b').id)?.runs ?? 0;
  t.like(await runOnce(1), { recorded: false, heldBack: true, exitStatus: 1, reason: 'exited with status 1: held back (1 of 3 in a row): learned if 3 runs of its task in a row end so (its usual end, as grep\'s 1), else not (a failure)' });
  t.like(await runOnce(1), { recorded: false, exitStatus: 1 });
  t.is(runs(), 0, 'twice: held back (a job failing the same way twice is not yet its usual run)');
  const third = await runOnce(1);
  t.like(third, { recorded: true, exitStatus: 1, runs: 3, learnedWith: 2 });
  t.regex(formatRunEvent(third), /: recorded, exited with status 1 as its task's runs do, with the 2 runs before it held back \(3 runs behind its profile\)$/);
  t.is(w.store.get(sig('b').id)!.exitStatus, 1, 'its usual end, kept in its profile');
  t.like(await runOnce(1), { recorded: true, runs: 4 }, 'learned at once now');
  t.is(new ProfileStore({ dir: w.store.dir }).get(sig('b').id)!.exitStatus, 1, 'kept on disk: a restarted agent learns it at once too');
  t.like(await runOnce(null), { recorded: true, runs: 5 }, 'its end not seen: learned, as before');
  t.is(w.store.get(sig('b').id)!.exitStatus, 1, 'a status not known leaves the last one known');
  // another status: held, and dropped when a run ends otherwise
  t.like(await runOnce(2), { recorded: false, exitStatus: 2 });
  t.like(await runOnce(1), { recorded: true, runs: 6 });
  t.like(await runOnce(0), { recorded: true, exitStatus: 0, runs: 7 });
  t.is(w.store.get(sig('b').id)!.exitStatus, undefined, 'its last run ended 0');
  t.like(await runOnce(1), { recorded: false });
  t.like(await runOnce(1), { recorded: false });
  t.like(await runOnce(2), { recorded: false }, 'not in a row with the two ending 1');
  t.like(await runOnce(1), { recorded: false }, 'those two dropped: one in a row again');
  t.like(await runOnce(0), { recorded: true, runs: 8 }, 'a run ending 0 drops those held');
  t.like(await runOnce(1), { recorded: false });
  t.like(await runOnce(1), { recorded: false });
  t.like(await runOnce(1), { recorded: true, runs: 11, learnedWith: 2 });
  // a bad status in a file is refused (0 is never written: its absence)
  t.throws(() => parseProfile(JSON.stringify({ ...w.store.get(sig('b').id)!, exitStatus: 0 })), { message: 'bad exit status 0' });
  t.throws(() => parseProfile(JSON.stringify({ ...w.store.get(sig('b').id)!, exitStatus: 1.5 })), { message: 'bad exit status 1.5' });
  t.is(parseProfile(JSON.stringify({ ...w.store.get(sig('b').id)!, exitStatus: 24 })).exitStatus, 24);
});

test('task runs: runs of a task at once that end with one nonzero status (shards failing together) are not in a row; a held run keeps few samples', async (t) => {
  const pids = new Map<number, number>();
  const w = world(t, { endOf: (p) => (pids.has(p) ? { status: pids.get(p)!, endTicks: 0 } : null) });
  const held: FinishedRun[] = [];
  const record = w.store.record.bind(w.store);
  w.store.record = (r) => { held.push(r); return record(r); };
  const shards = ['/jobs/shard-1', '/jobs/shard-2', '/jobs/shard-3'];
  for (const job of shards) {
    w.alive.add(`v1-cpu:${job}`);
    w.tasks.set(`v1-cpu:${job}`, sig('f'));
  }
  pids.set(4000 + 'f'.charCodeAt(0), 1);
  // 200 ticks: more samples than a held run keeps
  for (let i = 0; i < 200; i++) await w.tick(Object.fromEntries(shards.map((j) => [j, { cpuCores: 1 }])));
  for (const job of shards) w.alive.delete(`v1-cpu:${job}`);
  await w.tick({});
  const ends = w.events.filter((e): e is RunEnd => e.kind === 'run-end');
  t.is(ends.length, 3);
  t.true(ends.every((e) => !e.recorded), JSON.stringify(ends.map((e) => e.reason)));
  t.is(ends.filter((e) => /ran at once with the last run held back/.test(e.reason!)).length, 2);
  // only the one kept is held (the others are dropped: never learned, so counted as not recorded)
  t.deepEqual(ends.map((e) => e.heldBack === true).sort(), [false, false, true]);
  // two more runs, one after another: with the first shard's, three in a row
  for (const n of [4, 5]) {
    const job = `/jobs/shard-${n}`;
    w.alive.add(`v1-cpu:${job}`);
    w.tasks.set(`v1-cpu:${job}`, sig('f'));
    for (let i = 0; i < 4; i++) await w.tick({ [job]: { cpuCores: 1 } });
    w.alive.delete(`v1-cpu:${job}`);
    await w.tick({});
  }
  t.like(w.events.filter((e): e is RunEnd => e.kind === 'run-end').at(-1), { recorded: true, learnedWith: 2, runs: 3 });
  t.true(held[0]!.samples.length <= 64, `the first shard's run, held: ${held[0]!.samples.length} samples`);
});
test('task runs: a task that ended while its cgroup went on, another process started there since (a restart within a tick), is two runs, the first to its exit; a child it left behind is the same run', async (t) => {
  const ends = new Map<number, ProcessEnd>();
  const oldest = new Map<string, number>();
  const w = world(t, { endOf: (pid) => ends.get(pid) ?? null, oldestStartTicks: (x) => oldest.get(x.path) ?? null });
  const [crashy, forking] = ['/jobs/crashy', '/jobs/forking'];
  const pids = { crashy: 4000 + 'd'.charCodeAt(0), forking: 4000 + 'e'.charCodeAt(0) };
  for (const [job, c] of [[crashy, 'd'], [forking, 'e']] as const) {
    w.alive.add(`v1-cpu:${job}`);
    w.tasks.set(`v1-cpu:${job}`, sig(c));
    oldest.set(job, 700);
  }
  const busy = { [crashy]: { cpuCores: 1 }, [forking]: { cpuCores: 1 } };
  for (let i = 0; i < 4; i++) await w.tick(busy);
  // both tasks exited 0.3 s after the 4th tick (at tick 900 of the boot clock)
  ends.set(pids.crashy, { status: 0, endTicks: 900, endMs: w.now() + 300 });
  ends.set(pids.forking, { status: 0, endTicks: 900, endMs: w.now() + 300 });
  // crashy: a new process since (started at 950); forking: its child, started in the same 10 ms tick as the end
  oldest.set(crashy, 950);
  oldest.set(forking, 900);
  await w.tick(busy);
  // (the next run's start is said once its task is read: the tick after)
  ends.delete(pids.crashy);
  await w.tick(busy);
  const kinds = (job: string): string[] => w.events.filter((e) => e.workload.path === job).map((e) => e.kind);
  t.deepEqual(kinds(crashy), ['run-start', 'run-end', 'run-start'], 'restarted: its run ended, the next begun');
  t.deepEqual(kinds(forking), ['run-start'], 'a child left behind: the same run');
  const first = w.events.find((e) => e.kind === 'run-end' && e.workload.path === crashy) as RunEnd;
  t.like(first, { recorded: true, durationMs: 3300, exitStatus: 0 }, 'from its first tick to its task\'s exit');
  // the forking run is not asked again: a new process there later is not taken for a restart
  oldest.set(forking, 990);
  for (let i = 0; i < 3; i++) await w.tick(busy);
  t.deepEqual(kinds(forking), ['run-start']);
  w.alive.delete(`v1-cpu:${crashy}`);
  await w.tick(busy);
  t.deepEqual(kinds(crashy), ['run-start', 'run-end', 'run-start', 'run-end']);
  t.is(w.store.forecastRun(sig('d').id)!.runs, 2);
});

test('task runs: what a run did not measure (no memory cgroup, the I/O probe off) is forecast as not known, not as 0', async (t) => {
  const w = world(t);
  for (const [n, job] of ['/jobs/b-1', '/jobs/b-2'].entries()) {
    w.alive.add(`v1-cpu:${job}`);
    w.tasks.set(`v1-cpu:${job}`, sig('b'));
    for (let i = 0; i < 6; i++) await w.tick({ [job]: { cpuCores: 1, memoryBytes: null, ioBytesPerSec: null, netBytesPerSec: 10 } });
    if (n === 1) {
      const status = w.runs.statusOf(`v1-cpu:${job}`, w.now(), [2000])!;
      t.like(status.expected!.ahead[0], { horizonMs: 2000, cpuCores: 1, memPeakBytes: null, ioBytesPerSec: null, netBytesPerSec: 10 });
      t.deepEqual(Object.keys(status.expected!.peak).sort(), ['cpuCores', 'netBytesPerSec']);
      t.deepEqual(Object.keys(status.expected!.confidenceOf).sort(), ['cpuCores', 'netBytesPerSec']);
      t.regex(formatRunEvent(w.events.filter((e) => e.kind === 'run-start')[1]!), /peak 1\.00 cores, memory not measured \(1 run/);
    }
    w.alive.delete(`v1-cpu:${job}`);
    await w.tick({});
    await w.tick({});
  }
  t.is(w.events.filter((e) => e.kind === 'run-end' && e.recorded).length, 2);
  // a third run reads memory: the fourth's forecast has memory from that one run alone, and says so
  for (const job of ['/jobs/b-3', '/jobs/b-4']) {
    w.alive.add(`v1-cpu:${job}`);
    w.tasks.set(`v1-cpu:${job}`, sig('b'));
    for (let i = 0; i < 6; i++) await w.tick({ [job]: { cpuCores: 1, memoryBytes: 64 * 2 ** 20, ioBytesPerSec: null, netBytesPerSec: 10 } });
    if (job === '/jobs/b-4') {
      const line = formatRunEvent(w.events.filter((e) => e.kind === 'run-start').at(-1)!);
      const m = /peak 1\.00 cores, 64 MiB \(3 runs, confidence (\d\.\d\d), memory (\d\.\d\d)\)$/.exec(line);
      t.truthy(m, line);
      t.true(Number(m![2]) < Number(m![1]), line);
    }
    w.alive.delete(`v1-cpu:${job}`);
    await w.tick({});
    await w.tick({});
  }
});

test('task runs: a tick whose CPU was not counted (the sched probe kept to the policy\'s workloads) leaves the run\'s CPU out there, not 0', async (t) => {
  const w = world(t);
  // 1 core throughout; every other tick not counted (null), as the agent hands it in now (it read 0)
  for (const job of ['/jobs/c-1', '/jobs/c-2']) {
    w.alive.add(`v1-cpu:${job}`);
    w.tasks.set(`v1-cpu:${job}`, sig('c'));
    for (let i = 0; i < 8; i++) await w.tick({ [job]: { cpuCores: job.endsWith('1') && i % 2 === 1 ? null : 1 } });
    if (job.endsWith('2')) {
      const status = w.runs.statusOf(`v1-cpu:${job}`, w.now(), [2000, 4000])!;
      t.deepEqual(status.expected!.ahead.map((a) => a.cpuCores), [1, 1], 'the first run\'s curve: 1 core wherever counted');
      t.is(status.expected!.peak.cpuCores?.mean, 1);
    }
    w.alive.delete(`v1-cpu:${job}`);
    await w.tick({});
    await w.tick({});
  }
  t.is(w.events.filter((e) => e.kind === 'run-end' && e.recorded).length, 2);
});

test('task runs: a resource\'s own confidence is said only where it prints lower than the run\'s', (t) => {
  const peak = { cpuCores: { mean: 1, p90: 1 }, memPeakBytes: { mean: 2 ** 20, p90: 2 ** 20 } };
  const start = (confidence: number, memory: number): RunEvent => ({
    kind: 'run-start', atMs: 0, workload: workload('/jobs/c'), signature: 'c'.repeat(64), task: { exe: '/usr/bin/stress-ng', args: [] },
    forecast: { signature: 'c'.repeat(64), runs: 8, confidence, confidenceOf: { cpuCores: confidence, memPeakBytes: memory }, durationMs: { mean: 1000, p90: 1000 }, binMs: 50, curve: {}, peak, runPeak: peak },
  });
  // memory read in 7 runs of 8: 0.8154 against 0.8250, both "0.82" as printed
  t.regex(formatRunEvent(start(0.82499, 0.81538)), /\(8 runs, confidence 0\.82\)$/);
  t.regex(formatRunEvent(start(0.82499, 0.5)), /\(8 runs, confidence 0\.82, memory 0\.50\)$/);
});

test('task runs: a task that exits within a tick ends half way through that tick, whose CPU is its last (every end was a tick late)', async (t) => {
  const spans: unknown[] = [];
  const w = world(t, { earlierRun: (key, span) => spans.push([key, span]) });
  const recorded: FinishedRun[] = [];
  const record = w.store.record.bind(w.store);
  w.store.record = (r) => { recorded.push(r); return record(r); };
  const job = '/jobs/e-1';
  w.alive.add(`v1-cpu:${job}`);
  w.tasks.set(`v1-cpu:${job}`, sig('e'));
  for (let i = 0; i < 5; i++) await w.tick({ [job]: { cpuCores: 1, memoryBytes: 64 << 20 } });
  // it exits 0.4 s into the next interval: the tick reads 0.4 cores, and an empty cgroup (its memory read after it went)
  w.alive.delete(`v1-cpu:${job}`);
  await w.tick({ [job]: { cpuCores: 0.4, memoryBytes: 0 } });
  const end = w.events.find((e) => e.kind === 'run-end') as RunEnd;
  // started at the first tick; alive at the 5th (4 s later); gone at the 6th: 4.5 s, where 5.5 s was recorded
  t.like(end, { durationMs: 4500, recorded: true });
  const f = w.store.forecastRun(sig('e').id)!;
  t.is(f.durationMs.mean, 4500);
  // the last sample: that tick's CPU, and no memory (read after the exit)
  const last = recorded[0]!.samples.at(-1)!;
  t.is(last.cpuCores, 0.4);
  t.false('memBytes' in last && last.memBytes !== undefined, JSON.stringify(last));
  t.is(recorded[0]!.samples.length, 6);
  t.true(recorded[0]!.samples.slice(0, -1).every((x) => x.memBytes === 64 << 20));
  // its span, to the tick that found it gone, under its command line: what it wrote is no input of the next run
  t.deepEqual(spans, [['command-e', { startMs: 1_001_000, endMs: 1_006_000 }]]);
});

test('task runs: only the cgroups the policy\'s profiles.match names are followed (a host\'s transient units stay out of the store)', async (t) => {
  const w = world(t, { follows: (x) => matchesGlob('/jobs/**', x.path) });
  for (const job of ['/jobs/f-1', '/system.slice/run-u42.scope']) {
    w.alive.add(`v1-cpu:${job}`);
    w.tasks.set(`v1-cpu:${job}`, sig('f'));
    for (let i = 0; i < 4; i++) await w.tick({ [job]: { cpuCores: 1 } });
    w.alive.delete(`v1-cpu:${job}`);
    await w.tick({});
  }
  t.deepEqual(w.events.map((e) => `${e.kind} ${e.workload.path}`), ['run-start /jobs/f-1', 'run-end /jobs/f-1']);
  t.false(w.runs.wants(workload('/system.slice/run-u43.scope'), 1));
});

test('task runs: a profile evicted to keep within the budget is said, by its task', async (t) => {
  const said: string[] = [];
  const w = world(t, { maxBytes: 16 * 1024, log: (m) => said.push(m) });
  for (let n = 0; n < 16; n++) {
    const job = `/jobs/evict-${n}`;
    w.alive.add(`v1-cpu:${job}`);
    w.tasks.set(`v1-cpu:${job}`, sig(n.toString(16)));
    for (let i = 0; i < 4; i++) await w.tick({ [job]: { cpuCores: 1, memoryBytes: 64 << 20 } });
    w.alive.delete(`v1-cpu:${job}`);
    await w.tick({});
  }
  t.true(w.store.bytes <= 16 * 1024);
  const evictions = said.filter((m) => m.includes('evicted'));
  t.true(evictions.length > 0, said.join('\n'));
  t.regex(evictions[0]!, /^profiles: the least recently used profile evicted to keep within profiles\.max_size: 00000000$/);
});

test('task runs: a new cgroup is a run; it is recorded when it goes, and the next run of its task is forecast as it starts', async (t) => {
  const w = world(t);
  const job = '/jobs/a-1';
  w.alive.add(`v1-cpu:${job}`);
  const a = sig('a');
  w.tasks.set(`v1-cpu:${job}`, { ...a, parts: { ...a.parts, inputs: [{ arg: 2, name: 'in.dat', kind: 'file', bytes: 1234 }, { arg: 3, name: 'data', kind: 'dir', bytes: 99, entries: 3, truncated: false }], env: { JOBMODE: 'x', OTHER: null } } });
  // present at the start: not runs, whatever they do (populated all along)
  w.alive.add('v1-cpu:/system.slice/sshd.service');
  await w.tick({ '/system.slice/sshd.service': { cpuCores: 0.1 }, [job]: { cpuCores: 1, memoryBytes: 100 << 20 } });
  for (let i = 0; i < 9; i++) await w.tick({ '/system.slice/sshd.service': { cpuCores: 0.1 }, [job]: { cpuCores: i < 5 ? 1 : 2, memoryBytes: (100 + 10 * i) << 20 } });
  const start = w.events.find((e) => e.kind === 'run-start') as RunStart;
  t.is(start.signature, 'a'.repeat(64));
  // run --json prints the command line, not the inputs and environment values its profile keeps
  t.deepEqual((runEventRecord(start) as unknown as { task: object }).task, { exe: '/usr/bin/stress-ng', args: ['--cpu', '1'] });
  // (the workload as decisions name it, DecisionRecord['workload']: not the index's cpu directory)
  t.deepEqual(Object.keys((runEventRecord(start) as unknown as { workload: object }).workload).sort(), ['hierarchy', 'id', 'path']);
  t.is(start.forecast, null, 'a task never seen finish has no forecast');
  t.is(w.runs.statusOf('v1-cpu:/system.slice/sshd.service', w.now()), undefined);
  t.is(w.runs.statusOf(`v1-cpu:${job}`, w.now())!.elapsedMs, 9000);

  w.alive.delete(`v1-cpu:${job}`);
  await w.tick({ [job]: { cpuCores: 0 } });
  const end = w.events.find((e) => e.kind === 'run-end') as RunEnd;
  // it ended between its last tick alive and the one that found it gone: half way
  t.like(end, { signature: 'a'.repeat(64), durationMs: 9500, recorded: true, runs: 1 });
  // its label keeps what tells it from another task of the same command line
  t.like(w.store.get('a'.repeat(64))!.task, { inputs: ['in.dat: file, 1234 bytes', 'data: folder, 99 bytes in 3 entries'], env: { JOBMODE: 'x', OTHER: null } });
  t.is(w.runs.statusOf(`v1-cpu:${job}`, w.now()), undefined);
  t.regex(formatRunEvent(end), /^\[run\] v1-cpu:\/jobs\/a-1 ended after 9\.5 s \(task aaaaaaaa\): recorded \(1 run behind its profile\)$/);

  // the same task in another cgroup: forecast from the first run as soon as its task is read
  const next = '/jobs/a-2';
  w.alive.add(`v1-cpu:${next}`);
  w.tasks.set(`v1-cpu:${next}`, sig('a'));
  await w.tick({ [next]: { cpuCores: 1 } });
  await w.tick({ [next]: { cpuCores: 1 } }); // the task read settles after the first tick: the start comes with the second
  const second = w.events.filter((e) => e.kind === 'run-start')[1] as RunStart;
  t.truthy(second.forecast);
  t.is(second.forecast!.runs, 1);
  t.is(second.forecast!.durationMs.mean, 9500);
  t.true(second.forecast!.peak.cpuCores!.mean >= 1.9 && second.forecast!.peak.cpuCores!.mean <= 2.01, `peak cores ${second.forecast!.peak.cpuCores!.mean}`);
  t.is(second.forecast!.peak.memPeakBytes!.mean, 180 << 20);
  const status = w.runs.statusOf(`v1-cpu:${next}`, w.now(), [2000, 60_000])!;
  t.is(status.expected!.runs, 1);
  // 1 s in: the past run ran 1 core for its first half, 2 after; memory grew to 180 MiB
  const [soon, later] = status.expected!.ahead;
  t.like(soon, { horizonMs: 2000, cpuCores: 1 });
  t.true(soon!.memPeakBytes! < 150 << 20, `memory the next 2 s: ${soon!.memPeakBytes! / 2 ** 20} MiB`);
  t.like(later, { horizonMs: 60_000, cpuCores: 2, memPeakBytes: 180 << 20 });
  t.true(Math.abs(status.expected!.progress - 1000 / 9500) < 1e-9, `progress ${status.expected!.progress}`);
  t.regex(formatRunEvent(second), /started: stress-ng --cpu 1 \(task aaaaaaaa\): expected 9\.5 s \(p90 9\.5 s\), peak 2\.00 cores, 180 MiB \(1 run, confidence/);
  t.like(runEventRecord(second), { type: 'run', kind: 'run-start', signature: 'a'.repeat(64), forecast: { runs: 1 } });
});

test('task runs: too short, task unreadable, or a full table: followed or counted, never recorded', async (t) => {
  const w = world(t, { minRunMs: 3000 });
  for (const [path, task] of [['/short', sig('b')], ['/gone', null]] as const) {
    w.alive.add(`v1-cpu:${path}`);
    w.tasks.set(`v1-cpu:${path}`, task);
  }
  await w.tick({ '/short': { cpuCores: 1 }, '/gone': { cpuCores: 1 } });
  await w.tick({ '/short': { cpuCores: 1 }, '/gone': { cpuCores: 1 } });
  w.alive.clear();
  await w.tick({ '/short': {}, '/gone': {} });
  const ends = w.events.filter((e): e is RunEnd => e.kind === 'run-end');
  t.deepEqual(ends.map((e) => [e.workload.path, e.recorded, e.reason]).sort(), [
    ['/gone', false, 'task not read: its process had exited before it could be read'],
    ['/short', false, 'shorter than min_run (3000 ms)'],
  ]);
  t.is(w.store.forecastRun('b'.repeat(64)), undefined, 'nothing recorded');
  t.false(w.runs.wants(workload('/short'), 0), 'an ended run\'s stale counters (no CPU) start nothing');
});

test('task runs: a run the OOM killer cut short is followed and said, not learned as its task\'s', async (t) => {
  const w = world(t);
  w.alive.add('v1-cpu:/grow');
  w.tasks.set('v1-cpu:/grow', sig('c'));
  for (let i = 0; i < 4; i++) await w.tick({ '/grow': { cpuCores: 1, memoryBytes: (i + 1) * 64 * 2 ** 20 } });
  // killed at its limit as it ends: the kernel's count, read at its end (an event could be
  // dropped, or come after the tick that finds the run gone)
  w.ooms.set('v1-cpu:/grow', 1);
  w.alive.clear();
  await w.tick({ '/grow': {} });
  const ends = w.events.filter((e): e is RunEnd => e.kind === 'run-end');
  t.deepEqual(ends.map((e) => [e.workload.path, e.recorded, e.reason]), [['/grow', false, 'OOM-killed: a run cut short is not learned as the task\'s']]);
  t.is(w.store.forecastRun('c'.repeat(64)), undefined, 'nothing learned');
  // kills before its start are not its own
  w.alive.add('v1-cpu:/grow');
  for (let i = 0; i < 4; i++) await w.tick({ '/grow': { cpuCores: 1, memoryBytes: 64 * 2 ** 20 } });
  w.alive.clear();
  await w.tick({ '/grow': {} });
  const again = w.events.filter((e): e is RunEnd => e.kind === 'run-end');
  t.deepEqual(again.map((e) => e.recorded), [false, true], 'the next run, not killed, is learned');
});

test('task runs: a task OOM-killed within its first tick, gone before it could be read, is said as killed, and as lasting at most the tick (not 0 s)', async (t) => {
  // (a walkthrough: "task not read: its process had exited before it could be read", 0 ms, and
  // no word of the kill, for a known task killed a second in)
  const w = world(t);
  await w.tick({}); // the tick before: the run began after it
  w.tasks.set('v1-cpu:/quick', null);
  // the fault probe counted the kill on the very tick that first saw the cgroup busy; the
  // cgroup's own count was read then too (after the kill): only the probe tells it
  w.ooms.set('v1-cpu:/quick', 1);
  await w.tick({ '/quick': { cpuCores: 0.8, oomKilled: true } });
  await w.tick({});
  const ends = w.events.filter((e): e is RunEnd => e.kind === 'run-end');
  t.is(ends.length, 1);
  t.like(ends[0], { oomKilled: true, recorded: false, durationMs: 1000, durationAtMost: true });
  t.regex(ends[0]!.reason!, /^OOM-killed \(its task not read: its process had exited before it could be read\)/);
  t.regex(formatRunEvent(ends[0]!), /ended within a tick \(at most 1\.0 s\): not recorded: OOM-killed/);
  t.true(new RunTelling().says(ends[0]!), 'said by default: a kill is news');
  t.like(runEventRecord(ends[0]!), { durationAtMost: true, oomKilled: true });
  // a cgroup that ran before: its next run's first tick may count the last run's kill, late (a review)
  w.tasks.set('v1-cpu:/again', sig('e'));
  for (const killedLate of [false, true]) {
    w.alive.add('v1-cpu:/again');
    await w.tick({ '/again': { cpuCores: 1, memoryBytes: 2 ** 20, oomKilled: killedLate } });
    for (let i = 0; i < 3; i++) await w.tick({ '/again': { cpuCores: 1, memoryBytes: 2 ** 20 } });
    w.alive.clear();
    await w.tick({ '/again': {} });
  }
  const again = w.events.filter((e): e is RunEnd => e.kind === 'run-end' && e.workload.path === '/again');
  t.deepEqual(again.map((e) => [e.recorded, e.oomKilled]), [[true, undefined], [true, undefined]], 'the second run is learned');
});

test('task runs: a task asleep from its first tick (no CPU read) is a run from the tick its cgroup is first seen; one seen only at its exit in a cgroup seen before has no duration to tell', async (t) => {
  // (a walkthrough: `sleep 4` in a new cgroup, its first tick's reading 0 CPU, was seen only at
  // its exit: "ended within a tick (at most 1.0 s)" for 4 s, or nothing at all)
  const w = world(t);
  w.alive.add('v1-cpu:/nap');
  w.tasks.set('v1-cpu:/nap', sig('f'));
  for (let i = 0; i < 4; i++) await w.tick({ '/nap': { cpuCores: 0 } });
  w.alive.clear();
  await w.tick({ '/nap': { cpuCores: 0.001 } });
  const ends = w.events.filter((e): e is RunEnd => e.kind === 'run-end');
  t.like(ends[0], { signature: 'f'.repeat(64), recorded: true, durationMs: 3500 });
  // the same cgroup again: its stale counters read 0, so only CPU starts a run there; one seen
  // only as it goes, its task unread, ran for a time not known
  w.tasks.set('v1-cpu:/nap', null);
  await w.tick({ '/nap': { cpuCores: 0 } });
  await w.tick({ '/nap': { cpuCores: 0.001 } });
  await w.tick({});
  const last = w.events.filter((e): e is RunEnd => e.kind === 'run-end')[1]!;
  t.like(last, { durationUnknown: true, recorded: false });
  t.is(last.durationAtMost, undefined);
  t.regex(formatRunEvent(last), /ended after a time not known \(its start not seen\): not recorded: task not read/);
  t.like(runEventRecord(last), { durationMs: null });
});

test('task runs: a run beyond its forecast says so at its end; a forecast that will not fit its cgroup says so at its start; CPU is forecast no higher than the cgroup may use', async (t) => {
  const MiB = 2 ** 20;
  const w = world(t, { ceiling: { cpuCores: 2, memoryBytes: 150 * MiB } });
  const run = async (path: string, seconds: number, cores: number, mem: number): Promise<void> => {
    w.alive.add(`v1-cpu:${path}`);
    w.tasks.set(`v1-cpu:${path}`, sig('d'));
    for (let i = 0; i < seconds; i++) await w.tick({ [path]: { cpuCores: cores + (i % 2) * 0.3, memoryBytes: mem } });
    w.alive.delete(`v1-cpu:${path}`);
    await w.tick({ [path]: {} });
  };
  await run('/d-1', 5, 1.8, 100 * MiB);
  await run('/d-2', 5, 1.9, 110 * MiB);
  // the third: the forecast as it starts, then 2.5x as long and 3x the memory
  await run('/d-3', 14, 1.8, 320 * MiB);
  const starts = w.events.filter((e): e is RunStart => e.kind === 'run-start' && e.forecast !== null);
  const third = starts[starts.length - 1]!;
  t.true(third.forecast!.peak.cpuCores!.p90 <= 2, `CPU peak p90 ${third.forecast!.peak.cpuCores!.p90} on a 2-core ceiling`);
  t.true(third.forecast!.curve.cpuCores!.p90.every((c) => c <= 2));
  t.is(third.memoryCeilingBytes, undefined, 'a forecast of 100-110 MiB fits under 150 MiB');
  const ends = w.events.filter((e): e is RunEnd => e.kind === 'run-end');
  t.deepEqual(ends.slice(0, 2).map((e) => e.beyondForecast), [undefined, undefined], 'a run within its forecast (or with none) says nothing more');
  const beyond = ends[2]!;
  t.deepEqual(beyond.beyondForecast!.map((b) => b.what), ['duration_ms', 'memory_peak_bytes']);
  t.regex(formatRunEvent(beyond), /recorded \(3 runs behind its profile\); beyond its forecast: duration 14 s \(p90 4\.5 s\), memory peak 320 MiB \(p90 1\d\d MiB\)$/);
  // (the third's start: its runs peaked at 100-110 MiB, a p90 near 124: no warning under 150 MiB)
  t.is(third.memoryCeilingBytes, undefined);
  // the fourth: its runs' mean peak now holds a 320 MiB run, above the 150 MiB its cgroup may hold
  await run('/d-4', 3, 1.8, 100 * MiB);
  const fourth = w.events.filter((e): e is RunStart => e.kind === 'run-start' && e.forecast !== null).pop()!;
  t.is(fourth.memoryCeilingBytes, 150 * MiB);
  t.regex(formatRunEvent(fourth), /; may not fit: its runs' memory peak \(mean 1\d\d MiB\) is above its cgroup's limit, 150 MiB$/);
});

test('task runs: a cgroup there at the start is not a run, however long it idles; once found empty, its next busy tick is', async (t) => {
  const w = world(t);
  const sshd = 'v1-cpu:/system.slice/sshd.service';
  w.alive.add(sshd);
  w.tasks.set(sshd, sig('d'));
  // idle for longer than any sweep, then busy: still the cgroup that was there, not a run
  for (let i = 0; i < 1300; i++) await w.tick({});
  await w.tick({ '/system.slice/sshd.service': { cpuCores: 0.5 } });
  await w.tick({ '/system.slice/sshd.service': { cpuCores: 0.5 } });
  t.deepEqual(w.events, []);
  // the unit stops (its cgroup empties), then starts again: that start was seen, a run (found
  // empty within 10 ticks: every 60th tick left a service that ran again within the minute unseen)
  w.alive.delete(sshd);
  for (let i = 0; i < 10; i++) await w.tick({});
  w.alive.add(sshd);
  for (let i = 0; i < 3; i++) await w.tick({ '/system.slice/sshd.service': { cpuCores: 0.5 } });
  t.deepEqual(w.events.map((e) => e.kind), ['run-start']);
});

test('task runs: a cgroup there at the start is not read while it is busy; its look waits for its next quiet tick', (t) => {
  const store = new ProfileStore({ dir: join(scratch(t), 'profiles') });
  const reads: string[] = [];
  let populated = true;
  const worker = workload('/jobs/worker');
  const runs = new TaskRuns({
    store, taskOf: async () => null,
    alive: (w) => { reads.push(w.path); return populated; },
  }, [worker]);
  let now = 0;
  const tick = (cpuCores: number): void => {
    const inputs = [{ workload: worker, cpuCores, memoryBytes: null, ioBytesPerSec: 0, netBytesPerSec: 0 }].filter((x) => runs.wants(x.workload, x.cpuCores));
    runs.observe(inputs, now += 1000);
  };
  for (let i = 0; i < 30; i++) tick(0.01);
  t.deepEqual(reads, [], 'busy at every tick: its process list never read');
  tick(0);
  t.deepEqual(reads, ['/jobs/worker'], 'its first quiet tick (its turn has passed)');
  for (let i = 0; i < 8; i++) tick(0);
  t.is(reads.length, 1, 'then on its turn only (every 10th tick)');
  tick(0);
  t.is(reads.length, 2);
  // busy over its turn, emptied at the end of it (its last tick read CPU), then quiet: found
  // empty at the first quiet tick, not a turn later
  for (let i = 0; i < 10; i++) tick(0.5);
  t.is(reads.length, 2);
  populated = false;
  tick(0);
  t.is(reads.length, 3);
  populated = true;
  tick(0.5);
  t.true(runs.wants(worker, 0), 'found empty: a run from its next busy tick');
});

test('task runs: a service started again at the same path is another run of the same task', async (t) => {
  const w = world(t);
  const unit = 'v1-cpu:/system.slice/backup.service';
  w.tasks.set(unit, sig('e'));
  for (let run = 0; run < 4; run++) {
    w.alive.add(unit);
    for (let i = 0; i < 5; i++) await w.tick({ '/system.slice/backup.service': { cpuCores: 1 } });
    w.alive.delete(unit);
    // five minutes between runs, its stale counters still reported (no CPU)
    for (let i = 0; i < 300; i++) await w.tick({ '/system.slice/backup.service': { cpuCores: 0 } });
  }
  const ends = w.events.filter((e): e is RunEnd => e.kind === 'run-end');
  t.deepEqual(ends.map((e) => [e.recorded, e.runs]), [[true, 1], [true, 2], [true, 3], [true, 4]]);
});

test('task runs: a task read that never settles is given up, and the run ends unrecorded', async (t) => {
  const store = new ProfileStore({ dir: join(scratch(t), 'profiles') });
  let alive = true;
  const runs = new TaskRuns({ store, taskOf: () => new Promise(() => {}), alive: () => alive }, []);
  let now = 0;
  const events: RunEvent[] = [];
  for (let i = 0; i < 5; i++) events.push(...runs.observe([{ workload: workload('/stuck'), cpuCores: 1, memoryBytes: null, ioBytesPerSec: 0, netBytesPerSec: 0 }], now += 1000));
  alive = false;
  for (let i = 0; i < 40; i++) events.push(...runs.observe([], now += 1000));
  const end = events.find((e): e is RunEnd => e.kind === 'run-end');
  t.truthy(end, 'the run ends though its task was never read');
  t.is(end!.recorded, false);
  t.regex(end!.reason!, /^task not read/);
});

test('task runs: a long argument list is bounded in the label (argv can be huge, and hold secrets)', async (t) => {
  const w = world(t);
  const long = sig('f');
  long.parts.args = Array.from({ length: 100 }, (_, i) => `--opt${i}=${'x'.repeat(50)}`);
  w.alive.add('v1-cpu:/big');
  w.tasks.set('v1-cpu:/big', long);
  await w.tick({ '/big': { cpuCores: 1 } });
  await w.tick({ '/big': { cpuCores: 1 } });
  const start = w.events.find((e): e is RunStart => e.kind === 'run-start')!;
  t.true(start.task.args!.length <= 33, `${start.task.args!.length} args kept`);
  t.true(start.task.args!.join(' ').length <= 1200);
  t.regex(start.task.args![start.task.args!.length - 1]!, /^\(\+\d+ more\)$/);
});

test('task runs: a long run keeps a bounded number of samples, spread over the whole run', async (t) => {
  const w = world(t, { maxSamples: 64 });
  const id = 'v1-cpu:/long';
  w.alive.add(id);
  w.tasks.set(id, sig('c'));
  // CPU 1 for the first half, 3 for the second: the curve must still show both halves
  for (let i = 0; i < 400; i++) await w.tick({ '/long': { cpuCores: i < 200 ? 1 : 3 } });
  w.alive.clear();
  await w.tick({ '/long': {} });
  const f = w.store.forecastRun('c'.repeat(64))!;
  t.is(f.durationMs.mean, 399_500);
  const cpu = f.curve.cpuCores!.mean;
  t.true(cpu[2]! < 1.2 && cpu[17]! > 2.8, `curve ${cpu.map((x) => x.toFixed(1)).join(' ')}`);
});

test('task reader: the oldest process of a cgroup, read from /proc: executable, arguments, chosen environment', async (t) => {
  const dir = scratch(t);
  const input = join(dir, 'input.dat');
  writeFileSync(input, 'x'.repeat(1234));
  const older = spawn('/usr/bin/tail', ['-f', input], { cwd: dir, env: { PATH: '/usr/bin:/bin', JOB_SIZE: 'large', OTHER: 'x' }, stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 50));
  const newer = spawn('/bin/sleep', ['31'], { stdio: 'ignore' });
  t.teardown(() => { older.kill('SIGKILL'); newer.kill('SIGKILL'); });
  // both exec'd (their /proc/<pid>/exe is the program, no longer node) before they are read
  for (let i = 0; i < 100; i++) {
    try {
      if (readlinkSync(`/proc/${older.pid!}/exe`).endsWith('/tail') && readlinkSync(`/proc/${newer.pid!}/exe`).endsWith('/sleep')) break;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 20));
  }
  writeFileSync(join(dir, 'cgroup.procs'), `${newer.pid!}\n${older.pid!}\n`);

  const reader = new TaskReader({ envKeys: ['JOB_SIZE'] });
  const task = (await reader.of(dir))!;
  t.is(task.pid, older.pid!, 'the oldest process is the task');
  t.regex(task.signature.parts.exePath, /\/tail$/);
  t.deepEqual(task.signature.parts.args, ['-f', input]);
  t.deepEqual(task.signature.parts.env, { JOB_SIZE: 'large' });
  t.deepEqual(task.signature.parts.inputs, [{ arg: 1, name: input, kind: 'file', bytes: 1234 }]);
  const again = (await reader.of(dir))!;
  t.is(again.signature.id, task.signature.id, 'the same task reads the same');

  writeFileSync(input, 'x'.repeat(99)); // another input size: another task
  t.not((await reader.of(dir))!.signature.id, task.signature.id);

  // a binary deleted since it started (an upgrade under a running job): still hashed, through /proc
  const copy = join(dir, 'my-sleep');
  copyFileSync('/bin/sleep', copy);
  chmodSync(copy, 0o755);
  const orphan = spawn(copy, ['30'], { stdio: 'ignore' });
  t.teardown(() => { orphan.kill('SIGKILL'); });
  for (let i = 0; i < 100 && !readlinkSafe(`/proc/${orphan.pid!}/exe`).endsWith('/my-sleep'); i++) await new Promise((r) => setTimeout(r, 20));
  unlinkSync(copy);
  writeFileSync(join(dir, 'cgroup.procs'), `${orphan.pid!}\n`);
  const gone = (await reader.of(dir))!;
  t.is(gone.signature.parts.exePath, copy, 'its path, without " (deleted)"');
  t.is(gone.signature.parts.exeBytes, statSync('/bin/sleep').size, 'the binary it runs, hashed though deleted');

  // one binary called by two names (a multi-call binary: xz as unxz): two tasks, each named as called
  const alias = join(dir, 'nap');
  symlinkSync('/bin/sleep', alias);
  const called = spawn(alias, ['30'], { stdio: 'ignore' });
  const plain = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
  t.teardown(() => { called.kill('SIGKILL'); plain.kill('SIGKILL'); });
  for (let i = 0; i < 100 && ![called, plain].every((c) => readlinkSafe(`/proc/${c.pid!}/exe`).endsWith('/sleep')); i++) await new Promise((r) => setTimeout(r, 20));
  writeFileSync(join(dir, 'cgroup.procs'), `${called.pid!}\n`);
  const asNap = (await reader.of(dir))!;
  writeFileSync(join(dir, 'cgroup.procs'), `${plain.pid!}\n`);
  const asSleep = (await reader.of(dir))!;
  t.is(asNap.signature.parts.exeSha256, asSleep.signature.parts.exeSha256);
  t.is(asNap.signature.parts.exeName, 'nap');
  t.is(asSleep.signature.parts.exeName, 'sleep');
  t.not(asNap.signature.id, asSleep.signature.id, 'the name it was called by is part of the task');

  writeFileSync(join(dir, 'cgroup.procs'), '');
  t.is(await reader.of(dir), null, 'an empty cgroup has no task');
  t.is(await reader.of(join(dir, 'missing')), null, 'nor has a removed one');
});

test('task reader: a process younger than half a second is read once it is that old: a launcher has exec\'d its task by then', async (t) => {
  // (this session's walk: `python3 job.py` under a pyenv shim was signed as the shim 1 run in 5)
  const dir = scratch(t);
  const launcher = spawn('/bin/sh', ['-c', 'sleep 0.2; exec /bin/sleep 31'], { stdio: 'ignore' });
  t.teardown(() => launcher.kill('SIGKILL'));
  writeFileSync(join(dir, 'cgroup.procs'), `${launcher.pid!}\n`);
  const read = (await new TaskReader({ envKeys: [] }).of(dir))!;
  t.regex(read.signature.parts.exePath, /\/sleep$/, 'the task, not its launcher');
  t.deepEqual(read.signature.parts.args, ['31']);
  // told not to wait, the launcher is read
  const early = spawn('/bin/sh', ['-c', 'sleep 0.5; exec /bin/sleep 31'], { stdio: 'ignore' });
  t.teardown(() => early.kill('SIGKILL'));
  writeFileSync(join(dir, 'cgroup.procs'), `${early.pid!}\n`);
  await new Promise((r) => setTimeout(r, 50));
  t.regex((await new TaskReader({ envKeys: [], settleMs: 0 }).of(dir))!.signature.parts.exePath, /\/(ba|da)?sh$/);
});

test('task reader: a file the task holds open for writing is its output, not an input, however old its mtime', async (t) => {
  const dir = scratch(t);
  const log = join(dir, 'out.log');
  writeFileSync(log, 'x'.repeat(500));
  const old = new Date(Date.now() - 3_600_000);
  utimesSync(log, old, old);
  // a shell that opens the log for appending (mtime untouched) and waits: the log named in its arguments
  const task = spawn('/bin/sh', ['-c', 'exec 3>>"$0"; sleep 30', log], { stdio: 'ignore' });
  t.teardown(() => task.kill('SIGKILL'));
  for (let i = 0; i < 100; i++) {
    try {
      if (readlinkSync(`/proc/${task.pid!}/fd/3`) === log) break;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 20));
  }
  writeFileSync(join(dir, 'cgroup.procs'), `${task.pid!}\n`);
  const read = (await new TaskReader({ envKeys: [] }).of(dir))!;
  t.deepEqual(read.signature.parts.args, ['-c', 'exec 3>>"$0"; sleep 30', log]);
  // signed as though not there yet: a path that names nothing, as before the task made it
  t.deepEqual(read.signature.parts.inputs, [{ arg: 2, name: log, kind: 'missing' }], 'the log, open for writing, is not sized');
});

test('task reader: an input the task deleted, or moved into another folder, since it started is sized through the file it holds open', async (t) => {
  const dir = scratch(t);
  const [gone, moved, elsewhere, renamed] = [join(dir, 'gone.bin'), join(dir, 'moved.bin'), join(dir, 'work'), join(dir, 'spool.bin')];
  writeFileSync(gone, Buffer.alloc(1234));
  writeFileSync(moved, Buffer.alloc(4321));
  writeFileSync(renamed, Buffer.alloc(777));
  mkdirSync(elsewhere);
  const old = new Date(Date.now() - 3_600_000);
  for (const f of [gone, moved, renamed]) utimesSync(f, old, old);
  await new Promise((r) => setTimeout(r, 50)); // (their ctimes before the task's start)
  // a shell that opens them, removes the one, moves the next away and renames the last, and waits
  const task = spawn('/bin/sh', ['-c', 'exec 3<"$0" 4<"$1" 5<"$3"; rm "$0"; mv "$1" "$2"/; mv "$3" "$3.work"; touch "$2"/ready; sleep 30', gone, moved, elsewhere, renamed], { stdio: 'ignore' });
  t.teardown(() => task.kill('SIGKILL'));
  for (let i = 0; i < 100 && !existsSync(join(elsewhere, 'ready')); i++) await new Promise((r) => setTimeout(r, 20));
  writeFileSync(join(dir, 'cgroup.procs'), `${task.pid!}\n`);
  const read = (await new TaskReader({ envKeys: [] }).of(dir))!;
  const inputs = read.signature.parts.inputs;
  t.deepEqual(inputs.filter((i) => i.kind === 'file'), [
    { arg: 2, name: gone, kind: 'file', bytes: 1234 },
    { arg: 3, name: moved, kind: 'file', bytes: 4321 },
    { arg: 5, name: renamed, kind: 'file', bytes: 777 },
  ], JSON.stringify(inputs));
  // (without the open files: missing, as before)
  t.deepEqual((await taskSignature({ exe: '/bin/sh', argv0: 'sh', args: read.signature.parts.args, cwd: dir })).parts.inputs.slice(0, 2), [
    { arg: 2, name: gone, kind: 'missing' },
    { arg: 3, name: moved, kind: 'missing' },
  ]);
});

test('run says by default: a start with a forecast, an end recorded, and the end of every run whose start it said (recorded or not, with why)', (t) => {
  const w = (id: string) => ({ id, path: `/${id}`, hierarchy: 'v2', cpuDir: `/sys/fs/cgroup/${id}` }) as Workload;
  const forecast = { runs: 2 } as RunStart['forecast'];
  const start = (id: string, f: RunStart['forecast']): RunStart => ({ kind: 'run-start', atMs: 0, workload: w(id), signature: 'ab', task: { exe: '/bin/x', args: [] }, forecast: f });
  const end = (id: string, recorded: boolean, reason?: string): RunEnd => ({ kind: 'run-end', atMs: 1, workload: w(id), signature: 'ab', durationMs: 5, recorded, ...(reason ? { reason } : {}) });
  const telling = new RunTelling();
  t.true(telling.says(start('a', forecast)), 'a start with a forecast');
  t.false(telling.says(start('b', null)), 'a start without one');
  t.true(telling.says(end('a', false, 'profile not saved (see the log)')), 'the end of a run whose start was said, not recorded');
  t.false(telling.says(end('b', false, 'shorter than min_run (1000 ms)')), 'nor its start nor its end worth saying');
  t.true(telling.says(end('b', true)), 'an end recorded, start said or not');
  t.false(telling.says(end('a', false)), 'a run\'s start is said once, and its end once');
  // the same path again: another run
  t.true(telling.says(start('a', forecast)));
  t.false(telling.says(end('c', false)), 'another workload\'s start does not count');
  t.true(telling.says(end('a', false)));
});

test('task runs: a memory spike between two ticks, in its cgroup\'s high water, is the run\'s peak (a cgroup that ran before: from its first rise)', async (t) => {
  const w = world(t);
  const recorded: FinishedRun[] = [];
  const record = w.store.record.bind(w.store);
  w.store.record = (r) => { recorded.push(r); return record(r); };
  const MiB = 2 ** 20;
  const job = '/jobs/h-1';
  w.alive.add(`v1-cpu:${job}`);
  w.tasks.set(`v1-cpu:${job}`, sig('7'));
  // 64 MiB in use at every tick; between the 3rd and 4th, a spike to 160 MiB the ticks never read
  const highWater = [64, 64, 64, 160, 160, 160];
  for (const hw of highWater) await w.tick({ [job]: { cpuCores: 1, memoryBytes: 64 * MiB, memoryHighWaterBytes: hw * MiB } });
  w.alive.delete(`v1-cpu:${job}`);
  await w.tick({});
  await w.tick({});
  t.is(recorded.length, 1);
  const peaks = recorded[0]!.samples.map((s) => (s.memPeakBytes ?? s.memBytes)! / MiB);
  t.deepEqual(peaks, [64, 64, 64, 160, 64, 64], 'the spike in the tick it came in, not after');
  t.is(w.store.forecastRun(sig('7').id)!.peak.memPeakBytes!.mean, 160 * MiB);
  t.is(w.store.forecastRun(sig('7').id)!.peak.memSustainedBytes!.mean, 64 * MiB, 'what it held at the ticks stays its sustained memory');
  // the cgroup fills again: its high water is the last run's spike, not this one's
  w.alive.add(`v1-cpu:${job}`);
  for (let i = 0; i < 16 && !w.events.some((e) => e.kind === 'run-start' && e.workload.path === job && e !== w.events.find((f) => f.kind === 'run-start')); i++) {
    await w.tick({ [job]: { cpuCores: 1, memoryBytes: 64 * MiB, memoryHighWaterBytes: 160 * MiB } });
  }
  for (let i = 0; i < 5; i++) await w.tick({ [job]: { cpuCores: 1, memoryBytes: 64 * MiB, memoryHighWaterBytes: 160 * MiB } });
  w.alive.delete(`v1-cpu:${job}`);
  await w.tick({});
  await w.tick({});
  t.is(recorded.length, 2, 'a second run in the same cgroup');
  t.true(recorded[1]!.samples.every((s) => (s.memPeakBytes ?? s.memBytes) === 64 * MiB), JSON.stringify(recorded[1]!.samples));
  recorded.length = 0;
  // no high water (a kernel without memory.peak): the ticks' reads, as before
  const plain = '/jobs/h-2';
  w.alive.add(`v1-cpu:${plain}`);
  w.tasks.set(`v1-cpu:${plain}`, sig('8'));
  for (let i = 0; i < 6; i++) await w.tick({ [plain]: { cpuCores: 1, memoryBytes: 64 * MiB, memoryHighWaterBytes: null } });
  w.alive.delete(`v1-cpu:${plain}`);
  await w.tick({});
  await w.tick({});
  t.deepEqual(recorded[0]!.samples.map((s) => (s.memPeakBytes ?? s.memBytes)! / MiB), [64, 64, 64, 64, 64, 64]);
});

test('task runs: a run\'s memory is what it needs, its page cache taken off what it holds and off its high water (a job reading a 300 MB file needs 9 MiB, not 309)', async (t) => {
  const w = world(t, { ceiling: { cpuCores: null, memoryBytes: 100 * 2 ** 20 } });
  const recorded: FinishedRun[] = [];
  const record = w.store.record.bind(w.store);
  w.store.record = (r) => { recorded.push(r); return record(r); };
  const MiB = 2 ** 20;
  const job = '/jobs/cache-1';
  w.alive.add(`v1-cpu:${job}`);
  w.tasks.set(`v1-cpu:${job}`, sig('9'));
  // it reads the file through: its page cache grows; its own 9 MiB stays
  const cache = [0, 100, 200, 300, 300, 300];
  for (const c of cache) {
    await w.tick({ [job]: { cpuCores: 1, memoryBytes: (9 + c) * MiB, memoryHighWaterBytes: (9 + c) * MiB, memoryFileBytes: c * MiB } });
  }
  w.alive.delete(`v1-cpu:${job}`);
  await w.tick({});
  await w.tick({});
  t.is(recorded.length, 1);
  t.true(recorded[0]!.samples.every((s) => s.memBytes === 9 * MiB && (s.memPeakBytes ?? 9 * MiB) === 9 * MiB), JSON.stringify(recorded[0]!.samples));
  // its next run: the forecast fits the 100 MiB limit, so nothing warns that it may not
  w.alive.add(`v1-cpu:${job}`);
  for (let i = 0; i < 4; i++) await w.tick({ [job]: { cpuCores: 1, memoryBytes: 9 * MiB, memoryHighWaterBytes: 309 * MiB, memoryFileBytes: 0 } });
  const start = w.events.filter((e): e is RunStart => e.kind === 'run-start').at(-1)!;
  t.is(start.forecast!.peak.memPeakBytes!.mean, 9 * MiB);
  t.false('memoryCeilingBytes' in start, JSON.stringify(start));
  // a spike of its own between two ticks, above the cache it holds: in its peak, less the cache
  const spiky = '/jobs/cache-2';
  w.alive.add(`v1-cpu:${spiky}`);
  w.tasks.set(`v1-cpu:${spiky}`, sig('a'));
  recorded.length = 0;
  for (const [hw, c] of [[50, 40], [50, 40], [210, 40], [210, 40]] as const) {
    await w.tick({ [spiky]: { cpuCores: 1, memoryBytes: 50 * MiB, memoryHighWaterBytes: hw * MiB, memoryFileBytes: c * MiB } });
  }
  w.alive.delete(`v1-cpu:${spiky}`);
  await w.tick({});
  await w.tick({});
  t.deepEqual(recorded[0]!.samples.map((s) => (s.memPeakBytes ?? s.memBytes)! / MiB), [10, 10, 170, 10]);
});

test('task runs: the runs of a command line going on now are its spans so far (their outputs are no input of another run of it read meanwhile); none once ended', async (t) => {
  const w = world(t);
  const job = '/jobs/conv-1';
  w.alive.add(`v1-cpu:${job}`);
  w.tasks.set(`v1-cpu:${job}`, sig('c'));
  t.deepEqual(w.runs.ongoing('command-c'), [], 'nothing before its task is read');
  for (let i = 0; i < 3; i++) await w.tick({ [job]: { cpuCores: 1 } });
  const spans = w.runs.ongoing('command-c', w.now());
  t.is(spans.length, 1);
  t.is(spans[0]!.endMs, w.now(), 'to now');
  t.true(spans[0]!.startMs <= w.now() - 2000, JSON.stringify(spans));
  t.deepEqual(w.runs.ongoing('command-d'), [], 'another command line');
  w.alive.delete(`v1-cpu:${job}`);
  await w.tick({});
  t.deepEqual(w.runs.ongoing('command-c'), [], 'ended: its span is an earlier run\'s now');
});

test('task runs: awaits says which cgroups no probe counted are handed in all the same (a job\'s new cgroup while the sched probe is filtered), and its run is followed with no CPU counted', async (t) => {
  const w = world(t, { follows: (x) => !x.path.startsWith('/user.slice') });
  const job = '/batch/job-1';
  const id = `v1-cpu:${job}`;
  // there at the start, not followed, or the root: never
  t.false(w.runs.awaits(workload('/system.slice/sshd.service')));
  t.false(w.runs.awaits(workload('/user.slice/session-1.scope')));
  t.false(w.runs.awaits(workload('/')));
  // a new, followed cgroup: awaited until handed in
  t.true(w.runs.awaits(workload(job)));
  w.alive.add(id);
  w.tasks.set(id, sig('j'));
  // handed in with no CPU counted on any tick: its first sight, holding a process, starts the run
  for (let i = 0; i < 3; i++) await w.tick({ [job]: { cpuCores: null } });
  t.deepEqual(w.events.map((e) => e.kind), ['run-start']);
  t.true(w.runs.awaits(workload(job)), 'on a run');
  w.alive.delete(id);
  await w.tick({ [job]: { cpuCores: null } });
  t.deepEqual(w.events.map((e) => e.kind), ['run-start', 'run-end']);
  // (from its first tick to half way between its last tick alive and the tick that found it gone)
  const end = w.events[1]!;
  t.is(end.kind === 'run-end' ? end.durationMs : undefined, 2500);
  // ended, and seen: no longer awaited (its next run waits for its CPU: wants)
  t.false(w.runs.awaits(workload(job)));
});

test('task runs: a cgroup whose directory went and was made again at the same path (a timer\'s service) is a new cgroup: awaited, and a run from its first sight holding a process, with no CPU counted', async (t) => {
  const w = world(t);
  const job = '/timers/backup.service';
  const id = `v1-cpu:${job}`;
  w.alive.add(id);
  w.tasks.set(id, sig('b'));
  for (let i = 0; i < 3; i++) await w.tick({ [job]: { cpuCores: 0.5 } });
  w.alive.delete(id);
  await w.tick({ [job]: { cpuCores: 0 } });
  t.deepEqual(w.events.map((e) => e.kind), ['run-start', 'run-end']);
  // seen: its next run would wait for its CPU to be counted
  t.false(w.runs.awaits(workload(job)));
  // the walk finds it removed and made again
  w.runs.forget([id]);
  t.true(w.runs.unknown(id));
  t.true(w.runs.awaits(workload(job)));
  w.alive.add(id);
  for (let i = 0; i < 2; i++) await w.tick({ [job]: { cpuCores: null } });
  t.deepEqual(w.events.map((e) => e.kind), ['run-start', 'run-end', 'run-start']);
});

test('task runs: a run whose cgroup was found late (its process began 5 ticks before) leaves its curve\'s unseen start out of its profile, and says so; one begun before its cgroup (seen before) was seen busy too; a start within a tick\'s clock slack does not', async (t) => {
  const startedAt = new Map<string, number>();
  const w = world(t, { startedAt });
  const mib = 2 ** 20;
  // (a tick before: the first tick has none before it, and nothing is unseen there)
  await w.tick({});
  // its memory climbs 10 MiB a second from 0, the same every run
  const runJob = async (job: string, beganMs: number, idleTicks = 0): Promise<RunEnd> => {
    const id = `v1-cpu:${job}`;
    w.alive.add(id);
    w.tasks.set(id, sig('d'));
    // (the first tick handing it in is at now + 1 s; its process began beganMs before that)
    startedAt.set(id, w.now() + 1000 - beganMs);
    // (handed in idle first: a cgroup seen before, its run begun at its first busy tick)
    for (let i = 0; i < idleTicks; i++) await w.tick({ [job]: { cpuCores: 0 } });
    for (let i = Math.floor(beganMs / 1000); i < 10; i++) await w.tick({ [job]: { cpuCores: 1, memoryBytes: (i + 1) * 10 * mib } });
    w.alive.delete(id);
    await w.tick({ [job]: { cpuCores: 0 } });
    return w.events.filter((e): e is RunEnd => e.kind === 'run-end' && e.workload.id === id).at(-1)!;
  };
  const first = await runJob('/jobs/d-1', 200);
  t.like(first, { recorded: true, runs: 1 }, first.reason);
  t.false('unseenMs' in first, 'begun within the tick ahead of the one that saw it: seen from its start');
  const before = w.store.get(sig('d').id)!.curve.memSustainedBytes!;
  t.false('sliceWeight' in before);
  const late = await runJob('/jobs/d-2', 5200);
  // begun 5.2 s before the tick that saw it: the 4.2 s to the tick before that no tick could see
  t.like(late, { recorded: true, runs: 2, unseenMs: 4200, unseenBecause: 'found-late' });
  t.regex(formatRunEvent(late), /recorded \(2 runs behind its profile\); its first 4\.2 s not seen \(its cgroup found late\): left out of its profile$/);
  t.like(runEventRecord(late), { unseenMs: 4200, unseenBecause: 'found-late' });
  const after = w.store.get(sig('d').id)!.curve.memSustainedBytes!;
  const unseen = unseenSlices(late.durationMs, late.unseenMs);
  t.true(unseen >= 7, `${unseen} slices unseen of ${late.durationMs} ms`);
  // (filled from its first sample, 60 MiB, the profile's first slices rose towards it)
  for (let b = 0; b < unseen; b++) t.is(after.mean[b], before.mean[b], `slice ${b}`);
  t.true(after.mean[BINS - 1]! > 90 * mib, 'the slices it saw are learned');
  // a start read 0.2 s before the tick ahead of the one that saw it: within the start clock's
  // slack (the kept boot time drifts up to 250 ms), a run seen on time
  const jitter = await runJob('/jobs/d-3', 1200);
  t.like(jitter, { recorded: true, runs: 3 });
  t.false('unseenMs' in jitter, 'within the clock\'s slack');
  // a cgroup seen before, idle 3 ticks, its process begun then: not seen as a run until busy
  const idle = await runJob('/jobs/d-1', 3200, 3);
  // (begun 3.2 s before its first idle tick, busy from the fourth: 5.2 s to the tick ahead of that)
  t.like(idle, { recorded: true, runs: 4, unseenMs: 5200, unseenBecause: 'before-busy' });
  t.regex(formatRunEvent(idle), /; its first 5\.2 s not seen \(begun before its cgroup was seen busy\): left out of its profile;/);
});
