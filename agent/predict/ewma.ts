// Exponentially weighted mean and variance, decayed by elapsed time rather than by sample
// count, so a late or skipped tick weighs the past correctly. The forecast is trend-free: the
// next value is the weighted mean, spread by the weighted standard deviation, read through a
// normal distribution clamped at 0.
import type { Forecast, Forecaster } from './forecaster.js';
import {
  checkHalfLife, checkHorizon, checkQuantile, checkThreshold, confidenceFromWeight, EMPTY_FORECAST, normalQuantile,
  normalUpperTail,
} from './stats.js';

export interface EwmaOptions {
  halfLifeMs: number;
}

export class EwmaForecaster implements Forecaster {
  readonly name = 'ewma' as const;
  private readonly halfLifeMs: number;
  /** sum of sample weights, each 2^(-age / halfLife) */
  private weight = 0;
  /** sum of squared weights, for the effective sample count in the variance correction */
  private weightSq = 0;
  private mean = 0;
  /** weighted sum of squared deviations from the mean */
  private sumSqDev = 0;
  private lastMs = Number.NEGATIVE_INFINITY;

  constructor(opts: EwmaOptions) {
    checkHalfLife(opts?.halfLifeMs);
    this.halfLifeMs = opts.halfLifeMs;
  }

  update(value: number, atMs: number): void {
    if (!Number.isFinite(value) || !Number.isFinite(atMs)) return;
    const x = Math.max(0, value);
    // a sample from the past is taken as if now: an EWMA has no slot for it
    const elapsed = this.weight > 0 ? Math.max(0, atMs - this.lastMs) : 0;
    const decay = Math.pow(2, -elapsed / this.halfLifeMs);
    // West's weighted incremental update with old weights scaled by `decay`; with decay 1
    // (two samples at one instant) it is the plain running mean and variance.
    this.weight = this.weight * decay + 1;
    this.weightSq = this.weightSq * decay * decay + 1;
    const delta = x - this.mean;
    this.mean += delta / this.weight;
    this.sumSqDev = this.sumSqDev * decay + delta * (x - this.mean);
    this.lastMs = Math.max(this.lastMs, atMs);
  }

  forecast(horizonMs: number): Forecast {
    checkHorizon(horizonMs);
    if (this.weight === 0) return EMPTY_FORECAST;
    // reliability-weights correction (the weighted analogue of n - 1); 0 with a single sample
    const denominator = this.weight - this.weightSq / this.weight;
    const variance = denominator > 1e-12 ? Math.max(0, this.sumSqDev) / denominator : 0;
    // trend-free: the horizon does not move the centre or widen the spread
    return new NormalForecast(this.mean, Math.sqrt(variance), confidenceFromWeight(this.weight));
  }
}

/** A normal distribution clamped at 0 (the mass below 0 sits at 0). */
class NormalForecast implements Forecast {
  constructor(
    private readonly centre: number,
    private readonly sd: number,
    readonly confidence: number,
  ) {}

  get mean(): number {
    return Math.max(0, this.centre);
  }

  quantile(q: number): number {
    checkQuantile(q);
    if (this.sd === 0) return this.mean;
    return Math.max(0, this.centre + this.sd * normalQuantile(q));
  }

  exceedance(x: number): number {
    checkThreshold(x);
    if (x < 0) return 1; // every clamped value is >= 0 > x
    if (this.sd === 0) return this.centre > x ? 1 : 0;
    return normalUpperTail((x - this.centre) / this.sd);
  }
}
