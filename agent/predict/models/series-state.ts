// What the engine (engine.ts) knows about one series, kept once and read by every target it
// forecasts: the slot clock, the recent history, running means and spreads, and the windows the
// reference baselines read (the last few points, the last day, a VPA histogram). Each sample
// updates it once; each target's head reads it.
import { SortedWindow } from './sorted-window.js';
import { SlotHistory } from './slot-history.js';
import { StepClock } from './step-clock.js';
import { VpaHistogram, WarmVpa } from './vpa-histogram.js';
import { DampedTrend } from './damped-trend.js';
import { StairClimb } from './stair-climb.js';
import { EwSpread } from './ew-spread.js';
import { BlockMax } from './sliding-max.js';

/** Points in the short window: the last hour at 5-minute steps. */
export const SHORT_POINTS = 12;
/** Points in the long window (and the VPA half-life): a day at 5-minute steps. */
export const LONG_POINTS = 288;
/**
 * Samples without a new high before the long window's top is read as a plateau (plateauTop). At
 * 240, memory-growth's minor faults, a plateau that was passed, had their 60 s peak over its p90
 * 8.5% -> 10.8% of the time (9.8% at 300); at 600, random bursts of one height were counted down
 * on 658 ticks of 8,400 (311 at 300).
 */
export const PLATEAU_QUIET_SAMPLES = 300;
/**
 * The quantile from which the long window's top must be of one height (plateauTop): its top 2%,
 * about 6 of its 288 values (at 3%, bursts of 3 s once a minute on average were read as one less
 * often: the demand test's runs were counted down on 611 ticks of 8,400, 417 now).
 */
const PLATEAU_TOP = 0.98;
/**
 * How far under the top that quantile may lie, as a share of the median's distance below it
 * (plateauTop); a value must pass the top by as much to be a new high (a burst's height jitters).
 */
const PLATEAU_SPREAD = 0.05;
/**
 * Values that pass the long window's top by less than that, within PLATEAU_QUIET_SAMPLES, that
 * still leave it quiet (plateauTop): a jittering height passes it now and then (bursts of 1.59-1.61
 * held as a plateau on 98.9% of the ticks it could be at 3, 100% at 5), a creep (a leak in a slow
 * spell) on most samples. Without this, such a leak was held at its top and not counted down.
 */
const PLATEAU_NUDGES = 5;
/**
 * Blocks of RECORD_BLOCK_SLOTS slots over which the highest value is remembered (plateauTop): a
 * level the series stood above within about 4,096 slots is no plateau's top. Without it,
 * mixed-net's transmit rate, a phase at 7.6 MB/s after one at 22.5 and before another, was held
 * at its phase's rate (60 s peak loss 1.02 -> 1.38 of the best baseline's).
 */
const RECORD_BLOCKS = 16;
const RECORD_BLOCK_SLOTS = 256;
/** The EWMA of the reference baseline 3. */
const EWMA_ALPHA = 0.3;
/** Half-life, in points, of the spread that scales the learned model's volatility features. */
const DIFF_HALF_LIFE = 12;

export interface SeriesStateOptions {
  stepMs?: number;
  /** slots of history kept (default 4096: two weeks at 5 minutes, a day's seven copies fit) */
  historySteps?: number;
}

export class SeriesState {
  readonly clock: StepClock;
  readonly history: SlotHistory;
  samples = 0;
  /** newest value (after clamping at 0) and its time */
  last = Number.NaN;
  lastMs = Number.NaN;
  /** newest slot that no sample landed in */
  lastHole = Number.NEGATIVE_INFINITY;
  /** newest slot at which a climb read as settling ended (DampedTrend.settled) */
  settledSlot = Number.NEGATIVE_INFINITY;
  /** newest slot at which a climb ended: settled, faded or stopped on a level (DampedTrend) */
  endedSlot = Number.NEGATIVE_INFINITY;
  /** `samples` when a value last passed the long window's top by PLATEAU_SPREAD of its rise (a new high; plateauTop) */
  private highAt = 0;
  /** `samples` at the last PLATEAU_NUDGES + 1 values that passed the long window's top by less (a ring; plateauTop) */
  private readonly nudges = new Float64Array(PLATEAU_NUDGES + 1).fill(Number.NEGATIVE_INFINITY);
  private nudgeAt = 0;
  /** the highest value of about the last RECORD_BLOCKS * RECORD_BLOCK_SLOTS slots (plateauTop) */
  private readonly record = new BlockMax(RECORD_BLOCKS, RECORD_BLOCK_SLOTS);
  /** EWMA (alpha 0.3 per sample) and its spread, above and below */
  private readonly ew = new EwSpread(EWMA_ALPHA);
  /** Holt's damped trend: level and slope per slot */
  private readonly holt = new DampedTrend(undefined, undefined, undefined, true);
  /** a climb in steps, which the trend's climb gate drops on each step's level (floorPeak) */
  private readonly stairs = new StairClimb();
  /** exponentially weighted mean of |y| over about LONG_POINTS points: the series' level */
  private levelSum = 0;
  private levelWeight = 0;
  /** mean of |y| over every sample */
  private allSum = 0;
  /** exponentially weighted mean |y_t - y_t-1| (slow, about 12 points; fast, about 2) */
  private diffSum = 0;
  private diffWeight = 0;
  private fastSum = 0;
  private fastWeight = 0;
  readonly short = new SortedWindow(SHORT_POINTS);
  readonly long = new SortedWindow(LONG_POINTS);
  private vpa: VpaHistogram | undefined;
  /** the histogram's first LONG_POINTS samples, until it is built from them */
  private vpaWarm: WarmVpa | undefined = new WarmVpa(LONG_POINTS, LONG_POINTS);
  private vpaCache: { p50: number; p90: number } | undefined;

  constructor(opts: SeriesStateOptions = {}) {
    this.clock = new StepClock(opts.stepMs);
    this.history = new SlotHistory(opts.historySteps ?? 4096);
  }

  /** The EWMA; NaN before the first sample. */
  get ewMean(): number {
    return this.ew.mean;
  }

  /** The EWMA's biased exponentially weighted variance. */
  get ewVar(): number {
    return this.ew.variance;
  }

  /** The spread above the mean (EwSpread.riseSd): a job's exit does not widen what is forecast above it. */
  get riseSd(): number {
    return this.ew.riseSd;
  }

  /** Folds one sample in; returns how many slots it advanced (0 for the first). */
  update(x: number, atMs: number): number {
    const steps = this.clock.advance(atMs);
    const slot = this.clock.slot;
    if (steps > 1) this.lastHole = slot - 1;
    if (this.samples > 0) {
      const d = Math.abs(x - this.last);
      const slow = Math.pow(2, -1 / DIFF_HALF_LIFE);
      this.diffSum = this.diffSum * slow + d;
      this.diffWeight = this.diffWeight * slow + 1;
      this.fastSum = this.fastSum * 0.5 + d;
      this.fastWeight = this.fastWeight * 0.5 + 1;
    }
    this.ew.update(x);
    this.holt.update(x, steps);
    this.stairs.update(x, steps);
    if (this.holt.settled) this.settledSlot = slot;
    if (this.holt.settled || this.holt.fadedJustNow || this.holt.stopped) this.endedSlot = slot;
    const fade = Math.pow(2, -1 / LONG_POINTS);
    this.levelSum = this.levelSum * fade + x;
    this.levelWeight = this.levelWeight * fade + 1;
    this.allSum += x;
    this.samples++;
    this.last = x;
    this.lastMs = atMs;
    this.history.set(slot, x);
    this.short.push(x);
    if (this.long.size === 0 || x > this.long.max + PLATEAU_SPREAD * (this.long.max - this.long.linearQuantile(0.5))) this.highAt = this.samples;
    else if (x > this.long.max) {
      this.nudges[this.nudgeAt] = this.samples;
      this.nudgeAt = (this.nudgeAt + 1) % this.nudges.length;
    }
    this.long.push(x);
    this.record.push(slot, x);
    if (this.vpa) this.vpa.add(x);
    else {
      this.vpaWarm!.add(x);
      if (this.vpaWarm!.size >= LONG_POINTS) {
        this.vpa = this.vpaWarm!.build();
        this.vpaWarm = undefined;
      }
    }
    this.vpaCache = undefined;
    return steps;
  }

  /** Holt's damped-trend forecast `steps` slots ahead. */
  trendAt(steps: number): number {
    return this.holt.at(steps);
  }

  /** The values climb (DampedTrend.climbing): a cold peak forecast may follow the trend's path. */
  get climbing(): boolean {
    return this.holt.climbing;
  }

  /** The climb under way fell back (DampedTrend.recoiled): its path is not followed. */
  get recoiled(): boolean {
    return this.holt.recoiled;
  }

  /** The climb under way has faded (DampedTrend.faded): its path is not followed. */
  get faded(): boolean {
    return this.holt.faded;
  }

  /** A peak forecast `steps` slots ahead moved up to a steady climb's line (DampedTrend.floorPeak), or a climb in steps' (StairClimb). */
  floorPeak(steps: number, p50: number, p90: number): { p50: number; p90: number } {
    const moved = this.holt.floorPeak(steps, p50, p90);
    return this.stairs.floorPeak(steps, moved.p50, moved.p90);
  }

  /** Where a steady climb's line reaches `steps` slots ahead if it goes on that long; NaN off one (DampedTrend.climbReach). */
  climbReach(steps: number): number {
    return this.holt.climbReach(steps);
  }

  get slot(): number {
    return this.clock.slot;
  }

  /** Level of the series: its recent mean |y|, never far below its long-run mean (a scale for features). */
  get scale(): number {
    const level = this.levelWeight > 0 ? this.levelSum / this.levelWeight : 0;
    const overall = this.samples > 0 ? this.allSum / this.samples : 0;
    return Math.max(level, 0.1 * overall, 1e-12);
  }

  get level(): number {
    return this.levelWeight > 0 ? this.levelSum / this.levelWeight : 0;
  }

  /** Recent mean absolute step-to-step change (slow and fast). */
  get diff(): number {
    return this.diffWeight > 0 ? this.diffSum / this.diffWeight : 0;
  }

  get fastDiff(): number {
    return this.fastWeight > 0 ? this.fastSum / this.fastWeight : 0;
  }

  /**
   * The top of the long window where the values keep coming back to one height (bursts that reach
   * the same level each time: a job held by its own thread count), none has passed it for
   * PLATEAU_QUIET_SAMPLES, and none stood higher within the record's blocks; +infinity otherwise.
   * One height: the window's top 2% (about 6 of its 288 values: rarer bursts are never one) lie
   * within PLATEAU_SPREAD of the way from its median up to its max, which stands above the median
   * (a series at one level, or idle, has no plateau to be held to). Noise spread evenly under a
   * hard top sits at the edge of this (its top 2% about 4% of the way down).
   */
  get plateauTop(): number {
    // (the ring's oldest entry, at nudgeAt: more nudges than PLATEAU_NUDGES within the quiet is a creep, not a jitter)
    const quiet = Math.min(this.samples - this.highAt, this.samples - this.nudges[this.nudgeAt]!);
    if (this.samples < LONG_POINTS || quiet < PLATEAU_QUIET_SAMPLES) return Number.POSITIVE_INFINITY;
    const top = this.long.max;
    const rise = top - this.long.linearQuantile(0.5);
    const near = PLATEAU_SPREAD * rise;
    return rise > 0 && top - this.long.linearQuantile(PLATEAU_TOP) <= near && top + near >= this.record.max ? top : Number.POSITIVE_INFINITY;
  }

  /** p50 and p90 of the VPA-style histogram (a provisional one until LONG_POINTS samples). */
  vpaQuantiles(): { p50: number; p90: number } {
    if (this.vpaCache) return this.vpaCache;
    const h = this.vpa ?? this.vpaWarm!;
    this.vpaCache = { p50: h.percentile(0.5), p90: h.percentile(0.9) };
    return this.vpaCache;
  }
}
