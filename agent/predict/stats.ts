// Small numeric helpers shared by the forecasters: the normal distribution (no dependency
// needed for two functions), argument checks, and how history weight becomes confidence.
import type { Forecast } from './forecaster.js';

const SQRT2 = Math.SQRT2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * erfc(x) for x >= 0. Below 2: Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7).
 * From 2 up, where that formula's relative error grows, Laplace's continued fraction
 * erfc(x) = e^(-x^2) / sqrt(pi) / (x + (1/2) / (x + 1 / (x + (3/2) / (x + ...)))), which 40 terms
 * take to double precision there. Written as erfc so tails keep their small values.
 */
function erfcNonNegative(x: number): number {
  if (x >= 2) {
    let f = x;
    for (let k = 40; k >= 1; k--) f = x + k / 2 / f;
    return (Math.exp(-x * x) / Math.sqrt(Math.PI)) / f;
  }
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return poly * Math.exp(-x * x);
}

/** erf(x), absolute error below 1.5e-7. */
export function erf(x: number): number {
  return x >= 0 ? 1 - erfcNonNegative(x) : erfcNonNegative(-x) - 1;
}

/**
 * A probability as forecasts give it: within PROBABILITY_GRAIN of 0 or 1, that. A normal tail far
 * from its centre read 3e-314 in JSON and 4.48e-24 on the metrics page, figures no decision or
 * dashboard tells from 0.
 */
export function shownProbability(p: number): number {
  return p < PROBABILITY_GRAIN ? 0 : p > 1 - PROBABILITY_GRAIN ? 1 : p;
}
const PROBABILITY_GRAIN = 1e-9;

/** P(Z > z) for a standard normal Z. */
export function normalUpperTail(z: number): number {
  if (z >= 0) return 0.5 * erfcNonNegative(z / SQRT2);
  return 1 - 0.5 * erfcNonNegative(-z / SQRT2);
}

/** P(Z <= z) for a standard normal Z. */
export function normalCdf(z: number): number {
  return 1 - normalUpperTail(z);
}

function normalPdf(z: number): number {
  return INV_SQRT_2PI * Math.exp(-0.5 * z * z);
}

/** z with P(Z > z) = p, for p in (0, 0.5]. */
function upperTailInverse(p: number): number {
  // A&S 26.2.23 gives a start within 4.5e-4; Newton steps on our own tail function then make
  // the inverse agree with normalUpperTail, so quantile() and exceedance() round-trip.
  const t = Math.sqrt(-2 * Math.log(p));
  let z = t - (2.515517 + t * (0.802853 + t * 0.010328)) / (1 + t * (1.432788 + t * (0.189269 + t * 0.001308)));
  for (let i = 0; i < 2; i++) {
    const density = normalPdf(z);
    if (density < 1e-300) break;
    z += (normalUpperTail(z) - p) / density;
  }
  return z;
}

/** z with P(Z <= z) = q, for q in (0, 1). */
export function normalQuantile(q: number): number {
  if (!(q > 0 && q < 1)) throw new RangeError(`normal quantile needs q in (0, 1); got ${q}`);
  if (q === 0.5) return 0;
  return q < 0.5 ? -upperTailInverse(q) : upperTailInverse(1 - q);
}

/** z of the normal 0.9 quantile: a normal's p90 is its mean plus Z90 standard deviations. */
export const Z90 = normalQuantile(0.9);

/** Decayed sample weight at which confidence reaches one half. */
export const CONFIDENCE_HALF_WEIGHT = 5;

/**
 * History weight (in samples, each decayed by its age in half-lives) to confidence in [0, 1):
 * 0 with nothing, about 0.17 after one sample, towards 1 as weight accumulates. A long silence
 * lowers it again because the weight decays.
 */
export function confidenceFromWeight(weight: number): number {
  return weight > 0 ? weight / (weight + CONFIDENCE_HALF_WEIGHT) : 0;
}

/**
 * `x` in whole `unit`s, nearest, and whether `x` is that many to within rounding (a tick of 0.1s
 * or a grid of 0.1 s is no exact binary fraction): a horizon in ticks, a target in grid steps.
 */
export function wholeUnits(x: number, unit: number): { n: number; whole: boolean } {
  const q = x / unit;
  const n = Math.round(q);
  return { n, whole: Math.abs(q - n) <= 1e-9 * Math.max(1, q) };
}

export function checkHalfLife(halfLifeMs: number): void {
  if (typeof halfLifeMs !== 'number' || !Number.isFinite(halfLifeMs) || halfLifeMs <= 0) {
    throw new RangeError(`forecaster halfLifeMs must be a finite number > 0; got ${String(halfLifeMs)}`);
  }
}

export function checkQuantile(q: number): void {
  if (typeof q !== 'number' || !(q > 0 && q < 1)) {
    throw new RangeError(`forecast quantile needs q in (0, 1); got ${String(q)}`);
  }
}

export function checkHorizon(horizonMs: number): void {
  if (typeof horizonMs !== 'number' || !Number.isFinite(horizonMs) || horizonMs < 0) {
    throw new RangeError(`forecast horizonMs must be a finite number >= 0; got ${String(horizonMs)}`);
  }
}

export function checkThreshold(x: number): void {
  if (typeof x !== 'number' || Number.isNaN(x)) {
    throw new RangeError(`forecast exceedance needs a number; got ${String(x)}`);
  }
}

/** What a forecaster says before its first sample: nothing, with no confidence. */
export const EMPTY_FORECAST: Forecast = Object.freeze({
  mean: 0,
  confidence: 0,
  quantile(q: number): number {
    checkQuantile(q);
    return 0;
  },
  exceedance(x: number): number {
    checkThreshold(x);
    return 0;
  },
});

/**
 * The p90's pinball loss: 0.9 (y - f) above it, 0.1 (f - y) below. As a max of the two, which V8
 * compiles without a branch (the same numbers to the bit: f - y is exactly -(y - f)). The
 * backtest's pinball(y, f, q) for any q.
 */
export function pinball90(y: number, f: number): number {
  const d = y - f;
  return Math.max(0.9 * d, -0.1 * d);
}
