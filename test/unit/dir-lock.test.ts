// One agent per directory: a live holder refuses a second, a dead one's lock is taken over, and
// the lock goes with the process that took it.
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DirLockedError, dropStaleName, LOCK_FILE, lockDir, lockFile, lockHolder, lockName, nameLockPath, openTo, processStart } from '../../agent/dir-lock.js';

const lockModule = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../agent/dir-lock.js');

function scratch(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-lock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Another process that takes `dir` and holds it until killed; resolves once it holds it. */
async function holder(t: { teardown: (fn: () => void) => void }, dir: string, how: 'lockDir' | 'lockFile' = 'lockDir'): Promise<ReturnType<typeof spawn>> {
  const code = `import(${JSON.stringify(lockModule)}).then((m) => { m.${how}(${JSON.stringify(dir)}, 'test'); console.log('held'); setInterval(() => {}, 1000); });`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => { child.kill('SIGKILL'); });
  await new Promise<void>((res, rej) => {
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('held')) res(); });
    child.on('exit', (c) => rej(new Error(`the holder exited (${c})`)));
  });
  return child;
}

test('a directory held by a live agent is refused, naming its pid and why; one whose holder died is taken over, and said', async (t) => {
  const dir = join(scratch(t), 'state');
  const child = await holder(t, dir);
  const err = t.throws(() => lockDir(dir, 'one agent per state dir'), { instanceOf: DirLockedError });
  t.is(err.message, `${dir} is in use by another headroom agent (pid ${child.pid}): one agent per state dir`);
  t.is(lockHolder(dir)?.pid, child.pid);

  // killed outright: its lock stays, and is stale
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  t.true(existsSync(join(dir, LOCK_FILE)));
  t.is(lockHolder(dir), null);
  const said: string[] = [];
  lockDir(dir, 'test', (m) => said.push(m));
  t.deepEqual(said, [`${join(dir, LOCK_FILE)}: left by an agent that is gone (pid ${child.pid}); taken over`]);
  t.like(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')), { pid: process.pid, start: processStart('self') });
  t.deepEqual(readdirSync(dir), [LOCK_FILE], 'nothing else left there');
});

test('a lock whose pid now names another process (pid reuse) is stale; a garbled one too', (t) => {
  const dir = scratch(t);
  // pid 1 is alive, but did not start when this lock says
  writeFileSync(join(dir, LOCK_FILE), `${JSON.stringify({ pid: 1, start: (processStart(1) ?? 0) + 12345 })}\n`);
  t.is(lockHolder(dir), null);
  writeFileSync(join(dir, LOCK_FILE), '{"pid": 1');
  t.is(lockHolder(dir), null);
  t.notThrows(() => lockDir(dir, 'test'));
  t.is(lockHolder(dir)?.pid, process.pid);
});

test('the lock goes when its process exits, with the folders made for it where they hold nothing else', async (t) => {
  const dir = join(scratch(t), 'var', 'state');
  const code = `import(${JSON.stringify(lockModule)}).then((m) => { m.lockDir(${JSON.stringify(dir)}, 'test'); process.exit(0); });`;
  const child = spawn(process.execPath, ['-e', code], { stdio: 'inherit' });
  await new Promise((r) => child.on('exit', r));
  t.false(existsSync(join(dir, LOCK_FILE)));
  t.false(existsSync(dirname(dir)), 'an agent that failed to start leaves nothing behind');
  // a folder that was there stays
  const kept = scratch(t);
  const again = spawn(process.execPath, ['-e', code.replace(JSON.stringify(dir), JSON.stringify(kept))], { stdio: 'inherit' });
  await new Promise((r) => again.on('exit', r));
  t.true(existsSync(kept));
  t.false(existsSync(join(kept, LOCK_FILE)));
});

test('a directory writable by others, or owned by another user, is open to them (they would set the forecasts)', (t) => {
  const dir = scratch(t);
  t.is(openTo(dir), undefined);
  chmodSync(dir, 0o777);
  t.regex(openTo(dir)!, /^writable by everyone \(mode 777\): whoever can write there sets the forecasts; chmod go-w it$/);
  chmodSync(dir, 0o770);
  t.regex(openTo(dir)!, /^writable by its group \(mode 770\)/);
  chmodSync(dir, 0o700);
  if (process.getuid?.() === 0) {
    chownSync(dir, 65534, 65534);
    t.regex(openTo(dir)!, /^owned by uid 65534, not this agent's \(0\)/);
  }
});

test('a lock from another pid namespace (an agent in a container) is held, and said so; one from an earlier boot is stale', (t) => {
  const dir = scratch(t);
  const self = { boot: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), pidns: statSync('/proc/self/ns/pid').ino };
  writeFileSync(join(dir, LOCK_FILE), `${JSON.stringify({ pid: 7, start: 1, boot: self.boot, pidns: self.pidns + 1 })}\n`);
  const err = t.throws(() => lockDir(dir, 'one agent per state dir'), { instanceOf: DirLockedError });
  t.is(err.message, `${dir} is in use by a headroom agent in another pid namespace (a container; pid 7 there): one agent per state dir; if none runs, remove ${join(dir, LOCK_FILE)}`);
  writeFileSync(join(dir, LOCK_FILE), `${JSON.stringify({ pid: process.pid, start: processStart('self'), boot: 'another-boot', pidns: self.pidns })}\n`);
  t.is(lockHolder(dir), null);
});

test('two locks, one inside the other\'s folder (a state dir and its profile store): both go at the exit, and the folders made for them', async (t) => {
  const dir = join(scratch(t), 'state');
  const code = `import(${JSON.stringify(lockModule)}).then((m) => { m.lockDir(${JSON.stringify(dir)}, 'state'); m.lockDir(${JSON.stringify(join(dir, 'profiles'))}, 'store'); process.exit(1); });`;
  const child = spawn(process.execPath, ['-e', code], { stdio: 'inherit' });
  await new Promise((r) => child.on('exit', r));
  t.false(existsSync(dir));
});

// (a walkthrough: two `record --out same.jsonl` both said they had recorded, their lines interleaved mid-line)
test('a file held by a live process is refused, by any of its names; the lock beside it goes at the exit, a dead holder\'s is taken over', async (t) => {
  const dir = scratch(t);
  const file = join(dir, 'trace.jsonl');
  const child = await holder(t, file, 'lockFile');
  t.true(existsSync(`${file}.lock`), 'the lock beside the file, as git\'s index.lock');
  const err = t.throws(() => lockFile(file, 'one recorder per file'), { instanceOf: DirLockedError });
  t.is(err.message, `${file} is in use by another headroom agent (pid ${child.pid}): one recorder per file`);
  // the file made meanwhile, and named through a link: the same lock
  writeFileSync(file, '');
  const { symlinkSync } = await import('node:fs');
  symlinkSync(file, join(dir, 'link.jsonl'));
  t.throws(() => lockFile(join(dir, 'link.jsonl'), 'one recorder per file'), { instanceOf: DirLockedError });
  // ...from another folder too (the link's folder and the target's name made another lock)
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(dir, 'elsewhere'));
  symlinkSync(file, join(dir, 'elsewhere', 'other-name.jsonl'));
  t.throws(() => lockFile(join(dir, 'elsewhere', 'other-name.jsonl'), 'one recorder per file'), { instanceOf: DirLockedError });
  t.deepEqual(readdirSync(join(dir, 'elsewhere')), ['other-name.jsonl'], 'no lock put beside the link');
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  const said: string[] = [];
  lockFile(file, 'one recorder per file', (m) => said.push(m));
  t.regex(said.join('\n'), /trace\.jsonl\.lock: left by an agent that is gone \(pid \d+\); taken over/);
  // a process that takes one and exits leaves nothing beside the file
  const other = join(dir, 'other.jsonl');
  const code = `import(${JSON.stringify(lockModule)}).then((m) => { m.lockFile(${JSON.stringify(other)}, 'test'); })`;
  await new Promise((r) => spawn(process.execPath, ['-e', code], { stdio: 'inherit' }).on('exit', r));
  t.deepEqual(readdirSync(dir).filter((n) => n.startsWith('other')), []);
});

test('lockName: a lock per name in a folder of locks; dropStaleName removes a dead holder\'s, with the folders it leaves empty, and keeps a live one', async (t) => {
  const base = scratch(t);
  const locks = join(base, 'run', 'cgroups');
  const name = '/sys/fs/cgroup/cpu/headroom-test/x';
  lockName(name, locks, 'test');
  const path = nameLockPath(name, locks);
  t.true(existsSync(path));
  t.is(dirname(path), locks);
  dropStaleName(name, locks);
  t.true(existsSync(path), 'this process holds it: kept');
  // a holder that is gone: its pid's start no longer matches
  const other = '/sys/fs/cgroup/cpu/headroom-test/y';
  const stale = nameLockPath(other, locks);
  const mine = JSON.parse(readFileSync(path, 'utf8')) as { start: number };
  writeFileSync(stale, `${JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), start: mine.start + 1 })}\n`);
  dropStaleName(other, locks);
  t.false(existsSync(stale));
  t.true(existsSync(locks), 'the folder holds a live lock still');
  // alone in its folders: they go with it
  const lone = join(base, 'lone', 'cgroups');
  mkdirSync(lone, { recursive: true });
  writeFileSync(nameLockPath(other, lone), `${JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), start: mine.start + 1 })}\n`);
  dropStaleName(other, lone);
  t.false(existsSync(join(base, 'lone')));
});

// (a walkthrough: a state dir that is a file said EEXIST, one on a read-only filesystem ENOENT)
test('lockDir: the folder\'s real problem is said: a file where it should be (ENOTDIR), a read-only filesystem (EROFS)', (t) => {
  const base = scratch(t);
  const file = join(base, 'afile');
  writeFileSync(file, 'x');
  t.throws(() => lockDir(file, 'test'), { code: 'ENOTDIR' });
  t.throws(() => lockDir(join(file, 'sub'), 'test'), { code: 'ENOTDIR' });
  if (process.getuid?.() !== 0) return;
  const ro = join(base, 'ro');
  mkdirSync(ro);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'headroom-test-ro', ro]);
  t.teardown(() => { execFileSync('umount', [ro]); });
  t.throws(() => lockDir(join(ro, 'a', 'b'), 'test'), { code: 'EROFS' });
});
