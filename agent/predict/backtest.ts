// Rolling-origin backtest, online: at every observed step of a series each model has seen only
// the values up to that step, forecasts (p50, p90) for each target, and is scored when the
// target is known. The method (warm-up, targets, normalisation, aggregation) is the one of
// ../shared/traces/BASELINES.md, so plain baselines run here reproduce its reference table.
import { basename } from 'node:path';
import type { Forecast, Forecaster } from './forecaster.js';
import { observedCount, type Dataset, type Series } from './traces/series.js';
import { KillGate } from './kill-gate.js';
import { REACHED_SHARE } from './demand.js';

/** `point`: the value `steps` ahead; `peak`: the max over the next `steps` (all must be observed). */
export type TargetKind = 'point' | 'peak';

export interface Target {
  readonly name: string;
  readonly kind: TargetKind;
  readonly steps: number;
  /** a horizon in time: `steps` is then worked out per series from its grid step (see resolveTarget) */
  readonly seconds?: number;
}

/** The targets of BASELINES.md, on the public traces' 5-minute grid: 5 min, 1 h and the hour's peak. */
export const TARGETS = {
  h1: { name: 'h1', kind: 'point', steps: 1 },
  h12: { name: 'h12', kind: 'point', steps: 12 },
  h12max: { name: 'h12max', kind: 'peak', steps: 12 },
} as const satisfies Record<string, Target>;

export type TargetName = keyof typeof TARGETS;

/** The same three at the agent's horizons, for traces recorded at its tick: 5 s, 60 s and the peak over 60 s. */
export const AGENT_TARGETS = {
  h5s: { name: 'h5s', kind: 'point', steps: 5, seconds: 5 },
  h60s: { name: 'h60s', kind: 'point', steps: 60, seconds: 60 },
  h60smax: { name: 'h60smax', kind: 'peak', steps: 60, seconds: 60 },
} as const satisfies Record<string, Target>;

export type AgentTargetName = keyof typeof AGENT_TARGETS;

/** Every target known by name (`--targets`). */
export const ALL_TARGETS: Readonly<Record<string, Target>> = { ...TARGETS, ...AGENT_TARGETS };

const TARGET_NAME = /^h(\d+)(s|m|h|d)?(max)?$/;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
/** Longest horizon a target may name: a week in time, 10,000 steps (35 days of 5-minute steps). */
const MAX_TARGET_SECONDS = 7 * 86_400;
export const MAX_TARGET_STEPS = 10_000;

/**
 * A target by name: `h<N>` the value N steps ahead, `h<N>max` the peak over the next N; with a
 * unit, a horizon in time (`h5s`, `h15m`, `h1h`, `h1d`, `h15mmax`), turned into steps per grid. Undefined
 * for any other name.
 */
export function targetByName(name: string): Target | undefined {
  const known = ALL_TARGETS[name];
  if (known) return known;
  const m = TARGET_NAME.exec(name);
  if (!m) return undefined;
  const n = Number(m[1]);
  const seconds = m[2] !== undefined ? n * UNIT_SECONDS[m[2]]! : undefined;
  if (!(n >= 1 && (seconds !== undefined ? seconds <= MAX_TARGET_SECONDS : n <= MAX_TARGET_STEPS))) return undefined;
  const kind: TargetKind = m[3] !== undefined ? 'peak' : 'point';
  return seconds !== undefined ? { name, kind, steps: seconds, seconds } : { name, kind, steps: n };
}

/** Grids at or above this step are scored at the public traces' targets, finer ones at the agent's. */
export const AGENT_STEP_LIMIT_SECONDS = 60;

/** The targets a series is scored at by default: BASELINES.md's on a coarse grid, the agent's on a fine one. */
export function defaultTargets(stepSeconds: number): Target[] {
  return Object.values(stepSeconds >= AGENT_STEP_LIMIT_SECONDS ? TARGETS : AGENT_TARGETS);
}

/** The targets asked of a series on this grid: those given, or under 'auto' its grid's defaults. */
export const targetsFor = (targets: readonly Target[] | 'auto', stepSeconds: number): readonly Target[] =>
  targets === 'auto' ? defaultTargets(stepSeconds) : targets;

/** A target with its horizon in whole steps of this grid (at least one). */
export function resolveTarget(target: Target, stepSeconds: number): Target {
  if (target.seconds === undefined) return target;
  return { ...target, steps: Math.max(1, Math.round(target.seconds / stepSeconds)) };
}

export interface QuantilePair {
  p50: number;
  p90: number;
  /** the models that give one (the agent exports it): scored by how often it is exceeded */
  p99?: number;
  /**
   * P(actual > x), for the models that give a distribution (the agent's contention probability
   * is read from it, at its limit less 1%): scored by its Brier score against the saturation level
   */
  exceedance?: (x: number) => number;
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
  /**
   * state a model shares with the same model on the other series of its group (a learner pooled
   * across series), keyed by the model's choosing; the group's series are replayed in lock-step,
   * so what one series' model shares was learnt only from the past of every series
   */
  shared: Map<string, unknown>;
  /** what the series measures (cpu_cores, memory_bytes...): models pooled across series may pool by it */
  resource?: string;
}

/** One model on one series, fed online. */
export interface OnlineModel {
  /**
   * The value observed at grid step `index`; indices only grow, skipped ones were not observed.
   * `oomKilled`: the trace recorded an OOM kill in the series' workload since the last observed
   * value (memory series): the models the agent runs start afresh where it would (KillGate);
   * the reference baselines take no notice, as the systems they stand for do not.
   */
  observe(value: number, index: number, oomKilled?: boolean): void;
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
  /** true for the reference baselines of BASELINES.md: the yardstick the engine is compared with */
  readonly reference?: boolean;
  /**
   * true when the model shares state across a group's series (ModelContext.shared): the group's
   * series are then replayed together, in time order, every one's models held at once; otherwise
   * a series at a time
   */
  readonly sharesAcrossSeries?: boolean;
  create(ctx: ModelContext): OnlineModel;
}

/**
 * Plugs any Forecaster in: grid step i is time startSeconds + i * step; both quantiles per
 * horizon. One forecaster per target, each fed every value from the first, so each keeps its
 * own calibration: `make` gets the target (a peak target may get a direct peak forecaster).
 * Each is asked for its horizon after every value, as the agent asks at every tick: a model
 * that learns a horizon only once asked (the engine's heads, a calibration's errors) learns it
 * from the first value, not from the first scored one.
 */
export function forecasterModel(id: string, label: string, make: (ctx: ModelContext, target: Target) => Forecaster, extra: Partial<ModelSpec> = {}): ModelSpec {
  return {
    id,
    label,
    ...extra,
    create(ctx) {
      const stepMs = ctx.stepSeconds * 1000;
      const startMs = ctx.startSeconds * 1000;
      interface Entry { f: Forecaster; fed: number; horizonMs: number; target: Target }
      const perTarget = new Map<string, Entry>();
      // every value seen, so a target first asked late is replayed from the start
      const values: Array<[number, number]> = [];
      const catchUp = (entry: Entry): void => {
        for (; entry.fed < values.length; entry.fed++) {
          entry.f.update(values[entry.fed]![0], startMs + values[entry.fed]![1] * stepMs);
          entry.f.forecast(entry.horizonMs);
        }
      };
      const forTarget = (target: Target): Forecaster => {
        let entry = perTarget.get(target.name);
        if (!entry) perTarget.set(target.name, (entry = { f: make(ctx, target), fed: 0, horizonMs: target.steps * stepMs, target }));
        catchUp(entry);
        return entry.f;
      };
      for (const target of ctx.targets) forTarget(target);
      const kills = new KillGate();
      return {
        observe: (value, index, oomKilled = false) => {
          if (kills.emptied(value, oomKilled)) {
            // started afresh, as the agent starts a pair an OOM kill emptied: its history too
            values.length = 0;
            for (const entry of perTarget.values()) {
              entry.f = make(ctx, entry.target);
              entry.fed = 0;
            }
          }
          values.push([value, index]);
          for (const entry of perTarget.values()) catchUp(entry);
        },
        predict: (target) => quantilePairOf(forTarget(target).forecast(target.steps * stepMs)),
      };
    },
  };
}

/** What the harness reads of a full forecast: p50, p90, the p99 and P(above) the agent exports. */
export function quantilePairOf(fc: Forecast): QuantilePair {
  return { p50: fc.quantile(0.5), p90: fc.quantile(0.9), p99: fc.quantile(0.99), exceedance: (x) => fc.exceedance(x) };
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
  /** share of scored points with actual > p99; NaN for a model that gives no p99 */
  under99: number;
  /**
   * Brier score of P(actual above the level) (ContentionScore's level; a limit's is within 1% of
   * it, as SaturationScore says): mean of (P - outcome)^2, outcome 1 when the actual was above
   * it. NaN for a model that gives no probability
   */
  brier: number;
}

/**
 * What the contention probability is scored against on one series and target: the saturation
 * level (a limit, or the warm-up's highest value) and how often the actual was above it. A
 * forecaster that always said that share scores share x (1 - share): the Brier skill's reference.
 */
export interface ContentionScore {
  level: number;
  levelFrom: SaturationScore['levelFrom'];
  /** share of scored points whose actual was above the level (a limit: within 1% of it or above) */
  above: number;
}

/**
 * Saturation warnings, scored on a peak target (horizon H steps) against a level L per series:
 * - L: the limit given for the resource (`--limit`, or the recorded trace's header or samples),
 *   else the highest value of the warm-up (the question then is "will it go above anything seen
 *   so far");
 * - "above L" for a limit is within 1% of it or above (REACHED_SHARE), as the agent's contention
 *   probability and time to saturation read it: usage cannot pass a CPU quota or a capacity, so a
 *   workload held at its quota crossed nothing, and every warning of it was a false alarm;
 *   above a warm-up's highest value is strictly above;
 * - a warning at origin t: the model's p90 of the peak over (t, t + H] is above L;
 * - a crossing: a scored step c whose value is above L, or at which L was reached unseen (an OOM
 *   kill: Series.reachedSteps), while at the previous observed value neither held (a rise
 *   through L; one after the first scored origin, so a warning could have come);
 * - lead time of a crossing: how long the warnings ran without a break up to c - 1, counted
 *   from the first of them but never more than H steps before c (a warning sees only H ahead);
 *   0 when origin c - 1 did not warn (missed). In seconds;
 * - a false alarm: a warning at an origin whose next H steps (all observed) stay at or below
 *   L, with no kill among them; the false-alarm rate is false alarms / such quiet origins (the share of quiet ticks on
 *   which the model cried wolf: what a steady workload sees).
 */
export interface SaturationScore {
  level: number;
  /** --limit: the option's; limit: the trace's (its header's, its samples', or a public trace's capacity or limit columns); warm-up max: for want of either */
  levelFrom: '--limit' | 'limit' | 'warm-up max';
  crossings: number;
  /** lead time of each crossing, seconds (0: missed) */
  leadsSeconds: number[];
  /** scored origins that warned, and those among them that were false */
  warnings: number;
  falseAlarms: number;
  /** scored origins whose next H steps stay at or below the level */
  quietOrigins: number;
}

export interface TargetScores {
  points: number;
  /** the target's horizon on this series' grid */
  steps: number;
  kind: TargetKind;
  scores: ModelScore[];
  /** peak targets: per model, its saturation warnings */
  saturation?: SaturationScore[];
  /** the level the models' P(actual > level) is scored against (every target, once past the warm-up) */
  contention?: ContentionScore;
  /**
   * nPL90 of the constant that would have scored best in hindsight: the scored actuals' own 90%
   * quantile. No forecaster can know it; a model near it has little left to learn from the
   * series' past, one far above it has (NaN with no scored point)
   */
  hindsightNPL90: number;
}

export interface SeriesResult {
  name: string;
  dataset: Dataset;
  /** what it is tabulated under: the dataset, or `headroom <file>` for a recorded trace */
  group: string;
  /** the file it was read from: its name, or its path under the folder read where two files share that name (absent when not read from a file) */
  source?: string;
  resource: string;
  stepSeconds: number;
  /** observed points before scoring started (the --warmup given, or the one chosen for its grid and length) */
  warmup: number;
  /** mean |y| over every observed step: the normaliser */
  meanAbs: number;
  /** per target name: scored points and one score per model (in the order of the specs) */
  targets: Record<string, TargetScores>;
}

export interface BacktestOptions {
  /** observed points not scored at the start of each series (default: defaultWarmup(its step)) */
  warmup?: number;
  /** saturation level per resource name (overrides the trace's own limit) */
  limits?: Readonly<Record<string, number>>;
}

export const DEFAULT_WARMUP = 288;
/** Warm-up on a trace recorded at the agent's tick: two of its longest horizon (60 s). */
export const AGENT_WARMUP_SECONDS = 120;

/**
 * Observed points not scored at the start of a series: BASELINES.md's 288 (a day of 5-minute
 * steps) on the public traces' grids, two minutes on the agent's finer ones (its recordings last
 * minutes, not days).
 */
export function defaultWarmup(stepSeconds: number): number {
  return stepSeconds >= AGENT_STEP_LIMIT_SECONDS ? DEFAULT_WARMUP : Math.max(1, Math.round(AGENT_WARMUP_SECONDS / stepSeconds));
}

/** A series' warm-up: `given`, else the default for its grid (a short recording at the agent's tick keeps three quarters of itself for scoring). */
export function warmupOf(series: Series, given: number | undefined): number {
  if (given !== undefined) return given;
  const fine = series.stepSeconds < AGENT_STEP_LIMIT_SECONDS;
  // (a quarter of its observed points, as the warm-up counts them: of its grid steps, holes
  // included, it could span every point a sparse series has)
  return fine ? Math.min(defaultWarmup(series.stepSeconds), Math.max(10, Math.floor(observedCount(series.values) / 4))) : defaultWarmup(series.stepSeconds);
}

/** The table a series belongs to: its dataset, each recorded trace file on its own. */
export function groupOf(series: Series): string {
  return series.dataset === 'headroom' && series.source !== undefined ? `headroom ${series.sourceLabel ?? basename(series.source)}` : series.dataset;
}

/** Saturation bookkeeping of one model on one peak target. */
class SaturationTracker {
  readonly score: SaturationScore;
  /** grid index of the first origin of the current unbroken run of warnings, and of its last one */
  private runStart = -1;
  private runEnd = -2;

  constructor(
    level: number, levelFrom: SaturationScore['levelFrom'], private readonly above: (v: number) => boolean,
    private readonly steps: number, private readonly stepSeconds: number,
  ) {
    this.score = { level, levelFrom, crossings: 0, leadsSeconds: [], warnings: 0, falseAlarms: 0, quietOrigins: 0 };
  }

  /** A crossing at grid index c: its lead from the warnings that ran up to c - 1. */
  crossing(c: number): void {
    this.score.crossings++;
    const lead = this.runEnd === c - 1 ? c - Math.max(this.runStart, c - this.steps) : 0;
    this.score.leadsSeconds.push(lead * this.stepSeconds);
  }

  /** The forecast at origin t (every observed one after the warm-up); `actual` NaN when not scored. */
  origin(t: number, p90: number, actual: number): void {
    const warn = this.above(p90);
    if (warn) {
      if (this.runEnd !== t - 1) this.runStart = t;
      this.runEnd = t;
    }
    if (Number.isNaN(actual)) return;
    if (warn) this.score.warnings++;
    if (!this.above(actual)) {
      this.score.quietOrigins++;
      if (warn) this.score.falseAlarms++;
    }
  }
}

/** Replays one series through every model, scoring every target. */
export function backtestSeries(series: Series, specs: readonly ModelSpec[], targetsIn: readonly Target[], opts: BacktestOptions = {}): SeriesResult {
  const replay = replaySeries(series, specs, targetsIn, opts, new Map());
  for (;;) {
    const next = replay.next();
    if (next.done) return next.value;
  }
}

/**
 * The replay of one series, a point at a time: it yields the time (seconds) of the point it is
 * about to feed the models, so several series can be advanced together, oldest point first.
 */
function* replaySeries(
  series: Series, specs: readonly ModelSpec[], targetsIn: readonly Target[], opts: BacktestOptions, shared: Map<string, unknown>,
): Generator<number, SeriesResult, void> {
  const y = series.values;
  const warmup = warmupOf(series, opts.warmup);
  const targets = targetsIn.map((t) => resolveTarget(t, series.stepSeconds));
  const ctx: ModelContext = {
    stepSeconds: series.stepSeconds,
    startSeconds: series.startSeconds,
    warmup,
    dayPoints: Math.max(1, Math.round(86_400 / series.stepSeconds)),
    targets,
    shared,
    resource: series.resource,
  };
  const models = specs.map((s) => s.create(ctx));
  const actuals = targets.map((tg) => targetActuals(y, tg));
  const m = specs.length;
  // per target, per model: sums of pinball losses, under count, slack
  const acc = targets.map(() => ({
    points: 0, pl50: new Float64Array(m), pl90: new Float64Array(m), under: new Float64Array(m), slack: new Float64Array(m),
    with99: new Float64Array(m), under99: new Float64Array(m), withP: new Float64Array(m), brier: new Float64Array(m), above: 0,
    actuals: [] as number[],
  }));
  // saturation: the level, from a limit or from the warm-up's highest value
  const option = opts.limits?.[series.resource];
  const given = option ?? series.limit;
  let warmMax = Number.NEGATIVE_INFINITY;
  let trackers: Array<SaturationTracker[] | undefined> | undefined;
  let level = Number.NaN;
  let levelFrom: SaturationScore['levelFrom'] = 'warm-up max';
  // above the level (see SaturationScore): a limit is reached within 1% of it, a warm-up's
  // highest value only by a value above it
  let threshold = Number.NaN;
  const above = (v: number): boolean => (levelFrom === 'warm-up max' ? v > threshold : v >= threshold);
  const forecasts: QuantilePair[] = new Array(m);
  // the steps at which the level was reached though no value shows it (an OOM kill), and how
  // many of them up to each step: a window holding one is not quiet
  const reachedAt = new Uint8Array(y.length);
  for (const i of series.reachedSteps ?? []) if (i >= 0 && i < y.length) reachedAt[i] = 1;
  const reachedUpTo = new Uint32Array(y.length + 1);
  for (let i = 0; i < y.length; i++) reachedUpTo[i + 1] = reachedUpTo[i]! + reachedAt[i]!;
  const reachedIn = (from: number, to: number): boolean => reachedUpTo[Math.min(to, y.length)]! > reachedUpTo[Math.min(from, y.length)]!;
  let previousReached = false;
  // a kill at a step with no value is told with the next value
  let killUntold = false;
  let firstScored = -1;
  let observed = 0;
  let sumAbs = 0;
  for (let t = 0; t < y.length; t++) {
    const v = y[t]!;
    killUntold ||= reachedAt[t] === 1;
    if (Number.isNaN(v)) continue;
    yield series.startSeconds + t * series.stepSeconds;
    sumAbs += Math.abs(v);
    for (const model of models) model.observe(v, t, killUntold);
    killUntold = false;
    if (++observed <= warmup) {
      warmMax = Math.max(warmMax, v);
      continue;
    }
    if (trackers === undefined) {
      level = given ?? warmMax;
      levelFrom = option !== undefined ? '--limit' : given !== undefined ? 'limit' : 'warm-up max';
      threshold = levelFrom === 'warm-up max' ? level : level * REACHED_SHARE;
      trackers = targets.map((tg) => (tg.kind === 'peak' ? specs.map(() => new SaturationTracker(level, levelFrom, above, tg.steps, series.stepSeconds)) : undefined));
      firstScored = t;
    }
    for (let j = 0; j < targets.length; j++) {
      const actual = actuals[j]![t]!;
      const sat = trackers[j];
      // each model asked once per origin and target (a forecast is built for it: the saturation
      // warnings and the scores read the same one)
      for (let i = 0; i < m; i++) forecasts[i] = models[i]!.predict(targets[j]!);
      if (sat) {
        // a rise through the level at t (or a kill at it), judged on the warnings made up to t - 1
        const reached = above(v) || reachedAt[t] === 1;
        if (t > firstScored && reached && !previousReached) for (const tr of sat) tr.crossing(t);
        // (a window (t, t + h] with a kill in it reached the level, whatever its values read)
        const satActual = reachedIn(t + 1, t + targets[j]!.steps + 1) ? Number.POSITIVE_INFINITY : actual;
        for (let i = 0; i < m; i++) sat[i]!.origin(t, forecasts[i]!.p90, Number.isNaN(actual) ? actual : satActual);
      }
      if (Number.isNaN(actual)) continue; // the harness knows; the models are not told
      const a = acc[j]!;
      a.points++;
      a.actuals.push(actual);
      const isAbove = above(actual) ? 1 : 0;
      a.above += isAbove;
      for (let i = 0; i < m; i++) {
        const f = forecasts[i]!;
        if (f.exceedance) {
          a.withP[i]!++;
          a.brier[i]! += (f.exceedance(threshold) - isAbove) ** 2;
        }
        a.pl50[i]! += pinball(actual, f.p50, 0.5);
        a.pl90[i]! += pinball(actual, f.p90, 0.9);
        if (actual > f.p90) a.under[i]!++;
        else a.slack[i]! += f.p90 - actual;
        if (f.p99 !== undefined) {
          a.with99[i]!++;
          if (actual > f.p99) a.under99[i]!++;
        }
      }
    }
    if (trackers !== undefined) previousReached = above(v) || reachedAt[t] === 1;
  }
  const meanAbs = observed > 0 ? sumAbs / observed : Number.NaN;
  const result: SeriesResult = {
    name: series.name, dataset: series.dataset, group: groupOf(series), ...(series.sourceLabel !== undefined ? { source: series.sourceLabel } : {}),
    resource: series.resource, stepSeconds: series.stepSeconds, warmup, meanAbs, targets: {},
  };
  targets.forEach((tg, j) => {
    const a = acc[j]!;
    const n = a.points;
    const scores: ModelScore[] = specs.map((_, i) => ({
      nPL50: a.pl50[i]! / n / meanAbs,
      nPL90: a.pl90[i]! / n / meanAbs,
      under90: a.under[i]! / n,
      nSlack90: a.slack[i]! / n / meanAbs,
      under99: a.with99[i]! > 0 ? a.under99[i]! / a.with99[i]! : Number.NaN,
      brier: a.withP[i]! > 0 ? a.brier[i]! / a.withP[i]! : Number.NaN,
    }));
    const saturation = trackers?.[j]?.map((tr) => tr.score);
    const contention: ContentionScore | undefined = n > 0 ? { level, levelFrom, above: a.above / n } : undefined;
    const hindsightNPL90 = hindsightLoss(a.actuals) / meanAbs;
    result.targets[tg.name] = { points: n, steps: tg.steps, kind: tg.kind, scores, ...(saturation ? { saturation } : {}), ...(contention ? { contention } : {}), hindsightNPL90 };
  });
  return result;
}

/**
 * Mean p90 pinball loss of the best constant in hindsight: the values' own 90% quantile, the
 * order statistic at rank ceil(0.9 n) (an interpolated one can lose a little); NaN for none.
 */
export function hindsightLoss(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const q = sorted[Math.max(0, Math.ceil(0.9 * sorted.length) - 1)]!;
  let sum = 0;
  for (const v of values) sum += pinball(v, q, 0.9);
  return sum / values.length;
}

export interface TableRow {
  id: string;
  label: string;
  nPL50: number;
  nPL90: number;
  under90: number;
  nSlack90: number;
  /** mean over the series of their under99 (NaN: the model gives no p99) */
  under99: number;
  /** Brier score of P(actual > level) over the table's points, pooled as its skill is (NaN: the model gives no probability) */
  brier: number;
  /**
   * 1 - its Brier over the reference's, pooled over the table's points: the reference says each
   * series' own share above the level every time (hindsight). Above 0: the probability tells
   * more than the share does; NaN when no actual was ever above the level, or none below
   */
  brierSkill: number;
  /** series on which this model has the lowest nPL90 of those run (ties: the earlier model) */
  best: number;
  /** peak targets: this model's saturation warnings over the table's series (see SaturationScore) */
  saturation?: SaturationSummary;
}

export interface SaturationSummary {
  /** the series pooled: those whose level is a limit (the trace's, or --limit), not their warm-up's highest value */
  series: number;
  crossings: number;
  /** crossings warned at least MIN_LEAD_SECONDS ahead */
  warnedInTime: number;
  /** median lead over every crossing, seconds (NaN: none) */
  medianLeadSeconds: number;
  falseAlarms: number;
  quietOrigins: number;
}

/** Saturation scores of one model summed over series: crossings, leads pooled. */
function summarizeSaturation(scores: readonly SaturationScore[]): SaturationSummary {
  const leads = scores.flatMap((x) => x.leadsSeconds).sort((a, b) => a - b);
  let falseAlarms = 0;
  let quietOrigins = 0;
  for (const x of scores) {
    falseAlarms += x.falseAlarms;
    quietOrigins += x.quietOrigins;
  }
  return {
    series: scores.length,
    crossings: leads.length,
    warnedInTime: leads.filter((l) => l >= MIN_LEAD_SECONDS).length,
    medianLeadSeconds: leads.length > 0 ? leads[(leads.length - 1) >> 1]! : Number.NaN,
    falseAlarms,
    quietOrigins,
  };
}

export interface DatasetTable {
  dataset: Dataset;
  /** the dataset, or `headroom <file>` for a recorded trace */
  group: string;
  /** in a table per resource (BacktestReport.resourceTables): the resource */
  resource?: string;
  target: Target;
  /** the grid step of the group's series; NaN when they differ */
  stepSeconds: number;
  /** series that had scored points and a non-zero mean (the others cannot be normalised) */
  series: number;
  points: number;
  rows: TableRow[];
  /** id of the reference baseline (or, with none run, the non-combining model) with the lowest mean nPL90 */
  bestSingle?: string;
  /**
   * Half-width of the range (95%) in which a p90 calibrated at exactly 10% would read its mean
   * under-prediction rate on these series by chance alone. Forecasts of a target h steps ahead
   * overlap (a burst is missed by up to h of them), so each series counts as points / h
   * independent trials: a short recording scored over 60 s windows is a handful of trials.
   */
  underNoise: number;
  /** mean over the series of their hindsight constant's nPL90 (TargetScores.hindsightNPL90) */
  hindsightNPL90: number;
}

/**
 * Means over each group's series (a dataset, or one recorded trace), per target, as BASELINES.md
 * tabulates them; `byResource`: over each group's series of one resource.
 */
export function summarize(results: readonly SeriesResult[], specs: readonly ModelSpec[], targetsIn: readonly Target[], byResource = false): DatasetTable[] {
  const keyOf = (r: SeriesResult): string => (byResource ? `${r.group ?? r.dataset}\u0000${r.resource}` : r.group ?? r.dataset);
  const keys = [...new Set(results.map(keyOf))];
  const tables: DatasetTable[] = [];
  const yardstick = specs.some((s) => s.reference) ? (s: ModelSpec) => s.reference === true : (s: ModelSpec) => !s.combines;
  for (const key of keys) {
    const members = results.filter((r) => keyOf(r) === key);
    const group = members[0]!.group ?? members[0]!.dataset;
    const resource = byResource ? members[0]!.resource : undefined;
    const steps = new Set(members.map((r) => r.stepSeconds));
    const stepSeconds = steps.size === 1 ? members[0]!.stepSeconds : Number.NaN;
    // the targets these series were scored at (by name, in the order given)
    for (const target of targetsIn) {
      const usable = members
        .map((r) => r.targets[target.name])
        .filter((x): x is TargetScores => x !== undefined && x.points > 0 && x.scores.every((s) => Number.isFinite(s.nPL90)));
      if (!members.some((r) => r.targets[target.name] !== undefined)) continue;
      const rows: TableRow[] = specs.map((s) => ({ id: s.id, label: s.label, nPL50: 0, nPL90: 0, under90: 0, nSlack90: 0, under99: 0, brier: 0, brierSkill: 0, best: 0 }));
      let points = 0;
      let hindsightNPL90 = 0;
      // the Brier skill's reference, pooled: sum over series of points x share x (1 - share)
      let reference = 0;
      for (const r of usable) {
        points += r.points;
        hindsightNPL90 += r.hindsightNPL90 / usable.length;
        const above = r.contention?.above ?? Number.NaN;
        reference += r.points * above * (1 - above);
        let best = 0;
        r.scores.forEach((s, i) => {
          const row = rows[i]!;
          row.nPL50 += s.nPL50 / usable.length;
          row.nPL90 += s.nPL90 / usable.length;
          row.under90 += s.under90 / usable.length;
          row.nSlack90 += s.nSlack90 / usable.length;
          row.under99 += s.under99 / usable.length;
          row.brier += s.brier * r.points;
          if (s.nPL90 < r.scores[best]!.nPL90) best = i;
        });
        rows[best]!.best++;
      }
      for (const row of rows) {
        row.brier = points > 0 ? row.brier / points : Number.NaN;
        row.brierSkill = reference > 0 ? 1 - (row.brier * points) / reference : Number.NaN;
      }
      if (target.kind === 'peak') {
        // (pooled over the series with a limit only: a level read off a series' warm-up is one
        // nobody set, which a steady series passes often; mixed in, a recording's real memory
        // limit was drowned by its CPU and run-queue series' "false alarms": a walkthrough)
        rows.forEach((row, i) => {
          const scores = usable.map((r) => r.saturation?.[i]).filter((x): x is SaturationScore => x !== undefined && x.levelFrom !== 'warm-up max');
          if (scores.length > 0) row.saturation = summarizeSaturation(scores);
        });
      }
      let bestSingle: string | undefined;
      let bestLoss = Number.POSITIVE_INFINITY;
      specs.forEach((s, i) => {
        if (yardstick(s) && usable.length > 0 && rows[i]!.nPL90 < bestLoss) {
          bestLoss = rows[i]!.nPL90;
          bestSingle = s.id;
        }
      });
      const resolved = resolveTarget(target, Number.isNaN(stepSeconds) ? 1 : stepSeconds);
      // variance of a mean of per-series rates, each over points / steps trials of p = 0.1
      let inverseTrials = 0;
      // (each series' own steps: a table may mix grids, where a target in seconds is a different number of steps on each)
      for (const r of usable) inverseTrials += 1 / Math.max(1, r.points / r.steps);
      const underNoise = usable.length > 0 ? (1.96 * Math.sqrt(0.1 * 0.9 * inverseTrials)) / usable.length : Number.NaN;
      tables.push({ dataset: members[0]!.dataset, group, ...(resource !== undefined ? { resource } : {}), target: resolved, stepSeconds, series: usable.length, points, rows, bestSingle, underNoise, hindsightNPL90: usable.length > 0 ? hindsightNPL90 : Number.NaN });
    }
  }
  return tables;
}

export interface BacktestReport {
  series: SeriesResult[];
  /** per group (dataset or recorded trace) and target: what the bars are judged on */
  tables: DatasetTable[];
  /** the same per resource of each group */
  resourceTables: DatasetTable[];
  /** wall time of the replay, ms */
  elapsedMs: number;
}

/** One series' replay in a lock-step group: its next point (or its result, once done). */
interface Replay {
  k: number;
  order: number;
  replay: Generator<number, SeriesResult, void>;
  next: IteratorResult<number, SeriesResult>;
}

/** A binary heap of replays by the time of their next point; a finished replay comes out first. */
class ReplayQueue {
  private readonly items: Replay[] = [];

  push(r: Replay): void {
    const a = this.items;
    a.push(r);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!ReplayQueue.before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): Replay | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && ReplayQueue.before(a[l]!, a[m]!)) m = l;
        if (r < a.length && ReplayQueue.before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }

  private static before(x: Replay, y: Replay): boolean {
    const tx = x.next.done ? Number.NEGATIVE_INFINITY : x.next.value;
    const ty = y.next.done ? Number.NEGATIVE_INFINITY : y.next.value;
    return tx < ty || (tx === ty && x.order < y.order);
  }
}

export interface BacktestProgress {
  /** observed points replayed, of all series */
  points: number;
  totalPoints: number;
  /** series finished */
  seriesDone: number;
  seriesTotal: number;
  /** the series replayed last */
  last: Series;
}

/**
 * Replays every series; `onProgress` is called every 1% of the points and as each series ends
 * (for a progress line). Targets 'auto': each series at defaultTargets(its step).
 */
export function runBacktest(
  series: readonly Series[],
  specs: readonly ModelSpec[],
  targets: readonly Target[] | 'auto',
  opts: BacktestOptions & { onProgress?: (p: BacktestProgress) => void } = {},
): BacktestReport {
  const start = performance.now();
  const results: SeriesResult[] = new Array(series.length);
  const used = new Map<string, Target>();
  let done = 0;
  // progress by observed points (the series of a group advance together), every 1% and at each series' end
  let totalPoints = 0;
  for (const s of series) for (const v of s.values) if (!Number.isNaN(v)) totalPoints++;
  let points = 0;
  let reported = 0;
  const report = (last: Series): void =>
    opts.onProgress?.({ points, totalPoints, seriesDone: done, seriesTotal: series.length, last });
  // with a model that learns across series (ModelContext.shared), each group (a dataset, a
  // recorded trace) in lock-step: its series advance together in time, so that model sees only
  // what had happened; otherwise a series at a time (memory for one series' models)
  const lockStep = specs.some((s) => s.sharesAcrossSeries === true);
  const groups = new Map<string, number[]>();
  series.forEach((s, k) => {
    const g = lockStep ? groupOf(s) : String(k);
    const members = groups.get(g);
    if (members) members.push(k);
    else groups.set(g, [k]);
  });
  for (const members of groups.values()) {
    const shared = new Map<string, unknown>();
    // the group's replays by the time of their next point, oldest first (ties: the earlier series)
    const queue = new ReplayQueue();
    members.forEach((k, order) => {
      const s = series[k]!;
      const tg = targetsFor(targets, s.stepSeconds);
      for (const t of tg) if (!used.has(t.name)) used.set(t.name, t);
      const replay = replaySeries(s, specs, tg, opts, shared);
      queue.push({ k, order, replay, next: replay.next() });
    });
    for (let r = queue.pop(); r; r = queue.pop()) {
      if (r.next.done) {
        results[r.k] = r.next.value;
        done++;
        report(series[r.k]!);
        continue;
      }
      r.next = r.replay.next();
      queue.push(r);
      if (++points - reported >= totalPoints / 100) {
        reported = points;
        report(series[r.k]!);
      }
    }
  }
  const scored = [...used.values()];
  return { series: results, tables: summarize(results, specs, scored), resourceTables: summarize(results, specs, scored, true), elapsedMs: performance.now() - start };
}

// ---- the engine against the yardstick ----

/** Issue 6's bar: the selected forecast's p90 loss this far below the best reference baseline's... */
export const TARGET_RATIO = 0.8;
/** ...with the share of actuals above its p90 in this band. */
export const UNDER_BAND: readonly [number, number] = [0.07, 0.13];
/** Saturation: a warning at least this long before the crossing... */
export const MIN_LEAD_SECONDS = 5;
/** ...and at most this share of quiet origins warned. */
export const MAX_FALSE_ALARM_RATE = 0.05;

export interface TargetRow {
  group: string;
  target: Target;
  stepSeconds: number;
  series: number;
  points: number;
  /** the best reference baseline on this group and target, and its mean nPL90 */
  bestId: string;
  bestLabel: string;
  bestNPL90: number;
  /** the model judged, its mean nPL90, ratio to the best, and mean under-prediction rate at p90 */
  nPL90: number;
  ratio: number;
  under90: number;
  lossMet: boolean;
  underMet: boolean;
  /** where a p90 calibrated at exactly 10% would read its under-rate on these series by chance (95%; see DatasetTable.underNoise) */
  calibratedRange: [number, number];
  /** the constant chosen in hindsight (DatasetTable.hindsightNPL90): what is left once the past is used */
  hindsightNPL90: number;
}

/** One row per group and target: the model `id` against the best reference baseline. */
export function targetTable(report: BacktestReport, id: string): TargetRow[] {
  const rows: TargetRow[] = [];
  for (const t of report.tables) {
    const ours = t.rows.find((r) => r.id === id);
    const best = t.rows.find((r) => r.id === t.bestSingle);
    if (!ours || !best || t.series === 0) continue;
    const ratio = ours.nPL90 / best.nPL90;
    rows.push({
      group: t.group, target: t.target, stepSeconds: t.stepSeconds, series: t.series, points: t.points,
      bestId: best.id, bestLabel: best.label, bestNPL90: best.nPL90, nPL90: ours.nPL90, ratio, under90: ours.under90,
      // (a forecast with no loss at all, a constant series': no loss is left to cut, and a p90
      // on every actual is passed by none, where an under-rate means nothing: met, not missed)
      lossMet: ratio <= TARGET_RATIO || ours.nPL90 === 0,
      underMet: (ours.under90 >= UNDER_BAND[0] && ours.under90 <= UNDER_BAND[1]) || ours.nPL90 === 0,
      calibratedRange: [Math.max(0, 0.1 - t.underNoise), Math.min(1, 0.1 + t.underNoise)],
      hindsightNPL90: t.hindsightNPL90,
    });
  }
  return rows;
}

export interface SaturationRow {
  group: string;
  name: string;
  /** the series' file (SeriesResult.source) */
  source?: string;
  resource: string;
  target: string;
  stepSeconds: number;
  /** the target's scored points for the series: 0 where the series is too short for the target's loss, yet saw a crossing */
  points: number;
  score: SaturationScore;
  /** crossings warned at least MIN_LEAD_SECONDS ahead */
  warnedInTime: number;
  medianLeadSeconds: number;
  falseAlarmRate: number;
}

/**
 * The peak targets saturationTable leaves out, and of how many series: no point scored (too short
 * after the warm-up, the warm-up itself, or a hole in every window) and no crossing seen.
 */
export function saturationLeftOut(report: BacktestReport, specs: readonly ModelSpec[], id: string): { targets: number; series: number } {
  const i = specs.findIndex((s) => s.id === id);
  if (i < 0) return { targets: 0, series: 0 };
  let targets = 0;
  let series = 0;
  for (const r of report.series) {
    // (a series whose every point fell in its warm-up has no saturation scores at all)
    const left = Object.values(r.targets).filter((t) => t.kind === 'peak' && t.points === 0 && (t.saturation?.[i]?.crossings ?? 0) === 0).length;
    targets += left;
    if (left > 0) series++;
  }
  return { targets, series };
}

/** Per series (resource) and peak target: the saturation warnings of model `id` (where it scored points or saw a crossing). */
export function saturationTable(report: BacktestReport, specs: readonly ModelSpec[], id: string): SaturationRow[] {
  const i = specs.findIndex((s) => s.id === id);
  if (i < 0) return [];
  const rows: SaturationRow[] = [];
  for (const r of report.series) {
    for (const [name, t] of Object.entries(r.targets)) {
      const score = t.saturation?.[i];
      // (a target too long for the series, nothing scored and no crossing: nothing to say)
      if (!score || (t.points === 0 && score.crossings === 0)) continue;
      const { warnedInTime, medianLeadSeconds } = summarizeSaturation([score]);
      rows.push({
        group: r.group, name: r.name, ...(r.source !== undefined ? { source: r.source } : {}), resource: r.resource, target: name, stepSeconds: r.stepSeconds, points: t.points, score, warnedInTime, medianLeadSeconds,
        falseAlarmRate: score.quietOrigins > 0 ? score.falseAlarms / score.quietOrigins : Number.NaN,
      });
    }
  }
  return rows;
}
