// Holt's damped linear trend on a series' samples: a level and a slope, each smoothed, the slope
// damped per step. The engine's series state projects it (the trend candidate, the features), and
// the direct peak forecaster's cold start follows it.

/** Level and trend smoothing, damping per step. */
const ALPHA = 0.4;
const BETA = 0.1;
const PHI = 0.98;

export class DampedTrend {
  private level = Number.NaN;
  private trend = 0;

  /** Folds in a sample `steps` grid steps after the previous one (the first sets the level). */
  update(x: number, steps = 1): void {
    if (Number.isNaN(this.level)) {
      this.level = x;
      return;
    }
    const prev = this.level;
    const n = Math.max(1, steps);
    this.level = ALPHA * x + (1 - ALPHA) * (prev + PHI * this.trend * n);
    this.trend = BETA * ((this.level - prev) / n) + (1 - BETA) * PHI * this.trend;
  }

  /** The slope per step (0 before two samples). */
  get slope(): number {
    return this.trend;
  }

  /** The forecast `steps` ahead: the level plus the damped slope's sum over them (NaN before a sample). */
  at(steps: number): number {
    return this.level + (this.trend * PHI * (1 - Math.pow(PHI, steps))) / (1 - PHI);
  }
}
