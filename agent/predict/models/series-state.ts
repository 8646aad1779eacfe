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
import { Plateau } from './plateau.js';

/** Points in the short window: the last hour at 5-minute steps. */
export const SHORT_POINTS = 12;
/** Points in the long window (and the VPA half-life): a day at 5-minute steps. */
export const LONG_POINTS = 288;
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
  /** a height the long window's values keep coming back to (plateauTop) */
  private readonly plateau = new Plateau(this.long);
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
    this.plateau.note(slot, x);
    this.long.push(x);
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

  /** The long window's plateau top (Plateau.top): +infinity where there is none. */
  get plateauTop(): number {
    return this.plateau.top;
  }

  /** p50 and p90 of the VPA-style histogram (a provisional one until LONG_POINTS samples). */
  vpaQuantiles(): { p50: number; p90: number } {
    if (this.vpaCache) return this.vpaCache;
    const h = this.vpa ?? this.vpaWarm!;
    this.vpaCache = { p50: h.percentile(0.5), p90: h.percentile(0.9) };
    return this.vpaCache;
  }
}
