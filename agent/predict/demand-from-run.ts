// A run's task profile in its demand forecasts. A workload's series alone learns a run's shape
// only as the run goes: early in a known one-core job the climb it had just made read as a climb
// to go on ("SAT_IN 5s cpu" on a 2-CPU host, for a job that stays at one core), and a memory peak
// its past runs all reached late was not foreseen until the memory rose. Where the task's past
// runs agree (a trusted profile) and this run is where they were at this point of the run, the
// windows, the contention map and the countdown are the profile's; elsewhere the series' stand.
import { REACHED_SHARE, type DemandForecast, type DemandResource } from './demand.js';
import { BINS, type Resource, type RunForecast } from './profiles.js';
import { normalUpperTail } from './stats.js';

/** The profile curve behind each demand resource (none for I/O operations: a profile has no such curve). */
const CURVE_OF: Partial<Record<DemandResource, Resource>> = {
  cpu_cores: 'cpuCores', memory_bytes: 'memPeakBytes', io_bytes_per_s: 'ioBytesPerSec', net_bytes_per_s: 'netBytesPerSec',
};

/**
 * A profile is trusted for a resource from two runs that measured it, whose durations agree
 * (RunForecast.confidenceOf at least this): one run's curve has no spread, its p90 is that run.
 */
export const TRUSTED_RUNS = 2;
export const TRUSTED_CONFIDENCE = 0.5;

const Z90 = 1.2815515655446004;
const Z99 = 2.3263478740408408;
/**
 * A slice's spread is at least this share of its mean: runs that agreed closely (two runs at
 * 1.00 cores) still vary, and a spread of 0 would make its contention probability 0 or 1.
 */
const MIN_SPREAD = 0.05;
/**
 * This run is where its past runs were when its value now is at most this much above their p99
 * around this point of the run (the slices either side too: runs do not keep time exactly). Above
 * it, this run is not like them (another input, a host under load), and the series stands.
 */
const TRACK_MARGIN = 1.1;

/** Where a run is: its task's forecast (from its profile) and the time since it started. */
export interface RunPosition {
  forecast: RunForecast;
  elapsedMs: number;
}

/** What a demand forecast took from the run's task profile (DemandForecast.fromTask). */
export interface FromTask {
  signature: string;
  /** the past runs it holds */
  runs: number;
}

/**
 * Gives the forecast the run's profile where it is trusted for the resource and the run tracks
 * it: each window's quantiles and chance of reaching the limit from the profile's slices within
 * it (a peak window: the slices from now to its end; a value window: the slice at its end, and
 * only while the run is expected to last), never below the value now, and the time until the
 * profile's p90 reaches the limit. Sets `fromTask` and returns true when it did.
 */
export function applyRunProfile(d: DemandForecast, run: RunPosition): boolean {
  const f = run.forecast;
  const name = CURVE_OF[d.resource];
  const curve = name && f.curve[name];
  if (!curve || f.runs < TRUSTED_RUNS || !((f.confidenceOf[name] ?? 0) >= TRUSTED_CONFIDENCE)) return false;
  // a run that has outlived its past runs' p90 duration is past what they can say
  if (!(f.binMs > 0) || run.elapsedMs > f.durationMs.p90) return false;
  const sliceAt = (ms: number): number => Math.min(BINS - 1, Math.max(0, Math.floor(ms / f.binMs)));
  const now = sliceAt(run.elapsedMs);
  const spread = (k: number): number => Math.max((curve.p90[k]! - curve.mean[k]!) / Z90, MIN_SPREAD * curve.mean[k]!);
  const p99 = (k: number): number => curve.mean[k]! + Z99 * spread(k);
  const nearNow = Math.max(p99(Math.max(0, now - 1)), p99(now), p99(Math.min(BINS - 1, now + 1)));
  if (d.value > nearNow * TRACK_MARGIN) return false;

  const cut = (x: number): number => (d.ceiling === null ? x : Math.min(d.ceiling, x));
  const reached = d.limit === null ? null : d.limit * REACHED_SHARE;
  const exceeds = (k: number, level: number): number => {
    const s = spread(k);
    return s > 0 ? normalUpperTail((level - curve.mean[k]!) / s) : Number(curve.mean[k]! >= level);
  };
  const peaks = d.windowsOf === 'peak';
  let used = false;
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
    // (a peak window holds the value now; the quantiles stop at the ceiling, as the series' do)
    const floor = peaks ? d.value : 0;
    w.p50 = cut(Math.max(floor, p50));
    w.p90 = cut(Math.max(floor, p90, w.p50));
    w.p99 = cut(Math.max(floor, top, w.p90));
    if (w.pContention !== null && reached !== null) w.pContention = peaks && d.value >= reached ? 1 : p;
    used = true;
  }
  if (!used) return false;
  if (reached !== null) d.timeToSaturationMs = d.value >= reached ? 0 : profileCrossing(curve.p90, f.binMs, run.elapsedMs, now, sliceAt(run.elapsedMs + Math.max(...d.windows.map((w) => w.horizonMs))), reached);
  // (the profile's confidence for this resource: how far its runs agree, not the series' history)
  d.confidence = f.confidenceOf[name]!;
  d.fromTask = { signature: f.signature, runs: f.runs };
  return true;
}

/**
 * ms until the first slice from `now` to `last` whose p90 reaches `level` (null: none does): a
 * later slice's start, the earliest its peak can come; the current slice's, half of what is left
 * of it (its peak may be anywhere in it, and it has not come yet).
 */
function profileCrossing(p90: readonly number[], binMs: number, elapsedMs: number, now: number, last: number, level: number): number | null {
  for (let k = now; k <= last; k++) {
    if (p90[k]! < level) continue;
    return Math.round(k === now ? ((k + 1) * binMs - elapsedMs) / 2 : k * binMs - elapsedMs);
  }
  return null;
}
