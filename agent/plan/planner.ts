// The protect-latency rule: when a critical workload's forecast run-queue p99 is likely to
// break its objective, throttle best-effort CPU one bounded step; release step by step when the
// risk has passed. Hysteresis (two thresholds) and a per-workload cool-down keep it from
// flapping. The planner only decides: it never touches the system.
import { randomUUID } from 'node:crypto';
import type { Workload } from '../workloads/types.js';
import type { CpuThrottleBounds, Decision, Policy, WorkloadSelector } from './types.js';

export const RULE_PROTECT_LATENCY = 'protect_latency';

/** What the planner sees of a critical workload this tick. */
export interface RiskInput {
  workload: Workload;
  selector: WorkloadSelector;
  objectiveMs: number;
  /** P(run-queue p99 above objective within the horizon) */
  pContention: number;
  /** 0..1: how much history the forecast stands on */
  confidence: number;
  forecastP99Ms: number;
  observedP99Ms: number | null;
}

/** What the planner sees of a best-effort workload this tick. */
export interface DonorInput {
  workload: Workload;
  selector: WorkloadSelector;
  bounds: CpuThrottleBounds;
  /** cores it used over the last tick */
  usedCores: number;
  /** its cgroup's own CPU limit, in cores (null: none), read only when a first throttle is weighed */
  ownLimitCores?: () => number | null;
}

interface Hold {
  workload: Workload;
  cores: number;
  lastStepMs: number;
  /** the most a step may give back: the bounds' max, or its own limit before the first throttle where lower */
  ceiling: number;
}

const fmt = (n: number): string => n.toFixed(2);
/** Cores used, to more places where two would show it equal to the throttle's target ("0.50 used -> 0.50 cores" for 0.504). */
const usedText = (used: number, to: number): string => (fmt(used) === fmt(to) ? used.toFixed(3) : fmt(used));

export class Planner {
  private readonly rule: Policy['rules']['protectLatency'];
  /** the ledger: throttles this planner holds, by workload id */
  private readonly holds = new Map<string, Hold>();
  /** the last decide()'s decisions, by id: the hold each replaced (undefined: none), for notApplied */
  private heldBefore = new Map<string, { id: string; hold: Hold | undefined }>();
  /** workloads not decided on until then (ms), after a refused write (notApplied's holdOffMs) */
  private readonly heldOff = new Map<string, number>();

  constructor(policy: Policy) {
    this.rule = policy.rules.protectLatency;
  }

  /** Cores currently held for a workload, or null when it is not throttled. */
  heldCores(workloadId: string): number | null {
    return this.holds.get(workloadId)?.cores ?? null;
  }

  decide(nowMs: number, risks: RiskInput[], donors: DonorInput[]): Decision[] {
    const decisions: Decision[] = [];
    // A forecast with too little history behind it may release, never throttle.
    const trusted = risks.filter((r) => r.confidence >= this.rule.minConfidence);
    const worst = trusted.reduce<RiskInput | null>((w, r) => (!w || r.pContention > w.pContention ? r : w), null);
    const risk = worst?.pContention ?? 0;
    const present = new Set(donors.map((d) => d.workload.id));

    // A held workload that vanished (cgroup removed): nothing left to release.
    for (const id of [...this.holds.keys()]) if (!present.has(id)) this.holds.delete(id);

    this.heldBefore = new Map();
    for (const [id, until] of this.heldOff) if (until <= nowMs || !present.has(id)) this.heldOff.delete(id);
    for (const donor of donors) {
      if (this.heldOff.has(donor.workload.id)) continue;
      const hold = this.holds.get(donor.workload.id);
      if (hold && nowMs - hold.lastStepMs < this.rule.cooldownMs) continue;
      let d: Decision | null = null;
      if (worst && risk > this.rule.riskThreshold) d = this.throttle(nowMs, donor, hold, worst);
      else if (hold && risk < this.rule.releaseBelow) d = this.release(nowMs, donor, hold, worst);
      if (d) {
        decisions.push(d);
        this.heldBefore.set(d.id, { id: donor.workload.id, hold });
      }
    }
    return decisions;
  }

  /**
   * A decision of the last decide() whose write failed: the ledger goes back to what it held
   * before it, so the next tick decides from what the cgroup has. (It kept the throttle it could
   * not write: never tried again, and exported as held.)
   */
  notApplied(d: Decision, holdOffMs = 0): void {
    const before = this.heldBefore.get(d.id);
    if (!before) return;
    if (before.hold) this.holds.set(before.id, before.hold);
    else this.holds.delete(before.id);
    // (a refusal that lasts, another agent's claim: decided again at every tick, said every tick)
    if (holdOffMs > 0) this.heldOff.set(before.id, d.atMs + holdOffMs);
  }

  /** The decisions that give back everything held (used when the agent stops). */
  releaseAll(nowMs: number): Decision[] {
    const out = [...this.holds.values()].map((h) =>
      this.decision(nowMs, 'restore', h.workload, null, 'agent stopping: every throttle it holds is given back'),
    );
    this.holds.clear();
    return out;
  }

  private throttle(nowMs: number, donor: DonorInput, hold: Hold | undefined, worst: RiskInput): Decision | null {
    const { minCores, maxCores, stepCores } = donor.bounds;
    // A limit its owner set is never raised, by a step down or a step back: the releases of a
    // donor capped at 1 core climbed 0.25 -> 0.75 -> 1.25 -> 1.75 cores on a max_cores of 2
    const ceiling = hold?.ceiling ?? Math.min(maxCores, donor.ownLimitCores?.() ?? Number.POSITIVE_INFINITY);
    // First step starts from what the donor really uses, so it bites at once.
    const from = hold?.cores ?? Math.min(ceiling, Math.ceil(donor.usedCores / stepCores) * stepCores);
    const to = Math.max(minCores, from - stepCores);
    if (hold && to >= hold.cores) return null; // already at the floor
    if (!hold && donor.usedCores <= to) return null; // it uses less than the step would allow
    if (!hold && to >= ceiling) return null; // its own limit is at the floor already
    this.holds.set(donor.workload.id, { workload: donor.workload, cores: to, lastStepMs: nowMs, ceiling });
    const reason =
      `P(run-queue p99 of ${worst.selector.name} > ${fmt(worst.objectiveMs)} ms within ${this.rule.horizonMs / 1000} s) = ` +
      `${fmt(worst.pContention)} > ${fmt(this.rule.riskThreshold)} (forecast p99 ${fmt(worst.forecastP99Ms)} ms, ` +
      `observed ${worst.observedP99Ms === null ? 'n/a' : `${fmt(worst.observedP99Ms)} ms`}): throttle ${donor.selector.name} ` +
      `CPU one step ${hold ? fmt(from) : `${usedText(donor.usedCores, to)} used`} -> ${fmt(to)} cores (bounds ${fmt(minCores)}..${fmt(maxCores)}` +
      `${ceiling < maxCores ? `, its own limit ${fmt(ceiling)}` : ''})`;
    return this.decision(nowMs, 'throttle', donor.workload, to, reason);
  }

  private release(nowMs: number, donor: DonorInput, hold: Hold, worst: RiskInput | null): Decision {
    const next = hold.cores + donor.bounds.stepCores;
    const why = worst
      ? `P(run-queue p99 of ${worst.selector.name} > ${fmt(worst.objectiveMs)} ms) = ${fmt(worst.pContention)} < ${fmt(this.rule.releaseBelow)}`
      : 'no critical workload at risk';
    if (next >= hold.ceiling) {
      this.holds.delete(donor.workload.id);
      return this.decision(nowMs, 'restore', donor.workload, null, `${why}: ${donor.selector.name} CPU back to its original setting`);
    }
    this.holds.set(donor.workload.id, { ...hold, cores: next, lastStepMs: nowMs });
    return this.decision(nowMs, 'release', donor.workload, next, `${why}: release ${donor.selector.name} CPU one step ${fmt(hold.cores)} -> ${fmt(next)} cores`);
  }

  private decision(nowMs: number, action: Decision['action'], workload: Workload, cpuCores: number | null, reason: string): Decision {
    return { id: randomUUID(), atMs: nowMs, rule: RULE_PROTECT_LATENCY, action, workload, resource: 'cpu', cpuCores, reason };
  }
}
