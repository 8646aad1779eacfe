// A host or an input the agent cannot work with: one clear line, a distinct exit code, no stack.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { kernelTest } from '../helpers/host.js';
import { headroom, projectRoot, start } from '../helpers/proc.js';

const noStack = (stderr: string): boolean => !/\n\s+at /.test(stderr);

kernelTest('without CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN: one line naming them, exit 4', async (t) => {
  const dropped = await start('setpriv',
    ['--bounding-set=-bpf,-perfmon,-sys_admin', '--inh-caps=-bpf,-perfmon,-sys_admin', '--', resolve(projectRoot, 'bin/headroom'), 'top', '--once'],
    { timeoutMs: 20_000 }).done;
  t.is(dropped.code, 4, dropped.stderr);
  t.regex(dropped.stderr, /^headroom: headroom needs root or CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN; this process is root without CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF\n$/);
});

kernelTest('as an unprivileged user: says it is not root, exit 4', async (t) => {
  const r = await start('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', resolve(projectRoot, 'bin/headroom'), 'top', '--once'], { timeoutMs: 20_000 }).done;
  t.is(r.code, 4, r.stderr);
  t.regex(r.stderr, /not root/);
  t.true(noStack(r.stderr));
});

kernelTest('a program the verifier refuses: names the program and the log file, exit 7', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'headroom-verifier-'));
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  const r = await headroom(['top', '--once', '--state-dir', state, '--bpf-object', resolve(projectRoot, 'build/bpf/headroom-reject.bpf.o')], { timeoutMs: 20_000 }).done;
  t.is(r.code, 7, r.stderr);
  const log = join(state, 'verifier.log');
  t.regex(r.stderr, new RegExp(`loading BPF program 'hr_reject_switch'.*verifier log written to ${log}`));
  t.true(noStack(r.stderr));
  t.regex(readFileSync(log, 'utf8'), /invalid access to map value|R\d+ .*out of bounds|unbounded/i);
});

kernelTest('tracefs unmounted: the agent mounts it and says so', async (t) => {
  const mounts = readFileSync('/proc/mounts', 'utf8');
  if (mounts.includes(' /sys/kernel/tracing tracefs ')) execFileSync('umount', ['/sys/kernel/tracing']);
  const r = await headroom(['top', '--once', '--json', '--state-dir', '/tmp/headroom-test-state'], { timeoutMs: 20_000 }).done;
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /mounted tracefs at \/sys\/kernel\/tracing/);
  t.true(readFileSync('/proc/mounts', 'utf8').includes(' /sys/kernel/tracing tracefs '));
});

kernelTest('a broken policy: file, line, column and field, exit 3, nothing loaded', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-policy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'version: 1\nmode: enforce\nrules:\n  protect_latency:\n    risk_threshold: 1.5\n');
  const r = await headroom(['run', '--policy', file, '--state-dir', dir, '--no-prometheus'], { timeoutMs: 20_000 }).done;
  t.is(r.code, 3, r.stderr);
  t.regex(r.stderr, new RegExp(`${file}:5:\\d+: rules\\.protect_latency\\.risk_threshold`));
  t.true(noStack(r.stderr));
  t.false(existsSync(join(dir, 'journal.jsonl')), 'nothing journaled');
});
