// A histogram whose old samples fade: the approach of the Kubernetes VPA recommender.
// Buckets grow geometrically, so relative resolution is the same at 0.05 ms and at 5 s, and the
// memory is a fixed array whatever the sample count. Each sample weighs 2^((t - ref) / halfLife):
// newer samples weigh more, and only ratios of weights matter, so nothing ever needs decaying.
import type { Forecast, Forecaster } from './forecaster.js';
import {
  checkHalfLife, checkHorizon, checkQuantile, checkThreshold, confidenceFromWeight, EMPTY_FORECAST,
} from './stats.js';

export interface DecayingHistogramOptions {
  halfLifeMs: number;
  /** width of the first bucket, [0, firstBucketSize); default 0.01 */
  firstBucketSize?: number;
  /** each bucket is this much wider than the one before; default 1.05 (about 5% resolution) */
  ratio?: number;
  /** finite buckets reach at least this value; above it one overflow bucket; default 1e6 */
  maxValue?: number;
}

/** Guards memory against options such as ratio 1.0000001. */
export const MAX_BUCKETS = 20_000;

/** Weights are rebased to a new reference time before 2^exponent could lose precision. */
const MAX_EXPONENT = 50;

/** Bucket boundaries: bucket i holds [starts[i], starts[i + 1]); the last one is unbounded. */
class ExponentialBuckets {
  readonly starts: Float64Array;
  private readonly logRatio: number;

  constructor(
    private readonly first: number,
    private readonly ratio: number,
    maxValue: number,
  ) {
    this.logRatio = Math.log(ratio);
    // start(i) = first * (ratio^i - 1) / (ratio - 1); need start(finite) >= maxValue
    const finite = Math.ceil(this.rawIndex(maxValue));
    const count = finite + 1;
    if (!(count <= MAX_BUCKETS)) {
      throw new RangeError(
        `decaying histogram would need ${count} buckets (limit ${MAX_BUCKETS}); raise firstBucketSize or ratio, or lower maxValue`,
      );
    }
    this.starts = new Float64Array(count);
    for (let i = 0; i < count; i++) this.starts[i] = (first * (Math.pow(ratio, i) - 1)) / (ratio - 1);
  }

  get count(): number {
    return this.starts.length;
  }

  /** Index of the bucket holding v (values <= 0 go to bucket 0, huge ones to the last). */
  indexOf(v: number): number {
    const last = this.count - 1;
    if (!(v > 0)) return 0;
    let i = Math.min(last, Math.max(0, Math.floor(this.rawIndex(v))));
    // the logarithm can land one off at a boundary; the stored starts decide
    while (i < last && v >= this.starts[i + 1]!) i++;
    while (i > 0 && v < this.starts[i]!) i--;
    return i;
  }

  private rawIndex(v: number): number {
    return Math.log1p((v * (this.ratio - 1)) / this.first) / this.logRatio;
  }
}

export class DecayingHistogramForecaster implements Forecaster {
  readonly name = 'decaying-histogram' as const;
  private readonly halfLifeMs: number;
  private readonly buckets: ExponentialBuckets;
  private readonly weights: Float64Array;
  private totalWeight = 0;
  /** sum of weight * value, for the mean */
  private weightedSum = 0;
  /** time that weighs 1; set by the first sample, moved forward before weights grow too big */
  private refMs = Number.NaN;
  private newestMs = Number.NEGATIVE_INFINITY;
  /** largest value seen in the overflow bucket: its upper edge for interpolation */
  private overflowMax = 0;

  constructor(opts: DecayingHistogramOptions) {
    checkHalfLife(opts?.halfLifeMs);
    this.halfLifeMs = opts.halfLifeMs;
    const first = opts.firstBucketSize ?? 0.01;
    const ratio = opts.ratio ?? 1.05;
    const maxValue = opts.maxValue ?? 1e6;
    if (!(Number.isFinite(first) && first > 0)) {
      throw new RangeError(`decaying histogram firstBucketSize must be a finite number > 0; got ${String(first)}`);
    }
    if (!(Number.isFinite(ratio) && ratio > 1)) {
      throw new RangeError(`decaying histogram ratio must be a finite number > 1; got ${String(ratio)}`);
    }
    if (!(Number.isFinite(maxValue) && maxValue > first)) {
      throw new RangeError(`decaying histogram maxValue must be finite and above firstBucketSize (${first}); got ${String(maxValue)}`);
    }
    this.buckets = new ExponentialBuckets(first, ratio, maxValue);
    this.weights = new Float64Array(this.buckets.count);
  }

  /** Number of buckets, fixed at construction: the whole memory the samples take. */
  get bucketCount(): number {
    return this.buckets.count;
  }

  update(value: number, atMs: number): void {
    if (!Number.isFinite(value) || !Number.isFinite(atMs)) return;
    const x = Math.max(0, value);
    if (Number.isNaN(this.refMs)) this.refMs = atMs;
    if ((atMs - this.refMs) / this.halfLifeMs > MAX_EXPONENT) this.rebase(atMs);
    // a sample older than the newest keeps its own, smaller, weight
    const w = Math.pow(2, (atMs - this.refMs) / this.halfLifeMs);
    if (w === 0) return; // so old it no longer counts
    const i = this.buckets.indexOf(x);
    this.weights[i]! += w;
    this.totalWeight += w;
    this.weightedSum += w * x;
    if (i === this.buckets.count - 1) this.overflowMax = Math.max(this.overflowMax, x);
    this.newestMs = Math.max(this.newestMs, atMs);
  }

  forecast(horizonMs: number): Forecast {
    checkHorizon(horizonMs);
    if (!(this.totalWeight > 0)) return EMPTY_FORECAST;
    // weight as seen from the newest sample, in units of "one fresh sample"
    const weightNow = this.totalWeight * Math.pow(2, (this.refMs - this.newestMs) / this.halfLifeMs);
    // trend-free: the horizon does not change the distribution
    return new HistogramForecast(
      this.weights.slice(),
      this.totalWeight,
      this.weightedSum / this.totalWeight,
      confidenceFromWeight(weightNow),
      this.buckets.starts,
      this.overflowMax,
      (v) => this.buckets.indexOf(v),
    );
  }

  /** Moves the reference time to `toMs`, scaling every weight so their ratios stay the same. */
  private rebase(toMs: number): void {
    const scale = Math.pow(2, (this.refMs - toMs) / this.halfLifeMs);
    let total = 0;
    for (let i = 0; i < this.weights.length; i++) {
      const w = this.weights[i]! * scale;
      this.weights[i] = w;
      total += w;
    }
    // summing afresh also sheds the rounding that many additions leave in the running total
    this.totalWeight = total;
    this.weightedSum *= scale;
    this.refMs = toMs;
  }
}

/** A snapshot of the histogram, read with linear interpolation inside a bucket. */
class HistogramForecast implements Forecast {
  constructor(
    private readonly weights: Float64Array,
    private readonly total: number,
    readonly mean: number,
    readonly confidence: number,
    private readonly starts: Float64Array,
    private readonly overflowMax: number,
    private readonly indexOf: (v: number) => number,
  ) {}

  quantile(q: number): number {
    checkQuantile(q);
    const target = q * this.total;
    let cumulative = 0;
    let lastNonEmpty = 0;
    for (let i = 0; i < this.weights.length; i++) {
      const w = this.weights[i]!;
      if (w <= 0) continue;
      lastNonEmpty = i;
      if (cumulative + w >= target) {
        const [lo, hi] = this.edges(i);
        return lo + ((target - cumulative) / w) * (hi - lo);
      }
      cumulative += w;
    }
    return this.edges(lastNonEmpty)[1]; // rounding left target just above the sum
  }

  exceedance(x: number): number {
    checkThreshold(x);
    if (x < 0) return 1;
    const b = this.indexOf(x);
    let above = 0;
    for (let i = b + 1; i < this.weights.length; i++) above += this.weights[i]!;
    const [lo, hi] = this.edges(b);
    if (hi > x) above += (this.weights[b]! * (hi - x)) / (hi - lo);
    return Math.min(1, Math.max(0, above / this.total));
  }

  private edges(i: number): [number, number] {
    const lo = this.starts[i]!;
    const last = this.starts.length - 1;
    return [lo, i < last ? this.starts[i + 1]! : Math.max(lo, this.overflowMax)];
  }
}
