// The shapes a forecast can take, as Forecast objects: a single value, a normal clamped at 0,
// and a centre plus an empirical distribution of errors (what calibration produces). Each is a
// snapshot: updating the forecaster afterwards does not change a forecast already handed out.
import type { Forecast, Forecaster } from '../forecaster.js';
import { checkQuantile, checkThreshold, normalQuantile, normalUpperTail, Z90 } from '../stats.js';
import { rankCdf, rankQuantile } from './sorted-window.js';

// Small classes, not object literals with closures: the engine and the agent make several a
// sample per series, and a literal's two closures and their context were most of its bytes.

/** All the mass at one value (clamped at 0). */
class PointForecast implements Forecast {
  constructor(
    readonly mean: number,
    readonly confidence: number,
  ) {}
  quantile(q: number): number {
    checkQuantile(q);
    return this.mean;
  }
  exceedance(x: number): number {
    checkThreshold(x);
    return this.mean > x ? 1 : 0;
  }
}

export function pointForecast(value: number, confidence: number): Forecast {
  return new PointForecast(Math.max(0, value), confidence);
}

/** Quantile q of a normal clamped at 0; with no spread, the centre (clamped): as normalForecast's. */
export function clampedNormalQuantile(centre: number, sd: number, q: number): number {
  return sd > 0 ? Math.max(0, centre + sd * normalQuantile(q)) : Math.max(0, centre);
}

/** A model that reads one quantile at a horizon without building a Forecast. */
export interface QuantileAt {
  quantileAt(horizonMs: number, q: number): number;
}

/** forecast(horizonMs).quantile(q) of `f`, without the Forecast where `f` can say it directly (wrappers ask at every sample). */
export function quantileOf(f: Forecaster, horizonMs: number, q: number): number {
  const direct = (f as Partial<QuantileAt>).quantileAt;
  return direct ? direct.call(f, horizonMs, q) : f.forecast(horizonMs).quantile(q);
}

/** The p50 and p90 of `f` at the horizon, as quantileOf reads them (one Forecast where `f` cannot say them directly). */
export function medianAndP90Of(f: Forecaster, horizonMs: number): { p50: number; p90: number } {
  if ((f as Partial<QuantileAt>).quantileAt) return { p50: quantileOf(f, horizonMs, 0.5), p90: quantileOf(f, horizonMs, 0.9) };
  const fc = f.forecast(horizonMs);
  return { p50: fc.quantile(0.5), p90: fc.quantile(0.9) };
}

/** A normal distribution clamped at 0 (the mass below 0 sits at 0). */
class NormalForecast implements Forecast {
  readonly mean: number;
  constructor(
    private readonly centre: number,
    private readonly sd: number,
    readonly confidence: number,
  ) {
    this.mean = Math.max(0, centre);
  }
  quantile(q: number): number {
    checkQuantile(q);
    return clampedNormalQuantile(this.centre, this.sd, q);
  }
  exceedance(x: number): number {
    checkThreshold(x);
    if (x < 0) return 1;
    return normalUpperTail((x - this.centre) / this.sd);
  }
}

export function normalForecast(centre: number, sd: number, confidence: number): Forecast {
  if (!(sd > 0)) return pointForecast(centre, confidence);
  return new NormalForecast(centre, sd, confidence);
}

/**
 * A normal clamped at 0 up to its p90, and above the p90 a normal-shaped tail of its own spread
 * (`upperSd`; continuous at the p90, where both leave 10%): a tail calibrated apart from the body,
 * so the p99 and the chance of passing a level far above the p90 come from how often the tail
 * was actually passed, not from the body's spread.
 */
class SplitTailForecast implements Forecast {
  readonly mean: number;
  private readonly p90: number;
  constructor(
    private readonly centre: number,
    private readonly sd: number,
    private readonly upperSd: number,
    readonly confidence: number,
    /** the spread below the centre (default: the body's) */
    private readonly lowerSd = sd,
  ) {
    this.mean = Math.max(0, centre);
    this.p90 = centre + sd * Z90;
  }
  quantile(q: number): number {
    checkQuantile(q);
    if (q < 0.5) return clampedNormalQuantile(this.centre, this.lowerSd, q);
    if (q <= 0.9) return clampedNormalQuantile(this.centre, this.sd, q);
    return Math.max(0, splitTailAbove(this.p90, this.upperSd, q));
  }
  exceedance(x: number): number {
    checkThreshold(x);
    if (x < 0) return 1;
    if (x < this.centre) return this.lowerSd > 0 ? normalUpperTail((x - this.centre) / this.lowerSd) : 1;
    if (x < this.p90) return this.sd > 0 ? normalUpperTail((x - this.centre) / this.sd) : 1;
    return normalUpperTail(Z90 + (x - this.p90) / this.upperSd);
  }
}

/** Quantile q (above 0.9) of a split tail: from the p90, at the tail's own spread (unclamped). */
export function splitTailAbove(p90: number, upperSd: number, q: number): number {
  return p90 + upperSd * (normalQuantile(q) - Z90);
}

/**
 * A normal through (centre, sd) whose tail above the p90 has a spread of its own (as
 * normalForecast's when equal). With no body spread (sd 0), the centre up to the p90 and the tail above.
 */
export function splitTailForecast(centre: number, sd: number, upperSd: number, confidence: number, lowerSd = sd): Forecast {
  if (!(sd > 0) && !(upperSd > 0) && !(lowerSd > 0)) return pointForecast(centre, confidence);
  if (!(sd > 0)) return new SplitTailForecast(centre, 0, upperSd, confidence, lowerSd);
  if ((!(upperSd > 0) || upperSd === sd) && lowerSd === sd) return new NormalForecast(centre, sd, confidence);
  return new SplitTailForecast(centre, sd, upperSd > 0 ? upperSd : sd, confidence, lowerSd);
}

/**
 * `centre + e`, e drawn from the sorted errors (split-conformal ranks), clamped at 0. The mean
 * is the centre plus the mean error.
 */
class ErrorForecast implements Forecast {
  readonly mean: number;
  constructor(
    private readonly centre: number,
    private readonly sortedErrors: Float64Array,
    meanError: number,
    readonly confidence: number,
  ) {
    this.mean = Math.max(0, centre + meanError);
  }
  quantile(q: number): number {
    checkQuantile(q);
    return Math.max(0, this.centre + rankQuantile(this.sortedErrors, this.sortedErrors.length, q));
  }
  exceedance(x: number): number {
    checkThreshold(x);
    if (x < 0) return 1;
    return 1 - rankCdf(this.sortedErrors, this.sortedErrors.length, x - this.centre);
  }
}

export function errorForecast(centre: number, sortedErrors: Float64Array, meanError: number, confidence: number): Forecast {
  if (sortedErrors.length === 0) return pointForecast(centre, confidence);
  return new ErrorForecast(centre, sortedErrors, meanError, confidence);
}

/** `fc` moved by `delta` (clamped at 0), with its own confidence. */
class ShiftedForecast implements Forecast {
  readonly mean: number;
  constructor(
    private readonly fc: Forecast,
    private readonly delta: number,
    readonly confidence: number,
  ) {
    this.mean = Math.max(0, fc.mean + delta);
  }
  quantile(q: number): number {
    return Math.max(0, this.fc.quantile(q) + this.delta);
  }
  exceedance(x: number): number {
    checkThreshold(x);
    if (x < 0) return 1;
    return this.fc.exceedance(x - this.delta);
  }
}

export function shiftedForecast(fc: Forecast, delta: number, confidence = fc.confidence): Forecast {
  return new ShiftedForecast(fc, delta, confidence);
}

/** `fc` stretched about one point: x goes to `to + (x - from) * scale` (scale > 0; clamped at 0), with its own confidence. */
class StretchedForecast implements Forecast {
  readonly mean: number;
  constructor(
    private readonly fc: Forecast,
    private readonly from: number,
    private readonly to: number,
    private readonly scale: number,
    readonly confidence: number,
  ) {
    this.mean = Math.max(0, to + (fc.mean - from) * scale);
  }
  quantile(q: number): number {
    return Math.max(0, this.to + (this.fc.quantile(q) - this.from) * this.scale);
  }
  exceedance(x: number): number {
    checkThreshold(x);
    if (x < 0) return 1;
    return this.fc.exceedance(this.from + (x - this.to) / this.scale);
  }
}

/**
 * `fc` moved and stretched to have its p50 and p90 at `p50` and `p90` (its shape kept between and
 * beyond); moved alone where its own p50 and p90 coincide.
 */
export function forecastThrough(fc: Forecast, p50: number, p90: number): Forecast {
  const a50 = fc.quantile(0.5);
  const a90 = fc.quantile(0.9);
  if (!(a90 > a50) || !(p90 > p50)) return shiftedForecast(fc, p50 - a50);
  return new StretchedForecast(fc, a50, p50, (p90 - p50) / (a90 - a50), fc.confidence);
}
