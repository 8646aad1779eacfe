// The Kubernetes VPA recommender's decaying histogram as the reference baseline uses it (counted
// in samples, a percentile read as the end of its bucket), and numpy's quantile: shared by the
// reference baselines (baselines.ts) and the engine's candidates (engine.ts).
import { staggeredSize } from './growth.js';

/** Quantile of an ascending array, linear between closest ranks (numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}

/** Upper bound on buckets: values beyond it share the last one. */
const VPA_MAX_BUCKETS = 10_000;
/** log2 of the newest weight at which the weights are rescaled, before they outgrow double precision. */
const RESCALE_EXPONENT = 50;

/**
 * The Kubernetes VPA recommender's decaying histogram, counted in samples: buckets growing by
 * `ratio` from `first` wide, each sample weighing 2^(1/halfLife) more than the one before, a
 * percentile read as the end of its bucket.
 */
export class VpaHistogram {
  private readonly logRatio: number;
  private readonly weights: number[] = [];
  private total = 0;
  /** log2 of the next sample's weight, relative to the current scale */
  private exponent = 0;

  constructor(
    readonly first: number,
    private readonly halfLifeSamples: number,
    private readonly ratio = 1.05,
  ) {
    this.logRatio = Math.log(ratio);
  }

  add(v: number): void {
    if (this.exponent > RESCALE_EXPONENT) {
      // rescale before weights outgrow double precision; only their ratios matter
      const scale = Math.pow(2, -this.exponent);
      for (let b = 0; b < this.weights.length; b++) this.weights[b]! *= scale;
      this.total *= scale;
      this.exponent = 0;
    }
    const w = Math.pow(2, this.exponent);
    this.exponent += 1 / this.halfLifeSamples;
    const b = this.bucketOf(v);
    while (this.weights.length <= b) this.weights.push(0);
    this.weights[b]! += w;
    this.total += w;
  }

  percentile(p: number): number {
    const threshold = p * this.total;
    let partial = 0;
    let b = 0;
    for (; b < this.weights.length - 1; b++) {
      partial += this.weights[b]!;
      if (partial >= threshold) break;
    }
    return percentileOfBucket(b, this.first, this.ratio);
  }

  private bucketOf(v: number): number {
    return bucketOf(v, this.first, this.ratio, this.logRatio);
  }
}

function bucketOf(v: number, first: number, ratio: number, logRatio: number): number {
  if (v < first) return 0;
  return Math.min(VPA_MAX_BUCKETS - 1, Math.floor(Math.log((v * (ratio - 1)) / first + 1) / logRatio));
}

function bucketStart(b: number, first: number, ratio: number): number {
  return (first * (Math.pow(ratio, b) - 1)) / (ratio - 1);
}

/** A percentile as the histogram reads it: the end of bucket b (the last bucket, which has no end, its start). */
function percentileOfBucket(b: number, first: number, ratio: number): number {
  return b < VPA_MAX_BUCKETS - 1 ? bucketStart(b + 1, first, ratio) : bucketStart(b, first, ratio);
}

/**
 * The VpaHistogram the samples so far would make, before there are enough of them to build it
 * for good. Its first bucket hangs on their median, so asking it at every sample meant building
 * it anew each time (a sort, a filter and a logarithm a sample: at 10,000 series, most of an
 * agent's tick in its first minutes). Kept instead as the samples sorted with their weights: a
 * bucket holds a run of sorted values, so walking them in order crosses the histogram's threshold
 * in the same bucket, and a percentile is that walk and one logarithm. The same answer as the
 * histogram unless a threshold falls within rounding of a bucket's cumulative weight (the walk
 * adds in value order, the histogram bucket by bucket; never seen at the half-lives used here).
 * With a first bucket at or below 0 (most nonzero samples negative) buckets no longer follow
 * the values' order: the histogram itself is built to answer.
 */
export class WarmVpa {
  private readonly logRatio: number;
  /** the samples in arrival order (for build), and sorted with the weight each came with */
  private arrived: Float64Array;
  private sorted: Float64Array;
  private weights: Float64Array;
  private n = 0;
  private total = 0;
  private exponent = 0;

  /** `expected`: the samples it will hold at most (it is built from them then): its buffers grow no further unless given more */
  constructor(
    private readonly halfLifeSamples: number,
    private readonly expected = Number.POSITIVE_INFINITY,
    private readonly ratio = 1.05,
  ) {
    this.logRatio = Math.log(ratio);
    const initial = Math.max(1, Math.min(expected, staggeredSize(32)));
    this.arrived = new Float64Array(initial);
    this.sorted = new Float64Array(initial);
    this.weights = new Float64Array(initial);
  }

  get size(): number {
    return this.n;
  }

  /** A finite sample. */
  add(v: number): void {
    if (this.n === this.sorted.length) this.grow();
    if (this.exponent > RESCALE_EXPONENT) {
      const scale = Math.pow(2, -this.exponent);
      for (let i = 0; i < this.n; i++) this.weights[i]! *= scale;
      this.total *= scale;
      this.exponent = 0;
    }
    // the weight and the running total as VpaHistogram.add makes them, to the bit
    const w = Math.pow(2, this.exponent);
    this.exponent += 1 / this.halfLifeSamples;
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid]! <= v) lo = mid + 1;
      else hi = mid;
    }
    this.sorted.copyWithin(lo + 1, lo, this.n);
    this.weights.copyWithin(lo + 1, lo, this.n);
    this.sorted[lo] = v;
    this.weights[lo] = w;
    this.arrived[this.n] = v;
    this.n++;
    this.total += w;
  }

  percentile(p: number): number {
    const first = this.firstBucket();
    if (!(first > 0)) return this.build().percentile(p);
    const threshold = p * this.total;
    // the histogram's walk stops in bucket 0 at once, empty or not
    if (!(threshold > 0)) return percentileOfBucket(0, first, this.ratio);
    let partial = 0;
    let i = 0;
    for (; i < this.n - 1; i++) {
      partial += this.weights[i]!;
      if (partial >= threshold) break;
    }
    const b = this.n > 0 ? bucketOf(this.sorted[i]!, first, this.ratio, this.logRatio) : 0;
    return percentileOfBucket(b, first, this.ratio);
  }

  /** The histogram of these samples, added in the order they came. */
  build(): VpaHistogram {
    const h = new VpaHistogram(this.firstBucket(), this.halfLifeSamples, this.ratio);
    for (let i = 0; i < this.n; i++) h.add(this.arrived[i]!);
    return h;
  }

  /** vpaFirstBucket of the samples: zeros are one run of the sorted values, so the median of the rest is read around it. */
  private firstBucket(): number {
    const s = this.sorted;
    let z0 = 0;
    while (z0 < this.n && s[z0]! < 0) z0++;
    let z1 = z0;
    while (z1 < this.n && s[z1] === 0) z1++;
    const m = this.n - (z1 - z0);
    if (m === 0) return 0.01;
    const at = (j: number): number => s[j < z0 ? j : j + z1 - z0]!;
    const pos = 0.5 * (m - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(m - 1, lo + 1);
    return 0.01 * (at(lo) + (pos - lo) * (at(hi) - at(lo)));
  }

  private grow(): void {
    const doubled = 2 * this.sorted.length;
    const size = this.n < this.expected ? Math.min(doubled, this.expected) : doubled;
    for (const key of ['arrived', 'sorted', 'weights'] as const) {
      const bigger = new Float64Array(size);
      bigger.set(this[key]);
      this[key] = bigger;
    }
  }
}

/** 0.01 x the median nonzero value (0.01, VPA's own CPU default, when all are zero); WarmVpa reads the same from its sorted samples (this is its reference in the tests). */
export function vpaFirstBucket(values: readonly number[]): number {
  const nonzero = values.filter((v) => v !== 0).sort((a, b) => a - b);
  return nonzero.length > 0 ? 0.01 * quantileSorted(nonzero, 0.5) : 0.01;
}

