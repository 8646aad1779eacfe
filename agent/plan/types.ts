import type { DemandModel } from '../predict/demand.js';
import type { Workload } from '../workloads/types.js';

export type Mode = 'observe' | 'recommend' | 'enforce';
export type WorkloadClass = 'critical' | 'normal' | 'best-effort';

export interface CpuThrottleBounds {
  /** never throttle below this many cores */
  minCores: number;
  /** the first step starts from here, or from the workload's own limit when that is lower */
  maxCores: number;
  stepCores: number;
}

export interface WorkloadSelector {
  name: string;
  /** glob over the cgroup path relative to its hierarchy root; `*` within a segment, `**` across */
  match: string;
  class: WorkloadClass;
  objectives?: { runqueueP99Ms?: number };
  cpu?: { throttle?: CpuThrottleBounds };
  /** where in the policy file this selector was written (for messages) */
  source?: { file: string; line: number };
}

export interface Policy {
  file: string;
  version: 1;
  mode: Mode;
  tickMs: number;
  export: {
    prometheus: { enabled: boolean; host: string; port: number };
    /** OTLP push (`run`): the metrics URL (null: only where --otlp-endpoint or the OTEL_* environment asks) and the period */
    otlp: { endpoint: string | null; intervalMs: number };
  };
  probes: {
    sched: { slowWakeupMs: number; ringBytes: number };
    fault: { enabled: boolean; ringBytes: number };
    blockio: { enabled: boolean; slowIoMs: number; ringBytes: number };
    sock: { enabled: boolean; ringBytes: number };
    /** fraction of one CPU the agent may cost (probes' BPF run time + its own CPU) */
    overheadBudget: number;
  };
  forecast: {
    model: 'ewma' | 'decaying-histogram';
    halfLifeMs: number;
    /** each workload's demand per resource */
    /** 'auto': engine-peak for the policy's workloads, horizon-peak for the busiest others */
    demandModel: DemandModel;
    demandHalfLifeMs: number;
    horizonsMs: number[];
    /** workloads whose demand is forecast each tick, at most */
    demandWorkloads: number;
    /** worker threads holding the demand forecasts (0: the agent's thread) */
    demandWorkers: number;
  };
  /** task runs and their profiles (agent/predict/task-runs.ts) */
  profiles: {
    enabled: boolean;
    /** absolute (a relative path in the file is taken from the policy file's folder) */
    dir: string;
    /** the policy names dir; else it is the default, which `run` takes under its --state-dir */
    dirSet: boolean;
    maxBytes: number;
    envKeys: string[];
    minRunMs: number;
    /** globs over cgroup paths: the cgroups whose runs are followed (default every one) */
    match: string[];
  };
  rules: {
    protectLatency: {
      /** throttle when P(forecast run-queue p99 > objective) is above this */
      riskThreshold: number;
      /** release one step when the risk is below this (hysteresis) */
      releaseBelow: number;
      /** throttle only on a forecast at least this confident (0..1) */
      minConfidence: number;
      horizonMs: number;
      /** minimum time between two steps on one workload */
      cooldownMs: number;
    };
  };
  workloads: WorkloadSelector[];
}

export type Action = 'throttle' | 'release' | 'restore';

/** One decision of the planner, with the reason a person reads. */
export interface Decision {
  id: string;
  atMs: number;
  rule: string;
  action: Action;
  workload: Workload;
  resource: 'cpu';
  /** cores allowed after the decision; null = unlimited (the original setting) */
  cpuCores: number | null;
  reason: string;
  /** enforce: why its write failed (nothing else: it was applied, or it is a dry run) */
  notApplied?: string;
}
