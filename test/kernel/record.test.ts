// `headroom record` writes what the agent sees as a trace that `headroom predict` replays.
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelTest, testIf } from '../helpers/host.js';
import { TestCgroup } from '../helpers/cgroups.js';
import { MemoryTestCgroup, memoryControllerWhy } from '../helpers/memory-cgroup.js';
import { headroom, headroomBin, sleep, startIn, waitFor } from '../helpers/proc.js';
import { readTraces } from '../../agent/predict/traces/index.js';

/** A folder for the test's traces, removed after it. */
function tempDir(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-record-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

kernelTest('record: a one-core hog in a test cgroup is recorded at about one core and replays through predict', async (t) => {
  const cg = new TestCgroup('record-hog');
  t.teardown(() => cg.remove());
  // a quota that does not bind (1.5 cores for a one-core hog): written with the samples as their limit
  writeFileSync(join(cg.dir, cg.v2 ? 'cpu.max' : 'cpu.cfs_quota_us'), cg.v2 ? '150000 100000' : '150000');
  const hog = startIn(cg, 'stress-ng', ['--cpu', '1', '--timeout', '20s', '--quiet'], 30_000);
  t.teardown(() => hog.child.kill('SIGKILL'));
  await waitFor(() => cg.pids().length >= 2, 'the stress-ng worker');

  const out = join(tempDir(t), 'trace.jsonl');
  const rec = await headroom(['record', '--out', out, '--duration', '4', '--interval', '0.5', '--match', '/headroom-test/**',
    '--state-dir', '/tmp/headroom-test-state'], { timeoutMs: 30_000 }).done;
  t.is(rec.code, 0, rec.stderr);
  t.regex(rec.stderr, /recorded \d+ samples/);

  const series = readTraces(out, { resources: 'all' });
  const cpu = series.find((s) => s.name === `${cg.v2 ? 'v2' : 'v1-cpu'}:${cg.path}` && s.resource === 'cpu_cores');
  t.truthy(cpu, `cpu series recorded (got ${series.map((s) => `${s.name}/${s.resource}`).join(', ')})`);
  t.is(cpu!.stepSeconds, 0.5);
  t.is(cpu!.limit, 1.5, 'the CPU quota, from the samples');
  // Every sample is judged, and their mean. The first once read 2.03 (a hog on its CPU since
  // before the attach was credited its time since counting began at its first switch-out; now
  // lent its running slice from the first reading: sched.bpf.c, hr_sched_runtime, and its sched
  // test). Two neighbours once read 0.38 then 1.64 (a switch-out between a reading's look at the
  // stats and at the running tasks moved a stint to the next reading; both are one slot now:
  // sched.bpf.c, end_running, and its sched test). A pair once read 0.19 then 1.84 in CI (a
  // switch the kernel did not report: sched.bpf.c, hr_sched_runtime and hr_sched_idle, and their
  // sched test). One sample may dip: the agent's own start-up may share the hog's CPU.
  const values = [...cpu!.values].filter((v) => Number.isFinite(v));
  const shown = values.map((v) => v.toFixed(2)).join(' ');
  t.log(`cores per sample: ${shown}`);
  t.true(values.length >= 7, `${values.length} samples`);
  const off = values.filter((v) => Math.abs(v - 1) >= 0.15);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  t.true(off.length <= 1 && values.every((v) => v < 1.15) && Math.abs(mean - 1) < 0.1, `cores per sample: ${shown}`);

  // (a 4 s recording: the next step is a target it can score; 5 s and 60 s ahead are not)
  const replay = await headroom(['predict', '--trace', out, '--resources', 'all', '--warmup', '2', '--targets', 'h1', '--json'], { timeoutMs: 30_000 }).done;
  t.is(replay.code, 0, replay.stderr);
  const json = JSON.parse(replay.stdout) as { tables: Array<{ points: number }> };
  t.true(json.tables.some((x) => x.points > 0), 'points scored');

  // --resources keeps only the series named
  const some = join(tempDir(t), 'cpu.jsonl');
  const rec2 = await headroom(['record', '--out', some, '--duration', '2', '--interval', '0.5', '--match', '/headroom-test/**',
    '--resources', 'cpu_cores,memory_bytes', '--state-dir', '/tmp/headroom-test-state'], { timeoutMs: 30_000 }).done;
  t.is(rec2.code, 0, rec2.stderr);
  const kinds = new Set(readTraces(some, { resources: 'all' }).map((s) => s.resource));
  t.true(kinds.has('cpu_cores') && [...kinds].every((k) => k === 'cpu_cores' || k === 'memory_bytes'), `recorded: ${[...kinds].join(', ')}`);
});

kernelTest('record: a --match that no cgroup matches records nothing, says so, and fails', async (t) => {
  const out = join(tempDir(t), 'none.jsonl');
  const rec = await headroom(['record', '--out', out, '--duration', '2', '--interval', '0.5', '--match', '/headroom-test/no-such-*',
    '--state-dir', '/tmp/headroom-test-state'], { timeoutMs: 30_000 }).done;
  t.is(rec.code, 1, rec.stderr);
  t.regex(rec.stderr, /headroom: nothing recorded: no workload's cgroup matched --match '\/headroom-test\/no-such-\*' in \d+ ticks \(a cgroup is seen once a task in it runs\); .*none\.jsonl not written/);
  t.false(existsSync(out), 'no trace file');
  // an older trace of that name stays as it was
  writeFileSync(out, 'older\n');
  const again = await headroom(['record', '--out', out, '--duration', '1', '--interval', '0.5', '--match', '/headroom-test/no-such-*',
    '--state-dir', '/tmp/headroom-test-state'], { timeoutMs: 30_000 }).done;
  t.is(again.code, 1, again.stderr);
  t.is(readFileSync(out, 'utf8'), 'older\n');
});

/** Whether process `pid` holds a BPF map or program (its probes are loading or loaded). */
function holdsBpf(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try { return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('anon_inode:bpf'); } catch { return false; }
    });
  } catch {
    return false;
  }
}

kernelTest('record: SIGTERM while the probes load is a clean stop that says nothing was recorded yet (it was killed: 143, nothing said)', async (t) => {
  const out = join(tempDir(t), 'early.jsonl');
  const rec = headroom(['record', '--out', out, '--interval', '5', '--state-dir', '/tmp/headroom-test-state'], { timeoutMs: 30_000 });
  t.teardown(() => { rec.child.kill('SIGKILL'); });
  // (once it holds a BPF map it is loading, or has just loaded: on the old code this SIGTERM killed it, 143)
  await waitFor(() => holdsBpf(rec.child.pid!), 'the probes to start loading', 20_000);
  rec.child.kill('SIGTERM');
  const done = await rec.done;
  t.is(done.code, 1, done.stderr);
  t.regex(done.stderr, /headroom: nothing recorded: stopped before the first sample \(one --interval, 5 s, after the start\); .*early\.jsonl not written\n$/);
  t.false(existsSync(out));
});

kernelTest('top: a closed pipe (top --json | head) stops it cleanly, exit 0 (it failed: "write EPIPE", exit 1)', async (t) => {
  const top = headroom(['top', '--json', '--interval', '0.5', '--count', '20', '--state-dir', '/tmp/headroom-test-state'], { timeoutMs: 30_000 });
  t.teardown(() => { top.child.kill('SIGKILL'); });
  await waitFor(() => top.stdout().includes('\n'), 'the first refresh', 20_000);
  top.child.stdout!.destroy();
  const done = await top.done;
  t.is(done.code, 0, done.stderr);
  t.notRegex(done.stderr, /EPIPE/);
});

// (a walkthrough: `record --out /dev/stdout | head -3` failed, "cannot write it (EPIPE)", exit 1)
kernelTest('record: --out a pipe whose reader goes away (record --out /dev/stdout | head) stops cleanly, exit 0, saying how much it recorded', async (t) => {
  const { spawn, spawnSync } = await import('node:child_process');
  // (through a shell: /dev/stdout must be a pipe, and a child's stdout here is a socket)
  const sh = spawn('bash', ['-c', `"${headroomBin}" record --out /dev/stdout --interval 0.3 --duration 30 --state-dir /tmp/headroom-test-state | head -3 > /dev/null; echo "rc=\${PIPESTATUS[0]}"`], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { sh.kill('SIGKILL'); });
  let out = '';
  let err = '';
  sh.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  sh.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  await new Promise((r) => sh.on('close', r));
  t.is(out.trim(), 'rc=0', err);
  t.regex(err, /headroom: recorded \d+ samples to \/dev\/stdout \(until its reader went away\)\n$/);
  t.notRegex(err, /EPIPE/);
  // a reader gone before the first sample: nothing recorded, and why (it blamed the workloads)
  const gone = spawnSync('bash', ['-c', `"${headroomBin}" record --out /dev/stdout --interval 0.3 --duration 30 --state-dir /tmp/headroom-test-state | true; echo "rc=\${PIPESTATUS[0]}"`], { encoding: 'utf8', timeout: 30_000 });
  t.is(gone.stdout.trim(), 'rc=1', gone.stderr);
  t.regex(gone.stderr, /headroom: nothing recorded: its reader went away before the first sample; \/dev\/stdout not written\n$/);
});

// (a walkthrough: `record --out /dev/stdout | less`, left unscrolled: once the pipe was full the
// recorder blocked in write() for good, deaf to Ctrl-C, SIGTERM and --duration; only SIGKILL ended it)
kernelTest('record: --out a FIFO whose reader stopped reading: a SIGINT still stops it, within the drain wait, saying what was lost, exit 1', async (t) => {
  const { execFileSync, spawn } = await import('node:child_process');
  const fifo = join(tempDir(t), 'stalled.jsonl');
  execFileSync('mkfifo', [fifo]);
  // a reader that never reads, its pipe one page (F_SETPIPE_SZ), saying once the first lines are in it (FIONREAD)
  const script = [
    'import os, fcntl, sys, time, termios, struct',
    'fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)',
    'fcntl.fcntl(fd, 1031, 4096)',
    'print("ready", flush=True)',
    'while struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\\0\\0\\0\\0"))[0] == 0: time.sleep(0.05)',
    'print("written", flush=True)',
    'time.sleep(120)',
  ].join('\n');
  const reader = spawn('python3', ['-c', script, fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => { reader.kill('SIGKILL'); });
  let said = '';
  reader.stdout!.on('data', (d: Buffer) => { said += d.toString(); });
  await waitFor(() => said.includes('ready'), 'the reader to open the FIFO');
  const rec = headroom(['record', '--out', fifo, '--interval', '0.2', '--duration', '90', '--state-dir', '/tmp/headroom-test-state'], { timeoutMs: 120_000 });
  t.teardown(() => { rec.child.kill('SIGKILL'); });
  // (the probes may take seconds to load on a busy host: the first lines written are what counts;
  // ten ticks later the page is full and lines wait: an atomic write of a tick's lines fits no more)
  await waitFor(() => said.includes('written'), 'the first lines in the pipe', 60_000);
  await sleep(2000);
  t.is(rec.child.exitCode, null, rec.stderr());
  const sentAt = Date.now();
  rec.child.kill('SIGINT');
  const done = await rec.done;
  const took = Date.now() - sentAt;
  t.true(took < 20_000, `stopped ${took} ms after the SIGINT`);
  t.is(done.code, 1, done.stderr);
  t.regex(done.stderr, /headroom: --out \S+stalled\.jsonl: its reader did not take the last \d+ bytes of the trace within 10 s of the stop: they are lost\n/);
  t.regex(done.stderr, /headroom: recorded \d+ samples to \S+stalled\.jsonl, the last of them lost\n$/);
});

kernelTest('record: a write that fails (/dev/full) is one line naming --out, exit 1; a device that takes it (/dev/null) records', async (t) => {
  // (every workload: some sample comes in the first tick)
  const args = ['--duration', '1.5', '--interval', '0.5', '--state-dir', '/tmp/headroom-test-state'];
  const full = await headroom(['record', '--out', '/dev/full', ...args], { timeoutMs: 30_000 }).done;
  t.is(full.code, 1, full.stderr);
  t.is(full.stderr.split('\n').filter(Boolean).at(-1), 'headroom: --out /dev/full: cannot write it (ENOSPC: no space left on device)');
  const nul = await headroom(['record', '--out', '/dev/null', ...args], { timeoutMs: 30_000 }).done;
  t.is(nul.code, 0, nul.stderr);
  t.regex(nul.stderr, /headroom: recorded \d+ samples to \/dev\/null\n$/);
});

// A nearly idle workload holding memory (it wakes ten times a second, so the agent sees it) is
// not among those the agent forecasts (under 1% of a core): record reads its memory itself.
const memoryWhy = memoryControllerWhy();
(memoryWhy === null ? kernelTest : (title: string, fn: Parameters<typeof kernelTest>[1]) => testIf(false, memoryWhy, title, fn))(
  'record: a nearly idle workload holding memory has its memory recorded at every sample', async (t) => {
    const cg = new MemoryTestCgroup('record-idle');
    t.teardown(() => cg.remove());
    const holder = cg.startIn('/usr/bin/python3', ['-c', 'import time\nb = bytearray(48 << 20)\nfor _ in range(300): time.sleep(0.1)'], 40_000);
    t.teardown(() => holder.child.kill('SIGKILL'));
    await waitFor(() => cg.cpu.pids().length >= 1, 'the holder');
    await sleep(1000); // its 48 MiB touched
    const out = join(tempDir(t), 'idle.jsonl');
    const rec = await headroom(['record', '--out', out, '--duration', '4', '--interval', '0.5', '--match', cg.path,
      '--resources', 'memory_bytes', '--state-dir', '/tmp/headroom-test-state'], { timeoutMs: 30_000 }).done;
    t.is(rec.code, 0, rec.stderr);
    const mem = readTraces(out, { resources: 'all' }).find((s) => s.resource === 'memory_bytes');
    t.truthy(mem, 'a memory series');
    const values = [...mem!.values];
    t.log(`${values.length} steps: ${values.map((v) => (v / 2 ** 20).toFixed(0)).join(' ')} MiB`);
    t.true(values.length >= 5 && values.every((v) => v >= 48 * 2 ** 20), 'every step holds its 48 MiB');
  });
