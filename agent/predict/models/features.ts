// The learned model's view of a series at one step, for one target: everything is relative to the
// newest value and divided by the series' level (SeriesState.scale), so the same tree applies at
// any level. Missing inputs (a hole, history not yet held) are NaN, which the trees send left.
import type { SeriesState } from './series-state.js';
import type { SortedBag } from './sorted-window.js';

export const FEATURES = [
  'ewma', 'lag1', 'lag2', 'lag3', 'shortMean', 'shortMax', 'shortMin', 'level', 'longMax',
  'season1', 'season2', 'seasonMedian', 'seasonP90', 'seasonMax', 'seasonMean', 'seasonCount',
  'sameTimeLastSeason', 'volatility', 'fastVolatility', 'timeOfDay',
] as const;

export const FEATURE_COUNT = FEATURES.length;

const DAY_MS = 86_400_000;

/** What the target was at the same phase of the last seasons, NaN-free. */
export interface SeasonalValues {
  /** the values, sorted as they are added (one bag a head, refilled every sample: no sort, no garbage) */
  sorted: SortedBag;
  /** their sum in the order they came (newest season first) */
  sum: number;
  /** the target one season back and two seasons back (NaN when not held) */
  first: number;
  second: number;
}

/** A value relative to the newest (b), in levels. (A function, not a closure made at every call: garbage.) */
const rel = (v: number, b: number, scale: number): number => (v - b) / scale;

/**
 * Fills `out` with the features at the state's newest slot. `seasonal` holds what the target
 * was at the same phase of past seasons (point: the value; peak: the window's max), `season`
 * the season length in slots (0: none).
 */
export function fillFeatures(out: Float64Array, s: SeriesState, seasonal: SeasonalValues, season: number): void {
  const b = s.last;
  const scale = s.scale;
  const slot = s.slot;
  const h = s.history;
  let i = 0;
  out[i++] = rel(s.ewMean, b, scale);
  out[i++] = rel(h.get(slot - 1), b, scale);
  out[i++] = rel(h.get(slot - 2), b, scale);
  out[i++] = rel(h.get(slot - 3), b, scale);
  out[i++] = rel(s.short.mean, b, scale);
  out[i++] = rel(s.short.max, b, scale);
  out[i++] = rel(s.short.linearQuantile(0), b, scale);
  out[i++] = rel(s.level, b, scale);
  out[i++] = rel(s.long.max, b, scale);
  const v = seasonal.sorted;
  out[i++] = rel(seasonal.first, b, scale);
  out[i++] = rel(seasonal.second, b, scale);
  if (v.size > 0) {
    out[i++] = rel(v.linearQuantile(0.5), b, scale);
    out[i++] = rel(v.linearQuantile(0.9), b, scale);
    out[i++] = rel(v.at(v.size - 1), b, scale);
    out[i++] = rel(seasonal.sum / v.size, b, scale);
  } else {
    out.fill(Number.NaN, i, i + 4);
    i += 4;
  }
  out[i++] = v.size;
  out[i++] = season > 0 ? rel(h.get(slot - season), b, scale) : Number.NaN;
  out[i++] = s.diff / scale;
  out[i++] = s.fastDiff / scale;
  out[i++] = (((s.lastMs % DAY_MS) + DAY_MS) % DAY_MS) / DAY_MS;
}

