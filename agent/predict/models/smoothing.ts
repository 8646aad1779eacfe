// Exponential smoothing with an additive trend and, optionally, an additive season: Holt's
// linear trend, and Holt-Winters when a period is given. Written in the error-correction form
// (each component moves by a share of the one-step error), which is also the innovations
// state-space model ETS(A,A,N) / ETS(A,A,A), so its h-step error variance has a closed form.
// Time is counted in slots (see StepClock); a sample k slots after the last one is predicted
// k steps ahead, so a skipped tick does not stretch the season.

export interface SmoothingParams {
  /** level smoothing, (0, 1] */
  alpha: number;
  /** trend smoothing, as a share of the error (0 <= beta <= alpha) */
  beta: number;
  /** season smoothing (0 <= gamma <= 1 - alpha); ignored without a season */
  gamma: number;
  /** trend damping per step, (0, 1]; 1 = Holt's linear trend */
  phi: number;
}

export class AdditiveSmoother {
  level = 0;
  trend = 0;
  /** slot of the last value folded in */
  slot = 0;
  /** seasonal offsets by slot mod period; empty without a season */
  readonly season: Float64Array;

  constructor(
    readonly params: SmoothingParams,
    readonly period = 0,
  ) {
    this.season = new Float64Array(period >= 2 ? period : 0);
  }

  get seasonal(): boolean {
    return this.season.length > 0;
  }

  /** Sets the state as it stands after the value at `slot`. */
  init(level: number, trend: number, slot: number, season?: ArrayLike<number>): void {
    this.level = level;
    this.trend = trend;
    this.slot = slot;
    if (season) for (let i = 0; i < this.season.length; i++) this.season[i] = season[i] ?? 0;
  }

  /** Centre of the value `steps` after the last slot. */
  forecast(steps: number): number {
    return this.level + this.dampedSum(steps) * this.trend + this.seasonAt(this.slot + steps);
  }

  /** Folds in the value seen at `slot` (after the last one); returns the one-step error. */
  update(value: number, slot: number): number {
    const k = Math.max(1, slot - this.slot);
    const { alpha, beta, gamma, phi } = this.params;
    const predictedLevel = this.level + this.dampedSum(k) * this.trend;
    const error = value - predictedLevel - this.seasonAt(slot);
    this.level = predictedLevel + alpha * error;
    this.trend = (phi === 1 ? this.trend : Math.pow(phi, k) * this.trend) + beta * error;
    if (this.season.length > 0) this.season[mod(slot, this.season.length)]! += gamma * error;
    this.slot = slot;
    return error;
  }

  /**
   * Var(error h steps ahead) / Var(one-step error), for ETS(A,A,A) (Hyndman et al., Forecasting
   * with Exponential Smoothing, table 6.1, class 1); with damping, the undamped figure, a little
   * wider than the truth.
   */
  varianceFactor(steps: number): number {
    const { alpha: a, beta: b, gamma: g } = this.params;
    const h = Math.max(1, steps);
    let f = 1 + (h - 1) * (a * a + a * b * h + (b * b * h * (2 * h - 1)) / 6);
    const m = this.season.length;
    if (m > 0) {
      const k = Math.floor((h - 1) / m);
      f += g * k * (2 * a + g + b * m * (k + 1));
    }
    return f;
  }

  private seasonAt(slot: number): number {
    return this.season.length > 0 ? this.season[mod(slot, this.season.length)]! : 0;
  }

  /** phi + phi^2 + ... + phi^k: how far the trend carries in k steps. */
  private dampedSum(k: number): number {
    const phi = this.params.phi;
    return phi === 1 ? k : (phi * (1 - Math.pow(phi, k))) / (1 - phi);
  }
}

function mod(a: number, m: number): number {
  const r = a % m;
  return r < 0 ? r + m : r;
}
