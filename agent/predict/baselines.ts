// The reference baselines of ../shared/traces/BASELINES.md, as online models for the backtest:
// the yardstick the forecasting engine must beat. Each follows the reference method to the
// letter (window lengths, EWMA weights, VPA buckets, quantile interpolation), so the harness
// lands on the reference figures; "a day" is 288 steps at 300 s (ctx.dayPoints in general).
import { createForecaster, type ForecastModel } from './forecaster.js';
import { AGENT_STEP_LIMIT_SECONDS, forecasterModel, pinball, quantilePairOf, type ModelContext, type ModelSpec, type OnlineModel, type QuantilePair, type Target } from './backtest.js';
import { LearnerPool } from './models/learner-pool.js';
import { ForecastEngine, type EngineOptions } from './models/engine.js';
import { quantileSorted, VpaHistogram, vpaFirstBucket, WarmVpa } from './models/vpa-histogram.js';
import { KillGate } from './kill-gate.js';

export { quantileSorted, VpaHistogram, vpaFirstBucket };

// ---- small online helpers ----

/** The last `size` values pushed, kept in arrival order and in sorted order. */
export class SortedWindow {
  private readonly fifo: number[] = [];
  private head = 0;
  readonly sorted: number[] = [];

  constructor(private readonly size: number) {}

  push(v: number): void {
    if (this.fifo.length - this.head === this.size) this.sorted.splice(this.lowerBound(this.fifo[this.head++]!), 1);
    if (this.head > 4096) {
      this.fifo.splice(0, this.head); // keep the queue compact
      this.head = 0;
    }
    this.fifo.push(v);
    this.sorted.splice(this.lowerBound(v), 0, v);
  }

  quantile(q: number): number {
    return quantileSorted(this.sorted, q);
  }

  private lowerBound(v: number): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The last `capacity` grid steps by index, NaN for steps not observed. */
export class GridHistory {
  private readonly ring: Float64Array;
  /** newest index stored, -1 before the first */
  last = -1;

  constructor(private readonly capacity: number) {
    this.ring = new Float64Array(capacity).fill(Number.NaN);
  }

  set(index: number, value: number): void {
    // steps skipped since the last one were not observed
    for (let i = Math.max(this.last + 1, index - this.capacity + 1); i < index; i++) this.ring[i % this.capacity] = Number.NaN;
    this.ring[index % this.capacity] = value;
    this.last = index;
  }

  /** Value at `index`, NaN when unobserved, in the future or forgotten. */
  get(index: number): number {
    if (index < 0 || index > this.last || index <= this.last - this.capacity) return Number.NaN;
    return this.ring[index % this.capacity]!;
  }
}

/** Sum of the last `size` numbers pushed. Re-added from scratch now and then to shed rounding. */
class WindowSum {
  private readonly ring: Float64Array;
  private n = 0;
  private pushes = 0;
  sum = 0;

  constructor(private readonly size: number) {
    this.ring = new Float64Array(size);
  }

  push(x: number): void {
    const slot = this.pushes % this.size;
    this.sum += x - (this.n === this.size ? this.ring[slot]! : 0);
    this.ring[slot] = x;
    this.n = Math.min(this.size, this.n + 1);
    if (++this.pushes % this.size === 0) {
      this.sum = 0;
      for (let i = 0; i < this.n; i++) this.sum += this.ring[i]!;
    }
  }
}

/** A model whose one (p50, p90) serves every target (models 1-5). */
function sameForEveryTarget(observe: (value: number, index: number) => void, current: () => QuantilePair): OnlineModel {
  let cached: QuantilePair | undefined;
  return {
    observe(value, index) {
      observe(value, index);
      cached = undefined;
    },
    predict: () => (cached ??= current()),
  };
}

// ---- models 1-5 ----

/** 1: the last value, as both p50 and p90. */
function lastValue(): OnlineModel {
  let last = 0;
  return sameForEveryTarget((v) => (last = v), () => ({ p50: last, p90: last }));
}

/** 2: median (p50) and max (p90) of the last 12 observed points. */
function window12(): OnlineModel {
  const w = new SortedWindow(12);
  return sameForEveryTarget((v) => w.push(v), () => ({ p50: w.quantile(0.5), p90: w.sorted[w.sorted.length - 1]! }));
}

/**
 * 3: EWMA with alpha 0.3 started at the first value; p90 = mean + 1.2816 sd, the sd from the
 * biased exponentially weighted variance with the same weights (West's recurrence).
 */
function ewma(alpha = 0.3): OnlineModel {
  let mean = Number.NaN;
  let variance = 0;
  return sameForEveryTarget(
    (v) => {
      if (Number.isNaN(mean)) {
        mean = v;
        return;
      }
      const d = v - mean;
      mean += alpha * d;
      variance = (1 - alpha) * (variance + alpha * d * d);
    },
    () => ({ p50: mean, p90: mean + 1.2816 * Math.sqrt(variance) }),
  );
}

/**
 * 4: a VPA histogram with a one-day half-life whose first bucket is scaled to the warm-up
 * points; built once the warm-up is complete. Asked earlier (the selector scores its candidates
 * from the first origin), it answers from a provisional histogram of the points so far.
 */
function vpaModel(ctx: ModelContext): OnlineModel {
  let warm: WarmVpa | undefined = new WarmVpa(ctx.dayPoints, ctx.warmup);
  let hist: VpaHistogram | undefined;
  return sameForEveryTarget(
    (v) => {
      if (hist) return hist.add(v);
      warm!.add(v);
      if (warm!.size >= ctx.warmup) {
        hist = warm!.build();
        warm = undefined;
      }
    },
    () => {
      const h = hist ?? warm!;
      return { p50: h.percentile(0.5), p90: h.percentile(0.9) };
    },
  );
}

/** 5: empirical quantiles of the last day of observed points. */
function empiricalDay(ctx: ModelContext): OnlineModel {
  const w = new SortedWindow(ctx.dayPoints);
  return sameForEveryTarget((v) => w.push(v), () => ({ p50: w.quantile(0.5), p90: w.quantile(0.9) }));
}

// ---- model 6 ----

const SEASON_DAYS = 7;

/**
 * 6: quantiles of what the target was at the same time of day 1..7 days back (for a peak
 * target, of that window's max over its observed steps); the last value when none is known.
 */
function seasonal(ctx: ModelContext): OnlineModel {
  const day = ctx.dayPoints;
  const history = new GridHistory(SEASON_DAYS * day + 1);
  const past: number[] = [];
  return {
    observe: (v, i) => history.set(i, v),
    predict(target: Target): QuantilePair {
      const t = history.last;
      past.length = 0;
      for (let d = 1; d <= SEASON_DAYS; d++) {
        const end = t + target.steps - d * day;
        if (end > t) continue; // a horizon of a day or more: that day is still ahead
        let v = Number.NaN;
        if (target.kind === 'point') v = history.get(end);
        else {
          for (let j = end - target.steps + 1; j <= end; j++) {
            const x = history.get(j);
            if (!Number.isNaN(x) && (Number.isNaN(v) || x > v)) v = x; // max over the observed steps
          }
        }
        if (!Number.isNaN(v)) past.push(v);
      }
      if (past.length === 0) {
        const last = history.get(t);
        return { p50: last, p90: last };
      }
      past.sort((a, b) => a - b);
      return { p50: quantileSorted(past, 0.5), p90: quantileSorted(past, 0.9) };
    },
  };
}

// ---- model 7 ----

/**
 * 7: per origin and target, the candidate with the lowest summed p90 pinball loss over its last
 * day of forecasts already resolved (ties: the earlier candidate). It owns its candidates and
 * scores them itself as values arrive, from the first origin on (the warm-up's forecasts
 * count too, as in the reference), so it runs online exactly as it would in the agent.
 */
export function selector(ctx: ModelContext, candidates: readonly ModelSpec[]): OnlineModel {
  const models = candidates.map((c) => c.create(ctx));
  // (its history of values spans the longest horizon it is told of: a peak reads all of it)
  const longest = Math.max(1, ...ctx.targets.map((t) => t.steps));
  const history = new GridHistory(longest + 1);
  interface TargetState {
    target: Target;
    /** forecasts made and not yet resolved, oldest first: their origin and each candidate's p90 */
    pending: Array<{ origin: number; p90: number[] }>;
    losses: WindowSum[];
    /** each candidate's forecast at the latest origin */
    latest: QuantilePair[];
  }
  const perTarget = new Map<string, TargetState>(); // by target name

  const actualFor = (target: Target, origin: number): number => {
    if (target.kind === 'point') return history.get(origin + target.steps);
    let peak = Number.NEGATIVE_INFINITY;
    for (let j = origin + 1; j <= origin + target.steps; j++) {
      const v = history.get(j);
      if (Number.isNaN(v)) return Number.NaN;
      if (v > peak) peak = v;
    }
    return peak;
  };

  /** Resolves what the new value settles, then records every candidate's forecast from here. */
  const step = (state: TargetState, index: number): void => {
    const { target } = state;
    let k = 0;
    for (; k < state.pending.length && state.pending[k]!.origin + target.steps <= index; k++) {
      const { origin, p90 } = state.pending[k]!;
      const actual = actualFor(target, origin);
      if (Number.isNaN(actual)) continue; // never observed: never resolved
      p90.forEach((f, i) => state.losses[i]!.push(pinball(actual, f, 0.9)));
    }
    if (k > 0) state.pending.splice(0, k);
    state.latest = models.map((m) => m.predict(target));
    state.pending.push({ origin: index, p90: state.latest.map((f) => f.p90) });
  };

  const track = (target: Target): TargetState => {
    // (the replay tracks only ctx.targets; a longer one asked for late would need a longer history)
    if (target.steps > longest) throw new RangeError(`selector: a horizon of ${target.steps} steps is above the ${longest} of the targets it was made for`);
    const state: TargetState = { target, pending: [], losses: models.map(() => new WindowSum(ctx.dayPoints)), latest: [] };
    perTarget.set(target.name, state);
    if (history.last >= 0) step(state, history.last); // a target asked for late starts now
    return state;
  };
  for (const target of ctx.targets) track(target);

  return {
    observe(value, index) {
      history.set(index, value);
      for (const m of models) m.observe(value, index);
      for (const state of perTarget.values()) step(state, index);
    },
    predict(target) {
      const state = perTarget.get(target.name) ?? track(target);
      let pick = 0;
      state.losses.forEach((l, i) => {
        if (l.sum < state.losses[pick]!.sum) pick = i;
      });
      return state.latest[pick] ?? { p50: Number.NaN, p90: Number.NaN };
    },
  };
}

// ---- the catalogue ----

const single = (id: string, label: string, create: (ctx: ModelContext) => OnlineModel): ModelSpec => ({ id, label, reference: true, create });

/** Models 1-6 of BASELINES.md, in its order. */
export const SINGLE_BASELINES: readonly ModelSpec[] = [
  single('last', '1 last', lastValue),
  single('win12', '2 win12 max/med', window12),
  single('ewma', '3 EWMA+1.28sd', () => ewma()),
  single('vpa', '4 VPA hist', vpaModel),
  single('emp1d', '5 emp 1d', empiricalDay),
  single('seasonal7d', '6 seasonal 7d', seasonal),
];

/** Model 7: the selector over models 1-6. */
export const SELECTOR: ModelSpec = {
  id: 'selector',
  label: '7 selector',
  combines: true,
  create: (ctx) => selector(ctx, SINGLE_BASELINES),
};

/** The seven reference models. */
export const BASELINES: readonly ModelSpec[] = [...SINGLE_BASELINES, SELECTOR];

/** The learner pool model `id`'s engines share across a group's series of one resource (as an agent's engines of one resource do). */
function sharedPool(ctx: ModelContext, id: string): LearnerPool {
  const key = `${id}:pool:${ctx.resource ?? ''}`;
  let pool = ctx.shared.get(key) as LearnerPool | undefined;
  if (!pool) ctx.shared.set(key, (pool = new LearnerPool()));
  return pool;
}

/**
 * The forecasting engine (models/engine.ts), one per series, asked for each target: the value
 * h steps ahead from its point heads, the peak over the next h from its peak heads. Every
 * target is tracked from the first value (the warm-up teaches it too). Its own half-life for
 * confidence and the seasonal profile: a day of the series' grid. Unless `pooled` is false, the
 * engines of a group's series that measure the same resource share a learner pool (the
 * 'pooled' candidate), as the agent's engines of one host do; the group is replayed in
 * lock-step, so the pool learns only from what every series had seen by then.
 */
export function engineSpec(opts: Omit<EngineOptions, 'halfLifeMs' | 'stepMs' | 'learnerPool'> & { pooled?: boolean } = {}, id = 'engine', label = '8 engine (selected)'): ModelSpec {
  const { pooled = true, ...engineOpts } = opts;
  return {
    id,
    label,
    combines: true,
    sharesAcrossSeries: pooled,
    create(ctx) {
      const stepMs = ctx.stepSeconds * 1000;
      const startMs = ctx.startSeconds * 1000;
      const learnerPool = pooled ? sharedPool(ctx, id) : undefined;
      const fresh = (): ForecastEngine => {
        const e = new ForecastEngine({ halfLifeMs: ctx.dayPoints * stepMs, stepMs, ...engineOpts, learnerPool });
        for (const t of ctx.targets) e.track(t.kind, t.steps * stepMs);
        return e;
      };
      let engine = fresh();
      // an OOM kill that emptied the workload: a fresh engine, as the agent's (the pool stays)
      const kills = new KillGate();
      return {
        observe: (value, index, oomKilled = false) => {
          if (kills.emptied(value, oomKilled)) engine = fresh();
          engine.update(value, startMs + index * stepMs);
        },
        predict: (target) => quantilePairOf(target.kind === 'peak' ? engine.peak(target.steps * stepMs) : engine.point(target.steps * stepMs)),
      };
    },
  };
}

export const ENGINE: ModelSpec = engineSpec();

/** What `headroom predict` runs by default: the seven reference models and the engine. */
export const DEFAULT_MODELS: readonly ModelSpec[] = [...BASELINES, ENGINE];

/** The policy's default `forecast.demand_half_life` (agent/plan/policy.ts; a test holds them equal). */
export const AGENT_DEMAND_HALF_LIFE_SECONDS = 60;

/**
 * The half-life a `forecaster:<model>` gets unless given: on the agent's grid (a recording) the
 * agent's own, as it builds its demand forecasters; on a coarser one (the public traces' 5
 * minutes, where 60 s is under a step) a day of the series.
 */
export function defaultHalfLifeSeconds(ctx: Pick<ModelContext, 'stepSeconds' | 'dayPoints'>): number {
  return ctx.stepSeconds < AGENT_STEP_LIMIT_SECONDS ? AGENT_DEMAND_HALF_LIFE_SECONDS : ctx.dayPoints * ctx.stepSeconds;
}

/**
 * Models by name: the baselines' ids and 'engine', plus `forecaster:<model>` for any model createForecaster
 * knows (half-life: defaultHalfLifeSeconds unless given). Throws a RangeError on an unknown name.
 */
export function modelsByName(names: readonly string[], opts: { halfLifeSeconds?: number } = {}): ModelSpec[] {
  return names.map((name) => {
    const found = DEFAULT_MODELS.find((b) => b.id === name);
    if (found) return found;
    if (name.startsWith('forecaster:')) {
      const model = name.slice('forecaster:'.length) as ForecastModel;
      // fail now, not in the middle of a replay
      createForecaster(model, { halfLifeMs: 1000 });
      // as the agent makes it (agent/predict/demand.ts): the grid's step, and for the engine a
      // learner pool per resource, shared by every series (replayed in lock-step)
      const pooled = model === 'engine' || model === 'engine-peak';
      return forecasterModel(name, name, (ctx) => {
        const learnerPool = pooled ? sharedPool(ctx, name) : undefined;
        const halfLifeMs = (opts.halfLifeSeconds ?? defaultHalfLifeSeconds(ctx)) * 1000;
        return createForecaster(model, { halfLifeMs, stepMs: ctx.stepSeconds * 1000, learnerPool });
      // (a combination is never "the best single" model)
      }, { sharesAcrossSeries: pooled, combines: model === 'selector' || pooled });
    }
    // (a forecaster's name without its prefix, e.g. calibrated:holt: said how it is asked for)
    let hint = '';
    try {
      createForecaster(name as ForecastModel, { halfLifeMs: 1000 });
      hint = ` (the forecaster ${JSON.stringify(name)} is asked for as forecaster:${name})`;
    } catch {
      // not a forecaster's name either
    }
    throw new RangeError(`unknown model ${JSON.stringify(name)}${hint}; known: ${DEFAULT_MODELS.map((b) => b.id).join(', ')}, forecaster:<model>`);
  });
}
