// Least-squares regression over a recent window: a straight line (degree 1) or a parabola
// (degree 2) through the last `window` slots of a series, extrapolated to the horizon. It follows
// a ramp at once, where the smoothers' trend needs many steps to turn; a parabola follows a ramp
// that bends (memory filling up, then slowing), at the price of wild extrapolation far out.
//
// x is the slot (see StepClock), centred on the window's mean slot so that the normal equations
// stay well conditioned whatever the slot number; a window holds at most a few hundred points,
// so the fit is recomputed from them (a few hundred multiply-adds) instead of kept as running
// power sums that would drift. Holes (slots with no sample) are left out of the fit.
//
// WindowRegressionForecaster puts the fit behind the Forecaster interface with the ordinary
// least-squares prediction interval: sd = s * sqrt(1 + x0' (X'X)^-1 x0) at the horizon's slot.
import type { Forecast, Forecaster } from '../forecaster.js';
import { checkHorizon, EMPTY_FORECAST } from '../stats.js';
import { normalForecast } from './distributions.js';
import { HistoryWeight } from './history-weight.js';
import { StepClock } from './step-clock.js';

export type RegressionDegree = 1 | 2;

/** The fitted polynomial, in powers of (slot - centre). */
export interface PolyFit {
  degree: RegressionDegree;
  centre: number;
  /** c0, c1[, c2] */
  coef: Float64Array;
  /** points in the fit */
  n: number;
  /** residual standard deviation (divided by n - degree - 1; 0 when the fit is exact or n is too small) */
  residualSd: number;
  /** (X'X)^-1, row-major, (degree + 1)^2: for the prediction interval */
  inverse: Float64Array;
}

/** The last `window` (slot, value) pairs and the least-squares polynomial through them. */
export class SlidingPolyFit {
  private readonly slots: Float64Array;
  private readonly values: Float64Array;
  private head = 0;
  private count = 0;
  private fitted: PolyFit | null = null;
  private dirty = true;

  constructor(readonly window: number, readonly degree: RegressionDegree) {
    if (!(Number.isInteger(window) && window >= degree + 2)) throw new RangeError(`regression window must be an integer >= ${degree + 2}; got ${window}`);
    if (degree !== 1 && degree !== 2) throw new RangeError(`regression degree must be 1 or 2; got ${degree}`);
    this.slots = new Float64Array(window);
    this.values = new Float64Array(window);
  }

  get size(): number {
    return this.count;
  }

  /** Adds the value at `slot` (slots only grow); the oldest point leaves a full window. */
  push(slot: number, value: number): void {
    const at = this.count < this.window ? this.count++ : this.head;
    if (this.count === this.window && at === this.head) this.head = (this.head + 1) % this.window;
    this.slots[at] = slot;
    this.values[at] = value;
    this.dirty = true;
  }

  /** The fit through the points held; null with too few points for the degree. */
  fit(): PolyFit | null {
    if (!this.dirty) return this.fitted;
    this.dirty = false;
    this.fitted = fitPolynomial(this.slots, this.values, this.count, this.degree);
    return this.fitted;
  }

  /** The fit's value at `slot` (NaN without a fit). */
  at(slot: number): number {
    const f = this.fit();
    return f ? evaluate(f, slot) : Number.NaN;
  }

  /**
   * The highest the fit reaches over slots (from, to]: the ends, or a parabola's vertex between
   * them. NaN without a fit.
   */
  maxOver(from: number, to: number): number {
    const f = this.fit();
    if (!f) return Number.NaN;
    let m = Math.max(evaluate(f, from + 1), evaluate(f, to));
    if (f.degree === 2 && f.coef[2]! < 0) {
      const vertex = f.centre - f.coef[1]! / (2 * f.coef[2]!);
      if (vertex > from + 1 && vertex < to) m = Math.max(m, evaluate(f, vertex));
    }
    return m;
  }
}

/** Value of a fit at `slot`. */
export function evaluate(f: PolyFit, slot: number): number {
  const x = slot - f.centre;
  return f.degree === 1 ? f.coef[0]! + f.coef[1]! * x : f.coef[0]! + x * (f.coef[1]! + x * f.coef[2]!);
}

/** Ordinary least squares of `values` on powers of (slot - mean slot), the first n points; null when under-determined. */
export function fitPolynomial(slots: ArrayLike<number>, values: ArrayLike<number>, n: number, degree: RegressionDegree): PolyFit | null {
  const p = degree + 1;
  if (n < p) return null;
  let centre = 0;
  for (let i = 0; i < n; i++) centre += slots[i]!;
  centre /= n;
  // normal equations: A = X'X (power sums), b = X'y
  const s = new Float64Array(2 * degree + 1);
  const b = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const x = slots[i]! - centre;
    const y = values[i]!;
    let xk = 1;
    for (let k = 0; k < s.length; k++) {
      s[k]! += xk;
      if (k < p) b[k]! += y * xk;
      xk *= x;
    }
  }
  const a = new Float64Array(p * p);
  for (let r = 0; r < p; r++) for (let c = 0; c < p; c++) a[r * p + c] = s[r + c]!;
  const inverse = invertSymmetric(a, p);
  if (!inverse) return null;
  const coef = new Float64Array(p);
  for (let r = 0; r < p; r++) {
    let v = 0;
    for (let c = 0; c < p; c++) v += inverse[r * p + c]! * b[c]!;
    coef[r] = v;
  }
  const f: PolyFit = { degree, centre, coef, n, residualSd: 0, inverse };
  if (n > p) {
    let sse = 0;
    for (let i = 0; i < n; i++) {
      const e = values[i]! - evaluate(f, slots[i]!);
      sse += e * e;
    }
    f.residualSd = Math.sqrt(sse / (n - p));
  }
  return f;
}

/** x0' (X'X)^-1 x0 at `slot`: how far the fit's uncertainty grows out there (the leverage). */
export function leverage(f: PolyFit, slot: number): number {
  const p = f.degree + 1;
  const x = slot - f.centre;
  const v = p === 2 ? [1, x] : [1, x, x * x];
  let out = 0;
  for (let r = 0; r < p; r++) for (let c = 0; c < p; c++) out += v[r]! * f.inverse[r * p + c]! * v[c]!;
  return out;
}

/** Inverse of a small symmetric positive-definite matrix (Gauss-Jordan with partial pivoting); null when singular. */
function invertSymmetric(a: Float64Array, p: number): Float64Array | null {
  const m = Float64Array.from(a);
  const inv = new Float64Array(p * p);
  for (let i = 0; i < p; i++) inv[i * p + i] = 1;
  const scale = Math.max(...Array.from(a, Math.abs));
  for (let col = 0; col < p; col++) {
    let pivot = col;
    for (let r = col + 1; r < p; r++) if (Math.abs(m[r * p + col]!) > Math.abs(m[pivot * p + col]!)) pivot = r;
    const d = m[pivot * p + col]!;
    if (!(Math.abs(d) > 1e-12 * scale)) return null; // all points on one slot: no slope to fit
    if (pivot !== col) {
      for (let c = 0; c < p; c++) {
        [m[col * p + c], m[pivot * p + c]] = [m[pivot * p + c]!, m[col * p + c]!];
        [inv[col * p + c], inv[pivot * p + c]] = [inv[pivot * p + c]!, inv[col * p + c]!];
      }
    }
    for (let c = 0; c < p; c++) {
      m[col * p + c]! /= d;
      inv[col * p + c]! /= d;
    }
    for (let r = 0; r < p; r++) {
      if (r === col) continue;
      const f = m[r * p + col]!;
      if (f === 0) continue;
      for (let c = 0; c < p; c++) {
        m[r * p + c]! -= f * m[col * p + c]!;
        inv[r * p + c]! -= f * inv[col * p + c]!;
      }
    }
  }
  return inv;
}

export interface WindowRegressionOptions {
  /** confidence fades with this half-life */
  halfLifeMs: number;
  /** sampling step; learned from the first gaps when absent */
  stepMs?: number;
  /** points in the window (default 24) */
  windowSteps?: number;
}

/** A line (or parabola) through the recent window, extrapolated, with the OLS prediction interval. */
export class WindowRegressionForecaster implements Forecaster {
  readonly name: 'linear-regression' | 'poly-regression';
  private readonly clock: StepClock;
  private readonly fit: SlidingPolyFit;
  private readonly history: HistoryWeight;
  private lastSlot = -1;

  constructor(opts: WindowRegressionOptions, degree: RegressionDegree = 1) {
    this.name = degree === 1 ? 'linear-regression' : 'poly-regression';
    this.history = new HistoryWeight(opts?.halfLifeMs);
    this.clock = new StepClock(opts.stepMs);
    this.fit = new SlidingPolyFit(opts.windowSteps ?? 24, degree);
  }

  update(value: number, atMs: number): void {
    if (!Number.isFinite(value) || !Number.isFinite(atMs)) return;
    this.history.add(atMs);
    this.clock.advance(atMs);
    this.lastSlot = this.clock.slot;
    this.fit.push(this.lastSlot, Math.max(0, value));
  }

  forecast(horizonMs: number): Forecast {
    checkHorizon(horizonMs);
    if (this.history.samples === 0) return EMPTY_FORECAST;
    const f = this.fit.fit();
    if (!f) return EMPTY_FORECAST;
    const target = this.lastSlot + this.clock.stepsFor(horizonMs);
    const centre = Math.max(0, evaluate(f, target));
    const sd = f.residualSd * Math.sqrt(1 + leverage(f, target));
    return normalForecast(centre, sd, this.history.confidence);
  }
}
