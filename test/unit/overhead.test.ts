// The overhead governor's decisions on made-up counters with known answers (the kernel side is
// exercised in test/kernel/overhead.test.ts).
import test, { type ExecutionContext } from 'ava';
import { OverheadGovernor, standardVariants, variantsFor, type ProbeCounters } from '../../agent/probes/overhead.js';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeKnobs, filterKey } from '../../agent/probes/knobs.js';

const EVENTS_H = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bpf/events.h');

/** Cumulative counters for probes that ran `perSecond` events of `ns` each for `ms`. */
class Clock {
  atMs = 0;
  agentNs = 0;
  counters: Record<string, ProbeCounters> = {};
  advance(ms: number, load: Record<string, { perSecond: number; ns: number }>, agentFraction = 0): void {
    this.atMs += ms;
    this.agentNs += agentFraction * ms * 1e6;
    for (const [name, { perSecond, ns }] of Object.entries(load)) {
      const c = (this.counters[name] ??= { runTimeNs: 0, runCount: 0 });
      const n = (perSecond * ms) / 1000;
      c.runCount += n;
      c.runTimeNs += n * ns;
    }
  }
}

/** A 1% budget over the fault probe alone, a storm (100k faults/s x 300 ns) already past: the probe at sampled-1/8, the agent at `agent` of a CPU. */
function afterStorm(t: ExecutionContext, agent: number): { g: OverheadGovernor; c: Clock } {
  const g = new OverheadGovernor({ budget: 0.01, windowMs: 1000, headroom: 0.7, probes: { fault: standardVariants(false) } });
  const c = new Clock();
  g.observe(c.atMs, c.counters, c.agentNs);
  c.advance(1000, { fault: { perSecond: 100_000, ns: 300 } }, agent);
  t.is(g.observe(c.atMs, c.counters, c.agentNs)[0]?.to, 'sampled-1/8');
  return { g, c };
}

test('over budget: the hottest probe steps down, one step per window, with a reason', (t) => {
  const g = new OverheadGovernor({ budget: 0.01, windowMs: 1000, probes: { sched: standardVariants(false), fault: standardVariants(false) } });
  const c = new Clock();
  t.deepEqual(g.observe(c.atMs, c.counters, c.agentNs), []);
  // fault: 200k events/s x 300 ns = 6% of a CPU; sched 1k x 500 ns = 0.05%
  c.advance(1000, { fault: { perSecond: 200_000, ns: 300 }, sched: { perSecond: 1000, ns: 500 } }, 0.002);
  const first = g.observe(c.atMs, c.counters, c.agentNs);
  t.is(first.length, 1);
  t.is(first[0].probe, 'fault');
  t.is(first[0].from, 'full');
  t.is(first[0].to, 'sampled-1/8');
  t.is(first[0].knobs.sampleShift, 3);
  t.regex(first[0].reason, /own cost 6\.25% of one CPU over budget 1\.00%; fault is the hottest probe \(6\.00%, 200000 events\/s\)/);
  t.is(g.report!.probes.fault.variant, 'sampled-1/8');
  t.true(Math.abs(g.report!.agent - 0.002) < 1e-9);
  // Sampled: the program still runs for every event but returns early (40 ns): 0.8% + rest
  c.advance(500, { fault: { perSecond: 200_000, ns: 40 }, sched: { perSecond: 1000, ns: 500 } }, 0.002);
  t.deepEqual(g.observe(c.atMs, c.counters, c.agentNs), [], 'no decision before the window ends');
  c.advance(500, { fault: { perSecond: 200_000, ns: 40 }, sched: { perSecond: 1000, ns: 500 } }, 0.002);
  t.is(g.observe(c.atMs, c.counters, c.agentNs)[0]?.to, 'sampled-1/64', '1.05% is still over 1%: one more step');
});

test('back to the richer variant only when its predicted cost fits under the headroom', (t) => {
  const g = new OverheadGovernor({ budget: 0.01, windowMs: 1000, headroom: 0.7, probes: { fault: standardVariants(false) } });
  const c = new Clock();
  g.observe(c.atMs, c.counters, c.agentNs);
  c.advance(1000, { fault: { perSecond: 100_000, ns: 300 } }); // 3%
  t.is(g.observe(c.atMs, c.counters, c.agentNs)[0].to, 'sampled-1/8');
  // storm continues but now cheap (0.4%): at full it would cost 3% -> stay
  c.advance(1000, { fault: { perSecond: 100_000, ns: 40 } });
  t.deepEqual(g.observe(c.atMs, c.counters, c.agentNs), []);
  // the storm is over: 1k events/s would cost 0.03% at full -> back to full
  c.advance(1000, { fault: { perSecond: 1000, ns: 40 } });
  const back = g.observe(c.atMs, c.counters, c.agentNs);
  t.is(back[0]?.to, 'full');
  t.regex(back[0].reason, /^load fell: fault at 1000 events\/s would cost about 0\.03% in all as full/);
  t.is(g.variant('fault')?.name, 'full');
});

test('the agent alone near the budget: a reduced probe goes back once its own cost would be negligible, and is not switched down again', (t) => {
  // the agent's own CPU at 0.8% of a 1% budget: the total never falls under 70% of it
  const { g, c } = afterStorm(t, 0.008); // 3.8% in all
  // the storm goes on, cheaper (0.9% in all): at full the fault probe would cost 3%, not negligible
  c.advance(1000, { fault: { perSecond: 100_000, ns: 10 } }, 0.008);
  t.deepEqual(g.observe(c.atMs, c.counters, c.agentNs), []);
  // 400 faults/s at full: 0.012% (under 5% of the budget), 0.81% in all (over 70% of it)
  c.advance(1000, { fault: { perSecond: 400, ns: 40 } }, 0.008);
  const back = g.observe(c.atMs, c.counters, c.agentNs);
  t.is(back[0]?.to, 'full');
  t.regex(back[0]!.reason, /^load fell: fault at 400 events\/s would cost about 0\.01% as full, under 5% of the budget 1\.00% \(0\.81% in all, the agent's own 0\.80%\): sampled-1\/8 -> full$/);
  // over the budget now (the agent at 1.2%), the probe at full is still too small to switch
  for (let i = 0; i < 3; i++) {
    c.advance(1000, { fault: { perSecond: 400, ns: 300 } }, 0.012);
    t.deepEqual(g.observe(c.atMs, c.counters, c.agentNs), []);
  }
  t.is(g.variant('fault')?.name, 'full');
  // a probe at 6-10% of the budget stays where it is, either way (the band between the two rules)
  const { g: h, c: d } = afterStorm(t, 0.008);
  d.advance(1000, { fault: { perSecond: 2_500, ns: 300 } }, 0.008); // 0.075% at full
  t.deepEqual(h.observe(d.atMs, d.counters, d.agentNs), [], '0.075% is not under 5% of the budget');
  t.is(h.variant('fault')?.name, 'sampled-1/8');
});

test('the agent alone over the budget: a probe sampled in perf goes back step by step once negligible, and no probe is reduced for it', (t) => {
  const g = new OverheadGovernor({ budget: 0.01, windowMs: 1000, probes: { fault: standardVariants(false, true), sched: standardVariants(false) } });
  const c = new Clock();
  g.observe(c.atMs, c.counters, c.agentNs);
  // a storm: 100k faults/s x 300 ns (3%), the agent at 1.2%
  c.advance(1000, { fault: { perSecond: 100_000, ns: 300 }, sched: { perSecond: 1000, ns: 500 } }, 0.012);
  t.is(g.observe(c.atMs, c.counters, c.agentNs)[0]?.to, 'sampled-1/8');
  c.advance(1000, { fault: { perSecond: 12_500, ns: 300 }, sched: { perSecond: 1000, ns: 500 } }, 0.012); // 1 run in 8: 0.375%
  t.is(g.observe(c.atMs, c.counters, c.agentNs)[0]?.to, 'sampled-1/64');
  // the storm is over: 640 faults/s, 10 program runs/s at 1/64; the total stays over the budget (the agent)
  c.advance(1000, { fault: { perSecond: 10, ns: 300 }, sched: { perSecond: 1000, ns: 500 } }, 0.012);
  const first = g.observe(c.atMs, c.counters, c.agentNs);
  t.is(first[0]?.to, 'sampled-1/8', 'back one step: 1/8 of 640 faults/s would cost 0.002%');
  t.regex(first[0]!.reason, /^load fell: fault at 640 events\/s would cost about 0\.00% as sampled-1\/8, under 5% of the budget 1\.00% \(1\.25% in all, the agent's own 1\.20%\)/);
  c.advance(1000, { fault: { perSecond: 80, ns: 300 }, sched: { perSecond: 1000, ns: 500 } }, 0.012);
  t.is(g.observe(c.atMs, c.counters, c.agentNs)[0]?.to, 'full');
  for (let i = 0; i < 3; i++) {
    c.advance(1000, { fault: { perSecond: 640, ns: 300 }, sched: { perSecond: 1000, ns: 500 } }, 0.012);
    t.deepEqual(g.observe(c.atMs, c.counters, c.agentNs), [], 'over the budget, but no probe worth reducing');
  }
  t.is(g.variant('fault')?.name, 'full');
  t.is(g.variant('sched')?.name, 'full');
});

test('several probes reduced: a negligible one goes back from under one that must stay; a step back that would take the total over the budget waits', (t) => {
  const g = new OverheadGovernor({ budget: 0.01, windowMs: 1000, probes: { fault: standardVariants(false), sched: standardVariants(false) } });
  const c = new Clock();
  g.observe(c.atMs, c.counters, c.agentNs);
  /** A window of 1 s: fault's and sched's events a second and ns each, the agent at 0.2%; the governor's changes. */
  const window = (fault: [number, number], sched: [number, number]) => {
    c.advance(1000, { fault: { perSecond: fault[0], ns: fault[1] }, sched: { perSecond: sched[0], ns: sched[1] } }, 0.002);
    return g.observe(c.atMs, c.counters, c.agentNs);
  };
  t.is(window([100_000, 300], [1000, 500])[0]?.probe, 'fault');
  // then sched storms (10% of a CPU at full), fault is sampled and quiet
  const sched = window([1000, 40], [200_000, 500]);
  t.is(sched[0]?.probe, 'sched');
  t.is(sched[0]?.to, 'sampled-1/8');
  // sched sampled still costs 1.25%: one more step
  t.is(window([1000, 40], [200_000, 62.5])[0]?.to, 'sampled-1/64');
  // under the budget now (0.2% + 0.004% + 0.2%): sched (on top of the stack) would cost 10% at
  // full and stays; fault (1000/s, 0.03% at full) is negligible and goes back from under it
  const back = window([1000, 40], [200_000, 10]);
  t.is(back[0]?.probe, 'fault');
  t.is(back[0]?.to, 'full');
  t.is(g.variant('sched')?.name, 'sampled-1/64');
  // under the budget, a negligible step back that would end over it waits
  const { g: h, c: d } = afterStorm(t, 0.002);
  d.advance(1000, { fault: { perSecond: 1000, ns: 40 } }, 0.0099); // 0.994% now, 1.02% with fault at full (0.03%)
  t.deepEqual(h.observe(d.atMs, d.counters, d.agentNs), []);
  t.is(h.variant('fault')?.name, 'sampled-1/8');
});

test('a probe whose cost rises and falls with its workloads, the agent at the budget: no flapping, each reversal holds twice as long', (t) => {
  // the agent at 0.95% of a 1% budget; the fault probe at 0.12% in busy windows, 0.003% in
  // quiet ones, alternating: each busy window put it over (switch down), each quiet one made
  // its full variant negligible (switch back): a switch every window, 59 in 9 minutes live
  const g = new OverheadGovernor({ budget: 0.01, windowMs: 5000, headroom: 0.7, probes: { fault: standardVariants(false) } });
  const c = new Clock();
  g.observe(c.atMs, c.counters, c.agentNs);
  const at: string[] = [];
  for (let w = 0; w < 108; w++) { // 9 minutes of 5 s windows
    const busy = w % 2 === 0;
    c.advance(5000, { fault: { perSecond: busy ? 4_000 : 100, ns: 300 } }, 0.0095);
    for (const ch of g.observe(c.atMs, c.counters, c.agentNs)) at.push(`${w}:${ch.to}`);
  }
  t.log(`switches (window:variant) ${at.join(' ')}`);
  t.true(at.some((x) => x.endsWith(':full')), 'it still switches down, and back');
  t.true(at.length <= 12, `${at.length} switches in 108 windows`);
  // the holds grow: fewer and fewer switches
  t.true(at.filter((x) => Number(x.split(':')[0]) >= 54).length <= 4, 'at most 4 in the second half');
  // quiet until it is back at full (its hold passed), then a mild excess waits out the hold, but
  // a storm does not: at twice the budget the probe goes down at once
  for (let w = 0; w < 400 && g.variant('fault')!.name !== 'full'; w++) {
    c.advance(5000, { fault: { perSecond: 100, ns: 300 } }, 0.0095);
    g.observe(c.atMs, c.counters, c.agentNs);
  }
  t.is(g.variant('fault')!.name, 'full');
  c.advance(5000, { fault: { perSecond: 4_000, ns: 300 } }, 0.0095); // 1.07% in all
  t.deepEqual(g.observe(c.atMs, c.counters, c.agentNs), [], 'a mild excess waits out the hold');
  c.advance(5000, { fault: { perSecond: 100_000, ns: 300 } }, 0.0095); // 3.95% in all
  t.deepEqual(g.observe(c.atMs, c.counters, c.agentNs).map((x) => x.to), ['sampled-1/8'], 'a storm does not wait');
});

test('nothing cheaper left: no change, and the report still shows the excess', (t) => {
  const g = new OverheadGovernor({ budget: 0.001, windowMs: 1000, probes: { sock: [{ name: 'full', knobs: { sampleShift: 0, filter: false } }] } });
  const c = new Clock();
  g.observe(c.atMs, c.counters, c.agentNs);
  c.advance(1000, { sock: { perSecond: 10_000, ns: 1000 } });
  t.deepEqual(g.observe(c.atMs, c.counters, c.agentNs), []);
  t.true(g.report!.total > g.budget);
});

test('filtering is offered only when the policy selects workloads; budgets and knobs are checked', (t) => {
  t.is(standardVariants(false).length, 3);
  t.deepEqual(standardVariants(true).at(-1)?.knobs, { sampleShift: 6, filter: true });
  t.throws(() => new OverheadGovernor({ budget: 0, probes: {} }), { message: /budget must be in \(0, 1\]/ });
  t.throws(() => encodeKnobs({ sampleShift: 40, filter: false }), { message: /0 to 16/ });
  t.deepEqual([...encodeKnobs({ sampleShift: 3, filter: true })], [3, 0, 0, 0, 1, 0, 0, 0]);
});

test('filter keys: a v1 cpu cgroup and a cgroup2 one of the same number are two keys, as events.h marks them', (t) => {
  const bit = /#define HR_FILTER_V1_CPU \(1ULL << (\d+)\)/.exec(readFileSync(EVENTS_H, 'utf8'));
  t.truthy(bit, 'events.h defines HR_FILTER_V1_CPU');
  t.is(filterKey('v2', 14n), 14n);
  t.is(filterKey('v1-cpu', 14n), 14n | (1n << BigInt(bit![1]!)));
  t.not(filterKey('v1-cpu', 14n), filterKey('v2', 14n));
});

test('the agent alone over budget: no probe is cheap-switched for nothing', (t) => {
  const g = new OverheadGovernor({ budget: 0.01, windowMs: 1000, probes: { sched: standardVariants(false) } });
  const c = new Clock();
  g.observe(c.atMs, c.counters, c.agentNs);
  c.advance(1000, { sched: { perSecond: 1000, ns: 500 } }, 0.02); // sched 0.05% < 10% of the budget
  t.deepEqual(g.observe(c.atMs, c.counters, c.agentNs), []);
  t.true(g.report!.total > 0.02);
});

test('sampled in perf: the run count is scaled back to the event rate before deciding', (t) => {
  const g = new OverheadGovernor({ budget: 0.01, windowMs: 1000, headroom: 0.7, probes: { fault: standardVariants(false, true) } });
  const c = new Clock();
  g.observe(c.atMs, c.counters, c.agentNs);
  c.advance(1000, { fault: { perSecond: 100_000, ns: 300 } }); // 3%
  t.is(g.observe(c.atMs, c.counters, c.agentNs)[0].to, 'sampled-1/8');
  // the storm goes on: perf now runs the program for 1 fault in 8 (12,500 runs/s, 0.4%)
  c.advance(1000, { fault: { perSecond: 12_500, ns: 300 } });
  t.deepEqual(g.observe(c.atMs, c.counters, c.agentNs), [], 'not back: at full it would cost 3% again');
  t.is(Math.round(g.report!.probes.fault.eventsPerSecond), 100_000, 'the event rate, not the run rate');
  c.advance(1000, { fault: { perSecond: 125, ns: 300 } }); // 1,000 faults/s
  t.is(g.observe(c.atMs, c.counters, c.agentNs)[0]?.to, 'full');
});

test('a probe the objectives read keeps the selected workloads exact: its only cheaper variant drops the rest', (t) => {
  const v = variantsFor({ canFilter: true, sampledAtSource: false, exactForSelected: true });
  t.deepEqual(v.map((x) => x.name), ['full', 'selected-only']);
  t.deepEqual(v[1].knobs, { sampleShift: 0, filter: true });
  // without selected workloads there is nothing to keep exact: sampling as usual
  t.is(variantsFor({ canFilter: false, sampledAtSource: false, exactForSelected: true })[1].knobs.sampleShift, 3);
});
