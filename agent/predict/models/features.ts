// The learned model's view of a series at one step, for one target: everything is relative to the
// newest value and divided by the series' level (SeriesState.scale), so the same tree applies at
// any level. Missing inputs (a hole, history not yet held) are NaN, which the trees send left.
import type { SeriesState } from './series-state.js';

export const FEATURES = [
  'ewma', 'lag1', 'lag2', 'lag3', 'shortMean', 'shortMax', 'shortMin', 'level', 'longMax',
  'season1', 'season2', 'seasonMedian', 'seasonP90', 'seasonMax', 'seasonMean', 'seasonCount',
  'sameTimeLastSeason', 'volatility', 'fastVolatility', 'timeOfDay',
] as const;

export const FEATURE_COUNT = FEATURES.length;

const DAY_MS = 86_400_000;

/** Values of the target at the same phase of the last seasons (newest first), NaN-free. */
export interface SeasonalValues {
  values: number[];
  /** the target one season back and two seasons back (NaN when not held) */
  first: number;
  second: number;
}

/**
 * Fills `out` with the features at the state's newest slot. `seasonal` holds what the target
 * was at the same phase of past seasons (point: the value; peak: the window's max), `season`
 * the season length in slots (0: none).
 */
export function fillFeatures(out: Float64Array, s: SeriesState, seasonal: SeasonalValues, season: number): void {
  const b = s.last;
  const scale = s.scale;
  const rel = (v: number): number => (v - b) / scale;
  const slot = s.slot;
  const h = s.history;
  let i = 0;
  out[i++] = rel(s.ewMean);
  out[i++] = rel(h.get(slot - 1));
  out[i++] = rel(h.get(slot - 2));
  out[i++] = rel(h.get(slot - 3));
  out[i++] = rel(s.short.mean);
  out[i++] = rel(s.short.max);
  out[i++] = rel(s.short.linearQuantile(0));
  out[i++] = rel(s.level);
  out[i++] = rel(s.long.max);
  const v = seasonal.values;
  out[i++] = rel(seasonal.first);
  out[i++] = rel(seasonal.second);
  if (v.length > 0) {
    const sorted = v.slice().sort((a, c) => a - c);
    out[i++] = rel(quantile(sorted, 0.5));
    out[i++] = rel(quantile(sorted, 0.9));
    out[i++] = rel(sorted[sorted.length - 1]!);
    let sum = 0;
    for (const x of v) sum += x;
    out[i++] = rel(sum / v.length);
  } else {
    out.fill(Number.NaN, i, i + 4);
    i += 4;
  }
  out[i++] = v.length;
  out[i++] = season > 0 ? rel(h.get(slot - season)) : Number.NaN;
  out[i++] = s.diff / scale;
  out[i++] = s.fastDiff / scale;
  out[i++] = (((s.lastMs % DAY_MS) + DAY_MS) % DAY_MS) / DAY_MS;
}

function quantile(sorted: number[], q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}
