// Keeps, per series and per horizon, the candidate whose recent forecasts cost least, in the
// spirit of Autopilot's recommender: every candidate runs on every sample; each forecast is
// scored when its step arrives, with a loss that weighs under-prediction more than
// over-prediction (by default the p90 pinball loss: an under-shoot costs 0.9 per unit, an
// over-shoot 0.1); losses fade with a half-life; and the selector moves to another candidate
// only when that one's loss is lower by a margin, because every switch changes what the
// planner reserves.
import type { Forecast, Forecaster } from '../forecaster.js';
import { checkHalfLife, checkHorizon, checkQuantile } from '../stats.js';
import { HorizonTable, PendingQueue } from './horizon-table.js';
import { StepClock } from './step-clock.js';

export interface SelectorOptions {
  /** losses halve over this long */
  halfLifeMs: number;
  /** sampling step; learned from the first gaps when absent */
  stepMs?: number;
  /** the quantile whose forecasts are scored (default 0.9) */
  quantile?: number;
  /** cost per unit of under-prediction (default: the quantile, as pinball loss) */
  underWeight?: number;
  /** cost per unit of over-prediction (default: 1 - the quantile) */
  overWeight?: number;
  /** a challenger must cost this share less than the incumbent to take over (default 0.1) */
  switchMargin?: number;
}

/** Resolved forecasts needed before the first choice is reconsidered. */
const MIN_SCORED = 16;

interface HorizonState {
  steps: number;
  horizonMs: number;
  /** each candidate's scored quantile, per origin */
  pending: PendingQueue<{ slot: number; forecasts: Float64Array }>;
  /** each candidate's faded loss */
  losses: Float64Array;
  lossMs: number;
  /** forecasts resolved so far */
  scored: number;
  current: number;
  switches: number;
}

export class SelectorForecaster implements Forecaster {
  readonly name = 'selector' as const;
  private readonly clock: StepClock;
  private readonly horizons: HorizonTable<HorizonState>;
  private readonly halfLifeMs: number;
  private readonly q: number;
  private readonly under: number;
  private readonly over: number;
  private readonly margin: number;

  constructor(
    readonly candidates: readonly Forecaster[],
    opts: SelectorOptions,
  ) {
    checkHalfLife(opts?.halfLifeMs);
    if (candidates.length === 0) throw new RangeError('selector needs at least one candidate');
    this.halfLifeMs = opts.halfLifeMs;
    this.q = opts.quantile ?? 0.9;
    checkQuantile(this.q);
    this.under = opts.underWeight ?? this.q;
    this.over = opts.overWeight ?? 1 - this.q;
    this.margin = opts.switchMargin ?? 0.1;
    if (!(this.under >= 0 && this.over >= 0 && this.margin >= 0 && this.margin < 1)) {
      throw new RangeError('selector weights must be >= 0 and switchMargin in [0, 1)');
    }
    this.clock = new StepClock(opts.stepMs);
    this.horizons = new HorizonTable((steps) => ({
      steps,
      horizonMs: Number.NaN,
      pending: new PendingQueue(),
      losses: new Float64Array(candidates.length),
      lossMs: Number.NaN,
      scored: 0,
      current: 0,
      switches: 0,
    }));
  }

  update(value: number, atMs: number): void {
    if (!Number.isFinite(value) || !Number.isFinite(atMs)) return;
    for (const c of this.candidates) c.update(value, atMs);
    this.clock.advance(atMs);
    const slot = this.clock.slot;
    const x = Math.max(0, value);
    for (const h of this.horizons.values()) {
      for (let p = h.pending.shiftUpTo(slot - h.steps); p !== undefined; p = h.pending.shiftUpTo(slot - h.steps)) {
        if (p.slot + h.steps === slot) this.score(h, x, p.forecasts, atMs);
      }
      const forecasts = new Float64Array(this.candidates.length);
      this.candidates.forEach((c, i) => (forecasts[i] = c.forecast(h.horizonMs).quantile(this.q)));
      h.pending.push({ slot, forecasts });
    }
  }

  /** The chosen candidate's forecast for this horizon (the first candidate until losses are known). */
  forecast(horizonMs: number): Forecast {
    checkHorizon(horizonMs);
    return this.candidates[this.track(horizonMs)?.current ?? 0]!.forecast(horizonMs);
  }

  /** Name of the candidate in use at this horizon, and how often the choice has changed. */
  selected(horizonMs: number): { name: string; switches: number } {
    const h = this.track(horizonMs);
    return { name: this.candidates[h?.current ?? 0]!.name, switches: h?.switches ?? 0 };
  }

  /** The horizon's state; none before the step is known for good (horizons are counted in steps). */
  private track(horizonMs: number): HorizonState | undefined {
    if (!this.clock.settled) return undefined;
    const h = this.horizons.get(this.clock.stepsFor(horizonMs));
    if (Number.isNaN(h.horizonMs)) h.horizonMs = horizonMs;
    return h;
  }

  /** Adds one resolved forecast per candidate to the faded losses, then reconsiders the choice. */
  private score(h: HorizonState, actual: number, forecasts: Float64Array, atMs: number): void {
    const fade = Number.isNaN(h.lossMs) ? 1 : Math.pow(2, -Math.max(0, atMs - h.lossMs) / this.halfLifeMs);
    h.lossMs = Math.max(Number.isNaN(h.lossMs) ? atMs : h.lossMs, atMs);
    for (let i = 0; i < forecasts.length; i++) {
      const f = forecasts[i]!;
      const loss = actual > f ? this.under * (actual - f) : this.over * (f - actual);
      h.losses[i] = h.losses[i]! * fade + loss;
    }
    let best = h.current;
    for (let i = 0; i < forecasts.length; i++) if (h.losses[i]! < h.losses[best]!) best = i;
    if (++h.scored < MIN_SCORED) return; // a handful of forecasts is not evidence yet
    if (best !== h.current && h.losses[best]! < h.losses[h.current]! * (1 - this.margin)) {
      h.current = best;
      h.switches++;
    }
  }
}
