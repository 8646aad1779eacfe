// Forecasts the PEAK over the next h steps directly, rather than reading it off a point
// forecast: forecast(h) here is the distribution of max(y over the next h), not of y at h.
// Capacity is planned for the peak, and a p90 of the value at h says little about it (the
// usual baselines miss the next hour's peak 27% to 89% of the time at their "p90").
// How: a base model gives a reference, the highest centre on its path over the next h steps
// (for the last-value base, simply the current value), raised to the usual peak over the next
// h at this phase of the season where the base knows one (seasonal-profile does). For each
// horizon asked, every sample records that reference; once the h steps after it are all seen,
// the realised peak minus the reference joins a rolling window, and the forecast is the
// reference now plus the window's quantiles (split-conformal ranks, as calibrated.ts). So the
// p90 covers the realised peak about 90% of the time while the peaks relative to the reference
// behave as they did. A climb's excesses do not outlive it (HorizonPeakOptions.climbs).
// Those rolling excesses are of overlapping windows, though: 256 of 60 s windows hold about four
// independent peaks, and their p90 was passed 16-27% of the time on the recorded traces. So the
// p90 may also carry an offset moved by its own misses, as the engine's (calibrate), and a peak
// whose values keep coming back to one height is held there (plateau.ts; with calibrate too).
import type { Forecast, Forecaster } from '../forecaster.js';
import { checkHorizon, EMPTY_FORECAST, Z90 } from '../stats.js';
import { errorForecast, forecastThrough, medianAndP90Of, quantileOf, shiftedForecast, splitTailForecast } from './distributions.js';
import { HorizonTable, PendingValues } from './horizon-table.js';
import { SortedWindow } from './sorted-window.js';
import { StepClock } from './step-clock.js';
import { CLIMB_BACK, CLIMB_EPISODE_GAP, EARLY_MISSES_PER_SLOT, ERROR_UNIT_FIELDS, ErrorUnit, GAIN_POWER, MISS_AIM, OFFSET_UNIT_FLOOR } from './miss-offset.js';
import { SlidingMax } from './sliding-max.js';
import { DampedTrend } from './damped-trend.js';
import { StairClimb } from './stair-climb.js';
import { quantileSorted } from './vpa-histogram.js';
import { heldP90, Plateau, PLATEAU_QUIET_SAMPLES } from './plateau.js';
import { LONG_POINTS } from './series-state.js';

export interface HorizonPeakOptions {
  /** sampling step; learned from the first gaps when absent */
  stepMs?: number;
  /** realised peaks kept per horizon (default 256) */
  window?: number;
  /** peaks needed before they take over from the base model's spread (default 20) */
  minErrors?: number;
  /**
   * until then, the reference also follows a damped linear trend of the values (Holt's, as the
   * engine's cold peak heads do): a workload filling its memory from its first second is seen
   * climbing before any of its peaks has resolved; and at any time a steady climb's line
   * (DampedTrend.climbLine), or a climb in steps' (StairClimb), is a floor to the p90 (default false: the engine's own peak
   * candidate keeps the base's reference; createForecaster's 'horizon-peak' sets it)
   */
  coldTrend?: boolean;
  /**
   * The excesses of windows that saw a climb (DampedTrend.climbing at their origin or in them):
   * 'forget' (default): learnt while the climb lasts, forgotten once a window with no climb in it
   * resolves, or at once where the climb was read as settling and its rises stopped, or (with
   * coldTrend) where it faded or stopped on a level (its windows still pending then are not
   * learnt); 'skip': never learnt (the engine's peak candidate: its trend candidate and climb
   * floor follow climbs). Either way, where the base has a season the
   * climbs are part of it, and kept (climbsRecur). A climb's excesses measure a reference that
   * lagged it: kept for the 256 forecasts after it, a cache that filled towards 125 MiB and then
   * sat flat read a peak p90 at its 144 MiB limit, P(contention) up to 0.64 and a countdown on 193
   * of the 220 ticks after the fill (this model), 53 (the engine, whose mix its losses in the fill
   * had made this candidate lead). Now 18 and none; and none here either once the base's spread,
   * which the cold longer horizons read until their first windows resolve, is learnt afresh when
   * a climb settles (update).
   * Forgotten as soon as the climb's flag drops, a noisy leak (1 MiB/s +- 2 MiB), whose flag
   * flickers, was warned 11-53 s ahead, not 88-90; as here, 89-96 s. Skipped in the engine:
   * recorded 60 s peaks' losses up to 6% lower (memory-growth 0.573 -> 0.539 of the best
   * baseline's), cpu-phases' missed 12.9% of the time, not 13.6% (the bar: 13%); public within 0.3%.
   */
  climbs?: 'forget' | 'skip';
  /**
   * An offset on the p90 moved by its own misses (see calibrate; default false: the engine
   * calibrates its mix, this among its candidates, on the mix's misses: calibrated here too, its
   * recorded 60 s peaks' losses rose 1-10% and cpu-phases' were missed 13.2% of the time;
   * createForecaster's 'horizon-peak' sets it). Also holds a warm peak at a plateau (Plateau:
   * the engine holds its own mix at one)
   */
  calibrate?: boolean;
}


/**
 * The offset's step, in units, over steps^GAIN_POWER (miss-offset.ts: an h-step window's misses
 * come in runs). Twice the engine's 0.03, where the recorded 60 s peaks were missed 10.6-17.5%
 * of the time (now 9.7-17.6%: cpu-phases' 14.9 -> 13.3%, cpu-steady's 13.3 -> 10.4%,
 * memory-growth's 15.2 -> 14.2%); at 0.1 within a point of these, losses up to 4% higher.
 */
const CALIBRATION_GAIN = 0.06;
/** Half-life of the offset's unit, in resolved forecasts: at least this many horizons (their windows overlap), and at least 100. */
const UNIT_HORIZONS = 8;
/**
 * The offset stays within these (in units): where the p90 is held (at the cap, or a little above
 * its p50), misses or hits would otherwise move it on and on without moving the forecast, a debt
 * the next hits or misses would pay back at once. Lowered a little: at 0 (only ever raised) the
 * public traces' peaks were missed 6-9% of the time, their next values 5-9%, and a noisy stop's
 * 60 s peak stayed 21 MiB over its level (a unit test); cpu-phases' 60 s peaks 10.7%, not 13.3%.
 * Down to -1, much as here (cpu-steady's 60 s peaks 12.3%, not 10.4%).
 */
const MIN_OFFSET_UNITS = -0.25;
const MAX_OFFSET_UNITS = 3;
/**
 * The raised p90 goes no higher than the highest peak over its reference the window holds, plus
 * this many units. Bursts of 1.6 cores from 0.3 for 3 s once a minute, under a 2-core limit they
 * never reach, read a 60 s peak p90 at the limit (the offset's steps on a peak that takes one
 * value, missed by a hair as the reference wobbles): counted down on 1,734 of 8,400 ticks (5
 * seeds), 442 before the offset; now 1,070 (834 on 5 other seeds, 442 before; 183 on those with
 * the plateau, warmPair). At 0 units about
 * 450, but cpu-phases' 60 s peaks were missed 22% of the time. (A cap in the excesses' own
 * spread, p90 - p50: no fewer.)
 */
const PEAK_CAP_UNITS = 0.5;
/** A horizon's calibration rows where it does not calibrate: none (shared, never written). */
const NO_ROWS = new Float64Array(0);
/** A horizon's unit where it is not calibrated: never added to, 0 */
const UNCALIBRATED = new ErrorUnit(1);
// (an add to it would throw)
Object.freeze(UNCALIBRATED);
/** Numbers the calibration's ring keeps a slot: offsetUnits and the unit */
const CLIMB_BACK_FIELDS = 1 + ERROR_UNIT_FIELDS;
/** Where a horizon's rows keep the unit as it stood at unitsAtClimb's slot (after the finals and the climb ring). */
const unitAtClimbIn = (h: { steps: number }): number => 2 * (h.steps + 1) + CLIMB_BACK_FIELDS * CLIMB_BACK;

/** Points of the base model's path looked at for its highest centre. */
const PATH_POINTS = 8;

/**
 * The cold trend's slope smoothing: twice the series state's (0.1). It is followed only on a
 * climb (DampedTrend.climbing), where it should read the climb's rate at once: on a 16 MiB/s
 * climb at 4.4 s from the limit it read 9.8 s, now 4.7 s (7.6 at 5.4 s left, was 14.9). The noisy
 * steady starts that warned went from 90 to 108 of 200 (with the gate of four rises in a row).
 */
const COLD_BETA = 0.2;

/** Steps between values whose median the cold cap reads as the noise (coldCap): the newest 16, once 8 are known. */
const COLD_DIFFS = 16;
const COLD_DIFFS_LEAST = 8;
/** Samples of a series' start-up, left out of the cold span's longer view (a start-up burst's). */
const COLD_SKIP = 8;
/** Horizons the cold span's longer view reaches back (coldCap). */
const COLD_SPANS = 4;
/** How many times the noise's spread the base's must be for the cold cap to hold it (coldCap). */
const COLD_WIDER = 3;

interface HorizonState {
  steps: number;
  horizonMs: number;
  /** per forecast made: its slot and reference */
  pending: PendingValues;
  excess: SortedWindow;
  /**
   * after the base took up another season (at slot freshFrom): the excesses of references made
   * since, which replace `excess` once minErrors of them are known (until then the old ones
   * stand in; see update)
   */
  fresh: SortedWindow | undefined;
  freshFrom: number;
  /** the reference the old excesses were moved to at freshFrom (moveExcesses; NaN: not moved): the references made before it that resolve after it are measured from it */
  movedTo: number;
  /** the excesses were cleared at freshFrom (moveExcesses): those of references made before it are not learnt */
  dropped: boolean;
  /** the max of the last `steps` slots */
  recentMax: SlidingMax;
  /** the first slot recentMax was given (a horizon first asked late has seen less than its span) */
  spanFrom: number;
  /** with coldTrend: the max of the last COLD_SPANS * steps slots, the start-up's samples left out (coldCap) */
  coldSpan: SlidingMax | undefined;
  /** how many of the newest excesses are of windows that saw a climb (where those are learnt) */
  climbRun: number;
  /** the reference computed at slot refSlot: update() and the forecast() after it share it */
  refSlot: number;
  ref: number;
  /**
   * The calibration's rows (see calibrate), one array (at 10,000 pairs, each typed array's own
   * overhead counts): per forecast made, at slot % (steps + 1), its p90 once warm (NaN: cold, or
   * its miss counted already); then that p90 before the offset (NaN: cold), steps + 1 further on;
   * then a ring of (offsetUnits, the unit's ERROR_UNIT_FIELDS) at each of the last CLIMB_BACK
   * slots; then the unit as it stood at unitsAtClimb's slot
   */
  rows: Float64Array;
  /** the lowest of the pending finals (a value under it passes none) */
  lowestFinal: number;
  /** the offset on the p90, in units (offsetNow) */
  offsetUnits: number;
  /** the offset's unit, also PEAK_CAP_UNITS' and heldP90's: |peak - the p90 before the offset| (UNCALIBRATED where rows are not kept) */
  readonly unit: ErrorUnit;
  /** offsetUnits from CLIMB_BACK slots before the climb under way was read as one (NaN: none under way; the unit then in rows) */
  unitsAtClimb: number;
}

export class HorizonPeakForecaster implements Forecaster {
  readonly name = 'horizon-peak' as const;
  private readonly clock: StepClock;
  private readonly horizons: HorizonTable<HorizonState>;
  private readonly minErrors: number;
  private readonly window: number;
  private samples = 0;
  /** newest slot that no sample landed in: a window containing it has no known peak */
  private lastHole = Number.NEGATIVE_INFINITY;
  /** the base's season length when it has one (see seasonOf) */
  private basePeriod: number | undefined;
  private readonly coldTrend: boolean;
  private readonly climbs: 'forget' | 'skip';
  private readonly calibrates: boolean;
  /** (its fade followed with coldTrend only, where it is read) */
  private readonly trend: DampedTrend;
  /** with coldTrend: a climb in steps, which the trend's climb gate drops on each level */
  private readonly stairs: StairClimb | undefined;
  /** with calibrate: the last LONG_POINTS values, and a height they keep coming back to (warmPair) */
  private readonly recent: SortedWindow | undefined;
  private readonly plateau: Plateau | undefined;
  /** with coldTrend: the newest COLD_DIFFS steps |x - x before|, a ring, for the cold cap (coldCap) */
  private readonly diffs: Float64Array | undefined;
  private readonly sortedDiffs: Float64Array | undefined;
  private diffCount = 0;
  private lastValue = Number.NaN;
  /** the noise's standard deviation, as read from the median of `diffs` when diffCount was noiseAt */
  private noise = Number.NaN;
  private noiseAt = -1;
  /** the newest slot the trend read as a climb, and the newest at which a climb read as settling stopped */
  private lastClimb = Number.NEGATIVE_INFINITY;
  private settledAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly base: Forecaster,
    opts: HorizonPeakOptions = {},
  ) {
    this.clock = new StepClock(opts.stepMs);
    const window = (this.window = opts.window ?? 256);
    this.minErrors = Math.max(1, opts.minErrors ?? 20);
    this.coldTrend = opts.coldTrend ?? false;
    this.trend = new DampedTrend(undefined, COLD_BETA, undefined, this.coldTrend);
    this.climbs = opts.climbs ?? 'forget';
    const calibrates = (this.calibrates = opts.calibrate ?? false);
    this.stairs = this.coldTrend ? new StairClimb() : undefined;
    // (single precision: a plateau is read to a few digits, and a pair keeps 288 of them)
    this.recent = calibrates ? new SortedWindow(LONG_POINTS, 'single') : undefined;
    this.plateau = this.recent ? new Plateau(this.recent) : undefined;
    this.diffs = this.coldTrend ? new Float64Array(COLD_DIFFS) : undefined;
    this.sortedDiffs = this.coldTrend ? new Float64Array(COLD_DIFFS) : undefined;
    this.horizons = new HorizonTable((steps) => ({
      steps,
      horizonMs: Number.NaN,
      pending: new PendingValues(),
      excess: new SortedWindow(window),
      fresh: undefined,
      freshFrom: 0,
      movedTo: Number.NaN,
      dropped: false,
      recentMax: new SlidingMax(steps),
      spanFrom: Number.NaN,
      coldSpan: this.coldTrend ? new SlidingMax(COLD_SPANS * steps) : undefined,
      climbRun: 0,
      refSlot: -1,
      ref: 0,
      rows: calibrates ? new Float64Array(2 * (steps + 1) + CLIMB_BACK_FIELDS * CLIMB_BACK + ERROR_UNIT_FIELDS).fill(Number.NaN, 0, 2 * (steps + 1)) : NO_ROWS,
      lowestFinal: Number.POSITIVE_INFINITY,
      offsetUnits: 0,
      // (calibrate runs only where rows are kept: the shared one is never added to)
      unit: calibrates ? new ErrorUnit(Math.pow(2, -1 / Math.max(100, UNIT_HORIZONS * steps))) : UNCALIBRATED,
      unitsAtClimb: Number.NaN,
    }));
  }

  update(value: number, atMs: number): void {
    if (!Number.isFinite(value) || !Number.isFinite(atMs)) return;
    this.base.update(value, atMs);
    this.samples++;
    // a base that takes up another season now means something else by its reference: the
    // excesses measured from the old one are replaced by those measured from the new one, once
    // minErrors of them are known. Cleared at once, the forecast fell back on the base's spread,
    // as wide as everything its profile holds: a leak that ended a period-3 noise read a 120 s
    // peak p90 of 2.2 GiB for 556 MiB to come, P(contention) 0.5 at 40 s from the limit. Until
    // then they stand in, moved to the new reference where the horizon spans a season, or where
    // it does not, dropped with coldTrend and moved without (moveExcesses)
    const period = seasonOf(this.base);
    const skipped = this.clock.advance(atMs) - 1;
    const slot = this.clock.slot;
    if (period !== this.basePeriod) {
      if (this.basePeriod !== undefined) {
        for (const h of this.horizons.values()) {
          h.freshFrom = slot;
          this.moveExcesses(h, this.basePeriod, period);
          // (none where there is nothing to replace: a fresh window of an earlier season would take over)
          h.fresh = h.excess.size > 0 ? new SortedWindow(this.window) : undefined;
        }
      }
      this.basePeriod = period;
    }
    if (skipped > 0) this.lastHole = slot - 1;
    const x = Math.max(0, value);
    if (this.plateau) {
      // (as the single-precision window keeps it: a height that rounds down would pass its own top)
      const kept = Math.fround(x);
      this.plateau.note(slot, kept);
      this.recent!.push(kept);
    }
    this.trend.update(x, skipped + 1);
    if (this.diffs) this.noteDiff(x);
    this.stairs?.update(x, skipped + 1);
    // (a climb read again after CLIMB_EPISODE_GAP slots or more off one: a new climb, not the last one's noise)
    const climbStarts = this.trend.climbing && this.lastClimb < slot - 1;
    const newClimb = climbStarts && slot - this.lastClimb > CLIMB_EPISODE_GAP;
    if (this.trend.climbing) this.lastClimb = slot;
    // a climb read as settling whose rises have stopped is over (DampedTrend.settled), and one
    // whose rate has faded is a slower one (DampedTrend.fadedJustNow, once a climb): its
    // excesses go now (they measured a reference that lagged the climb at its rate then), its
    // windows still pending are not learnt, and the base's spread, which its cold horizons
    // read, is learnt afresh. (A fill whose settling fit never agreed, 119 MiB and rising
    // 0.6 MiB/s, kept its 5 s peak's p90 at its 144 MiB limit from the 30 MiB excesses of its
    // first seconds: counted down on 38 of its last 64 ticks in a CI run)
    // So do the excesses of a climb that stopped on a level (DampedTrend.stopped), unless climbs
    // recur (the base's season holds them): kept until a window with no climb in it resolved, a
    // 2 MiB/s climb to 220 MiB under a 256 MiB limit, then flat, read P(its 60 s peak reaching
    // the limit) 1 and an 18 s countdown for 40 s of flat memory. A level with noise about it is
    // read as stopped a little later (8 steps or more after the climb's flag drops): its noise
    // raised the flag now and then, so no 120 s window went without a climb, and nothing was
    // forgotten.
    const settled = this.trend.settled || (this.coldTrend && (this.trend.fadedJustNow || (this.trend.stopped && !this.climbsRecur)));
    if (settled) {
      this.settledAt = slot;
      if (restartsSpread(this.base)) this.base.restartSpread();
    }
    for (const h of this.horizons.values()) {
      if (settled) this.forgetClimb(h, slot);
      if (this.calibrates) this.noteCalibration(h, slot, climbStarts, newClimb);
      const peak = h.recentMax.push(slot, x);
      if (x > h.lowestFinal) this.countEarlyMisses(h, x, slot);
      if (Number.isNaN(h.spanFrom)) h.spanFrom = slot;
      if (h.coldSpan && this.samples > COLD_SKIP) h.coldSpan.push(slot, x);
      while (h.pending.hasUpTo(slot - h.steps)) {
        const origin = h.pending.oldestSlot;
        const reference = h.pending.shift();
        // the window (origin, origin + h] must end here and have no hole
        // (a reference made before the season changed, where the old excesses were moved: from where they were moved to)
        const from = origin < h.freshFrom && !Number.isNaN(h.movedTo) ? h.movedTo : reference;
        if (origin + h.steps === slot && this.lastHole <= origin && !(h.dropped && origin < h.freshFrom)) this.resolve(h, peak - from, origin, peak);
      }
      h.pending.push(slot, this.reference(h));
      if (this.calibrates) this.noteFinal(h, slot);
    }
  }

  /**
   * The p90 of this horizon's warm forecast at `slot` (warmPair: as forecast() and quantilePair()
   * give it, before a climb's floors lift it), kept for its calibration; NaN while cold (the
   * base's spread is not calibrated here).
   */
  private noteFinal(h: HorizonState, slot: number): void {
    const n = h.steps + 1;
    const at = slot % n;
    h.rows[at] = Number.NaN;
    h.rows[n + at] = Number.NaN;
    if (h.excess.size < this.minErrors) return;
    const pair = this.warmPair(h);
    h.rows[at] = pair.p90;
    h.rows[n + at] = pair.before90;
    if (pair.p90 < h.lowestFinal) h.lowestFinal = pair.p90;
  }

  /**
   * Keeps the calibration's state of this slot in the ring CLIMB_BACK long, and where a climb
   * starts to be read as one, takes that of CLIMB_BACK slots before as the state to go back to
   * (kept over the flag's drops and rises until the climb ends, or a new climb starts).
   */
  private noteCalibration(h: HorizonState, slot: number, climbStarts: boolean, newClimb: boolean): void {
    const ring = 2 * (h.steps + 1);
    const b = ring + CLIMB_BACK_FIELDS * (slot % CLIMB_BACK);
    if (climbStarts && (Number.isNaN(h.unitsAtClimb) || newClimb)) {
      h.unitsAtClimb = h.rows[b]!;
      h.rows.copyWithin(unitAtClimbIn(h), b + 1, b + CLIMB_BACK_FIELDS);
    }
    h.rows[b] = h.offsetUnits;
    h.unit.save(h.rows, b + 1);
  }

  /** The warm forecast's p50 and p90 (excesses known), and that p90 before the offset. */
  private warmPair(h: HorizonState): { p50: number; p90: number; before90: number } {
    const reference = this.reference(h);
    const p50 = Math.max(0, reference + h.excess.quantile(0.5));
    const before90 = Math.max(0, reference + h.excess.quantile(0.9));
    // (a negative offset keeps the p90 above the p50, so the forecast's tail can be stretched to it)
    const p90 = Math.max(p50 + 0.01 * (before90 - p50), before90 + this.offsetNow(h, reference));
    // (raised no higher than the highest excess the window holds, plus PEAK_CAP_UNITS units)
    const cap = reference + h.excess.max + PEAK_CAP_UNITS * h.unit.value;
    const held = p90 > cap ? Math.max(before90, cap) : p90;
    // (a height the values keep coming back to holds the p50 at it at most, the p90 a little above:
    // bursts of one height under their limit were counted down, as the offset learnt on their misses)
    const top = this.plateauTop(h);
    if (top === Number.POSITIVE_INFINITY) return { p50, p90: held, before90 };
    const p50At = Math.min(p50, top);
    // (a warm horizon's only: a cold one, with no offset, is not held)
    return { p50: p50At, p90: heldP90(top, this.unitAt(h, reference), p50At, held), before90 };
  }

  /** The plateau's top (Plateau.top) over a horizon no longer than the quiet it was read from; +infinity otherwise. */
  private plateauTop(h: HorizonState): number {
    return this.plateau && h.steps <= PLATEAU_QUIET_SAMPLES ? this.plateau.top : Number.POSITIVE_INFINITY;
  }

  /** The offset on the p90 in levels: its units times the unit, at least OFFSET_UNIT_FLOOR of the reference. */
  private offsetNow(h: HorizonState, reference: number): number {
    if (h.offsetUnits === 0) return 0;
    return h.offsetUnits * this.unitAt(h, reference);
  }

  /** The offset's unit at this reference: at least OFFSET_UNIT_FLOOR of it. */
  private unitAt(h: HorizonState, reference: number): number {
    return Math.max(h.unit.value, OFFSET_UNIT_FLOOR * Math.abs(reference));
  }

  /**
   * A peak's forecast misses for certain once a value in its window passes its p90: the offset's
   * step up is taken then (EARLY_MISSES_PER_SLOT at most, the oldest first), not when the window
   * closes, a horizon later. Only windows that may be learnt: none with a hole in it (those of a
   * climb that ended, or before a season's excesses were dropped, are marked counted). Also sets
   * lowestFinal, exactly.
   */
  private countEarlyMisses(h: HorizonState, x: number, slot: number): void {
    const finals = h.rows;
    const n = h.steps + 1;
    let lowest = Number.POSITIVE_INFINITY;
    let left = EARLY_MISSES_PER_SLOT;
    for (let o = Math.max(slot - h.steps + 1, this.lastHole + 1, 0); o < slot; o++) {
      const f = finals[o % n]!;
      if (Number.isNaN(f)) continue;
      if (x > f && left > 0) {
        left--;
        finals[o % n] = Number.NaN;
        h.offsetUnits = Math.min(MAX_OFFSET_UNITS, h.offsetUnits + this.gainOf(h) * (1 - MISS_AIM));
      } else if (f < lowest) {
        lowest = f;
      }
    }
    h.lowestFinal = lowest;
  }

  /**
   * A learnt window's peak against the p90 forecast for it: the unit learns its error (before the
   * offset: measured after it, a raised offset would widen its own step), and the offset steps
   * up after a miss not counted already, down a little after a hit (a tie is neither).
   */
  private calibrate(h: HorizonState, origin: number, peak: number): void {
    const n = h.steps + 1;
    const at = origin % n;
    const before = h.rows[n + at]!;
    if (Number.isNaN(before)) return; // (made cold)
    const err = Math.abs(peak - before);
    h.unit.add(err);
    // (a miss counted early left its final NaN)
    const f = h.rows[at]!;
    if (!Number.isNaN(f) && peak !== f) h.offsetUnits = Math.min(MAX_OFFSET_UNITS, Math.max(MIN_OFFSET_UNITS, h.offsetUnits + this.gainOf(h) * ((peak > f ? 1 : 0) - MISS_AIM)));
  }

  /** The calibration's step at this horizon: an h-step window's misses come in runs. */
  private gainOf(h: HorizonState): number {
    return CALIBRATION_GAIN / Math.pow(h.steps, GAIN_POWER);
  }

  /**
   * Where the horizon spans a season, old or new, the old excesses are moved as the base takes up
   * (or drops) its season, so that the peaks they measured stand where they were: by the new
   * reference less the mean of the references still pending (made over the last h slots). Those
   * pending are measured from the new reference as they resolve. The fresh excesses take over as
   * before. A 0.6-core square wave, 5 s on and 5 s off, read its 60 s peak's p90 at 0.90-0.92
   * cores (the 90th percentile of 140 ticks; at most 0.90-2.80) for a peak of 0.61, the excesses
   * over a reference at its mean added to one at its peak (now 0.62-0.64: models.test.ts).
   * Over a whole season the reference does not hang on where in it the workload is; over a
   * shorter horizon it does, and no one move fits: with coldTrend the old excesses are dropped,
   * and those still pending with them, and its forecasts are cold (the base's spread, held to the
   * last spans' peak where it is much wider: coldCap) until minErrors fresh ones are known. (A
   * wave of 0.5 and 0.7 cores in turn read its 5 s peak at 0.98 for the 25 s after its season
   * was found, beside the 1.19 cores the host left it: counted down on 7 of them, a walkthrough.)
   * Without coldTrend (the engine's peak candidate, whose mix weighs it by its losses), they are
   * moved as for a whole season. Left as they were, the excesses over a reference without a
   * season were added to one raised to the season's usual peak: bursts of 1.6 cores from 0.3,
   * 3 s at random once a minute, in which a season of 130 s was found, read a 60 s peak of p50
   * 2.76 cores (the mix followed it: counted down to a 2-core limit on 1,750 of 8,400 ticks over
   * 5 seeds, now 1,201: 621 -> 374 and 376 -> 50 on two of them, 155 -> 179 on one, the one
   * above unchanged at 578, its p50 reading 2.2 for a while as the reference moves on with the
   * phase). Recorded traces' engine geo-mean 0.6322 -> 0.6311 (io-bursts' 60 s peak 0.4830 ->
   * 0.4774), public 0.8263 -> 0.8262.
   */
  private moveExcesses(h: HorizonState, was: number | undefined, now: number | undefined): void {
    h.movedTo = Number.NaN;
    h.dropped = false;
    if (h.steps < Math.max(was ?? 0, now ?? 0) && this.coldTrend) {
      h.excess.clear();
      h.climbRun = 0;
      h.dropped = true;
      // (nor do they count an early miss: their p90s, pending, are not learnt)
      if (this.calibrates) {
        h.rows.fill(Number.NaN, 0, h.steps + 1);
        h.lowestFinal = Number.POSITIVE_INFINITY;
      }
      return;
    }
    // (a horizon's state is made when it is first asked, its horizonMs set then: reference() can read it)
    const to = this.reference(h);
    // (from the references of the last h slots, made at every point of a season where the
    // horizon spans one: one alone wobbles with where it was made. Over a shorter horizon the
    // move fits the phase the season was found at, and fresh excesses take over as they come)
    const shift = to - h.pending.mean;
    if (!Number.isFinite(shift)) return;
    h.movedTo = to;
    if (h.excess.size === 0) return;
    const moved = new SortedWindow(this.window);
    for (let i = 0; i < h.excess.size; i++) moved.push(h.excess.get(i) - shift);
    h.excess = moved;
  }

  /**
   * A realised excess of the reference made at slot `origin`, as `climbs` has it: learnt, or not;
   * the climb's forgotten. Where learnt, the offset steps up after a miss not yet counted, down a
   * little after a hit (a tie is neither).
   */
  private resolve(h: HorizonState, excess: number, origin: number, peak: number): void {
    if (this.lastClimb >= origin) {
      // (the windows of a climb that settled, made before it stopped, are its too)
      if (!this.climbsRecur && (this.climbs === 'skip' || origin < this.settledAt)) return;
      // (no more than the window holds: all of it is the climb's)
      h.climbRun = Math.min(h.climbRun + 1, this.window);
    } else {
      // the first window with no climb in it: the climb's excesses are the newest, and go
      this.forgetClimb(h);
    }
    this.learn(h, excess, origin);
    if (this.calibrates) this.calibrate(h, origin, peak);
  }

  /**
   * Whether climbs are part of the base's season (a workload that ramps every cycle): their
   * excesses are then learnt and kept as any other. Forgotten at each flat stretch, a ramp every
   * 110 s had its 5 s peak missed 13.7% of the time, not 6.8% (horizon-peak). (A leak with a drop
   * every 30 s, whose season the base has not found, is still skipped by the engine: warned 160 s
   * ahead, not 224, and its P(contention) over 120 s 0.3-0.4 a minute before it crosses, not 0.84.)
   */
  private get climbsRecur(): boolean {
    return (this.basePeriod ?? 0) > 0;
  }

  /**
   * Forgets the climb's excesses (the newest climbRun of them), unless climbs recur. Where the
   * climb ended at `endedAt` (settled, faded or stopped: update), its calibration goes too: the
   * offset and its unit go back to where they stood CLIMB_BACK slots before it was read as a climb
   * (the offset where it is higher now: the climb's misses measured a reference that lagged it),
   * and its forecasts still pending count no early miss (resolve does not learn them). Kept, a
   * 5 MiB/s climb to 150 MiB held its 5 s peak's p90 at 160 MiB 10 s after it stopped, and
   * P(contention) 0.1 at 20 s. (Not where a window with no climb in it resolves: the four rises of
   * noise read as a climb came back so often on the recorded CPU series that their 60 s peaks
   * were missed 13-14% of the time, not 10-12%.)
   */
  private forgetClimb(h: HorizonState, endedAt = Number.NaN): void {
    if (this.climbsRecur) {
      h.climbRun = 0;
      return;
    }
    if (!Number.isNaN(endedAt) && this.calibrates) {
      if (!Number.isNaN(h.unitsAtClimb)) {
        h.offsetUnits = Math.min(h.offsetUnits, h.unitsAtClimb);
        h.unit.restore(h.rows, unitAtClimbIn(h));
        h.unitsAtClimb = Number.NaN;
      }
      // (those made up to its last climbing slot: resolve skips them, made before settledAt)
      const n = h.steps + 1;
      for (let o = Math.max(endedAt - h.steps, this.lastHole + 1, 0); o < endedAt && o <= this.lastClimb; o++) h.rows[o % n] = Number.NaN;
    }
    if (h.climbRun > 0) this.dropClimb(h);
  }

  /** Drops the climb's excesses (the newest climbRun of them). */
  private dropClimb(h: HorizonState): void {
    h.excess.dropNewest(h.climbRun);
    h.fresh?.dropNewest(h.climbRun);
    h.climbRun = 0;
  }

  /**
   * A realised excess, of the reference made at slot `origin`, joins the window (and the fresh
   * one after a change of season, if made since, which takes over once it holds minErrors).
   */
  private learn(h: HorizonState, excess: number, origin: number): void {
    h.excess.push(excess);
    if (h.fresh === undefined || origin < h.freshFrom) return;
    h.fresh.push(excess);
    if (h.fresh.size < this.minErrors) return;
    h.excess = h.fresh;
    h.fresh = undefined;
  }

  /** Distribution of max(value over the next `horizonMs`). */
  forecast(horizonMs: number): Forecast {
    checkHorizon(horizonMs);
    if (this.samples === 0) return EMPTY_FORECAST;
    if (!this.clock.settled) return this.base.forecast(horizonMs); // horizons are counted in steps
    const h = this.horizons.get(this.clock.stepsFor(horizonMs));
    if (Number.isNaN(h.horizonMs)) h.horizonMs = horizonMs;
    if (h.excess.size < this.minErrors) {
      // until peaks are known: the base model's spread at the horizon, moved up to the reference
      const reference = this.coldReference(h);
      const fc = this.base.forecast(horizonMs);
      const shifted = shiftedForecast(fc, reference - fc.quantile(0.5));
      const p50 = shifted.quantile(0.5);
      const p90 = shifted.quantile(0.9);
      const capped = this.coldCap(h, p50, p90);
      return this.onClimb(h, capped.p90 === p90 ? shifted : forecastThrough(shifted, capped.p50, capped.p90));
    }
    const fc = errorForecast(this.reference(h), h.excess.snapshot(), h.excess.mean, this.base.forecast(horizonMs).confidence);
    if (h.offsetUnits === 0 && this.plateauTop(h) === Number.POSITIVE_INFINITY) return this.onClimb(h, fc);
    // the offset (or a plateau) moves the p90: the distribution stretched about its p50 to it, or
    // where the excesses have no spread from their p50 to their p90 (a sparse series' are mostly
    // one value), a normal tail above the p50 through it (a stretch of nothing would drop the offset)
    const warm = this.warmPair(h);
    const a50 = fc.quantile(0.5);
    const a90 = fc.quantile(0.9);
    // (with no offset, warmPair reads the window's p50 and p90 as fc does: a plateau that holds neither leaves fc as it is)
    if (h.offsetUnits === 0 && warm.p50 === a50 && warm.p90 === a90) return this.onClimb(h, fc);
    if (a90 > a50 || !(warm.p90 > warm.p50)) return this.onClimb(h, forecastThrough(fc, warm.p50, warm.p90));
    const sd = (warm.p90 - warm.p50) / Z90;
    return this.onClimb(h, splitTailForecast(warm.p50, sd, sd, fc.confidence, 0));
  }

  /**
   * With coldTrend, a forecast on a steady climb moved up to the climb's line at the horizon
   * (climbFloor: its p50 on it, its p90 near above), or on a climb in steps to its line
   * (StairClimb); as it is off a climb, or where not under it.
   */
  private onClimb(h: HorizonState, fc: Forecast): Forecast {
    // (off a climb both are NaN: no quantile read, as most forecasts are off one)
    if (!this.coldTrend || (Number.isNaN(this.trend.climbLine(h.steps)) && Number.isNaN(this.stairs!.rate))) return fc;
    const p50 = fc.quantile(0.5);
    const p90 = fc.quantile(0.9);
    const moved = this.pairOnClimb(h, p50, p90);
    return moved.p50 === p50 && moved.p90 === p90 ? fc : forecastThrough(fc, moved.p50, moved.p90);
  }

  /** quantilePair's p50 and p90 moved as onClimb moves a forecast. */
  private pairOnClimb(h: HorizonState, p50: number, p90: number): { p50: number; p90: number } {
    if (!this.coldTrend) return { p50, p90 };
    const moved = this.trend.floorPeak(h.steps, p50, p90);
    // (a climb in steps: the trend's climb gate drops on each step's level, and the peaks' excesses
    // learnt in a step go when it stops on its level)
    return this.stairs!.floorPeak(h.steps, moved.p50, moved.p90);
  }

  /** The p50 and p90 of the peak, as forecast() would give them, read from the live window (no copy). */
  quantilePair(horizonMs: number): { p50: number; p90: number } {
    checkHorizon(horizonMs);
    if (this.samples === 0) return { p50: 0, p90: 0 };
    if (!this.clock.settled) return medianAndP90Of(this.base, horizonMs);
    const h = this.horizons.get(this.clock.stepsFor(horizonMs));
    if (Number.isNaN(h.horizonMs)) h.horizonMs = horizonMs;
    if (h.excess.size < this.minErrors) {
      const { p50, p90 } = medianAndP90Of(this.base, horizonMs);
      const delta = this.coldReference(h) - p50;
      const capped = this.coldCap(h, Math.max(0, p50 + delta), Math.max(0, p90 + delta));
      return this.pairOnClimb(h, capped.p50, capped.p90);
    }
    const warm = this.warmPair(h);
    return this.pairOnClimb(h, warm.p50, warm.p90);
  }

  /** Highest centre of the base model over the next h steps (a few points of its path). */
  private reference(h: HorizonState): number {
    if (h.refSlot !== this.clock.slot) {
      h.ref = this.computeReference(h);
      h.refSlot = this.clock.slot;
    }
    return h.ref;
  }

  /**
   * Before the peaks are known, the reference a forecast starts from: the trend's path too where
   * it is higher, while the values climb (see coldTrend, DampedTrend.climbing). Only the forecast
   * takes it: the excesses are measured from the base's reference, which they are added to once
   * known.
   */
  private coldReference(h: HorizonState): number {
    const reference = this.reference(h);
    // (nor on a faded climb: its damped path ran on at its rate for h, a fill 5 MiB from where
    // it settles, rising 0.9 MiB/s, 31 MiB over 60 s, to its limit)
    if (!this.coldTrend || !this.trend.climbing || this.trend.faded || this.trend.recoiled) return reference;
    return Math.max(reference, this.trend.at(h.steps));
  }

  /**
   * A cold forecast's p50 and p90 (before the peaks are known), with coldTrend and off a climb,
   * held to a cold span where its p90 is lower: the peak of the last h, or of the last 4 h but the
   * start-up's samples if higher, as the p50, plus Z90 times the noise (read from the median
   * step between values, so one burst's rise and fall are not read as noise; at least 1% of the
   * peak) as the p90. The base's spread still holds a start-up burst's innovations for a minute
   * or more (half-life 60 s): after 3 s at 2 cores, then 0.1, the 5 s peak's p90 read 0.34 at 6 s
   * and 0.21 at 20 s, 2 to 3 times the level, until 20 peaks were known. (The last 4 h: spikes
   * that come back less often than the horizon are peaks to come; the last h alone, between two
   * of them, capped them off. A start-up burst longer than the start-up's 8 samples lifts the
   * span while it is in those 4 h: the base's wide p90 stands then.) As given otherwise: on a climb the span lags
   * it, and a span not yet seen whole says too little of the peaks to come.
   */
  private coldCap(h: HorizonState, p50: number, p90: number): { p50: number; p90: number } {
    const noise = this.noiseSd();
    if (Number.isNaN(noise) || (this.trend.climbing && !this.trend.recoiled) || !Number.isNaN(this.stairs?.rate ?? Number.NaN) || !(this.clock.slot - h.spanFrom + 1 >= h.steps)) return { p50, p90 };
    const longer = h.coldSpan?.max ?? Number.NaN;
    const span = Number.isNaN(longer) ? h.recentMax.max : Math.max(h.recentMax.max, longer);
    const width = Math.max(Z90 * noise, 0.01 * span);
    // (only a spread several times the noise's: a steady noisy start keeps the base's, as wide)
    if (!(p90 > span + width && width > 0 && p90 - p50 > COLD_WIDER * width)) return { p50, p90 };
    const cap = span + width;
    return { p50: Math.min(p50, span), p90: cap };
  }

  /** Adds |x - the value before| to the ring. */
  private noteDiff(x: number): void {
    if (!Number.isNaN(this.lastValue)) {
      this.diffs![this.diffCount % COLD_DIFFS] = Math.abs(x - this.lastValue);
      this.diffCount++;
    }
    this.lastValue = x;
  }

  /** The noise's standard deviation, from the median of the ring (read when asked: only cold forecasts ask); NaN before COLD_DIFFS_LEAST steps. */
  private noiseSd(): number {
    if (this.noiseAt === this.diffCount || !this.diffs) return this.noise;
    this.noiseAt = this.diffCount;
    const n = Math.min(this.diffCount, COLD_DIFFS);
    if (n < COLD_DIFFS_LEAST) return (this.noise = Number.NaN);
    const sorted = this.sortedDiffs!.subarray(0, n);
    sorted.set(this.diffs.subarray(0, n));
    sorted.sort();
    // the difference of two independent normal values has sd sqrt(2) sigma; its absolute
    // value's median is 0.6745 of that
    return (this.noise = quantileSorted(sorted, 0.5) / (0.6745 * Math.SQRT2));
  }

  private computeReference(h: HorizonState): number {
    const step = h.horizonMs / h.steps;
    const points = Math.min(h.steps, PATH_POINTS);
    let best = Number.NEGATIVE_INFINITY;
    for (let j = 1; j <= points; j++) {
      const k = Math.round((h.steps * j) / points);
      best = Math.max(best, quantileOf(this.base, k * step, 0.5));
    }
    // a base that knows the usual peak at this time of its season raises the reference to it
    const seasonal = hasSeasonalPeak(this.base) ? this.base.seasonalPeak(h.steps) : Number.NaN;
    return Number.isNaN(seasonal) ? best : Math.max(best, seasonal);
  }
}

/** A base model that can say what the peak over the next steps usually is at this phase of its season. */
export interface SeasonalPeakSource {
  seasonalPeak(steps: number): number;
}

/** The season length a base model reports (seasonal-profile, holt-winters), if any. */
export function seasonOf(f: Forecaster): number | undefined {
  const p = (f as { period?: unknown }).period;
  return typeof p === 'number' ? p : undefined;
}

function restartsSpread(f: Forecaster): f is Forecaster & { restartSpread(): void } {
  return typeof (f as { restartSpread?: unknown }).restartSpread === 'function';
}

function hasSeasonalPeak(f: Forecaster): f is Forecaster & SeasonalPeakSource {
  return typeof (f as Partial<SeasonalPeakSource>).seasonalPeak === 'function';
}
