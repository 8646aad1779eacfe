// The tick, one way through: probes -> workloads -> predict -> plan -> actuate -> report.
// Each stage reads only what the stage before it produced.
import { join } from 'node:path';
import { ProbeSet, type ProbeReading } from './probes/probe-set.js';
import { emptySchedStats, RUNQ_SLOTS, type SchedStats } from './probes/sched.js';
import { emptyFaultStats, type FaultStats } from './probes/fault.js';
import { emptyTcpStats, type TcpStats } from './probes/sock.js';
import {
  ACTIVE_FLOOR, activityOf, addFault, addTcp, delta, ioByWorkload, ioFigures, memoryFigures, netFigures, sumByWorkload, type IoByDevice,
} from './workload-figures.js';
import { percentileMs, subtractSlots } from './probes/log2.js';
import { WorkloadIndex, type WorkloadIndexOptions } from './workloads/index.js';
import { cgroupEmptied, hasOwnProcesses } from './workloads/liveness.js';
import { RunEnds } from './run-ends.js';
import { detectCgroupLayout } from './workloads/layout.js';
import type { CgroupKey, Hierarchy, Workload } from './workloads/types.js';
import { createForecaster, type Forecaster } from './predict/index.js';
import { DemandForecasts, type DemandBounds, type DemandInput, type DemandResource, type LimitSource } from './predict/demand.js';
import { ShardedDemandForecasts } from './predict/demand-shards.js';
import { shownProbability } from './predict/stats.js';
import { CpuRates, LimitCache, memoryLeftByHost, readCgroupCpu, readHostCpuTimes, readHostMemoryAvailable, readOomKills, readUsage } from './workloads/usage.js';
import { cpuLeftByHost, RecentWaits } from './workloads/cpu-left.js';
import type { CgroupLayout } from './workloads/layout.js';
import { cpus, totalmem } from 'node:os';
import { Planner, type DonorInput, type RiskInput } from './plan/planner.js';
import { horizonsOnTicks, matchesGlob } from './plan/policy.js';
import type { Decision, Mode, Policy, WorkloadSelector } from './plan/types.js';
import { Actuator, readCpuLimit, RefusedError, type RestoreReport } from './actuate/index.js';
import type { AgentHealth, KernelEvent, OverheadEvent, TickReport, WorkloadReport } from './report.js';
import { OverheadGovernor, variantsFor } from './probes/overhead.js';
import { filterKey } from './probes/knobs.js';
import { RunFollower } from './run-follower.js';

/** How long a workload whose write was refused (another agent's claim) is left before it is decided on again. */
const REFUSED_HOLD_OFF_MS = 60_000;

export interface AgentOptions {
  policy: Policy;
  mode: Mode;
  /** linked BPF object (build/bpf/headroom.bpf.o) */
  objectPath: string;
  /** journal and verifier logs live here */
  stateDir: string;
  /** the overhead governor's measuring window (ms); default 5000 */
  overheadWindowMs?: number;
  /** follow the runs of new cgroups and record them into the policy's profile store (`run` only) */
  recordRuns?: boolean;
  /** the cgroup index's settings (defaults: WorkloadIndex's) */
  index?: WorkloadIndexOptions;
  /**
   * every cgroup with processes of its own is reported, with its usage (memory), quiet or not
   * (`top --all`); otherwise those the probes heard from and the policy's
   */
  reportAll?: boolean;
  /** the overhead governor's switches said through `log` too (default); `run` prints them itself, from the reports */
  logOverhead?: boolean;
  log?: (msg: string) => void;
}

const QUANTILES = [0.5, 0.9, 0.99];

/** The tighter of a workload's cgroup limit (its own, an ancestor's or its CPU set's) and what the host leaves it, and which one that is. */
function tighter(own: number | null, ownSource: LimitSource | null, host: number | null): { limit: number | null; source: LimitSource | null } {
  if (own !== null && (host === null || own <= host)) return { limit: own, source: ownSource ?? 'cgroup' };
  return host === null ? { limit: null, source: null } : { limit: host, source: 'host' };
}

function addStats(into: SchedStats, s: SchedStats): void {
  for (let i = 0; i < s.runqSlots.length; i++) into.runqSlots[i] += s.runqSlots[i];
  into.runqCount += s.runqCount;
  into.runqSumNs += s.runqSumNs;
  into.oncpuNs += s.oncpuNs;
  into.nvcsw += s.nvcsw;
  into.nivcsw += s.nivcsw;
}

/** Said with a switch to a probe kept to the policy's workloads: what the others lose meanwhile. */
function filteredNote(probe: string): string {
  return `; meanwhile the other workloads' figures from it are unknown (null, "-" in the table, no series) and not forecast${probe === 'sched' ? ', but for the CPU of a cgroup with no child cgroup whose CPU time can be read (cpu.stat, or cpuacct.usage at its v1 cpu path; "*" in the table); task runs in the others are followed without their CPU; a new cgroup is found at the next walk of the cgroup trees (every 10 ticks)' : ''}`;
}

/** Per probe: whether it counts only the policy's workloads (the governor's filter). */
interface FilteredProbes { sched: boolean; fault: boolean; blockio: boolean; sock: boolean }
/** Whether the probes named a workload's path this tick (as the v1 cpu cgroup or the cgroup2 one). */
function namedByProbes(seen: ReadonlySet<string>, w: Workload): boolean {
  return seen.has(`v2:${w.path}`) || seen.has(`v1-cpu:${w.path}`);
}

const NO_WORKLOADS: ReadonlyMap<string, Workload> = new Map();
const NOTHING_SEEN: ReadonlySet<string> = new Set();
/** Readings in a row at 0 after which a leaf's CPU time is read at the walks of the trees alone (countedOutside). */
const COUNTER_IDLE_READINGS = 3;
/** countedOutside's answer where the sched probe counts every workload (shared, never written) */
const NOT_COUNTED: { cores: ReadonlyMap<string, number>; busy: ReadonlyMap<string, Workload> } = Object.freeze({ cores: new Map(), busy: NO_WORKLOADS });
const NONE_FILTERED: FilteredProbes = Object.freeze({ sched: false, fault: false, blockio: false, sock: false });

/** The sched figures of a workload the probe saw nothing of (shared, never written). */
const NO_SCHED: SchedStats = Object.freeze({ ...emptySchedStats(), runqSlots: Object.freeze(new Array<number>(RUNQ_SLOTS).fill(0)) as number[] });

/** A workload's run-queue waits this tick, per slot: one scratch array, read at once (the tick allocated one per workload). */
const tickSlots: number[] = new Array<number>(RUNQ_SLOTS).fill(0);

/** The figures of a workload the probe saw nothing of (shared, never written). */
const ZERO = Object.freeze({
  memory: Object.freeze(memoryFigures(emptyFaultStats(), undefined, 1000)),
  io: Object.freeze(ioFigures(new Map(), undefined, 1000)),
  net: Object.freeze(netFigures(emptyTcpStats(), undefined, 1000)),
});

/** Kernel events kept per kind and tick: the rest are counted (health), not listed. */
const EVENTS_PER_KIND = 100;
/** Ticks between two counts of the host's CPUs (hostCpuCount). */
const HOST_CPUS_RECOUNT = 60;

/** A reading's counters without its events (a snapshot keeps them a tick, to name them again). */
function countersOf(r: ProbeReading): ProbeReading {
  return {
    sched: { ...r.sched, slowWakeups: [] },
    fault: r.fault && { ...r.fault, oomKills: [] },
    blockio: r.blockio && { ...r.blockio, slowIos: [] },
    sock: r.sock && { ...r.sock, closes: [], retransmits: [] },
  };
}

/** Each probe's per-workload cumulative figures at one tick. */
type RateProbe = 'sched' | 'fault' | 'io' | 'net';

interface Snapshot {
  /** when each probe's stats were read (monotonic ms; NaN: not read, the probe off, or before the first) */
  readMs: Record<RateProbe, number>;
  sched: Map<string, { workload: Workload; stats: SchedStats }>;
  /** the probes' counters per cgroup key, as read (not their events), and the index's walks then: to name them again after a walk (see named) */
  reading: ProbeReading | null;
  generation: number;
  fault: Map<string, { workload: Workload; stats: FaultStats }>;
  io: Map<string, { workload: Workload; stats: IoByDevice }>;
  net: Map<string, { workload: Workload; stats: TcpStats }>;
}

/**
 * A workload busy (over ACTIVE_FLOOR) within this long is forecast still, however quiet this
 * tick: its memory and demand series stay, and its forecasts learn from its quiet ticks too.
 */
const DEMAND_HOLD_MS = 600_000;

export class Agent {
  readonly policy: Policy;
  readonly mode: Mode;
  private readonly source: ProbeSet;
  private readonly index: WorkloadIndex;
  private readonly planner: Planner;
  private readonly actuator: Actuator;
  private readonly forecasters = new Map<string, Forecaster>();
  private readonly demand: DemandForecasts | ShardedDemandForecasts;
  private readonly layout: CgroupLayout;
  private readonly governor: OverheadGovernor | null;
  private readonly runs: RunFollower | null;
  private hostCpu: { busy: number; total: number } | null = null;
  /** the host's CPUs as last counted (0: not yet; hostCpuCount) */
  private hostCpus = 0;
  /** with the fault probe off: each forecast workload's memory cgroup OOM-kill count at the last tick (oomKilled; only those forecast then) */
  private oomCounts = new Map<string, number>();
  /** when each workload was last busy (over ACTIVE_FLOOR): its demand is forecast for DEMAND_HOLD_MS after */
  private readonly lastBusyMs = new Map<string, number>();
  /** each forecast workload's run-queue wait, smoothed: whether the others hold its CPU back (cpuLeftByHost) */
  private readonly waits = new RecentWaits();
  /** the forecast workloads whose runs ended (their cgroups emptied): forecast afresh */
  private readonly runEnds = new RunEnds((w) => cgroupEmptied(this.layout, w));
  /** the limit files of the workloads' cgroups, their ancestors and CPU sets (read again within 10 s, and after the agent's own writes) */
  private readonly limitCache = new LimitCache();
  /** the CPU time of ancestors with a quota, and of their workloads: what the siblings leave */
  private readonly cpuRates = new CpuRates();
  /**
   * filter keys of the cgroups the policy selects (the governor's filter keeps those), from the
   * cgroup index, not from the ids the probes counted: a filtered probe counts no event of a
   * cgroup outside the filter, so one that starts (or restarts) after the switch would never
   * enter it. It enters at the next walk of the trees (at most 10 ticks after it appears).
   */
  private selectedIds = new Set<bigint>();
  /** the workload ids of selectedIds, and of the ids last written to a probe's filter: the workloads a filtered probe counts */
  private selectedWorkloads = new Set<string>();
  private filterWorkloads = new Set<string>();
  /** the index's generation selectedIds was taken at */
  private selectedAt = -1;
  /** the policy's workloads the index knows, by id, and the generation they were taken at (quietSelected) */
  private selectedKnown = new Map<string, Workload>();
  private selectedKnownAt = -1;
  /** cgroups a task run may start in or is on, that the index found while the sched probe was filtered, and the generation they were taken at (quietRuns) */
  private runCgroups: Workload[] = [];
  private runCgroupsAt = -1;
  /**
   * cgroups whose CPU time readCgroupCpu reads and that have no child cgroup, by id, with how many
   * readings in a row found them idle, and the generation they were taken at (countedOutside)
   */
  private counterLeaves = new Map<string, { workload: Workload; idle: number }>();
  private counterLeavesAt = -1;
  /** countedOutside's answer, cleared and filled again at each tick the sched probe is filtered */
  private readonly countedCores = new Map<string, number>();
  private readonly countedBusy = new Map<string, Workload>();
  /** whether the sched probe was filtered at the last tick (quietRuns) */
  private runCgroupsFiltered = false;
  /** whether the policy's workloads that match no cgroup have been said (once, at the first walk) */
  private saidUnmatched = false;
  /**
   * The snapshot before the last (and its reading), which nothing holds any more: the next
   * reading and sums overwrite its objects rather than make their own (null: none, or taken).
   */
  private spare: Snapshot | null = null;
  private previous: Snapshot = {
    readMs: { sched: Number.NaN, fault: Number.NaN, io: Number.NaN, net: Number.NaN }, sched: new Map(), reading: null, generation: -1, fault: new Map(), io: new Map(), net: new Map(),
  };
  private lastTickMs = 0;
  private ticks = 0;
  private stopped = false;
  private restoredAtStop: RestoreReport | undefined;
  private readonly log: (msg: string) => void;
  private readonly reportAll: boolean;
  /** whether ids never found by a walk were said (WorkloadIndex.neverFound) */
  private saidNeverFound = false;
  private readonly logOverhead: boolean;

  private constructor(opts: AgentOptions, source: ProbeSet, index: WorkloadIndex, actuator: Actuator) {
    this.log = opts.log ?? (() => {});
    this.reportAll = opts.reportAll === true;
    this.logOverhead = opts.logOverhead !== false;
    // (a command's --interval may leave a horizon between ticks: it is forecast on whole ticks, and said)
    const { policy, notes } = horizonsOnTicks(opts.policy);
    for (const n of notes) this.log(n);
    this.policy = policy;
    this.mode = opts.mode;
    this.source = source;
    this.index = index;
    this.actuator = actuator;
    this.planner = new Planner(policy);
    this.layout = index.layout;
    const fc = policy.forecast;
    const canFilter = policy.workloads.length > 0;
    // The fault probe samples in perf (its sample period), the others in their programs. The
    // planner's objectives read run-queue latency: sched never samples the selected workloads.
    const objectives = policy.workloads.some((w) => w.objectives?.runqueueP99Ms !== undefined);
    const probes = Object.fromEntries(Object.keys(source.tunables).map((p) =>
      [p, variantsFor({ canFilter, sampledAtSource: p === 'fault', exactForSelected: p === 'sched' && objectives })]));
    this.governor = source.costUnavailable ? null : new OverheadGovernor({ budget: policy.probes.overheadBudget, probes, windowMs: opts.overheadWindowMs });
    if (source.costUnavailable) this.log(`overhead control off: ${source.costUnavailable}`);
    this.runs = opts.recordRuns && policy.profiles.enabled ? RunFollower.open(policy.profiles, index, this.log, source.sched) : null;
    // last: its worker threads (if any) start only once nothing else here can fail
    const demandOpts = { model: fc.demandModel, halfLifeMs: fc.demandHalfLifeMs, horizonsMs: fc.horizonsMs, stepMs: policy.tickMs };
    // a worker lost (dead or stuck) is said, and the forecasts go on in new workers (at most 3 times an hour), then in this thread
    const onWorkerLost = (why: string): void => this.log(`demand forecasts: ${why}`);
    this.demand = fc.demandWorkers > 0 ? new ShardedDemandForecasts({ ...demandOpts, workers: fc.demandWorkers, onWorkerLost }) : new DemandForecasts(demandOpts);
  }

  /** Ticks the governor; applies and returns its switches (they go out as events). */
  private governOverhead(nowMs: number): OverheadEvent[] {
    if (!this.governor) return [];
    const reselected = this.selectFromIndex(); // (after this tick's lookups, which may have walked the trees)
    const cpu = process.cpuUsage();
    const changes = this.governor.observe(nowMs, this.source.counters(), (cpu.user + cpu.system) * 1000);
    for (const c of changes) {
      const probe = this.source.tunables[c.probe];
      if (c.knobs.filter) this.setFilter(probe);
      probe.setKnobs(c.knobs);
      if (this.logOverhead) this.log(`overhead: ${c.reason}${c.knobs.filter ? filteredNote(c.probe) : ''}`);
      // (the others' CPU time read once now, all of it: a rate needs two readings, and the next
      // tick has the second; the idle ones of a filter before read again)
      if (c.probe === 'sched' && c.knobs.filter) {
        this.counterLeavesAt = -1;
        this.countedOutside(NOTHING_SEEN);
      }
    }
    // A probe kept to the policy's workloads follows them as their cgroups come and go.
    if (reselected) {
      for (const [name, probe] of Object.entries(this.source.tunables)) {
        if (this.governor.variant(name)?.knobs.filter) this.setFilter(probe);
      }
    }
    return changes.map(({ atMs, probe, from, to, reason }) => ({ atMs, probe, from, to, reason }));
  }

  /** Loads the probes and takes the first reading (the baseline the first tick subtracts). */
  static start(opts: AgentOptions): Agent {
    const layout = detectCgroupLayout();
    const index = new WorkloadIndex(layout, opts.index);
    index.refresh();
    const selectors = opts.policy.workloads;
    const actuator = new Actuator({
      mode: opts.mode,
      journalPath: join(opts.stateDir, 'journal.jsonl'),
      allow: (w) => selectorOf(selectors, w)?.class === 'best-effort' && !!selectorOf(selectors, w)?.cpu?.throttle,
    });
    const probes = opts.policy.probes;
    const readV1Cpu = layout.kind === 'hybrid';
    const source = ProbeSet.open({
      objectPath: opts.objectPath,
      verifierLogPath: join(opts.stateDir, 'verifier.log'),
      sched: { slowWakeupMs: probes.sched.slowWakeupMs, readV1Cpu, ringBytes: probes.sched.ringBytes },
      fault: probes.fault.enabled ? { readV1Cpu, ringBytes: probes.fault.ringBytes } : null,
      blockio: probes.blockio.enabled ? { readV1Cpu, slowIoMs: probes.blockio.slowIoMs, ringBytes: probes.blockio.ringBytes } : null,
      sock: probes.sock.enabled ? { readV1Cpu, ringBytes: probes.sock.ringBytes } : null,
    });
    let agent: Agent | undefined;
    try {
      agent = new Agent(opts, source, index, actuator);
      agent.previous = agent.named(source.read(), agent.previous).now;
      agent.lastTickMs = Date.now();
      return agent;
    } catch (err) {
      try {
        source.close(); // nothing stays attached behind a failed start
      } finally {
        agent?.closeDemand();
      }
      throw err;
    }
  }

  get programs(): string[] {
    return this.source.programs;
  }

  /** Whether task runs are recorded (asked for, and their profile store opened). */
  /** What the stop put back (enforce: its journal's originals), once stopped. */
  get restoreReport(): RestoreReport | undefined {
    return this.restoredAtStop;
  }

  /** The journal of its writes (enforce mode). */
  get journalPath(): string {
    return this.actuator.journalPath;
  }

  get recordsRuns(): boolean {
    return this.runs !== null;
  }

  tick(): TickReport {
    const started = performance.now();
    const nowMs = Date.now();
    const intervalMs = Math.max(1, nowMs - this.lastTickMs);
    this.lastTickMs = nowMs;
    this.ticks++;

    // probes -> workloads
    // New cgroups are also found when an unknown id shows up (WorkloadIndex, rate-limited).
    if (this.ticks % 10 === 0) this.index.refresh();
    const spare = this.spare;
    this.spare = null;
    const reading = this.source.read(spare?.reading);
    const before = this.previous;
    const { now, events, named: was } = this.named(reading, before, spare);
    // Rates are over the time between a probe's two readings, not between the ticks' starts:
    // what runs before a reading (the index's refresh every 10th tick, the rings drained before
    // it, a busy host's preemption) moves it later in one tick than in the next.
    const over = (p: RateProbe): number => {
      const a = before.readMs[p], b = now.readMs[p];
      return Number.isFinite(a) && b > a ? b - a : intervalMs;
    };
    const rateMs = { sched: over('sched'), fault: over('fault'), io: over('io'), net: over('net') };
    // (added map by map: spreading them made an array of every id, four times, each tick)
    // (forEach and an index, not for-of: see EachOf in workload-figures.ts)
    // (the ids in the order first seen, the set to see them once)
    const ids = new Set<string>();
    const order: string[] = [];
    const take = (_: unknown, id: string): void => {
      if (ids.has(id)) return;
      ids.add(id);
      order.push(id);
    };
    for (const m of [now.sched, now.fault, now.io, now.net]) m.forEach(take);
    // the policy's workloads none of whose tasks has run since the probes started (a process
    // asleep on its memory) are reported too: they were missing from every report
    const quiet = this.quietSelected(ids);
    quiet.forEach(take);
    // A probe the governor keeps to the policy's workloads counts nothing of the others: their
    // figures from it are unknown (null or absent), not 0, and are not forecast. (Those in its
    // filter: a selected cgroup made since is out of it until the next walk of the trees.)
    const filtered = this.filteredProbes();
    // ...and a job's cgroup made meanwhile would reach no report: its run reported all the same
    const quietRuns = this.quietRuns(ids, filtered.sched);
    quietRuns.forEach(take);
    // ...and the others' CPU is read from their cgroups' counters: a busy one started since is reported
    const outside = filtered.sched ? this.countedOutside(ids) : NOT_COUNTED;
    outside.busy.forEach(take);

    const reports: WorkloadReport[] = [];
    const risks: RiskInput[] = [];
    const donors: DonorInput[] = [];
    for (let i = 0; i < order.length; i++) {
      const id = order[i]!;
      const workload = (now.sched.get(id) ?? now.fault.get(id) ?? now.io.get(id) ?? now.net.get(id))?.workload ?? quiet.get(id) ?? quietRuns.get(id) ?? outside.busy.get(id)!;
      const selector = selectorOf(this.policy.workloads, workload);
      const unseen = this.filterWorkloads.has(id) ? NONE_FILTERED : filtered;
      const sched = now.sched.get(id)?.stats ?? NO_SCHED;
      const schedWas = was.sched.get(id)?.stats;
      subtractSlots(sched.runqSlots, schedWas?.runqSlots, tickSlots);
      const counted = unseen.sched ? outside.cores.get(id) : undefined;
      const cores = unseen.sched ? counted ?? null : delta(sched.oncpuNs, schedWas?.oncpuNs) / 1e6 / rateMs.sched;
      const switches = delta(sched.nvcsw, schedWas?.nvcsw) + delta(sched.nivcsw, schedWas?.nivcsw);
      const report: WorkloadReport = {
        workload,
        cpu: counted === undefined ? { seconds: sched.oncpuNs / 1e9, cores } : { seconds: sched.oncpuNs / 1e9, cores, counter: true },
        runq: {
          slots: sched.runqSlots,
          count: sched.runqCount,
          sumSeconds: sched.runqSumNs / 1e9,
          waitPerSecond: unseen.sched ? null : delta(sched.runqSumNs, schedWas?.runqSumNs) / 1e6 / rateMs.sched,
          waitsPerSecond: unseen.sched ? null : (delta(sched.runqCount, schedWas?.runqCount) * 1000) / rateMs.sched,
          p50Ms: unseen.sched ? null : percentileMs(tickSlots, 0.5),
          p99Ms: unseen.sched ? null : percentileMs(tickSlots, 0.99),
        },
        switches: { voluntary: sched.nvcsw, involuntary: sched.nivcsw, perSecond: unseen.sched ? null : (switches * 1000) / rateMs.sched },
      };
      // Most workloads of a large host fault, do I/O or talk TCP rarely: they share one zero
      // figure (read-only) instead of allocating their own each tick.
      if (reading.fault && !unseen.fault) {
        const f = now.fault.get(id)?.stats;
        report.memory = f ? memoryFigures(f, was.fault.get(id)?.stats, rateMs.fault) : ZERO.memory;
      }
      if (reading.blockio && !unseen.blockio) {
        const io = now.io.get(id)?.stats;
        report.io = io ? ioFigures(io, was.io.get(id)?.stats, rateMs.io) : ZERO.io;
      }
      if (reading.sock && !unseen.sock) {
        const n = now.net.get(id)?.stats;
        report.net = n ? netFigures(n, was.net.get(id)?.stats, rateMs.net) : ZERO.net;
      }

      // predict (only where the policy states an objective)
      const objectiveMs = selector?.class === 'critical' ? selector.objectives?.runqueueP99Ms : undefined;
      if (selector && objectiveMs !== undefined) {
        const f = this.forecasterFor(id);
        if (report.runq.p99Ms !== null) f.update(report.runq.p99Ms, nowMs);
        const horizonMs = this.policy.rules.protectLatency.horizonMs;
        const fc = f.forecast(horizonMs);
        const quantiles = Object.fromEntries(QUANTILES.map((q) => [String(q), fc.quantile(q)]));
        report.forecast = {
          metric: 'runqueue_p99_ms', horizonMs, quantiles, objectiveMs,
          pContention: shownProbability(fc.exceedance(objectiveMs)), confidence: fc.confidence,
        };
        risks.push({
          workload, selector, objectiveMs, pContention: report.forecast.pContention, confidence: fc.confidence,
          forecastP99Ms: fc.quantile(0.99), observedP99Ms: report.runq.p99Ms,
        });
      }
      if (selector?.class === 'best-effort' && selector.cpu?.throttle && workload.cpuDir) {
        const dir = workload.cpuDir;
        donors.push({ workload, selector, bounds: selector.cpu.throttle, usedCores: cores ?? 0, ownLimitCores: () => ownCpuLimit(dir) });
      }
      reports.push(report);
    }
    // Reports hold the figures of this reading (runq.slots), the one before's are no longer read:
    // they are overwritten by the next tick's.
    this.previous = now;
    this.spare = before;

    // nothing kept of the cgroups that went: one made again at the same path has its own limits
    const departed = this.index.takeDeparted();
    if (departed.all) this.limitCache.forget();
    else for (const c of departed.cgroups) this.limitCache.forgetCgroup(this.layout, c.hierarchy, c.path);
    // (one made again at the same path, a timer's service, is a new cgroup to the task runs: seen
    // at the next walk while the sched probe is filtered, quietRuns)
    if (this.runs && !departed.all && departed.cgroups.length > 0) {
      this.runs.forget(departed.cgroups.map((c) => `${c.hierarchy}:${c.path}`));
      this.runCgroupsAt = -1;
    }
    this.forecastDemand(reports, nowMs, intervalMs);
    if (this.reportAll) this.readUsageOfRest(reports);
    if (this.index.neverFound > 0 && !this.saidNeverFound) {
      // (once: where the agent cannot see the probes' cgroups, a cgroup namespace, every workload goes this way)
      this.saidNeverFound = true;
      this.log('cgroup ids the probes reported that no walk of the cgroup trees found for as long as a removed cgroup\'s name is kept (made and removed between two walks, or outside the cgroup trees this agent sees) are left out of the reports; said once');
    }
    const runs = this.runs ? this.runs.follow(reports, nowMs, this.policy.forecast.horizonsMs) : [];

    // plan -> actuate (observe decides nothing; recommend decides and writes nothing)
    const decisions = this.mode === 'observe' ? [] : this.planner.decide(nowMs, risks, donors);
    for (const d of decisions) this.apply(d);
    for (let i = 0; i < reports.length; i++) reports[i]!.throttleCores = this.planner.heldCores(reports[i]!.workload.id);
    const overheadChanges = this.governOverhead(nowMs);
    const cost = this.governor?.report ?? null;

    return {
      atMs: nowMs,
      intervalMs,
      mode: this.mode,
      workloads: reports,
      decisions,
      events,
      runs,
      overheadChanges,
      health: {
        ticks: this.ticks,
        ...this.probeHealth(reading),
        lastTickSeconds: (performance.now() - started) / 1000,
        demandWorkerLosses: this.demand instanceof ShardedDemandForecasts ? this.demand.losses : 0,
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
      this.restoredAtStop = this.actuator.restoreAll();
    } finally {
      try {
        this.source.close();
      } finally {
        this.closeDemand();
      }
    }
    return released;
  }

  /** Stops the demand forecasts' worker threads, if any. */
  private closeDemand(): void {
    if (this.demand instanceof ShardedDemandForecasts) void this.demand.close();
  }

  private apply(d: Decision): void {
    try {
      this.actuator.apply(d);
    } catch (err) {
      d.notApplied = (err as Error).message;
      // (a refusal lasts: another agent's claim on the cgroup; a failed write is tried again next tick)
      this.planner.notApplied(d, err instanceof RefusedError ? REFUSED_HOLD_OFF_MS : 0);
      this.log(`decision ${d.id} (${d.action} ${d.workload.id}) not applied: ${d.notApplied}`);
    } finally {
      // the limit it wrote (or half wrote) is read afresh next tick, here and below
      if (d.workload.cpuDir !== null) this.limitCache.forget(d.workload.cpuDir);
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

  /**
   * Demand forecasts for the policy's workloads and the busiest others (forecast.demand_workloads in all):
   * CPU against the workload's quota (or the host's CPUs), memory against its limit, I/O bytes/s
   * and operations/s, network bytes/s (no limit known: quantiles and saturation-free).
   */
  private forecastDemand(reports: WorkloadReport[], nowMs: number, intervalMs: number): void {
    // each workload's rank computed once: the policy's first, then by activity of any kind; one
    // on a task run its profile knows is forecast however idle (that may know of a peak to come)
    // (ranks in typed arrays: an object per workload, each tick, beside 1000 of them, was a
    // tenth of what the tick allocated)
    const rank = new Float64Array(reports.length);
    const chosen = new Uint8Array(reports.length);
    const candidates: number[] = [];
    for (let i = 0; i < reports.length; i++) {
      const r = reports[i]!;
      const selected = selectorOf(this.policy.workloads, r.workload) !== undefined;
      const busy = activityOf(r);
      // (busy a while ago is busy still: a job that works half a second in three, its memory
      // held between, had its memory and demand series in 37 scrapes of 86 and its forecasts
      // learnt from its busy ticks alone, the quiet ones holes; a walkthrough)
      if (busy > ACTIVE_FLOOR) this.lastBusyMs.set(r.workload.id, nowMs);
      const held = nowMs - (this.lastBusyMs.get(r.workload.id) ?? Number.NEGATIVE_INFINITY) < DEMAND_HOLD_MS;
      if (!(selected || held || this.runs?.forecastsDemand(r.workload.id))) continue;
      chosen[i] = selected ? 1 : 0;
      rank[i] = busy;
      candidates.push(i);
    }
    candidates.sort((a, b) => chosen[b]! - chosen[a]! || rank[b]! - rank[a]!);
    const picked = candidates.slice(0, this.policy.forecast.demandWorkloads).map((i) => ({ r: reports[i]!, selected: chosen[i] === 1 }));
    // What a workload may use is the tighter of its own limit and what the host leaves it: the
    // host's CPUs less what everything else used in the tick (from /proc/stat, so it holds
    // when a probe is filtered; all of them where the host is full but the workload hardly
    // waited to run: cpuLeftByHost), and the memory it holds plus the host's MemAvailable, less its
    // own page cache (MemAvailable counts that already).
    const hostCores = this.hostCpuCount();
    const hostMemory = totalmem();
    const busyCores = this.hostBusyCores(hostCores, reports);
    const memAvailable = picked.length > 0 ? readHostMemoryAvailable() : null;
    // what one run-queue wait the sched probe counted weighs (2^n at 1 in 2^n)
    const waitWeight = 2 ** (this.governor?.variant('sched')?.knobs.sampleShift ?? 0);
    // the tick's samples first, then their forecasts at once (over worker threads when the policy says so)
    const inputs: DemandInput[] = [];
    const owners: WorkloadReport[] = [];
    const oomCounts = new Map<string, number>();
    // a run that ended: its forecasts start afresh (DemandInput.emptied; run-ends.ts)
    // (one whose CPU neither the probe nor its cgroup's CPU time gives is watched as an idle one: its cgroup's emptying is
    // read from the cgroup, and its memory, still forecast, starts afresh when it empties)
    const ended = this.runEnds.tick(picked.map(({ r }) => ({ workload: r.workload, cores: r.cpu.cores ?? 0 })));
    const add = (r: WorkloadReport, selected: boolean, resource: DemandResource, value: number, bounds?: DemandBounds, oomKilled?: boolean): void => {
      inputs.push({ workload: r.workload.id, resource, value, bounds, selected, oomKilled, emptied: ended.has(r.workload.id) });
      owners.push(r);
    };
    for (const { r, selected } of picked) {
      const usage = readUsage(this.layout, r.workload, hostCores, this.limitCache, this.cpuRates);
      r.usage = usage;
      r.demand = {};
      if (r.cpu.cores !== null && r.runq.waitPerSecond !== null && r.runq.waitsPerSecond !== null && r.switches.perSecond !== null) {
        // (the waits counted in the tick, each as one: a tick's worth of them, over what one weighs)
        const waitsSampled = (r.runq.waitsPerSecond * intervalMs) / 1000 / waitWeight;
        const tick = { waitPerSecond: r.runq.waitPerSecond, waitsPerSecond: r.runq.waitsPerSecond, switchesPerSecond: r.switches.perSecond, cores: r.cpu.cores, waitsSampled };
        const waited = this.waits.waited(r.workload.id, tick, nowMs);
        const host = cpuLeftByHost(r.cpu.cores, waited, hostCores, busyCores);
        const cpu = tighter(usage.cpuLimitCores, usage.cpuLimitSource, host.cores);
        // held at what the others leave it now: its contention certain while the host stays full (DemandBounds.held)
        const held = cpu.source === 'host' && host.held;
        // the ceilings: what its cgroup's and its ancestors' quotas, CPU set or memory limits, and the
        // host, let it read at most (as set: not what the others leave it, which moves every tick)
        const cpuCeiling = Math.min(usage.cpuCeilingCores ?? hostCores, hostCores);
        add(r, selected, 'cpu_cores', r.cpu.cores, { limit: cpu.limit, limitSource: cpu.source, ceiling: cpuCeiling, held });
      }
      if (usage.memoryBytes !== null) {
        const mem = tighter(usage.memoryLimitBytes, usage.memoryLimitSource, memoryLeftByHost(usage, memAvailable));
        const memCeiling = Math.min(usage.memoryCeilingBytes ?? hostMemory, hostMemory);
        // a kill that empties it ends the run that climbed to it: its memory is forecast afresh (DemandInput.oomKilled)
        add(r, selected, 'memory_bytes', usage.memoryBytes, { limit: mem.limit, limitSource: mem.source, ceiling: memCeiling }, this.oomKilled(r, oomCounts));
      }
      if (r.io) {
        add(r, selected, 'io_bytes_per_s', r.io.readBytesPerSecond + r.io.writeBytesPerSecond);
        // operations too: a disk saturates on IOPS long before bytes when the I/Os are small
        add(r, selected, 'io_ops_per_s', r.io.opsPerSecond);
      }
      if (r.net) add(r, selected, 'net_bytes_per_s', r.net.txBytesPerSecond + r.net.rxBytesPerSecond);
    }
    this.oomCounts = oomCounts;
    this.waits.keepOnly(nowMs);
    const forecasts = this.demand.observeAll(inputs, nowMs);
    for (let i = 0; i < forecasts.length; i++) owners[i]!.demand![inputs[i]!.resource] = forecasts[i]!;
    if (this.ticks % 60 === 0) {
      this.demand.sweep(nowMs);
      for (const [id, at] of this.lastBusyMs) if (nowMs - at >= DEMAND_HOLD_MS) this.lastBusyMs.delete(id);
    }
  }

  /**
   * Whether the workload had an OOM kill since the last tick: the fault probe's count, or with
   * that probe off its memory cgroup's own counter (memory.events, memory.oom_control), read only
   * for the workloads forecast.
   */
  private oomKilled(r: WorkloadReport, counts: Map<string, number>): boolean {
    if (r.memory !== undefined) return r.memory.oomKillsPerSecond > 0;
    const now = readOomKills(this.layout, r.workload);
    if (now === null) return false;
    counts.set(r.workload.id, now);
    const before = this.oomCounts.get(r.workload.id);
    return before !== undefined && now > before;
  }

  /**
   * The host's CPUs (os.cpus()), counted again every HOST_CPUS_RECOUNT ticks: os.cpus() reads
   * /proc/cpuinfo and each CPU's times, half a millisecond a tick for a count that changes only
   * when a CPU is brought on or off line.
   */
  private hostCpuCount(): number {
    if (this.hostCpus === 0 || this.ticks % HOST_CPUS_RECOUNT === 0) this.hostCpus = cpus().length;
    return this.hostCpus;
  }

  /** Cores the whole host used since the last tick (/proc/stat); the workloads' sum until two readings exist. */
  private hostBusyCores(hostCores: number, reports: readonly WorkloadReport[]): number {
    const now = readHostCpuTimes();
    const before = this.hostCpu;
    this.hostCpu = now;
    if (now && before && now.total > before.total) return (hostCores * (now.busy - before.busy)) / (now.total - before.total);
    let sum = 0;
    for (const r of reports) sum += r.cpu.cores ?? 0;
    return sum;
  }

  /**
   * The reading summed per workload, its events, and the last reading's figures, every id of
   * them named by one state of the index. A lookup of an id the index does not know walks the
   * trees, and a walk can rename an id looked up before it (a departed cgroup's name is kept
   * 120 s, then expires): a walk in the middle named a departed cgroup's id on one side of the
   * tick and not on the other, and its whole CPU so far read as one tick's (7.84 cores on 2 CPUs,
   * and a run begun for it: a walkthrough). So when any of them walked (the sums, an event's
   * cgroup, the last reading's ids named again), all are taken again; lookups are rate-limited,
   * so the second pass walks no more.
   */
  private named(r: ProbeReading, before: Snapshot, spare: Snapshot | null = null): { now: Snapshot; events: KernelEvent[]; named: Snapshot } {
    for (let pass = 0; ; pass++) {
      const generation = this.index.generation;
      const now = this.sums(r, spare);
      const events = this.events(r);
      // The last reading named again where the index walked since: a cgroup it could not name
      // (newer than the walk) and named now, or a departed one whose kept name expired, is taken
      // under one name on both sides. Else its first tick so named counted all it did so far as
      // one tick's: its CPU (1.96 cores for one thread: a walkthrough), and its faults, I/O and
      // TCP bytes (every departed job's faults read again under its id: a kernel test)
      const named = before.reading && before.generation !== generation ? this.sums(before.reading) : before;
      if (this.index.generation === generation || pass === 2) {
        now.generation = this.index.generation;
        now.reading = countersOf(r);
        return { now, events, named };
      }
    }
  }

  /** Each probe's per-key counters summed into per-workload ones (`reuse`: a snapshot nothing holds, its entries taken again). */
  private sums(r: ProbeReading, reuse: Snapshot | null = null): Snapshot {
    const resolve = (k: CgroupKey): Workload => this.index.resolve(k);
    return {
      readMs: {
        sched: Number(r.sched.atNs) / 1e6,
        fault: r.fault ? Number(r.fault.atNs) / 1e6 : Number.NaN,
        io: r.blockio ? Number(r.blockio.atNs) / 1e6 : Number.NaN,
        net: r.sock ? Number(r.sock.atNs) / 1e6 : Number.NaN,
      },
      sched: sumByWorkload(r.sched.stats, resolve, emptySchedStats, addStats, reuse?.sched),
      // (set by named, once: a reading named again keeps none)
      reading: null,
      generation: this.index.generation,
      fault: r.fault ? sumByWorkload(r.fault.stats, resolve, emptyFaultStats, addFault, reuse?.fault) : new Map(),
      io: r.blockio ? ioByWorkload(r.blockio.stats.values(), resolve) : new Map(),
      net: r.sock ? sumByWorkload(r.sock.stats, resolve, emptyTcpStats, addTcp) : new Map(),
    };
  }

  /** The discrete events of this tick, attributed; the newest EVENTS_PER_KIND of each kind. */
  private events(r: ProbeReading): KernelEvent[] {
    const at = (k: CgroupKey): { id: string; path: string } => {
      const w = this.index.resolve(k);
      return { id: w.id, path: w.path };
    };
    const last = <T>(list: T[] | undefined): T[] => (list ?? []).slice(-EVENTS_PER_KIND);
    const tuple = (t: { saddr: string; sport: number; daddr: string; dport: number }) =>
      ({ local: `${t.saddr}:${t.sport}`, remote: `${t.daddr}:${t.dport}` });
    return [
      ...last(r.fault?.oomKills).map((e): KernelEvent => ({
        kind: 'oom_kill', workload: at(e.key), pid: e.pid, comm: e.comm,
        detail: { rssPages: e.rssPages, totalVmPages: e.totalVmPages, memCgroupId: e.memCgid.toString() },
      })),
      ...last(r.sched.slowWakeups).map((e): KernelEvent => ({
        kind: 'slow_wakeup', workload: at(e.key), pid: e.pid, comm: e.comm, detail: { delayMs: e.delayNs / 1e6 },
      })),
      ...last(r.blockio?.slowIos).map((e): KernelEvent => ({
        kind: 'slow_io', workload: at(e.key), pid: e.pid,
        detail: { latencyMs: e.latencyNs / 1e6, device: `${e.dev >>> 20}:${e.dev & 0xfffff}`, op: e.op, bytes: e.bytes, sector: e.sector.toString() },
      })),
      ...last(r.sock?.closes).map((e): KernelEvent => ({
        kind: 'tcp_close', workload: at(e.key), pid: e.pid, comm: e.comm,
        detail: { ...tuple(e.tuple), txBytes: e.txBytes, rxBytes: e.rxBytes, durationMs: e.durationNs / 1e6, srttMs: e.srttUs / 1000 },
      })),
      ...last(r.sock?.retransmits).map((e): KernelEvent => ({
        kind: 'tcp_retransmit', workload: at(e.key), pid: e.pid, detail: { ...tuple(e.tuple), state: e.tuple.state, segs: e.segs },
      })),
    ];
  }

  private probeHealth(r: ProbeReading): Pick<AgentHealth, 'eventsRead' | 'ringDrops' | 'statsDrops' | 'missedRuns' | 'probes'> {
    const out: Pick<AgentHealth, 'eventsRead' | 'ringDrops' | 'statsDrops' | 'missedRuns' | 'probes'> = { eventsRead: 0, ringDrops: 0, statsDrops: 0, missedRuns: 0, probes: {} };
    for (const [name, p] of Object.entries(r) as [string, ProbeReading[keyof ProbeReading]][]) {
      if (!p) continue;
      out.probes[name] = {
        eventsRead: p.eventsRead, ringDrops: p.ringDrops, statsDrops: p.statsDrops, missedRuns: p.missedRuns,
        variant: this.governor?.variant(name)?.name ?? 'full',
      };
      out.eventsRead += p.eventsRead;
      out.ringDrops += p.ringDrops;
      out.statsDrops += p.statsDrops;
      out.missedRuns += p.missedRuns;
    }
    return out;
  }

  /**
   * The policy's workloads the index knows that no probe has seen (not among `seen`), by id;
   * retaken after each walk of the trees. Only cgroups with processes of their own
   * (withOwnProcesses): a parent's memory is its children's.
   */
  private quietSelected(seen: Set<string>): Map<string, Workload> {
    if (this.policy.workloads.length === 0 && !this.reportAll) return new Map();
    if (this.index.generation !== this.selectedKnownAt) {
      this.selectedKnownAt = this.index.generation;
      const keep = this.reportAll ? () => true : (path: string) => selectorOf(this.policy.workloads, { path }) !== undefined;
      this.selectedKnown = new Map(this.withOwnProcesses(keep).map((w) => [w.id, w]));
      if (!this.saidUnmatched) this.sayUnmatched();
    }
    const out = new Map<string, Workload>();
    for (const [id, w] of this.selectedKnown) if (!namedByProbes(seen, w)) out.set(id, w);
    return out;
  }

  /**
   * While the sched probe counts only the policy's workloads, the cgroups the index finds that a
   * task run may start in (TaskRuns.awaits: followed, never handed in since they were made), with
   * processes of their own, and those on a run, that no probe named this tick, by id: a job's new
   * cgroup is otherwise in no report, and its run never seen. Found at the walks of the trees
   * (every 10 ticks, and at the tick the filter comes on): a job over within one is missed. Each
   * path is taken once, by the id the probes would name it by on a hybrid host (its v1 cpu
   * cgroup where there is one; its cgroup2 twin is never handed in, and would read as new).
   */
  private quietRuns(seen: Set<string>, schedFiltered: boolean): ReadonlyMap<string, Workload> {
    const runs = this.runs;
    // (the filter just on: runs going on are taken at once, not at the next walk)
    const rescan = schedFiltered && (this.index.generation !== this.runCgroupsAt || !this.runCgroupsFiltered);
    this.runCgroupsFiltered = schedFiltered;
    if (!runs || (!schedFiltered && this.runCgroups.length === 0)) return NO_WORKLOADS;
    if (rescan) {
      this.runCgroupsAt = this.index.generation;
      const known = new Set(this.runCgroups.map((w) => w.path));
      // by id first (a host's thousands of cgroups: no Workload built, no file read for those
      // the runs know), then the new ones' processes read
      const named = new Map<string, string>();
      for (const c of this.index.idsOf((path) => !known.has(path))) {
        const path = c.workload.slice(c.hierarchy.length + 1);
        if (c.hierarchy === 'v1-cpu' || !named.has(path)) named.set(path, c.workload);
      }
      const wanted = new Set<string>();
      named.forEach((id, path) => { if (runs.unknown(id)) wanted.add(path); });
      if (wanted.size > 0) {
        for (const w of this.index.matching((path) => wanted.has(path))) {
          if (named.get(w.path) === w.id && runs.awaits(w) && hasOwnProcesses(this.layout, w)) this.runCgroups.push(w);
        }
      }
    }
    // (kept while awaited, the filter lifted or not: a run begun here goes on being sampled)
    this.runCgroups = this.runCgroups.filter((w) => runs.awaits(w));
    if (this.runCgroups.length === 0) return NO_WORKLOADS;
    const out = new Map<string, Workload>();
    for (const w of this.runCgroups) if (!namedByProbes(seen, w)) out.set(w.id, w);
    return out;
  }

  /**
   * While the sched probe counts only the policy's workloads, the others' CPU from their cgroups'
   * CPU time (readCgroupCpu), by id: each cgroup the index knows outside the filter with no child
   * cgroup (the counter counts a subtree, the probe a cgroup's own tasks), read at every tick; one
   * at 0 for COUNTER_IDLE_READINGS readings in a row reads 0 until the next walk reads it again.
   * Those busy that no probe named this tick (`busy`) are reported too: one started since the
   * filter came on was in no report. Found at the walks of the trees (every 10 ticks).
   */
  private countedOutside(seen: ReadonlySet<string>): { cores: ReadonlyMap<string, number>; busy: ReadonlyMap<string, Workload> } {
    if (this.index.generation !== this.counterLeavesAt) {
      this.counterLeavesAt = this.index.generation;
      this.counterLeaves = this.leavesCounted();
    }
    const cores = this.countedCores;
    const busy = this.countedBusy;
    cores.clear();
    busy.clear();
    // (a walk's 10 ticks and a margin: an idle one is read at the walks alone)
    const maxAgeMs = 12 * this.policy.tickMs;
    for (const [id, leaf] of this.counterLeaves) {
      if (this.filterWorkloads.has(id)) continue;
      // (one idle at COUNTER_IDLE_READINGS readings in a row is read again once at the next walk,
      // when the leaves are taken again: a host's thousand idle services cost a thousand reads a
      // tick. Its 0 meanwhile, not unknown: a row of `top --all` went 0, -, -, ..., 0)
      if (leaf.idle >= COUNTER_IDLE_READINGS) {
        cores.set(id, 0);
        continue;
      }
      const c = readCgroupCpu(this.layout, leaf.workload);
      // (one unreadable, a v1 cpu cgroup with no cpuacct one at its path, is not tried again until the next walk)
      if (c === null) {
        this.counterLeaves.delete(id);
        continue;
      }
      const rate = this.cpuRates.rate(c.dir, c.seconds, maxAgeMs);
      if (rate === null) continue;
      cores.set(id, rate);
      leaf.idle = rate > 0 ? 0 : leaf.idle + 1;
      if (rate > 0 && !namedByProbes(seen, leaf.workload)) busy.set(id, leaf.workload);
    }
    return { cores, busy };
  }

  /**
   * The cgroups with no child cgroup in the tree readCgroupCpu reads (cgroup2 on a v2 host, else
   * the v1 cpu one), by id. (Where cpuacct is mounted apart, a leaf of the cpu tree whose cpuacct
   * twin has children counts theirs too: systemd makes the two alike.)
   */
  private leavesCounted(): Map<string, { workload: Workload; idle: number }> {
    const hierarchy: Hierarchy | null = this.layout.kind === 'v2' ? 'v2' : this.layout.cpuacctV1Root ? 'v1-cpu' : null;
    const out = new Map<string, { workload: Workload; idle: number }>();
    if (hierarchy === null) return out;
    const paths = this.index.idsOf(() => true).filter((c) => c.hierarchy === hierarchy).map((c) => c.workload.slice(hierarchy.length + 1));
    const parents = new Set(paths.map((p) => p.slice(0, p.lastIndexOf('/')) || '/'));
    const leaves = new Set(paths.filter((p) => p !== '/' && !parents.has(p)));
    // (one idle before is read once at this walk: busy, it is read at every tick again)
    const before = this.counterLeaves;
    for (const w of this.index.matching((p) => leaves.has(p))) {
      if (w.hierarchy === hierarchy) out.set(w.id, { workload: w, idle: Math.min(before.get(w.id)?.idle ?? 0, COUNTER_IDLE_READINGS - 1) });
    }
    return out;
  }

  /**
   * The index's cgroups whose paths `keep` takes holding processes of their own: a parent
   * (`/system.slice` under `/system.slice/**`) holds none. A path in both trees is taken once, as
   * the probes would name it on a hybrid host: its v1 cpu cgroup (a task in the v1 root cpu
   * cgroup is named by its cgroup2 path instead: rare).
   */
  private withOwnProcesses(keep: (path: string) => boolean): Workload[] {
    const byPath = new Map<string, Workload>();
    for (const w of this.index.matching(keep)) {
      if (!hasOwnProcesses(this.layout, w)) continue;
      const had = byPath.get(w.path);
      if (!had || w.hierarchy === 'v1-cpu') byPath.set(w.path, w);
    }
    return [...byPath.values()];
  }

  /**
   * The usage (memory in use, limits) of the reports the demand forecasts did not read it for
   * (reportAll): a process asleep on its memory is what `top --all --sort mem` is asked to find.
   */
  private readUsageOfRest(reports: WorkloadReport[]): void {
    const hostCores = this.hostCpuCount();
    for (let i = 0; i < reports.length; i++) {
      const r = reports[i]!;
      if (r.usage === undefined) r.usage = readUsage(this.layout, r.workload, hostCores, this.limitCache, this.cpuRates);
    }
  }

  /**
   * Says, once, each of the policy's workloads that matches no cgroup the index knows: a typo in
   * a match was accepted in silence, and its workload never reported (a walkthrough's finding).
   */
  private sayUnmatched(): void {
    this.saidUnmatched = true;
    for (const s of this.policy.workloads) {
      if (this.index.idsOf((p) => matchesGlob(s.match, p)).length > 0) continue;
      const where = s.source ? ` (${s.source.file}:${s.source.line})` : '';
      this.log(`policy workload '${s.name}'${where}: its match "${s.match}" names no cgroup on this host (yet): it is reported once one appears`);
    }
  }

  /** Keeps a probe to the policy's workloads the index knows now (every filtered probe holds the same set). */
  private setFilter(probe: { setFilter(keys: Iterable<bigint>): void }): void {
    probe.setFilter(this.selectedIds);
    this.filterWorkloads = this.selectedWorkloads;
  }

  /** Which probes the overhead governor now keeps to the policy's workloads (filter knob on). */
  private filteredProbes(): FilteredProbes {
    const on = (p: string): boolean => this.governor?.variant(p)?.knobs.filter === true;
    if (!this.governor) return NONE_FILTERED;
    return { sched: on('sched'), fault: on('fault'), blockio: on('blockio'), sock: on('sock') };
  }

  /** The selected cgroups' keys again, when the index has walked the trees since the last time; whether they changed. */
  private selectFromIndex(): boolean {
    if (this.policy.workloads.length === 0 || this.index.generation === this.selectedAt) return false;
    this.selectedAt = this.index.generation;
    const selected = this.index.idsOf((path) => selectorOf(this.policy.workloads, { path }) !== undefined);
    const keys = new Set(selected.map((c) => filterKey(c.hierarchy, c.id)));
    const changed = keys.size !== this.selectedIds.size || [...keys].some((k) => !this.selectedIds.has(k));
    this.selectedIds = keys;
    this.selectedWorkloads = new Set(selected.map((c) => c.workload));
    return changed;
  }
}

export function selectorOf(selectors: WorkloadSelector[], w: Pick<Workload, 'path'>): WorkloadSelector | undefined {
  // (a loop, not find(): asked of every workload, more than once a tick)
  for (const s of selectors) if (matchesGlob(s.match, w.path)) return s;
  return undefined;
}

/** A cgroup's own CPU limit in cores (null: none, or unreadable: a cgroup just gone is not written either). */
function ownCpuLimit(dir: string): number | null {
  try {
    return readCpuLimit(dir).cores;
  } catch {
    return null;
  }
}
