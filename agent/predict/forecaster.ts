// The forecaster interface the agent programs against: feed it one value per tick, ask it for
// quantiles and P(value > x) over a horizon. Two models sit behind it; the policy picks one.
import { DecayingHistogramForecaster } from './decaying-histogram.js';
import { EwmaForecaster } from './ewma.js';

export interface Forecast {
  readonly mean: number;
  /** value at quantile q in (0,1) over the horizon */
  quantile(q: number): number;
  /** P(value > x) within the horizon, in [0,1] */
  exceedance(x: number): number;
  /** 0..1, how much history stands behind it (0 with no samples, -> 1 as weight accumulates) */
  readonly confidence: number;
}

/**
 * Contract shared by every model:
 * - values are non-negative quantities (latencies, cores): a negative sample counts as 0 and no
 *   forecast goes below 0;
 * - a sample whose value or time is NaN or infinite is ignored (a tick with nothing to say must
 *   not break the tick loop);
 * - time may jump or stand still; a sample older than the newest one is weighted by its own
 *   time where the model can do so, otherwise as if taken at the newest time;
 * - with no samples, forecast() returns mean 0, quantiles 0, exceedance 0 and confidence 0;
 * - quantile(q) throws a RangeError outside (0, 1), exceedance(NaN) and forecast() with a
 *   negative or non-finite horizon likewise.
 */
export interface Forecaster {
  readonly name: ForecastModel;
  update(value: number, atMs: number): void;
  forecast(horizonMs: number): Forecast;
}

export type ForecastModel = 'ewma' | 'decaying-histogram';

/** Throws a RangeError for a half-life that is not a finite number > 0, or an unknown model. */
export function createForecaster(model: ForecastModel, opts: { halfLifeMs: number }): Forecaster {
  switch (model) {
    case 'ewma':
      return new EwmaForecaster(opts);
    case 'decaying-histogram':
      return new DecayingHistogramForecaster(opts);
    default:
      throw new RangeError(`unknown forecast model ${JSON.stringify(model)}; expected 'ewma' or 'decaying-histogram'`);
  }
}
