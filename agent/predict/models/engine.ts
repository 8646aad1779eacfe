// The forecasting engine: per target (the value h steps ahead, or the peak over the next h
// steps), several candidate forecasts of (p50, p90), combined by how well each did lately, then
// calibrated on the combination's own misses. Models 'engine' (the value at the horizon) and
// 'engine-peak' (the peak over the horizon) are views of one engine per series.
//
// Candidates, each giving (p50, p90) for the target:
// - last: the newest value;              - window: median and max of the last 12 points;
// - ewma: mean + 1.28 sd (alpha 0.3);     - histogram: a VPA-style decaying histogram;
// - day: quantiles of the last 288 points;
// - seasonal: quantiles of what the target was at the same phase of the last 7 seasons (a day
//   when it fits the history, else the season detected in the data);
// - conformal: the EWMA plus a local scale times quantiles of its own normalised errors at this
//   horizon (adapts at once when the series calms down or flares up);
// - profile: a seasonal profile with an AR(1) deviation, calibrated on its errors
//   (calibrated.ts), or for the peak the direct peak forecaster (horizon-peak.ts);
// - learned: a quantile GBM trained online on the series' own history (learner.ts);
// - span: the window as long as the horizon: for a peak, the peak over the last h (p50) and that
//   plus the spread above the EWMA, falls counted up to the rises (p90); for a value, the short window's median and the max
//   over the last h;
// - trend: Holt's damped linear trend projected h steps (for a peak: the higher end of the
//   path), its p90 above it by quantiles of its own errors at this horizon;
// - shifted: the seasonal values, each moved by how far the level (mean of the last 6 points)
//   now is from the level a season before (a daily job on a host whose load has risen);
// - pooled (with a learner pool only): the learned candidate's GBM, trained on the rows of every
//   series in the pool (learner-pool.ts: the agent pools its workloads' engines per resource,
//   the backtest a dataset's series per resource, replayed in lock-step). On the public traces
//   it took the 12-step targets' ratios from 0.857/0.615 to 0.816/0.553 on Alibaba and moved
//   the other cells by -1%..0%; the series' own learner stays beside it.
// - pooled-seasonal (with a pool, once a season is held): the pooled GBM again, its label the
//   target less the seasonal candidate's median rather than less the newest value. Depth-3
//   trees copy a feature into the label poorly; anchored apart, the two pooled models err apart.
//   Public ratios -0.3% to -2.1% on Alibaba and Bitbrains, Google unchanged.
// Tried and left out: a line and a parabola fitted by least squares through the last 2h slots
// (window-regression.ts, a forecaster of its own): as candidates they moved the public targets
// by -1.5%..+1.5% (worse on 7 of 9) and the recorded ones either way; the trend covers ramps.
// The first five are the reference baselines of BASELINES.md, counted in points as there.
//
// Combination: every candidate's p90 is scored by the pinball loss when its target resolves;
// losses fade (half-life `lossHalfLife` resolved forecasts); the weights are
// exp(-eta * (loss - best) / best), so the best candidate leads and those close to it share;
// p50 and p90 are the weighted means of the candidates', less those whose p90 lies more than
// three bands from the weighted median p90 (robust-pool.ts: a wild candidate drags a mean however
// little it weighs; public ratios 0-1.9% lower, recorded peaks 1-29%). Two learning rates (5: a
// broad mix, 20: a sharp leader) each make such a combination, a third weighs the candidates by
// their losses at this phase of the season only (48 bins of it, remembered over 3 seasons), and
// those three are mixed the same way by their own recent p90 loss. Until COLD_RESOLVED forecasts
// have resolved (a 60-step peak resolves its first only 60 steps in) one candidate leads alone:
// the trend for a value (its median not under the short window's), for a peak the span (the
// last window's peak; its median the newest quarter's once that is older than half the span)
// or, while the values climb
// (DampedTrend.climbing), the trend's path where that is higher (memory filling from a
// workload's first second). Cold or not, a peak whose values rose at each of the last 8 steps
// is not forecast under the climb's line (Head.floorAtClimb), nor one whose values climb in steps
// under the steps' line (StairClimb): the mix hears of a climb only as its windows close.
// Calibration (adaptive conformal inference on an offset): after every resolved forecast an
// offset added to the p90 moves up by 0.9 x gain when the actual exceeded the final p90 and down
// by 0.1 x gain when it did not, so the share above the p90 settles near 10% whatever the mix
// (a peak's miss is counted as soon as a value in its window passes the p90, a few a slot);
// an additive shift towards 10% also lowers the pinball loss, where stretching the band would
// multiply the spiky moments' errors. The offset is kept in units of the recent error of the p90
// before the offset (winsorised, so one burst does not set it; never under 0.3% of the level):
// as quick on a short jumpy recording as on a month of calm 5-minute data, and when the errors
// shrink (a burst at a workload's start is over) the offset shrinks with them, where one kept in
// levels held the burst's size for minutes (a recorded steady workload's 60 s peak: p90 about
// 30x its level ten minutes after its first seconds' burst). The step is divided by a power of
// the horizon (its misses come in runs); the offset leaks towards its own running mean
// (half-life 100 resolved forecasts, longer for long horizons) so a burst of misses made while
// the candidates were still learning does not hold the p90 up afterwards, while a lasting
// offset the mix needs stays (a leak towards zero held the misses above 10%). Losses, learner
// and offset are per target: each target learns from its own misses.
//
// A forecast is the normal through the final p50 and p90 up to the p90 and, above it, a tail of
// its own spread calibrated towards a 1% p99 (TAIL_GAIN); other quantiles and exceedance are
// read off it, clamped at 0 like every model here.
//
// Cost (test/bench/forecast.ts): one sample and a forecast at three targets, 18.2 us median in
// `make bench` on this VM (52x the EWMA alone) against 23.3 us the same day before the trees'
// tests and the losses went without branches, a tree's arrays were read into locals and a full
// window's push became one shift; most of it the candidates and their combination (this VM's
// figures move by 10-15% from hour to hour); the learner's refits (about
// 1.5 ms on 1024 rows) come every 1024 resolved forecasts per target, at a phase drawn from the
// series' first sample so series started together do not refit on the same tick. At 10,000
// series the collector matters as much: a sample at three targets leaves about 6.6 KB of
// garbage, a head's fixed arrays share one buffer (slab.ts), its pending forecasts' rows grow
// with it (pending-ring.ts), and growing buffers start at staggered sizes (growth.ts). Even so,
// at 10,000 series a full collection pauses 160-490 ms (about 630 heap objects a series to mark):
// every 4-7 s while the series are young (--trace-gc over the bench's ticks, three runs), one
// tick in 40 once their learners hold all their rows (1,300 samples: ticks of 655-767 ms, and
// 1,091 ms with the collection's 336). Hence the agent may hold its demand forecasts in worker
// threads (demand-shards.ts, forecast.demand_workers): each worker's pairs, its ticks and its
// collections are its own.
import type { Forecast, Forecaster } from '../forecaster.js';
import { checkHalfLife, checkHorizon, EMPTY_FORECAST, pinball90, Z90 } from '../stats.js';
import { CalibratedForecaster } from './calibrated.js';
import { normalForecast, splitTailAbove, splitTailForecast } from './distributions.js';
import { FEATURE_COUNT, fillFeatures, type SeasonalValues } from './features.js';
import { HistoryWeight } from './history-weight.js';
import { HorizonPeakForecaster, type SeasonalPeakSource } from './horizon-peak.js';
import { CLIMB_BACK, CLIMB_EPISODE_GAP, EARLY_MISSES_PER_SLOT, ERROR_UNIT_FIELDS, ErrorUnit, GAIN_POWER, MISS_AIM, OFFSET_UNIT_FLOOR } from './miss-offset.js';
import { clampFeature, QuantileLearner, type LearnerOptions } from './learner.js';
import type { LearnerPool, PooledLearnerOptions } from './learner-pool.js';
import { SeasonalProfileForecaster } from './seasonal-profile.js';
import { SeriesState } from './series-state.js';
import { heldP90, PLATEAU_QUIET_SAMPLES } from './plateau.js';
import { PendingRing } from './pending-ring.js';
import { Float64Slab } from './slab.js';
import { SlotHistory } from './slot-history.js';
import { identityOrder, leaveOutWild, sortedOrder } from './robust-pool.js';
import { SortedBag, SortedWindow } from './sorted-window.js';
import { SlidingMax } from './sliding-max.js';

export const ENGINE_CANDIDATES = ['last', 'window', 'ewma', 'histogram', 'day', 'seasonal', 'conformal', 'profile', 'learned', 'span', 'trend', 'shifted', 'pooled', 'pooled-seasonal'] as const;
export type EngineCandidate = (typeof ENGINE_CANDIDATES)[number];
const K = ENGINE_CANDIDATES.length;
const C = Object.fromEntries(ENGINE_CANDIDATES.map((c, i) => [c, i])) as Record<EngineCandidate, number>;

export type EngineTargetKind = 'point' | 'peak';

/** One way to combine the candidates: how sharply the best leads, and how long their losses are remembered (x the head's half-life). */
export interface EngineMix {
  eta: number;
  memory?: number;
  /** its losses are those of forecasts made at this phase of the season (a daily backup's hour) */
  phase?: boolean;
}

export interface EngineOptions {
  /** confidence fades with this half-life; also the seasonal profile's memory */
  halfLifeMs: number;
  /** sampling step; learned from the first gaps when absent */
  stepMs?: number;
  /** the season tried first (default: a day) */
  seasonMs?: number;
  /** longest season, in steps, taken from seasonMs (default 2048); beyond it the season is detected */
  maxSeasonSteps?: number;
  /** slots of history kept (default DEFAULT_HISTORY_STEPS) */
  historySteps?: number;
  /** candidates' losses halve over this many resolved forecasts (default 72) */
  lossHalfLife?: number;
  /** one learning rate: how sharply the best candidate leads (instead of `mixes`) */
  eta?: number;
  /**
   * combinations, each a learning rate and a memory (the candidates' loss half-life times this),
   * mixed by their own recent p90 loss (default: DEFAULT_MIXES, or [{ eta }])
   */
  mixes?: readonly EngineMix[];
  /**
   * 'offset' (default): an offset on the p90, in units of its recent error, moved by every
   * resolved forecast; 'width': a factor on the band p90 - p50 instead (its logarithm moved the
   * same way); 'none': the combination as it is
   */
  calibration?: 'offset' | 'width' | 'none';
  /** step per resolved forecast: up 0.9 x gain after a miss, down 0.1 x gain after a hit (default 0.03 for 'offset', 0.02 for 'width') */
  calibrationGain?: number;
  /** the learned candidate's options, or false to leave it out */
  learner?: LearnerOptions | false;
  /** learned models shared with other series' engines (one per target): the 'pooled' candidate, beside the series' own 'learned' one */
  learnerPool?: LearnerPool;
  /** candidates to leave out (for ablations) */
  without?: readonly EngineCandidate[];
}

const DAY_MS = 86_400_000;
/** Slots of history an engine keeps unless told otherwise; also the longest horizon the agent's policy may ask for, in ticks. */
export const DEFAULT_HISTORY_STEPS = 4096;
const SEASONS = 7;
/**
 * The tail above the p90 is calibrated on its own (its spread a factor of the body's): each
 * resolved forecast moves the factor's logarithm up by 0.99 x this gain when the actual passed
 * the p99, down by 0.01 x it when not (over the horizon's fourth root, as the offset), so the
 * p99 is passed about 1% of the time. Read off the body's normal, the p99 was passed by 2-14%
 * of the outcomes (public and recorded traces; now 1-6%). The factor stays within [1/2, 6]: at
 * 10 and 20 the p99 of a series bursting to 24 after zeros reached 134.
 */
const TAIL_GAIN = 0.3;
const MAX_LOG_TAIL = Math.log(6);
/**
 * The spread below a value's p50 is calibrated on its own, so the p10 is passed downwards about
 * 10% of the time (steps as the tail's: +0.9 x gain after a value under the p10, -0.1 x gain
 * otherwise, over the horizon's fourth root); its factor on the body's spread stays within
 * [1/4, 32] (at 8, a series switching between phases still passed its p10 21% of the time).
 * The normal through the p50 and p90 said nothing of the values below the p50: on a series
 * switching between phases, the 60 s value's P(above a level under its p50) read 0.9-1 where
 * the level was passed 55% of the time. The six recordings' Brier skill (against each series' own
 * rate, known in hindsight; 18 targets) went from a median -0.20 to -0.08, cpu-phases 60 s value
 * -0.20 -> -0.01, io-bursts -0.23 -> -0.08; the public traces' and the peaks' did not move, nor
 * did any quantile at or above the p50. Not for a peak: its values
 * below the p50 are skewed the other way (its P there read too low, and this widened it further).
 */
const LOWER_GAIN = 0.3;
const MAX_LOG_LOWER = Math.log(32);
const MIN_LOG_LOWER = Math.log(0.25);
const MIN_LOG_TAIL = Math.log(0.5);
/** Normalised errors kept by the conformal candidate, and the half-life of its scale. */
const CONFORMAL_WINDOW = 576;
const CONFORMAL_SCALE_HALF_LIFE = 12;
const CONFORMAL_MIN_ERRORS = 20;
/** Half-life, in resolved forecasts, of the typical error that sets the offset's step, and of the offset itself. */
const ERROR_SCALE_HALF_LIFE = 100;
/**
 * Consecutive forecasts of a target h steps ahead share most of what they miss (a peak over 60
 * steps above all: 60 overlapping windows), so the resolved forecasts behind a loss or a miss
 * rate are worth about 1/h of their count: those memories last at least this many horizons.
 */
const MEMORY_HORIZONS = 8;
/**
 * The offset's leak half-life is at least this share of the forecasts a head has resolved. At
 * 1 and 2, Google's short series kept their first misses and covered too much (7-8%, 6-7%).
 */
const LEAK_AGE_SHARE = 0.5;
/**
 * The offset leaks towards its own running mean, whose half-life is this share of the leak's,
 * not towards zero. Towards zero, the leak's pull (about (1 - fade) x offset a resolved
 * forecast) balanced the calibration's push only at a miss rate above the aim wherever the mix
 * needs a lasting offset: the recorded 60 s values missed 12-14% of the time, the peaks 10-20%.
 * Towards the mean, a lasting offset stays and a burst's is damped (the leak takes a third of
 * it, the hits the rest). Recorded under-rates 1.3 points from 10% on average (1.7 before),
 * three more cells within 7-13%, loss ratios 0.7% higher (geometric mean); public within 0.004.
 * At 1 and 2 the under-rates stayed above 13% on two cells; at 0.01 (no leak) mixed-host's peak
 * covered too much (6.8%).
 */
const LEAK_MEAN_SHARE = 0.5;
/** The band factor stays within [1/4, 4]. */
const MAX_LOG_FACTOR = Math.log(4);
/** Points averaged for the level the shifted candidate compares. */
const SHIFT_LEVEL_POINTS = 6;
/** Resolved forecasts before the losses pick the leaders. */
const COLD_RESOLVED = 10;
/**
 * Learning rates of the combination, and how sharply the better one's combination leads. A
 * month of 5-minute data favours a sharp leader (20: the public traces' 12-step ratios 1-3%
 * lower than at 5), minutes of a recording a broad mix (5); each head finds its own. The third
 * weighs the candidates by their losses at this phase of the season only: a daily backup's hour
 * is won by the seasonal candidates, the rest of the day by the others, and a memory of the
 * whole day forgets the backup's lesson by the next night (Bitbrains' ratios 0.759/0.911/0.956
 * -> 0.743/0.883/0.943, Google's 1-1.5% lower, the rest within 0.5%).
 */
const DEFAULT_MIXES: readonly EngineMix[] = [{ eta: 5 }, { eta: 20 }, { eta: 10, phase: true }];
const META_ETA = 5;
/** Phase mixes: bins per season, seasons a bin's losses last, visits before a bin is trusted, shortest season. */
const PHASE_BINS = 48;
const PHASE_MEMORY_SEASONS = 3;
const PHASE_MIN_VISITS = 6;
const PHASE_MIN_SEASON = 24;
/** Heads (targets) tracked at once, per kind. */
const MAX_HEADS = 8;

/** The engine's view of one target: its candidates' pending forecasts, losses, learner, calibration. */
class Head {
  /** the forecasts still pending, and what each needs when its target resolves */
  private readonly pending: PendingRing;
  /** the candidates' faded p90 losses, one set per memory of the mixes (the first: memory 1) */
  private readonly lossSets: Float64Array[];
  private readonly lossFades: number[];
  /** per mix: which loss set it reads */
  private readonly mixSet: number[];
  /** per mix: whether it reads the losses at this phase of the season */
  private readonly mixPhase: boolean[];
  private readonly hasPhase: boolean;
  /** per phase bin of the season, the candidates' faded p90 losses (K each), and visits; allocated with a season */
  private phaseLosses: Float32Array | undefined;
  private phaseVisits: Uint32Array | undefined;
  private phaseSeason = 0;
  private phaseBins = 0;
  private phaseFade = 1;
  private readonly phaseView: Float64Array;
  private readonly p50: Float64Array;
  private readonly p90: Float64Array;
  private readonly features: Float64Array;
  /** a resolved forecast's features, as the learners are handed them */
  private readonly learnRow: Float64Array;
  private readonly featureCount: number;
  private readonly learner: RowLearner | undefined;
  private readonly pooled: RowLearner | undefined;
  /** the pool's model of the target relative to the seasonal median (candidate pooled-seasonal) */
  private readonly pooledSeasonal: RowLearner | undefined;
  private readonly scaleFade: number;
  private readonly lossFade: number;
  private readonly calibrationGain: number;
  private readonly calibrationFade: number;
  /** the offset's leak per resolved forecast: calibrationFade at first, slower as the head ages */
  private offsetFade: number;
  /** ...and the fade of the running mean it leaks towards (see LEAK_MEAN_SHARE) */
  private offsetMeanFade: number;
  private errScaleSum = 0;
  private errScaleWeight = 0;
  /** conformal candidate: the EWMA as a projection, calibrated on its own errors */
  private readonly conformal = new Projection();
  /** trend candidate: Holt's projection, the same way */
  private readonly trend = new Projection();
  /** peak heads: max over the last `steps` slots */
  private readonly recentMax: SlidingMax;
  /** peak heads, while cold: max over the newest quarter of them, the cold leader's median (see combine); dropped once warm */
  private quarterMax: SlidingMax | undefined;
  private quarterPeak = Number.NaN;
  /**
   * peak heads: at most the lowest final p90 of the pending forecasts not yet counted as missed
   * (exact after a scan for misses, lowered by each forecast since; value heads: +infinity)
   */
  private lowestPending = Number.POSITIVE_INFINITY;
  /** the max over the last `steps` slots, the newest included */
  private spanMax = Number.NaN;
  /** peak heads: the window's max at each slot of the history (single precision: a level) */
  private readonly windowMax: SlotHistory | undefined;
  /** the combination's p50 at the newest slot (the band's lower end for 'width' calibration) */
  private comb50 = 0;
  /** 'width' calibration: log of the factor on the band p90 - p50 */
  private logFactor = 0;
  /** 'offset' calibration: added to the p90, in levels (offsetUnits times the current unit, at each forecast) */
  private offset = 0;
  /** ...and as learnt, in units of the recent error of the p90 before it */
  private offsetUnits = 0;
  /** ...and its running mean, which the leak pulls it towards */
  private offsetMean = 0;
  /**
   * the climb under way (SeriesState.climbing): the slot it was first seen at (NaN: none),
   * whether it is the series' start-up climb (the head's first, before any forecast resolved),
   * the offset's units and their mean then; whether a climb was seen; and the slots of the
   * forecasts of the series' start-up climb once it settled, [from, to)
   */
  private climbFrom = Number.NaN;
  private startClimb = false;
  private climbSeen = false;
  private unitsAtClimb = 0;
  private meanAtClimb = 0;
  private settledFrom = Number.NaN;
  private settledTo = Number.NaN;
  /**
   * What endClimb takes back (BACK_FIELDS a slot: offsetUnits, offsetMean, errScaleSum,
   * errScaleWeight, the errors the conformal and trend candidates learnt so far, the value, and
   * the offset's unit) at each of the last CLIMB_BACK slots (NaN: not yet); then as it
   * stood CLIMB_BACK slots before the climb under way was read as one (NaN: none; kept over its
   * flag's drops until it ends, or a climb read CLIMB_EPISODE_GAP slots after the last is a new one)
   */
  private readonly calibrationBack: Float64Array;
  private lastClimbSlot = Number.NEGATIVE_INFINITY;
  private climbEndedAt = Number.NEGATIVE_INFINITY;
  /** forecasts made in [quietFrom, quietTo) teach the offset and its unit nothing: those pending where a climb ended (endClimb) */
  private quietFrom = Number.NaN;
  private quietTo = Number.NaN;
  /** the offset's unit: |actual - the final p90 before the offset| (ErrorUnit) */
  private readonly errUnit: ErrorUnit;
  private readonly seasonal: SeasonalValues = { sorted: new SortedBag(SEASONS + 1), sum: 0, first: Number.NaN, second: Number.NaN };
  resolved = 0;
  /** the p90 before the offset, at the newest slot */
  private beforeOffset90 = 0;
  /** the final (p50, p90) at the newest slot */
  final50 = Number.NaN;
  final90 = Number.NaN;
  /** log of the tail's spread over the body's (see TAIL_GAIN) */
  private logTail = 0;

  /** the tail's spread over the body's */
  get tailFactor(): number {
    return Math.exp(this.logTail);
  }

  /** log of the spread below the p50 over the body's (calibrated on the p10's misses: learn) */
  private logLower = 0;
  get lowerFactor(): number {
    return Math.exp(this.logLower);
  }

  /** the final p10 at the newest slot, as the forecast reads it (not clamped at 0: a miss is a value under it) */
  get final10(): number {
    return this.final50 - (this.final90 - this.final50) * this.lowerFactor;
  }

  /**
   * The spread the tail above the final p90 is read at, before the tail's factor: the body's,
   * or as it was before the climb floor narrowed it (floorAtClimb).
   */
  bodySd = 0;

  /** the final p99 at the newest slot: the p90 plus the tail's spread to the p99 (as the forecast reads it) */
  get final99(): number {
    return this.bodySd > 0 ? splitTailAbove(this.final90, this.bodySd * this.tailFactor, 0.99) : this.final90;
  }
  readonly weights: Float64Array;
  private readonly scratchWeights: Float64Array;
  /** the weights of the last mix whose exponentials were taken, before wild candidates are left out (see combine) */
  private readonly rawWeights: Float64Array;
  /** candidate indices in order of their p90, and of their p50 (see combine) */
  private readonly order90 = identityOrder(K);
  private readonly order50 = identityOrder(K);
  /** per mix (engine.mixes): its combination's p90 now, per pending forecast, and its faded loss */
  private readonly mixP90: Float64Array;
  private readonly mixLosses: Float64Array;

  constructor(
    readonly kind: EngineTargetKind,
    readonly steps: number,
    private readonly engine: ForecastEngine,
    historySteps: number,
    learner: LearnerOptions | false,
    phase: number,
  ) {
    this.recentMax = new SlidingMax(steps);
    this.quarterMax = kind === 'peak' ? new SlidingMax(Math.ceil(steps / 4)) : undefined;
    // a longer target (a peak over many steps above all) has errors that come and go in runs:
    // its scale is tracked over a span that grows with the horizon
    this.scaleFade = Math.pow(2, -1 / Math.max(CONFORMAL_SCALE_HALF_LIFE, 2 * steps));
    const halfLife = Math.max(engine.lossHalfLife, MEMORY_HORIZONS * steps);
    this.lossFade = Math.pow(2, -1 / halfLife);
    const memories = [1, ...new Set(engine.mixes.map((m) => m.memory ?? 1))].filter((v, i, a) => a.indexOf(v) === i);
    // the fixed-size arrays below share one buffer (slab.ts); its size is their lengths' sum
    const E = engine.mixes.length;
    const F = FEATURE_COUNT;
    const slab = new Float64Slab(2 * E + 2 * F + memories.length * K + 6 * K + SEASONS + 1 + (CLIMB_BACK + 1) * BACK_FIELDS);
    this.lossSets = memories.map(() => slab.take(K));
    this.lossFades = memories.map((m) => Math.pow(2, -1 / (halfLife * m)));
    this.mixSet = engine.mixes.map((m) => memories.indexOf(m.memory ?? 1));
    this.mixPhase = engine.mixes.map((m) => m.phase === true);
    this.hasPhase = this.mixPhase.includes(true);
    // One burst is a miss for every peak window that holds it (h of them), and for a value h
    // steps ahead the next h forecasts miss with it: a head's step is the engine's over h^(1/4).
    // At the full step a burst in a series' first minute (a run-queue p99 of 239 ms in a series
    // living at 4) lifted a 60 s peak's p90 to 340 for ten minutes; over sqrt(h) the 25-minute
    // recordings' peaks were missed 15-23% of the time.
    this.calibrationGain = engine.calibrationGain / Math.pow(steps, GAIN_POWER);
    this.calibrationFade = Math.pow(2, -1 / Math.max(ERROR_SCALE_HALF_LIFE, MEMORY_HORIZONS * steps));
    this.offsetFade = this.calibrationFade;
    this.offsetMeanFade = Math.pow(this.offsetFade, 1 / LEAK_MEAN_SHARE);
    this.errUnit = new ErrorUnit(this.calibrationFade);
    this.mixP90 = slab.take(E);
    this.mixLosses = slab.take(E);
    this.phaseView = slab.take(K);
    this.p50 = slab.take(K);
    this.p90 = slab.take(K);
    this.weights = slab.take(K);
    this.scratchWeights = slab.take(K);
    this.rawWeights = slab.take(K);
    this.seasonTargets = slab.take(SEASONS + 1).fill(Number.NaN);
    this.featureCount = F;
    this.features = slab.take(F);
    const stepMs = engine.state.clock.stepMs;
    this.learner = learner === false ? undefined : new QuantileLearner(this.featureCount, 0.9, { ...learnerDefaults(stepMs), phase, ...learner });
    this.pooled = engine.learnerPool?.learner(`${kind}:${steps}@${stepMs}`, this.featureCount, 0.9, pooledDefaults(stepMs));
    this.pooledSeasonal = engine.skip[C['pooled-seasonal']] ? undefined : engine.learnerPool?.learner(`seasonal:${kind}:${steps}@${stepMs}`, this.featureCount, 0.9, pooledDefaults(stepMs));
    this.pending = new PendingRing(steps, K, E, this.learner || this.pooled ? F : 0);
    this.learnRow = slab.take(F);
    this.calibrationBack = slab.take((CLIMB_BACK + 1) * BACK_FIELDS).fill(Number.NaN);
    this.windowMax = kind === 'peak' ? new SlotHistory(historySteps) : undefined;
    if (slab.left !== 0) throw new Error(`engine head: its slab was sized ${slab.left} numbers too large`);
  }

  /** Learns from the target that resolves at this slot, then forecasts from it. */
  step(s: SeriesState, x: number): void {
    const slot = s.slot;
    let actual = Number.NaN;
    const origin = slot - this.steps;
    const ring = this.pending;
    const r = ring.rowOf(origin);
    const peak = this.recentMax.push(slot, x);
    this.spanMax = peak;
    // (read only while cold, and a head never goes cold again: not kept up on the hot path after)
    if (this.quarterMax && this.resolved >= COLD_RESOLVED) this.quarterMax = undefined;
    if (this.quarterMax) this.quarterPeak = this.quarterMax.push(slot, x);
    if (this.kind === 'peak') {
      this.windowMax!.set(slot, peak);
      if (r >= 0 && s.lastHole <= origin) actual = peak;
    } else if (r >= 0) {
      actual = x;
    }
    this.followClimb(s, slot);
    // (the forecast made at `origin` is resolved just below; most values pass no pending p90)
    if (x > this.lowestPending && this.engine.calibration === 'offset') this.countEarlyMisses(x, slot, Math.max(origin + 1, s.lastHole));
    if (!Number.isNaN(actual)) this.learn(r, actual, origin);
    // (the row is taken before forecastNow, which writes into it: the ring may grow taking it)
    const w = ring.rowFor(slot);
    this.forecastNow(s, w);
    // (copied in loops: a typed array's set() is a call into the runtime, dearer than a short loop)
    for (let k = 0, at = w * K; k < K; k++) ring.p90[at + k] = this.p90[k]!;
    ring.final[w] = this.final90;
    ring.missCounted[w] = 0;
    if (this.kind === 'peak' && this.final90 < this.lowestPending) this.lowestPending = this.final90;
    ring.p99[w] = this.final99;
    ring.p10[w] = this.final10;
    ring.comb50[w] = this.comb50;
    ring.beforeOffset[w] = this.beforeOffset90;
    const E = this.mixP90.length;
    if (E > 1) for (let j = 0, at = w * E; j < E; j++) ring.mix[at + j] = this.mixP90[j]!;
    if (ring.features) for (let f = 0, at = w * this.featureCount; f < this.featureCount; f++) ring.features[at + f] = this.features[f]!;
  }

  /**
   * A peak's forecast misses for certain once a value in its window passes its p90: its miss step
   * is taken then (EARLY_MISSES_PER_SLOT at most), not only when the window closes (up to h steps
   * later). Here: the forecasts made at `from` .. `slot` - 1 whose windows (origin + 1 .. origin
   * + h) hold `x`, the value at `slot`, above their p90. Only forecasts that will resolve are
   * counted (`from` is past the last hole: a window with a hole is never scored, so its hits would
   * never step the offset down; counting its misses pushed the offset up after every hole). Also
   * sets lowestPending, exactly. A phased workload's run-queue p99 lives at 1-5 ms with bursts of
   * spikes while its load changes (101 ms, then 508 ms the next minute): counted at the close,
   * its 60 s peak was missed 27.8% of the time, in runs a burst long; now 13.6% (the recording's
   * 60 s peaks 17.8% -> 13.1%, the bar 13%). Loss ratios: cpu-steady's 60 s peak -8.3%,
   * io-bursts' -2.2%, memory-growth's -1.4%, cpu-phases' -1.1%, the rest within 1%.
   */
  private countEarlyMisses(x: number, slot: number, from: number): void {
    const ring = this.pending;
    let lowest = Number.POSITIVE_INFINITY;
    let left = EARLY_MISSES_PER_SLOT;
    for (let o = Math.max(0, from); o < slot; o++) {
      const q = ring.rowOf(o);
      if (q < 0 || ring.missCounted[q] === 1) continue;
      const f = ring.final[q]!;
      if (x > f && left > 0) {
        left--;
        ring.missCounted[q] = 1;
        this.offsetUnits += this.calibrationGain * (1 - MISS_AIM);
      } else if (f < lowest) {
        lowest = f;
      }
    }
    this.lowestPending = lowest;
  }

  /**
   * A series' start-up climb that settles (SeriesState.settledSlot) takes back the offset's steps
   * up from its misses, and its forecasts (those whose windows saw it climb) teach nothing when
   * they resolve (learn): they missed it, a cold head's most of all, and that says nothing of the
   * level it settled at. Kept, a cache filling to 124 MiB in 40 s under a 144 MiB limit had its 60 s
   * peak's p90 at 141-149 MiB when that head's first windows resolved (an offset of 16-24 MiB, in
   * units of the fill's errors), and from 70 s its peak profile, whose losses in the fill's
   * windows were the lowest, led the mix at 138 MiB: counted down to the limit either way.
   */
  private followClimb(s: SeriesState, slot: number): void {
    // (only the head's first climb, begun before any of its forecasts resolved: a series' start.
    // A staircase, each of its steps settling, was otherwise never learnt: +24 MiB every 60 s was
    // first counted down 2 minutes later, at 18 MiB from its limit, not 98 (a review))
    if (s.settledSlot === slot && !Number.isNaN(this.climbFrom) && this.startClimb) {
      this.offsetUnits = Math.min(this.offsetUnits, this.unitsAtClimb);
      this.offsetMean = Math.min(this.offsetMean, this.meanAtClimb);
      // (its forecasts: those whose windows saw it climb, made before it was read as a climb too)
      this.settledFrom = this.climbFrom - this.steps;
      this.settledTo = slot;
      // (those still pending count no early miss either: marked as counted)
      const ring = this.pending;
      for (let o = Math.max(this.settledFrom, slot - this.steps); o < slot; o++) {
        const q = ring.rowOf(o);
        if (q >= 0) ring.missCounted[q] = 1;
      }
    }
    if (!s.climbing) this.climbFrom = Number.NaN;
    else if (Number.isNaN(this.climbFrom)) {
      this.climbFrom = slot;
      this.startClimb = this.resolved === 0 && !this.climbSeen;
      this.climbSeen = true;
      this.unitsAtClimb = this.offsetUnits;
      this.meanAtClimb = this.offsetMean;
    }
    if (this.engine.calibration === 'offset') this.endClimb(s, slot);
  }

  /**
   * Where a climb ends (settled, faded or stopped on a level: SeriesState.endedSlot) that rose
   * CLIMB_RISE_UNITS of the offset's units or more, what the head learnt of its own errors over
   * the climb goes back to where it stood CLIMB_BACK slots before it was read as one: the offset
   * (unless it is lower now) and its unit, the conformal scale, and the errors the conformal and
   * trend candidates learnt since. All of these measured a mix that lagged the climb, not the
   * level it stopped at. Its forecasts still pending (made up to the end, the level's first slots
   * too: their p90s carry the climb's offset) teach the offset and its unit nothing (learn; their
   * early misses are marked counted), but the candidates, the tail and the spread below the p50
   * still learn from them: with the candidates' errors skipped there too, a staircase of fills a
   * minute apart was first counted down 16 s later, and the recorded memory-growth's 5 s value
   * lost 1%. Kept, a 4 MiB/s climb to 340 MiB held its 60 s peak's p90 100 MiB over the level (the
   * offset in units of the climb's errors), then the trend candidate, which led the mix, 120-170
   * MiB over it (its errors of the climb, in a scale of the climb's errors): a countdown to its
   * 512 MiB limit up to 71 s after the stop and P(contention) 0.25, and for the value 60 s ahead
   * ('engine') 87-110 s and 0.27. Not where climbs recur: the engine holds a season, or a climb
   * starts within a horizon of the last one's end (a staircase of fills a minute apart was first
   * counted down 15 s later). A series' start-up climb that settles is followClimb's too (which
   * also leaves its forecasts unlearnt); one that stops or fades is taken back here alone.
   */
  private endClimb(s: SeriesState, slot: number): void {
    const back = this.calibrationBack;
    const b = BACK_FIELDS * (slot % CLIMB_BACK);
    const held = BACK_FIELDS * CLIMB_BACK;
    if (s.climbing && this.lastClimbSlot < slot - 1 && (Number.isNaN(back[held + BACK.units]!) || slot - this.lastClimbSlot > CLIMB_EPISODE_GAP) && slot - this.climbEndedAt > this.steps) {
      for (let i = 0; i < BACK_FIELDS; i++) back[held + i] = back[b + i]!;
    }
    if (s.climbing) this.lastClimbSlot = slot;
    if (s.endedSlot === slot && !Number.isNaN(back[held + BACK.units]!) && this.engine.season === 0) {
      // (the unit then at least OFFSET_UNIT_FLOOR of the value then, as offsetNow reads it, and
      // that alone before any error was known. An end the climb did not rise enough for keeps
      // what it would go back to, for a later end of the same climb)
      const then = back[held + BACK.value]!;
      const unitThen = Math.max(OFFSET_UNIT_FLOOR * Math.abs(then), ErrorUnit.valueIn(back, held + BACK.unit));
      const rise = s.last - then;
      if (rise > 0 && rise >= CLIMB_RISE_UNITS * unitThen) {
        this.takeBack(held);
        this.quietFrom = slot - this.steps;
        this.quietTo = slot;
        const ring = this.pending;
        for (let o = Math.max(0, slot - this.steps); o < slot; o++) {
          const q = ring.rowOf(o);
          if (q >= 0) ring.missCounted[q] = 1;
        }
        back[held + BACK.units] = Number.NaN;
        this.climbEndedAt = slot;
        // (the ring's slots of the climb are its too: a climb read within CLIMB_BACK slots would go back to them)
        for (let k = 0; k < CLIMB_BACK; k++) this.noteBack(s, BACK_FIELDS * k);
        return;
      }
    }
    this.noteBack(s, b);
  }

  /** What endClimb would take back, as it stands now, into the ring at `at`. */
  private noteBack(s: SeriesState, at: number): void {
    const back = this.calibrationBack;
    back[at + BACK.units] = this.offsetUnits;
    back[at + BACK.mean] = this.offsetMean;
    this.errUnit.save(back, at + BACK.unit);
    back[at + BACK.scaleSum] = this.errScaleSum;
    back[at + BACK.scaleWeight] = this.errScaleWeight;
    back[at + BACK.conformal] = this.conformal.learnt;
    back[at + BACK.trend] = this.trend.learnt;
    back[at + BACK.value] = s.last;
  }

  /** Goes back to what noteBack kept at `at` (the offset and its mean only where they are higher now). */
  private takeBack(at: number): void {
    const back = this.calibrationBack;
    this.offsetUnits = Math.min(this.offsetUnits, back[at + BACK.units]!);
    this.offsetMean = Math.min(this.offsetMean, back[at + BACK.mean]!);
    this.errUnit.restore(back, at + BACK.unit);
    this.errScaleSum = back[at + BACK.scaleSum]!;
    this.errScaleWeight = back[at + BACK.scaleWeight]!;
    this.conformal.forgetSince(back[at + BACK.conformal]!);
    this.trend.forgetSince(back[at + BACK.trend]!);
  }

  private learn(r: number, actual: number, origin: number): void {
    // (a forecast whose window saw a climb that settled teaches nothing: followClimb)
    if (origin >= this.settledFrom && origin < this.settledTo) return;
    const ring = this.pending;
    this.resolved++;
    const fade = this.lossFade;
    const bin = this.phaseBin(origin);
    if (bin >= 0) this.phaseVisits![bin]!++;
    // the candidates' losses into each loss set and the phase bin, each set in its own loop
    const p90 = ring.p90;
    for (let m = 0; m < this.lossSets.length; m++) {
      const set = this.lossSets[m]!;
      const fm = this.lossFades[m]!;
      for (let k = 0, at = r * K; k < K; k++) set[k] = set[k]! * fm + pinball90(actual, p90[at + k]!);
    }
    if (bin >= 0) {
      const pl = this.phaseLosses!;
      const pf = this.phaseFade;
      for (let k = 0, at = r * K, b = bin * K; k < K; k++) pl[b + k] = pl[b + k]! * pf + pinball90(actual, p90[at + k]!);
    }
    const E = this.mixLosses.length;
    if (E > 1) {
      for (let j = 0; j < E; j++) this.mixLosses[j] = this.mixLosses[j]! * fade + pinball90(actual, ring.mix[r * E + j]!);
    }
    // conformal candidate: the error of the EWMA at this horizon, over its local scale
    const e = actual - ring.conformal[r]!;
    const sf = this.scaleFade;
    this.errScaleSum = this.errScaleSum * sf + Math.abs(e);
    this.errScaleWeight = this.errScaleWeight * sf + 1;
    // (no errors before the first scale: a spread of NaN)
    this.conformal.learn(ring.conformal[r]!, actual, ring.spread[r]!);
    // the trend's error in the larger of the spread then and now: a climb's first errors, made
    // in a calm stretch, read at the climb's own spread (its p50 1.1x a leak's peak, not 2.2x;
    // the conformal one likewise lost 0.3% on the public traces, Google's hour 0.808 -> 0.834)
    this.trend.learn(ring.trend[r]!, actual, Math.max(ring.spread[r]!, this.errScaleSum / this.errScaleWeight));
    if (ring.features) {
      // copied out of the ring (a subarray is a new object each time)
      const row = this.learnRow;
      for (let f = 0, at = r * this.featureCount; f < this.featureCount; f++) row[f] = ring.features[at + f]!;
      const label = (actual - ring.base[r]!) / ring.scale[r]!;
      this.learner?.add(row, label, this.engine.timeStep);
      this.pooled?.add(row, label, this.engine.timeStep);
      if (!Number.isNaN(ring.seasonalMedian[r]!)) this.pooledSeasonal?.add(row, (actual - ring.seasonalMedian[r]!) / ring.scale[r]!, this.engine.timeStep);
    }
    // the tail: its spread up after the p99 was passed, down a little when not
    const f99 = ring.p99[r]!;
    if (this.engine.calibration !== 'none' && actual !== f99 && f99 > ring.final[r]!) {
      const step = (TAIL_GAIN / Math.pow(this.steps, GAIN_POWER)) * ((actual > f99 ? 1 : 0) - 0.01);
      this.logTail = Math.min(MAX_LOG_TAIL, Math.max(MIN_LOG_TAIL, this.logTail + step));
    }
    // the spread below the p50: wider after a value under the p10, narrower a little when not
    // (the body's normal is fitted to the p50 and p90 only: on a series switching between phases
    // its P(above a level under the p50) read 0.98 where the level was passed 55% of the time)
    const f10 = ring.p10[r]!;
    if (this.kind === 'point' && this.engine.calibration !== 'none' && actual !== f10 && f10 < ring.comb50[r]!) {
      const step = (LOWER_GAIN / Math.pow(this.steps, GAIN_POWER)) * ((actual < f10 ? 1 : 0) - 0.1);
      this.logLower = Math.min(MAX_LOG_LOWER, Math.max(MIN_LOG_LOWER, this.logLower + step));
    }
    // calibration: up after a miss, down a little after a hit (a tie is neither); the offset and
    // its unit learn nothing from a forecast pending where a climb ended (endClimb)
    if (origin >= this.quietFrom && origin < this.quietTo) return;
    const f = ring.final[r]!;
    const miss = actual > f ? 1 : 0;
    const mode = this.engine.calibration;
    if (mode === 'width' && actual !== f && f > ring.comb50[r]!) {
      this.logFactor = Math.max(-MAX_LOG_FACTOR, Math.min(MAX_LOG_FACTOR, this.logFactor + this.engine.calibrationGain * (miss - MISS_AIM)));
    }
    // the offset's step scales with how far off the final p90 typically is at this target, so it
    // moves as fast on a short, jumpy recording as on a month of calm 5-minute data (ErrorUnit)
    // (the error of the p90 before the offset: measured after it, a raised offset widened its
    // own step, and on a bursty series climbed to six times the series' mean)
    const err = Math.abs(actual - ring.beforeOffset[r]!);
    this.errUnit.add(err);
    // leaky: the offset forgets its departures from its running mean (half-life
    // ERROR_SCALE_HALF_LIFE resolved forecasts, or more for a long horizon), so a burst of misses
    // made while the candidates were still learning does not keep the p90 high once they have
    // learnt; an older head forgets more slowly (half-life at least LEAK_AGE_SHARE of its resolved
    // forecasts), or the leak holds a lasting shortfall in place (peaks missed 11-13% of the time
    // on the public traces, not 10%)
    if (mode === 'offset') {
      if (this.resolved % 32 === 0) {
        this.offsetFade = Math.max(this.calibrationFade, Math.pow(2, -1 / (LEAK_AGE_SHARE * this.resolved)));
        this.offsetMeanFade = Math.pow(this.offsetFade, 1 / LEAK_MEAN_SHARE);
      }
      const mf = this.offsetMeanFade;
      this.offsetMean = this.offsetMean * mf + (1 - mf) * this.offsetUnits;
      this.offsetUnits = this.offsetMean + (this.offsetUnits - this.offsetMean) * this.offsetFade;
      // (a miss counted before the window closed is not counted again)
      if (actual !== f && ring.missCounted[r] !== 1) this.offsetUnits += this.calibrationGain * (miss - MISS_AIM);
    }
  }

  /**
   * The offset in levels at this forecast: its units times the recent error (kept in units, an
   * offset learnt during a burst shrinks as the errors do). Recorded traces, against one kept in
   * levels: the steady workload's 60 s peak 2.44 -> 1.70 of the best baseline's loss (under-rate
   * 4% -> 10%), mixed-host's 0.712 -> 0.617; memory-growth's peak under-rate 12.3% -> 14%;
   * public traces within 0.003.
   */
  private offsetNow(s: SeriesState): number {
    if (!this.errUnit.known) return 0;
    return this.offsetUnits * this.unitNow(s);
  }

  /** The offset's unit: the recent error of the p90 before the offset, at least OFFSET_UNIT_FLOOR of the value. */
  private unitNow(s: SeriesState): number {
    return Math.max(OFFSET_UNIT_FLOOR * Math.abs(s.last), this.errUnit.value);
  }

  /** The candidates' and the final quantiles now, into ring row `w` as far as they are written here. */
  private forecastNow(s: SeriesState, w: number): void {
    const ring = this.pending;
    const x = s.last;
    // (setCandidate: a method, not a closure made at every call, which was garbage at every sample)
    this.setCandidate(C.last, x, x);
    this.setCandidate(C.window, s.short.linearQuantile(0.5), s.short.max);
    this.setCandidate(C.ewma, s.ewMean, s.ewMean + Z90 * Math.sqrt(s.ewVar));
    const vpa = s.vpaQuantiles();
    this.setCandidate(C.histogram, vpa.p50, vpa.p90);
    this.setCandidate(C.day, s.long.linearQuantile(0.5), s.long.linearQuantile(0.9));
    const season = this.engine.season;
    this.collectSeasonal(s, season);
    this.collectShifted(s, season);
    const sh = this.shifted;
    if (sh.size > 0) this.setCandidate(C.shifted, Math.max(0, sh.linearQuantile(0.5)), Math.max(0, sh.linearQuantile(0.9)));
    else this.setCandidate(C.shifted, x, x);
    const sv = this.seasonal.sorted;
    if (sv.size > 0) {
      this.setCandidate(C.seasonal, sv.linearQuantile(0.5), sv.linearQuantile(0.9));
    } else {
      this.setCandidate(C.seasonal, x, x);
    }
    // conformal: EWMA centre, local scale, quantiles of normalised errors
    const centre = s.ewMean;
    // the local scale of its errors; a floor of a thousandth of the level keeps a flat stretch
    // from turning the next error into thousands of "scales";
    // none while every error so far was exactly 0 (a series idle at 0 has no scale yet: the
    // first burst over a floor of ~0 would be an error of 1e15 scales, and stay in the window)
    const spread = this.errScaleSum > 0 ? Math.max(this.errScaleSum / this.errScaleWeight, 1e-3 * s.scale) : Number.NaN;
    ring.spread[w] = spread;
    ring.conformal[w] = centre;
    const c = this.conformal.project(centre, spread);
    if (Number.isNaN(c.p90)) this.setCandidate(C.conformal, this.p50[C.ewma]!, this.p90[C.ewma]!);
    else this.setCandidate(C.conformal, c.p50, c.p90);
    // span: the window as long as the horizon
    const spanMax = this.spanMax;
    if (this.kind === 'peak') {
      // the recent peak plus the spread above the EWMA (riseSd: its falls count only up to its
      // rises, so a job's exit does not widen what is forecast above it; a peak as high again
      // is a miss). Not
      // the peak of the h before it too: that p90 held a lone spike for 2h, and having caught a
      // second spike it led the mix (weight 0.98) while it did: a steady workload's 60 s peak
      // went from 1.85 to 1.09 of the best baseline's loss without it, the phased one's 0.558 to
      // 0.495, Google's hour 0.839 to 0.808; Alibaba's hour worse, 0.522 to 0.539
      this.setCandidate(C.span, spanMax, spanMax + Z90 * s.riseSd);
    } else {
      this.setCandidate(C.span, this.p50[C.window]!, spanMax);
    }
    // trend: Holt's damped trend at the horizon (a peak: the path's higher end)
    const band = this.p90[C.conformal]! - this.p50[C.conformal]!;
    const projected = Math.max(0, this.kind === 'peak' ? Math.max(x, s.trendAt(this.steps)) : s.trendAt(this.steps));
    ring.trend[w] = projected;
    const t = this.trend.project(projected, spread);
    let t50 = t.p50;
    let t90 = Number.isNaN(t.p90) ? projected + band : t.p90;
    // a peak on a steady climb: its p90 no higher than where the climb's line reaches over the
    // horizon at half as quick again, its p50 no higher than the line. Its errors from the
    // climb's first steps, when it still said "flat", widen its band, and once the mix followed
    // it a 2 MiB/s leak's 120 s peak read a p90 of 1.5-1.75 GiB (p50 1 GiB) for 590-750 MiB to
    // come. (On the trend alone: bounding the mix cut a seasonal spike it had learned, 1000 MiB
    // read 200 MiB during a ramp to it)
    const reach = this.kind === 'peak' ? s.climbReach(this.steps) : Number.NaN;
    if (!Number.isNaN(reach)) {
      t90 = Math.min(t90, s.climbReach(CLIMB_QUICKEN * this.steps));
      t50 = Math.min(t50, reach);
    }
    this.setCandidate(C.trend, t50, t90);
    const horizonMs = this.steps * s.clock.stepMs;
    const profile = this.kind === 'peak' ? this.engine.peakProfile.quantilePair(horizonMs) : this.engine.pointProfile.quantilePair(horizonMs);
    this.setCandidate(C.profile, profile.p50, profile.p90);
    // learned: GBM p90 on the features; its p50 is the conformal one
    ring.base[w] = x;
    const anchor = sv.size > 0 ? this.p50[C.seasonal]! : Number.NaN;
    ring.seasonalMedian[w] = anchor;
    ring.scale[w] = s.scale;
    if (ring.features) {
      fillFeatures(this.features, s, this.seasonal, season);
      // clamped once here, as the learners store and read them, for the three models below
      for (let f = 0; f < this.featureCount; f++) this.features[f] = clampFeature(this.features[f]!);
    }
    const z = this.learner ? this.learner.predictClamped(this.features) : Number.NaN;
    if (Number.isNaN(z)) this.setCandidate(C.learned, this.p50[C.conformal]!, this.p90[C.conformal]!);
    else this.setCandidate(C.learned, this.p50[C.conformal]!, Math.max(0, x + s.scale * z));
    // pooled: the same on the model all series of its kind train (the learned one's until it is fitted)
    const zp = this.pooled ? this.pooled.predictClamped(this.features) : Number.NaN;
    if (Number.isNaN(zp)) this.setCandidate(C.pooled, this.p50[C.learned]!, this.p90[C.learned]!);
    else this.setCandidate(C.pooled, this.p50[C.conformal]!, Math.max(0, x + s.scale * zp));
    // pooled-seasonal: a pooled GBM whose label is taken from the seasonal median, not the
    // newest value (trees learn a step from a level poorly: the two anchors err apart)
    const za = this.pooledSeasonal && !Number.isNaN(anchor) ? this.pooledSeasonal.predictClamped(this.features) : Number.NaN;
    if (Number.isNaN(za)) this.setCandidate(C['pooled-seasonal'], this.p50[C.pooled]!, this.p90[C.pooled]!);
    else this.setCandidate(C['pooled-seasonal'], this.p50[C.conformal]!, Math.max(0, anchor + s.scale * za));
    this.combine(s);
  }

  /** Candidate k's p50 and p90 (the p90 at least the p50). */
  private setCandidate(k: number, p50: number, p90: number): void {
    this.p50[k] = p50;
    this.p90[k] = Math.max(p50, p90);
  }

  private combine(s: SeriesState): void {
    const skip = this.engine.skip;
    // before the losses say anything, one candidate leads: for a peak the peak of the last span
    // as long, for a value the trend (a workload growing towards its limit is warned of in its
    // first seconds; the EWMA's band lagged the growth until the limit was seconds away)
    if (this.engine.calibration === 'offset') this.offset = this.offsetNow(s);
    const leader = this.kind === 'peak' ? C.span : C.trend;
    if (this.resolved < COLD_RESOLVED && !skip[leader]) {
      this.weights.fill(0);
      this.weights[leader] = 1;
      let p50 = this.p50[leader]!;
      let p90 = this.p90[leader]!;
      // Cold, little is known of how often a peak comes back. For a peak whose span's peak is
      // older than half the span, the median is the newest quarter's peak (the span's own stays
      // in the p90); for a value, not under the short window's median (the trend carried a fall
      // on). A workload's start-up burst, 3 s at its 0.6-core quota then 0.1 cores: its 60 s peak
      // read p50 = p90 = 0.6 and P(contention) 0.92-1 for a minute, and the value 60 s ahead p50
      // 0 for 25 s. (A burst every 30 s keeps its peak within the newest half: its P stays.)
      if (this.kind === 'peak' && this.recentMax.maxSlot < s.slot - this.steps / 2) p50 = Math.min(p50, this.quarterPeak);
      else if (this.kind === 'point' && !skip[C.window]) p50 = Math.max(p50, this.p50[C.window]!);
      p90 = Math.max(p90, p50);
      // a peak: the trend's path too when it climbs above the last span while the values climb (a
      // workload filling its memory from its first second is warned of before the span has seen
      // it; a noisy steady one's wandering slope is not followed, nor a climb that has faded:
      // the damped path runs on at its rate, 31 MiB over 60 s for a fill 5 MiB from where it settles)
      if (this.kind === 'peak' && !skip[C.trend] && s.climbing && !s.faded && !s.recoiled && this.p90[C.trend]! > p90) {
        p50 = Math.max(p50, this.p50[C.trend]!);
        p90 = this.p90[C.trend]!;
        this.weights[leader] = 0;
        this.weights[C.trend] = 1;
      }
      this.comb50 = p50;
      this.final50 = Math.max(0, p50);
      this.beforeOffset90 = p90;
      this.final90 = Math.max(this.final50, p90 + this.offset);
      this.capAtPlateau(s);
      this.floorAtClimb(s);
      return;
    }
    // one combination per mix (a learning rate, a memory); they are mixed by their own recent p90 loss
    const mixes = this.engine.mixes;
    const E = mixes.length;
    let bestMix = Number.POSITIVE_INFINITY;
    for (let j = 0; j < E; j++) if (this.mixLosses[j]! < bestMix) bestMix = this.mixLosses[j]!;
    const mixNorm = Math.max(bestMix, 1e-12 * s.scale, 1e-300);
    this.weights.fill(0);
    let c50 = 0;
    let c90 = 0;
    let metaSum = 0;
    const bin = this.phaseBin(s.slot);
    let phaseLosses: Float64Array | undefined;
    if (bin >= 0 && this.phaseVisits![bin]! >= PHASE_MIN_VISITS) {
      for (let k = 0; k < K; k++) this.phaseView[k] = this.phaseLosses![bin * K + k]!;
      phaseLosses = this.phaseView;
    }
    // the candidates in order of their p90 and of their p50, once for every mix (their weighted medians)
    sortedOrder(this.order90, this.p90);
    sortedOrder(this.order50, this.p50);
    const w = this.scratchWeights;
    const raw = this.rawWeights;
    let rawLosses: Float64Array | undefined;
    let rawEta = 0;
    for (let j = 0; j < E; j++) {
      const eta = mixes[j]!.eta;
      const losses = (this.mixPhase[j] ? phaseLosses : undefined) ?? this.lossSets[this.mixSet[j]!]!;
      let all = 0;
      // a mix on the same losses at twice or four times the last one's rate: its weights are those
      // squared (exp(-2a) = exp(-a)^2), not K exponentials more (the default mixes, rates 5, 20
      // and 10, take one set of exponentials where no phase losses are held)
      const squarings = losses !== rawLosses ? 0 : eta === 2 * rawEta ? 1 : eta === 4 * rawEta ? 2 : 0;
      if (squarings > 0) {
        for (let k = 0; k < K; k++) {
          const v = squarings === 1 ? raw[k]! * raw[k]! : raw[k]! * raw[k]! * (raw[k]! * raw[k]!);
          w[k] = v;
          all += v;
        }
      } else {
        let best = Number.POSITIVE_INFINITY;
        for (let k = 0; k < K; k++) if (!skip[k] && losses[k]! < best) best = losses[k]!;
        const norm = Math.max(best, 1e-12 * s.scale, 1e-300);
        for (let k = 0; k < K; k++) {
          const v = skip[k] ? 0 : Math.exp((-eta * (losses[k]! - best)) / norm);
          raw[k] = v;
          w[k] = v;
          all += v;
        }
        rawLosses = losses;
        rawEta = eta;
      }
      // a linear pool is dragged by one wild candidate (the span or the profile still holding a
      // burst of the first minute, at 100x the level), however little it weighs: left out
      leaveOutWild(this.order90, this.order50, this.p50, this.p90, w, all, 1e-12 * s.scale);
      let sw = 0;
      let a50 = 0;
      let a90 = 0;
      for (let k = 0; k < K; k++) {
        sw += w[k]!;
        a50 += w[k]! * this.p50[k]!;
        a90 += w[k]! * this.p90[k]!;
      }
      a50 /= sw;
      a90 = Math.max(a50, a90 / sw);
      this.mixP90[j] = a90;
      const m = E === 1 ? 1 : Math.exp((-META_ETA * (this.mixLosses[j]! - bestMix)) / mixNorm);
      metaSum += m;
      c50 += m * a50;
      c90 += m * a90;
      for (let k = 0; k < K; k++) this.weights[k]! += (m * w[k]!) / sw;
    }
    for (let k = 0; k < K; k++) this.weights[k]! /= metaSum;
    c50 /= metaSum;
    c90 = Math.max(c50, c90 / metaSum);
    this.comb50 = c50;
    this.final50 = Math.max(0, c50);
    this.beforeOffset90 = c50 + (c90 - c50) * Math.exp(this.logFactor);
    this.final90 = Math.max(this.final50, this.beforeOffset90 + this.offset);
    this.capAtPlateau(s);
    this.floorAtClimb(s);
  }

  /**
   * A peak whose values keep coming back to one height (SeriesState.plateauTop) over a horizon no
   * longer than the quiet that height was read from: its p50 held at that height at most, its p90
   * at most a little above (heldP90; the band, and with it the tail and P(contention), keeps a
   * width).
   * Bursts of 1.6 cores at random under a 2-core limit: the peak's p50 is 1.6 in most windows, so
   * a p90 a hair under it missed often and the offset climbed; added to a mix that moved over 1.6
   * it read 2.1, and the bursts were counted down on 1,201 ticks of 8,400 (now 185). A new high
   * lifts the cap at once, and a steady climb's line still floors the peak (floorAtClimb comes
   * after). So over such horizons, off a climb, bursts held just under a limit are counted down
   * only where heldP90's margin above their height reaches 99% of it (REACHED_SHARE).
   */
  private capAtPlateau(s: SeriesState): void {
    if (this.kind !== 'peak' || this.steps > PLATEAU_QUIET_SAMPLES) return;
    const top = s.plateauTop;
    if (top === Number.POSITIVE_INFINITY) return;
    this.final50 = Math.min(this.final50, top);
    this.final90 = heldP90(top, this.unitNow(s), this.final50, this.final90);
  }

  /**
   * A peak on a steady climb (DampedTrend.climbLine) is moved up to the climb's line, its p50 on
   * it and its p90 as far above as climbFloor allows: the mix learns a horizon's losses only as
   * its windows close, and after a steady stretch it followed a leak's last value for a whole
   * horizon (a 2 MiB/s leak 55 s from its limit: the 120 s peak's p90 3 MiB above the value,
   * P(contention) 0.00).
   */
  private floorAtClimb(s: SeriesState): void {
    const before = (this.final90 - this.final50) / Z90;
    this.bodySd = before;
    if (this.kind !== 'peak' || this.engine.skip[C.trend]) return;
    const moved = s.floorPeak(this.steps, this.final50, this.final90);
    this.final50 = moved.p50;
    this.final90 = moved.p90;
    // the tail keeps the spread it had: a p50 moved up more than its p90 narrowed the body, and
    // with it the p99 (on a slow climb after noise, 336.7 -> 325.3 MiB over 30 s; now 335.9)
    this.bodySd = Math.max(before, (moved.p90 - moved.p50) / Z90);
  }

  /** The phase bin of a slot in the engine's season (-1 without a season or a phase mix); a new season resets the bins. */
  private phaseBin(slot: number): number {
    if (!this.hasPhase) return -1;
    const season = this.engine.season;
    if (season < PHASE_MIN_SEASON) return -1;
    if (season !== this.phaseSeason) {
      this.phaseSeason = season;
      this.phaseBins = Math.min(PHASE_BINS, season);
      this.phaseLosses = new Float32Array(this.phaseBins * K);
      this.phaseVisits = new Uint32Array(this.phaseBins);
      // a bin's losses halve over PHASE_MEMORY_SEASONS seasons of its visits
      this.phaseFade = Math.pow(2, -1 / (PHASE_MEMORY_SEASONS * (season / this.phaseBins)));
    }
    const at = ((slot % season) + season) % season;
    return Math.floor((at * this.phaseBins) / season);
  }

  /** the shifted candidate's values, sorted as they are added */
  private readonly shifted = new SortedBag(SEASONS + 1);
  /** the target k seasons back (index k, NaN when not held), as collectSeasonal found it */
  private readonly seasonTargets: Float64Array;

  /** The target a season back and more, moved by how far the level now is from the level then. */
  private collectShifted(s: SeriesState, season: number): void {
    const out = this.shifted;
    out.clear();
    if (season <= 0) return;
    const slot = s.slot;
    const h = s.history;
    const now = levelAt(h, slot);
    for (let k = 1; k <= SEASONS; k++) {
      const v = this.seasonTargets[k]!; // what collectSeasonal found k seasons back
      if (Number.isNaN(v)) continue;
      const then = levelAt(h, slot - k * season);
      if (!Number.isNaN(v) && !Number.isNaN(then) && !Number.isNaN(now)) out.insert(v + now - then);
    }
  }

  /** The target at the same phase of the last seasons (the value, or the window's max for a peak). */
  private collectSeasonal(s: SeriesState, season: number): void {
    const out = this.seasonal;
    out.sorted.clear();
    out.sum = 0;
    out.first = Number.NaN;
    out.second = Number.NaN;
    this.seasonTargets.fill(Number.NaN);
    if (season <= 0) return;
    const slot = s.slot;
    for (let k = 1; k <= SEASONS; k++) {
      const at = slot + this.steps - k * season;
      if (at > slot) continue; // a horizon of a season or more: that season is still ahead
      let v: number;
      if (this.windowMax) {
        v = this.windowMax.get(at);
        // a slot no sample landed in kept an older window's max: only trust slots held
        if (Number.isNaN(s.history.get(at))) v = Number.NaN;
      } else {
        v = s.history.get(at);
      }
      this.seasonTargets[k] = v;
      if (k === 1) out.first = v;
      if (k === 2) out.second = v;
      if (!Number.isNaN(v)) {
        out.sorted.insert(v);
        out.sum += v;
      }
    }
  }

  get logBandFactor(): number {
    return this.logFactor;
  }

  get offsetLevels(): number {
    return this.offset;
  }

  candidate(i: number): { p50: number; p90: number } {
    return { p50: this.p50[i]!, p90: this.p90[i]! };
  }
}

/**
 * An error is held at most this many spreads from its projection. The spread is the error scale
 * when the forecast was made: a climb after a steady stretch gave errors of a thousand calm
 * spreads, each then read at the climb's own spread (a 400 MiB workload's 120 s peak: trend and
 * conformal p90s of 51 GiB, the final p90 28 GiB, and a saturation warning that came and went).
 * Held so, both stay within a few times the climb (public ratios unchanged, recorded within 1%).
 */
const MAX_SPREADS = 10;
/**
 * A climb's calibration is taken back where it ends only if it rose this many of the offset's
 * units (as they stood before it) or more (Head.endClimb): on the recorded CPU series, whose noise
 * is read as a climb now and then, taken back at every end their 60 s peaks were missed up to
 * 14% of the time (cpu-phases 12.9 -> 13.8%, memory-growth 12.2 -> 13.4%); at 5 units
 * memory-growth's 13.1%; at 10 and 20 within 0.4 points of not taken back at all.
 */
const CLIMB_RISE_UNITS = 10;
/** Where each number Head.endClimb may take back stands in a slot of Head.calibrationBack (noteBack, takeBack) */
const BACK = { units: 0, mean: 1, scaleSum: 2, scaleWeight: 3, conformal: 4, trend: 5, value: 6, unit: 7 } as const;
/** Numbers kept a slot for Head.endClimb (the unit's ERROR_UNIT_FIELDS last) */
const BACK_FIELDS = 7 + ERROR_UNIT_FIELDS;
/** How much quicker than its line a steady climb's peak may go in the trend candidate's p90 (Head.forecastNow). */
const CLIMB_QUICKEN = 1.5;

/**
 * A candidate that projects a value to the horizon (Holt's trend) and takes its quantiles from
 * its own past errors over the local scale (its projections wait in the head's pending ring).
 */
class Projection {
  /** normalised errors: single precision (a ten-millionth of a scale is noise), half the memory: 2 per head */
  private readonly errors = new SortedWindow(CONFORMAL_WINDOW, 'single');
  private readonly out = { p50: 0, p90: 0 };
  /** errors learnt so far */
  learnt = 0;

  /** Forgets the errors learnt since `learnt` was `then`. */
  forgetSince(then: number): void {
    if (this.learnt > then) this.errors.dropNewest(Math.min(this.errors.size, this.learnt - then));
    this.learnt = then;
  }

  /** The target resolved for a forecast projected at `projected` (NaN: none): its error over that forecast's scale. */
  learn(projected: number, actual: number, spread: number): void {
    if (Number.isNaN(projected) || !(spread > 0)) return;
    this.errors.push(Math.max(-MAX_SPREADS, Math.min(MAX_SPREADS, (actual - projected) / spread)));
    this.learnt++;
  }

  /** The p50 and p90 of a projection (the projection and NaN before 20 errors). */
  project(projected: number, spread: number): { p50: number; p90: number } {
    if (this.errors.size >= CONFORMAL_MIN_ERRORS && spread > 0) {
      this.out.p50 = Math.max(0, projected + spread * this.errors.quantile(0.5));
      this.out.p90 = Math.max(0, projected + spread * this.errors.quantile(0.9));
    } else {
      this.out.p50 = projected;
      this.out.p90 = Number.NaN;
    }
    return this.out;
  }
}

/** The mean of the last SHIFT_LEVEL_POINTS slots up to `end` that hold a value (NaN: none). */
function levelAt(h: SeriesState['history'], end: number): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < SHIFT_LEVEL_POINTS; i++) {
    const v = h.get(end - i);
    if (!Number.isNaN(v)) {
      sum += v;
      n++;
    }
  }
  return n > 0 ? sum / n : Number.NaN;
}

/** A number in [0, 1) that differs from series to series (their first samples differ) yet replays the same. */
function hashPhase(x: number, atMs: number): number {
  const v = Math.sin(x * 12.9898 + (atMs % 1e7) * 0.0078233) * 43758.5453;
  return v - Math.floor(v);
}

/**
 * The learner as the engine runs it unless told otherwise. What a refit costs the host is per
 * second, not per sample: at the agent's ticks (a second) 1024 rows (17 minutes) refitted every
 * 1024 samples; on a coarse grid (a minute or more, the public traces' 5 minutes) a week of
 * 5-minute samples, 2016 rows, whose refit comes once in days.
 */
function learnerDefaults(stepMs: number): LearnerOptions {
  return stepMs >= COARSE_STEP_MS ? { rows: 2016, trees: 60, refitEvery: 1024 } : { rows: 1024, trees: 40, refitEvery: 1024, firstFit: 200 };
}
const COARSE_STEP_MS = 60_000;

/** The pooled learner per target (learner-pool.ts): a week of 5-minute steps on a coarse grid, 17 minutes of seconds on a fine one. */
function pooledDefaults(stepMs: number): PooledLearnerOptions {
  return stepMs >= COARSE_STEP_MS ? { rows: 8192, rowsPerStep: 8, refitSteps: 288, trees: 60 } : { rows: 4096, rowsPerStep: 4, refitSteps: 256, trees: 40 };
}

/** What a head needs of its learned model: a private one (learner.ts) or one pooled across series (learner-pool.ts). */
interface RowLearner {
  add(row: ArrayLike<number>, label: number, step: number): void;
  /** the fitted quantile for a row already clamped (clampFeature); NaN before the first fit */
  predictClamped(row: ArrayLike<number>): number;
}

/** Lets two wrappers read one base model that the engine alone updates. */
class SharedBase implements Forecaster, SeasonalPeakSource {
  readonly name;
  constructor(private readonly base: SeasonalProfileForecaster) {
    this.name = base.name;
  }
  update(): void {}
  forecast(horizonMs: number): Forecast {
    return this.base.forecast(horizonMs);
  }
  quantileAt(horizonMs: number, q: number): number {
    return this.base.quantileAt(horizonMs, q);
  }
  seasonalPeak(steps: number): number {
    return this.base.seasonalPeak(steps);
  }
  get period(): number {
    return this.base.period;
  }
}

export interface EngineInspection {
  /** the final quantiles */
  p50: number;
  p90: number;
  /** each candidate's weight in the combination and its own quantiles */
  weights: Record<EngineCandidate, number>;
  candidates: Record<EngineCandidate, { p50: number; p90: number }>;
  /** the calibration: band factor and offset (in levels) */
  bandFactor: number;
  offset: number;
}

export class ForecastEngine {
  readonly state: SeriesState;
  readonly lossHalfLife: number;
  /** learning rates whose combinations are mixed by their own loss */
  readonly mixes: readonly EngineMix[];
  readonly calibration: 'offset' | 'width' | 'none';
  readonly calibrationGain: number;
  /** per candidate: left out */
  readonly skip: boolean[];
  private readonly profileBase: SeasonalProfileForecaster;
  readonly pointProfile: CalibratedForecaster;
  readonly peakProfile: HorizonPeakForecaster;
  private readonly weight: HistoryWeight;
  /** by target: the steps ahead (at least 1), negated for a peak (a number, not a string built at every ask) */
  private readonly heads = new Map<number, Head>();
  private readonly seasonMs: number;
  private readonly maxSeasonSteps: number;
  private readonly historySteps: number;
  private readonly learnerOptions: LearnerOptions | false;
  /** season length in slots used by the seasonal candidate and features (0: none) */
  season = 0;
  /** in [0, 1), from the first sample: spreads the learners' refits of series started together */
  private phase = 0;
  /** shared learned models, when the engine takes part in a pool */
  readonly learnerPool: LearnerPool | undefined;
  /** the newest sample's time in whole steps since the epoch: the pool's clock, common to every series */
  timeStep = 0;

  constructor(opts: EngineOptions) {
    checkHalfLife(opts?.halfLifeMs);
    this.historySteps = opts.historySteps ?? DEFAULT_HISTORY_STEPS;
    this.state = new SeriesState({ stepMs: opts.stepMs, historySteps: this.historySteps });
    this.lossHalfLife = opts.lossHalfLife ?? 72;
    this.mixes = opts.mixes ?? (opts.eta !== undefined ? [{ eta: opts.eta }] : DEFAULT_MIXES);
    if (this.mixes.length === 0 || this.mixes.some((m) => !(m.eta > 0) || !((m.memory ?? 1) > 0))) {
      throw new RangeError(`engine: mixes need learning rates and memories > 0; got ${JSON.stringify(this.mixes)}`);
    }
    this.calibration = opts.calibration ?? 'offset';
    this.calibrationGain = opts.calibrationGain ?? (this.calibration === 'offset' ? 0.03 : 0.02);
    this.skip = ENGINE_CANDIDATES.map((c) => (opts.without ?? []).includes(c));
    if (this.skip.every(Boolean)) throw new RangeError('engine: every candidate left out');
    this.seasonMs = opts.seasonMs ?? DAY_MS;
    this.maxSeasonSteps = opts.maxSeasonSteps ?? 2048;
    this.learnerOptions = opts.learner ?? {};
    this.learnerPool = opts.learnerPool;
    // without a pool the pooled candidate has nothing to say (it repeats the learned one): out
    if (!this.learnerPool) this.skip[C.pooled] = true;
    if (!this.learnerPool) this.skip[C['pooled-seasonal']] = true;
    const base = { halfLifeMs: opts.halfLifeMs, stepMs: opts.stepMs };
    // (update() gives both the same clamped values on the same clock, the state first)
    this.profileBase = new SeasonalProfileForecaster({ ...base, preferredPeriodsMs: [this.seasonMs], historySteps: this.historySteps, sharedHistory: this.state.history });
    this.pointProfile = new CalibratedForecaster(new SharedBase(this.profileBase), { stepMs: opts.stepMs });
    this.peakProfile = new HorizonPeakForecaster(new SharedBase(this.profileBase), { stepMs: opts.stepMs, climbs: 'skip' });
    this.weight = new HistoryWeight(opts.halfLifeMs);
  }

  get samples(): number {
    return this.state.samples;
  }

  update(value: number, atMs: number): void {
    if (!Number.isFinite(value) || !Number.isFinite(atMs)) return;
    const x = Math.max(0, value);
    if (this.state.samples === 0) this.phase = hashPhase(x, atMs);
    this.state.update(x, atMs);
    const stepMs = this.state.clock.stepMs;
    this.timeStep = stepMs > 0 ? Math.round(atMs / stepMs) : this.state.slot;
    this.weight.add(atMs);
    this.profileBase.update(x, atMs);
    this.pointProfile.update(x, atMs);
    this.peakProfile.update(x, atMs);
    this.season = this.seasonSteps();
    for (const head of this.heads.values()) head.step(this.state, x);
  }

  /** Starts learning a target now (heads are otherwise created when first asked). */
  track(kind: EngineTargetKind, horizonMs: number): void {
    this.head(kind, horizonMs);
  }

  /** Quantiles of the value `horizonMs` ahead. */
  point(horizonMs: number): Forecast {
    return this.forecast('point', horizonMs);
  }

  /** Quantiles of the peak over the next `horizonMs`. */
  peak(horizonMs: number): Forecast {
    return this.forecast('peak', horizonMs);
  }

  /** The head's final p50 and p90, the candidates' weights: for reports and tests. */
  inspect(kind: EngineTargetKind, horizonMs: number): EngineInspection | undefined {
    const h = this.head(kind, horizonMs);
    if (!h) return undefined;
    const per = <T>(f: (i: number) => T): Record<EngineCandidate, T> => Object.fromEntries(ENGINE_CANDIDATES.map((c, i) => [c, f(i)])) as Record<EngineCandidate, T>;
    return {
      p50: h.final50, p90: h.final90, weights: per((i) => h.weights[i]!), candidates: per((i) => h.candidate(i)),
      bandFactor: Math.exp(h.logBandFactor), offset: h.offsetLevels,
    };
  }

  private forecast(kind: EngineTargetKind, horizonMs: number): Forecast {
    checkHorizon(horizonMs);
    if (this.state.samples === 0) return EMPTY_FORECAST;
    const h = this.head(kind, horizonMs);
    const confidence = this.weight.confidence;
    if (!h || Number.isNaN(h.final90)) {
      // before the step is known (or the head's first sample): the EWMA's normal
      const s = this.state;
      return normalForecast(s.ewMean, Math.sqrt(s.ewVar), confidence);
    }
    const sd = (h.final90 - h.final50) / Z90;
    return splitTailForecast(h.final50, sd, h.bodySd * h.tailFactor, confidence, sd * h.lowerFactor);
  }

  private head(kind: EngineTargetKind, horizonMs: number): Head | undefined {
    const clock = this.state.clock;
    if (!clock.settled) return undefined;
    const steps = clock.stepsFor(horizonMs);
    const key = kind === 'peak' ? -steps : steps;
    let h = this.heads.get(key);
    if (h) return h;
    // each head's refits at its own phase: a series' targets do not all fit on one sample
    const phase = (this.phase + this.heads.size * 0.381966) % 1;
    h = new Head(kind, steps, this, this.historySteps, this.learnerOptions, phase);
    this.heads.set(key, h);
    const ofKind = [...this.heads.keys()].filter((k) => (k < 0) === (key < 0));
    if (ofKind.length > MAX_HEADS) this.heads.delete(ofKind[0]!);
    return h;
  }

  private seasonSteps(): number {
    const step = this.state.clock.stepMs;
    if (step > 0) {
      const day = Math.round(this.seasonMs / step);
      if (day >= 2 && day <= this.maxSeasonSteps) return day;
    }
    return this.profileBase.period;
  }
}

/** 'engine' (the value at the horizon) and 'engine-peak' (the peak over it): views of one engine. */
export class EngineForecaster implements Forecaster {
  readonly engine: ForecastEngine;
  constructor(opts: EngineOptions | ForecastEngine, readonly name: 'engine' | 'engine-peak' = 'engine') {
    this.engine = opts instanceof ForecastEngine ? opts : new ForecastEngine(opts);
  }
  update(value: number, atMs: number): void {
    this.engine.update(value, atMs);
  }
  forecast(horizonMs: number): Forecast {
    return this.name === 'engine' ? this.engine.point(horizonMs) : this.engine.peak(horizonMs);
  }
}
