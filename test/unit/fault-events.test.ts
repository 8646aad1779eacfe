// fault.bpf.c's structs as the TS side reads them, checked against the C compiler's view of
// bpf/events.h; and struct perf_event_attr as perf.ts writes it, checked against the kernel's
// headers (the uapi one the C compiler has, and this kernel's BTF in bpf/vmlinux.h).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { projectRoot } from '../helpers/proc.js';
import {
  EV_OOM_KILL, FAULT_CONFIG_SIZE, FAULT_STATS_SIZE, OOM_KILL_SIZE, decodeOomKill, encodeFaultConfig,
} from '../../agent/probes/fault.js';
import { KNOBS_SIZE } from '../../agent/probes/knobs.js';
import {
  PERF_ATTR_SIZE, PERF_COUNT_SW_PAGE_FAULTS_MAJ, PERF_COUNT_SW_PAGE_FAULTS_MIN, PERF_TYPE_SOFTWARE,
  encodePerfEventAttr, parseCpuList,
} from '../../agent/kernel/perf.js';

const bpfDir = resolve(projectRoot, 'bpf');

/** Compiles and runs a C program printing "name value" lines. */
function runC(body: string, includes: string): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-fault-layout-'));
  try {
    const src = join(dir, 'layout.c');
    writeFileSync(src, `#include <stdio.h>
#include <stddef.h>
#include <string.h>
${includes}
#define P(name, expr) printf("%s %zu\\n", name, (size_t)(expr))
int main(void) {
${body}
  return 0;
}
`);
    const bin = join(dir, 'layout');
    execFileSync('cc', ['-I', bpfDir, '-o', bin, src]);
    return Object.fromEntries(execFileSync(bin, { encoding: 'utf8' }).trim().split('\n').map((l) => {
      const i = l.indexOf(' ');
      return [l.slice(0, i), l.slice(i + 1)];
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('fault structs: sizes and offsets match bpf/events.h', (t) => {
  const c = runC(`
  P("config", sizeof(struct hr_fault_config));
  P("config.read_v1_cpu", offsetof(struct hr_fault_config, read_v1_cpu));
  P("stats", sizeof(struct hr_fault_stats));
  P("stats.minor", offsetof(struct hr_fault_stats, minor));
  P("stats.major", offsetof(struct hr_fault_stats, major));
  P("stats.reclaim_count", offsetof(struct hr_fault_stats, reclaim_count));
  P("stats.reclaim_ns", offsetof(struct hr_fault_stats, reclaim_ns));
  P("stats.reclaimed_pages", offsetof(struct hr_fault_stats, reclaimed_pages));
  P("stats.oom_kills", offsetof(struct hr_fault_stats, oom_kills));
  P("oom", sizeof(struct hr_oom_kill));
  P("oom.pid", offsetof(struct hr_oom_kill, pid));
  P("oom.ts_ns", offsetof(struct hr_oom_kill, ts_ns));
  P("oom.cg", offsetof(struct hr_oom_kill, cg));
  P("oom.mem_cgid", offsetof(struct hr_oom_kill, mem_cgid));
  P("oom.rss_pages", offsetof(struct hr_oom_kill, rss_pages));
  P("oom.total_vm_pages", offsetof(struct hr_oom_kill, total_vm_pages));
  P("oom.comm", offsetof(struct hr_oom_kill, comm));
  P("ev_oom", HR_EV_OOM_KILL);
  P("knobs", sizeof(struct hr_probe_knobs));
  P("knobs.filter", offsetof(struct hr_probe_knobs, filter));`, '#include "events.h"');
  const n = (k: string): number => Number(c[k]);
  t.is(n('config'), FAULT_CONFIG_SIZE);
  t.is(n('config.read_v1_cpu'), 0);
  t.is(n('stats'), FAULT_STATS_SIZE);
  // readFaultStats reads the six counters at these offsets, in this order
  t.deepEqual(
    ['minor', 'major', 'reclaim_count', 'reclaim_ns', 'reclaimed_pages', 'oom_kills'].map((f) => n(`stats.${f}`)),
    [0, 8, 16, 24, 32, 40],
  );
  t.is(n('oom'), OOM_KILL_SIZE);
  t.deepEqual(
    ['pid', 'ts_ns', 'cg', 'mem_cgid', 'rss_pages', 'total_vm_pages', 'comm'].map((f) => n(`oom.${f}`)),
    [4, 8, 16, 32, 40, 48, 56],
  );
  t.is(n('ev_oom'), EV_OOM_KILL);
  t.is(n('knobs'), KNOBS_SIZE);
  t.is(n('knobs.filter'), 4);
});

test('OOM kill decodes field by field; other records are refused', (t) => {
  const b = Buffer.alloc(80);
  b.writeUInt32LE(EV_OOM_KILL, 0);
  b.writeUInt32LE(31337, 4);
  b.writeBigUInt64LE(987654321n, 8);
  b.writeBigUInt64LE(11n, 16);
  b.writeBigUInt64LE(22n, 24);
  b.writeBigUInt64LE(33n, 32);
  b.writeBigUInt64LE(16384n, 40);
  b.writeBigUInt64LE(70000n, 48);
  b.write('python3', 56, 'latin1');
  const d = new DataView(b.buffer, b.byteOffset, b.length);
  t.deepEqual(decodeOomKill(d, 0, OOM_KILL_SIZE), {
    pid: 31337, tsNs: 987654321n, key: { cgid: 11n, cpuCgid: 22n }, memCgid: 33n, rssPages: 16384, totalVmPages: 70000, comm: 'python3',
  });
  b.write('a-sixteen-char-c', 56, 'latin1'); // a full comm has no NUL inside the struct
  t.is(decodeOomKill(d, 0, OOM_KILL_SIZE)!.comm, 'a-sixteen-char-c');
  t.is(decodeOomKill(d, 0, OOM_KILL_SIZE - 8), null, 'too short');
  b.writeUInt32LE(1, 0);
  t.is(decodeOomKill(d, 0, OOM_KILL_SIZE), null, 'another type');
});

test('fault config encodes the v1 flag', (t) => {
  t.deepEqual([...encodeFaultConfig({ readV1Cpu: true })], [1, 0, 0, 0, 0, 0, 0, 0]);
  t.deepEqual([...encodeFaultConfig({ readV1Cpu: false })], new Array(8).fill(0));
});

test('perf_event_attr: same bytes as the C header lays out, and this kernel\'s size', (t) => {
  // The uapi header the C compiler has may be older than PERF_ATTR_SIZE (fields it lacks are
  // zero in ours): compare the bytes it knows.
  const c = runC(`
  struct perf_event_attr a;
  memset(&a, 0, sizeof(a));
  a.type = PERF_TYPE_SOFTWARE;
  a.size = ${PERF_ATTR_SIZE};
  a.config = PERF_COUNT_SW_PAGE_FAULTS_MAJ;
  a.sample_period = 1;
  P("size", sizeof(a));
  P("min", PERF_COUNT_SW_PAGE_FAULTS_MIN);
  P("maj", PERF_COUNT_SW_PAGE_FAULTS_MAJ);
  P("software", PERF_TYPE_SOFTWARE);
  printf("bytes ");
  for (size_t i = 0; i < sizeof(a); i++) printf("%02x", ((unsigned char *)&a)[i]);
  printf("\\n");`, '#include <linux/perf_event.h>');
  const ours = encodePerfEventAttr({ type: PERF_TYPE_SOFTWARE, config: PERF_COUNT_SW_PAGE_FAULTS_MAJ, samplePeriod: 1 });
  const size = Number(c.size);
  t.true(size >= 64 && size <= PERF_ATTR_SIZE, `header's struct is ${size} bytes`);
  t.is(ours.length, PERF_ATTR_SIZE);
  t.is(ours.subarray(0, size).toString('hex'), c.bytes);
  t.true(ours.subarray(size).every((x) => x === 0));
  t.deepEqual([Number(c.min), Number(c.maj), Number(c.software)], [PERF_COUNT_SW_PAGE_FAULTS_MIN, PERF_COUNT_SW_PAGE_FAULTS_MAJ, PERF_TYPE_SOFTWARE]);

  // This kernel's own struct (BTF, dumped into vmlinux.h): clang checks it at compile time.
  const dir = mkdtempSync(join(tmpdir(), 'headroom-perf-attr-'));
  try {
    const src = join(dir, 'attr.c');
    writeFileSync(src, `#include "vmlinux.h"
_Static_assert(sizeof(struct perf_event_attr) == ${PERF_ATTR_SIZE}, "perf_event_attr size");
_Static_assert(__builtin_offsetof(struct perf_event_attr, config) == 8, "config");
_Static_assert(__builtin_offsetof(struct perf_event_attr, sample_period) == 16, "sample_period");
_Static_assert(__builtin_offsetof(struct perf_event_attr, config3) == 128, "config3");
`);
    t.notThrows(() => execFileSync('clang', ['-fsyntax-only', '-target', 'bpf', '-I', bpfDir, src], { stdio: 'pipe' }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CPU lists parse like the kernel prints them', (t) => {
  t.deepEqual(parseCpuList('0-1\n'), [0, 1]);
  t.deepEqual(parseCpuList('0,2-4,7'), [0, 2, 3, 4, 7]);
  t.deepEqual(parseCpuList('3'), [3]);
});
