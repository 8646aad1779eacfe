// The words of a shell's -c script that may name inputs (agent/workloads/shell-words.ts), and a
// `sh -c` task's signature built from them.
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scriptCommands, shellScriptIndex } from '../../agent/workloads/shell-words.js';
import { taskSignature } from '../../agent/workloads/signature.js';

test('shellScriptIndex: the -c script after the options, for shells only', (t) => {
  t.is(shellScriptIndex('sh', ['-c', 'echo', 'name']), 1);
  t.is(shellScriptIndex('bash', ['-euxc', 'make all']), 1);
  t.is(shellScriptIndex('bash', ['-e', '-o', 'pipefail', '-c', 'x']), 4, "an option's value is no script");
  t.is(shellScriptIndex('bash', ['--norc', '-c', 'x']), 2);
  t.is(shellScriptIndex('dash', ['-c', '--', 'x']), 2, 'the script after --');
  t.is(shellScriptIndex('sh', ['script.sh', '-c']), -1, 'a script file, not -c');
  t.is(shellScriptIndex('sh', ['-e', 'script.sh']), -1);
  t.is(shellScriptIndex('python3', ['-c', 'print(1)']), -1, 'not a shell');
  t.is(shellScriptIndex('busybox', ['sh', '-c', 'x']), 2);
  t.is(shellScriptIndex('busybox', ['tar', '-c', 'x']), -1);
});

test('scriptCommands: quotes undone, expansions kept unread, redirections told apart, names and reserved words left out', (t) => {
  // (gzip has no word but its name, and its output: no command to read)
  t.deepEqual(scriptCommands('tar -C /srv/data -czf - . | gzip > /backup/out.tgz'), [
    { args: ['-C', '/srv/data', '-czf', '-', '.'], redirectedIn: [] },
  ]);
  t.deepEqual(scriptCommands(`FOO=1 python3 'my file.py' "in put.csv" a\\ b <data.txt 2>err.log >>out.log`), [
    { args: ['my file.py', 'in put.csv', 'a b'], redirectedIn: ['data.txt'] },
  ]);
  t.deepEqual(scriptCommands('cat "$1" > /dev/null && sort -o $OUT $(ls) `pwd` ~/x *.csv in.txt'), [
    { args: [null], redirectedIn: [] },
    { args: ['-o', null, null, null, null, null, 'in.txt'], redirectedIn: [] },
  ]);
  t.deepEqual(scriptCommands('set -e\nif test -f a.txt; then wc -l b.txt; fi # c.txt\nexec ./run.sh d.txt'), [
    { args: ['-e'], redirectedIn: [] },
    { args: ['-f', 'a.txt'], redirectedIn: [] },
    { args: ['-l', 'b.txt'], redirectedIn: [] },
    { args: ['d.txt'], redirectedIn: [] },
  ]);
  t.deepEqual(scriptCommands('cat <<EOF\n/etc/passwd\nEOF'), [], 'a here-document ends the reading');
  t.deepEqual(scriptCommands('cmd x.txt &> all.log; cmd2 2>&1 y.txt < z.txt'), [
    { args: ['x.txt'], redirectedIn: [] },
    { args: ['y.txt'], redirectedIn: ['z.txt'] },
  ]);
  t.deepEqual(scriptCommands('"unterminated quote'), [], 'a broken script reads as what it has');
  t.is(scriptCommands(Array.from({ length: 1000 }, (_, i) => `f${i}`).join(' '))[0]!.args.length, 255, 'bounded: 256 words');
});

test('signature: a shell -c task is known by the inputs its script names; the script is no missing file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-test-shell-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data/a.bin'), Buffer.alloc(50));
  writeFileSync(join(dir, 'in.txt'), 'x');
  const script = `tar -C ${dir}/data -czf - . | gzip > ${dir}/out.tgz; sort < in.txt`;
  const spec = { exe: '/bin/sh', argv0: 'sh', args: ['-c', script], cwd: dir };
  const a = await taskSignature(spec);
  // (`.` after tar's -C is its folder, not the launch folder)
  t.deepEqual(a.parts.inputs, [
    { arg: 1, name: `${dir}/data`, kind: 'dir', bytes: 50, entries: 1, truncated: false },
    { arg: 1, name: '.', kind: 'dir', bytes: 50, entries: 1, truncated: false },
    { arg: 1, name: 'in.txt', kind: 'file', bytes: 1 },
  ]);
  // a 50-byte and a 150-byte input: two tasks (one before)
  writeFileSync(join(dir, 'data/a.bin'), Buffer.alloc(150));
  t.not((await taskSignature(spec)).id, a.id);
  // the output named after > is not an input: written, the signature stays
  const before = (await taskSignature(spec)).id;
  writeFileSync(join(dir, 'out.tgz'), Buffer.alloc(999));
  t.is((await taskSignature(spec)).id, before);
});

test('signature: after -C dir (tar, make, git), relative names are found from that folder', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-test-shell-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data/a.bin'), Buffer.alloc(70));
  writeFileSync(join(dir, 'launch-only.txt'), Buffer.alloc(5));
  // (called as tar: its arguments as they are, no script)
  const spec = { exe: '/bin/sh', argv0: 'tar', args: ['-C', 'data', '-cf', '/dev/null', '.', 'a.bin', 'launch-only.txt'], cwd: dir };
  t.deepEqual((await taskSignature(spec)).parts.inputs, [
    { arg: 1, name: 'data', kind: 'dir', bytes: 70, entries: 1, truncated: false },
    { arg: 3, name: '/dev/null', kind: 'other' },
    { arg: 4, name: '.', kind: 'dir', bytes: 70, entries: 1, truncated: false },
    { arg: 5, name: 'a.bin', kind: 'file', bytes: 70 },
    { arg: 6, name: 'launch-only.txt', kind: 'file', bytes: 5 },
  ]);
  t.deepEqual((await taskSignature({ ...spec, args: ['--directory=data', '.'] })).parts.inputs.map((p) => [p.name, p.kind === 'dir' ? p.bytes : -1]), [['data', 70], ['.', 70]]);
});
