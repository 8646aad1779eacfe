// The protect-latency rule: throttle one bounded step under risk, hold in between, release step
// by step, respect the cool-down, and explain every decision.
import test from 'ava';
import { Planner, type DonorInput, type RiskInput } from '../../agent/plan/planner.js';
import { parsePolicy } from '../../agent/plan/policy.js';
import type { Workload } from '../../agent/workloads/types.js';

const policy = parsePolicy(`version: 1
mode: enforce
rules:
  protect_latency: { risk_threshold: 0.5, release_below: 0.2, horizon: 5s, cooldown: 3s }
workloads:
  - name: web
    match: /web
    class: critical
    objectives: { runqueue_p99: 5ms }
  - name: batch
    match: /batch
    class: best-effort
    cpu: { throttle: { min_cores: 0.25, max_cores: 2, step_cores: 0.5 } }
`, 'test.yaml');

const wl = (path: string): Workload => ({ id: `v1-cpu:${path}`, path, hierarchy: 'v1-cpu', cpuDir: `/sys/fs/cgroup/cpu${path}` });
const risk = (p: number): RiskInput => ({ workload: wl('/web'), selector: policy.workloads[0], objectiveMs: 5, pContention: p, confidence: 0.8, forecastP99Ms: 7, observedP99Ms: 6 });
const donor = (used: number): DonorInput => ({ workload: wl('/batch'), selector: policy.workloads[1], bounds: policy.workloads[1].cpu!.throttle!, usedCores: used });

test('throttles from what the donor uses, one step at a time, down to the floor', (t) => {
  const p = new Planner(policy);
  const d1 = p.decide(0, [risk(0.9)], [donor(1.8)]);
  t.is(d1.length, 1);
  t.is(d1[0].action, 'throttle');
  t.is(d1[0].cpuCores, 1.5, '1.8 used rounds up to 2.0, minus a 0.5 step');
  t.regex(d1[0].reason, /P\(run-queue p99 of web > 5\.00 ms within 5 s\) = 0\.90 > 0\.50.*throttle batch CPU one step 1\.80 used -> 1\.50 cores \(bounds 0\.25\.\.2\.00\)/);
  t.deepEqual(p.decide(1000, [risk(0.9)], [donor(1.5)]), [], 'cool-down holds the next step');
  t.is(p.decide(3000, [risk(0.9)], [donor(1.5)])[0].cpuCores, 1.0);
  t.is(p.decide(6000, [risk(0.9)], [donor(1)])[0].cpuCores, 0.5);
  t.is(p.decide(9000, [risk(0.9)], [donor(0.5)])[0].cpuCores, 0.25, 'never below min_cores');
  t.deepEqual(p.decide(12000, [risk(0.9)], [donor(0.25)]), [], 'at the floor: nothing more to take');
  t.is(p.heldCores('v1-cpu:/batch'), 0.25);
});

test('hysteresis: holds between the two thresholds, releases below, restores at the top', (t) => {
  const p = new Planner(policy);
  p.decide(0, [risk(0.9)], [donor(2)]); // 1.5
  p.decide(3000, [risk(0.9)], [donor(1.5)]); // 1.0
  t.deepEqual(p.decide(6000, [risk(0.3)], [donor(1)]), [], 'between release_below and risk_threshold: hold');
  const r1 = p.decide(9000, [risk(0.1)], [donor(1)]);
  t.is(r1[0].action, 'release');
  t.is(r1[0].cpuCores, 1.5);
  t.regex(r1[0].reason, /0\.10 < 0\.20: release batch CPU one step 1\.00 -> 1\.50 cores/);
  const r2 = p.decide(12000, [risk(0.1)], [donor(1)]);
  t.is(r2[0].action, 'restore');
  t.is(r2[0].cpuCores, null);
  t.is(p.heldCores('v1-cpu:/batch'), null);
  t.deepEqual(p.decide(15000, [risk(0.1)], [donor(1)]), [], 'nothing held, nothing to release');
});

// (a walkthrough: a donor its owner capped at 1 core was released 0.25 -> 0.75 -> 1.25 -> 1.75
// cores, max_cores being 2: the agent lifted the owner's cap)
test('a donor with a limit of its own: throttled from under it, released up to it and no further, then given back', (t) => {
  const p = new Planner(policy);
  let reads = 0;
  const capped = (used: number): DonorInput => ({ ...donor(used), ownLimitCores: () => { reads++; return 1; } });
  const d1 = p.decide(0, [risk(0.9)], [capped(1)]);
  t.is(d1[0]!.cpuCores, 0.5, 'from its own 1 core, not from max_cores');
  t.regex(d1[0]!.reason, /-> 0\.50 cores \(bounds 0\.25\.\.2\.00, its own limit 1\.00\)$/);
  t.is(p.decide(3000, [risk(0.9)], [capped(0.5)])[0]!.cpuCores, 0.25);
  t.is(reads, 1, 'its limit read once, at the first throttle (after it, the limit is the agent\'s own)');
  t.is(p.decide(6000, [risk(0.1)], [capped(0.25)])[0]!.cpuCores, 0.75);
  const back = p.decide(9000, [risk(0.1)], [capped(0.75)]);
  t.is(back[0]!.action, 'restore', 'a step to 1.25 would pass its own limit: given back instead');
  t.is(back[0]!.cpuCores, null);
  // a limit already at or under the floor: nothing to take
  const q = new Planner(policy);
  t.deepEqual(q.decide(0, [risk(0.9)], [{ ...donor(0.2), ownLimitCores: () => 0.2 }]), []);
  t.deepEqual(q.decide(0, [risk(0.9)], [{ ...donor(0.5), ownLimitCores: () => 0.25 }]), [], 'a throttle to 0.25 would not lower its own 0.25');
});

// (a walkthrough: a throttle whose write failed, ENOSPC on the journal, was held in the ledger:
// never tried again, and exported as held)
test('a decision whose write failed: the ledger goes back to what it held before it, and the next tick decides again', (t) => {
  const p = new Planner(policy);
  const [first] = p.decide(0, [risk(0.9)], [donor(2)]);
  t.is(p.heldCores('v1-cpu:/batch'), 1.5);
  p.notApplied(first!);
  t.is(p.heldCores('v1-cpu:/batch'), null);
  const [again] = p.decide(1000, [risk(0.9)], [donor(2)]);
  t.is(again!.cpuCores, 1.5, 'tried again at once: nothing held, so no cool-down');
  // a later step that fails: back to the step before, its cool-down from then
  const [next] = p.decide(4000, [risk(0.9)], [donor(1.5)]);
  t.is(next!.cpuCores, 1.0);
  p.notApplied(next!);
  t.is(p.heldCores('v1-cpu:/batch'), 1.5);
  // a refusal that lasts (another agent's claim) holds the workload off for a while: not decided, and said, every tick
  const q = new Planner(policy);
  const [refused] = q.decide(0, [risk(0.9)], [donor(2)]);
  q.notApplied(refused!, 60_000);
  t.deepEqual(q.decide(1000, [risk(0.9)], [donor(2)]), []);
  t.deepEqual(q.decide(59_000, [risk(0.9)], [donor(2)]), []);
  t.is(q.decide(60_000, [risk(0.9)], [donor(2)])[0]!.cpuCores, 1.5, 'decided again once the hold-off is over');
  // a decision of an earlier tick changes nothing (this tick, in the cool-down of the step at 1 s, decides nothing)
  t.deepEqual(p.decide(3500, [risk(0.9)], [donor(1.5)]), []);
  p.notApplied(first!);
  t.is(p.heldCores('v1-cpu:/batch'), 1.5);
});

test('no throttle when the donor already uses less than a step would allow', (t) => {
  const p = new Planner(policy);
  t.deepEqual(p.decide(0, [risk(0.9)], [donor(0.1)]), []);
});

test('no critical workload: nothing is throttled; a held throttle is released', (t) => {
  const p = new Planner(policy);
  t.deepEqual(p.decide(0, [], [donor(2)]), []);
  p.decide(0, [risk(0.9)], [donor(2)]);
  t.is(p.decide(5000, [], [donor(2)])[0].action, 'restore', 'one step back up reaches max_cores: the original');
});

test('releaseAll gives back every hold with a reason; a vanished donor is forgotten', (t) => {
  const p = new Planner(policy);
  p.decide(0, [risk(0.9)], [donor(2)]);
  const all = p.releaseAll(1);
  t.is(all.length, 1);
  t.is(all[0].action, 'restore');
  t.regex(all[0].reason, /agent stopping/);
  p.decide(10_000, [risk(0.9)], [donor(2)]);
  p.decide(20_000, [risk(0.9)], []);
  t.is(p.heldCores('v1-cpu:/batch'), null);
});

test('a forecast with too little history never throttles', (t) => {
  const p = new Planner(policy);
  t.deepEqual(p.decide(0, [{ ...risk(0.99), confidence: 0.1 }], [donor(2)]), []);
  t.is(p.decide(0, [{ ...risk(0.99), confidence: 0.3 }], [donor(2)]).length, 1);
});
