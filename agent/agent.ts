// The tick, one way through: probes -> workloads -> predict -> plan -> actuate -> report.
// Each stage reads only what the stage before it produced.
import { join } from 'node:path';
import { ProbeSet } from './probes/probe-set.js';
import type { SchedStats } from './probes/sched.js';
import { percentileMs, subtractSlots } from './probes/log2.js';
import { WorkloadIndex } from './workloads/index.js';
import { detectCgroupLayout } from './workloads/layout.js';
import type { CgroupKey, Workload } from './workloads/types.js';
import { createForecaster, type Forecaster } from './predict/index.js';
import { Planner, type DonorInput, type RiskInput } from './plan/planner.js';
import { matchesGlob } from './plan/policy.js';
import type { Decision, Mode, Policy, WorkloadSelector } from './plan/types.js';
import { Actuator } from './actuate/index.js';
import type { KernelEvent, OverheadEvent, TickReport, WorkloadReport } from './report.js';
import { OverheadGovernor, standardVariants } from './probes/overhead.js';

export interface AgentOptions {
  policy: Policy;
  mode: Mode;
  /** linked BPF object (build/bpf/headroom.bpf.o) */
  objectPath: string;
  /** journal and verifier logs live here */
  stateDir: string;
  log?: (msg: string) => void;
}

interface Totals {
  workload: Workload;
  stats: SchedStats;
}

const QUANTILES = [0.5, 0.9, 0.99];

function addStats(into: SchedStats, s: SchedStats): void {
  for (let i = 0; i < s.runqSlots.length; i++) into.runqSlots[i] += s.runqSlots[i];
  into.runqCount += s.runqCount;
  into.runqSumNs += s.runqSumNs;
  into.oncpuNs += s.oncpuNs;
  into.nvcsw += s.nvcsw;
  into.nivcsw += s.nivcsw;
}

const emptyStats = (slots: number): SchedStats =>
  ({ runqSlots: new Array(slots).fill(0), runqCount: 0, runqSumNs: 0, oncpuNs: 0, nvcsw: 0, nivcsw: 0 });

/**
 * What a cumulative figure gained since the last tick. A small step back is a read race (the
 * running slice is read apart from the committed time): nothing gained. A large one is a reset
 * (the LRU entry was evicted and started again): count from zero.
 */
const delta = (now: number, before: number | undefined): number =>
  before === undefined ? now : now >= before ? now - before : now >= before / 2 ? 0 : now;

export class Agent {
  readonly policy: Policy;
  readonly mode: Mode;
  private readonly source: ProbeSet;
  private readonly index: WorkloadIndex;
  private readonly planner: Planner;
  private readonly actuator: Actuator;
  private readonly forecasters = new Map<string, Forecaster>();
  private readonly governor: OverheadGovernor | null;
  /** kernel ids of the workloads the policy selects (the governor's filter keeps those) */
  private selectedIds = new Set<bigint>();
  private previous = new Map<string, Totals>();
  private lastTickMs = 0;
  private ticks = 0;
  private stopped = false;
  private readonly log: (msg: string) => void;

  private constructor(opts: AgentOptions, source: ProbeSet, index: WorkloadIndex, actuator: Actuator) {
    this.policy = opts.policy;
    this.mode = opts.mode;
    this.source = source;
    this.index = index;
    this.actuator = actuator;
    this.planner = new Planner(opts.policy);
    this.log = opts.log ?? (() => {});
    const canFilter = opts.policy.workloads.length > 0;
    const probes = Object.fromEntries(Object.keys(source.tunables).map((p) => [p, standardVariants(canFilter)]));
    this.governor = source.costUnavailable ? null : new OverheadGovernor({ budget: opts.policy.probes.overheadBudget, probes });
    if (source.costUnavailable) this.log(`overhead control off: ${source.costUnavailable}`);
  }

  /** Ticks the governor; applies and returns its switches (they go out as events). */
  private governOverhead(nowMs: number): OverheadEvent[] {
    if (!this.governor) return [];
    const cpu = process.cpuUsage();
    const changes = this.governor.observe(nowMs, this.source.counters(), (cpu.user + cpu.system) * 1000);
    for (const c of changes) {
      const probe = this.source.tunables[c.probe];
      if (c.knobs.filter) probe.setFilter(this.selectedIds);
      probe.setKnobs(c.knobs);
      this.log(`overhead: ${c.reason}`);
    }
    return changes.map(({ atMs, probe, from, to, reason }) => ({ atMs, probe, from, to, reason }));
  }

  /** Loads the probes and takes the first reading (the baseline the first tick subtracts). */
  static start(opts: AgentOptions): Agent {
    const layout = detectCgroupLayout();
    const index = new WorkloadIndex(layout);
    index.refresh();
    const selectors = opts.policy.workloads;
    const actuator = new Actuator({
      mode: opts.mode,
      journalPath: join(opts.stateDir, 'journal.jsonl'),
      allow: (w) => selectorOf(selectors, w)?.class === 'best-effort' && !!selectorOf(selectors, w)?.cpu?.throttle,
    });
    const source = ProbeSet.open({
      objectPath: opts.objectPath,
      verifierLogPath: join(opts.stateDir, 'verifier.log'),
      sched: {
        slowWakeupMs: opts.policy.probes.sched.slowWakeupMs,
        readV1Cpu: layout.kind === 'hybrid',
        ringBytes: opts.policy.probes.sched.ringBytes,
      },
    });
    const agent = new Agent(opts, source, index, actuator);
    agent.previous = agent.totals(source.read().sched.stats);
    agent.lastTickMs = Date.now();
    return agent;
  }

  get programs(): string[] {
    return this.source.programs;
  }

  tick(): TickReport {
    const started = performance.now();
    const nowMs = Date.now();
    const intervalMs = Math.max(1, nowMs - this.lastTickMs);
    this.lastTickMs = nowMs;
    this.ticks++;

    // probes -> workloads
    if (this.ticks % 5 === 0) this.index.refresh();
    const reading = this.source.read().sched;
    const totals = this.totals(reading.stats);
    const events: KernelEvent[] = reading.slowWakeups.slice(-100).map((e) => {
      const w = this.index.resolve(e.key);
      return {
        kind: 'slow_wakeup', workload: { id: w.id, path: w.path }, pid: e.pid, comm: e.comm,
        detail: { delayMs: e.delayNs / 1e6 },
      };
    });

    const reports: WorkloadReport[] = [];
    const risks: RiskInput[] = [];
    const donors: DonorInput[] = [];
    for (const [id, now] of totals) {
      const before = this.previous.get(id)?.stats;
      const tickSlots = subtractSlots(now.stats.runqSlots, before?.runqSlots);
      const cores = delta(now.stats.oncpuNs, before?.oncpuNs) / 1e6 / intervalMs;
      const switches = delta(now.stats.nvcsw, before?.nvcsw) + delta(now.stats.nivcsw, before?.nivcsw);
      const report: WorkloadReport = {
        workload: now.workload,
        cpu: { seconds: now.stats.oncpuNs / 1e9, cores },
        runq: {
          slots: now.stats.runqSlots,
          count: now.stats.runqCount,
          sumSeconds: now.stats.runqSumNs / 1e9,
          p50Ms: percentileMs(tickSlots, 0.5),
          p99Ms: percentileMs(tickSlots, 0.99),
        },
        switches: { voluntary: now.stats.nvcsw, involuntary: now.stats.nivcsw, perSecond: (switches * 1000) / intervalMs },
      };

      // predict (only where the policy states an objective)
      const selector = selectorOf(this.policy.workloads, now.workload);
      const objectiveMs = selector?.class === 'critical' ? selector.objectives?.runqueueP99Ms : undefined;
      if (selector && objectiveMs !== undefined) {
        const f = this.forecasterFor(id);
        if (report.runq.p99Ms !== null) f.update(report.runq.p99Ms, nowMs);
        const horizonMs = this.policy.rules.protectLatency.horizonMs;
        const fc = f.forecast(horizonMs);
        const quantiles = Object.fromEntries(QUANTILES.map((q) => [String(q), fc.quantile(q)]));
        report.forecast = {
          metric: 'runqueue_p99_ms', horizonMs, quantiles, objectiveMs,
          pContention: fc.exceedance(objectiveMs), confidence: fc.confidence,
        };
        risks.push({
          workload: now.workload, selector, objectiveMs, pContention: report.forecast.pContention, confidence: fc.confidence,
          forecastP99Ms: fc.quantile(0.99), observedP99Ms: report.runq.p99Ms,
        });
      }
      if (selector?.class === 'best-effort' && selector.cpu?.throttle && now.workload.cpuDir) {
        donors.push({ workload: now.workload, selector, bounds: selector.cpu.throttle, usedCores: cores });
      }
      reports.push(report);
    }
    this.previous = totals;

    // plan -> actuate (observe decides nothing; recommend decides and writes nothing)
    const decisions = this.mode === 'observe' ? [] : this.planner.decide(nowMs, risks, donors);
    for (const d of decisions) this.apply(d);
    for (const r of reports) r.throttleCores = this.planner.heldCores(r.workload.id);
    const overheadChanges = this.governOverhead(nowMs);
    const cost = this.governor?.report ?? null;

    return {
      atMs: nowMs,
      intervalMs,
      mode: this.mode,
      workloads: reports,
      decisions,
      events,
      overheadChanges,
      health: {
        ticks: this.ticks,
        eventsRead: reading.eventsRead,
        ringDrops: reading.ringDrops,
        statsDrops: reading.statsDrops,
        lastTickSeconds: (performance.now() - started) / 1000,
        probes: {
          sched: {
            eventsRead: reading.eventsRead, ringDrops: reading.ringDrops, statsDrops: reading.statsDrops,
            variant: this.governor?.variant('sched')?.name ?? 'full',
          },
        },
        overhead: cost && {
          budget: cost.budget, total: cost.total, agent: cost.agent, windowMs: cost.windowMs,
          probes: Object.fromEntries(Object.entries(cost.probes).map(([k, v]) => [k, { fraction: v.fraction, eventsPerSecond: v.eventsPerSecond }])),
        },
      },
    };
  }

  /** Gives back every throttle, undoes every write, detaches the probes. Safe to call twice. */
  stop(): Decision[] {
    if (this.stopped) return [];
    this.stopped = true;
    const released = this.planner.releaseAll(Date.now());
    try {
      this.actuator.restoreAll();
    } finally {
      this.source.close();
    }
    return released;
  }

  private apply(d: Decision): void {
    try {
      this.actuator.apply(d);
    } catch (err) {
      this.log(`decision ${d.id} (${d.action} ${d.workload.id}) not applied: ${(err as Error).message}`);
    }
  }

  private forecasterFor(id: string): Forecaster {
    let f = this.forecasters.get(id);
    if (!f) {
      f = createForecaster(this.policy.forecast.model, { halfLifeMs: this.policy.forecast.halfLifeMs });
      this.forecasters.set(id, f);
    }
    return f;
  }

  /** Sums the kernel's per-key figures into per-workload totals. */
  private totals(stats: Map<string, { key: CgroupKey; stats: SchedStats }>): Map<string, Totals> {
    const out = new Map<string, Totals>();
    const selected = new Set<bigint>();
    for (const { key, stats: s } of stats.values()) {
      const workload = this.index.resolve(key);
      if (selectorOf(this.policy.workloads, workload)) selected.add(workload.hierarchy === 'v1-cpu' ? key.cpuCgid : key.cgid);
      let t = out.get(workload.id);
      if (!t) {
        t = { workload, stats: emptyStats(s.runqSlots.length) };
        out.set(workload.id, t);
      }
      addStats(t.stats, s);
    }
    this.selectedIds = selected;
    return out;
  }
}

export function selectorOf(selectors: WorkloadSelector[], w: Workload): WorkloadSelector | undefined {
  return selectors.find((s) => matchesGlob(s.match, w.path));
}
