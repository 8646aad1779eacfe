// A seasonal profile with an AR(1) deviation around it: the value expected at a step is the
// median of what it was at the same phase over the last few seasons (a robust "same time
// yesterday", which keeps the spiky daily jobs that smoothing flattens), plus how far the
// series currently sits from its profile, fading at the rate the deviations themselves fade.
// Without a season (none detected yet, or none there) the profile is the long-run mean, and
// the model is a mean-reverting AR(1). The season is detected from the data (season.ts), a day
// being tried first where the history can hold three of them.
// The spread is AR(1)'s: wrap it in calibrated:... for quantiles from its own errors.
import type { Forecast, Forecaster } from '../forecaster.js';
import { checkHalfLife, checkHorizon, checkQuantile, EMPTY_FORECAST, pinball90 } from '../stats.js';
import { clampedNormalQuantile, normalForecast } from './distributions.js';
import { HistoryWeight } from './history-weight.js';
import { detectSeason } from './season.js';
import { SlotHistory } from './slot-history.js';
import { SortedBag } from './sorted-window.js';
import { quantileSorted } from './vpa-histogram.js';
import { StepClock } from './step-clock.js';

export interface SeasonalProfileOptions {
  /** memory of the mean, of the deviation's persistence and of the error variance */
  halfLifeMs: number;
  /** sampling step; learned from the first gaps when absent */
  stepMs?: number;
  /** season length in steps; detected from the data when absent */
  period?: number;
  /** past seasons the profile's median spans (default 7) */
  seasons?: number;
  /** season lengths expected a priori, in ms, tried first (default: one day) */
  preferredPeriodsMs?: readonly number[];
  /** steps of history kept (default 4096: two weeks at 5 min, a day's seven copies fit) */
  historySteps?: number;
  /**
   * after its start-up samples, the level is their median, not the mean of them held within
   * bounds (relearnStartup): 3 s at 2 cores then 0.1 lifted that mean for a minute, and the peaks
   * horizon-peak learnt against it read its 5 s p90 3% low for minutes after, missed 63% of the
   * time from 30 to 60 s and 41% from 60 to 150 s (20 series). Set by horizon-peak's own base
   * only: as the engine's profile candidate it moved cpu-phases' 60 s peak misses from 12.94% to
   * 12.99% (the bar: 13%)
   */
  startAtMedian?: boolean;
  /**
   * the history of the same values on the same clock, kept and written by the profile's owner
   * (the engine's series state) before each update: shared rather than copied (16 KB a series)
   */
  sharedHistory?: SlotHistory;
}

const DAY_MS = 86_400_000;
/** Detection runs at these sample counts, then every last one of them. */
const DETECT_AT = [64, 128, 256, 512, 1024];
/** Steps read per past window by seasonalPeak. */
const PEAK_POINTS = 64;
/**
 * Samples whose level and spread are learnt robustly (relearnStartup). A first sample of 2082
 * before 200 +- 10 lifted the level to 309 at 15 s and 210 at 100 s (half-life 60 s), and the
 * spread to 1882 at first: horizon-peak's 5 s peak p90 read 198 to 204 from 40 to 100 s against
 * peaks of about 207, its 60 s one 668 at 40 s.
 */
const STARTUP_SAMPLES = 8;
/** Start-up samples are held within this many robust spreads of their median. */
const STARTUP_BOUND = 8;
/** The least robust spread, as a share of the median (a constant series with one burst has none). */
const STARTUP_FLOOR = 0.02;
/** Persistence is capped below 1 so the deviation always fades at long horizons. */
const MAX_PERSISTENCE = 0.999;

export class SeasonalProfileForecaster implements Forecaster {
  readonly name = 'seasonal-profile' as const;
  private readonly clock: StepClock;
  private readonly history: SlotHistory;
  private readonly weight: HistoryWeight;
  private readonly halfLifeMs: number;
  private readonly seasons: number;
  private readonly fixedPeriod: number | undefined;
  private seasonLength = 0;
  private samples = 0;
  /** samples the detection schedule is shifted by (see detectDue) */
  private detectShift = 0;
  private lastMs = Number.NEGATIVE_INFINITY;
  /** time-decayed mean of the values: the profile when there is no season */
  private meanSum = 0;
  private meanWeight = 0;
  /** deviation from the profile at the newest sample */
  private deviation = Number.NaN;
  /** time-decayed sums for the deviation's lag-1 regression, and of squared innovations */
  private sxy = 0;
  private sxx = 0;
  private innovationSum = 0;
  private innovationWeight = 0;
  /** the past seasons' values a median is taken of (typed: an array emptied by length = 0 lost its storage, and each push allocated it again) */
  private readonly scratch: Float64Array;
  /** the last horizon's centre and spread, and the sample count and horizon they are for */
  private atCentre = 0;
  private atSd = 0;
  private atSamples = -1;
  private atHorizonMs = Number.NaN;
  /**
   * the first STARTUP_SAMPLES samples (value, time, steps since the one before, slot), then room
   * to sort their values; null once the start-up is over (after its last sample, or restartSpread)
   */
  private startup: Float64Array | null = new Float64Array(5 * STARTUP_SAMPLES);

  constructor(private readonly opts: SeasonalProfileOptions) {
    checkHalfLife(opts?.halfLifeMs);
    this.halfLifeMs = opts.halfLifeMs;
    this.clock = new StepClock(opts.stepMs);
    this.history = opts.sharedHistory ?? new SlotHistory(opts.historySteps ?? 4096);
    this.weight = new HistoryWeight(opts.halfLifeMs);
    if (opts.seasons !== undefined && !(Number.isFinite(opts.seasons) && opts.seasons >= 1)) {
      throw new RangeError(`seasonal profile seasons must be a number >= 1; got ${String(opts.seasons)}`);
    }
    this.seasons = Math.floor(opts.seasons ?? 7);
    this.scratch = new Float64Array(this.seasons);
    if (opts.period !== undefined && !(Number.isInteger(opts.period) && opts.period >= 2)) {
      throw new RangeError(`seasonal profile period must be an integer >= 2; got ${String(opts.period)}`);
    }
    this.fixedPeriod = opts.period;
    this.seasonLength = opts.period ?? 0;
  }

  /** Season length in use, in steps (0: none). */
  get period(): number {
    return this.seasonLength;
  }

  /** How much of the current deviation is left one step later. */
  get persistence(): number {
    return this.sxx > 0 ? Math.min(MAX_PERSISTENCE, Math.max(0, this.sxy / this.sxx)) : 0;
  }

  /**
   * Learns the spread afresh from the next samples (its level and persistence kept): for an owner
   * that knows the innovations held are of a climb that has settled (horizon-peak), which would
   * otherwise widen every horizon for minutes at the level it settled at.
   */
  restartSpread(): void {
    this.innovationSum = 0;
    this.innovationWeight = 0;
    this.atSamples = -1;
    // (a start-up still learning again from its first samples would bring the old spread back)
    this.startup = null;
  }

  update(value: number, atMs: number): void {
    if (!Number.isFinite(value) || !Number.isFinite(atMs)) return;
    const x = Math.max(0, value);
    const steps = this.clock.advance(atMs);
    const slot = this.clock.slot;
    if (!this.opts.sharedHistory) this.history.set(slot, x);
    this.weight.add(atMs);
    if (this.samples === 0) this.detectShift = Math.floor(DETECT_SHIFT * spread(x, atMs));
    if (this.startup !== null) {
      // the level and spread are learnt afresh from the start-up's samples, each held within
      // the bounds they give together, so that one burst in a series' first seconds (a process
      // loading) is not taken for its level for minutes
      const n = this.samples;
      const startup = this.startup;
      startup[4 * n] = x;
      startup[4 * n + 1] = atMs;
      startup[4 * n + 2] = steps;
      startup[4 * n + 3] = slot;
      this.relearnStartup(startup, n + 1);
      if (n + 1 === STARTUP_SAMPLES) this.startup = null;
    } else {
      this.learn(x, atMs, steps, slot);
    }
    this.samples++;
    if (this.fixedPeriod === undefined && this.detectDue()) this.detect();
  }

  /** Adds a value to the level, the deviation's persistence and the spread. */
  private learn(x: number, atMs: number, steps: number, slot: number): void {
    const decay = this.lastMs > Number.NEGATIVE_INFINITY ? Math.pow(2, -Math.max(0, atMs - this.lastMs) / this.halfLifeMs) : 1;
    // the profile for this step comes from past seasons only, before the value joins them
    const d = x - this.profileAt(slot);
    if (!Number.isNaN(this.deviation)) {
      const rho = this.persistence;
      const innovation = d - Math.pow(rho, steps) * this.deviation;
      this.innovationSum = this.innovationSum * decay + innovation * innovation;
      this.innovationWeight = this.innovationWeight * decay + 1;
      if (steps === 1) {
        this.sxy = this.sxy * decay + d * this.deviation;
        this.sxx = this.sxx * decay + this.deviation * this.deviation;
      }
    }
    this.deviation = d;
    this.meanSum = this.meanSum * decay + x;
    this.meanWeight = this.meanWeight * decay + 1;
    this.lastMs = Math.max(this.lastMs, atMs);
  }

  /**
   * Learns the first n samples again, each held within the median of them all plus or minus
   * STARTUP_BOUND robust spreads (1.4826 times their median absolute deviation, at least
   * STARTUP_FLOOR of the median; none when both are 0).
   * A level that really changes in the start-up (10 for 5 s, then 100) is held too: the value
   * 60 s ahead read 46 at 12 s and 86 at 40 s (the deviation from the level carries the nearer
   * horizons). Centred on the newest half of the samples it read 86 and 96, but the start-up's
   * run-queue bursts (27 ms, then 3.5) were held too, and the phased recording's 60 s peak was
   * missed 13.1% of the time (the bar: 13%).
   * (The history keeps the values as they came: with a period given, a past season's burst is
   * read as that phase's profile until the seasons' median outvotes it.)
   */
  private relearnStartup(startup: Float64Array, n: number): void {
    const values = startup.subarray(4 * STARTUP_SAMPLES, 4 * STARTUP_SAMPLES + n);
    for (let i = 0; i < n; i++) values[i] = startup[4 * i]!;
    values.sort();
    const mid = quantileSorted(values, 0.5);
    for (let i = 0; i < n; i++) values[i] = Math.abs(startup[4 * i]! - mid);
    values.sort();
    const scale = Math.max(1.4826 * quantileSorted(values, 0.5), STARTUP_FLOOR * mid);
    const bound = scale > 0 ? STARTUP_BOUND * scale : Number.POSITIVE_INFINITY;
    this.meanSum = this.meanWeight = 0;
    this.sxy = this.sxx = this.innovationSum = this.innovationWeight = 0;
    this.deviation = Number.NaN;
    this.lastMs = Number.NEGATIVE_INFINITY;
    let x = Number.NaN;
    for (let i = 0; i < n; i++) {
      x = Math.min(mid + bound, Math.max(mid - bound, startup[4 * i]!));
      this.learn(x, startup[4 * i + 1]!, startup[4 * i + 2]!, startup[4 * i + 3]!);
    }
    if (this.opts.startAtMedian) {
      this.meanSum = mid * this.meanWeight;
      // (the newest deviation, from the level it now has)
      if (this.seasonLength === 0) this.deviation = x - mid;
    }
  }

  forecast(horizonMs: number): Forecast {
    checkHorizon(horizonMs);
    if (this.samples === 0) return EMPTY_FORECAST;
    this.normalAt(horizonMs);
    return normalForecast(this.atCentre, this.atSd, this.weight.confidence);
  }

  /** forecast(horizonMs).quantile(q), without building the forecast (the engine asks several a sample). */
  quantileAt(horizonMs: number, q: number): number {
    checkHorizon(horizonMs);
    checkQuantile(q);
    if (this.samples === 0) return 0;
    this.normalAt(horizonMs);
    return clampedNormalQuantile(this.atCentre, this.atSd, q);
  }

  /** Sets atCentre and atSd for the horizon, unless they are already set for it since the last sample. */
  private normalAt(horizonMs: number): void {
    if (this.atSamples === this.samples && this.atHorizonMs === horizonMs) return;
    const h = this.clock.stepsFor(horizonMs);
    const rho = this.persistence;
    const carried = Math.pow(rho, h);
    const deviation = Number.isNaN(this.deviation) ? 0 : this.deviation;
    this.atCentre = this.profileAt(this.clock.slot + h) + carried * deviation;
    const innovationVar = this.innovationWeight > 0 ? this.innovationSum / this.innovationWeight : 0;
    // AR(1): the h-step error adds up h innovations, each faded by its distance to the target
    const factor = rho < 1 ? (1 - carried * carried) / (1 - rho * rho) : h;
    this.atSd = Math.sqrt(innovationVar * factor);
    this.atSamples = this.samples;
    this.atHorizonMs = horizonMs;
  }

  /** Median of the value at the same phase over the past seasons held; the mean without them. */
  private profileAt(slot: number): number {
    const m = this.seasonLength;
    const mean = this.meanWeight > 0 ? this.meanSum / this.meanWeight : 0;
    if (m === 0) return mean;
    const past = this.scratch;
    let n = 0;
    for (let k = 1; k <= this.seasons; k++) {
      const v = this.history.get(slot - k * m);
      if (!Number.isNaN(v)) past[n++] = v;
    }
    return n > 0 ? median(past, n) : mean;
  }

  /**
   * Median over the past seasons of the peak of the h steps that followed this phase (NaN
   * without a season or its history): what the peak over the next h usually is at this time.
   */
  seasonalPeak(steps: number): number {
    const m = this.seasonLength;
    if (m === 0) return Number.NaN;
    const slot = this.clock.slot;
    // a long horizon is sampled (at most PEAK_POINTS steps per window): bounded work per call
    const stride = Math.max(1, Math.ceil(steps / PEAK_POINTS));
    const peaks = this.scratch;
    let n = 0;
    for (let k = 1; k <= this.seasons; k++) {
      let peak = Number.NaN;
      for (let j = 1; j <= steps; j += stride) {
        const v = this.history.get(slot + j - k * m);
        if (!Number.isNaN(v) && !(v <= peak)) peak = v;
      }
      if (!Number.isNaN(peak)) peaks[n++] = peak;
    }
    if (n === 0) return Number.NaN;
    return median(peaks, n);
  }

  private detectDue(): boolean {
    // shifted by a few samples that differ from series to series: an agent whose workloads all
    // started together does not run every detection on the same tick
    const n = this.samples - this.detectShift;
    const last = DETECT_AT[DETECT_AT.length - 1]!;
    return DETECT_AT.includes(n) || (n > last && n % last === 0);
  }

  private profileHelps(values: Float64Array, period: number): boolean {
    return profileHelpsOn(values, period, this.seasons);
  }

  private detect(): void {
    const step = this.clock.stepMs;
    const preferred = step > 0 ? (this.opts.preferredPeriodsMs ?? [DAY_MS]).map((ms) => Math.round(ms / step)) : [];
    const values = this.history.values();
    let found = detectSeason(values, { preferred }).period;
    // the autocorrelation test assumes roughly normal values: on a spiky series two unrelated
    // bursts k apart can pass it. A season is kept only if its profile (the median of the same
    // phase in earlier seasons) predicts the history held better than one level does.
    if (found > 0 && !this.profileHelps(values, found)) found = 0;
    if (found !== this.seasonLength) {
      this.seasonLength = found;
      // deviations were measured from another profile: start their statistics afresh
      this.deviation = Number.NaN;
      this.sxy = this.sxx = this.innovationSum = this.innovationWeight = 0;
    }
  }
}

/**
 * Whether the same phase over up to `seasons` earlier seasons forecasts each value of `values`
 * (from the second season on) better than the recent level does: the p90 pinball loss of their
 * 0.9-quantile at least PROFILE_GAIN below that of the 0.9-quantile of a sample of the same
 * look-back without a season. The p90 loss, not the median's error: a burst that comes back at
 * its phase in a third of the seasons is a season worth keeping for a p90.
 */
function profileHelpsOn(values: Float64Array, period: number, seasons: number): boolean {
  let seasonal = 0;
  let level = 0;
  let n = 0;
  // the level: a sample of the look-back (at most 64 points), not every step of it
  const stride = Math.max(1, Math.floor((seasons * period) / 64));
  // refilled for each value: the seasons' values sorted as they are added; the look-back's
  // sample sorted in native code, through a view of its first k values made once per k
  const past = new SortedBag(seasons);
  const flat = new Float64Array(Math.ceil((seasons * period) / stride) + 1);
  const flatViews: Float64Array[] = [];
  for (let i = period; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) continue;
    past.clear();
    for (let k = 1; k <= seasons && i - k * period >= 0; k++) {
      const x = values[i - k * period]!;
      if (!Number.isNaN(x)) past.insert(x);
    }
    if (past.size === 0) continue;
    let nf = 0;
    for (let j = i - 1; j >= Math.max(0, i - seasons * period); j -= stride) if (!Number.isNaN(values[j]!)) flat[nf++] = values[j]!;
    if (nf === 0) continue;
    seasonal += pinball90(v, past.linearQuantile(0.9));
    level += pinball90(v, quantileSorted((flatViews[nf] ??= flat.subarray(0, nf)).sort(), 0.9));
    n++;
  }
  return n > 0 && seasonal < (1 - PROFILE_GAIN) * level;
}

/** A season's profile must cut the level's p90 loss by this share. */
const PROFILE_GAIN = 0.05;

/** Detections are shifted by up to this many samples. */
const DETECT_SHIFT = 64;

/** A number in [0, 1) that differs from series to series (their first samples differ) yet replays the same. */
function spread(x: number, atMs: number): number {
  const v = Math.sin(x * 12.9898 + (atMs % 1e7) * 0.0078233) * 43758.5453;
  return v - Math.floor(v);
}

/** Median of the first n of a few numbers (sorts them in place: insertion sort, for the handful of seasons). */
function median(values: Float64Array, n: number): number {
  for (let i = 1; i < n; i++) {
    const v = values[i]!;
    let j = i - 1;
    for (; j >= 0 && values[j]! > v; j--) values[j + 1] = values[j]!;
    values[j + 1] = v;
  }
  const mid = n >> 1;
  return n % 2 === 1 ? values[mid]! : 0.5 * (values[mid - 1]! + values[mid]!);
}
