// An exponentially weighted mean of a series and its spread, the spread kept in two parts: the
// deviations above the mean (rises) and below it (falls). A level falling away, a job's exit or
// the end of a start-up burst, is all falls: riseSd leaves it out of what is forecast above.

export class EwSpread {
  /** the EWMA; NaN before the first value */
  mean = Number.NaN;
  /** its biased exponentially weighted variance (riseVar + fallVar) */
  variance = 0;
  riseVar = 0;
  fallVar = 0;

  /** alpha: the weight of each new value */
  constructor(private readonly alpha: number) {}

  update(x: number): void {
    if (Number.isNaN(this.mean)) {
      this.mean = x;
      return;
    }
    const a = this.alpha;
    const e = x - this.mean;
    this.mean += a * e;
    this.variance = (1 - a) * (this.variance + a * e * e);
    if (e > 0) this.riseVar += a * e * e;
    else this.fallVar += a * e * e;
    this.riseVar *= 1 - a;
    this.fallVar *= 1 - a;
  }

  /**
   * The spread above the mean, as a standard deviation: the variance, less the part of its falls
   * beyond its rises. As the variance's on symmetric noise and on spikes (their falls are the
   * smaller part), but a level falling away does not widen what is forecast above it.
   */
  get riseSd(): number {
    return Math.sqrt(this.riseVar + Math.min(this.fallVar, this.riseVar));
  }
}
