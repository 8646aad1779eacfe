// The agent bounds its own cost. Every check window it measures what it costs (each probe's BPF
// run time, from the kernel's run-time statistics, plus the agent's own CPU) as a fraction of
// one CPU; above the policy's budget it switches the hottest probe one step to a cheaper variant
// (sampling, then filtering to the policy's workloads), and when the load falls so far that the
// richer variant would fit again, it switches back. One step per window, with a reason each.
import type { ProbeKnobs } from './knobs.js';

export interface ProbeCounters {
  /** cumulative run time of the probe's programs (ns) and how many times they ran */
  runTimeNs: number;
  runCount: number;
}

export interface OverheadChange {
  atMs: number;
  probe: string;
  from: string;
  to: string;
  knobs: ProbeKnobs;
  reason: string;
}

export interface OverheadReport {
  budget: number;
  /** fraction of one CPU over the last window: per probe, the agent's own, and in all */
  probes: Record<string, { fraction: number; eventsPerSecond: number; variant: string }>;
  agent: number;
  total: number;
  windowMs: number;
}

export interface Variant {
  name: string;
  knobs: ProbeKnobs;
  /** true when the sampling happens before the program runs (a perf sample period): the program
   *  then runs once per 2^sampleShift events, and its run count understates the event rate */
  sampledAtSource?: boolean;
}

export interface GovernorOptions {
  /** fraction of one CPU, e.g. 0.01 */
  budget: number;
  /** each probe's variants, richest first */
  probes: Record<string, Variant[]>;
  windowMs?: number;
  /** switch back when the predicted cost is below this share of the budget (or the probe's own would be negligible: NEGLIGIBLE_SHARE) */
  headroom?: number;
}

interface ProbeState {
  variants: Variant[];
  level: number;
  /** cost of one program run (ns) last measured at each level */
  nsPerRun: (number | undefined)[];
  last?: ProbeCounters;
  /** its last switch: when, and which way (+1 cheaper, -1 richer) */
  lastSwitch?: { atMs: number; way: 1 | -1 };
  /** windows it must hold before switching back the other way (see MAX_HOLD_WINDOWS) */
  holdWindows: number;
}

/**
 * A probe switched one way is not switched back the other way for its hold, which doubles at
 * every reversal that comes within twice its hold (flapping), up to this many windows, and
 * falls back to one window after a reversal that comes later. Where the agent's own CPU sat at
 * the budget and a probe's cost rose and fell with its workloads, a 9-minute run switched 59
 * times, nearly every 5 s window, each switch said (a walkthrough's finding).
 */
const MAX_HOLD_WINDOWS = 64;
/** ... unless the total is at this many budgets or more: then a held probe is switched down at once. */
const STORM_BUDGETS = 2;

/** How many program runs one event costs under a variant (below 1 when perf samples). */
const runsPerEvent = (v: Variant): number => (v.sampledAtSource ? 2 ** -v.knobs.sampleShift : 1);

/** A probe is worth switching only if it costs at least this share of the budget. */
const MIN_SHARE = 0.1;
/** ... and at least this share of the excess over it. */
const EXCESS_SHARE = 0.25;
/**
 * A reduced probe goes back, whatever the total, when its richer variant would cost under this
 * share of the budget: half of MIN_SHARE, so it is not switched down again at the next window.
 */
const NEGLIGIBLE_SHARE = MIN_SHARE / 2;

const pct = (f: number): string => `${(f * 100).toFixed(2)}%`;

export class OverheadGovernor {
  readonly budget: number;
  private readonly windowMs: number;
  private readonly headroom: number;
  private readonly probes = new Map<string, ProbeState>();
  private windowStart: { atMs: number; agentCpuNs: number } | null = null;
  /** probes switched down, most recent last: the first to switch back */
  private readonly reduced: string[] = [];
  private lastReport: OverheadReport | null = null;

  constructor(opts: GovernorOptions) {
    if (!(opts.budget > 0 && opts.budget <= 1)) throw new RangeError(`overhead budget must be in (0, 1] of one CPU (got ${opts.budget})`);
    this.budget = opts.budget;
    this.windowMs = opts.windowMs ?? 5000;
    this.headroom = opts.headroom ?? 0.7;
    for (const [name, variants] of Object.entries(opts.probes)) {
      if (variants.length === 0) throw new Error(`probe ${name} has no variant`);
      this.probes.set(name, { variants, level: 0, nsPerRun: [], holdWindows: 1 });
    }
  }

  variant(probe: string): Variant | undefined {
    const s = this.probes.get(probe);
    return s?.variants[s.level];
  }

  /** The last complete window's figures (null before the first one ends). */
  get report(): OverheadReport | null {
    return this.lastReport;
  }

  /**
   * Feeds cumulative counters; returns the switches to apply (at most one) when a window ends.
   * agentCpuNs is the agent process's own CPU time (user + system).
   */
  observe(atMs: number, counters: Record<string, ProbeCounters>, agentCpuNs: number): OverheadChange[] {
    if (!this.windowStart) {
      this.windowStart = { atMs, agentCpuNs };
      for (const [name, s] of this.probes) s.last = counters[name] ? { ...counters[name] } : { runTimeNs: 0, runCount: 0 };
      return [];
    }
    const windowMs = atMs - this.windowStart.atMs;
    if (windowMs < this.windowMs) return [];
    const windowNs = windowMs * 1e6;

    const report: OverheadReport = { budget: this.budget, probes: {}, agent: 0, total: 0, windowMs };
    const rates = new Map<string, { fraction: number; perSecond: number }>();
    for (const [name, s] of this.probes) {
      const now = counters[name];
      const before = s.last;
      s.last = now && { ...now };
      if (!now || !before) continue;
      const dRun = Math.max(0, now.runTimeNs - before.runTimeNs);
      const dCount = Math.max(0, now.runCount - before.runCount);
      const fraction = dRun / windowNs;
      if (dCount > 100) s.nsPerRun[s.level] = dRun / dCount;
      const perSecond = ((dCount * 1000) / windowMs) * runsPerEvent(s.variants[s.level]) ** -1;
      rates.set(name, { fraction, perSecond });
      report.probes[name] = { fraction, eventsPerSecond: perSecond, variant: s.variants[s.level].name };
      report.total += fraction;
    }
    report.agent = Math.max(0, agentCpuNs - this.windowStart.agentCpuNs) / windowNs;
    report.total += report.agent;
    this.windowStart = { atMs, agentCpuNs };
    this.lastReport = report;

    // over the budget with nothing worth reducing, a probe whose richer variant is negligible may still go back
    const change = report.total > this.budget ? (this.reduce(atMs, report, rates) ?? this.restore(atMs, report, rates, true)) : this.restore(atMs, report, rates, false);
    if (change) report.probes[change.probe].variant = change.to;
    return change ? [change] : [];
  }

  /** Whether the probe's hold keeps it from switching `way` now (only a reversal waits). */
  private held(s: ProbeState, way: 1 | -1, atMs: number): boolean {
    const last = s.lastSwitch;
    // (window ends come a window apart or more: at a hold of 1 the next window end may switch
    // back, as before holds; a reversal that soon doubles it)
    return last !== undefined && last.way !== way && atMs - last.atMs < s.holdWindows * this.windowMs;
  }

  /** Notes a switch `way`; a reversal within twice the hold doubles it, a later one resets it. */
  private switched(s: ProbeState, way: 1 | -1, atMs: number): void {
    const last = s.lastSwitch;
    if (last && last.way !== way) {
      s.holdWindows = atMs - last.atMs < 2 * s.holdWindows * this.windowMs ? Math.min(MAX_HOLD_WINDOWS, s.holdWindows * 2) : 1;
    }
    s.lastSwitch = { atMs, way };
  }

  private reduce(atMs: number, report: OverheadReport, rates: Map<string, { fraction: number; perSecond: number }>): OverheadChange | null {
    let hottest: string | null = null;
    for (const [name, s] of this.probes) {
      if (s.level >= s.variants.length - 1) continue;
      // A probe that costs little beside the excess cannot bring the total down (the agent's own
      // CPU may be most of it): leave it whole rather than lose its detail for nothing.
      const fraction = rates.get(name)?.fraction ?? 0;
      if (fraction < MIN_SHARE * this.budget || fraction < EXCESS_SHARE * (report.total - this.budget)) continue;
      if (!hottest || (rates.get(name)?.fraction ?? 0) > (rates.get(hottest)?.fraction ?? 0)) hottest = name;
    }
    if (!hottest) return null; // nothing cheaper left: the report still shows the excess
    const s = this.probes.get(hottest)!;
    // the hottest held: nothing (another probe, stepped down instead, would lose its detail for
    // little); a hold gives way to a storm: at twice the budget the host comes first
    const storm = report.total >= STORM_BUDGETS * this.budget;
    if (this.held(s, 1, atMs) && !storm) return null;
    const r = rates.get(hottest) ?? { fraction: 0, perSecond: 0 };
    const held = this.held(s, 1, atMs);
    const from = s.variants[s.level];
    s.level++;
    this.switched(s, 1, atMs);
    const to = s.variants[s.level];
    if (!this.reduced.includes(hottest)) this.reduced.push(hottest);
    return {
      atMs, probe: hottest, from: from.name, to: to.name, knobs: to.knobs,
      reason: `own cost ${pct(report.total)} of one CPU over budget ${pct(this.budget)}; ${hottest} is the hottest probe ` +
        `(${pct(r.fraction)}, ${Math.round(r.perSecond)} events/s)${held ? ', its hold given way at twice the budget' : ''}: ${from.name} -> ${to.name}`,
    };
  }

  /**
   * One probe back one step: the most recently reduced when everything would fit again with room
   * to spare (under the budget), or any reduced probe whose richer variant would cost too little
   * to be switched down again (NEGLIGIBLE_SHARE), whatever the total. Without the second rule,
   * where the agent's own CPU holds the total near or over the budget (an idle agent at 0.7-1.5%
   * under the default 1%, a slow host), a probe switched down in a storm stayed reduced for good,
   * for nothing.
   */
  private restore(atMs: number, report: OverheadReport, rates: Map<string, { fraction: number; perSecond: number }>, overBudget: boolean): OverheadChange | null {
    for (let i = this.reduced.length - 1; i >= 0; i--) {
      const name = this.reduced[i]!;
      const s = this.probes.get(name)!;
      const r = rates.get(name);
      const richer = s.variants[s.level - 1];
      const nsPerRun = s.nsPerRun[s.level - 1];
      if (!r || nsPerRun === undefined || this.held(s, -1, atMs)) continue;
      // What the richer variant would cost at today's event rate, with everything else as it is.
      const richerCost = (r.perSecond * runsPerEvent(richer) * nsPerRun) / 1e9;
      const predicted = report.total - r.fraction + richerCost;
      const fits = i === this.reduced.length - 1 && !overBudget && predicted < this.headroom * this.budget;
      // (under the budget, not over it by the step back: another probe would pay for it)
      const negligible = richerCost < NEGLIGIBLE_SHARE * this.budget && (overBudget || predicted <= this.budget);
      if (!fits && !negligible) continue;
      const from = s.variants[s.level];
      s.level--;
      this.switched(s, -1, atMs);
      const to = s.variants[s.level];
      if (s.level === 0) this.reduced.splice(i, 1);
      const why = fits
        ? `would cost about ${pct(predicted)} in all as ${to.name}, under ${Math.round(this.headroom * 100)}% of the budget ${pct(this.budget)}`
        : `would cost about ${pct(richerCost)} as ${to.name}, under ${Math.round(NEGLIGIBLE_SHARE * 100)}% of the budget ${pct(this.budget)} (${pct(predicted)} in all, the agent's own ${pct(report.agent)})`;
      return { atMs, probe: name, from: from.name, to: to.name, knobs: to.knobs, reason: `load fell: ${name} at ${Math.round(r.perSecond)} events/s ${why}: ${from.name} -> ${to.name}` };
    }
    return null;
  }
}

/** The variants a probe steps through: every event, 1 in 8, 1 in 64, then (when the policy
 *  selects workloads) only those, 1 in 64. sampledAtSource: the probe samples before its
 *  program runs (the fault probe's perf sample period). */
export function standardVariants(canFilter: boolean, sampledAtSource = false): Variant[] {
  return variantsFor({ canFilter, sampledAtSource, exactForSelected: false });
}

/**
 * The variants of one probe. exactForSelected: the policy's objectives are computed from this
 * probe (run-queue latency), so its selected workloads must stay exact: the only cheaper
 * variant is to keep those workloads, every event, and drop the rest.
 */
export function variantsFor(o: { canFilter: boolean; sampledAtSource: boolean; exactForSelected: boolean }): Variant[] {
  const { canFilter, sampledAtSource } = o;
  if (o.exactForSelected && canFilter) {
    return [
      { name: 'full', knobs: { sampleShift: 0, filter: false } },
      { name: 'selected-only', knobs: { sampleShift: 0, filter: true } },
    ];
  }
  const v: Variant[] = [
    { name: 'full', knobs: { sampleShift: 0, filter: false } },
    { name: 'sampled-1/8', knobs: { sampleShift: 3, filter: false }, sampledAtSource },
    { name: 'sampled-1/64', knobs: { sampleShift: 6, filter: false }, sampledAtSource },
  ];
  if (canFilter) v.push({ name: 'selected-only-1/64', knobs: { sampleShift: 6, filter: true }, sampledAtSource });
  return v;
}
