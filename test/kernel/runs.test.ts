// Task runs on the live agent: a job (stress-ng on one CPU for 4 s) run twice, each time in a
// new test cgroup made while `headroom run` runs. The first run is recorded into the policy's
// profile store when its cgroup goes; the second is forecast as it starts (duration and peak
// CPU from the first), exported to Prometheus, and recorded in turn; `headroom profiles list`
// shows the task with its two runs. Both runs' start and end also reach an OpenTelemetry collector
// as log records (the push set in the policy's export.otlp). Their cgroups have the cpu controller
// only, so their memory is not measured (and not said to be 0); a third job holding 64 MiB, then
// 160 MiB for a tenth of a second, runs in a cgroup the memory controller sees too, and its
// profile has its peak.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metricValue } from '../helpers/prometheus.js';
import { ProfileStore } from '../../agent/predict/profiles.js';
import { kernelTest, testIf } from '../helpers/host.js';
import { TestCgroup } from '../helpers/cgroups.js';
import { memoryControllerWhy, MemoryTestCgroup } from '../helpers/memory-cgroup.js';
import { freePort, headroom, headroomBin, start, startIn, waitFor } from '../helpers/proc.js';
import { attributesOf, logRecordsOf, startCollector } from '../helpers/otlp-collector.js';

const MiB = 2 ** 20;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface RunLine {
  type: 'run'; kind: 'run-start' | 'run-end'; workload: { id: string; path: string }; signature: string | null;
  durationMs?: number; recorded?: boolean; runs?: number; reason?: string; killedBy?: string; exitStatus?: number; learnedWith?: number;
  task?: { exe: string; args: string[] };
  forecast?: { runs: number; durationMs: { mean: number; p90: number }; peak: { cpuCores: { mean: number; p90: number } } } | null;
}

kernelTest('runs: a job run twice is recorded into its profile, and its second run is forecast as it starts', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-test-runs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const { url: otlp, requests } = await startCollector(t);
  const policy = join(dir, 'policy.yaml');
  // (the OTLP push from the policy, not --otlp-endpoint: its metrics only at the stop)
  writeFileSync(policy, `version: 1
export:
  prometheus: { enabled: true, listen: "127.0.0.1:${port}" }
  otlp: { endpoint: "${otlp}", interval: 600s }
profiles:
  dir: ${join(dir, 'profiles')}
  min_run: 1s
`);
  const agent = headroom(['run', '--policy', policy, '--json', '--events', '--no-table', '--state-dir', join(dir, 'state')], { timeoutMs: 120_000 });
  t.teardown(() => { agent.child.kill('SIGKILL'); });
  await waitFor(() => agent.stderr().includes('metrics at'), 'the agent to start', 20_000);
  t.true(agent.stderr().includes(`metrics pushed to ${otlp} every 600 s; decisions and events to ${otlp.replace(/metrics$/, 'logs')}`), agent.stderr());
  const lines = (): RunLine[] => agent.stdout().split('\n').filter((l) => l.includes('"type":"run"')).map((l) => JSON.parse(l) as RunLine);
  const of = (cg: TestCgroup, kind: RunLine['kind']): RunLine | undefined => lines().find((l) => l.kind === kind && l.workload.path === cg.path);

  let metrics = '';
  // (on hybrid hosts the job cgroups are in the cpu hierarchy only; on cgroup2 another test may have left memory enabled for them)
  let cpuOnly = true;
  for (const n of [1, 2]) {
    const cg = new TestCgroup(`run-job-${n}`); // made after the agent started: a run
    cpuOnly = !cg.v2;
    t.teardown(() => cg.remove());
    const job = startIn(cg, 'stress-ng', ['--cpu', '1', '--timeout', '4s', '--quiet'], 30_000);
    await waitFor(() => of(cg, 'run-start') !== undefined, `the start of run ${n}, its task read`, 10_000);
    if (n === 2) metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    await job.done;
    await cg.remove();
    await waitFor(() => of(cg, 'run-end') !== undefined, `the end of run ${n}`, 10_000);
  }
  // a run in a cgroup the memory controller sees too (as a container's): its memory is measured
  const withMemory = memoryControllerWhy() === null;
  const mem = withMemory ? new MemoryTestCgroup('run-mem') : undefined;
  if (mem) {
    t.teardown(() => mem.remove());
    // a 256 MiB file read through twice first (its page cache, charged to the job, on the
    // active list once read twice: reclaimable, not what the job needs), then 64 MiB held for 3 s, then a
    // 160 MiB buffer for a tenth of a second (dd's), between two ticks as a rule: only the
    // cgroup's high water has it. (The file written past the page cache, so the job's read
    // brings it in, charged to its cgroup.)
    const big = join(dir, 'big.bin');
    await start('dd', ['if=/dev/zero', `of=${big}`, 'bs=1M', 'count=256', 'oflag=direct', 'status=none'], { timeoutMs: 60_000 }).done;
    const vm = mem.startIn('sh', ['-c', 'cat "$1" > /dev/null && cat "$1" > /dev/null && stress-ng --vm 1 --vm-bytes 64M --vm-keep --timeout 3s --quiet && dd if=/dev/zero of=/dev/null bs=160M count=1 2>/dev/null && sleep 1.5', 'sh', big], 30_000);
    await vm.done;
    await mem.remove();
    await waitFor(() => lines().some((l) => l.kind === 'run-end' && l.workload.path === mem.path), 'the end of the run with memory', 10_000);
  }
  // a task that changes directory at once (make -C, a daemon): its relative input is found from
  // where it exec'd (the sched probe's), not from / where it is when read half a second on
  const mover = new TestCgroup('run-chdir');
  t.teardown(() => mover.remove());
  writeFileSync(join(dir, 'input.bin'), Buffer.alloc(12345));
  const moved = startIn(mover, 'sh', ['-c', 'cd "$1" && exec env D=/ perl -e \'chdir($ENV{D}) or die; sleep 2\' input.bin', 'sh', dir], 30_000);
  await moved.done;
  await mover.remove();
  await waitFor(() => lines().some((l) => l.kind === 'run-end' && l.workload.path === mover.path), 'the end of the run that changed directory', 10_000);
  // a job that writes its output, named in its arguments, late in each run (after its task is
  // read): the next run finds it there, and must not sign it as an input (every run had a
  // signature of its own, none forecast: a walkthrough)
  writeFileSync(join(dir, 'in.bin'), Buffer.alloc(3000));
  const writer = 'import sys, time, os; time.sleep(1.2); open(sys.argv[2], "wb").write(os.urandom(1000 + int.from_bytes(os.urandom(2), "big")))';
  const writers: TestCgroup[] = [];
  for (const n of [1, 2]) {
    const cg = new TestCgroup(`run-writer-${n}`);
    writers.push(cg);
    t.teardown(() => cg.remove());
    const job = startIn(cg, 'sh', ['-c', 'cd "$1" && exec python3 -c "$2" in.bin out.bin', 'sh', dir, writer], 30_000);
    await job.done;
    await cg.remove();
    await waitFor(() => of(cg, 'run-end') !== undefined, `the end of the writer's run ${n}`, 10_000);
  }
  const [writer1, writer2] = writers.map((cg) => of(cg, 'run-start')!);
  t.is(writer2!.signature, writer1!.signature, 'the first run\'s out.bin is its output, not the second\'s input');
  t.truthy(writer2!.forecast, 'the second run is forecast');
  // a job killed (a timeout, a cancel): not its task's usual run, not learned, and said so
  const victim = new TestCgroup('run-killed');
  t.teardown(() => victim.remove());
  const doomed = startIn(victim, 'sleep', ['30'], 30_000);
  await waitFor(() => of(victim, 'run-start') !== undefined, 'the start of the run to be killed', 10_000);
  doomed.child.kill('SIGKILL');
  await doomed.done;
  await victim.remove();
  await waitFor(() => of(victim, 'run-end') !== undefined, 'the end of the killed run', 10_000);
  t.like(of(victim, 'run-end'), { recorded: false, killedBy: 'SIGKILL', reason: 'killed by SIGKILL: a run cut short is not learned as the task\'s' });
  t.true(of(writers[1]!, 'run-end')?.exitStatus === 0, JSON.stringify(of(writers[1]!, 'run-end')));
  // a job that ends with status 1 as a rule (grep finding nothing): its first runs held back,
  // learned with its third (every such run went unlearned: a review)
  const usual: TestCgroup[] = [];
  for (const n of [1, 2, 3]) {
    const cg = new TestCgroup(`run-status-${n}`);
    usual.push(cg);
    t.teardown(() => cg.remove());
    t.is((await startIn(cg, 'perl', ['-e', 'sleep 1.3; exit 1'], 30_000).done).code, 1);
    await cg.remove();
    await waitFor(() => of(cg, 'run-end') !== undefined, `the end of the run ending 1, ${n}`, 10_000);
  }
  t.like(of(usual[0]!, 'run-end'), { recorded: false, heldBack: true, exitStatus: 1 });
  t.like(of(usual[1]!, 'run-end'), { recorded: false, heldBack: true, exitStatus: 1 });
  t.like(of(usual[2]!, 'run-end'), { recorded: true, exitStatus: 1, runs: 3, learnedWith: 2 });
  t.false('heldBack' in of(usual[2]!, 'run-end')!);
  // the two held back counted as held, not as runs not recorded (the page is rendered at a tick)
  const heldCount = async (): Promise<number | undefined> => metricValue(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), 'headroom_task_runs_total', { outcome: 'held' });
  let held: number | undefined;
  await waitFor(async () => (held = await heldCount()) === 2, 'the held runs counted', 5_000).catch(() => undefined);
  t.is(held, 2, 'headroom_task_runs_total{outcome="held"}');
  // a crash loop: a supervisor outside the cgroup (systemd's RestartSec=100ms) starts the job
  // again 0.2 s after each exit, within a tick: three runs, not one (a walkthrough: four 3.5 s
  // runs were one of 15 s, recorded so)
  const looped = new TestCgroup('run-loop');
  t.teardown(() => looped.remove());
  for (let i = 0; i < 3; i++) {
    await startIn(looped, 'sleep', ['1.6'], 30_000).done;
    await new Promise((r) => setTimeout(r, 200));
  }
  await looped.remove();
  await waitFor(() => lines().filter((l) => l.kind === 'run-end' && l.workload.path === looped.path).length >= 3, 'the ends of the three runs in one cgroup', 10_000);
  const loopEnds = lines().filter((l) => l.kind === 'run-end' && l.workload.path === looped.path);
  t.is(loopEnds.length, 3, JSON.stringify(loopEnds));
  t.true(loopEnds.every((l) => l.recorded === true && l.durationMs! >= 1000 && l.durationMs! <= 2700), JSON.stringify(loopEnds));
  const [c1, c2] = [1, 2].map((n) => `/headroom-test/run-job-${n}`);
  const start1 = lines().find((l) => l.kind === 'run-start' && l.workload.path === c1)!;
  const end1 = lines().find((l) => l.kind === 'run-end' && l.workload.path === c1)!;
  const start2 = lines().find((l) => l.kind === 'run-start' && l.workload.path === c2)!;
  const end2 = lines().find((l) => l.kind === 'run-end' && l.workload.path === c2)!;
  t.log(lines().map((l) => JSON.stringify(l)).join('\n'));

  t.regex(start1.task!.exe, /stress-ng$/);
  t.deepEqual(start1.task!.args, ['--cpu', '1', '--timeout', '4s', '--quiet']);
  t.is(start1.forecast, null, 'a task never seen finish: nothing to forecast yet');
  t.true(end1.recorded === true && end1.runs === 1, JSON.stringify(end1));
  // the run starts with its process (read from /proc) and ends half way between the last tick
  // that saw it and the one that found it gone: within a tick of stress-ng's life, which is its
  // 4 s plus starting and reaping its worker (4 CI runs: 5.40-5.50 s; 5.501 failed a 5.5 s bound)
  t.true(end1.durationMs! >= 3500 && end1.durationMs! <= 6500, `first run lasted ${end1.durationMs} ms (stress-ng --timeout 4s)`);

  t.is(start2.signature, start1.signature, 'the same task, in another cgroup');
  const f = start2.forecast!;
  t.truthy(f, 'the second run is forecast as it starts');
  t.is(f.runs, 1);
  t.is(f.durationMs.mean, end1.durationMs!);
  t.true(f.peak.cpuCores.mean >= 0.7 && f.peak.cpuCores.mean <= 1.3, `expected peak ${f.peak.cpuCores.mean} cores (one CPU busy)`);
  t.true(end2.recorded === true && end2.runs === 2, JSON.stringify(end2));
  // those two cgroups have the cpu controller only: their memory is not measured, and nothing says it was 0
  if (cpuOnly) t.false('memPeakBytes' in f.peak, JSON.stringify(f.peak));

  const task = start1.signature!.slice(0, 16);
  const value = (name: string, labels: Record<string, string>): number | undefined => metricValue(metrics, name, labels);
  const duration = value('headroom_task_run_expected_duration_seconds', { task, stat: 'mean', path: c2 });
  t.not(duration, undefined, 'the expected duration is exported for the second run');
  t.is(duration, f.durationMs.mean / 1000);
  t.not(value('headroom_task_run_expected_peak', { task, resource: 'cpu_cores', stat: 'mean' }), undefined);
  if (cpuOnly) t.is(value('headroom_task_run_expected_peak', { task, resource: 'memory_peak_bytes' }), undefined);
  t.not(value('headroom_task_run_elapsed_seconds', { task }), undefined);
  // what the first run needed from this point of the run on: one busy CPU, before any history
  const ahead = value('headroom_task_run_expected_demand', { task, resource: 'cpu_cores', horizon_seconds: '5' });
  t.not(ahead, undefined);
  t.true(Math.abs(ahead! - f.peak.cpuCores.p90) < 0.35, `${ahead} cores expected 5 s ahead, the profile's p90 peak ${f.peak.cpuCores.p90}`);
  // the first run at least (another cgroup the host made meanwhile may be a run too)
  t.true((value('headroom_task_runs_total', { outcome: 'recorded' }) ?? 0) >= 1);

  // pushed as log records too: the starts with something to say (the second's forecast) and the recorded ends
  const runRecords = () => logRecordsOf(requests).filter((r) => r.eventName === 'headroom.task_run').map(attributesOf).filter((a) => a['headroom.workload.path'] === c1 || a['headroom.workload.path'] === c2);
  await waitFor(() => runRecords().length >= 3, 'the runs\' log records', 10_000);
  t.deepEqual(runRecords().map((a) => `${a['headroom.workload.path']} ${a['headroom.run.kind']}`), [`${c1} end`, `${c2} start`, `${c2} end`], 'the first start had nothing to forecast: not pushed');
  const [pushedEnd1, pushedStart2, pushedEnd2] = runRecords();
  t.like(pushedEnd1, { 'headroom.task.signature': start1.signature!, 'headroom.run.recorded': true, 'headroom.run.profile_runs': 1, 'headroom.run.duration_seconds': end1.durationMs! / 1000 });
  t.like(pushedStart2, { 'headroom.task.signature': start1.signature!, 'headroom.run.profile_runs': 1, 'headroom.run.expected_duration_seconds': f.durationMs.mean / 1000, 'headroom.run.expected_peak_p90.cpu_cores': f.peak.cpuCores.p90 });
  t.regex(String(pushedStart2!['process.executable.path']), /stress-ng$/);
  if (cpuOnly) t.false('headroom.run.expected_peak_p90.memory_peak_bytes' in pushedStart2!);
  t.deepEqual(pushedStart2!['headroom.task.args'], start2.task!.args);
  t.like(pushedEnd2, { 'headroom.run.recorded': true, 'headroom.run.profile_runs': 2 });

  const list = await headroom(['profiles', 'list', '--dir', join(dir, 'profiles'), '--json']).done;
  t.is(list.code, 0, list.stderr);
  const entries = JSON.parse(list.stdout) as { signature: string; exe: string; runs: number; peakCpuCores: number; peakMemBytes: number | null; inputs: string[] | null }[];
  const ours = entries.find((e) => e.signature === start1.signature);
  t.truthy(ours, JSON.stringify(entries));
  t.like(ours, { runs: 2 });
  if (cpuOnly) t.is(ours!.peakMemBytes, null);
  t.regex(ours!.exe, /stress-ng$/);
  const moverEnd = lines().find((l) => l.kind === 'run-end' && l.workload.path === mover.path)!;
  t.true(moverEnd.recorded, JSON.stringify(moverEnd));
  t.deepEqual(entries.find((e) => e.signature === moverEnd.signature)?.inputs, ['input.bin: file, 12345 bytes']);
  if (mem) {
    // dd's 160 MiB buffer (64 MiB held by stress-ng's worker before it), and their own pages;
    // not the 256 MiB file's page cache (counted, the peak was above 416 MiB)
    const memEnd = lines().find((l) => l.kind === 'run-end' && l.workload.path === mem.path)!;
    t.true(memEnd.recorded, JSON.stringify(memEnd));
    const memRun = entries.find((e) => e.signature === memEnd.signature);
    t.log(`the run with memory: ${JSON.stringify(memRun)}`);
    t.true(memRun !== undefined && memRun.peakMemBytes! >= 150 * 2 ** 20 && memRun.peakMemBytes! < 256 * 2 ** 20, JSON.stringify(memRun));
    // its inputs, from its sh -c script's words and the shell's own arguments (the script itself was a missing file)
    t.deepEqual(memRun!.inputs, ['/dev/zero: not a file or folder', `${join(dir, 'big.bin')}: file, ${256 * 2 ** 20} bytes`]);
  }
});

kernelTest('runs: one agent per state dir (a second would put back the first\'s live writes) and per profile store (a second there runs without task runs)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-test-runs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, 'version: 1\n');
  const state = join(dir, 'state');
  const first = headroom(['run', '--policy', policy, '--no-prometheus', '--no-table', '--state-dir', state], { timeoutMs: 60_000 });
  t.teardown(() => { first.child.kill('SIGKILL'); });
  await waitFor(() => first.stderr().includes('running in'), 'the first agent to start', 20_000);
  // the profile store follows the state dir when the policy names none
  t.true(first.stderr().includes(`task profiles in ${join(state, 'profiles')}`), first.stderr());

  const second = await headroom(['run', '--policy', policy, '--no-prometheus', '--no-table', '--state-dir', state], { timeoutMs: 30_000 }).done;
  t.is(second.code, 1, second.stderr);
  t.true(second.stderr.includes(`${state} is in use by another headroom agent (pid ${first.child.pid}): one agent per state dir`), second.stderr);

  const third = headroom(['run', '--policy', policy, '--no-prometheus', '--no-table', '--state-dir', join(dir, 'other'), '--profiles-dir', join(state, 'profiles')], { timeoutMs: 60_000 });
  t.teardown(() => { third.child.kill('SIGKILL'); });
  await waitFor(() => third.stderr().includes('running in'), 'the third agent to start', 20_000);
  t.true(third.stderr().includes(`profiles: ${join(state, 'profiles')} is in use by another headroom agent (pid ${first.child.pid}): its task profiles`), third.stderr());
  t.true(third.stderr().includes('; task runs off'), third.stderr());
  t.false(third.stderr().includes('task profiles in'), 'the start line does not say where runs are recorded when they are not');
  third.child.kill('SIGINT');
  t.is((await third.done).code, 0);

  // a state dir that cannot be made: observing writes nothing there, and goes on (said); enforcing does not start
  const unmakeable = join(policy, 'state');
  const observing = await headroom(['run', '--policy', policy, '--no-prometheus', '--no-table', '--state-dir', unmakeable, '--duration', '1'], { timeoutMs: 30_000 }).done;
  t.is(observing.code, 0, observing.stderr);
  t.true(observing.stderr.includes(`state dir ${unmakeable}: cannot be taken (ENOTDIR: not a directory); observe mode goes on (it writes nothing there)`), observing.stderr);
  const enforcing = await headroom(['run', '--policy', policy, '--mode', 'enforce', '--no-prometheus', '--no-table', '--state-dir', unmakeable, '--duration', '1'], { timeoutMs: 30_000 }).done;
  t.is(enforcing.code, 1, enforcing.stderr);
  t.true(enforcing.stderr.includes('enforce mode journals its writes there, to undo them after a crash; give --state-dir'), enforcing.stderr);

  // a policy whose profiles.env_keys changed: every profile learned without them is orphaned
  // (its tasks signed anew), and that is said at the start, with the keys now signed
  const seeded = join(dir, 'seeded');
  new ProfileStore({ dir: seeded }).record({
    signature: 'e'.repeat(64), durationMs: 3000, samples: [{ atMs: 0, cpuCores: 1 }], task: { exe: '/usr/bin/make', args: [], env: {} },
  });
  const withKeys = join(dir, 'with-keys.yaml');
  writeFileSync(withKeys, 'version: 1\nprofiles:\n  env_keys: [JOBMODE, CC]\n');
  const keyed = await headroom(['run', '--policy', withKeys, '--no-prometheus', '--no-table', '--state-dir', join(dir, 'keyed'), '--profiles-dir', seeded, '--duration', '1'], { timeoutMs: 30_000 }).done;
  t.is(keyed.code, 0, keyed.stderr);
  t.true(keyed.stderr.includes('profiles: 1 of the 1 task profiles whose keys are recorded were learned with other profiles.env_keys than this policy\'s (CC, JOBMODE): 1 with none. Their tasks are signed anew'), keyed.stderr);
  t.true(keyed.stderr.includes(`task profiles in ${seeded} (signed with environment CC, JOBMODE)`), keyed.stderr);

  first.child.kill('SIGINT');
  t.is((await first.done).code, 0, first.stderr());
  t.false(existsSync(join(state, 'agent.lock')), 'the lock goes with the agent');
  t.false(existsSync(join(state, 'profiles', 'agent.lock')));
});

kernelTest('runs: on a terminal the table keeps the lines a tick printed under every frame after it (a run\'s start was wiped by the next frame)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-test-runs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, 'version: 1\n');
  // `script` gives the agent a terminal (its stdout a pty), so the table clears the screen each frame
  const quoted = [headroomBin, 'run', '--policy', policy, '--table', '--events', '--no-prometheus', '--state-dir', join(dir, 'state'), '--duration', '12']
    .map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const agent = start('script', ['-qfec', quoted, '/dev/null'], { timeoutMs: 60_000 });
  t.teardown(() => { agent.child.kill('SIGKILL'); });
  await waitFor(() => agent.stdout().includes('\x1b[2J'), 'a first frame', 20_000);
  const cg = new TestCgroup('tty-job');
  t.teardown(() => cg.remove());
  // (3 s: the agent must see it and read its task before it exits; a CI run saw a 1 s job only
  // in its last 0.5 s, its process gone before it was read, and no start was said. The agent
  // runs 12 s: its start then falls near frame 3, with room for the frames after it however
  // slowly the job starts)
  await startIn(cg, 'timeout', ['3', 'sh', '-c', 'while :; do :; done'], 10_000).done;
  await cg.remove();
  const out = (await agent.done).stdout;
  const frames = out.split('\x1b[2J');
  const first = frames.findIndex((f) => f.includes(`[run] v1-cpu:${cg.path} started`) || f.includes(`[run] v2:${cg.path} started`));
  t.log(`${frames.length - 1} frames; the job's start first under frame ${first}; the last frame:\n${frames[frames.length - 1]!.replace(/\r/g, '')}`);
  t.true(first > 0, 'the job\'s start was printed');
  t.true(frames.length - 1 - first >= 3, 'frames after it');
  // under every frame after it, to the last
  const missing = frames.slice(first).map((f, i) => [first + i, f] as const).filter(([, f]) => !f.includes(`${cg.path} started`)).map(([i]) => i);
  t.deepEqual(missing, [], 'frames without the job\'s start line');
});

kernelTest('runs: --events leaves out the agent\'s own metrics scrapes, and prints the other connections\' closes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-test-runs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, `version: 1\nexport:\n  prometheus: { enabled: true, listen: "127.0.0.1:${port}" }\n`);
  const agent = headroom(['run', '--policy', policy, '--json', '--events', '--no-table', '--state-dir', join(dir, 'state'), '--duration', '12'], { timeoutMs: 60_000 });
  t.teardown(() => { agent.child.kill('SIGKILL'); });
  await waitFor(() => agent.stderr().includes('running in'), 'the agent to start', 20_000);
  // a server of the test's own, on loopback, and a new connection for each scrape and each visit
  const other = createServer((c) => c.end('hello'));
  await new Promise<void>((res) => other.listen(0, '127.0.0.1', res));
  t.teardown(() => { other.close(); });
  const otherPort = (other.address() as { port: number }).port;
  for (let i = 0; i < 4; i++) {
    await new Promise<void>((res, rej) => get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (r) => { r.resume(); r.on('end', res); }).on('error', rej));
    await new Promise<void>((res, rej) => { const c = connect(otherPort, '127.0.0.1'); c.on('data', () => {}); c.on('end', () => { c.end(); res(); }); c.on('error', rej); });
    await sleep(500);
  }
  const out = (await agent.done).stdout;
  const closes = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; kind?: string; local?: string; remote?: string })
    .filter((e) => e.type === 'event' && (e.kind === 'tcp_close' || e.kind === 'tcp_retransmit'));
  const ends = (e: { local?: string; remote?: string }): string[] => [e.local ?? '', e.remote ?? ''];
  const scrapes = closes.filter((e) => ends(e).some((x) => x === `127.0.0.1:${port}`));
  const visits = closes.filter((e) => ends(e).some((x) => x === `127.0.0.1:${otherPort}`));
  t.log(`${closes.length} TCP events printed: ${visits.length} of the other server's connections, ${scrapes.length} of the scrapes`);
  t.deepEqual(scrapes, []);
  t.true(visits.length >= 4, `${visits.length}`);
});

// A task that holds 40 MiB for 5 s, then 160 MiB for 2 s. Its series alone reads a flat 40 MiB
// until the climb; its profile knows the climb is coming.
const LATE_PEAK = `
import mmap, time
def hold(mib):
    m = mmap.mmap(-1, mib << 20)
    for off in range(0, mib << 20, 4096): m[off] = 1
    return m
a = hold(40)
time.sleep(5)
print('climb', flush=True)
b = hold(120)
time.sleep(2)
`;

const memoryWhy = memoryControllerWhy();
(memoryWhy === null ? kernelTest : (title: string, fn: Parameters<typeof kernelTest>[1]) => testIf(false, memoryWhy, title, fn))(
  "runs: a known task's late memory peak is in its demand forecast from its start: the countdown to a tighter limit before its memory climbs", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-test-runs-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, `version: 1
export:
  prometheus: { enabled: true, listen: "127.0.0.1:${port}" }
profiles:
  dir: ${join(dir, 'profiles')}
  min_run: 1s
`);
    const agent = headroom(['run', '--policy', policy, '--json', '--events', '--no-table', '--state-dir', join(dir, 'state')], { timeoutMs: 90_000 });
    t.teardown(() => { agent.child.kill('SIGKILL'); });
    await waitFor(() => agent.stderr().includes('metrics at'), 'the agent to start', 20_000);
    const lines = (): RunLine[] => agent.stdout().split('\n').filter((l) => l.includes('"type":"run"')).map((l) => JSON.parse(l) as RunLine);
    // two runs with room for the peak
    for (const n of [1, 2]) {
      const cg = new MemoryTestCgroup(`run-peak-${n}`);
      t.teardown(() => cg.remove());
      cg.setLimit(512 * MiB);
      await cg.startIn('/usr/bin/python3', ['-c', LATE_PEAK], 30_000).done;
      await cg.remove();
      await waitFor(() => lines().some((l) => l.kind === 'run-end' && l.workload.path === cg.path), `the end of run ${n}`, 10_000);
      const end = lines().find((l) => l.kind === 'run-end' && l.workload.path === cg.path)!;
      t.true(end.recorded === true && end.runs === n, JSON.stringify(end));
    }
    // the third in a cgroup that will not hold its peak
    const cg = new MemoryTestCgroup('run-peak-3');
    t.teardown(() => cg.remove());
    cg.setLimit(128 * MiB);
    const job = cg.startIn('/usr/bin/python3', ['-c', LATE_PEAK], 30_000);
    t.teardown(() => { job.child.kill('SIGKILL'); });
    const startedAt = Date.now();
    const mine = (metrics: string, name: string, labels: Record<string, string> = {}): number | undefined =>
      metricValue(metrics, name, { path: cg.path, ...labels });
    let metrics = '';
    // (its task is read half a second in; its forecast is in the tick after.) Until it shows, or
    // the climb has begun (a loaded host may take longer than 4 s: what matters is that it
    // comes before the climb, which the memory read with it says)
    // (whether the job had said it climbs before the page was asked for: its own clock, not the
    // test's, which a slow start of python on a loaded host puts seconds behind)
    let climbedBefore = false;
    while (Date.now() - startedAt < 10_000) {
      climbedBefore = job.stdout().includes('climb');
      metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      if (mine(metrics, 'headroom_demand_forecast_confidence', { resource: 'memory_bytes', model: 'task-profile' }) !== undefined) break;
      if ((mine(metrics, 'headroom_workload_memory_bytes') ?? 0) >= 100 * MiB) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const seenAfterMs = Date.now() - startedAt;
    job.child.kill('SIGKILL');
    t.log(metrics.split('\n').filter((l) => l.includes(`path="${cg.path}"`) && l.includes('demand')).join('\n'));
    const memoryNow = mine(metrics, 'headroom_workload_memory_bytes');
    const countdown = mine(metrics, 'headroom_demand_time_to_saturation_seconds', { resource: 'memory_bytes' });
    t.truthy(mine(metrics, 'headroom_demand_forecast_confidence', { resource: 'memory_bytes', model: 'task-profile' }), `no forecast from its profile ${seenAfterMs} ms into the run`);
    t.true(memoryNow !== undefined && memoryNow < 100 * MiB, `its memory has not climbed yet: ${memoryNow}`);
    // (the climb is 5 s into the task, and its cgroup's limit kills it within a tick of it: a
    // tick may not read it, so the job's word too)
    t.false(climbedBefore, `its forecast ${seenAfterMs} ms into the run: before the climb, which the job had begun`);
    // the climb is 5 s into the run: foreseen before it, no further off than that
    t.true(countdown !== undefined && countdown > 0 && countdown <= 5, `time to saturation ${countdown} s, ${seenAfterMs} ms into the run`);
    t.true(mine(metrics, 'headroom_demand_contention_probability', { resource: 'memory_bytes', horizon_seconds: '60' })! > 0.9);
    await cg.remove();
  });
