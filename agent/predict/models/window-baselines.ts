// The rules production systems start from, as forecasters, so the engine is judged against
// them on equal terms: the last value; the peak of a recent window (Autopilot's max-window
// recommender, the reference baseline 2); mean + N sigma over a window. None has a trend: the
// horizon does not change what they say.
import type { Forecast, Forecaster } from '../forecaster.js';
import { checkHorizon, checkQuantile, checkThreshold, EMPTY_FORECAST } from '../stats.js';
import { normalForecast, pointForecast } from './distributions.js';
import { HistoryWeight } from './history-weight.js';
import { rankCdf, rankQuantile, SortedBag } from './sorted-window.js';
import { TimeWindow } from './time-window.js';

export interface WindowOptions {
  /** confidence fades with this half-life, as for the EWMA */
  halfLifeMs: number;
  /** the window's span; default: the half-life */
  windowMs?: number;
}

/** Tomorrow is today: all the mass at the newest value. */
export class LastValueForecaster implements Forecaster {
  readonly name = 'last-value' as const;
  private readonly history: HistoryWeight;
  private last = 0;
  private lastMs = Number.NEGATIVE_INFINITY;

  constructor(opts: { halfLifeMs: number }) {
    this.history = new HistoryWeight(opts?.halfLifeMs);
  }

  update(value: number, atMs: number): void {
    if (!Number.isFinite(value) || !Number.isFinite(atMs)) return;
    this.history.add(atMs);
    // a sample from the past does not replace a newer one
    if (atMs >= this.lastMs) {
      this.last = Math.max(0, value);
      this.lastMs = atMs;
    }
  }

  forecast(horizonMs: number): Forecast {
    checkHorizon(horizonMs);
    if (this.history.samples === 0) return EMPTY_FORECAST;
    return pointForecast(this.last, this.history.confidence);
  }
}

/**
 * The window's median as p50 and its peak for every quantile above the median (the rule
 * "reserve the recent peak", with a centre to score p50 by). Below the median, the window's
 * own quantiles. So P(value > x) is 0.5 between the median and the peak.
 */
export class WindowPeakForecaster implements Forecaster {
  readonly name = 'window-peak' as const;
  private readonly history: HistoryWeight;
  private readonly window: TimeWindow;
  private readonly bag = new SortedBag();
  private readonly evict = (v: number): void => this.bag.remove(v);

  constructor(opts: WindowOptions) {
    this.history = new HistoryWeight(opts?.halfLifeMs);
    this.window = new TimeWindow(opts.windowMs ?? opts.halfLifeMs);
  }

  update(value: number, atMs: number): void {
    if (!Number.isFinite(value) || !Number.isFinite(atMs)) return;
    const x = Math.max(0, value);
    this.history.add(atMs);
    this.bag.insert(x);
    this.window.push(x, atMs, this.evict);
  }

  forecast(horizonMs: number): Forecast {
    checkHorizon(horizonMs);
    const n = this.bag.size;
    if (n === 0) return EMPTY_FORECAST;
    const sorted = this.bag.snapshot();
    const peak = sorted[n - 1]!;
    const median = rankQuantile(sorted, n, 0.5);
    // mean of the distribution described: half its mass below the median, half at the peak
    let lowerSum = 0;
    let lowerCount = 0;
    for (let i = 0; i < n && sorted[i]! <= median; i++, lowerCount++) lowerSum += sorted[i]!;
    const mean = lowerCount > 0 ? 0.5 * (lowerSum / lowerCount) + 0.5 * peak : peak;
    return {
      mean,
      confidence: this.history.confidence,
      quantile(q: number): number {
        checkQuantile(q);
        return q <= 0.5 ? rankQuantile(sorted, n, q) : peak;
      },
      exceedance(x: number): number {
        checkThreshold(x);
        if (x < 0) return 1;
        if (x >= peak) return 0;
        if (x >= median) return 0.5;
        return 1 - rankCdf(sorted, n, x);
      },
    };
  }
}

/**
 * A normal with the window's mean and standard deviation: "mean + N sigma" is its quantile at
 * Phi(N) (N = 1.28 at p90, 2 at p97.7, 3 at p99.87).
 */
export class MeanSigmaForecaster implements Forecaster {
  readonly name = 'mean-sigma' as const;
  private readonly history: HistoryWeight;
  private readonly window: TimeWindow;
  /** mean and sd of the window, computed when first asked after an update */
  private cached: { mean: number; sd: number } | undefined;

  constructor(opts: WindowOptions) {
    this.history = new HistoryWeight(opts?.halfLifeMs);
    this.window = new TimeWindow(opts.windowMs ?? opts.halfLifeMs);
  }

  update(value: number, atMs: number): void {
    if (!Number.isFinite(value) || !Number.isFinite(atMs)) return;
    this.history.add(atMs);
    this.window.push(Math.max(0, value), atMs);
    this.cached = undefined;
  }

  forecast(horizonMs: number): Forecast {
    checkHorizon(horizonMs);
    const n = this.window.size;
    if (n === 0) return EMPTY_FORECAST;
    const { mean, sd } = (this.cached ??= this.moments());
    return sd > 0 ? normalForecast(mean, sd, this.history.confidence) : pointForecast(mean, this.history.confidence);
  }

  /** Two passes (mean, then squared deviations): no cancellation, and the window is small. */
  private moments(): { mean: number; sd: number } {
    const n = this.window.size;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += this.window.get(i);
    const mean = sum / n;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += (this.window.get(i) - mean) ** 2;
    return { mean, sd: n > 1 ? Math.sqrt(ss / (n - 1)) : 0 };
  }
}
