// The words of a shell's -c script that may name inputs (agent/workloads/shell-words.ts), and a
// `sh -c` task's signature built from them (agent/workloads/signature.ts).
import test from 'ava';
import { linkSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GLOB, scriptCommands, shellScriptIndex, type ScriptCommand } from '../../agent/workloads/shell-words.js';
import { taskSignature, type OpenForReading } from '../../agent/workloads/signature.js';
import { operandRoles } from '../../agent/workloads/operand-roles.js';
import { globMatch } from '../../agent/workloads/glob-match.js';

const cmd = (name: string | null, args: Array<string | null>, more: Partial<ScriptCommand> = {}): ScriptCommand => ({ name, args, redirectedIn: [], dir: undefined, ...more });

function scratch(t: { teardown: (f: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-test-shell-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('shellScriptIndex: the -c script after the options, for shells only', (t) => {
  t.is(shellScriptIndex('sh', ['-c', 'echo', 'name']), 1);
  t.is(shellScriptIndex('bash', ['-euxc', 'make all']), 1);
  t.is(shellScriptIndex('bash', ['-e', '-o', 'pipefail', '-c', 'x']), 4, "an option's value is no script");
  t.is(shellScriptIndex('bash', ['-eo', 'pipefail', '-c', 'x']), 3, 'the o of a cluster takes the next argument');
  t.is(shellScriptIndex('bash', ['-euo', 'pipefail', '-O', 'extglob', '-c', 'x']), 5);
  t.is(shellScriptIndex('bash', ['--norc', '-c', 'x']), 2);
  t.is(shellScriptIndex('dash', ['-c', '--', 'x']), 2, 'the script after --');
  t.is(shellScriptIndex('sh', ['script.sh', '-c']), -1, 'a script file, not -c');
  t.is(shellScriptIndex('sh', ['-e', 'script.sh']), -1);
  t.is(shellScriptIndex('sh', ['-c']), -1, 'no script');
  t.is(shellScriptIndex('python3', ['-c', 'print(1)']), -1, 'not a shell');
  t.is(shellScriptIndex('busybox', ['sh', '-c', 'x']), 2);
  t.is(shellScriptIndex('busybox', ['tar', '-c', 'x']), -1);
});

test('scriptCommands: names and words, quotes undone, expansions kept unread, redirections told apart, reserved words left out', (t) => {
  t.deepEqual(scriptCommands('tar -C /srv/data -czf - . | gzip > /backup/out.tgz'), [
    cmd('tar', ['-C', '/srv/data', '-czf', '-', '.']),
    cmd('gzip', []),
  ]);
  t.deepEqual(scriptCommands(`FOO=1 python3 'my file.py' "in put.csv" a\\ b <data.txt 2>err.log >>out.log`), [
    cmd('python3', ['my file.py', 'in put.csv', 'a b'], { redirectedIn: ['data.txt'] }),
  ]);
  t.deepEqual(scriptCommands('cat "$1" > /dev/null && sort -o $OUT $(ls) `pwd` ~/x *.csv data/{a,b}.csv <(sort a.csv) "*.txt" in.txt'), [
    cmd('cat', [null]),
    cmd('sort', ['-o', null, null, null, null, `${GLOB}*.csv`, null, null, '*.txt', 'in.txt']),
  ], 'a glob marked as one, a quoted one a plain word');
  t.deepEqual(scriptCommands('set -e\nif test -f a.txt; then wc -l b.txt; fi # c.txt\nexec ./run.sh d.txt'), [
    cmd('set', ['-e']),
    cmd('test', ['-f', 'a.txt']),
    cmd('wc', ['-l', 'b.txt']),
    cmd('./run.sh', ['d.txt']),
  ]);
  t.deepEqual(scriptCommands('X=$(date) ./run.sh in.csv'), [cmd('./run.sh', ['in.csv'])], 'an assignment with an expansion is no command name');
  t.deepEqual(scriptCommands('cmd x.txt &> all.log; cmd2 2>&1 y.txt < z.txt; exec 3<w.txt 4>v.txt'), [
    cmd('cmd', ['x.txt']),
    cmd('cmd2', ['y.txt'], { redirectedIn: ['z.txt'] }),
    cmd(null, [], { redirectedIn: ['w.txt'] }),
  ]);
  t.deepEqual(scriptCommands('"unterminated quote'), [cmd('unterminated quote', [])], 'a broken script reads as what it has');
  t.deepEqual(scriptCommands('echo "a\\\nb"'), [cmd('echo', ['ab'])], 'a backslash-newline in double quotes is removed');
  t.is(scriptCommands(Array.from({ length: 1000 }, (_, i) => `f${i}`).join(' '))[0]!.args.length, 255, 'bounded: 256 words, its name one of them');
});

test('scriptCommands: here-documents and here-strings are text; case patterns and arithmetic are no words', (t) => {
  t.deepEqual(scriptCommands('cat > /tmp/cfg <<EOF\n/etc/passwd\nEOF\ntar -czf - /srv/data'), [
    cmd('cat', []),
    cmd('tar', ['-czf', '-', '/srv/data']),
  ]);
  t.deepEqual(scriptCommands("cat <<-'END' | wc\n\t/etc/shadow\n\tEND\nls x.txt"), [cmd('cat', []), cmd('wc', []), cmd('ls', ['x.txt'])]);
  t.deepEqual(scriptCommands('grep x <<< "/etc/passwd" y.txt'), [cmd('grep', ['x', 'y.txt'])]);
  // (a later pattern reads as a command's name, and names are not looked up)
  t.deepEqual(scriptCommands('case "$1" in build) make;; test) ./t.sh t.txt;; esac'), [cmd('make', []), cmd('test', []), cmd('./t.sh', ['t.txt'])]);
  t.deepEqual(scriptCommands('((x <<= 1)); ls y.txt'), [cmd('ls', ['y.txt'])]);
});

test('scriptCommands: cd moves where the next commands run; one not known (expanded, -, bare) makes it unknown; a subshell\'s ends with it', (t) => {
  const dirs = (script: string): Array<[string | null, string | null | undefined]> => scriptCommands(script).map((c) => [c.name, c.dir]);
  t.deepEqual(dirs('cd /srv/data && tar -czf - . | gzip'), [['cd', undefined], ['tar', '/srv/data'], ['gzip', '/srv/data']]);
  t.deepEqual(dirs('cd sub; cd deeper; ls'), [['cd', undefined], ['cd', 'sub'], ['ls', 'sub/deeper']]);
  t.deepEqual(dirs('cd "$DIR"; ls; cd /abs; ls'), [['cd', undefined], ['ls', null], ['cd', null], ['ls', '/abs']]);
  t.deepEqual(dirs('cd -; ls'), [['cd', undefined], ['ls', null]]);
  t.deepEqual(dirs('(cd sub && make) && ls'), [['cd', undefined], ['make', 'sub'], ['ls', undefined]]);
});

test('operandRoles: outputs by program (tee, cp, rsync, tar by its mode), no files (rm, touch), -C for the programs that take it', (t) => {
  t.deepEqual(operandRoles('tee', ['-a', 'job.log', 'b.log']), [undefined, 'out', 'out']);
  t.deepEqual(operandRoles('cp', ['-p', 'a', 'b', 'dest/']), [undefined, undefined, undefined, 'out']);
  t.deepEqual(operandRoles('cp', ['-t', 'dest', 'a']), [undefined, 'out', undefined]);
  t.deepEqual(operandRoles('rsync', ['-a', '-C', 'src/', 'dst/']), [undefined, undefined, undefined, 'out'], "rsync's -C is a flag");
  t.deepEqual(operandRoles('rm', ['-f', 'x']), ['none', 'none']);
  t.deepEqual(operandRoles('tar', ['-C', 'data', '-czf', 'out.tgz', '.']), [undefined, 'within', undefined, 'out', undefined]);
  t.deepEqual(operandRoles('tar', ['-xzf', 'in.tgz', '-C', 'out', 'member']), [undefined, 'from-start', undefined, 'out', 'none']);
  t.deepEqual(operandRoles('tar', ['czf', 'out.tgz', 'dir']), [undefined, 'out', undefined], 'old style');
  t.deepEqual(operandRoles('tar', ['--create', '--file=out.tar', 'dir']), [undefined, 'out', undefined]);
  t.deepEqual(operandRoles('make', ['-C', 'sub', '-f', 'rules.mk']), [undefined, 'within', undefined, undefined]);
  t.deepEqual(operandRoles('grep', ['-C', '3', 'x', 'f']), [undefined, undefined, undefined, undefined], "grep's -C is no folder");
  t.deepEqual(operandRoles('wget', ['-O', 'page.html', 'http://127.0.0.1/page']), [undefined, 'out', undefined]);
});

test('signature: a shell -c task is known by the inputs its script names, from where its cd left it; its outputs are not inputs', async (t) => {
  const dir = scratch(t);
  mkdirSync(join(dir, 'data'));
  mkdirSync(join(dir, 'home'));
  writeFileSync(join(dir, 'data/a.bin'), Buffer.alloc(50));
  writeFileSync(join(dir, 'in.txt'), 'x');
  writeFileSync(join(dir, 'job.log'), 'old log');
  // (cron's cwd is the user's home, which changes between runs: `.` after the cd is the data)
  const script = `cd ${dir}/data && tar -czf - . | gzip > ${dir}/out.tgz; sort < ../in.txt | tee -a ../job.log`;
  const spec = { exe: '/bin/sh', argv0: 'sh', args: ['-c', script], cwd: join(dir, 'home') };
  const a = await taskSignature(spec);
  t.deepEqual(a.parts.inputs, [
    { arg: 1, name: '.', kind: 'dir', bytes: 50, entries: 1, truncated: false },
    { arg: 1, name: '../in.txt', kind: 'file', bytes: 1 },
  ]);
  writeFileSync(join(dir, 'home/.bash_history'), 'ls\n');
  writeFileSync(join(dir, 'job.log'), 'a longer log, written by tee');
  writeFileSync(join(dir, 'out.tgz'), Buffer.alloc(999));
  t.is((await taskSignature(spec)).id, a.id, 'its home, its log and its output changed: the same task');
  writeFileSync(join(dir, 'data/a.bin'), Buffer.alloc(150));
  t.not((await taskSignature(spec)).id, a.id, 'a 50-byte and a 150-byte input: two tasks');
  // a folder not known: relative names after it are not looked up, absolute ones are
  const unknown = await taskSignature({ ...spec, args: ['-c', `cd "$1" && wc -l in.txt ${dir}/in.txt`, 'sh', dir] });
  t.deepEqual(unknown.parts.inputs.map((p) => p.name), [`${dir}/in.txt`, dir]);
});

test('signature: after -C dir (tar, make, git), relative names are found from that folder; tar\'s archive from where it started', async (t) => {
  const dir = scratch(t);
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data/a.bin'), Buffer.alloc(70));
  writeFileSync(join(dir, 'in.tgz'), Buffer.alloc(9));
  // (called as tar: its arguments as they are, no script)
  const spec = { exe: '/bin/sh', argv0: 'tar', args: ['-C', 'data', '-cf', '/dev/null', '.', 'a.bin'], cwd: dir };
  t.deepEqual((await taskSignature(spec)).parts.inputs, [
    { arg: 1, name: 'data', kind: 'dir', bytes: 70, entries: 1, truncated: false },
    { arg: 4, name: '.', kind: 'dir', bytes: 70, entries: 1, truncated: false },
    { arg: 5, name: 'a.bin', kind: 'file', bytes: 70 },
  ]);
  t.deepEqual((await taskSignature({ ...spec, args: ['--directory=data', '-c', '.'] })).parts.inputs.map((p) => [p.name, p.kind === 'dir' ? p.bytes : -1]), [['data', 70], ['.', 70]]);
  // extracting: the archive is read from where tar started, the folder it extracts into is its output
  t.deepEqual((await taskSignature({ ...spec, args: ['-C', 'data', '-xzf', 'in.tgz'] })).parts.inputs, [{ arg: 3, name: 'in.tgz', kind: 'file', bytes: 9 }]);
});

test('signature: a file copied in with its old mtime (cp -p, rsync -a, tar -x) while the task ran is its output: its birth time says so', async (t) => {
  const dir = scratch(t);
  mkdirSync(join(dir, 'dst'));
  writeFileSync(join(dir, 'dst/old.bin'), Buffer.alloc(10));
  const startedAtMs = Date.now() - 60_000;
  const long = new Date(Date.now() - 3_600_000);
  utimesSync(join(dir, 'dst/old.bin'), long, long); // as cp -p leaves it: its birth time now
  const spec = { exe: '/bin/sh', argv0: 'ls', args: ['dst'], cwd: dir, startedAtMs };
  t.deepEqual((await taskSignature(spec)).parts.inputs, [{ arg: 0, name: 'dst', kind: 'dir', bytes: 0, entries: 0, truncated: false }]);
});

test('signature: an input no longer there is sized through a file the task holds open, by its path or, for a file\'s name, by its name alone where one open file has it', async (t) => {
  const dir = scratch(t);
  const old = Date.now() - 3_600_000;
  const open = (path: string, bytes: number): OpenForReading => ({ path, bytes, mtimeMs: old, ctimeMs: old, birthtimeMs: old });
  const reading = [open(join(dir, 'gone.csv'), 11), open('/elsewhere/moved.csv', 22), open('/etc/app/pattern', 33)];
  const s = await taskSignature({ exe: '/bin/sh', argv0: 'grep', args: ['pattern', 'gone.csv', 'moved.csv', 'never.csv'], cwd: dir, reading });
  t.deepEqual(s.parts.inputs, [
    { arg: 1, name: 'gone.csv', kind: 'file', bytes: 11 },
    { arg: 2, name: 'moved.csv', kind: 'file', bytes: 22 },
  ], 'a plain word (a pattern) is no file the task opened, whatever it has open of that name');
});

test('globMatch: a shell glob of one name; dot files only for a pattern starting with a dot; no backtracking without bound', (t) => {
  const m = globMatch;
  t.true(m('*.log', 'a.log'));
  t.false(m('*.log', '.hidden.log'));
  t.true(m('.*.log', '.hidden.log'));
  t.true(m('part-?', 'part-1'));
  t.false(m('part-?', 'part-10'));
  t.true(m('[ab]*', 'b1'));
  t.false(m('[!ab]*', 'b1'));
  t.true(m('a+b(1).csv', 'a+b(1).csv'), 'regex characters are plain');
  t.false(m('a.csv', 'abcsv'));
  t.true(m('[x', '[x'), 'an unclosed bracket is plain');
  t.true(m('[]a]', ']'), 'a ] first in the brackets is one of the set');
  t.true(m('[a-c]?', 'b9'));
  t.false(m('[a-c]?', 'd9'));
  t.true(m('*', ''), 'a star matches nothing too');
  const long = 'a_'.repeat(120);
  t.false(m('*_*_*_*_*_*_*_*.csv', long), 'a long name against many stars: at once');
  t.true(m('*_*_*.csv', `${long}.csv`));
});

test('signature: a script\'s glob is sized by its matches, in the folder its cd left it: a 50 MB and a 150 MB blob are two tasks', async (t) => {
  const dir = scratch(t);
  mkdirSync(join(dir, 'w'));
  mkdirSync(join(dir, 'w/sub'));
  writeFileSync(join(dir, 'w/a.log'), Buffer.alloc(50));
  writeFileSync(join(dir, 'w/b.log'), Buffer.alloc(5));
  writeFileSync(join(dir, 'w/sub/c'), Buffer.alloc(7));
  writeFileSync(join(dir, 'w/.hidden'), Buffer.alloc(1000));
  const spec = { exe: '/bin/sh', argv0: 'sh', args: ['-c', `cd ${dir}/w && tar -cf - * | gzip | wc -c; wc -c *.log; ls nothing-*`], cwd: dir };
  const a = await taskSignature(spec);
  t.deepEqual(a.parts.inputs, [
    { arg: 1, name: '*', kind: 'glob', bytes: 62, entries: 4, truncated: false },
    { arg: 1, name: '*.log', kind: 'glob', bytes: 55, entries: 2, truncated: false },
    { arg: 1, name: 'nothing-*', kind: 'glob', bytes: 0, entries: 0, truncated: false },
  ]);
  writeFileSync(join(dir, 'w/a.log'), Buffer.alloc(150));
  t.not((await taskSignature(spec)).id, a.id);
});

test('signature: a file a script names twice is one input', async (t) => {
  const dir = scratch(t);
  writeFileSync(join(dir, 'big.bin'), Buffer.alloc(9));
  const s = await taskSignature({ exe: '/bin/sh', argv0: 'sh', args: ['-c', 'cat big.bin > /dev/null; cat big.bin | wc -c'], cwd: dir });
  t.deepEqual(s.parts.inputs, [{ arg: 1, name: 'big.bin', kind: 'file', bytes: 9 }]);
});

test('signature (review mends): a linked input stays an input (its birth time, not its ctime); an output open for reading is not brought back; a consuming script\'s globs are not sized; a cd done before the read is found', async (t) => {
  const dir = scratch(t);
  writeFileSync(join(dir, 'in.bin'), Buffer.alloc(40));
  await new Promise((r) => setTimeout(r, 50));
  const startedAtMs = Date.now();
  await new Promise((r) => setTimeout(r, 60));
  // the task hard-links its input (`cp -al`, `rsync --link-dest`): its ctime moves, its birth time does not
  linkSync(join(dir, 'in.bin'), join(dir, 'snapshot.bin'));
  const linked = await taskSignature({ exe: '/bin/sh', argv0: 'cat', args: ['in.bin'], cwd: dir, startedAtMs });
  t.deepEqual(linked.parts.inputs, [{ arg: 0, name: 'in.bin', kind: 'file', bytes: 40 }]);
  // an output it also holds open for reading (`zcat all.gz | ... > all.new && mv all.new all.gz`) stays out
  writeFileSync(join(dir, 'all.gz'), Buffer.alloc(99));
  const now = Date.now();
  const reading = [{ path: join(dir, 'all.gz'), bytes: 99, mtimeMs: now, ctimeMs: now, birthtimeMs: now }];
  const out = await taskSignature({ exe: '/bin/sh', argv0: 'zcat', args: ['all.gz'], cwd: dir, startedAtMs, reading });
  t.deepEqual(out.parts.inputs, []);
  // a script that compresses what its glob matches: how many are left when read varies, so none is sized
  mkdirSync(join(dir, 'logs'));
  writeFileSync(join(dir, 'logs/a.log'), 'x');
  const consuming = await taskSignature({ exe: '/bin/sh', argv0: 'sh', args: ['-c', 'cd logs && gzip *.log'], cwd: dir });
  t.deepEqual(consuming.parts.inputs, []);
  // its cwd read after the script's cd (the probe did not see its exec): `.` is still the data
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data/d.bin'), Buffer.alloc(8));
  const after = await taskSignature({ exe: '/bin/sh', argv0: 'sh', args: ['-c', 'cd data && tar -cf - . | wc -c'], cwd: join(dir, 'data'), cwdIsNow: true });
  t.deepEqual(after.parts.inputs, [{ arg: 1, name: '.', kind: 'dir', bytes: 8, entries: 1, truncated: false }]);
});

test('operandRoles (review mends): option values are no operands; -t in a cluster; wrappers run the command they name', (t) => {
  t.deepEqual(operandRoles('rsync', ['-a', 'src/', 'dst/', '--exclude', '.git']), [undefined, undefined, 'out', undefined, undefined]);
  t.deepEqual(operandRoles('cp', ['-vt', 'dst', 'a', 'b']), [undefined, 'out', undefined, undefined]);
  t.deepEqual(operandRoles('timeout', ['-s', 'KILL', '5m', 'cp', 'a', 'b']), ['none', 'none', 'none', 'none', undefined, 'out']);
  t.deepEqual(operandRoles('xargs', ['-n', '1', 'cp', '-t', 'dst']), ['none', 'none', 'none', undefined, 'out']);
  t.deepEqual(operandRoles('env', ['A=1', 'tee', 'log']), ['none', 'none', 'out']);
});
