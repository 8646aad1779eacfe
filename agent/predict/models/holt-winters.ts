// Holt's linear trend and Holt-Winters (additive) as forecasters. Both keep a window of recent
// steps; every so often they refit their smoothing constants to it (smoothing-fit.ts), and
// Holt-Winters also looks for a season in it (season.ts). Holt-Winters keeps the season only
// when one is significant AND the seasonal fit beats Holt's on the same window; otherwise it is
// Holt. Between refits each sample costs a handful of multiplications.
// The spread: a normal around the point forecast whose variance is the recent one-step error
// variance times the model's h-step factor (ETS(A,A,A)). Wrap in calibrated:... for quantiles
// read from the model's own errors instead.
import type { Forecast, Forecaster } from '../forecaster.js';
import { checkHalfLife, checkHorizon, EMPTY_FORECAST } from '../stats.js';
import { normalForecast } from './distributions.js';
import { HistoryWeight } from './history-weight.js';
import { detectSeason } from './season.js';
import { SlotHistory } from './slot-history.js';
import { AdditiveSmoother, type SmoothingParams } from './smoothing.js';
import { fitSmoother } from './smoothing-fit.js';
import { StepClock } from './step-clock.js';

export interface SmoothingOptions {
  /** memory of the one-step error variance and of confidence */
  halfLifeMs: number;
  /** the sampling step; learned from the first gaps when absent */
  stepMs?: number;
  /** steps of history kept for refits and season detection (default 1152: four days at 5 min) */
  historySteps?: number;
  /** samples between refits once warmed up (default 256) */
  refitEvery?: number;
  /** trend damping per step, (0, 1] (default 1: Holt's linear trend) */
  phi?: number;
  /** shortest / longest season looked for, in steps (default 4 / a third of the history) */
  minPeriod?: number;
  maxPeriod?: number;
}

/** Constants used until the first refit. */
const START: SmoothingParams = { alpha: 0.3, beta: 0.03, gamma: 0.1, phi: 1 };
/** No refit before this many samples: a fit on fewer is noise. */
const FIRST_REFIT = 16;
/** A season must cut the one-step squared error by at least this share to be kept. */
const SEASON_GAIN = 0.02;

class SmoothingForecaster {
  private readonly clock: StepClock;
  private readonly history: SlotHistory;
  private readonly weight: HistoryWeight;
  private readonly halfLifeMs: number;
  private readonly refitEvery: number;
  private smoother: AdditiveSmoother;
  private samples = 0;
  private sinceRefit = 0;
  /** time-decayed sums of squared one-step errors and of their weights */
  private errSum = 0;
  private errWeight = 0;
  private lastMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly seasonal: boolean,
    private readonly opts: SmoothingOptions,
  ) {
    checkHalfLife(opts?.halfLifeMs);
    this.halfLifeMs = opts.halfLifeMs;
    this.clock = new StepClock(opts.stepMs);
    this.history = new SlotHistory(opts.historySteps ?? 1152);
    this.weight = new HistoryWeight(opts.halfLifeMs);
    this.refitEvery = Math.max(1, opts.refitEvery ?? 256);
    const phi = opts.phi ?? 1;
    if (!(phi > 0 && phi <= 1)) throw new RangeError(`smoothing phi must be in (0, 1]; got ${String(phi)}`);
    this.smoother = new AdditiveSmoother({ ...START, phi });
  }

  /** Season length in use, in steps (0: none, Holt). */
  get period(): number {
    return this.smoother.period;
  }

  /** Trend per step, the smoothing constants and the learned step: for tests and reports. */
  get state(): { level: number; trend: number; params: SmoothingParams; stepMs: number } {
    return { level: this.smoother.level, trend: this.smoother.trend, params: this.smoother.params, stepMs: this.clock.stepMs };
  }

  update(value: number, atMs: number): void {
    if (!Number.isFinite(value) || !Number.isFinite(atMs)) return;
    const x = Math.max(0, value);
    this.clock.advance(atMs);
    const slot = this.clock.slot;
    this.history.set(slot, x);
    this.weight.add(atMs);
    if (this.samples++ === 0) {
      this.smoother.init(x, 0, slot);
    } else {
      const e = this.smoother.update(x, slot);
      const decay = Math.pow(2, -Math.max(0, atMs - this.lastMs) / this.halfLifeMs);
      this.errSum = this.errSum * decay + e * e;
      this.errWeight = this.errWeight * decay + 1;
    }
    this.lastMs = Math.max(this.lastMs, atMs);
    // refits come quickly at first (the window is filling) and every refitEvery after
    if (++this.sinceRefit >= Math.max(FIRST_REFIT, Math.min(this.refitEvery, this.samples >> 1))) this.refit();
  }

  forecast(horizonMs: number): Forecast {
    checkHorizon(horizonMs);
    if (this.samples === 0) return EMPTY_FORECAST;
    const steps = this.clock.stepsFor(horizonMs);
    const variance = this.errWeight > 0 ? this.errSum / this.errWeight : 0;
    const sd = Math.sqrt(variance * this.smoother.varianceFactor(steps));
    return normalForecast(this.smoother.forecast(steps), sd, this.weight.confidence);
  }

  private refit(): void {
    this.sinceRefit = 0;
    const values = this.history.values();
    const first = this.history.firstSlot;
    const n = values.length;
    const start = { ...this.smoother.params };
    let period = 0;
    if (this.seasonal) {
      period = detectSeason(values, { minPeriod: this.opts.minPeriod, maxPeriod: this.opts.maxPeriod }).period;
    }
    // both fits are scored on the same recent half, after the seasonal start-up's two cycles
    const scoreFrom = Math.max(Math.floor(n / 2), 2 * period);
    const holt = fitSmoother(values, first, 0, start, scoreFrom);
    let chosen = holt;
    if (period > 0) {
      // from the textbook start, and from the constants in use when the season is the same:
      // Holt's constants alone can sit where no season can be learned (alpha 1 leaves gamma 0)
      let hw = fitSmoother(values, first, period, { ...START, phi: start.phi }, scoreFrom);
      if (this.smoother.period === period) {
        const again = fitSmoother(values, first, period, start, scoreFrom);
        if (again !== undefined && (hw === undefined || again.mse < hw.mse)) hw = again;
      }
      if (hw !== undefined && (holt === undefined || hw.mse < holt.mse * (1 - SEASON_GAIN))) chosen = hw;
    }
    if (chosen === undefined) return;
    this.smoother = chosen.smoother;
    // the fit's error variance replaces the running one, with the weight the running one had
    if (this.errWeight > 0) this.errSum = chosen.mse * this.errWeight;
  }
}

/** Holt's linear trend (double exponential smoothing), constants fitted to recent history. */
export class HoltForecaster extends SmoothingForecaster implements Forecaster {
  readonly name = 'holt' as const;
  constructor(opts: SmoothingOptions) {
    super(false, opts);
  }
}

/** Holt-Winters additive, season length detected from the data; Holt when none is found. */
export class HoltWintersForecaster extends SmoothingForecaster implements Forecaster {
  readonly name = 'holt-winters' as const;
  constructor(opts: SmoothingOptions) {
    super(true, opts);
  }
}
