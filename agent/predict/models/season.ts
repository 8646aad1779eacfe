// Finds the season length of a series from its autocorrelation, with a significance test, so
// Holt-Winters only gets a season the data shows. The test:
// - remove the mean and a least-squares line first, so a trend does not read as correlation
//   at every lag;
// - under white noise the sample autocorrelation r_k is about N(0, 1/n). One lag tested at
//   2/sqrt(n) fires by chance 5% of the time, and a scan of hundreds of lags would then find a
//   "season" in almost any noise, so the bound is Bonferroni-corrected for the lags scanned:
//   r_m > z / sqrt(n) with z = Phi^-1(1 - level / lags) (about 4 for 300 lags at 1%);
// - a candidate must be the highest r within a tenth of its lag either side (the top of its
//   hump, not a bump on the flank of a broad one) and must have risen by that same bound from
//   the lowest r at a shorter lag: a slowly decaying autocorrelation (a persistent but aperiodic series) has
//   large r everywhere and no such rise;
// - of the candidates, the shortest whose r is within 10% of the best: a season also peaks at
//   its multiples, a little lower, and the fundamental is what we want;
// - a season length expected a priori (a day, for a model with a wall clock behind it) is one
//   test, not hundreds: it needs only the single-lag bound Phi^-1(1 - level) / sqrt(n) (about
//   2.3 / sqrt(n) at 1%, the usual ~2 / sqrt(n) rule), at the top of the ACF's hump around it;
//   it wins over the scan when it passes, as itself or a neighbour (clocks drift).
import { normalQuantile } from '../stats.js';
import { lagProducts } from './fft.js';

export interface SeasonOptions {
  /** shortest season considered, in steps (default 4) */
  minPeriod?: number;
  /** longest season considered (default: a third of the values, so three cycles are seen) */
  maxPeriod?: number;
  /** family-wise false-detection rate on white noise (default 0.01) */
  level?: number;
  /** season lengths expected a priori, in steps, tried first (e.g. a day) */
  preferred?: readonly number[];
}

export interface SeasonResult {
  /** season length in steps; 0 when none is significant */
  period: number;
  /** autocorrelation at that lag (0 when none) */
  acf: number;
  /** the bound it had to exceed (with none: the scan's bound at the longest lag) */
  threshold: number;
}

/**
 * Season length of `values` (one per step, NaN for steps not observed): the ACF peak test
 * above. Needs at least three cycles of the shortest season; fewer gives period 0.
 */
export function detectSeason(values: ArrayLike<number>, opts: SeasonOptions = {}): SeasonResult {
  const minPeriod = Math.max(2, opts.minPeriod ?? 4);
  const level = opts.level ?? 0.01;
  const n = values.length;
  const maxLag = Math.min(opts.maxPeriod ?? Number.POSITIVE_INFINITY, Math.floor(n / 3));
  const none: SeasonResult = { period: 0, acf: 0, threshold: Number.NaN };
  if (maxLag < minPeriod) return none;
  const { residuals, observed, rawSquares } = detrended(values);
  if (observed < 3 * minPeriod) return none;
  const acf = autocorrelation(residuals, maxLag + 2, rawSquares);
  if (acf === undefined) return none; // a line, to rounding: nothing periodic
  const { r, pairs } = acf;
  const lags = maxLag - minPeriod + 1;
  // under white noise r_k is about N(0, 1/pairs_k); the bound at lag k scales with that
  const zScan = normalQuantile(1 - level / lags);
  const bound = (z: number, k: number): number => z / Math.sqrt(Math.max(1, pairs[k]!));
  const lowestBefore = (m: number): number => {
    let low = Number.POSITIVE_INFINITY;
    for (let k = 1; k < m; k++) low = Math.min(low, r[k]!);
    return low;
  };
  // the top of its hump: a long season's peak is broad and noise puts bumps on its flanks
  const isPeak = (m: number): boolean => {
    const reach = Math.max(1, Math.floor(m / 10));
    for (let k = Math.max(1, m - reach); k <= Math.min(r.length - 1, m + reach); k++) if (r[k]! > r[m]!) return false;
    return true;
  };
  for (const p of opts.preferred ?? []) {
    if (!(Number.isInteger(p) && p - 1 >= minPeriod && p + 1 <= maxLag)) continue;
    // the hump around p must pass; the period is p or a neighbour (clock drift), not wherever
    // noise put the hump's top
    let top = p;
    const reach = Math.max(1, Math.floor(p / 10));
    for (let k = p - reach; k <= Math.min(r.length - 1, p + reach); k++) if (r[k]! > r[top]!) top = k;
    const b = bound(normalQuantile(1 - level / 3), top);
    if (!(r[top]! > b && r[top]! - lowestBefore(top) > b)) continue;
    let m = p;
    for (const q of [p - 1, p + 1]) if (r[q]! > r[m]!) m = q;
    return { period: m, acf: r[m]!, threshold: b };
  }
  let lowest = lowestBefore(minPeriod);
  const candidates: number[] = [];
  let best = 0;
  for (let m = minPeriod; m <= maxLag; m++) {
    const here = r[m]!;
    const threshold = bound(zScan, m);
    if (isPeak(m) && here > threshold && here - lowest > threshold) {
      candidates.push(m);
      best = Math.max(best, here);
    }
    lowest = Math.min(lowest, here);
  }
  for (const m of candidates) {
    if (r[m]! >= 0.9 * best) return { period: m, acf: r[m]!, threshold: bound(zScan, m) };
  }
  return { ...none, threshold: bound(zScan, maxLag) };
}

/** Values minus their least-squares line (NaN stays NaN), how many were observed, and their sum of squares. */
function detrended(values: ArrayLike<number>): { residuals: Float64Array; observed: number; rawSquares: number } {
  const n = values.length;
  let count = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  let rawSquares = 0;
  for (let i = 0; i < n; i++) {
    const y = values[i]!;
    if (Number.isNaN(y)) continue;
    count++;
    sx += i;
    sy += y;
    sxx += i * i;
    sxy += i * y;
    rawSquares += y * y;
  }
  const out = new Float64Array(n);
  const denom = count * sxx - sx * sx;
  const slope = denom > 0 ? (count * sxy - sx * sy) / denom : 0;
  const intercept = count > 0 ? (sy - slope * sx) / count : 0;
  for (let i = 0; i < n; i++) out[i] = values[i]! - (intercept + slope * i);
  return { residuals: out, observed: count, rawSquares };
}

/**
 * r_0..r_{lags-1} of zero-mean values with holes: the mean product over the pairs where both
 * are observed, over the mean square of all observed values, and the number of pairs at each
 * lag. Averaging over pairs (not dividing every lag by n) keeps a long season's peak where it
 * is: the 1/n form tilts the ACF down with the lag and pulls a broad peak towards shorter lags.
 * undefined when the values carry no variance beyond rounding of a series whose sum of squares
 * is `scale`.
 */
export function autocorrelation(x: Float64Array, lags: number, scale = 0): { r: Float64Array; pairs: Float64Array } | undefined {
  const n = x.length;
  let ss = 0;
  let observed = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    if (Number.isNaN(v)) continue;
    ss += v * v;
    observed++;
  }
  if (!(ss > 1e-16 * scale)) return undefined;
  // holes become 0 in a copy (a zero term adds nothing, as a skipped pair), flagged in `seen`
  const z = new Float64Array(n);
  const seen = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(x[i]!)) continue;
    z[i] = x[i]!;
    seen[i] = 1;
  }
  const size = Math.min(lags, n);
  const sums = lagProducts(z, size);
  const pairs = lagProducts(seen, size);
  const r = new Float64Array(size);
  const meanSquare = ss / observed;
  for (let k = 0; k < size; k++) {
    pairs[k] = Math.round(pairs[k]!); // counts, up to the transform's rounding
    r[k] = pairs[k]! > 0 ? sums[k]! / pairs[k]! / meanSquare : 0;
  }
  return { r, pairs };
}
