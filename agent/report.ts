// What one tick hands to the exporters and the screen: the end of the one-way flow.
import type { Decision, Mode } from './plan/types.js';
import type { Workload } from './workloads/types.js';
import type { WorkloadUsage } from './workloads/usage.js';
import type { DemandForecast, DemandResource } from './predict/demand.js';
import type { RunEvent, RunStatus } from './predict/task-runs.js';

export interface RunqueueFigures {
  /** cumulative counts per log2 bucket: slot i holds waits in [2^i, 2^(i+1)) microseconds (the
   *  reading's own array, shared: read only, and overwritten by the tick after next: copy it to
   *  keep it longer) */
  slots: readonly number[];
  /** cumulative number of waits and their total, in seconds */
  count: number;
  sumSeconds: number;
  /** seconds its tasks waited in the run queue, all together, per second of the last tick */
  waitPerSecond: number | null;
  /** waits that ended, per second of the last tick (under sampling, each counted one weighs 2^n, as in count) */
  waitsPerSecond: number | null;
  /** percentiles over the last tick, null when nothing waited */
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface ForecastFigures {
  metric: 'runqueue_p99_ms';
  horizonMs: number;
  /** quantile ("0.5", "0.9", "0.99") -> forecast value in ms */
  quantiles: Record<string, number>;
  objectiveMs: number;
  /** P(value above objective within the horizon) */
  pContention: number;
  /** 0..1: how much history the forecast stands on */
  confidence: number;
}

/** Log2 latency histogram figures (slot i: [2^i, 2^(i+1)) microseconds), cumulative, with
 *  percentiles over the last tick. */
export interface LatencyFigures {
  slots: number[];
  count: number;
  sumSeconds: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

/** fault probe: cumulative counts, and rates over the last tick */
export interface MemoryFigures {
  minorFaults: number;
  majorFaults: number;
  minorPerSecond: number;
  majorPerSecond: number;
  /** reclaim passes (direct or at the cgroup's limit) its tasks stalled in, and for how long */
  reclaimStalls: number;
  reclaimSeconds: number;
  reclaimedPages: number;
  /** ms stalled in reclaim per second of the tick: the memory-pressure signal */
  reclaimMsPerSecond: number;
  oomKills: number;
  /** OOM kills of its tasks per second of the tick (0 in nearly every tick) */
  oomKillsPerSecond: number;
}

export interface IoDeviceFigures {
  readBytes: number;
  writeBytes: number;
  readOps: number;
  writeOps: number;
  latency: LatencyFigures;
}

/** blockio probe: all devices together, and each device ("major:minor") */
export interface IoFigures extends IoDeviceFigures {
  readBytesPerSecond: number;
  writeBytesPerSecond: number;
  opsPerSecond: number;
  devices: Record<string, IoDeviceFigures>;
}

/** sock probe: TCP, cumulative counts and rates over the last tick */
export interface NetFigures {
  txBytes: number;
  rxBytes: number;
  retransmits: number;
  opened: number;
  closed: number;
  txBytesPerSecond: number;
  rxBytesPerSecond: number;
  retransmitsPerSecond: number;
}

export interface WorkloadReport {
  workload: Workload;
  /**
   * seconds: on CPU since the sched probe started (frozen while it does not count this one);
   * cores: over the tick, null where unknown; counter: cores read from its cgroup's CPU time, the
   * sched probe kept to the policy's workloads by the overhead governor (no run-queue or switch figures)
   */
  cpu: { seconds: number; cores: number | null; counter?: true };
  runq: RunqueueFigures;
  /** (null figures: the sched probe, kept to the policy's workloads by the overhead governor, counts none of this one's) */
  switches: { voluntary: number; involuntary: number; perSecond: number | null };
  /** present when the probe is loaded */
  memory?: MemoryFigures;
  io?: IoFigures;
  net?: NetFigures;
  forecast?: ForecastFigures;
  /** what the workload holds and may hold (its cgroup files); for the workloads forecast */
  usage?: WorkloadUsage;
  /** its demand per resource, forecast (the policy's workloads and the busiest others) */
  demand?: Partial<Record<DemandResource, DemandForecast>>;
  /** the run it is on (a cgroup that appeared while `run` ran), and what its task's profile expects */
  run?: RunStatus;
  /** cores currently allowed by headroom's own throttle, null when none is held */
  throttleCores?: number | null;
}

export interface ProbeHealth {
  eventsRead: number;
  ringDrops: number;
  statsDrops: number;
  /** program runs the kernel skipped (the program already running on that CPU): their events may be missing */
  missedRuns: number;
  /** the variant the overhead governor runs it as ("full", "sampled-1/8", ...) */
  variant: string;
}

/** What the agent costs, as fractions of one CPU over the governor's last window. */
export interface OverheadFigures {
  budget: number;
  total: number;
  agent: number;
  probes: Record<string, { fraction: number; eventsPerSecond: number }>;
  windowMs: number;
}

export interface AgentHealth {
  ticks: number;
  /** all probes together */
  eventsRead: number;
  ringDrops: number;
  statsDrops: number;
  missedRuns: number;
  lastTickSeconds: number;
  /** demand forecast worker threads lost so far (dead, or no answer in time): each time replaced, or the agent's thread took over */
  demandWorkerLosses: number;
  probes: Record<string, ProbeHealth>;
  overhead: OverheadFigures | null;
}

/** A discrete kernel event of this tick, already attributed to its workload. */
export interface KernelEvent {
  kind: 'slow_wakeup' | 'oom_kill' | 'slow_io' | 'tcp_close' | 'tcp_retransmit';
  workload: { id: string; path: string };
  pid: number;
  comm?: string;
  /** everything else the event carries, in plain units (bytes, ms, addresses as text) */
  detail: Record<string, string | number>;
}

/** The overhead governor switched a probe's variant. */
export interface OverheadEvent {
  atMs: number;
  probe: string;
  from: string;
  to: string;
  reason: string;
}

export interface TickReport {
  atMs: number;
  intervalMs: number;
  mode: Mode;
  workloads: WorkloadReport[];
  /** decisions taken in this tick (applied only in enforce mode) */
  decisions: Decision[];
  /** kernel events drained in this tick (bounded per kind) */
  events: KernelEvent[];
  /** task runs that started (their task known) or ended in this tick (`run` only) */
  runs: RunEvent[];
  /** the governor's switches in this tick */
  overheadChanges: OverheadEvent[];
  health: AgentHealth;
}
