// What one tick hands to the exporters and the screen: the end of the one-way flow.
import type { Decision, Mode } from './plan/types.js';
import type { Workload } from './workloads/types.js';

export interface RunqueueFigures {
  /** cumulative counts per log2 bucket: slot i holds waits in [2^i, 2^(i+1)) microseconds */
  slots: number[];
  /** cumulative number of waits and their total, in seconds */
  count: number;
  sumSeconds: number;
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

export interface WorkloadReport {
  workload: Workload;
  cpu: { seconds: number; cores: number };
  runq: RunqueueFigures;
  switches: { voluntary: number; involuntary: number; perSecond: number };
  forecast?: ForecastFigures;
  /** cores currently allowed by headroom's own throttle, null when none is held */
  throttleCores?: number | null;
}

export interface AgentHealth {
  ticks: number;
  eventsRead: number;
  ringDrops: number;
  statsDrops: number;
  lastTickSeconds: number;
}

export interface TickReport {
  atMs: number;
  intervalMs: number;
  mode: Mode;
  workloads: WorkloadReport[];
  /** decisions taken in this tick (applied only in enforce mode) */
  decisions: Decision[];
  health: AgentHealth;
}
