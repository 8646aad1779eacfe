// The TS decoders follow bpf/events.h: sizes and offsets checked against the C compiler's view.
import test from 'ava';
import { cLayout as cLayoutOf } from '../helpers/c-layout.js';
import {
  CG_KEY_SIZE, ONCPU_SIZE, RUNQ_SLOTS, SCHED_CONFIG_SIZE, SCHED_STATS_SIZE, SLOW_WAKEUP_SIZE, EV_SLOW_WAKEUP,
  decodeSlowWakeup, encodeSchedConfig,
} from '../../agent/probes/sched.js';
import { percentileMs, subtractSlots } from '../../agent/probes/log2.js';

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
  t.deepEqual([c.oncpu, c['oncpu.pid'], c['oncpu.key']], [ONCPU_SIZE, 8, 16]);
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
});
