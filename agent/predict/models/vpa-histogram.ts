// The Kubernetes VPA recommender's decaying histogram as the reference baseline uses it (counted
// in samples, a percentile read as the end of its bucket), and numpy's quantile: shared by the
// reference baselines (baselines.ts) and the engine's candidates (engine.ts).

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
    if (this.exponent > 50) {
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
    // the last bucket has no end: VPA answers its start
    return b < VPA_MAX_BUCKETS - 1 ? this.bucketStart(b + 1) : this.bucketStart(b);
  }

  private bucketOf(v: number): number {
    if (v < this.first) return 0;
    return Math.min(VPA_MAX_BUCKETS - 1, Math.floor(Math.log((v * (this.ratio - 1)) / this.first + 1) / this.logRatio));
  }

  private bucketStart(b: number): number {
    return (this.first * (Math.pow(this.ratio, b) - 1)) / (this.ratio - 1);
  }
}

/** 0.01 x the median nonzero value (0.01, VPA's own CPU default, when all are zero). */
export function vpaFirstBucket(values: readonly number[]): number {
  const nonzero = values.filter((v) => v !== 0).sort((a, b) => a - b);
  return nonzero.length > 0 ? 0.01 * quantileSorted(nonzero, 0.5) : 0.01;
}

