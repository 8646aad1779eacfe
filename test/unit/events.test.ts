// The TS decoders follow bpf/events.h: sizes and offsets checked against the C compiler's view.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { cLayout as cLayoutOf } from '../helpers/c-layout.js';
import {
  CG_KEY_SIZE, ONCPU_SIZE, RUNQ_SLOTS, SCHED_CONFIG_SIZE, SCHED_STATS_SIZE, SLOW_WAKEUP_SIZE, EV_SLOW_WAKEUP, EXEC_CWD_NAMES, EXEC_CWD_SIZE,
  decodeExecCwd, decodeExit, decodeSlowWakeup, userDev, EXIT_SIZE, encodeSchedConfig, keyString, readSchedStats,
} from '../../agent/probes/sched.js';
import type { BpfMap } from '../../agent/kernel/index.js';
import { percentileMs, subtractSlots } from '../../agent/probes/log2.js';
import { internedCgKey, wordsOver } from '../../agent/probes/decode.js';

const cLayout = (): Record<string, number> => cLayoutOf(`
  P("key", sizeof(struct hr_cg_key));
  P("stats", sizeof(struct hr_sched_stats));
  P("slots", sizeof(((struct hr_sched_stats *)0)->runq_slots) / 8);
  P("config", sizeof(struct hr_sched_config));
  P("config.read_v1_cpu", offsetof(struct hr_sched_config, read_v1_cpu));
  P("slow", sizeof(struct hr_slow_wakeup));
  P("slow.pid", offsetof(struct hr_slow_wakeup, pid));
  P("slow.ts_ns", offsetof(struct hr_slow_wakeup, ts_ns));
  P("slow.cg", offsetof(struct hr_slow_wakeup, cg));
  P("slow.delay_ns", offsetof(struct hr_slow_wakeup, delay_ns));
  P("slow.comm", offsetof(struct hr_slow_wakeup, comm));
  P("stats.runq_count", offsetof(struct hr_sched_stats, runq_count));
  P("stats.nivcsw", offsetof(struct hr_sched_stats, nivcsw));
  P("stats.running_since", offsetof(struct hr_sched_stats, running_since));
  P("ev_slow", HR_EV_SLOW_WAKEUP);
  P("oncpu", sizeof(struct hr_oncpu));
  P("oncpu.pid", offsetof(struct hr_oncpu, pid));
  P("oncpu.key", offsetof(struct hr_oncpu, key));
  P("oncpu.task", offsetof(struct hr_oncpu, task));
  P("oncpu.cset", offsetof(struct hr_oncpu, cset));
  P("cwd", sizeof(struct hr_exec_cwd));
  P("cwd.root_ino", offsetof(struct hr_exec_cwd, root_ino));
  P("cwd.root_dev", offsetof(struct hr_exec_cwd, root_dev));
  P("cwd.len", offsetof(struct hr_exec_cwd, len));
  P("cwd.flags", offsetof(struct hr_exec_cwd, flags));
  P("cwd.names", offsetof(struct hr_exec_cwd, names));
  P("cwd_names", HR_CWD_NAMES);
  P("cwd_whole", HR_CWD_WHOLE);
  P("exit", sizeof(struct hr_exit));
  P("exit.exit_boottime", offsetof(struct hr_exit, exit_boottime));
  P("exit.exit_code", offsetof(struct hr_exit, exit_code));
`);

test('struct sizes and offsets match bpf/events.h', (t) => {
  const c = cLayout();
  t.is(c.key, CG_KEY_SIZE);
  t.is(c.stats, SCHED_STATS_SIZE);
  t.is(c.slots, RUNQ_SLOTS);
  t.is(c.config, SCHED_CONFIG_SIZE);
  t.is(c['config.read_v1_cpu'], 8);
  t.is(c.slow, SLOW_WAKEUP_SIZE);
  t.deepEqual([c['slow.pid'], c['slow.ts_ns'], c['slow.cg'], c['slow.delay_ns'], c['slow.comm']], [4, 8, 16, 32, 40]);
  t.is(c['stats.runq_count'], RUNQ_SLOTS * 8);
  t.is(c['stats.nivcsw'], RUNQ_SLOTS * 8 + 32);
  t.is(c['stats.running_since'], RUNQ_SLOTS * 8 + 40);
  t.is(c.ev_slow, EV_SLOW_WAKEUP);
  t.deepEqual([c.oncpu, c['oncpu.pid'], c['oncpu.key'], c['oncpu.task'], c['oncpu.cset']], [ONCPU_SIZE, 8, 16, 32, 40]);
  t.deepEqual([c.exit, c['exit.exit_boottime'], c['exit.exit_code']], [EXIT_SIZE, 8, 16]);
  t.deepEqual([c.cwd, c['cwd.root_ino'], c['cwd.root_dev'], c['cwd.len'], c['cwd.flags'], c['cwd.names'], c.cwd_names, c.cwd_whole], [EXEC_CWD_SIZE, 8, 16, 20, 24, 32, EXEC_CWD_NAMES, 1]);
});

test('exec cwd decodes its names from the cwd up into a path; another process\'s start or root, or a path not read whole, is none', (t) => {
  const root = { ino: 2n, dev: 0x801n };
  const entry = (names: string[], startNs: bigint, flags = 1, at = { ino: 2n, kernelDev: (8 << 20) | 1 }): Buffer => {
    const b = Buffer.alloc(EXEC_CWD_SIZE);
    b.writeBigUInt64LE(startNs, 0);
    b.writeBigUInt64LE(at.ino, 8);
    b.writeUInt32LE(at.kernelDev, 16);
    const text = Buffer.from(names.map((n) => `${n}\0`).join(''), 'utf8');
    text.copy(b, 32);
    b.writeUInt32LE(text.length, 20);
    b.writeUInt32LE(flags, 24);
    return b;
  };
  // (a start of 123.456789 s since boot is tick 12345 in /proc/<pid>/stat: 10 ms ticks, rounded down)
  t.is(decodeExecCwd(entry(['work', 'jail', 'tmp'], 123_456_789_000n), 12345, root), '/tmp/jail/work');
  t.is(decodeExecCwd(entry(['données'], 123_456_789_000n), 12345, root), '/données');
  t.is(decodeExecCwd(entry([], 5_000_000_000n), 500, root), '/', 'its root');
  t.is(decodeExecCwd(entry(['work'], 123_456_789_000n), 12346, root), null, 'another process with that pid');
  t.is(decodeExecCwd(entry(['work'], 123_456_789_000n, 0), 12345, root), null, 'too deep or too long, removed, or outside its root');
  t.is(decodeExecCwd(entry(['work'], 123_456_789_000n, 1, { ino: 5_000_123n, kernelDev: (8 << 20) | 1 }), 12345, root), null, 'another root since (it chrooted after its exec)');
  t.is(decodeExecCwd(entry(['work'], 123_456_789_000n, 1, { ino: 2n, kernelDev: (8 << 20) | 2 }), 12345, root), null, 'the root of another filesystem');
  t.is(decodeExecCwd(Buffer.alloc(16), 0, root), null, 'short');
  // the kernel's dev_t (major << 20 | minor) as stat gives it (glibc's makedev), small and large
  t.is(userDev((8 << 20) | 1), 0x801n);
  t.is(userDev((259 << 20) | 0x12345), (0x12345n & 0xffn) | (259n << 8n) | ((0x12345n & ~0xffn) << 12n));
  t.is(userDev(0), 0n);
});

test('a process\'s end decodes as wait(2) has it: killed by a signal, or its exit status; another process\'s start is none', (t) => {
  const entry = (code: number, startNs = 123_456_789_000n): Buffer => {
    const b = Buffer.alloc(EXIT_SIZE);
    b.writeBigUInt64LE(startNs, 0);
    b.writeBigUInt64LE(200_004_999_999n, 8);
    b.writeInt32LE(code, 16);
    return b;
  };
  t.like(decodeExit(entry(9), 12345), { signal: 9, endTicks: 20000 });
  t.like(decodeExit(entry(9 | 0x80), 12345), { signal: 9, endTicks: 20000 }, 'with its core dumped');
  t.like(decodeExit(entry(3 << 8), 12345), { status: 3, endTicks: 20000 });
  t.like(decodeExit(entry(0), 12345), { status: 0, endTicks: 20000 });
  // its end in ms since the epoch: the boot's (now less /proc/uptime) plus 200.004999999 s
  const boot = Date.now() - Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1000;
  t.true(Math.abs(decodeExit(entry(0), 12345)!.endMs! - (boot + 200_005)) < 100);
  t.is(decodeExit(entry(0), 12346), null, 'another process with that pid');
  t.is(decodeExit(Buffer.alloc(8), 0), null, 'short');
});

test('slow wakeup decodes field by field; other records are refused', (t) => {
  const b = Buffer.alloc(64);
  b.writeUInt32LE(EV_SLOW_WAKEUP, 0);
  b.writeUInt32LE(4242, 4);
  b.writeBigUInt64LE(123456789n, 8);
  b.writeBigUInt64LE(77n, 16);
  b.writeBigUInt64LE(88n, 24);
  b.writeBigUInt64LE(15_000_000n, 32);
  b.write('stress-ng-cpu', 40, 'latin1');
  const d = new DataView(b.buffer, b.byteOffset, b.length);
  t.deepEqual(decodeSlowWakeup(d, 0, 56), { pid: 4242, tsNs: 123456789n, key: { cgid: 77n, cpuCgid: 88n }, delayNs: 15_000_000, comm: 'stress-ng-cpu' });
  t.is(decodeSlowWakeup(d, 0, 40), null, 'too short');
  b.writeUInt32LE(2, 0);
  t.is(decodeSlowWakeup(d, 0, 56), null, 'another type');
});

test('sched config encodes the threshold in ns and the v1 flag', (t) => {
  const b = Buffer.from(encodeSchedConfig({ slowWakeupNs: 2.5e6, readV1Cpu: true }));
  t.is(b.readBigUInt64LE(0), 2_500_000n);
  t.is(b.readUInt32LE(8), 1);
});

test('log2 percentiles interpolate inside a bucket; empty is null', (t) => {
  const slots = new Array(32).fill(0);
  t.is(percentileMs(slots, 0.5), null);
  slots[10] = 100; // waits in [1024, 2048) us
  t.is(percentileMs(slots, 0.5), 1.536);
  t.is(percentileMs(slots, 1), 2.048);
  slots[0] = 100; // [0, 2) us
  t.is(percentileMs(slots, 0.25), 0.001);
  t.true(percentileMs(slots, 0.99)! > 2);
  t.deepEqual(subtractSlots([5, 7], [2, 9]), [3, 0], 'a reset counter never goes negative');
  // into a scratch array (the tick's, one for every workload): cut to the slots' length, reused
  const scratch = [9, 9, 9];
  t.is(subtractSlots([5, 7], [2, 9], scratch), scratch);
  t.deepEqual(scratch, [3, 0]);
  t.deepEqual(subtractSlots([4, 4], undefined, scratch), [4, 4], 'no reading before: all of it');
  const now = [6, 1];
  t.deepEqual(subtractSlots(now, [1, 2], now), [5, 0], 'into the slots themselves');
});

/** A stand-in for the kernel's per-CPU stats map (a double: a stale mark cannot be made on demand in the kernel). */
function statsMapDouble(slots: Array<{ cgid: bigint; perCpu: Array<{ oncpuNs: bigint; runningSince: bigint }> }>): BpfMap {
  const ncpus = slots[0]!.perCpu.length;
  return {
    ncpus,
    valueStride: SCHED_STATS_SIZE * ncpus,
    // every entry in one pair of buffers, as a batch read hands them out (offsets past the first)
    forEachEntry: (each: (keys: Buffer, keyAt: number, values: Buffer, valueAt: number) => void) => {
      const stride = SCHED_STATS_SIZE * ncpus;
      const keys = Buffer.alloc(CG_KEY_SIZE * slots.length);
      const values = Buffer.alloc(stride * slots.length);
      slots.forEach(({ cgid, perCpu }, i) => {
        keys.writeBigUInt64LE(cgid, i * CG_KEY_SIZE);
        perCpu.forEach((c, cpu) => {
          values.writeBigUInt64LE(c.oncpuNs, i * stride + cpu * SCHED_STATS_SIZE + RUNQ_SLOTS * 8 + 16);
          values.writeBigUInt64LE(c.runningSince, i * stride + cpu * SCHED_STATS_SIZE + RUNQ_SLOTS * 8 + 40);
        });
      });
      for (let i = 0; i < slots.length; i++) each(keys, i * CG_KEY_SIZE, values, i * stride);
    },
  } as unknown as BpfMap;
}

test('a reading lends each CPU\'s running slice to the slot switched in last before the read began, and only that one', (t) => {
  const now = process.hrtime.bigint();
  const ms = 1_000_000n;
  const { stats, atNs } = readSchedStats(statsMapDouble([
    // cpu 0: this workload's task since 50 ms before the read; cpu 1: none of its tasks
    { cgid: 1n, perCpu: [{ oncpuNs: 5n * ms, runningSince: now - 50n * ms }, { oncpuNs: 7n * ms, runningSince: 0n }] },
    // cpu 0: a stale mark from 400 ms back (older than cpu 0's latest switch-in); cpu 1: switched in 20 ms back
    { cgid: 2n, perCpu: [{ oncpuNs: 1n * ms, runningSince: now - 400n * ms }, { oncpuNs: 2n * ms, runningSince: now - 20n * ms }] },
    // cpu 1 again, switched in after the read began (a future time): not lent, and not the latest
    { cgid: 3n, perCpu: [{ oncpuNs: 0n, runningSince: 0n }, { oncpuNs: 4n * ms, runningSince: now + 10_000n * ms }] },
  ]));
  t.true(atNs >= now);
  const oncpuMs = (cgid: bigint): number => stats.get(keyString({ cgid, cpuCgid: 0n }))!.stats.oncpuNs / 1e6;
  const since = Number(atNs - now) / 1e6; // (the read began a little after `now`)
  t.is(Math.round((oncpuMs(1n) - since) * 1e3) / 1e3, 12 + 50, 'committed 12 ms, lent 50 ms on cpu 0');
  t.is(Math.round((oncpuMs(2n) - since) * 1e3) / 1e3, 3 + 20, 'committed 3 ms, lent 20 ms on cpu 1; the stale mark on cpu 0 not lent');
  t.is(oncpuMs(3n), 4, 'committed only');
});

test('a workload key read twice is the same object, its id the key\'s string; one past 2^53 is read exactly', (t) => {
  const at = (cgid: bigint, cpuCgid: bigint, off = 0): Buffer => {
    const b = Buffer.alloc(off + CG_KEY_SIZE);
    b.writeBigUInt64LE(cgid, off);
    b.writeBigUInt64LE(cpuCgid, off + 8);
    return b;
  };
  const a = internedCgKey(at(4242n, 77n), 0);
  t.deepEqual(a, { key: { cgid: 4242n, cpuCgid: 77n }, id: keyString({ cgid: 4242n, cpuCgid: 77n }) });
  t.is(internedCgKey(at(4242n, 77n, 24), 24), a, 'the same pair, elsewhere in another buffer');
  t.not(internedCgKey(at(4242n, 78n), 0), a);
  t.not(internedCgKey(at(4243n, 77n), 0).id, a.id);
  const huge = (1n << 60n) + 3n;
  t.deepEqual(internedCgKey(at(huge, 1n), 0).key, { cgid: huge, cpuCgid: 1n });
  t.not(internedCgKey(at(huge + 1n, 1n), 0).id, internedCgKey(at(huge, 1n), 0).id, 'not rounded together');
});

test('a stats buffer is read as little-endian words in place, or from a copy where it is not 4-byte aligned', (t) => {
  const backing = Buffer.alloc(4 + 16);
  const at = (off: number): Buffer => {
    const b = backing.subarray(off, off + 16);
    b.writeBigUInt64LE((7n << 32n) + 5n, 0);
    b.writeBigUInt64LE(2n ** 53n - 1n, 8);
    return b;
  };
  for (const off of [0, 1]) {
    const w = wordsOver(at(off));
    t.is(w[0]! + w[1]! * 2 ** 32, 7 * 2 ** 32 + 5, `offset ${off}`);
    t.is(w[2]! + w[3]! * 2 ** 32, Number.MAX_SAFE_INTEGER);
  }
  t.is(wordsOver(at(0)).buffer, backing.buffer, 'aligned: a view, no copy');
});

test('keys not read for two generations are dropped from the interned keys; one read meanwhile is kept', (t) => {
  const at = (cgid: number, cpuCgid: number): Buffer => {
    const b = Buffer.alloc(CG_KEY_SIZE);
    b.writeBigUInt64LE(BigInt(cgid), 0);
    b.writeBigUInt64LE(BigInt(cpuCgid), 8);
    return b;
  };
  const gone = internedCgKey(at(900_001, 1), 0);
  const kept = internedCgKey(at(900_002, 1), 0);
  // two generations' worth of other keys (1 << 15 each), the kept one read now and then
  for (let i = 0; i < 2 * (1 << 15) + 10; i++) {
    internedCgKey(at(1_000_000 + i, 2), 0);
    if (i % 1000 === 0) t.is(internedCgKey(at(900_002, 1), 0), kept);
  }
  t.is(internedCgKey(at(900_002, 1), 0), kept, 'read within each generation: the same object');
  const again = internedCgKey(at(900_001, 1), 0);
  t.not(again, gone, 'not read for two generations: made anew');
  t.deepEqual(again, gone, 'with the same figures');
});
