// The forecaster interface the agent programs against: feed it one value per tick, ask it for
// quantiles and P(value > x) over a horizon. The models behind it are listed at ForecastModel.
import { DecayingHistogramForecaster } from './decaying-histogram.js';
import { EwmaForecaster } from './ewma.js';
import { CalibratedForecaster } from './models/calibrated.js';
import { EngineForecaster } from './models/engine.js';
import { HoltForecaster, HoltWintersForecaster } from './models/holt-winters.js';
import { HorizonPeakForecaster } from './models/horizon-peak.js';
import type { LearnerPool } from './models/learner-pool.js';
import { SeasonalProfileForecaster } from './models/seasonal-profile.js';
import { SelectorForecaster } from './models/selector.js';
import { WindowRegressionForecaster } from './models/window-regression.js';
import { LastValueForecaster, MeanSigmaForecaster, WindowPeakForecaster } from './models/window-baselines.js';

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
 *   negative or non-finite horizon likewise;
 * - models that count steps (trend, season, calibration, peak, selector) learn the step from
 *   the first gaps between samples unless given stepMs; a horizon is rounded to whole steps, at
 *   least one (horizon 0 asks for the next sample).
 */
export interface Forecaster {
  readonly name: ForecastModel;
  update(value: number, atMs: number): void;
  forecast(horizonMs: number): Forecast;
}

/** Models that forecast the value at the horizon. */
export const POINT_MODELS = ['ewma', 'decaying-histogram', 'last-value', 'window-peak', 'mean-sigma', 'holt', 'holt-winters', 'seasonal-profile', 'linear-regression', 'poly-regression'] as const;
export type PointModel = (typeof POINT_MODELS)[number];

/**
 * - ewma, decaying-histogram: what the policy uses (unchanged);
 * - last-value, window-peak (median, and the window's peak above p50), mean-sigma (normal of the
 *   window): the production baselines; window = the half-life;
 * - holt (linear trend), holt-winters (additive, season detected by autocorrelation; Holt when
 *   none): constants fitted to recent history;
 * - seasonal-profile: median of the same phase over past seasons (season detected, a day tried
 *   first) plus an AR(1) deviation from it; the mean-reverting AR(1) alone without a season;
 * - linear-regression, poly-regression: least squares through the last 24 samples (a line, a
 *   parabola), extrapolated, with the OLS prediction interval;
 * - calibrated:<point model>: that model's centre with quantiles from its own recent errors at
 *   the same horizon (conformal);
 * - horizon-peak: forecast(h) is the distribution of the PEAK over the next h, not of the value
 *   at h (calibrated realised peaks above a seasonal-profile reference);
 * - selector: per horizon, the calibrated candidate with the lowest faded p90 pinball loss;
 * - engine: the forecasting engine (models/engine.ts): per horizon, the baselines, a calibrated
 *   seasonal profile, a normalised conformal EWMA and a quantile GBM learned online, weighted by
 *   their recent p90 loss and calibrated on the combination's own misses;
 * - engine-peak: the same engine asked for the PEAK over the horizon (its own heads: the
 *   baselines, the direct peak forecaster, the learned model trained on realised peaks).
 */
export type ForecastModel = PointModel | `calibrated:${PointModel}` | 'horizon-peak' | 'selector' | 'engine' | 'engine-peak';

export const FORECAST_MODELS: readonly ForecastModel[] = [
  ...POINT_MODELS,
  ...POINT_MODELS.map((m) => `calibrated:${m}` as const),
  'horizon-peak',
  'selector',
  'engine',
  'engine-peak',
];

export interface ForecasterOptions {
  /** memory of the model: EWMA/histogram half-life, window of the window baselines, fading of errors and losses */
  halfLifeMs: number;
  /** sampling step for the models that count steps; learned from the first gaps when absent */
  stepMs?: number;
  /** engine only: learned models shared with the other series' engines (models/learner-pool.ts) */
  learnerPool?: LearnerPool;
}

/** Candidates of the 'selector' model, each calibrated. */
export const SELECTOR_CANDIDATES: readonly PointModel[] = ['last-value', 'holt-winters', 'seasonal-profile', 'decaying-histogram'];

/** Throws a RangeError for a half-life that is not a finite number > 0, or an unknown model. */
export function createForecaster(model: ForecastModel, opts: ForecasterOptions): Forecaster {
  if (typeof model === 'string' && model.startsWith('calibrated:')) {
    const inner = model.slice('calibrated:'.length) as PointModel;
    if ((POINT_MODELS as readonly string[]).includes(inner)) return new CalibratedForecaster(createPointForecaster(inner, opts), opts);
  }
  switch (model) {
    case 'horizon-peak':
      return new HorizonPeakForecaster(new SeasonalProfileForecaster({ ...opts, startAtMedian: true }), { ...opts, coldTrend: true, calibrate: true });
    case 'engine':
      return new EngineForecaster(opts);
    case 'engine-peak':
      return new EngineForecaster(opts, 'engine-peak');
    case 'selector':
      return new SelectorForecaster(
        SELECTOR_CANDIDATES.map((m) => new CalibratedForecaster(createPointForecaster(m, opts), opts)),
        opts,
      );
    default:
      return createPointForecaster(model as PointModel, opts);
  }
}

function createPointForecaster(model: PointModel, opts: ForecasterOptions): Forecaster {
  switch (model) {
    case 'ewma':
      return new EwmaForecaster(opts);
    case 'decaying-histogram':
      return new DecayingHistogramForecaster(opts);
    case 'last-value':
      return new LastValueForecaster(opts);
    case 'window-peak':
      return new WindowPeakForecaster(opts);
    case 'mean-sigma':
      return new MeanSigmaForecaster(opts);
    case 'holt':
      return new HoltForecaster(opts);
    case 'holt-winters':
      return new HoltWintersForecaster(opts);
    case 'seasonal-profile':
      return new SeasonalProfileForecaster(opts);
    case 'linear-regression':
      return new WindowRegressionForecaster(opts, 1);
    case 'poly-regression':
      return new WindowRegressionForecaster(opts, 2);
    default:
      throw new RangeError(`unknown forecast model ${JSON.stringify(model)}; expected one of ${FORECAST_MODELS.join(', ')}`);
  }
}
