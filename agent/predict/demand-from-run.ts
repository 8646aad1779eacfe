// A run's task profile in its demand forecasts. A workload's series alone learns a run's shape
// only as the run goes: early in a known one-core job the climb it had just made read as a climb
// to go on ("SAT_IN 5s cpu" on a 2-CPU host, for a job that stays at one core), and a memory peak
// its past runs all reached late was not foreseen until the memory rose. Where the task's past
// runs agree (a trusted profile) and this run has been where they were (its last ticks), the
// windows, the contention map and the countdown are the profile's; elsewhere the series' stand.
import { REACHED_SHARE, shownDemand, type DemandForecast, type DemandResource } from './demand.js';
import { BINS, sliceOf, type Resource, type RunForecast, type RunSample } from './profiles.js';
import { normalUpperTail, shownProbability, Z90 } from './stats.js';

/** The profile curve behind each demand resource (none for I/O operations: a profile has no such curve). */
const CURVE_OF: Partial<Record<DemandResource, Resource>> = {
  cpu_cores: 'cpuCores', memory_bytes: 'memPeakBytes', io_bytes_per_s: 'ioBytesPerSec', net_bytes_per_s: 'netBytesPerSec',
};

/**
 * A profile is trusted for a resource above this confidence (RunForecast.confidenceOf): that
 * takes two runs or more that measured it, whose durations agree (one run's curve has no
 * spread: its p90 is that run, and its confidence is at most 0.5).
 */
export const TRUSTED_CONFIDENCE = 0.5;

const Z99 = 2.3263478740408408;
/**
 * A slice's spread is at least this share of its mean: runs that agreed closely (two runs at
 * 1.00 cores) still vary, and a spread of 0 would make its contention probability 0 or 1.
 */
const MIN_SPREAD = 0.05;
/**
 * This run has been where its past runs were when its last ticks' mean is at most this much above
 * their p99 at those points of the run (the slices either side too: runs do not keep time
 * exactly), plus a little (TRACK_SLACK: a task its past runs saw do no I/O may do a byte). A
 * mean, not the tick alone: one busy tick (1.3 cores for a one-core job) flipped the forecast
 * between the profile's and the series' at every tick. Above it, this run is not like them
 * (another input, a host under load), and the series stands.
 */
const TRACK_MARGIN = 1.1;
const TRACK_TICKS = 5;
const TRACK_SLACK: Record<Resource, number> = { cpuCores: 0.05, memPeakBytes: 8 * 2 ** 20, memSustainedBytes: 8 * 2 ** 20, ioBytesPerSec: 64 * 1024, netBytesPerSec: 64 * 1024 };

/** Where a run is: its task's forecast (from its profile), the time since it started, and its last samples. */
export interface RunPosition {
  forecast: RunForecast;
  elapsedMs: number;
  /** its last samples (atMs since the run started), oldest first: TRACK_TICKS are looked at */
  recent: readonly RunSample[];
}

/** What a demand forecast took from the run's task profile (DemandForecast.fromTask). */
export interface FromTask {
  signature: string;
  /** the past runs it holds */
  runs: number;
  /** the time to saturation is the profile's, sooner than the series' (or the series foresaw none) */
  foresaw: boolean;
}

/**
 * Its runs agree on a resource when the p90 of each run's own peak is at most this much above
 * their mean (plus TRACK_SLACK): the confidence weighs the runs and their durations only, and one
 * run of three at twice the CPU (another input its signature does not see) made a profile more
 * trusted, its p90 at the host's CPUs, and the next ordinary run read "1s cpu(task)" for five
 * ticks (a walkthrough). Each run's own peak, not the highest slice's spread across runs: three
 * runs spiking to 2 cores at 4, 6 and 8 s of 20 s peak alike, where the slices read 0.91 and 2.03.
 */
const AGREE_MARGIN = 1.25;

/** Whether a run's profile is trusted for a profile resource: TRUSTED_CONFIDENCE, and its runs' peaks agree (AGREE_MARGIN). */
export function trustedFor(f: RunForecast, r: Resource): boolean {
  const peak = f.runPeak[r];
  return f.curve[r] !== undefined && peak !== undefined && (f.confidenceOf[r] ?? 0) > TRUSTED_CONFIDENCE &&
    peak.p90 <= AGREE_MARGIN * peak.mean + TRACK_SLACK[r];
}

/** Whether a run's profile is trusted for any of the resources a demand forecast has. */
export const trustedForDemand = (f: RunForecast): boolean => Object.values(CURVE_OF).some((r) => trustedFor(f, r));

/**
 * Gives the forecast the run's profile where it is trusted for the resource and the run tracks
 * it: each window's quantiles and chance of reaching the limit from the profile's slices within
 * it (a peak window: the slices from now to its end, never under the value now; a value window:
 * the slice at its end, and only while the run is expected to last), and the time until the
 * profile's p90 reaches the limit. Where the value now is above what the past runs had here (their
 * p99) the series' quantiles, chance and countdown stand where they are higher and sooner: the
 * run is followed, not its past. Sets `fromTask` and returns true when it did.
 */
export function applyRunProfile(d: DemandForecast, run: RunPosition): boolean {
  const f = run.forecast;
  const name = CURVE_OF[d.resource];
  const curve = name && f.curve[name];
  if (!curve || !trustedFor(f, name)) return false;
  // a run that has outlived its past runs' p90 duration is past what they can say
  if (!(f.binMs > 0) || !(run.elapsedMs >= 0) || run.elapsedMs > f.durationMs.p90) return false;
  const sliceAt = (ms: number): number => sliceOf(f, ms);
  const spread = (k: number): number => Math.max((curve.p90[k]! - curve.mean[k]!) / Z90, MIN_SPREAD * curve.mean[k]!);
  const p99 = (k: number): number => curve.mean[k]! + Z99 * spread(k);
  const p99Near = (k: number): number => Math.max(p99(Math.max(0, k - 1)), p99(k), p99(Math.min(BINS - 1, k + 1)));
  if (!tracks(run, name, sliceAt, p99Near)) return false;

  const now = sliceAt(run.elapsedMs);
  // the value now beyond what its past runs had here: the series' risk stands too (memory: the
  // run's own, its page cache left out, as its profile has it, not its usage with the cache: a
  // job holding a read file's cache was beyond its past runs at every tick, and their foresight
  // lost; a review)
  const last = run.recent[run.recent.length - 1];
  const valueNow = name.startsWith('mem') && last?.memBytes !== undefined ? last.memBytes : d.value;
  const beyond = valueNow > p99Near(now);
  const cut = (x: number): number => shownDemand(d.resource, d.ceiling === null ? x : Math.min(d.ceiling, x));
  const reached = d.limit === null ? null : d.limit * REACHED_SHARE;
  const exceeds = (k: number, level: number): number => {
    const s = spread(k);
    return s > 0 ? normalUpperTail((level - curve.mean[k]!) / s) : Number(curve.mean[k]! >= level);
  };
  const peaks = d.windowsOf === 'peak';
  let replaced = 0;
  for (const w of d.windows) {
    const end = run.elapsedMs + w.horizonMs;
    // (a value window past the run's expected end is of what comes after it: not the profile's to say)
    if (!peaks && end > f.durationMs.p90) continue;
    const from = peaks ? now : sliceAt(end);
    const to = sliceAt(end);
    let p50 = 0;
    let p90 = 0;
    let top = 0;
    let p = 0;
    for (let k = from; k <= to; k++) {
      p50 = Math.max(p50, curve.mean[k]!);
      p90 = Math.max(p90, curve.p90[k]!);
      top = Math.max(top, p99(k));
      if (reached !== null) p = Math.max(p, exceeds(k, reached));
    }
    // (a peak window holds the value now, and one above its past runs the series' too, where
    // higher: the run is followed, not its past; the quantiles stop at the ceiling, as the series' do)
    const floor = peaks ? d.value : 0;
    const kept = beyond ? { p50: w.p50, p90: w.p90, p99: w.p99 } : { p50: 0, p90: 0, p99: 0 };
    w.p50 = cut(Math.max(floor, p50, kept.p50));
    w.p90 = cut(Math.max(floor, p90, w.p50, kept.p90));
    w.p99 = cut(Math.max(floor, top, w.p90, kept.p99));
    if (w.pContention !== null && reached !== null) {
      const own = peaks && d.value >= reached ? 1 : p;
      w.pContention = shownProbability(beyond ? Math.max(w.pContention, own) : own);
    }
    replaced++;
  }
  if (replaced === 0) return false;
  let foresaw = false;
  if (reached !== null) {
    const series = d.timeToSaturationMs;
    const last = sliceAt(run.elapsedMs + Math.max(...d.windows.map((w) => w.horizonMs)));
    const own = d.value >= reached ? 0 : crossing(curve.p90, f.binMs, run.elapsedMs, now, last, reached);
    // the series' stands beside the profile's where the run is beyond its past runs, and where a
    // window kept the series' (what it foresaw may be in that one)
    const keepSeries = beyond || replaced < d.windows.length;
    d.timeToSaturationMs = keepSeries ? sooner(series, own) : own;
    foresaw = own !== null && own > 0 && (series === null || own < series);
  }
  // (the profile's confidence for this resource: how far its runs agree, not the series' history)
  d.confidence = f.confidenceOf[name]!;
  d.fromTask = { signature: f.signature, runs: f.runs, foresaw };
  return true;
}

/** Whether the run's last ticks were where its past runs were (TRACK_MARGIN, TRACK_SLACK); with no tick measuring it, yes. */
function tracks(run: RunPosition, name: Resource, sliceAt: (ms: number) => number, p99Near: (k: number) => number): boolean {
  let sum = 0;
  let bound = 0;
  let n = 0;
  for (const s of run.recent.slice(-TRACK_TICKS)) {
    const v = name === 'memPeakBytes' ? s.memPeakBytes ?? s.memBytes : name === 'memSustainedBytes' ? s.memBytes : s[name];
    if (v === undefined) continue;
    sum += v;
    bound += p99Near(sliceAt(s.atMs));
    n++;
  }
  return n === 0 || sum <= TRACK_MARGIN * bound + n * TRACK_SLACK[name];
}

const sooner = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));

/**
 * ms until the first slice from `now` to `last` whose p90 reaches `level` (null: none does): its
 * start, the earliest its peak can come; at least 1 ms once that start has passed (0 says the
 * value is there already, and it is not: the peak may come at any moment of the slice, or, for a
 * run slower than its past runs, past the slice).
 */
function crossing(p90: readonly number[], binMs: number, elapsedMs: number, now: number, last: number, level: number): number | null {
  for (let k = now; k <= last; k++) {
    if (p90[k]! >= level) return Math.max(1, Math.round(k * binMs - elapsedMs));
  }
  return null;
}
