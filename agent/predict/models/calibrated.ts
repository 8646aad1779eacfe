// Conformal-style calibration: wraps any forecaster and replaces the spread it claims with the
// spread its own errors show. For each horizon asked, every sample records the inner model's
// centre (its p50) h steps ahead; when that step arrives the error y - centre joins a rolling
// window, and the forecast becomes centre + the window's quantiles (split-conformal ranks).
// If the errors of the last N forecasts at that horizon look like the next one's, the p90 is
// exceeded about 10% of the time whatever the inner model's own assumptions (normal errors,
// no trend...). Signed errors keep skew: a series that bursts upwards gets a long upper side.
import type { Forecast, Forecaster, ForecastModel } from '../forecaster.js';
import { checkHorizon, EMPTY_FORECAST } from '../stats.js';
import { errorForecast, medianAndP90Of, quantileOf } from './distributions.js';
import { HorizonTable, PendingValues } from './horizon-table.js';
import { seasonOf } from './horizon-peak.js';
import { SortedWindow } from './sorted-window.js';
import { StepClock } from './step-clock.js';

export interface CalibrationOptions {
  /** sampling step; learned from the first gaps when absent */
  stepMs?: number;
  /** errors kept per horizon (default 256) */
  window?: number;
  /** errors needed before calibration takes over from the inner model's spread (default 20) */
  minErrors?: number;
}

/** Resolved forecasts that make up "recent" when judging whether errors are growing. */
const RECENT_ERRORS = 8;

interface HorizonState {
  steps: number;
  /** the horizon as first asked, to ask the inner model the same */
  horizonMs: number;
  /** per forecast made: its slot and centre */
  pending: PendingValues;
  errors: SortedWindow;
  resolved: number;
  /** mean |error| of about the last RECENT_ERRORS resolved forecasts, and of about a window's */
  recentAbs: number;
  usualAbs: number;
}

export class CalibratedForecaster implements Forecaster {
  readonly name: ForecastModel;
  private readonly clock: StepClock;
  private readonly horizons: HorizonTable<HorizonState>;
  private readonly windowSize: number;
  private readonly minErrors: number;
  private samples = 0;
  private innerPeriod: number | undefined;

  constructor(
    readonly inner: Forecaster,
    opts: CalibrationOptions = {},
  ) {
    this.name = `calibrated:${inner.name}` as ForecastModel;
    this.clock = new StepClock(opts.stepMs);
    this.windowSize = opts.window ?? 256;
    this.minErrors = Math.max(1, opts.minErrors ?? 20);
    this.horizons = new HorizonTable((steps) => ({
      steps,
      horizonMs: Number.NaN,
      pending: new PendingValues(),
      errors: new SortedWindow(this.windowSize),
      resolved: 0,
      recentAbs: 0,
      usualAbs: 0,
    }));
  }

  update(value: number, atMs: number): void {
    if (!Number.isFinite(value) || !Number.isFinite(atMs)) return;
    this.inner.update(value, atMs);
    this.samples++;
    // an inner model that takes up another season errs differently from then on
    const period = seasonOf(this.inner);
    if (period !== this.innerPeriod) {
      if (this.innerPeriod !== undefined) for (const h of this.horizons.values()) h.errors.clear();
      this.innerPeriod = period;
    }
    this.clock.advance(atMs);
    const slot = this.clock.slot;
    const x = Math.max(0, value);
    for (const h of this.horizons.values()) {
      // forecasts aimed at this slot resolve; those aimed at a skipped slot never will
      while (h.pending.hasUpTo(slot - h.steps)) {
        const made = h.pending.oldestSlot;
        const centre = h.pending.shift();
        if (made + h.steps !== slot) continue;
        const e = x - centre;
        h.errors.push(e);
        h.resolved++;
        h.recentAbs += (Math.abs(e) - h.recentAbs) / Math.min(h.resolved, RECENT_ERRORS);
        h.usualAbs += (Math.abs(e) - h.usualAbs) / Math.min(h.resolved, this.windowSize);
      }
      h.pending.push(slot, quantileOf(this.inner, h.horizonMs, 0.5));
    }
  }

  /** Calibrated quantiles of the value `horizonMs` ahead; the inner model's own until enough errors. */
  forecast(horizonMs: number): Forecast {
    checkHorizon(horizonMs);
    if (this.samples === 0) return EMPTY_FORECAST;
    const fc = this.inner.forecast(horizonMs);
    // horizons are counted in steps: none is tracked before the step is known for good
    if (!this.clock.settled) return fc;
    const h = this.horizons.get(this.clock.stepsFor(horizonMs));
    if (Number.isNaN(h.horizonMs)) h.horizonMs = horizonMs;
    if (h.errors.size < this.minErrors) return fc;
    return errorForecast(fc.quantile(0.5), h.errors.snapshot(), h.errors.mean, fc.confidence * errorTrust(h));
  }

  /**
   * The calibrated p50 and p90 at the horizon, as forecast() would give them, read from the
   * live error window (no copy): for a combiner that asks at every step.
   */
  quantilePair(horizonMs: number): { p50: number; p90: number } {
    checkHorizon(horizonMs);
    if (this.samples === 0) return { p50: 0, p90: 0 };
    const h = this.clock.settled ? this.horizons.get(this.clock.stepsFor(horizonMs)) : undefined;
    if (h && Number.isNaN(h.horizonMs)) h.horizonMs = horizonMs;
    if (!h || h.errors.size < this.minErrors) return medianAndP90Of(this.inner, horizonMs);
    const centre = quantileOf(this.inner, horizonMs, 0.5);
    return { p50: Math.max(0, centre + h.errors.quantile(0.5)), p90: Math.max(0, centre + h.errors.quantile(0.9)) };
  }
}

/**
 * 1 while recent errors are no larger than usual, falling as they grow (errors twice the
 * window's mean: one half), so confidence drops when the model starts missing.
 */
function errorTrust(h: HorizonState): number {
  const usual = h.usualAbs;
  if (!(h.recentAbs > usual) || !(usual > 0)) return 1;
  return usual / h.recentAbs;
}
