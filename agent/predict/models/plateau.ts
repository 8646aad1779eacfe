// A plateau a series' values keep coming back to: bursts that reach the same height each time (a
// job held by its own thread count), read from a window of its recent values. A peak forecast is
// held there (engine.ts capAtPlateau, horizon-peak.ts warmPair): its p50 at the height at most,
// its p90 a little above, where a p90 learnt on the bursts' misses had climbed past it.
import { BlockMax } from './sliding-max.js';
import type { SortedWindow } from './sorted-window.js';

/**
 * Samples without a new high before the window's top is read as a plateau. At 240 the engine did
 * a little better (recorded geo-mean 0.6243, random bursts of one height counted down on 263 ticks
 * of 8,400), but memory-growth's 60 s peak was over its p90 more often (12.3% -> 12.4%, the bar
 * 13%); at 600, the bursts 658 (311 at 300, 185 since a burst back at a held height is no new
 * high).
 */
export const PLATEAU_QUIET_SAMPLES = 300;
/**
 * The quantile from which the window's top must be of one height: its top 2% (the 98th
 * percentile lies between the 7th and 6th highest of 288 values: 3 bursts of 3 s). At 3%, bursts
 * of 3 s once a minute on average were read as one less often: the engine's demand test's runs
 * were counted down on 611 ticks of 8,400, 417 then (285 now).
 */
const PLATEAU_TOP = 0.98;
/**
 * How far under the top that quantile may lie, as a share of the median's distance below it; a
 * value must pass the top by as much to be a new high (a burst's height jitters), and not lie
 * within as much of a height held as a plateau that the record still reaches (a burst back at it).
 */
const PLATEAU_SPREAD = 0.05;
/**
 * Values that pass the window's top but are no new high, within PLATEAU_QUIET_SAMPLES, that still
 * leave it quiet: a jittering height passes it now and then (bursts of 1.59-1.61 held as a plateau
 * on 98.9% of the ticks they could be at 3, 100% at 5), a creep (a leak in a slow spell) on most
 * samples. Without this, such a leak was held at its top and not counted down. (A burst back at a
 * held height after a stretch without one is one too.)
 */
const PLATEAU_NUDGES = 5;
/**
 * Samples after a value came back to a held height (from a window whose top was under it) that
 * it must stay up through, over half way from that top, to be a level come back rather than a
 * burst: then a new high from where it came back, as before there was a held height. A burst of
 * 3 s is down by its fourth sample; a level needs 7 samples at the height before the window's top
 * 2% can read it. (A workload restarted under a plateau it had, its memory reloaded straight back
 * to it and creeping on past its limit, was otherwise held there and warned 16-56 s later: a
 * review.)
 */
const RETURN_SAMPLES = 5;
/**
 * Blocks of RECORD_BLOCK_SLOTS slots over which the highest value is remembered: a level the
 * series stood above within about 4,096 slots is no plateau's top. Without it, mixed-net's
 * transmit rate, a phase at 7.6 MB/s after one at 22.5 and before another, was held at its
 * phase's rate (the engine's 60 s peak loss 1.02 -> 1.38 of the best baseline's).
 */
const RECORD_BLOCKS = 16;
const RECORD_BLOCK_SLOTS = 256;
/**
 * How far the window's median may have risen over about PLATEAU_QUIET_SAMPLES, as a share of the
 * top's height above it: a base that climbs under bursts of one height is a leak coming up to
 * them, not a plateau. Bursts of 1.6 cores over a base climbing 0.002 cores a second to a 2-core
 * limit (the demand test's seeds 1 and 4): counted down 182-183 s before the base crossed where
 * held at the plateau until it passed it, 510-596 s now (510-615 s with no plateau at all; the
 * engine's seed 1 845 s, counted down before the climb began). At 0.2, memory-growth's minor
 * faults were held at a level they passed (the engine's 60 s peak over its p90 8.5% -> 9.8% of
 * the time).
 */
const PLATEAU_BASE_RISE = 0.1;
/** Medians kept, one every MARK_EVERY samples: the oldest is 270-299 samples old, to tell how far the median rose */
const MEDIAN_MARKS = 10;
/** (an integer: PLATEAU_QUIET_SAMPLES a multiple of MEDIAN_MARKS, or no mark would ever be taken) */
const MARK_EVERY = PLATEAU_QUIET_SAMPLES / MEDIAN_MARKS;

/**
 * Units of a peak's offset above a plateau's top that its p90 may reach (heldP90; the engine's
 * capAtPlateau, horizon-peak's warmPair). Bursts of 1.6 cores under a 2-core limit read a unit of
 * about 0.8 cores: at 0.5 units the engine's p90 stood at the limit, and one run of five was
 * counted down on 451 ticks (128 at 0.25), its recorded tables hardly different (geo-mean 0.6269
 * at 0.5, 0.6261 at 0.25); horizon-peak's bursts (five 30-minute runs) 834 ticks of 8,400 with no
 * plateau, 183 at 0.25 (and at 0.1), 325 at 0.5.
 */
const PLATEAU_CAP_UNITS = 0.25;

/** A peak's p90 held at a plateau's `top`, its p50 already at `top` at most: at most PLATEAU_CAP_UNITS `unit`s above, never under the p50. */
export function heldP90(top: number, unit: number, p50: number, p90: number): number {
  return Math.max(p50, Math.min(p90, top + PLATEAU_CAP_UNITS * unit));
}

/** How near a height a value is of it (PLATEAU_SPREAD of the height's rise over the window's median). */
function near(height: number, median: number): number {
  return PLATEAU_SPREAD * (height - median);
}

export class Plateau {
  private samples = 0;
  /** `samples` when a value last passed the window's top by PLATEAU_SPREAD of its rise, other than back at the held height (a new high); or when a level came back there (RETURN_SAMPLES) */
  private highAt = 0;
  /** `samples` at the last PLATEAU_NUDGES + 1 values that passed the window's top, but not as a new high (a ring) */
  private readonly nudges = new Float64Array(PLATEAU_NUDGES + 1).fill(Number.NEGATIVE_INFINITY);
  private nudgeAt = 0;
  /** the highest value of about the last RECORD_BLOCKS * RECORD_BLOCK_SLOTS slots */
  private readonly record = new BlockMax(RECORD_BLOCKS, RECORD_BLOCK_SLOTS);
  /** the window's median every MARK_EVERY samples, a ring (the oldest at markAt) */
  private readonly medians = new Float64Array(MEDIAN_MARKS).fill(Number.NaN);
  private markAt = 0;
  /** the last height read as a plateau (a top that held, at any sample): one a burst may come back to while the record reaches it */
  private held = Number.NEGATIVE_INFINITY;
  /** `samples` when a value came back to the held height, past the window's top by more than PLATEAU_SPREAD of its rise (-1: none pending), and the line it must stay over (RETURN_SAMPLES) */
  private returnAt = -1;
  private returnLine = Number.NaN;
  /** top as read at sample topAt (each head, each horizon reads it once a sample) */
  private topValue = Number.POSITIVE_INFINITY;
  private topAt = -1;

  /** `window`: the values read, which its owner pushes each one into after `note`. */
  constructor(private readonly window: SortedWindow) {}

  /** Notes the value of `slot` (slots never go back), before the window takes it, as the window keeps it (rounded to single precision where it is). */
  note(slot: number, x: number): void {
    // (the top of the window as the last sample left it: read here whether or not its owner read it)
    const before = this.top;
    if (before !== Number.POSITIVE_INFINITY) this.held = before;
    this.samples++;
    const w = this.window;
    if (this.returnAt >= 0) {
      // (down again: a burst back; still up: a level back, a new high from its return)
      if (!(x >= this.returnLine)) this.returnAt = -1;
      else if (this.samples - this.returnAt >= RETURN_SAMPLES) {
        this.highAt = Math.max(this.highAt, this.returnAt);
        this.returnAt = -1;
      }
    }
    if (w.size === 0) this.highAt = this.samples;
    else if (x > w.max) {
      // A burst back at a height held as a plateau (while the record still reaches it: after
      // that, a lone spike could stand for it) is no new high, however long the window went
      // without one. Bursts of 3 s about once a minute leave a 288-value window without one now
      // and then: the first back read as a new high, and the plateau was off for 300 samples
      // after it (the demand test's second seed counted down on 151 ticks of 1,680; 25 now). A
      // level back there is one after all (RETURN_SAMPLES).
      const median = w.linearQuantile(0.5);
      const back = this.held <= this.record.max ? this.held : Number.NEGATIVE_INFINITY;
      const past = x > w.max + near(w.max, median);
      const backAtHeld = back > w.max && Math.abs(x - back) <= near(back, median);
      if (past && !backAtHeld) {
        this.highAt = this.samples;
        this.returnAt = -1;
      } else {
        if (past) {
          this.returnAt = this.samples;
          this.returnLine = (w.max + x) / 2;
        }
        this.nudges[this.nudgeAt] = this.samples;
        this.nudgeAt = (this.nudgeAt + 1) % this.nudges.length;
      }
    }
    this.record.push(slot, x);
    if (this.samples % MARK_EVERY === 0) {
      this.medians[this.markAt] = w.linearQuantile(0.5);
      this.markAt = (this.markAt + 1) % MEDIAN_MARKS;
    }
  }

  /**
   * The top of the window where the values keep coming back to one height, none has passed it for
   * PLATEAU_QUIET_SAMPLES, and none stood higher within the record's blocks; +infinity otherwise
   * (and until the window is full). One height: the window's top 2% (rarer bursts are never one)
   * lie within PLATEAU_SPREAD of the way from its median up to its max, which stands above the
   * median (a series at one level, or idle, has no plateau to be held to). Noise spread evenly
   * under a hard top mostly reads as one (its top 2% lie about 4% of the way down, and it passes
   * its max rarely): its peak over a horizon is at that top, so holding it there costs little.
   */
  get top(): number {
    if (this.topAt !== this.samples) {
      this.topValue = this.readTop();
      this.topAt = this.samples;
    }
    return this.topValue;
  }

  private readTop(): number {
    const w = this.window;
    // (the ring's oldest entry, at nudgeAt: more nudges than PLATEAU_NUDGES within the quiet is a creep, not a jitter)
    const quiet = Math.min(this.samples - this.highAt, this.samples - this.nudges[this.nudgeAt]!);
    if (w.size < w.capacity || quiet < PLATEAU_QUIET_SAMPLES) return Number.POSITIVE_INFINITY;
    const top = w.max;
    const median = w.linearQuantile(0.5);
    const rise = top - median;
    const within = near(top, median);
    // (the median about PLATEAU_QUIET_SAMPLES ago: the oldest mark; NaN compares false)
    const climbed = median - this.medians[this.markAt]! > PLATEAU_BASE_RISE * rise;
    return rise > 0 && !climbed && top - w.linearQuantile(PLATEAU_TOP) <= within && top + within >= this.record.max ? top : Number.POSITIVE_INFINITY;
  }
}
