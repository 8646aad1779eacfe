// Task signatures (what makes two runs "the same task") and the profile store (curves merged
// across runs, persisted atomically, bounded, corrupt files quarantined), then the CLI on top.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { profilesDelete, profilesList, profilesShow } from '../../agent/cli/profiles.js';
import {
  BINS, binRun, envKeysChangedNote, forecastFromProfile, mergeRun, parseProfile, ProfileStore, RESOURCES, unseenSlices, type FinishedRun, type RunSample, type StoreProblem,
} from '../../agent/predict/profiles.js';
import { resolveInRoot, SignatureError, signatureOf, START_SLACK_MS, taskSignature, type TaskSpec } from '../../agent/workloads/signature.js';
import { argvOf, NOT_UTF8, TaskReader } from '../../agent/workloads/task.js';
import { isRoot, testIf } from '../helpers/host.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cliFile = join(root, 'dist/agent/cli/profiles.js');

function scratch(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-profiles-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A directory with an executable `tool`, an input file and an input directory. */
function taskDir(t: { teardown: (fn: () => void) => void }): { dir: string; spec: TaskSpec } {
  const dir = scratch(t);
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin/tool'), '#!/bin/sh\necho working\n');
  chmodSync(join(dir, 'bin/tool'), 0o755);
  writeFileSync(join(dir, 'input.csv'), 'a,b\n1,2\n');
  mkdirSync(join(dir, 'shards/deep'), { recursive: true });
  writeFileSync(join(dir, 'shards/one'), 'x'.repeat(100));
  writeFileSync(join(dir, 'shards/deep/two'), 'y'.repeat(50));
  return {
    dir,
    spec: {
      exe: 'tool',
      args: ['--threads', '4', 'input.csv', '--data=shards', '-o', 'result.out', 'plain-word'],
      env: { PATH: `/nonexistent:${join(dir, 'bin')}`, OMP_NUM_THREADS: '4', TERM: 'xterm', HOME: '/root' },
      envKeys: ['OMP_NUM_THREADS', 'MALLOC_ARENA_MAX'],
      cwd: dir,
    },
  };
}

// ---- signatures ----

test('signature: the same task gives the same id; its parts say what went in', async (t) => {
  const { dir, spec } = taskDir(t);
  const a = await taskSignature(spec);
  const b = await taskSignature({ ...spec });
  t.regex(a.id, /^[0-9a-f]{64}$/);
  t.is(a.id, b.id);
  t.is(a.id, signatureOf(a.parts), 'the id is recomputable from the parts');
  t.is(a.parts.exePath, join(dir, 'bin/tool'), 'found through PATH');
  t.is(a.parts.exeBytes, 23);
  t.is(a.parts.exeName, 'tool');
  t.deepEqual(a.parts.inputs, [
    { arg: 2, name: 'input.csv', kind: 'file', bytes: 8 },
    { arg: 3, name: 'shards', kind: 'dir', bytes: 150, entries: 3, truncated: false },
  ]);
  t.deepEqual(a.parts.env, { MALLOC_ARENA_MAX: null, OMP_NUM_THREADS: '4' });
});

test('signature: an input file of another size is another task; a touched one is not', async (t) => {
  const { dir, spec } = taskDir(t);
  const before = (await taskSignature(spec)).id;
  utimesSync(join(dir, 'input.csv'), new Date(2001, 1, 1), new Date(2001, 1, 1));
  t.is((await taskSignature(spec)).id, before, 'mtime stays out');
  writeFileSync(join(dir, 'input.csv'), 'a,b\n1,2\n3,4\n');
  t.not((await taskSignature(spec)).id, before);
  writeFileSync(join(dir, 'input.csv'), 'a,b\n9,9\n');
  t.is((await taskSignature(spec)).id, before, 'size, not content, of inputs');
  writeFileSync(join(dir, 'shards/deep/three'), 'z');
  t.not((await taskSignature(spec)).id, before, 'a directory input counts its entries and bytes');
});

test('signature: another binary is another task, wherever it is installed', async (t) => {
  const { dir, spec } = taskDir(t);
  const before = (await taskSignature(spec)).id;
  mkdirSync(join(dir, 'elsewhere'));
  writeFileSync(join(dir, 'elsewhere/tool'), readFileSync(join(dir, 'bin/tool')));
  chmodSync(join(dir, 'elsewhere/tool'), 0o755);
  t.is((await taskSignature({ ...spec, exe: './elsewhere/tool' })).id, before, 'same content, other path');
  writeFileSync(join(dir, 'elsewhere/other'), readFileSync(join(dir, 'bin/tool')));
  chmodSync(join(dir, 'elsewhere/other'), 0o755);
  t.not((await taskSignature({ ...spec, exe: './elsewhere/other' })).id, before, 'the name it is called by counts (multi-call binaries)');
  writeFileSync(join(dir, 'bin/tool'), '#!/bin/sh\necho rebuilt\n');
  t.not((await taskSignature(spec)).id, before, 'same size, other content');
});

test('signature: only the chosen environment counts', async (t) => {
  const { spec } = taskDir(t);
  const before = (await taskSignature(spec)).id;
  t.is((await taskSignature({ ...spec, env: { ...spec.env, TERM: 'dumb', EXTRA: '1' } })).id, before);
  t.not((await taskSignature({ ...spec, env: { ...spec.env, OMP_NUM_THREADS: '8' } })).id, before);
  t.not((await taskSignature({ ...spec, env: { ...spec.env, MALLOC_ARENA_MAX: '' } })).id, before, 'empty is not unset');
  t.is((await taskSignature({ ...spec, envKeys: ['MALLOC_ARENA_MAX', 'OMP_NUM_THREADS', 'OMP_NUM_THREADS'] })).id, before, 'key order and repeats do not matter');
});

test('signature: arguments count verbatim; outputs and plain words are not inputs', async (t) => {
  const { dir, spec } = taskDir(t);
  const before = await taskSignature(spec);
  writeFileSync(join(dir, 'result.out'), 'written by the first run');
  t.is((await taskSignature(spec)).id, before.id, 'the -o file appearing after a run changes nothing');
  t.not((await taskSignature({ ...spec, args: [...spec.args!.slice(0, 1), '8', ...spec.args!.slice(2)] })).id, before.id);
  const missing = await taskSignature({ ...spec, args: ['./not/there', 'not-a-path'] });
  t.deepEqual(missing.parts.inputs, [{ arg: 0, name: './not/there', kind: 'missing' }]);
  const withOutputs = await taskSignature({ ...spec, args: ['input.csv'], outputs: ['input.csv'] });
  t.deepEqual(withOutputs.parts.inputs, [], 'a path named in `outputs` is hashed as text only');
});

test('signature: what changed since the task started is its output: signed as though not there yet, so a log it writes does not split its runs', async (t) => {
  // (a walkthrough: `job5.py out.log`, out.log deleted before each run, read 0, 5 and 10 MB
  // into: three runs, three one-run profiles, no forecast ever)
  const { dir, spec } = taskDir(t);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  // the task starts after its inputs were made (births too: a folder's birth time cannot be set
  // back), and writes its outputs more than START_SLACK_MS after its start
  await sleep(10);
  const startedAtMs = Date.now();
  const before = new Date(startedAtMs - 3_600_000);
  const task = { ...spec, args: ['input.csv', 'out.log', './logs/run.log', 'shards'], startedAtMs };
  const atStart = await taskSignature(task);
  await sleep(START_SLACK_MS + 50);
  t.deepEqual(atStart.parts.inputs.map((i) => `${i.name}: ${i.kind}`), ['input.csv: file', './logs/run.log: missing', 'shards: dir']);
  const ids: string[] = [atStart.id];
  mkdirSync(join(dir, 'logs'));
  for (const bytes of [5_000, 10_000]) {
    writeFileSync(join(dir, 'out.log'), 'x'.repeat(bytes));
    writeFileSync(join(dir, 'logs/run.log'), 'y'.repeat(bytes));
    ids.push((await taskSignature(task)).id);
  }
  t.deepEqual(ids, [atStart.id, atStart.id, atStart.id], 'the same task read as its outputs grow');
  t.not((await taskSignature({ ...task, startedAtMs: undefined })).id, atStart.id, 'without its start, a grown log reads as another input');
  // an input rewritten before a later run's start is that run's: another size, another task
  writeFileSync(join(dir, 'input.csv'), 'a,b\n1,2\n3,4\n');
  await sleep(10);
  const later = { ...task, startedAtMs: Date.now() };
  await sleep(START_SLACK_MS + 50);
  const withInput = await taskSignature(later);
  t.like(withInput.parts.inputs[0], { name: 'input.csv', kind: 'file', bytes: 12 });
  t.not(withInput.id, atStart.id);
  // in an input folder, what the task writes is left out: a file, a folder it makes
  writeFileSync(join(dir, 'shards/deep/new'), 'z');
  mkdirSync(join(dir, 'shards/made'));
  writeFileSync(join(dir, 'shards/made/out'), 'z'.repeat(10));
  t.is((await taskSignature(later)).id, withInput.id, 'a folder the task writes into keeps what was there');
  t.like(withInput.parts.inputs.find((i) => i.name === 'shards'), { kind: 'dir', bytes: 150, entries: 3 });
  // a file the task holds open for writing is its output, however old its mtime (opened, not yet written)
  t.false((await taskSignature({ ...later, writing: [join(dir, 'input.csv')] })).parts.inputs.some((i) => i.name === 'input.csv'));
  // one made anew since the start with its old mtime put back (rsync -a, tar -x): its birth time says so
  rmSync(join(dir, 'input.csv'));
  writeFileSync(join(dir, 'input.csv'), 'a,b\n');
  utimesSync(join(dir, 'input.csv'), before, before);
  t.false((await taskSignature(later)).parts.inputs.some((i) => i.name === 'input.csv'), 'its mtime an hour old, its birth now');
});

test('signature: a directory walk is bounded; an unknown program is a clear error', async (t) => {
  const { spec } = taskDir(t);
  const s = await taskSignature({ ...spec, maxDirEntries: 2 });
  t.like(s.parts.inputs[1], { kind: 'dir', entries: 2, truncated: true });
  const e = await t.throwsAsync(taskSignature({ ...spec, exe: 'no-such-tool' }), { instanceOf: SignatureError });
  t.regex(e!.message, /no-such-tool: not found in PATH/);
  await t.throwsAsync(taskSignature({ ...spec, exe: './input.csv' }), { instanceOf: SignatureError, message: /not an executable/ });
});

test('signature: the arguments\' folders are walked within one budget over all of them, and a read stops once aborted', async (t) => {
  const { dir, spec } = taskDir(t);
  for (const d of ['a', 'b', 'c']) {
    mkdirSync(join(dir, d));
    for (let i = 0; i < 5; i++) writeFileSync(join(dir, d, `f${i}`), 'z'.repeat(10));
  }
  const all = await taskSignature({ ...spec, args: ['a', 'b', 'c'] });
  t.deepEqual(all.parts.inputs.map((i) => i.kind === 'dir' && [i.entries, i.truncated]), [[5, false], [5, false], [5, false]]);
  const bounded = await taskSignature({ ...spec, args: ['a', 'b', 'c'], maxTotalEntries: 8 });
  t.deepEqual(bounded.parts.inputs.map((i) => i.kind === 'dir' && [i.entries, i.truncated]), [[5, false], [3, true], [0, true]]);
  t.is((await taskSignature({ ...spec, args: ['a', 'b', 'c'], maxTotalEntries: 8 })).id, bounded.id, 'the same arguments are bounded the same way');
  const stop = new AbortController();
  stop.abort(new Error('task read took over 30 s'));
  await t.throwsAsync(taskSignature({ ...spec, args: ['a'], signal: stop.signal }), { instanceOf: SignatureError, message: /task read stopped: task read took over 30 s/ });
});

test('signature: a key=value argument\'s value is an input (dd if=), dd\'s of= an output', async (t) => {
  const { dir, spec } = taskDir(t);
  writeFileSync(join(dir, 'img.bin'), Buffer.alloc(1000));
  const task = { ...spec, args: ['if=img.bin', 'of=copy.bin', 'bs=4k'] };
  const before = await taskSignature(task);
  t.deepEqual(before.parts.inputs, [{ arg: 0, name: 'img.bin', kind: 'file', bytes: 1000 }]);
  writeFileSync(join(dir, 'img.bin'), Buffer.alloc(5000));
  t.not((await taskSignature(task)).id, before.id, 'an input of another size is another task');
  writeFileSync(join(dir, 'img.bin'), Buffer.alloc(1000));
  writeFileSync(join(dir, 'copy.bin'), Buffer.alloc(1000));
  t.is((await taskSignature(task)).id, before.id, 'the output there after a run changes nothing');
});

test('task: a process that exits while it is read is no task (its inputs, read through /proc, would all be missing)', async (t) => {
  const { dir } = taskDir(t);
  writeFileSync(join(dir, 'data.bin'), Buffer.alloc(4096));
  // (`; :`: a bash as /bin/sh would exec a lone sleep, its argv then sleep's)
  const child = spawn('/bin/sh', ['-c', 'sleep 30; :', 'x', 'data.bin', './shards'], { cwd: dir, stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  const cgroup = join(dir, 'cgroup');
  mkdirSync(cgroup);
  writeFileSync(join(cgroup, 'cgroup.procs'), `${child.pid}\n`);
  await new Promise((r) => setTimeout(r, 100));
  const alive = await new TaskReader({ envKeys: [], settleMs: 0 }).of(cgroup);
  t.deepEqual(alive?.signature.parts.inputs.map((i) => [i.name, i.kind]), [['data.bin', 'file'], ['./shards', 'dir']], 'read while it lives: its inputs');
  // the binary's hash is the moment it dies: the inputs are read after
  const reader = new TaskReader({
    envKeys: [], settleMs: 0,
    hashFile: async () => {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
      return { sha256: '0'.repeat(64), bytes: 1 };
    },
  });
  t.is(await reader.of(cgroup), null);
});

testIf(isRoot, 'root (to chroot)', 'task: a chrooted process\'s inputs are found as it sees them: its cwd within its root, absolute symlinks from its root, `..` stopping there', async (t) => {
  const jail = join(scratch(t), 'jail');
  mkdirSync(join(jail, 'work/sub'), { recursive: true });
  mkdirSync(join(jail, 'data'));
  writeFileSync(join(jail, 'work/data.bin'), Buffer.alloc(1000));
  writeFileSync(join(jail, 'data/real.bin'), Buffer.alloc(3000));
  writeFileSync(join(jail, 'work/kept.log'), Buffer.alloc(500));
  // (the host's /data/real.bin, where the host's rules would follow these, is not there)
  symlinkSync('/data/real.bin', join(jail, 'work/link.bin'));
  symlinkSync('../../..', join(jail, 'work/sub/up'));
  // perl chroots itself once loaded (the jail needs no binaries) and holds kept.log open to
  // append, unwritten (its mtime is old: an output by being held open only)
  const script = 'chroot($ENV{J}) or die; chdir($ENV{W}) or die; open(F, ">>", "kept.log") or die; sleep 30';
  const child = spawn('perl', ['-e', script, 'data.bin', 'link.bin', 'sub/up/data/real.bin', 'kept.log'], { env: { ...process.env, J: jail, W: '/work' }, stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  const cgroup = join(jail, '..', 'cgroup');
  mkdirSync(cgroup);
  writeFileSync(join(cgroup, 'cgroup.procs'), `${child.pid}\n`);
  const fd = (): string[] => { try { return readdirSync(`/proc/${child.pid}/fd`).map((f) => readlinkSync(`/proc/${child.pid}/fd/${f}`)); } catch { return []; } };
  for (let i = 0; i < 100 && !fd().some((f) => f.endsWith('kept.log')); i++) await new Promise((r) => setTimeout(r, 20));
  t.is(readlinkSync(`/proc/${child.pid}/cwd`), join(jail, 'work'), 'the cwd reads from here as the host path');
  const task = await new TaskReader({ envKeys: [], settleMs: 0 }).of(cgroup);
  t.deepEqual(task?.signature.parts.inputs.map((i) => [i.arg, i.name, i.kind, i.kind === 'file' ? i.bytes : -1]), [
    [2, 'data.bin', 'file', 1000], [3, 'link.bin', 'file', 3000], [4, 'sub/up/data/real.bin', 'file', 3000],
  ]);
});

test('resolveInRoot: a symlink loop, a missing component or a file where a folder is wanted ends the walk (the input then reads as missing), never out of the root', async (t) => {
  const root = scratch(t);
  symlinkSync('b', join(root, 'a'));
  symlinkSync('/a', join(root, 'b'));
  mkdirSync(join(root, 'd'));
  writeFileSync(join(root, 'd/f'), 'x');
  symlinkSync('d/../d/./f', join(root, 'rel'));
  t.is(await resolveInRoot(root, '/', '/a/x'), null, 'a loop: 40 links followed, then ELOOP');
  t.is(await resolveInRoot(root, '/', '/none/f'), null);
  t.is(await resolveInRoot(root, '/', '/../../rel'), join(root, 'd/f'));
  t.is(await resolveInRoot(root, '/d', 'f'), join(root, 'd/f'), 'relative to a base');
  t.is(await resolveInRoot(root, '/d', '../rel'), join(root, 'd/f'));
  // (a review: a missing component then `..`, normalised, climbed out of the root to the host's /etc)
  t.is(await resolveInRoot(root, '/', '/d/nope/../../../../../etc/hostname'), null);
  t.is(await resolveInRoot(root, '/', '/nope/../d/f'), null, 'ENOENT, as for the kernel');
  t.is(await resolveInRoot(root, '/', '/d/f/'), null, 'a file with a trailing slash: ENOTDIR');
  t.is(await resolveInRoot(root, '/', '/d/f/..'), null);
  t.is(await resolveInRoot(root, '/', '/d/'), join(root, 'd'));
});

test('task: a zombie (exited, its stat kept until its parent reaps it) is no task, read through a /proc of its own', async (t) => {
  const proc = scratch(t);
  const work = join(proc, 'work');
  mkdirSync(work);
  writeFileSync(join(work, 'data.bin'), Buffer.alloc(100));
  // (written before its start, at 500 s after a boot 500 s ago, now: an input, not its output;
  // its ctime, which no test can set back, is before it)
  await new Promise((r) => setTimeout(r, 50));
  writeFileSync(join(proc, 'uptime'), '500.00 900.00\n');
  const pidDir = join(proc, '4242');
  mkdirSync(pidDir);
  symlinkSync('/bin/sleep', join(pidDir, 'exe'));
  symlinkSync(work, join(pidDir, 'cwd'));
  symlinkSync('/', join(pidDir, 'root'));
  writeFileSync(join(pidDir, 'cmdline'), 'sleep\0data.bin\0');
  // (fields 3 to 52 of a stat line: its state, then fields 4 to 52, its start (field 22) at 50000 ticks)
  const stat = (state: string): string => `4242 (sle ep) ${state} ${Array.from({ length: 49 }, (_, i) => (i === 18 ? '50000' : '0')).join(' ')}\n`;
  const cgroup = join(proc, 'cgroup');
  mkdirSync(cgroup);
  writeFileSync(join(cgroup, 'cgroup.procs'), '4242\n');
  const reader = new TaskReader({ envKeys: [], settleMs: 0, proc });
  writeFileSync(join(pidDir, 'stat'), stat('S'));
  const alive = await reader.of(cgroup);
  t.deepEqual(alive?.signature.parts.inputs.map((i) => [i.name, i.kind]), [['data.bin', 'file']], 'asleep: its task');
  t.is(alive?.signature.parts.exeName, 'sleep');
  t.is(alive?.startedAtMs != null && Math.round((Date.now() - alive.startedAtMs) / 1000), 0, 'its start read from field 22: 500 s after its boot, now');
  for (const state of ['Z', 'X']) {
    writeFileSync(join(pidDir, 'stat'), stat(state));
    t.is(await reader.of(cgroup), null, `state ${state}`);
  }
});

test('signature: what an earlier run of the command line wrote (in its span) is no input of the next: the same signature as before it was there', async (t) => {
  const { dir, spec } = taskDir(t);
  // (its start a minute ahead: the files made here now, their ctimes, are before it, as the
  // inputs and an earlier run's outputs are before a run; their mtimes are set as told)
  const now = Date.now() + 60_000;
  const at = (p: string, ms: number): void => utimesSync(p, ms / 1000, ms / 1000);
  writeFileSync(join(dir, 'in.csv'), 'x'.repeat(300));
  at(join(dir, 'in.csv'), now - 3_600_000);
  const task = { ...spec, args: ['in.csv', 'out.csv', 'shards'], startedAtMs: now };
  const first = await taskSignature(task);
  t.deepEqual(first.parts.inputs.map((i) => i.name), ['in.csv', 'shards']);
  // the first run (ten minutes ago, for two minutes) wrote out.csv and a log in shards
  const span = { startMs: now - 600_000, endMs: now - 480_000 };
  writeFileSync(join(dir, 'out.csv'), 'y'.repeat(5000));
  at(join(dir, 'out.csv'), now - 500_000);
  writeFileSync(join(dir, 'shards/build.log'), 'z'.repeat(777));
  at(join(dir, 'shards/build.log'), now - 490_000);
  const asked: string[] = [];
  const second = await taskSignature({ ...task, earlierRuns: (key) => { asked.push(key); return [span]; } });
  t.deepEqual(asked, [first.commandKey], 'asked by its command line');
  t.is(second.id, first.id, 'its outputs signed as though not there');
  t.is(second.commandKey, first.commandKey);
  const unknown = await taskSignature(task);
  t.not(unknown.id, first.id, 'without the earlier run known: a signature of its own (out.csv, 5000 bytes; the log in shards)');
  t.deepEqual(unknown.parts.inputs.find((i) => i.name === 'out.csv'), { arg: 1, name: 'out.csv', kind: 'file', bytes: 5000 });
  // in.csv changed between the runs, by someone else: an input of another size, another task
  writeFileSync(join(dir, 'in.csv'), 'x'.repeat(900));
  at(join(dir, 'in.csv'), now - 300_000);
  t.not((await taskSignature({ ...task, earlierRuns: () => [span] })).id, first.id);
  t.not((await taskSignature({ ...task, args: ['in.csv', 'other.csv', 'shards'], earlierRuns: () => [span] })).commandKey, first.commandKey, 'another command line');
});

test('task: arguments whose bytes are not UTF-8 (latin1 file names) are kept apart by their bytes, marked, and not looked up', async (t) => {
  const bytes = (...parts: (string | number[])[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));
  t.deepEqual(argvOf(bytes('perl\0-e\0sleep 30\0données\0')), ['perl', '-e', 'sleep 30', 'données'], 'UTF-8: as it is');
  t.deepEqual(argvOf(bytes('a\0\0b')), ['a', '', 'b'], 'an empty argument; no NUL at the end (a title set by the process)');
  const ff = argvOf(bytes('tail\0nu/x', [0xff], '\0'));
  const fe = argvOf(bytes('tail\0nu/x', [0xfe], '\0'));
  t.deepEqual(ff, ['tail', `${NOT_UTF8}nu/x\\xff`]);
  t.not(ff[1], fe[1], 'two names that differ in a byte are two arguments (both read nu/x\ufffd before)');
  t.deepEqual(argvOf(bytes('é', [0xc3], 'z', [0xed, 0xa0, 0x80], '€\0')), [`${NOT_UTF8}é\\xc3z\\xed\\xa0\\x80€`], 'a cut sequence and a surrogate are bytes; the valid runs text');
  // signed: not looked up (no U+FFFD path sized or said missing), and apart
  const { spec } = taskDir(t);
  const a = await taskSignature({ ...spec, args: ff.slice(1) });
  const b = await taskSignature({ ...spec, args: fe.slice(1) });
  t.deepEqual(a.parts.inputs, []);
  t.not(a.id, b.id);
});

test('task: a binary rewritten in place at its size, its mtime put back (cp -p), is hashed again, not taken from memory', async (t) => {
  const dir = scratch(t);
  const tool = join(dir, 'tool');
  // (bytes after an ELF's end are not run: changing them changes the binary's hash only)
  writeFileSync(tool, Buffer.concat([readFileSync('/bin/sleep'), Buffer.alloc(64, 1)]));
  chmodSync(tool, 0o755);
  const cgroup = join(dir, 'cgroup');
  mkdirSync(cgroup);
  const reader = new TaskReader({ envKeys: [], settleMs: 0 });
  const signOnce = async (): Promise<string> => {
    const child = spawn(tool, ['30'], { stdio: 'ignore' });
    t.teardown(() => child.kill('SIGKILL'));
    writeFileSync(join(cgroup, 'cgroup.procs'), `${child.pid}\n`);
    await new Promise((r) => setTimeout(r, 100));
    const task = await reader.of(cgroup);
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
    return task!.signature.parts.exeSha256;
  };
  const first = await signOnce();
  // (touch -r keeps the nanoseconds, as cp -p does)
  spawnSync('touch', ['-r', tool, join(dir, 'ref')]);
  const bytes = readFileSync(tool);
  bytes.fill(2, bytes.length - 64);
  writeFileSync(tool, bytes);
  spawnSync('touch', ['-r', join(dir, 'ref'), tool]);
  t.is(statSync(tool, { bigint: true }).mtimeNs, statSync(join(dir, 'ref'), { bigint: true }).mtimeNs);
  const second = await signOnce();
  t.not(second, first);
  t.is(second, spawnSync('sha256sum', [tool], { encoding: 'utf8' }).stdout.split(' ')[0]);
});

// ---- curves ----

const SIG_A = 'a'.repeat(64);
const SIG_B = 'b'.repeat(64);

/** A run whose CPU ramps 0 -> cores over its length and whose memory is flat. */
function run(signature: string, opts: { cores?: number; mem?: number; durationMs?: number; endedAtMs?: number; ticks?: number } = {}): FinishedRun {
  const durationMs = opts.durationMs ?? 10_000;
  const ticks = opts.ticks ?? 40;
  const samples: RunSample[] = Array.from({ length: ticks }, (_, i) => {
    const atMs = ((i + 0.5) / ticks) * durationMs;
    return { atMs, cpuCores: ((opts.cores ?? 2) * atMs) / durationMs, memBytes: opts.mem ?? 1e8, ioBytesPerSec: 1000, netBytesPerSec: 10 };
  });
  return { signature, durationMs, samples, endedAtMs: opts.endedAtMs ?? 1_700_000_000_000, task: { exe: '/usr/bin/tool', args: ['--x', '1'] } };
}

/** The run as one in a cgroup the memory controller does not see: no sample carries memory. */
const withoutMemory = (r: FinishedRun): FinishedRun => ({ ...r, samples: r.samples.map(({ memBytes: _, ...rest }) => rest) });

test('curve: samples land in their slice of progress; empty slices are interpolated', (t) => {
  const c = binRun([
    { atMs: 0, cpuCores: 1, memBytes: 100, memPeakBytes: 150 },
    { atMs: 500, cpuCores: 3, memBytes: 300 },
    { atMs: 9_999, cpuCores: 5, memBytes: 200 },
    { atMs: 12_000, cpuCores: 7, memBytes: 200 }, // past the end: the last slice
  ], 10_000);
  for (const r of ['cpuCores', 'memPeakBytes', 'memSustainedBytes'] as const) t.is(c[r]!.length, BINS);
  t.is(c.cpuCores![0], 1);
  t.is(c.cpuCores![1], 3);
  t.is(c.cpuCores![19], 6);
  t.is(c.cpuCores![10], 3 + ((6 - 3) * 9) / 18, 'linear between filled slices');
  t.is(c.memPeakBytes![0], 150);
  t.is(c.memSustainedBytes![0], 100);
  t.is(c.ioBytesPerSec, undefined, 'a resource no sample carries is not measured (not 0)');
  t.throws(() => binRun([], 1000), { instanceOf: RangeError });
  t.throws(() => binRun([{ atMs: 0 }], 0), { instanceOf: RangeError });
});

test('curve: runs merge with decay, so the recent one weighs more', (t) => {
  const one = mergeRun(undefined, run(SIG_A, { cores: 1, durationMs: 10_000 }), 0.5, 0);
  t.is(one.runs, 1);
  t.is(one.durationMs.var, 0);
  const two = mergeRun(one, run(SIG_A, { cores: 3, durationMs: 20_000 }), 0.5, 0);
  t.is(two.runs, 2);
  t.is(two.weight, 1.5);
  // weights 0.5 (old) and 1 (new): 10 s * 1/3 + 20 s * 2/3
  t.true(Math.abs(two.durationMs.mean - 50_000 / 3) < 1e-6);
  t.true(two.durationMs.var > 0);
  t.deepEqual([two.durationMs.min, two.durationMs.max, two.durationMs.last], [10_000, 20_000, 20_000]);
  const last = BINS - 1;
  t.true(two.curve.cpuCores!.mean[last]! > (one.curve.cpuCores!.mean[last]! + 3 * one.curve.cpuCores!.mean[last]!) / 2);
  t.is(one.curve.cpuCores!.mean[last], binRun(run(SIG_A, { cores: 1 }).samples, 10_000).cpuCores![last]);
});

test('curve: no slice reads a p90 above the runs\' own peaks: runs that climb to one plateau at slightly different times', (t) => {
  // two runs climbing to 64 MiB, the older 1.5 s later: their climbs' slices disagree by up to the
  // plateau, and each slice's spread alone read a p90 far above anything either run held (a
  // stress-ng --vm run's 70.4MiB read 86.3MiB; the next run's peak p90 91.1MiB)
  const mib = 2 ** 20;
  const climb = (lateMs: number): FinishedRun => ({
    signature: SIG_A, durationMs: 10_000, endedAtMs: 1_700_000_000_000,
    samples: Array.from({ length: 40 }, (_, i) => {
      const atMs = (i + 0.5) * 250;
      return { atMs, cpuCores: 1, memBytes: Math.min(64, Math.max(0, (atMs - 1000 - lateMs) / 50)) * mib };
    }),
  });
  const p = mergeRun(mergeRun(undefined, climb(1500), 0.5, 0), climb(0), 0.5, 0);
  const f = forecastFromProfile(p);
  const own = f.runPeak.memPeakBytes!;
  t.true(Math.abs(own.mean - 64 * mib) < 1 && own.p90 - own.mean < 1, `runs' own peak ${JSON.stringify(own)}`);
  const highest = Math.max(...f.curve.memPeakBytes!.p90);
  t.true(highest <= own.p90 + 1, `highest slice p90 ${highest / mib} MiB, against the runs' peak p90 ${own.p90 / mib} MiB`);
  t.true(f.peak.memPeakBytes!.p90 <= own.p90 + 1, `peak p90 ${f.peak.memPeakBytes!.p90 / mib} MiB`);
  // the climb's slices still read their spread below it
  t.true(f.curve.memPeakBytes!.p90.some((x, b) => x > f.curve.memPeakBytes!.mean[b]! + mib), 'the climb\'s slices keep a spread');
});

test('curve: a resource a run did not measure is left out, not taken for 0', (t) => {
  const cpuOnly = mergeRun(undefined, withoutMemory(run(SIG_A, { cores: 1 })), 0.5, 0);
  t.deepEqual(Object.keys(cpuOnly.curve).sort(), ['cpuCores', 'ioBytesPerSec', 'netBytesPerSec']);
  t.deepEqual(Object.keys(forecastFromProfile(cpuOnly).peak).sort(), ['cpuCores', 'ioBytesPerSec', 'netBytesPerSec']);
  // a run that measured it starts its curve (its weight its own), not an average with zeros
  const both = mergeRun(cpuOnly, run(SIG_A, { cores: 1, mem: 5e8 }), 0.5, 0);
  t.deepEqual(Object.keys(both.curve).sort(), [...RESOURCES].sort());
  t.is(forecastFromProfile(both).peak.memPeakBytes!.mean, 5e8);
  t.is(both.curve.memPeakBytes!.weight, 1);
  t.is(both.curve.cpuCores!.weight, 1.5);
  // memory stands on the one run that measured it: its confidence is that of a weight of 1, the
  // CPU's and the run's that of 1.5 (the same duration spread in both)
  const f = forecastFromProfile(both);
  t.is(f.confidenceOf.cpuCores, f.confidence);
  t.true(f.confidenceOf.memPeakBytes! < f.confidence, `memory ${f.confidenceOf.memPeakBytes} against ${f.confidence}`);
  t.true(Math.abs(f.confidenceOf.memPeakBytes! / f.confidence - (1 / 2) / (1.5 / 2.5)) < 1e-12);
  t.deepEqual(Object.keys(forecastFromProfile(cpuOnly).confidenceOf).sort(), ['cpuCores', 'ioBytesPerSec', 'netBytesPerSec']);
  // and one that did not leaves it as it was
  const again = mergeRun(both, withoutMemory(run(SIG_A, { cores: 1 })), 0.5, 0);
  t.deepEqual(again.curve.memPeakBytes, both.curve.memPeakBytes);
  t.is(again.curve.cpuCores!.weight, 1.75);
  // within a run, a slice averages the samples that carry the value
  t.deepEqual(binRun([{ atMs: 0, memBytes: 100 }, { atMs: 10 }], 1000).memSustainedBytes!.slice(0, 2), [100, 100]);
  // a profile written before the per-resource weights reads as before; a bad weight is refused
  const old = { ...both, curve: Object.fromEntries(Object.entries(both.curve).map(([r, c]) => [r, { mean: c.mean, var: c.var }])) };
  t.deepEqual(forecastFromProfile(parseProfile(JSON.stringify(old))).peak, forecastFromProfile(both).peak);
  // ...and goes on with the profile's weight as its curves' (a run that skipped memory keeps it so)
  const oldRead = parseProfile(JSON.stringify(old));
  const skipped = mergeRun(oldRead, withoutMemory(run(SIG_A, { cores: 1 })), 0.5, 0);
  t.is(skipped.curve.memPeakBytes!.weight, oldRead.weight);
  t.is(mergeRun(skipped, run(SIG_A, { cores: 1, mem: 5e8 }), 0.5, 0).curve.memPeakBytes!.weight, oldRead.weight * 0.5 + 1);
  // ...but its memory at 0 throughout, written when an unmeasured value counted as 0, is not measured
  const zeroMemory = { ...old, curve: { ...old.curve, memPeakBytes: { mean: new Array(BINS).fill(0), var: new Array(BINS).fill(0) } } };
  t.false('memPeakBytes' in parseProfile(JSON.stringify(zeroMemory)).curve);
  const badWeight = { ...both, curve: { ...both.curve, memPeakBytes: { ...both.curve.memPeakBytes!, weight: -1 } } };
  t.throws(() => parseProfile(JSON.stringify(badWeight)), { message: 'bad curve for memPeakBytes' });
  // a figure no run measures (a hand-edited 1e300 cores was forecast and exported), an array
  const huge = { ...both, curve: { ...both.curve, cpuCores: { ...both.curve.cpuCores!, mean: both.curve.cpuCores!.mean.map((m, i) => (i === 3 ? 1e300 : m)) } } };
  t.throws(() => parseProfile(JSON.stringify(huge)), { message: 'bad curve for cpuCores' });
  // each run's own peak: read back as written; a bad one refused
  t.deepEqual(parseProfile(JSON.stringify(both)).curve.cpuCores!.peak, both.curve.cpuCores!.peak);
  for (const peak of [{ mean: -1, var: 0 }, { mean: 1 }, { mean: 1, var: 1e300 }, null]) {
    const bad = { ...both, curve: { ...both.curve, cpuCores: { ...both.curve.cpuCores!, peak } } };
    t.throws(() => parseProfile(JSON.stringify(bad)), { message: 'bad peak for cpuCores' }, JSON.stringify(peak));
  }
  t.throws(() => parseProfile(JSON.stringify({ ...both, durationMs: { ...both.durationMs, mean: 1e300 } })), { message: 'bad duration statistics (durationMs.mean: 1e+300)' });
  t.throws(() => parseProfile(JSON.stringify({ ...both, durationMs: { ...both.durationMs, var: 'x' } })), { message: 'bad duration statistics (durationMs.var: "x")' });
  t.throws(() => parseProfile('[1,2,3]'), { message: 'not an object' });
  // V8's message quotes the text: its control characters escaped, so a log line stays one line
  t.throws(() => parseProfile('garbage\n\u001b[2J'), { message: /^not JSON: [^\n\u001b]*\\n\\u001b/ });
});

test('curve: the slices a late-found run never saw keep what earlier runs had there; its own peak there is the profile\'s', (t) => {
  // a job whose memory climbs 0 -> 190 MiB over 10 s, its CPU 4 cores for its first second then 1
  const mib = 2 ** 20;
  const ramp = (from: number, unseenMs?: number): FinishedRun => ({
    signature: SIG_A, durationMs: 10_000, endedAtMs: 1_700_000_000_000, ...(unseenMs !== undefined ? { unseenMs } : {}),
    samples: Array.from({ length: 20 }, (_, i) => ({ atMs: (i + 0.5) * 500, cpuCores: i < 2 ? 4 : 1, memBytes: i * 10 * mib }))
      .filter((s) => s.atMs >= from),
  });
  t.is(unseenSlices(10_000, undefined), 0);
  t.is(unseenSlices(10_000, 2_400), 4);
  t.is(unseenSlices(10_000, 60_000), BINS - 1, 'the last slice is always the run\'s own');
  const whole = mergeRun(undefined, ramp(0), 0.5, 0);
  // found 4 s late: its first sample at 4.25 s (190 MiB's ramp at 80 MiB), no spike seen
  const late = ramp(4_000, 3_500);
  const merged = mergeRun(whole, late, 0.5, 0);
  const mem = merged.curve.memSustainedBytes!;
  const unseen = unseenSlices(late.durationMs, late.unseenMs); // 7 slices: 0-3.5 s
  t.is(unseen, 7);
  for (let b = 0; b < unseen; b++) t.is(mem.mean[b], whole.curve.memSustainedBytes!.mean[b], `slice ${b} kept`);
  // (before: filled from its first slice seen, 80 MiB, they moved two thirds of the way up to it)
  t.is(mem.mean[0], 0);
  // the slices it saw merge as before: the same ramp, so the same means
  for (let b = unseen + 1; b < BINS; b++) t.true(Math.abs(mem.mean[b]! - whole.curve.memSustainedBytes!.mean[b]!) < 1e-6, `slice ${b}`);
  t.deepEqual(mem.sliceWeight, Array.from({ length: BINS }, (_, b) => (b < unseen ? 0.5 : 1.5)));
  t.is(mem.weight, 1.5);
  // the early 4 cores stay the runs' peak (the late run's own seen CPU was 1 throughout)
  const peak = forecastFromProfile(merged).runPeak.cpuCores!;
  t.is(peak.mean, 4);
  t.is(forecastFromProfile(merged).curve.cpuCores!.mean[0], 4);
  // a run seen whole is written as before: no slice weights; nor one said unseen where its samples were
  t.false('sliceWeight' in mergeRun(whole, ramp(0), 0.5, 0).curve.memSustainedBytes!);
  t.false('sliceWeight' in mergeRun(whole, { ...ramp(0), unseenMs: 3_500 }, 0.5, 0).curve.memSustainedBytes!);

  // a task's first run found late: its unseen slices repeat its first slice seen, weighing
  // nothing, and the next run seen whole sets them alone
  const first = mergeRun(undefined, late, 0.5, 0);
  const f = forecastFromProfile(first);
  t.is(f.curve.memSustainedBytes!.unseen, unseen);
  t.is(first.curve.memSustainedBytes!.mean[0], first.curve.memSustainedBytes!.mean[unseen]);
  const then = mergeRun(first, ramp(0), 0.5, 0);
  for (let b = 0; b < unseen; b++) t.is(then.curve.memSustainedBytes!.mean[b], whole.curve.memSustainedBytes!.mean[b], `slice ${b} is the whole run's`);
  t.is(forecastFromProfile(then).curve.memSustainedBytes!.unseen, undefined);
  t.deepEqual(then.curve.memSustainedBytes!.var.slice(0, unseen), new Array(unseen).fill(0), 'no spread from a slice no run saw');
  // found later still on the next run too: the first slices no run saw repeat the first one
  // seen, not the first run's fill (which stood above it, at that run's first sample)
  const later = mergeRun(first, ramp(2_000, 1_500), 0.5, 0);
  const lm = later.curve.memSustainedBytes!;
  t.deepEqual(lm.sliceWeight, [0, 0, 0, 1, 1, 1, 1, ...new Array<number>(BINS - 7).fill(1.5)]);
  t.is(forecastFromProfile(later).curve.memSustainedBytes!.unseen, 3);
  for (let b = 0; b < 3; b++) t.is(lm.mean[b], lm.mean[3], `slice ${b} repeats slice 3`);
  t.true(lm.mean[0]! < first.curve.memSustainedBytes!.mean[0]!, 'below the first run\'s fill');

  // an early spike seen only long ago: runs found late every time since bring the peak down
  // (each took the profile's 4 cores there as its own peak while that slice stood on half the
  // curve's weight; for ever, it would never have come down)
  let since = merged;
  for (let i = 0; i < 10; i++) since = mergeRun(since, late, 0.5, 0);
  const spikeGone = forecastFromProfile(since).runPeak.cpuCores!.mean;
  t.true(spikeGone < 1.5, `run peak after 10 late runs: ${spikeGone} cores`);
  t.is(since.curve.cpuCores!.mean[0], 4, 'the slice itself is left as it was');

  // stored and read back; a slice weight above the curve's, or below 0, is a bad file
  t.deepEqual(parseProfile(JSON.stringify(merged)).curve.memSustainedBytes!.sliceWeight, mem.sliceWeight);
  const heavy = structuredClone(merged);
  heavy.curve.memSustainedBytes!.sliceWeight![3] = 2;
  t.throws(() => parseProfile(JSON.stringify(heavy)), { message: 'bad slice weights for memSustainedBytes' });
  const short = structuredClone(merged);
  short.curve.memSustainedBytes!.sliceWeight = [1];
  t.throws(() => parseProfile(JSON.stringify(short)), { message: 'bad slice weights for memSustainedBytes' });
  const negative = structuredClone(merged);
  negative.curve.memSustainedBytes!.sliceWeight![0] = -0.5;
  t.throws(() => parseProfile(JSON.stringify(negative)), { message: 'bad slice weights for memSustainedBytes' });
  // (a run leaves out only its first slices, and sees its last)
  const dip = structuredClone(merged);
  dip.curve.memSustainedBytes!.sliceWeight![10] = 0;
  t.throws(() => parseProfile(JSON.stringify(dip)), { message: 'bad slice weights for memSustainedBytes' });
  const lastLight = structuredClone(merged);
  lastLight.curve.memSustainedBytes!.sliceWeight![BINS - 1] = 1;
  t.throws(() => parseProfile(JSON.stringify(lastLight)), { message: 'bad slice weights for memSustainedBytes' });
});

// ---- the store ----

function storeAt(dir: string, extra: Partial<ConstructorParameters<typeof ProfileStore>[0]> = {}): { store: ProfileStore; problems: StoreProblem[] } {
  const problems: StoreProblem[] = [];
  const store = new ProfileStore({ dir, onProblem: (p) => problems.push(p), ...extra });
  return { store, problems };
}

const filesIn = (dir: string): string[] => readdirSync(dir).sort();

test('store: a recorded run is forecast before the next one starts, and survives a restart', (t) => {
  const dir = join(scratch(t), 'profiles'); // not there yet: made on first write
  const { store } = storeAt(dir);
  t.false(store.existed);
  t.is(store.forecastRun(SIG_A), undefined, 'nothing known about a new task');
  const out = store.record(run(SIG_A, { cores: 2, mem: 5e8 }));
  t.true(out.saved);
  t.deepEqual(out.evicted, []);
  store.record(run(SIG_A, { cores: 4, mem: 5e8, durationMs: 12_000 }));
  const f = store.forecastRun(SIG_A)!;
  t.is(f.runs, 2);
  t.true(f.durationMs.mean > 10_000 && f.durationMs.mean < 12_000);
  t.true(f.durationMs.p90 > f.durationMs.mean);
  t.is(f.curve.cpuCores!.mean.length, BINS);
  t.true(f.peak.cpuCores!.mean > 2 && f.peak.cpuCores!.p90 >= f.peak.cpuCores!.mean);
  t.is(f.peak.memPeakBytes!.mean, 5e8);
  t.true(f.confidence > 0 && f.confidence < 1);
  t.deepEqual(filesIn(dir), [`${SIG_A}.json`], 'one file per signature, no temp file left');

  const { store: again, problems } = storeAt(dir);
  t.true(again.existed);
  t.deepEqual(again.get(SIG_A), store.get(SIG_A));
  t.deepEqual(again.forecastRun(SIG_A), f);
  t.deepEqual(problems, []);
  again.record(run(SIG_A));
  t.is(again.get(SIG_A)!.runs, 3);
});

test('store: a corrupt file is reported and quarantined, never fatal', (t) => {
  const dir = scratch(t);
  const { store } = storeAt(dir);
  store.record(run(SIG_A));
  store.record(run(SIG_B));
  writeFileSync(join(dir, `${SIG_B}.json`), '{"format":1,"signature":"bbbb'); // torn by hand
  const wrongSig = 'c'.repeat(64);
  writeFileSync(join(dir, `${wrongSig}.json`), readFileSync(join(dir, `${SIG_A}.json`))); // a copy under another name
  writeFileSync(join(dir, 'notes.txt'), 'not ours');

  const ro = storeAt(dir, { readOnly: true });
  t.is(ro.store.list().length, 1);
  t.is(ro.problems.length, 2);
  t.true(ro.problems.every((p) => p.kind === 'corrupt' && p.movedTo === undefined));
  t.true(existsSync(join(dir, `${SIG_B}.json`)), 'read-only leaves it in place');

  const { store: rw, problems } = storeAt(dir);
  // quarantined as the store opens, not when their tasks next run (until then they were warned of at every look)
  t.is(problems.length, 2);
  t.false(existsSync(join(dir, `${SIG_B}.json`)));
  t.is(rw.get(SIG_B), undefined);
  t.is(rw.get(wrongSig), undefined);
  t.is(rw.get(SIG_A)!.runs, 1, 'the good profile is untouched');
  t.is(problems.length, 2);
  const torn = problems.find((p) => p.file.endsWith(`${SIG_B}.json`))!;
  t.regex(torn.message, /not JSON/);
  t.regex(problems.find((p) => p.file.includes(wrongSig))!.message, /not the one its name says/);
  t.true(torn.movedTo!.startsWith(join(dir, 'quarantine') + '/'));
  t.is(readFileSync(torn.movedTo!, 'utf8'), '{"format":1,"signature":"bbbb');
  t.false(existsSync(join(dir, `${SIG_B}.json`)));
  t.deepEqual(filesIn(join(dir, 'quarantine')).length, 2);
  t.deepEqual(rw.problems, problems);

  rw.record(run(SIG_B));
  t.is(rw.get(SIG_B)!.runs, 1, 'the signature starts afresh');

  // a newer headroom's profile (a downgrade): left in place, not used, not counted, said
  const newer = 'd'.repeat(64);
  writeFileSync(join(dir, `${newer}.json`), JSON.stringify({ ...JSON.parse(readFileSync(join(dir, `${SIG_A}.json`), 'utf8')), format: 2, signature: newer }));
  const after = storeAt(dir);
  t.deepEqual(after.problems.map((p) => [p.kind, p.message]), [['newer-format', 'format 2, written by a newer headroom (this one reads 1): left in place, not used']]);
  t.true(existsSync(join(dir, `${newer}.json`)));
  t.false(after.store.signatures().includes(newer));
  // ...nor written over when its task runs here (that agent would lose the task's history)
  const before = readFileSync(join(dir, `${newer}.json`), 'utf8');
  t.false(after.store.record(run(newer)).saved);
  t.is(readFileSync(join(dir, `${newer}.json`), 'utf8'), before);
  t.is(after.problems.at(-1)!.message, 'a newer headroom\'s profile: this run is not recorded over it');
});

test('store: a figure out of range or at odds with the others is corrupt (a time no Date holds crashed `profiles list`, hiding every other profile)', (t) => {
  const dir = scratch(t);
  const { store } = storeAt(dir);
  store.record(run(SIG_A));
  store.record(run(SIG_A, { durationMs: 12_000 }));
  const good = JSON.parse(readFileSync(join(dir, `${SIG_A}.json`), 'utf8')) as Record<string, unknown> & { durationMs: Record<string, number>; task?: unknown };
  t.notThrows(() => parseProfile(JSON.stringify(good)));
  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a last run past any date', { lastRunAtMs: 1e16 }, /bad timestamps: lastRunAtMs 10000000000000000/],
    ['a last run past year 9999 (a Date holds it, as "+275760-09-13")', { lastRunAtMs: 8.64e15 }, /bad timestamps: lastRunAtMs 8640000000000000/],
    ['a creation before 1970', { createdAtMs: -1e17 }, /bad timestamps: createdAtMs -100000000000000000/],
    ['runs beyond counting', { runs: 1e308 }, /bad run count/],
    ['a weight no run gives', { weight: 1e-300 }, /bad weight/],
    ['a weight above the runs', { weight: 3 }, /bad weight/],
    ['a mean above the longest run', { durationMs: { ...good.durationMs, mean: 1e12 } }, /mean or last outside min\.\.max/],
    ['a last run shorter than the shortest', { durationMs: { ...good.durationMs, last: 1 } }, /mean or last outside min\.\.max/],
    ['a run of no time', { durationMs: { ...good.durationMs, min: 0 } }, /a run of 0 ms/],
    ['more arguments than a label keeps', { task: { exe: '/bin/x', args: Array.from({ length: 65 }, (_, i) => String(i)) } }, /bad task label/],
  ];
  for (const [what, change, message] of bad) t.throws(() => parseProfile(JSON.stringify({ ...good, ...change })), { message }, what);
  // the last moment of year 9999 is a time a profile may hold; a millisecond later is not
  t.notThrows(() => parseProfile(JSON.stringify({ ...good, lastRunAtMs: Date.UTC(9999, 11, 31, 23, 59, 59, 999) })));
  t.throws(() => parseProfile(JSON.stringify({ ...good, lastRunAtMs: Date.UTC(9999, 11, 31, 23, 59, 59, 999) + 1 })), { message: /bad timestamps/ });
  // a decayed mean's rounding scales with the longest run in it: a hair under the shortest is no fault
  t.notThrows(() => parseProfile(JSON.stringify({ ...good, durationMs: { ...good.durationMs, min: 0.6447802061, mean: 0.6447753906, max: 8e11, last: 8e11 } })));

  // on disk: said and skipped, the rest listed (by the CLI too, with no stack trace)
  const sigs = bad.map((_, i) => (i + 1).toString(16).padStart(2, '0').repeat(32));
  bad.forEach(([, change], i) => writeFileSync(join(dir, `${sigs[i]}.json`), JSON.stringify({ ...good, ...change, signature: sigs[i] })));
  const huge = 'e'.repeat(64);
  writeFileSync(join(dir, `${huge}.json`), ' '.repeat(4 * 1024 * 1024 + 1));
  const ro = storeAt(dir, { readOnly: true });
  t.deepEqual(ro.store.list().map((e) => e.profile.signature), [SIG_A]);
  t.is(ro.problems.length, bad.length + 1);
  t.true(ro.problems.every((p) => p.kind === 'corrupt'));
  t.regex(ro.problems.find((p) => p.file.includes(huge))!.message, /^4194305 bytes, too large to be a profile/);
  const list = cli('list', '--dir', dir);
  t.is(list.status, 1, 'the good one listed, the corrupt ones said: exit 1');
  t.regex(list.stdout, /^ID .*\naaaaaaaaaaaa\s+2\s/);
  t.notRegex(list.stderr, /RangeError|\n\s+at /);
  t.is(cli('show', '0101', '--dir', dir).status, 1);
  // a writable store moves them aside as it opens
  const rw = storeAt(dir);
  t.is(rw.problems.filter((p) => p.movedTo).length, bad.length + 1);
  t.deepEqual(rw.store.signatures(), [SIG_A]);
  // ...so a run's figure beyond what a profile may hold (a counter's glitch) is held at the bound
  // as it is recorded: saved whole, it was quarantined as the store next opened, its history lost
  const plain = run(SIG_B);
  const glitch = { ...plain, samples: plain.samples.map((x, i) => (i === 3 ? { ...x, ioBytesPerSec: 2e15 } : x)) };
  t.true(rw.store.record(glitch).saved);
  const reopened = storeAt(dir);
  t.deepEqual(reopened.problems, []);
  const peak = reopened.store.get(SIG_B)!.curve.ioBytesPerSec!.peak!.mean;
  t.true(peak > 4e14 && peak <= 1e15, `peak ${peak}`);
});

test('store: a file it cannot read (an I/O error) is said and left in place, and no run is recorded over it; it is read again at the next look', (t) => {
  const dir = scratch(t);
  const { store } = storeAt(dir);
  store.record(run(SIG_A));
  store.record(run(SIG_B));
  const fileB = join(dir, `${SIG_B}.json`);
  const saved = readFileSync(fileB);
  // a regular file by stat whose read fails with EIO (an unreadable disk block, as a tmpfile can not fake)
  rmSync(fileB);
  symlinkSync('/proc/self/mem', fileB);
  const rw = storeAt(dir);
  t.deepEqual(rw.problems.map((p) => [p.kind, p.file]), [['unreadable', fileB]]);
  t.regex(rw.problems[0]!.message, /^EIO: .*\(left in place\)$/);
  t.true(lstatSync(fileB).isSymbolicLink(), 'not quarantined: the quarantine keeps 20 and its task lost its history');
  t.false(existsSync(join(dir, 'quarantine')));
  t.is(rw.store.get(SIG_B), undefined);
  t.is(rw.store.get(SIG_A)!.runs, 1);
  const out = rw.store.record(run(SIG_B));
  t.false(out.saved);
  t.is(rw.problems.at(-1)!.message, 'its profile could not be read: this run is not recorded over it');
  t.true(lstatSync(fileB).isSymbolicLink(), 'not written over');
  // the CLI lists what it can, says what it could not, and exits 1 (a listing that looks complete is not)
  const list = cli('list', '--dir', dir);
  t.is(list.status, 1);
  t.regex(list.stdout, /\naaaaaaaaaaaa\s/);
  t.regex(list.stderr, /^headroom: could not read profile .*b{64}\.json: EIO/);
  // readable again (the disk came back): read, and recorded into
  rmSync(fileB);
  writeFileSync(fileB, saved);
  t.is(rw.store.get(SIG_B)!.runs, 1);
  t.true(rw.store.record(run(SIG_B)).saved);
  t.is(rw.store.get(SIG_B)!.runs, 2);
  t.is(cli('list', '--dir', dir).status, 0);
  // a folder made at a profile's name while the store runs is not "unreadable" (EISDIR) for as long as it runs: quarantined
  rmSync(fileB);
  mkdirSync(fileB);
  t.is(rw.store.get(SIG_B), undefined);
  t.like(rw.problems.at(-1), { kind: 'corrupt', file: fileB, message: 'not a regular file' });
  t.true(rw.store.record(run(SIG_B)).saved, 'its task starts afresh');
});

test('store: an unreadable profile evicted for the budget is gone, and its task\'s runs are recorded again (they were refused until a restart)', (t) => {
  const dir = scratch(t);
  const sigs = [...'0123456789abcdef'].map((c) => c.repeat(64));
  let clock = 1_000_000;
  const opts = { maxBytes: 16 * 1024, now: () => (clock += 1000) };
  const { store } = storeAt(dir, opts);
  store.record(run(sigs[0]!));
  const file0 = join(dir, `${sigs[0]}.json`);
  rmSync(file0);
  symlinkSync('/proc/self/mem', file0);
  const rw = storeAt(dir, opts);
  t.is(rw.problems[0]!.kind, 'unreadable');
  // the least recently used: the first evicted as others fill the budget
  let evicted: string[] = [];
  for (let i = 1; i < sigs.length && evicted.length === 0; i++) evicted = rw.store.record(run(sigs[i]!)).evicted;
  // (first: the least recently used; the link reads 0 bytes, so one more goes to make room)
  t.is(evicted[0], sigs[0]!);
  t.throws(() => lstatSync(file0), { code: 'ENOENT' });
  const again = rw.store.record(run(sigs[0]!));
  t.true(again.saved);
  t.is(again.profile.runs, 1);
});

test('store: a running store follows its files: one truncated while it runs is quarantined and said, one removed starts its task afresh (the copy in memory is not put back)', (t) => {
  // (a walkthrough: a profile truncated under a running agent was forecast from memory, then
  // silently written over; one removed was put back with its runs)
  const dir = scratch(t);
  const { store, problems } = storeAt(dir);
  for (let i = 0; i < 3; i++) store.record(run(SIG_A));
  store.record(run(SIG_B));
  t.is(store.forecastRun(SIG_A)!.runs, 3);
  writeFileSync(join(dir, `${SIG_A}.json`), '{"format":1,"sig');
  t.is(store.forecastRun(SIG_A), undefined, 'not forecast from the copy in memory');
  t.deepEqual(problems.map((p) => [p.kind, p.file]), [['corrupt', join(dir, `${SIG_A}.json`)]]);
  t.true(problems[0]!.movedTo!.startsWith(join(dir, 'quarantine')));
  t.is(statSync(join(dir, 'quarantine')).mode & 0o777, 0o700, 'quarantine/ is as private as the store (task labels hold command lines)');
  t.is(store.record(run(SIG_A)).profile.runs, 1);
  rmSync(join(dir, `${SIG_B}.json`));
  t.is(store.forecastRun(SIG_B), undefined, 'removed by hand: no forecast');
  t.is(store.record(run(SIG_B)).profile.runs, 1, 'and its next run starts it afresh');
  // unchanged files are served from memory as before
  t.is(store.forecastRun(SIG_B)!.runs, 1);
  t.is(problems.length, 1);
  // an edit that keeps the size is seen too (inode, size and mtime): a hand-edited run count
  const file = join(dir, `${SIG_B}.json`);
  writeFileSync(file, readFileSync(file, 'utf8').replace('"runs":1', '"runs":7'));
  t.is(store.forecastRun(SIG_B)!.runs, 7);
});

test('store: the byte budget evicts the least recently used profile', (t) => {
  const dir = scratch(t);
  const sigs = [...'0123456789abcdef'].map((c) => c.repeat(64));
  let clock = 1_000_000;
  const { store } = storeAt(dir, { maxBytes: 16 * 1024, now: () => (clock += 1000) });
  store.record(run(sigs[0]!));
  const each = store.bytes;
  t.true(each > 1000 && each < 2000, `one profile is ${each} bytes`);
  const fit = Math.floor((16 * 1024) / each);
  for (let i = 1; i < fit; i++) store.record(run(sigs[i]!));
  t.is(store.size, fit);
  store.forecastRun(sigs[0]!); // the oldest is used again: now sigs[1] is the least recent
  const out = store.record(run(sigs[fit]!));
  t.deepEqual(out.evicted, [sigs[1]!]);
  t.true(store.has(sigs[0]!));
  t.true(store.bytes <= store.maxBytes);
  const onDisk = filesIn(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  t.true(onDisk <= 16 * 1024, `${onDisk} bytes on disk`);

  // The order survives a restart (file mtimes): the next eviction takes sigs[2].
  const { store: again } = storeAt(dir, { maxBytes: 16 * 1024, now: () => (clock += 1000) });
  t.deepEqual(again.record(run(sigs[fit + 1]!)).evicted, [sigs[2]!]);
  t.true(again.has(sigs[0]!));
});

// (a walkthrough: one task with a 40 KB argument, `bash -c '<script>'`, evicted all seven profiles
// of a 16 KiB store and still left it at 41 KB)
test('store: a long argument is cut in the label; a profile over the whole budget is not saved, and evicts nothing', (t) => {
  const dir = scratch(t);
  let clock = 1_000_000;
  const { store, problems } = storeAt(dir, { maxBytes: 16 * 1024, now: () => (clock += 1000) });
  for (const c of '012') store.record(run(c.repeat(64)));
  const three = store.bytes;
  const script = `echo ${'x'.repeat(40_000)}`;
  const long = { ...run(SIG_A), task: { exe: '/bin/bash', args: ['-c', script], env: { LANG: 'C', GONE: null } } };
  const out = store.record(long);
  t.true(out.saved);
  t.deepEqual(out.evicted, []);
  const arg = out.profile.task!.args[1]!;
  t.is(arg, `${script.slice(0, 1024)}... (${script.length - 1024} more characters)`);
  t.deepEqual(out.profile.task!.env, { LANG: 'C', GONE: null });
  t.true(store.bytes < three + 4096, `${store.bytes} bytes`);
  // sixty-four arguments of 1 KiB each: over 16 KiB even cut; the others stay, and it is said
  const huge = { ...run(SIG_B), task: { exe: '/bin/tool', args: Array.from({ length: 64 }, (_, i) => `${i}`.repeat(2000)) } };
  const before = filesIn(dir);
  const refused = store.record(huge);
  t.false(refused.saved);
  t.deepEqual(refused.evicted, []);
  t.deepEqual(filesIn(dir), before);
  t.true(store.bytes <= store.maxBytes);
  t.regex(problems.at(-1)!.message, /^its profile takes \d+ bytes, more than the store's whole budget \(16384\): not saved, and no other profile evicted for it$/);
});

test('store: a write cut short before its rename leaves the old profile, and the leftover is cleaned', (t) => {
  const dir = scratch(t);
  const { store } = storeAt(dir);
  store.record(run(SIG_A));
  const good = readFileSync(join(dir, `${SIG_A}.json`), 'utf8');
  // What a crash between write and rename leaves: a half-written temp file beside the old one.
  const temp = `.${SIG_A}.json.tmp-99999-0`;
  writeFileSync(join(dir, temp), good.slice(0, good.length / 2));

  const ro = storeAt(dir, { readOnly: true });
  t.is(ro.store.get(SIG_A)!.runs, 1, 'the reader sees the last complete write');
  t.deepEqual(ro.problems, []);
  t.true(existsSync(join(dir, temp)), 'a reader removes nothing');

  const { store: rw, problems } = storeAt(dir);
  t.deepEqual(problems.map((p) => [p.kind, p.file]), [['stale-temp', join(dir, temp)]]);
  t.deepEqual(filesIn(dir), [`${SIG_A}.json`]);
  t.is(rw.get(SIG_A)!.runs, 1);
  rw.record(run(SIG_A));
  t.deepEqual(filesIn(dir), [`${SIG_A}.json`]);
  t.throws(() => ro.store.record(run(SIG_A)), { message: /read-only/ });
  t.throws(() => rw.record(run('xyz')), { message: /not a task signature/ });
});

testIf(isRoot, 'root (to mount a small tmpfs)', 'store: a full disk fails the write, keeps the old file and the store', (t) => {
  const dir = scratch(t);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'headroom-test', dir]);
  if (r.status !== 0) return t.fail(`mount tmpfs: ${r.stderr}`);
  t.teardown(() => spawnSync('umount', [dir]));
  const { store, problems } = storeAt(dir);
  t.true(store.record(run(SIG_A)).saved);
  // Fill what is left of the filesystem.
  const filler = join(dir, 'filler');
  try {
    for (let i = 0; i < 64; i++) writeFileSync(filler, Buffer.alloc(4096), { flag: 'a' });
  } catch (err) {
    t.is((err as NodeJS.ErrnoException).code, 'ENOSPC');
  }
  const out = store.record(run(SIG_A));
  t.false(out.saved);
  t.is(out.profile.runs, 2, 'kept in memory');
  t.like(problems[0], { kind: 'write-failed', file: join(dir, `${SIG_A}.json`) });
  t.regex(problems[0]!.message, /^ENOSPC: no space left on device/, 'its code said once');
  t.deepEqual(filesIn(dir), [`${SIG_A}.json`, 'filler'], 'no temp file left');
  t.is(storeAt(dir).store.get(SIG_A)!.runs, 1, 'the file on disk is the old, whole one');
  rmSync(filler);
  t.true(store.record(run(SIG_A)).saved, 'saved again once there is room');
  t.is(storeAt(dir).store.get(SIG_A)!.runs, 3);
});

// ---- CLI ----

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliFile, 'profiles', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('cli: a missing store lists no profiles (a fresh host) and shows none, exit 1; an empty one is exit 0', (t) => {
  const dir = scratch(t);
  const missing = join(dir, 'nope');
  const show = cli('show', 'abc', '--dir', missing);
  t.is(show.status, 1);
  t.is(show.stdout, '');
  t.is(show.stderr, `headroom: no profile store at ${missing} (nothing recorded yet, or a wrong --dir)\n`);
  const why = 'no profile store there: nothing recorded yet, or a wrong --dir';
  t.deepEqual(cli('list', '--dir', missing), { status: 0, stdout: `no profiles in ${missing} (${why})\n`, stderr: '' });
  t.deepEqual(cli('list', '--dir', missing, '--json'), { status: 0, stdout: '[]\n', stderr: `headroom: no profiles in ${missing} (${why})\n` });
  t.false(existsSync(missing), 'and it is not made');
  // a path through a file is a wrong --dir, not a fresh host
  writeFileSync(join(dir, 'file'), '');
  t.is(cli('list', '--dir', join(dir, 'file', 'x')).status, 1);
  t.deepEqual(cli('list', '--dir', dir), { status: 0, stdout: `no profiles in ${dir}\n`, stderr: '' });
  t.deepEqual(cli('list', '--dir', dir, '--json'), { status: 0, stdout: '[]\n', stderr: '' });
  t.deepEqual(cli('list', '--profiles-dir', dir), { status: 0, stdout: `no profiles in ${dir}\n`, stderr: '' }, "run's name for it too");
  const showEmpty = cli('show', 'abc', '--dir', dir);
  t.is(showEmpty.status, 1);
  t.regex(showEmpty.stderr, /^headroom: no profile matches 'abc'/);
  const usage = cli('show', '--dir', dir);
  t.is(usage.status, 2);
  // (run alone, as from main: the missing id named, not yargs' "Not enough non-option arguments")
  t.is(usage.stderr, "headroom: profiles show needs the profile to show: its signature, or a prefix only it has (`headroom profiles list` lists them)\nRun 'headroom profiles show --help' for usage.\n");
  t.is(cli('lst', '--dir', dir).stderr, 'headroom: unknown profiles subcommand "lst"; expected one of list, show, delete\nRun \'headroom profiles --help\' for usage.\n', 'no help of a subcommand that is none');
});

test('cli: --policy reads the store its profiles.dir names, else the one under --state-dir; --dir wins; a broken policy is exit 3', (t) => {
  const dir = scratch(t);
  const store = join(dir, 'store');
  mkdirSync(store);
  writeFileSync(join(dir, 'policy.yaml'), `version: 1\nprofiles:\n  dir: ${store}\n`);
  t.deepEqual(cli('list', '--policy', join(dir, 'policy.yaml')), { status: 0, stdout: `no profiles in ${store}\n`, stderr: '' });
  t.is(cli('list', '--policy', join(dir, 'policy.yaml'), '--dir', dir).stdout, `no profiles in ${dir}\n`);
  // where the policy names none: the store under --state-dir, as run keeps it there
  const state = join(dir, 'state');
  mkdirSync(join(state, 'profiles'), { recursive: true });
  writeFileSync(join(dir, 'plain.yaml'), 'version: 1\n');
  t.is(cli('list', '--state-dir', state).stdout, `no profiles in ${join(state, 'profiles')}\n`);
  t.is(cli('list', '--state-dir', state, '--policy', join(dir, 'plain.yaml')).stdout, `no profiles in ${join(state, 'profiles')}\n`);
  t.is(cli('list', '--state-dir', state, '--policy', join(dir, 'policy.yaml')).stdout, `no profiles in ${store}\n`, 'the policy\'s own dir wins');
  writeFileSync(join(dir, 'bad.yaml'), 'version: 1\nprofiles:\n  dirr: x\n');
  const bad = cli('list', '--policy', join(dir, 'bad.yaml'));
  t.is(bad.status, 3);
  t.regex(bad.stderr, /bad\.yaml:3:3: profiles\.dirr: unknown key/);
});

test('cli: delete removes the one profile a prefix names; an open store starts its task afresh; a corrupt one is said, then removed', (t) => {
  const dir = scratch(t);
  const { store } = storeAt(dir);
  const abSig = 'ab' + 'c'.repeat(62);
  store.record(run(SIG_A, { cores: 2 }));
  store.record(run(SIG_A, { cores: 2 }));
  store.record({ ...run(abSig), task: { exe: '/usr/bin/tool', args: ['--x'] } });
  t.is(store.forecastRun(SIG_A)!.runs, 2, 'the agent has it cached');
  // ambiguous, malformed, or no match: nothing removed
  t.like(cli('delete', 'a', '--dir', dir), { status: 2, stdout: '' });
  t.like(cli('delete', 'zz', '--dir', dir), { status: 2, stdout: '' });
  t.deepEqual(cli('delete', 'ff', '--dir', dir), { status: 1, stdout: '', stderr: `headroom: no profile matches 'ff' in ${dir}\n` });
  t.deepEqual(filesIn(dir).filter((f) => f.endsWith('.json')).sort(), [`${SIG_A}.json`, `${abSig}.json`].sort());

  const gone = cli('delete', 'ABC', '--dir', dir);
  t.deepEqual(gone, { status: 0, stdout: "deleted profile abcccccccccc (1 run: tool --x); its task's next run is its first\n", stderr: '' });
  t.false(existsSync(join(dir, `${abSig}.json`)));
  t.deepEqual(JSON.parse(cli('delete', 'aaaa', '--dir', dir, '--json').stdout), { deleted: SIG_A, runs: 2 });
  t.is(store.forecastRun(SIG_A), undefined, 'the open store reads it as gone: not put back from memory');
  store.record(run(SIG_A));
  t.is(store.get(SIG_A)!.runs, 1, 'its next run is its first');

  // a file that does not parse: said, and removed all the same
  writeFileSync(join(dir, `${abSig}.json`), 'garbage');
  const bad = profilesDelete(dir, 'ab');
  t.is(bad.exitCode, 0);
  t.regex(bad.stderr, /^headroom: corrupt profile .*abc+\.json: not JSON/);
  t.is(bad.stdout, "deleted profile abcccccccccc (not read: said above); its task's next run is its first\n");
  t.false(existsSync(join(dir, `${abSig}.json`)));
  t.false(existsSync(join(dir, 'quarantine', `${abSig}.json`)), 'not quarantined: deleted');
});

test('cli: delete removes a profile\'s name on something not a file, which list reports (it said no profile matched); a folder so named is said and left', (t) => {
  const dir = scratch(t);
  const { store } = storeAt(dir);
  store.record(run(SIG_A));
  const link = join(dir, `${'7'.repeat(64)}.json`);
  symlinkSync('/dev/null', link);
  const folder = join(dir, `${'8'.repeat(64)}.json`);
  mkdirSync(folder);
  const list = profilesList(dir);
  t.is(list.exitCode, 1, 'a listing without them');
  t.regex(list.stderr, /corrupt profile .*7{64}\.json: not a regular file/);
  t.regex(list.stderr, /corrupt profile .*8{64}\.json: not a regular file/);
  const gone = profilesDelete(dir, '777');
  t.is(gone.exitCode, 0, gone.stderr);
  t.regex(gone.stdout, /^deleted profile 777777777777 \(not read: said above\)/);
  t.throws(() => lstatSync(link), { code: 'ENOENT' });
  const kept = profilesDelete(dir, '8888');
  t.is(kept.exitCode, 1);
  t.regex(kept.stderr, /could not delete .*8{64}\.json: EISDIR/);
  t.true(statSync(folder).isDirectory());
  t.is(profilesShow(dir, 'aaaa').exitCode, 0, 'the good profile is untouched');
  t.is(profilesShow(dir, 'aaaa').stderr, '', 'another profile\'s problem is list\'s to say, not repeated at every show');
  const folderShown = profilesShow(dir, '8888');
  t.is(folderShown.exitCode, 1);
  t.regex(folderShown.stderr, /corrupt profile .*8{64}\.json: not a regular file/, 'its own problem is the answer');
  t.like(profilesDelete(dir, '9999'), { exitCode: 1 });
  // a link to nothing: listed as not a file (it was not seen at all), and deleted
  const dangling = join(dir, `${'6'.repeat(64)}.json`);
  symlinkSync(join(dir, 'nothing-here'), dangling);
  t.regex(profilesList(dir).stderr, /corrupt profile .*6{64}\.json: not a regular file/);
  t.is(profilesDelete(dir, '666').exitCode, 0);
  t.throws(() => lstatSync(dangling), { code: 'ENOENT' });
  // a prefix both a profile and a name on something not a file match is ambiguous (it deleted the profile)
  store.record(run('8a'.repeat(32)));
  const ambiguous = profilesDelete(dir, '8');
  t.is(ambiguous.exitCode, 2, ambiguous.stderr);
  t.regex(ambiguous.stderr, /'8' matches 2 profiles .*: give more digits/);
  t.true(statSync(join(dir, `${'8a'.repeat(32)}.json`)).isFile(), 'nothing deleted');
  // show prints each word of the command as a shell reads it (one argument or two, an empty one)
  const spaced = 'ad' + 'e'.repeat(62);
  store.record({ ...run(spaced), task: { exe: '/opt/my app/tool', args: ['a b', '', 'plain'] } });
  t.regex(profilesShow(dir, 'ade').stdout, /\ncommand     "\/opt\/my app\/tool" "a b" "" plain\n/);
  t.is(cli('list', '--state-dir').status, 2, '--state-dir without its path (it read ./profiles)');
});

test('cli: show says which columns stand on fewer runs, with their own confidence', (t) => {
  const dir = scratch(t);
  const { store } = storeAt(dir);
  store.record(withoutMemory(run(SIG_A, { cores: 2 })));
  store.record(withoutMemory(run(SIG_A, { cores: 2 })));
  store.record(run(SIG_A, { cores: 2, mem: 3 * 1024 * 1024 }));
  const show = profilesShow(dir, 'aaaa');
  t.is(show.exitCode, 0);
  t.regex(show.stdout, /\nconfidence  (\d\.\d\d) \(MEM_PEAK (\d\.\d\d), MEM_SUSTAINED \2: measured in fewer runs\)\n/);
  const [, all, mem] = /\nconfidence  (\d\.\d\d) \(MEM_PEAK (\d\.\d\d)/.exec(show.stdout)!;
  t.true(Number(mem) < Number(all), show.stdout);
  // every column measured in every run: no such note
  store.record(run('ab' + 'c'.repeat(62), { cores: 1, mem: 1024 }));
  t.regex(profilesShow(dir, 'abc').stdout, /\nconfidence  \d\.\d\d\n/);
});

test('cli: list and show print the store', (t) => {
  const dir = scratch(t);
  const { store } = storeAt(dir);
  store.record(run(SIG_A, { cores: 2, mem: 3 * 1024 * 1024 }));
  store.record(run(SIG_A, { cores: 2, mem: 3 * 1024 * 1024 }));
  const abSig = 'ab' + 'c'.repeat(62);
  // what tells two tasks of one command line apart is kept with the label, and shown
  store.record({ ...run(abSig, { endedAtMs: 1_600_000_000_000 }), task: { exe: '/usr/bin/tool', args: ['--x', 'in.dat'], inputs: ['in.dat: file, 1234 bytes'], env: { JOBMODE: 'x', OTHER: null, NOTE: 'a\nb, c' } } });

  const list = cli('list', '--dir', dir);
  t.is(list.status, 0);
  const lines = list.stdout.trimEnd().split('\n');
  t.is(lines.length, 3);
  t.regex(lines[0]!, /^ID\s+RUNS\s+MEAN_DUR\s+MEAN_PEAK_CPU\s+MEAN_PEAK_MEM\s+LAST_SEEN\s+COMMAND$/);
  t.regex(lines[1]!, /^aaaaaaaaaaaa\s+2\s+10\.0s\s+1\.95\s+3\.00MiB\s+2023-11-14 22:13Z\s+tool --x 1$/);
  // the chosen environment set, as a shell reads it (two tasks of one command line read the same
  // without it: a walkthrough); a value with a newline quoted, never printed raw
  t.regex(lines[2]!, /^abcccccccccc\s+1\s.*\sJOBMODE=x NOTE="a\\nb, c" tool --x in\.dat$/);
  const json = JSON.parse(cli('list', '--dir', dir, '--json').stdout) as Array<{ signature: string; runs: number; inputs: string[] | null; env: Record<string, string | null> | null }>;
  t.deepEqual(json.map((p) => [p.signature, p.runs]), [[SIG_A, 2], [abSig, 1]]);

  const show = profilesShow(dir, 'AAAA');
  t.is(show.exitCode, 0);
  t.regex(show.stdout, new RegExp(`^signature   ${SIG_A}\n`));
  t.regex(show.stdout, /\nPROGRESS\s+FROM\s+CPU_CORES\s+MEM_PEAK\s+MEM_SUSTAINED\s+IO\s+NET\n/);
  t.regex(show.stdout, /\n0-5%\s+0ms\s+0\.05 \(0\.05\)\s+3\.00MiB \(3\.00MiB\)/);
  t.regex(show.stdout, /\n95-100%\s+9\.50s\s+1\.95 \(1\.95\)/);
  const doc = JSON.parse(profilesShow(dir, 'aaaa', true).stdout) as { profile: { runs: number }; forecast: { curve: { cpuCores: { mean: number[] } } } };
  t.is(doc.profile.runs, 2);
  t.is(doc.forecast.curve.cpuCores.mean.length, BINS);
  t.like(profilesShow(dir, 'a'), { exitCode: 2, stdout: '' });
  t.regex(profilesShow(dir, 'a').stderr, /^headroom: 'a' matches 2 profiles \(aaaaaaaaaaaa, abcccccccccc\): give more digits\n$/);
  t.like(profilesShow(dir, 'zz'), { exitCode: 2 });
  t.like(cli('show', 'ab', '--dir', dir), { status: 0 });
  // (a value a workload chose is quoted where it holds a newline or a separator: it reaches root's terminal)
  t.regex(cli('show', 'ab', '--dir', dir).stdout, /\ncommand     \/usr\/bin\/tool --x in\.dat\ninputs      in\.dat: file, 1234 bytes\nenvironment JOBMODE=x, OTHER unset, NOTE="a\\nb, c"\n/);
  t.like(json.find((p) => p.signature === abSig), { inputs: ['in.dat: file, 1234 bytes'], env: { JOBMODE: 'x', OTHER: null, NOTE: 'a\nb, c' } });
  t.notRegex(profilesShow(dir, 'AAAA').stdout, /\ninputs|\nenvironment|\nexit status/, 'none shown where none were kept');
  // a task whose runs end with a nonzero status as a rule (TaskRuns learns it): said
  store.record({ ...run(abSig, { endedAtMs: 1_600_000_001_000 }), exitStatus: 1 });
  t.regex(profilesShow(dir, 'ab').stdout, /\nexit status 1 \(its last run's: learned as its usual end, not a failure\)\nconfidence/);
  t.is((JSON.parse(profilesShow(dir, 'ab', true).stdout) as { profile: { exitStatus?: number } }).profile.exitStatus, 1);

  // A corrupt file is reported on stderr, the rest still listed, nothing moved.
  writeFileSync(join(dir, `${abSig}.json`), 'garbage');
  const withBad = profilesList(dir);
  t.is(withBad.exitCode, 1, 'listed without it: exit 1, as for a file that cannot be read');
  t.regex(withBad.stderr, /^headroom: corrupt profile .*abc+\.json: not JSON.*\(left in place: this reader changes nothing; the agent moves it to quarantine\/ as it starts, or `headroom profiles delete` removes it\)/);
  t.is(withBad.stdout.trimEnd().split('\n').length, 2);
  t.true(existsSync(join(dir, `${abSig}.json`)));

  // a task whose runs' memory was not measured: shown as such, not as 0
  const cpuOnlySig = 'cd' + 'e'.repeat(62);
  const r = run(cpuOnlySig);
  store.record(withoutMemory(r));
  t.regex(cli('list', '--dir', dir).stdout, /\ncdeeeeeeeeee\s+1\s+10\.0s\s+1\.95\s+-\s+/);
  t.is((JSON.parse(cli('list', '--dir', dir, '--json').stdout) as Array<{ signature: string; peakMemBytes: number | null }>).find((p) => p.signature === cpuOnlySig)!.peakMemBytes, null);
  const cpuOnly = profilesShow(dir, 'cd').stdout;
  t.regex(cpuOnly, /\n0-5%\s+0ms\s+0\.05 \(0\.05\)\s+-\s+-\s+1000B\/s/);
  t.regex(cpuOnly, /\n-: not measured in any run \(MEM_PEAK, MEM_SUSTAINED: memory is not measured where the memory controller does not see the run's cgroup\)\n$/);
  // memory and network unmeasured: memory's reason is said as memory's, not as the list's
  const noNetSig = 'ce' + 'e'.repeat(62);
  store.record({ ...withoutMemory(run(noNetSig)), samples: withoutMemory(run(noNetSig)).samples.map(({ netBytesPerSec: _, ...rest }) => rest) });
  t.regex(profilesShow(dir, 'ce').stdout, /\n-: not measured in any run \(MEM_PEAK, MEM_SUSTAINED, NET; memory is not measured where the memory controller does not see the run's cgroup\)\n$/);
  // a task whose one run was found late: the slices no run saw are marked, and said
  const lateSig = 'cf' + 'e'.repeat(62);
  store.record({ ...run(lateSig), unseenMs: 1_600, samples: run(lateSig).samples.filter((x) => x.atMs >= 1_600) });
  const late = profilesShow(dir, 'cf').stdout;
  t.regex(late, /\n0-5%\s+0ms\s+[^\n]*\)\*\s/, 'its first slice marked');
  t.regex(late, /\n10-15%\s+1\.00s\s+\S+ \(\S+\)\*/, 'its third slice, 1-1.5 s, marked');
  t.regex(late, /\n15-20%\s+[^*\n]+\n/, 'the fourth slice, its own, not');
  t.regex(late, /\n\*: no run was seen there \(each begun before a tick saw it\): the first slice seen, repeated\n$/);
  t.is((JSON.parse(profilesShow(dir, 'cf', true).stdout) as { forecast: { curve: { cpuCores: { unseen: number } } } }).forecast.curve.cpuCores.unseen, 3);
});

test('cli: a --dir that is a file is said to be one, not a raw ENOTDIR', (t) => {
  const file = join(scratch(t), 'not-a-store');
  writeFileSync(file, 'x');
  for (const out of [profilesList(file), profilesShow(file, 'aaaa'), profilesList(file, true)]) {
    t.is(out.exitCode, 1);
    t.is(out.stderr, `headroom: ${file} is not a folder (a profile store is a folder of <signature>.json files): a wrong --dir?\n`);
  }
});

test('envKeysChangedNote: profiles learned with other env_keys than the policy\'s are counted from the store\'s open and said; all agreeing (or labels without an environment) say nothing', (t) => {
  const dir = scratch(t);
  const { store } = storeAt(dir);
  const labelled = (c: string, env?: Record<string, string | null>): FinishedRun => ({ ...run(c.repeat(64)), task: { exe: '/bin/x', args: [], ...(env ? { env } : {}) } });
  store.record(labelled('a', { B: 'x', A: null }));
  store.record(labelled('b', { A: '1', B: '2' }));
  store.record(labelled('c', {}));
  store.record(labelled('d'));
  const opened = new ProfileStore({ dir });
  t.deepEqual([...opened.envKeySets].sort(), [['', 1], ['A, B', 2]]);
  t.is(envKeysChangedNote(new Map([['A, B', 2]]), ['B', 'A', 'A']), null, 'the same keys, in any order');
  t.is(envKeysChangedNote(new Map(), []), null, 'no label with an environment: not counted');
  t.is(envKeysChangedNote(opened.envKeySets, ['A', 'B']), '1 of the 3 task profiles whose keys are recorded were learned with other profiles.env_keys than this policy\'s (A, B): 1 with none. Their tasks are signed anew and forecast once they have run again; the old profiles stay until evicted (profiles.max_size) or removed (headroom profiles delete)');
  t.regex(envKeysChangedNote(opened.envKeySets, [])!, /^2 of the 3 task profiles .* than this policy's \(none\): 2 with A, B\. /);
  t.deepEqual([...new ProfileStore({ dir, readOnly: true }).envKeySets], [], 'a reader reads nothing at the open');
});
