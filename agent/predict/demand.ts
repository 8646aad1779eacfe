// Each workload's demand for each resource, forecast: quantiles over the policy's horizons, the
// probability that demand reaches what the workload may use (its limit, or the host) in each
// window (the contention map), the time until it saturates, and a confidence that falls when
// the recent forecasts missed. One forecaster per (workload, resource), dropped when unused.
//
// A window's quantiles are of the PEAK within it (the default models forecast peaks directly):
// "in the next 60 s" is any moment of them, and a p90 of the value at the window's end misses
// the window's peak about half the time (`headroom predict --models forecaster:engine
// --targets h60smax` on the recorded traces: 45-52% under, where forecaster:engine-peak misses
// 11-20%). A model that forecasts values (demand_model: engine, ewma...) gives the value at the
// window's end; `windowsOf` says which.
import type { CgroupLimitSource } from '../workloads/usage.js';
import { DampedTrend } from './models/damped-trend.js';
import { createForecaster, type Forecaster, type ForecastModel } from './forecaster.js';
import { LearnerPool } from './models/learner-pool.js';
import { KillGate } from './kill-gate.js';
import { StartupGate } from './startup-gate.js';
import { shownProbability } from './stats.js';
import type { FromTask } from './demand-from-run.js';

/** The workload's own cgroup limit, an ancestor's, its CPU set, or what the host leaves it. */
export type LimitSource = CgroupLimitSource | 'host';

/** cpu_cores in cores, memory_bytes in bytes, io_bytes_per_s and io_ops_per_s (block I/O read and written), net_bytes_per_s (TCP sent and received) */
export type DemandResource = 'cpu_cores' | 'memory_bytes' | 'io_bytes_per_s' | 'io_ops_per_s' | 'net_bytes_per_s';

export interface DemandWindow {
  horizonMs: number;
  /** of the peak over the next horizonMs, or of the value at its end (DemandForecast.windowsOf) */
  p50: number;
  p90: number;
  p99: number;
  /** P(demand reaches the limit, within 1% of it or above, in this window: its peak, or its end's value); null without a limit */
  pContention: number | null;
}

/** What a window's quantiles are of: the peak over it, or the value at its end. */
export type WindowMeasure = 'peak' | 'value';

/** Models whose forecast for a horizon is of the peak over it. */
const PEAK_MODELS: readonly ForecastModel[] = ['engine-peak', 'horizon-peak'];
export const windowsOf = (model: ForecastModel): WindowMeasure => (PEAK_MODELS.includes(model) ? 'peak' : 'value');

/** What bounds a workload's resource: what it may use, and the most its measure can read. */
export interface DemandBounds {
  /** what it may use (DemandForecast.limit); absent or null: none known */
  limit?: number | null;
  /** where the limit comes from (default 'cgroup' when there is one) */
  limitSource?: LimitSource | null;
  /**
   * the most the measure can read (a cgroup's CPU quota or memory limit, its CPU set, the host's
   * CPUs or memory): no quantile goes above it. Absent or null: unbounded
   */
  ceiling?: number | null;
  /**
   * it is held at the limit now (a full host's CPU, the workload waiting to run: cpuLeftByHost):
   * a peak window's P(contention) is 1, and its countdown 0: it stays so while the host is full.
   * Its limit is its use that tick, which moves with the others', and a starved hog's P read
   * 0.06, 0.84, 0.21, 0.09 on ticks in a row, crossing 0.5 on 15 of 40 (a walkthrough)
   */
  held?: boolean;
}

export interface DemandForecast {
  resource: DemandResource;
  /** the model behind it (under 'auto': the engine for the policy's workloads) */
  model: ForecastModel;
  /** the windows' quantiles are of their peak, or of the value at their end (by model) */
  windowsOf: WindowMeasure;
  value: number;
  /** what it may use: its cgroup's limit (its own, an ancestor's, its CPU set's), or the host's capacity left by the others (see limitSource) */
  limit: number | null;
  /** 'cgroup': its quota or memory limit; 'host': the host's CPUs less the others' use, or memory in use plus what the host has available; null: none known */
  limitSource: LimitSource | null;
  /** the most the measure can read (DemandBounds.ceiling): the windows' quantiles stop there; null: unbounded */
  ceiling: number | null;
  /** present where it is held at the limit now (DemandBounds.held): a full host's CPU, the workload waiting to run */
  held?: true;
  windows: DemandWindow[];
  /** ms until the forecast p90 first reaches the limit (within 1%, as pContention): between now
   *  (the value) and the horizons' p90s (the demand's, before the ceiling cuts them), linearly,
   *  up to the longest horizon (no further than the forecast is asked to see); 0 when already
   *  there, null when not foreseen. With peak windows, a window whose peak's p90 reaches the
   *  limit puts the crossing within it. */
  timeToSaturationMs: number | null;
  /** 0..1: history behind the forecast, lowered by its recent relative error (with fromTask: the profile's confidence) */
  confidence: number;
  /**
   * present when the windows, contention map and countdown are its run's task profile's (a
   * trusted profile the run tracks: demand-from-run.ts), not its series'
   */
  fromTask?: FromTask;
}

/**
 * A demand model: one for every workload, or 'auto' (AUTO_SELECTED for the policy's workloads,
 * AUTO_OTHERS for the rest). Both forecast the peak over each window: the engine's peak heads,
 * and for the others the direct peak forecaster. That one costs more than calibrated:holt
 * (`make bench`, asked three targets a tick where the agent asks two: 4 us median and 13-14 us
 * mean a pair, 41-59 KB once its season is found, before its p90's calibration added about 15%,
 * 4% and 4 KB; against 3.3, 5.6 and 28-46), but
 * calibrated:holt read as a peak missed it 42-57% of the time on the recorded traces,
 * horizon-peak 10-18% (its 60 s peak; 16-27% before its p90 was calibrated on its own misses).
 */
export type DemandModel = ForecastModel | 'auto';
export const AUTO_SELECTED: ForecastModel = 'engine-peak';
export const AUTO_OTHERS: ForecastModel = 'horizon-peak';

/**
 * Demand "reaches" its limit within this share of it: a workload held at its memory limit reads
 * just under it (the kernel reclaims to stay there), and one at its CPU quota a little under it
 * (a period straddles the tick). Strictly above the limit, such a workload, in contention all
 * along, read P = 0.10: its calibrated p90 sits at the limit.
 */
export const REACHED_SHARE = 0.99;

/**
 * Samples a pair holds (since it started, or started afresh: not for a change of model, a
 * workload the policy starts selecting) before its series is counted down to its limit, unless
 * it is there already (a task profile's countdown stands): a climb's gate's four rises
 * (DampedTrend's CLIMB_RUN). On two or three samples the peaks' spread is that of one or two steps: a job's first tick caught
 * part way into its start (0.3 cores, then 0.6) read a 2 s countdown to the 1.15 cores the host
 * left it at its second tick, on 20 of 20 starts (horizon-peak), and a start over two ticks
 * (0.1, 0.4, 0.6) on its second to fourth. Their P(contention) stands as forecast.
 */
export const COUNTDOWN_SAMPLES = 5;

export interface DemandOptions {
  model: DemandModel;
  halfLifeMs: number;
  /** the agent's tick: the models' step from the first sample (learned from the first gaps when absent) */
  stepMs?: number;
  horizonsMs: number[];
  /** drop a pair not updated for this long (ms) */
  forgetAfterMs?: number;
}

/** One workload's sample of one resource, as a tick hands it over (DemandForecasts.observeAll). */
export interface DemandInput {
  workload: string;
  resource: DemandResource;
  value: number;
  bounds?: DemandBounds;
  /** the policy selects the workload (under 'auto': the engine) */
  selected?: boolean;
  /**
   * an OOM kill in the workload since the last tick: once its memory has fallen to half or less
   * of what it held (within KILL_WAIT samples), the pair starts afresh (see observe)
   */
  oomKilled?: boolean;
  /**
   * the workload's run is over (its cgroup emptied since it was last forecast: RunEnds), and the
   * pair starts afresh (a CPU hog that exited kept its 5 s peak at 1 core, P(contention) 1 and a
   * countdown for seconds over the empty cgroup); its cgroup may hold a new run by now
   */
  emptied?: boolean;
}

interface Pair {
  model: ForecastModel;
  /** what its windows are of (by model) */
  windowsOf: WindowMeasure;
  forecaster: Forecaster;
  lastMs: number;
  /**
   * medians forecast for the first horizon, oldest first, until they come due, with the highest
   * value seen since (what a peak window's median is of); the faded relative error of those
   */
  pending: { dueMs: number; p50: number; peak: number }[];
  relError: number;
  /** the values' own climb, for the time to saturation (see saturation): undamped, as a damped slope settles under a steady one's */
  trend: DampedTrend;
  /** whether a kill (DemandInput.oomKilled) has emptied the workload */
  kills: KillGate;
  /** whether its first samples were a start-up climb, now levelled off (StartupGate) */
  startup: StartupGate;
  /** samples since it started (afresh): its countdown waits for COUNTDOWN_SAMPLES */
  samples: number;
}

/** A pair not updated for this long is forgotten unless told otherwise (DemandOptions.forgetAfterMs). */
export const DEFAULT_FORGET_AFTER_MS = 10 * 60_000;

export class DemandForecasts {
  private readonly pairs = new Map<string, Pair>();
  /**
   * per resource, the learned models the engines of every workload share: a workload's forecast
   * draws on what the host's other workloads taught (from its first tick, too)
   */
  private readonly pools = new Map<DemandResource, LearnerPool>();
  private readonly opts: DemandOptions & { forgetAfterMs: number };
  private readonly horizonsMs: number[];

  constructor(opts: DemandOptions) {
    if (opts.horizonsMs.length === 0 || opts.horizonsMs.some((h) => !(h > 0))) throw new RangeError('demand horizons must be > 0');
    this.opts = { forgetAfterMs: DEFAULT_FORGET_AFTER_MS, ...opts };
    // only these are asked of a forecaster: each is a target the engine learns (and holds) on its own
    this.horizonsMs = [...new Set(opts.horizonsMs)].sort((a, b) => a - b);
    if (opts.model !== 'auto') createForecaster(opts.model, { halfLifeMs: opts.halfLifeMs }); // an unknown model fails here, not at the first tick
  }

  private poolFor(resource: DemandResource): LearnerPool {
    let pool = this.pools.get(resource);
    if (!pool) this.pools.set(resource, (pool = new LearnerPool()));
    return pool;
  }

  /**
   * Feeds one sample and returns the forecast for this workload and resource. `oomKilled`: an OOM
   * kill since the last sample (DemandInput.oomKilled); `emptied`: the workload's run is over
   * (DemandInput.emptied).
   */
  observe(workload: string, resource: DemandResource, value: number, atMs: number, bounds: DemandBounds = {}, selected = false, oomKilled = false, emptied = false): DemandForecast {
    const limit = bounds.limit ?? null;
    const ceiling = bounds.ceiling ?? null;
    const key = pairKey(workload, resource);
    const model = this.modelFor(selected);
    let p = this.pairs.get(key);
    // why the pair starts afresh here, if it does
    const afresh = !p ? 'new' : p.model !== model ? 'model' : p.kills.emptied(value, oomKilled) ? 'killed' : emptied ? 'ended' : p.startup.levelled(value) ? 'start-up' : null;
    if (!p || afresh !== null) {
      // a workload the policy starts (or stops) selecting changes model: a fresh forecaster.
      // So does a run that ended (its last process left), and a kill that emptied the workload: the climb that led to it taught the peak models
      // excesses (and the trend a line) that an emptied cgroup no longer has; kept, they held a
      // countdown and P 0.5 over the empty cgroup for two minutes. A run that starts again is
      // followed as it climbs from its first second (the cold heads' climb floor). And a
      // start-up climb that levelled off (StartupGate): read as a trend, it held a countdown.
      // A new pair, or a new run (after a kill that emptied it, or its end), is looked at for
      // a start-up from this sample; not one whose model changed, nor one started afresh from a
      // start-up. A kill's gate stays armed across a start-up's restart (the kill may be counted
      // a tick before its memory is freed).
      // (only the engine's models learn from a pool: no empty pool for the others)
      const learnerPool = model === 'engine' || model === 'engine-peak' ? this.poolFor(resource) : undefined;
      const startup = new StartupGate(value, afresh === 'model' || afresh === 'start-up');
      const kills = afresh === 'start-up' ? p!.kills : new KillGate(value);
      p = { model, windowsOf: windowsOf(model), forecaster: createForecaster(model, { halfLifeMs: this.opts.halfLifeMs, stepMs: this.opts.stepMs, learnerPool }), lastMs: atMs, pending: [], relError: 0, trend: new DampedTrend(undefined, undefined, 1), kills, startup, samples: afresh === 'model' ? p!.samples : 0 };
      this.pairs.set(key, p);
    }
    // How far off were the first horizon's medians that come due now? Against the value then,
    // or for a peak window the highest value since; relative to the larger of the two, so a
    // series near 0 does not blow up; faded like everything else.
    const alpha = 1 - Math.pow(0.5, Math.max(0, atMs - p.lastMs) / this.opts.halfLifeMs);
    const slack = (this.opts.stepMs ?? 1000) / 2; // a tick a little early still counts
    const peaks = p.windowsOf === 'peak';
    for (const e of p.pending) e.peak = Math.max(e.peak, value);
    while (p.pending.length > 0 && p.pending[0]!.dueMs <= atMs + slack) {
      const due = p.pending.shift()!;
      const actual = peaks ? due.peak : value;
      const scale = Math.max(Math.abs(actual), Math.abs(due.p50), 1e-9);
      p.relError += alpha * (Math.abs(actual - due.p50) / scale - p.relError);
    }
    p.forecaster.update(value, atMs);
    const stepMs = this.opts.stepMs ?? 1000;
    p.trend.update(value, Math.round((atMs - p.lastMs) / stepMs));
    p.lastMs = atMs;
    p.samples++;

    let history = 0;
    // Quantiles stop at the ceiling: a 2-CPU host's workload cannot use 7 cores, whatever a
    // burst taught the tail. The contention probability and the time to saturation are not cut
    // there: they are of demand reaching the limit, and at a cgroup's limit (the ceiling) a cut
    // p90 path read the limit only at the longest horizon (a 16 MiB/s fill 3 s from its 192 MiB
    // limit: 49-58 s to saturation) and a cut distribution no chance of passing it.
    const atMost = (x: number): number => shownDemand(resource, ceiling === null ? x : Math.min(ceiling, x));
    const reached = limit === null ? 0 : limit * REACHED_SHARE;
    const demandP90: number[] = [];
    const windows = this.horizonsMs.map((h, i): DemandWindow => {
      const f = p.forecaster.forecast(h);
      if (i === 0) history = f.confidence;
      const p90 = f.quantile(0.9);
      demandP90.push(p90);
      return {
        horizonMs: h, p50: atMost(f.quantile(0.5)), p90: atMost(p90), p99: atMost(f.quantile(0.99)),
        pContention: limit === null ? null : bounds.held && peaks ? 1 : shownProbability(f.exceedance(reached)),
      };
    });
    if (peaks) holdPeaksUp(windows, demandP90);
    p.pending.push({ dueMs: atMs + this.horizonsMs[0]!, p50: windows[0]!.p50, peak: Number.NEGATIVE_INFINITY });
    const tts = limit === null || (p.samples < COUNTDOWN_SAMPLES && value < reached) ? null : saturation(value, this.horizonsMs, demandP90, reached, p.trend, stepMs);
    return demandForecast(resource, model, value, bounds, windows, tts, history / (1 + 4 * p.relError));
  }

  /** observe() for each input in turn, all at `atMs`: a tick's samples at once (as ShardedDemandForecasts takes them). */
  observeAll(inputs: readonly DemandInput[], atMs: number): DemandForecast[] {
    return inputs.map((x) => this.observe(x.workload, x.resource, x.value, atMs, x.bounds, x.selected, x.oomKilled, x.emptied));
  }

  /** The model a workload's pairs get: the policy's one, or under 'auto' by whether the policy selects it. */
  modelFor(selected: boolean): ForecastModel {
    if (this.opts.model !== 'auto') return this.opts.model;
    return selected ? AUTO_SELECTED : AUTO_OTHERS;
  }

  /** Forgets pairs not seen for a while (workloads gone). */
  sweep(nowMs: number): void {
    for (const [k, p] of this.pairs) if (nowMs - p.lastMs > this.opts.forgetAfterMs) this.pairs.delete(k);
  }

  get size(): number {
    return this.pairs.size;
  }

  /** The horizons asked of every pair (ms), ascending, each once: a forecast's windows in this order. */
  get horizons(): readonly number[] {
    return this.horizonsMs;
  }

}

/** A quantile as forecasts give it: memory in whole bytes (a p90 of 6696960.000000002 beside a value of 6696960 read as more). */
export function shownDemand(resource: DemandResource, x: number): number {
  return resource === 'memory_bytes' ? Math.round(x) : x;
}

/** A pair's key: one workload's one resource. */
export const pairKey = (workload: string, resource: DemandResource): string => `${workload}\u0000${resource}`;

/** A forecast as returned, its limit, limit source and ceiling read off the bounds as observe() takes them. */
export function demandForecast(resource: DemandResource, model: ForecastModel, value: number, bounds: DemandBounds, windows: DemandWindow[], timeToSaturationMs: number | null, confidence: number): DemandForecast {
  const limit = bounds.limit ?? null;
  const held = bounds.held === true && limit !== null;
  const f: DemandForecast = {
    resource, model, windowsOf: windowsOf(model), value, limit, limitSource: limit === null ? null : bounds.limitSource ?? 'cgroup', ceiling: bounds.ceiling ?? null,
    // held: at its limit now, "there already" (its p90 a little under the use it is held at read
    // a countdown of 0.3-2.2 s, or none, beside P 1: a CI run's starved hogs)
    windows, timeToSaturationMs: held ? 0 : timeToSaturationMs, confidence,
  };
  if (held) f.held = true;
  return f;
}

/**
 * The peak within a longer horizon is at least the peak within a shorter one: each window's
 * quantiles, chance of contention and uncut p90 at least the shorter window's (the horizons
 * ascend). Each horizon is forecast on its own, and a burst read in the 5 s window could leave
 * the 60 s one under it (a p99 of 2 cores at 5 s and 1.8 at 60 s, P 0.028 against 1e-6).
 */
function holdPeaksUp(windows: DemandWindow[], p90s: number[]): void {
  for (let i = 1; i < windows.length; i++) {
    const a = windows[i - 1]!;
    const b = windows[i]!;
    b.p50 = Math.max(b.p50, a.p50);
    b.p90 = Math.max(b.p90, a.p90);
    b.p99 = Math.max(b.p99, a.p99);
    if (a.pContention !== null && b.pContention !== null) b.pContention = Math.max(b.pContention, a.pContention);
    p90s[i] = Math.max(p90s[i]!, p90s[i - 1]!);
  }
}

/**
 * When the p90 path (now: the value; then each horizon's p90, uncut) first reaches `limit` (given
 * within REACHED_SHARE), linearly between points; or, when the values climb, where their own
 * slope reaches it, if that is sooner; on a steady climb (DampedTrend.climbRate), where its line
 * does. Whether saturation is foreseen at all is the path's to say (the climb alone would warn
 * on a noisy steady series' wandering slope). When it is, the path's straight line between
 * horizons far apart placed a 3 MiB/s fill 30 s from its limit 2,279 s away (horizons 1 s and
 * 1 h), and 108 s when 40 s were left (5 s, 30 s, 120 s), and its countdown rose now and then
 * while the values rose: the climb's line does not wait on the horizons, nor on the damped trend
 * the peaks are forecast with. On a steady climb a p90 path is no countdown: a live 2 MiB/s leak
 * read 30 s with 80 s left, its 30 s peak's p90 at a 5.5 MiB/s pace.
 */
function saturation(value: number, horizonsMs: readonly number[], p90s: readonly number[], limit: number, trend: DampedTrend, stepMs: number): number | null {
  if (value >= limit) return 0;
  // (ms until a climb at `rate` per step carries the value to the limit)
  const crossing = (rate: number): number => Math.round(((limit - value) / rate) * stepMs);
  let t0 = 0;
  let v0 = value;
  for (let i = 0; i < horizonsMs.length; i++) {
    const p90 = p90s[i]!;
    if (p90 >= limit) {
      // on a steady climb, where its line reaches the limit. A settling climb whose line stops
      // short of it has no time to say: the chance of reaching it stays in the windows' P (a
      // cache settling 7% under its limit read 135-350 s at a straight line's rate, and within
      // 120 s on the p90's path, on 227 ticks of its settling; a leak whose rate swings 19 times
      // over, read as settling in its troughs, loses its countdown on 1-7 of its last 60 ticks
      // in four cases, its P as before). Nor have values under where the last climbs stopped, at
      // about one height under the limit, lately (DampedTrend.topsHeight: a collector's sawtooth,
      // 20 to 240 MiB at 3 MiB/s under 256, was counted down on over half of its ticks)
      const onLine = trend.climbStepsTo(limit);
      if (Number.isFinite(onLine)) return Math.round(onLine * stepMs);
      if (trend.settling || limit > trend.topsHeight) return null;
      const path = Math.round(t0 + ((limit - v0) / (p90 - v0)) * (horizonsMs[i]! - t0));
      return trend.climbing && !trend.recoiled && trend.slope > 0 ? Math.min(path, crossing(trend.slope)) : path;
    }
    t0 = horizonsMs[i]!;
    v0 = p90;
  }
  return null;
}
