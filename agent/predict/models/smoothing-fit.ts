// Chooses Holt / Holt-Winters smoothing constants from the series itself: replays the recent
// history under candidate constants and keeps those with the lowest one-step squared error.
// The agent's 1 s ticks and a trace's 5-minute steps want very different constants, and no
// fixed default serves both. Coordinate descent over small grids (gamma, alpha, then beta)
// costs about a dozen replays instead of a full grid's sixty.
import { AdditiveSmoother, type SmoothingParams } from './smoothing.js';

const ALPHAS = [0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1];
/** beta as a share of alpha: no trend, a slow one, a lively one */
const BETA_SHARES = [0, 0.05, 0.2];
const GAMMAS = [0.02, 0.1, 0.3];

/** Observed points the trend of a Holt start is estimated from. */
const START_POINTS = 16;

export interface FitResult {
  /** the best candidate, its state carried through the last value */
  smoother: AdditiveSmoother;
  /** its mean squared one-step error over the scored part */
  mse: number;
}

/**
 * Best constants for `values` (oldest first, NaN = not observed; values[i] is at slot
 * firstSlot + i), starting the search from `start`. Errors are scored from index `scoreFrom` on,
 * so a candidate's start-up does not count and two fits scored from the same index compare
 * fairly. undefined when nothing falls in the scored part.
 */
export function fitSmoother(values: Float64Array, firstSlot: number, period: number, start: SmoothingParams, scoreFrom: number): FitResult | undefined {
  let best = replay(values, firstSlot, period, valid(start, period), scoreFrom);
  if (best === undefined) return undefined;
  const tryParams = (p: SmoothingParams): void => {
    const r = replay(values, firstSlot, period, valid(p, period), scoreFrom);
    if (r !== undefined && r.mse < best!.mse) best = r;
  };
  const seasonal = period >= 2;
  // a season first, while the level is still slow enough to leave it room (gamma <= 1 - alpha)
  if (seasonal) for (const gamma of GAMMAS) tryParams({ ...best.smoother.params, gamma });
  // a seasonal model whose level takes every error (alpha 1) never learns its season: that is Holt
  for (const alpha of seasonal ? ALPHAS.filter((a) => a < 1) : ALPHAS) tryParams({ ...best.smoother.params, alpha });
  for (const share of BETA_SHARES) tryParams({ ...best.smoother.params, beta: share * best.smoother.params.alpha });
  return best;
}

/** Keeps the constants in the region where the model is stable and means what it says. */
function valid(p: SmoothingParams, period: number): SmoothingParams {
  const alpha = Math.min(period >= 2 ? 0.99 : 1, Math.max(0.01, p.alpha));
  const beta = Math.min(alpha, Math.max(0, p.beta));
  const gamma = period >= 2 ? Math.min(1 - alpha, Math.max(0, p.gamma)) : 0;
  return { alpha, beta, gamma, phi: p.phi };
}

/** Runs one candidate over the values from a start read off their beginning. */
function replay(values: Float64Array, firstSlot: number, period: number, params: SmoothingParams, scoreFrom: number): FitResult | undefined {
  const s = new AdditiveSmoother(params, period);
  // a season starts from the two cycles just before the scored part: the history may begin in
  // another regime, and the scored part itself must not teach the start
  const seasonFrom = Math.max(0, scoreFrom - 2 * period);
  const from = period >= 2 ? seasonFrom + startSeasonal(s, values.subarray(seasonFrom), firstSlot + seasonFrom) : startHolt(s, values, firstSlot);
  if (from < 0) return undefined;
  let sse = 0;
  let scored = 0;
  for (let i = from; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) continue;
    const e = s.update(v, firstSlot + i);
    if (i >= scoreFrom) {
      sse += e * e;
      scored++;
    }
  }
  return scored > 0 ? { smoother: s, mse: sse / scored } : undefined;
}

/**
 * Holt's start: the trend is the least-squares slope of the first observed points, the level
 * such that the first value is predicted exactly. Returns the index to replay from (-1: none).
 */
function startHolt(s: AdditiveSmoother, values: Float64Array, firstSlot: number): number {
  const first = values.findIndex((v) => !Number.isNaN(v));
  if (first < 0) return -1;
  const slope = leastSquaresSlope(values, first, START_POINTS);
  s.init(values[first]! - slope, slope, firstSlot + first - 1);
  return first;
}

/**
 * Holt-Winters' classical start from the first two cycles: the level is the first cycle's
 * mean, the trend the change of mean from one cycle to the next, each season offset the mean
 * deviation of its phase from its cycle's mean (trend removed), centred on zero.
 */
function startSeasonal(s: AdditiveSmoother, values: Float64Array, firstSlot: number): number {
  const m = s.period;
  const a = meanOf(values, 0, m);
  const b = meanOf(values, m, 2 * m);
  if (Number.isNaN(a) && Number.isNaN(b)) return startHolt(s, values, firstSlot);
  const trend = Number.isNaN(a) || Number.isNaN(b) ? 0 : (b - a) / m;
  const means = [Number.isNaN(a) ? b - trend * m : a, Number.isNaN(b) ? a + trend * m : b];
  const offsets = new Float64Array(m);
  let centre = 0;
  for (let i = 0; i < m; i++) {
    let sum = 0;
    let count = 0;
    for (let c = 0; c < 2; c++) {
      const v = values[i + c * m];
      if (v === undefined || Number.isNaN(v)) continue;
      sum += v - means[c]! - trend * (i - (m - 1) / 2);
      count++;
    }
    offsets[mod(firstSlot + i, m)] = count > 0 ? sum / count : 0;
  }
  for (const o of offsets) centre += o / m;
  for (let i = 0; i < m; i++) offsets[i]! -= centre;
  // the state "before" slot firstSlot: the first cycle's mean sits at its middle
  s.init(means[0]! - trend * ((m - 1) / 2 + 1), trend, firstSlot - 1, offsets);
  return 0;
}

function meanOf(values: Float64Array, from: number, to: number): number {
  let sum = 0;
  let count = 0;
  for (let i = from; i < Math.min(to, values.length); i++) {
    if (Number.isNaN(values[i]!)) continue;
    sum += values[i]!;
    count++;
  }
  return count > 0 ? sum / count : Number.NaN;
}

/** Slope per index of up to `points` observed values from `from` (0 with fewer than 2). */
function leastSquaresSlope(values: Float64Array, from: number, points: number): number {
  let n = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (let i = from; i < values.length && n < points; i++) {
    const y = values[i]!;
    if (Number.isNaN(y)) continue;
    n++;
    sx += i;
    sy += y;
    sxx += i * i;
    sxy += i * y;
  }
  const denom = n * sxx - sx * sx;
  return n >= 2 && denom > 0 ? (n * sxy - sx * sy) / denom : 0;
}

function mod(a: number, m: number): number {
  const r = a % m;
  return r < 0 ? r + m : r;
}
