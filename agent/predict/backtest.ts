// Rolling-origin backtest, online: at every observed step of a series each model has seen only
// the values up to that step, forecasts (p50, p90) for each target, and is scored when the
// target is known. The method (warm-up, targets, normalisation, aggregation) is the one of
// ../shared/traces/BASELINES.md, so plain baselines run here reproduce its reference table.
import type { Forecaster } from './forecaster.js';
import type { Dataset, Series } from './traces/series.js';

/** `point`: the value `steps` ahead; `peak`: the max over the next `steps` (all must be observed). */
export type TargetKind = 'point' | 'peak';

export interface Target {
  readonly name: string;
  readonly kind: TargetKind;
  readonly steps: number;
}

export const TARGETS = {
  h1: { name: 'h1', kind: 'point', steps: 1 },
  h12: { name: 'h12', kind: 'point', steps: 12 },
  h12max: { name: 'h12max', kind: 'peak', steps: 12 },
} as const satisfies Record<string, Target>;

export type TargetName = keyof typeof TARGETS;

export interface QuantilePair {
  p50: number;
  p90: number;
}

/** What a model knows about the series it is about to see (never its values). */
export interface ModelContext {
  stepSeconds: number;
  /** time of grid step 0, seconds (for models that read the time of day) */
  startSeconds: number;
  /** observed points before the first scored origin */
  warmup: number;
  /** grid steps in a day (288 at 300 s): the scale of the daily baselines */
  dayPoints: number;
  /** the targets the model will be asked for (it may prepare for them from the first value) */
  targets: readonly Target[];
}

/** One model on one series, fed online. */
export interface OnlineModel {
  /** The value observed at grid step `index`; indices only grow, skipped ones were not observed. */
  observe(value: number, index: number): void;
  /** Forecast for `target`, made at the latest observed step. */
  predict(target: Target): QuantilePair;
}

export interface ModelSpec {
  /** short name for `--models` */
  readonly id: string;
  /** table label */
  readonly label: string;
  /** true for models built from others (a selector, an ensemble): not a "single" model */
  readonly combines?: boolean;
  create(ctx: ModelContext): OnlineModel;
}

/** Plugs any Forecaster in: grid step i is time startSeconds + i * step; both quantiles per horizon. */
export function forecasterModel(id: string, label: string, make: (ctx: ModelContext) => Forecaster): ModelSpec {
  return {
    id,
    label,
    create(ctx) {
      const f = make(ctx);
      const stepMs = ctx.stepSeconds * 1000;
      const startMs = ctx.startSeconds * 1000;
      return {
        observe: (value, index) => f.update(value, startMs + index * stepMs),
        predict: (target) => {
          const fc = f.forecast(target.steps * stepMs);
          return { p50: fc.quantile(0.5), p90: fc.quantile(0.9) };
        },
      };
    },
  };
}

/** Pinball (quantile) loss of forecast f for actual y at quantile q. */
export function pinball(y: number, f: number, q: number): number {
  return y >= f ? q * (y - f) : (1 - q) * (f - y);
}

/** What each target's actual is at each origin: NaN where it cannot be scored. */
export function targetActuals(values: Float64Array, target: Target): Float64Array {
  const n = values.length;
  const out = new Float64Array(n).fill(Number.NaN);
  const h = target.steps;
  for (let t = 0; t + h < n; t++) {
    if (target.kind === 'point') {
      out[t] = values[t + h]!;
      continue;
    }
    let peak = Number.NEGATIVE_INFINITY;
    for (let j = t + 1; j <= t + h; j++) {
      const v = values[j]!;
      if (Number.isNaN(v)) {
        peak = Number.NaN;
        break;
      }
      if (v > peak) peak = v;
    }
    out[t] = peak;
  }
  return out;
}

/** One model's score on one series and target. Losses and slack are divided by the series' mean |y|. */
export interface ModelScore {
  nPL50: number;
  nPL90: number;
  /** share of scored points with actual > p90 */
  under90: number;
  /** mean over scored points of max(0, p90 - actual): what the p90 reserves beyond need */
  nSlack90: number;
}

export interface SeriesResult {
  name: string;
  dataset: Dataset;
  resource: string;
  stepSeconds: number;
  /** mean |y| over every observed step: the normaliser */
  meanAbs: number;
  /** per target name: scored points and one score per model (in the order of the specs) */
  targets: Record<string, { points: number; scores: ModelScore[] }>;
}

export interface BacktestOptions {
  /** observed points not scored at the start of each series (default 288) */
  warmup?: number;
}

export const DEFAULT_WARMUP = 288;

/** Replays one series through every model, scoring every target. */
export function backtestSeries(series: Series, specs: readonly ModelSpec[], targets: readonly Target[], opts: BacktestOptions = {}): SeriesResult {
  const y = series.values;
  const warmup = opts.warmup ?? DEFAULT_WARMUP;
  const ctx: ModelContext = {
    stepSeconds: series.stepSeconds,
    startSeconds: series.startSeconds,
    warmup,
    dayPoints: Math.max(1, Math.round(86_400 / series.stepSeconds)),
    targets,
  };
  const models = specs.map((s) => s.create(ctx));
  const actuals = targets.map((tg) => targetActuals(y, tg));
  const m = specs.length;
  // per target, per model: sums of pinball losses, under count, slack
  const acc = targets.map(() => ({ points: 0, pl50: new Float64Array(m), pl90: new Float64Array(m), under: new Float64Array(m), slack: new Float64Array(m) }));
  let observed = 0;
  let sumAbs = 0;
  for (let t = 0; t < y.length; t++) {
    const v = y[t]!;
    if (Number.isNaN(v)) continue;
    sumAbs += Math.abs(v);
    for (const model of models) model.observe(v, t);
    if (++observed <= warmup) continue;
    for (let j = 0; j < targets.length; j++) {
      const actual = actuals[j]![t]!;
      if (Number.isNaN(actual)) continue; // the harness knows; the models are not told
      const a = acc[j]!;
      a.points++;
      for (let i = 0; i < m; i++) {
        const f = models[i]!.predict(targets[j]!);
        a.pl50[i]! += pinball(actual, f.p50, 0.5);
        a.pl90[i]! += pinball(actual, f.p90, 0.9);
        if (actual > f.p90) a.under[i]!++;
        else a.slack[i]! += f.p90 - actual;
      }
    }
  }
  const meanAbs = observed > 0 ? sumAbs / observed : Number.NaN;
  const result: SeriesResult = { name: series.name, dataset: series.dataset, resource: series.resource, stepSeconds: series.stepSeconds, meanAbs, targets: {} };
  targets.forEach((tg, j) => {
    const a = acc[j]!;
    const n = a.points;
    const scores: ModelScore[] = specs.map((_, i) => ({
      nPL50: a.pl50[i]! / n / meanAbs,
      nPL90: a.pl90[i]! / n / meanAbs,
      under90: a.under[i]! / n,
      nSlack90: a.slack[i]! / n / meanAbs,
    }));
    result.targets[tg.name] = { points: n, scores };
  });
  return result;
}

export interface TableRow {
  id: string;
  label: string;
  nPL50: number;
  nPL90: number;
  under90: number;
  nSlack90: number;
  /** series on which this model has the lowest nPL90 of those run (ties: the earlier model) */
  best: number;
}

export interface DatasetTable {
  dataset: Dataset;
  target: Target;
  /** the grid step of the dataset's series; NaN when they differ */
  stepSeconds: number;
  /** series that had scored points and a non-zero mean (the others cannot be normalised) */
  series: number;
  points: number;
  rows: TableRow[];
  /** id of the non-combining model with the lowest mean nPL90, if any */
  bestSingle?: string;
}

/** Means over each dataset's series, per target, as BASELINES.md tabulates them. */
export function summarize(results: readonly SeriesResult[], specs: readonly ModelSpec[], targets: readonly Target[]): DatasetTable[] {
  const datasets = [...new Set(results.map((r) => r.dataset))];
  const tables: DatasetTable[] = [];
  for (const dataset of datasets) {
    const members = results.filter((r) => r.dataset === dataset);
    const steps = new Set(members.map((r) => r.stepSeconds));
    const stepSeconds = steps.size === 1 ? members[0]!.stepSeconds : Number.NaN;
    for (const target of targets) {
      const usable = members
        .map((r) => r.targets[target.name])
        .filter((x): x is SeriesResult['targets'][string] => x !== undefined && x.points > 0 && x.scores.every((s) => Number.isFinite(s.nPL90)));
      const rows: TableRow[] = specs.map((s) => ({ id: s.id, label: s.label, nPL50: 0, nPL90: 0, under90: 0, nSlack90: 0, best: 0 }));
      let points = 0;
      for (const r of usable) {
        points += r.points;
        let best = 0;
        r.scores.forEach((s, i) => {
          const row = rows[i]!;
          row.nPL50 += s.nPL50 / usable.length;
          row.nPL90 += s.nPL90 / usable.length;
          row.under90 += s.under90 / usable.length;
          row.nSlack90 += s.nSlack90 / usable.length;
          if (s.nPL90 < r.scores[best]!.nPL90) best = i;
        });
        rows[best]!.best++;
      }
      let bestSingle: string | undefined;
      let bestLoss = Number.POSITIVE_INFINITY;
      specs.forEach((s, i) => {
        if (!s.combines && usable.length > 0 && rows[i]!.nPL90 < bestLoss) {
          bestLoss = rows[i]!.nPL90;
          bestSingle = s.id;
        }
      });
      tables.push({ dataset, target, stepSeconds, series: usable.length, points, rows, bestSingle });
    }
  }
  return tables;
}

export interface BacktestReport {
  series: SeriesResult[];
  tables: DatasetTable[];
  /** wall time of the replay, ms */
  elapsedMs: number;
}

/** Replays every series; `onProgress` is called after each one (for a progress line). */
export function runBacktest(
  series: readonly Series[],
  specs: readonly ModelSpec[],
  targets: readonly Target[],
  opts: BacktestOptions & { onProgress?: (done: number, total: number, last: Series) => void } = {},
): BacktestReport {
  const start = performance.now();
  const results: SeriesResult[] = [];
  series.forEach((s, k) => {
    results.push(backtestSeries(s, specs, targets, opts));
    opts.onProgress?.(k + 1, series.length, s);
  });
  return { series: results, tables: summarize(results, specs, targets), elapsedMs: performance.now() - start };
}
