// The shapes a forecast can take, as Forecast objects: a single value, a normal clamped at 0,
// and a centre plus an empirical distribution of errors (what calibration produces). Each is a
// snapshot: updating the forecaster afterwards does not change a forecast already handed out.
import type { Forecast } from '../forecaster.js';
import { checkQuantile, checkThreshold, normalQuantile, normalUpperTail } from '../stats.js';
import { rankCdf, rankQuantile } from './sorted-window.js';

/** All the mass at one value (clamped at 0). */
export function pointForecast(value: number, confidence: number): Forecast {
  const v = Math.max(0, value);
  return {
    mean: v,
    confidence,
    quantile(q: number): number {
      checkQuantile(q);
      return v;
    },
    exceedance(x: number): number {
      checkThreshold(x);
      return v > x ? 1 : 0;
    },
  };
}

/** A normal distribution clamped at 0 (the mass below 0 sits at 0). */
export function normalForecast(centre: number, sd: number, confidence: number): Forecast {
  if (!(sd > 0)) return pointForecast(centre, confidence);
  return {
    mean: Math.max(0, centre),
    confidence,
    quantile(q: number): number {
      checkQuantile(q);
      return Math.max(0, centre + sd * normalQuantile(q));
    },
    exceedance(x: number): number {
      checkThreshold(x);
      if (x < 0) return 1;
      return normalUpperTail((x - centre) / sd);
    },
  };
}

/**
 * `centre + e`, e drawn from the sorted errors (split-conformal ranks), clamped at 0. The mean
 * is the centre plus the mean error.
 */
export function errorForecast(centre: number, sortedErrors: Float64Array, meanError: number, confidence: number): Forecast {
  const n = sortedErrors.length;
  if (n === 0) return pointForecast(centre, confidence);
  return {
    mean: Math.max(0, centre + meanError),
    confidence,
    quantile(q: number): number {
      checkQuantile(q);
      return Math.max(0, centre + rankQuantile(sortedErrors, n, q));
    },
    exceedance(x: number): number {
      checkThreshold(x);
      if (x < 0) return 1;
      return 1 - rankCdf(sortedErrors, n, x - centre);
    },
  };
}

/** `fc` moved by `delta` (clamped at 0), with its own confidence. */
export function shiftedForecast(fc: Forecast, delta: number, confidence = fc.confidence): Forecast {
  return {
    mean: Math.max(0, fc.mean + delta),
    confidence,
    quantile(q: number): number {
      return Math.max(0, fc.quantile(q) + delta);
    },
    exceedance(x: number): number {
      checkThreshold(x);
      if (x < 0) return 1;
      return fc.exceedance(x - delta);
    },
  };
}
