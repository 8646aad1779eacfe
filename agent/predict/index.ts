// agent/predict: per-workload forecasts (quantiles, P(value > objective), confidence).
export { createForecaster, type Forecast, type ForecastModel, type Forecaster } from './forecaster.js';
