// What the two models calibrated by an offset on their p90 share (the engine's heads,
// models/engine.ts, and horizon-peak's, models/horizon-peak.ts): the offset steps up after a
// miss and down a little after a hit, in units of the p90's recent error, a miss counted as soon
// as a value passes a pending peak's p90. The figures below are the engine's, where they were
// measured.

/** The share of outcomes above the p90 the calibration aims at: a miss steps up by 1 - this, a hit down by this. */
export const MISS_AIM = 0.1;
/**
 * A head's calibration step is the engine's over steps^this (see Head): an h-step target's misses
 * come in runs. A value h steps ahead is known only h steps later, and the h forecasts made
 * meanwhile mostly miss together: at the full step one burst lifted the offset h times over (the
 * recorded 60 s value targets 4-12% worse). Over sqrt(h) they were 1-2% better still, but missed
 * 13-14% of the time.
 */
export const GAIN_POWER = 0.25;
/**
 * Misses counted before their windows close, at most this many a slot, the oldest first (the rest
 * as their windows close or at a later slot). A spike passes every pending window's p90 at once:
 * all counted at once, they lifted the offset by h steps in a slot, and a young head's by as much
 * at every spike: from a noisy steady start (0.8 +- 0.3 cores, a spike to 1.3 one tick in 20) the
 * 60 s peak's path crossed a 2-core limit in 543 ticks of 18,000, against 367 counted at the
 * close (396 at 4 a slot, 420 at 8). At 1 or 2 a slot a phased workload's 60 s peaks still missed
 * 14-15% of the time.
 */
export const EARLY_MISSES_PER_SLOT = 4;
/**
 * The offset's unit is at least this share of the level. A near-constant series (Google's
 * job-382 memory, errors about 1e-4 of its mean) otherwise calibrates on noise: its p90 sat on
 * the value and its 12-step under-rates read 15-18%. A miss then moves the p90 by at least
 * gain x 0.003, about a ten-thousandth of the level: nothing a user sees.
 */
export const OFFSET_UNIT_FLOOR = 0.003;
/**
 * Slots back a climb's calibration is taken back to where the climb ends (settled, faded or
 * stopped on a level): its flag rises after four rises in a row (DampedTrend), and the misses of
 * those are the climb's too.
 */
export const CLIMB_BACK = 8;
/** Slots off a climb after which a climb read again is a new one (DampedTrend's noisy level is given up as long after a drop). */
export const CLIMB_EPISODE_GAP = 24;
/**
 * The offset's unit is at most this many times the p90's recent mean error (half-life
 * RECENT_ERROR_HALF_LIFE resolved forecasts): its long mean otherwise remembers a burst of
 * errors as long as the calibration does. A 40 s burst of context switches at the steady
 * recording's start (5,500/s, then 20-30) held the 60 s value's unit at 140-1,400 for 14
 * minutes, its errors about 5-10. (A cap of 5 or 3 gained more there, but lost elsewhere: an
 * under-rate bar at 3.)
 */
export const RECENT_ERROR_CAP = 8;
/**
 * Resolved forecasts: the half-life of the recent mean error RECENT_ERROR_CAP applies to, whatever
 * the horizon (at a 60 s head's 60 steps the steady table's 60 s value gained half as much).
 */
const RECENT_ERROR_HALF_LIFE = 50;
const RECENT_FADE = Math.pow(2, -1 / RECENT_ERROR_HALF_LIFE);

/** Numbers an ErrorUnit saves (save, restore, valueIn). */
export const ERROR_UNIT_FIELDS = 4;

/**
 * The unit an offset is counted in: the p90's mean error before the offset, faded, winsorised at
 * three of those means (one spike must not set the step for the next hundred), and no more than
 * RECENT_ERROR_CAP times the recent mean error.
 */
export class ErrorUnit {
  private sum = 0;
  private weight = 0;
  private recentSum = 0;
  private recentWeight = 0;

  /** fade: the long mean's fade per resolved forecast */
  constructor(private readonly fade: number) {}

  /** whether an error has been added */
  get known(): boolean {
    return this.weight > 0;
  }

  /** the unit (0 before any error) */
  get value(): number {
    return unitOf(this.sum, this.weight, this.recentSum, this.recentWeight);
  }

  add(err: number): void {
    // (winsorised at the long mean, not the capped unit: after a flat stretch the recent mean is
    // near 0, and a spike would be cut to almost nothing; not at a mean of 0: a series starting
    // at exactly 0 would keep a unit of 0 for ever)
    const mean = this.known ? this.sum / this.weight : err;
    const e = mean > 0 ? Math.min(err, 3 * mean) : err;
    this.sum = this.sum * this.fade + e;
    this.weight = this.weight * this.fade + 1;
    this.recentSum = this.recentSum * RECENT_FADE + e;
    this.recentWeight = this.recentWeight * RECENT_FADE + 1;
  }
  /** Its state into `into` from `at` (ERROR_UNIT_FIELDS numbers). */
  save(into: Float64Array, at: number): void {
    into[at] = this.sum;
    into[at + 1] = this.weight;
    into[at + 2] = this.recentSum;
    into[at + 3] = this.recentWeight;
  }

  restore(from: Float64Array, at: number): void {
    this.sum = from[at]!;
    this.weight = from[at + 1]!;
    this.recentSum = from[at + 2]!;
    this.recentWeight = from[at + 3]!;
  }

  /** The value of a unit saved at `at` (0 where none was known). */
  static valueIn(from: Float64Array, at: number): number {
    return unitOf(from[at]!, from[at + 1]!, from[at + 2]!, from[at + 3]!);
  }
}

function unitOf(sum: number, weight: number, recentSum: number, recentWeight: number): number {
  if (!(weight > 0)) return 0;
  const long = sum / weight;
  return recentWeight > 0 ? Math.min(long, RECENT_ERROR_CAP * (recentSum / recentWeight)) : long;
}
