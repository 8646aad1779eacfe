// agent/predict/models: every model against series whose answer is known. First the contract
// every Forecaster keeps (constant, bad input, ordered quantiles), then each model on its own
// ground: the baselines' windows, Holt's slope on a ramp, Holt-Winters' season on a sine and
// none on white noise, steps, calibration on heavy tails, the direct peak forecast's coverage,
// and the selector following a change of regime; then the quantile GBM on known answers and
// the engine: its calibration on stationary noise, its weights following a change of regime,
// its peak heads on periodic bursts.
import test, { type ExecutionContext } from 'ava';
import { createForecaster, FORECAST_MODELS, type Forecaster, type ForecastModel } from '../../agent/predict/forecaster.js';
import { CalibratedForecaster } from '../../agent/predict/models/calibrated.js';
import { HoltForecaster, HoltWintersForecaster } from '../../agent/predict/models/holt-winters.js';
import { HorizonPeakForecaster } from '../../agent/predict/models/horizon-peak.js';
import { DampedTrend } from '../../agent/predict/models/damped-trend.js';
import { StairClimb } from '../../agent/predict/models/stair-climb.js';
import { detectSeason } from '../../agent/predict/models/season.js';
import { SeasonalProfileForecaster } from '../../agent/predict/models/seasonal-profile.js';
import { SelectorForecaster } from '../../agent/predict/models/selector.js';
import { SlotHistory } from '../../agent/predict/models/slot-history.js';
import { staggeredSize } from '../../agent/predict/models/growth.js';
import { Float64Slab } from '../../agent/predict/models/slab.js';
import { PendingRing, ROW_FIELDS } from '../../agent/predict/models/pending-ring.js';
import { PendingValues } from '../../agent/predict/models/horizon-table.js';
import { identityOrder, leaveOutWild, sortedOrder, weightedMedian, WILD_BANDS } from '../../agent/predict/models/robust-pool.js';
import { rankCdf, rankQuantile, SortedBag, SortedWindow } from '../../agent/predict/models/sorted-window.js';
import { StepClock } from '../../agent/predict/models/step-clock.js';
import { SeriesState } from '../../agent/predict/models/series-state.js';
import { BlockMax } from '../../agent/predict/models/sliding-max.js';
import { ERROR_UNIT_FIELDS, ErrorUnit, RECENT_ERROR_CAP } from '../../agent/predict/models/miss-offset.js';
import { LastValueForecaster, MeanSigmaForecaster, WindowPeakForecaster } from '../../agent/predict/models/window-baselines.js';
import { EwmaForecaster } from '../../agent/predict/ewma.js';
import { ENGINE_CANDIDATES, ForecastEngine, type EngineCandidate } from '../../agent/predict/models/engine.js';
import { pinball } from '../../agent/predict/backtest.js';
import { QuantileLearner } from '../../agent/predict/models/learner.js';
import { LearnerPool, PooledLearner } from '../../agent/predict/models/learner-pool.js';
import { QuantileGbm } from '../../agent/predict/models/quantile-gbm.js';
import { rng } from '../helpers/rng.js';
import { CI_FILL_MIB, PAGED_FILLS_MIB, pagedFillMib, REAL_FILL_MIB } from '../helpers/real-fills.js';

const SEC = 1000;
const NEW_MODELS = FORECAST_MODELS.filter((m) => m !== 'ewma' && m !== 'decaying-histogram');


/** Standard normal draws (Box-Muller). */
function gaussian(r: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/** Student's t with 3 degrees of freedom: heavy tails (infinite fourth moment). */
function studentT3(r: () => number): () => number {
  const g = gaussian(r);
  return () => g() / Math.sqrt((g() ** 2 + g() ** 2 + g() ** 2) / 3);
}

/** Feeds values[i] at i seconds, starting at sample `from`. */
function feed(f: Forecaster, values: readonly number[], from = 0): void {
  for (let i = from; i < values.length; i++) f.update(values[i]!, i * SEC);
}

const make = (model: ForecastModel, halfLifeMs = 60 * SEC): Forecaster => createForecaster(model, { halfLifeMs });
const within = (actual: number, expected: number, tolerance: number): boolean => Math.abs(actual - expected) <= tolerance;

/**
 * Replays `values` through `f` (from sample `warmup` on) and returns how often the value
 * `steps` ahead (or, for `peak`, the max over the next `steps`) exceeded the forecast's p90.
 */
function underRate(f: Forecaster, values: readonly number[], steps: number, warmup: number, peak = false): number {
  let under = 0;
  let scored = 0;
  for (let i = 0; i < values.length; i++) {
    f.update(values[i]!, i * SEC);
    if (i < warmup || i + steps >= values.length) continue;
    const p90 = f.forecast(steps * SEC).quantile(0.9);
    const actual = peak ? Math.max(...values.slice(i + 1, i + steps + 1)) : values[i + steps]!;
    if (actual > p90) under++;
    scored++;
  }
  return under / scored;
}

// ---- the contract, for every new model ----

for (const model of NEW_MODELS) {
  test(`${model}: names itself, says nothing before the first sample`, (t) => {
    const f = make(model);
    t.is(f.name, model);
    const fc = f.forecast(5 * SEC);
    t.deepEqual([fc.mean, fc.quantile(0.9), fc.exceedance(1), fc.confidence], [0, 0, 0, 0]);
  });

  test(`${model}: a constant series forecasts the constant`, (t) => {
    const f = make(model);
    feed(f, Array.from({ length: 300 }, () => 7));
    // the histogram reads quantiles within a bucket (5%); the others exactly
    const tolerance = model.includes('decaying-histogram') ? 0.35 : 1e-6;
    for (const h of [0, 1, 10, 60]) {
      const fc = f.forecast(h * SEC);
      t.true(within(fc.mean, 7, tolerance), `h ${h}: mean ${fc.mean}`);
      for (const q of [0.01, 0.5, 0.9, 0.99]) t.true(within(fc.quantile(q), 7, tolerance), `h ${h}: q${q} = ${fc.quantile(q)}`);
      t.is(fc.exceedance(7.5), 0);
      t.is(fc.exceedance(6.5), 1);
      t.true(fc.confidence > 0.5 && fc.confidence < 1, `confidence ${fc.confidence}`);
    }
  });

  test(`${model}: NaN and infinite samples are ignored, negative ones count as 0`, (t) => {
    const f = make(model);
    const g = make(model);
    const values = Array.from({ length: 40 }, (_, i) => 5 + (i % 3));
    feed(f, values);
    feed(g, values);
    f.update(Number.NaN, 40 * SEC);
    f.update(Number.POSITIVE_INFINITY, 40 * SEC);
    f.update(5, Number.NaN);
    const a = f.forecast(3 * SEC);
    const b = g.forecast(3 * SEC);
    t.deepEqual([a.mean, a.quantile(0.9), a.confidence], [b.mean, b.quantile(0.9), b.confidence]);
    const h = make(model);
    h.update(-3, 0);
    t.is(h.forecast(0).mean, 0);
    t.true(h.forecast(0).quantile(0.1) >= 0);
  });

  test(`${model}: quantiles rise with q, exceedance falls with x, both within range`, (t) => {
    const f = make(model);
    const r = rng(11);
    const noise = gaussian(r);
    feed(f, Array.from({ length: 600 }, (_, i) => 50 + 10 * Math.sin((2 * Math.PI * i) / 30) + 3 * noise()));
    const fc = f.forecast(5 * SEC);
    let prev = -Infinity;
    for (let q = 0.01; q < 0.995; q += 0.01) {
      const v = fc.quantile(q);
      if (!(v >= prev && v >= 0)) t.fail(`quantile(${q.toFixed(2)}) = ${v} after ${prev}`);
      prev = v;
    }
    let prevP = 1;
    for (let x = -5; x <= 150; x += 0.5) {
      const p = fc.exceedance(x);
      if (!(p >= 0 && p <= 1 && p <= prevP)) t.fail(`exceedance(${x}) = ${p} after ${prevP}`);
      prevP = p;
    }
    t.is(fc.exceedance(-1), 1);
    t.pass();
  });

  test(`${model}: invalid options and arguments throw clear errors`, (t) => {
    for (const halfLifeMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      t.throws(() => createForecaster(model, { halfLifeMs }), { instanceOf: RangeError, message: /halfLifeMs must be/ });
    }
    const f = make(model);
    f.update(1, 0);
    const fc = f.forecast(0);
    for (const q of [0, 1, Number.NaN]) t.throws(() => fc.quantile(q), { instanceOf: RangeError, message: /q in \(0, 1\)/ });
    t.throws(() => fc.exceedance(Number.NaN), { instanceOf: RangeError });
    t.throws(() => f.forecast(-1), { instanceOf: RangeError, message: /horizonMs/ });
  });
}

test('createForecaster names every model it refuses', (t) => {
  t.throws(() => createForecaster('calibrated:arima' as ForecastModel, { halfLifeMs: 1000 }), {
    instanceOf: RangeError,
    message: /unknown forecast model "calibrated:arima".*holt-winters/,
  });
});

test('quantile and exceedance read each other back where the distribution is continuous', (t) => {
  const r = rng(5);
  const noise = gaussian(r);
  const values = Array.from({ length: 800 }, () => 50 + 5 * noise());
  for (const model of ['mean-sigma', 'holt', 'holt-winters', 'seasonal-profile', 'calibrated:ewma', 'horizon-peak'] as const) {
    const f = make(model);
    feed(f, values);
    const fc = f.forecast(5 * SEC);
    for (let q = 0.05; q < 0.96; q += 0.05) {
      const back = fc.exceedance(fc.quantile(q));
      if (Math.abs(back - (1 - q)) > 2e-3) t.fail(`${model}: exceedance(quantile(${q.toFixed(2)})) = ${back}`);
    }
  }
  t.pass();
});

// ---- shared pieces ----

test('step clock: learns the step, numbers skipped ticks, rounds a drifting clock', (t) => {
  const c = new StepClock();
  t.is(c.advance(0), 0);
  t.is(c.stepsFor(10 * SEC), 1); // no step known yet
  for (let i = 1; i <= 10; i++) t.is(c.advance(i * 1000 + (i % 2) * 7), 1); // gaps of 1007 and 993 ms
  t.true(within(c.stepMs, 1000, 10), `step ${c.stepMs}`);
  t.is(c.advance(13 * SEC), 3); // two ticks missing
  t.is(c.slot, 13);
  t.is(c.advance(13 * SEC), 1); // same instant: still the next slot
  t.is(c.stepsFor(60 * SEC), 60);
  t.is(c.stepsFor(0), 1);
  t.throws(() => new StepClock(0), { instanceOf: RangeError });
  // the lower median of the first gaps, whatever order they come in
  const d = new StepClock();
  let at = 0;
  d.advance(at);
  for (const gap of [5000, 900, 1000, 3000, 1100, 800, 2000, 1000]) d.advance((at += gap));
  t.is(d.stepMs, 1000); // sorted: 800 900 1000 1000 1100 2000 3000 5000
  t.true(d.settled);
});

test('sorted window: keeps the last N in order, conformal ranks invert', (t) => {
  const w = new SortedWindow(5);
  for (const v of [9, 1, 7, 3, 5, 8, 2]) w.push(v);
  t.deepEqual([...w.snapshot()], [2, 3, 5, 7, 8]);
  t.is(w.mean, 5);
  t.is(w.quantile(0.5), 5); // position 0.5 * 6 - 1 = 2
  const sorted = w.snapshot();
  for (const q of [0.2, 0.35, 0.5, 0.7, 0.8]) t.true(within(rankCdf(sorted, 5, rankQuantile(sorted, 5, q)), q, 1e-12));
  t.is(rankCdf(sorted, 5, 1), 0);
  t.is(rankCdf(sorted, 5, 8), 1);
});

test('sorted window in single precision: the same window as double precision, each value rounded as it comes', (t) => {
  const rnd = rng(11);
  const single = new SortedWindow(64, 'single');
  const kept: number[] = [];
  for (let i = 0; i < 300; i++) {
    // values that single precision rounds (and repeats, which remove() must tell apart by value)
    const v = i % 7 === 0 ? 0.1 : (rnd() - 0.5) * 1e3 + rnd() * 1e-6;
    single.push(v);
    kept.push(Math.fround(v));
    if (kept.length > 64) kept.shift();
  }
  const sorted = [...kept].sort((a, b) => a - b);
  t.deepEqual([...single.snapshot()], sorted);
  t.is(single.size, 64);
  t.is(single.quantile(0.9), rankQuantile(Float64Array.from(sorted), 64, 0.9));
  t.true(within(single.mean, kept.reduce((a, b) => a + b, 0) / 64, 1e-9));
});

test('sorted window: a full window replaces its oldest value in one shift, as removing it and inserting the new one would', (t) => {
  // few distinct values (ties on both sides of the one removed), moves up and down, and the ends
  const rnd = rng(23);
  const w = new SortedWindow(50);
  const kept: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const v = rnd() < 0.1 ? (rnd() < 0.5 ? -1e9 : 1e9) : Math.floor(rnd() * 12);
    w.push(v);
    kept.push(v);
    if (kept.length > 50) kept.shift();
    if (i % 97 === 0 || i > 1990) t.deepEqual([...w.snapshot()], [...kept].sort((a, b) => a - b), `after ${i + 1} values`);
  }
  t.is(w.mean, kept.reduce((a, b) => a + b, 0) / 50);
});

test('sorted window: dropNewest forgets the newest values, before and after the window wraps, and pushes go on from there', (t) => {
  // against a plain array, in the order pushed: drops of a few, of more than are kept, mid-fill and once full
  const rnd = rng(5);
  const w = new SortedWindow(20);
  let kept: number[] = [];
  for (let i = 0; i < 600; i++) {
    const v = Math.floor(rnd() * 30) - 10;
    w.push(v);
    kept.push(v);
    if (kept.length > 20) kept.shift();
    if (i % 37 === 36) {
      const k = i % 111 === 110 ? 25 : 1 + (i % 7);
      w.dropNewest(k);
      kept = kept.slice(0, Math.max(0, kept.length - k));
    }
    t.deepEqual([...w.snapshot()], [...kept].sort((a, b) => a - b), `after ${i + 1} values`);
    t.is(w.size, kept.length);
    for (let j = 0; j < kept.length; j++) if (w.get(j) !== kept[j]) t.fail(`value ${j} after ${i + 1}: ${w.get(j)}, not ${kept[j]}`);
    // (the running sum is re-added from the kept values every 20 pushes: from the ring, not its first slots)
    if (kept.length > 0) t.is(w.mean, kept.reduce((a, b) => a + b, 0) / kept.length, `mean after ${i + 1} values`);
  }
});

test('sorted bag: replace() of a value it does not hold inserts the new one; zeros of either sign are one value', (t) => {
  const bag = new SortedBag(4);
  for (const v of [3, 1, 2]) bag.insert(v);
  bag.replace(7, 5); // 7 is not held: 5 joins, nothing leaves (as remove then insert)
  t.deepEqual([...bag.snapshot()], [1, 2, 3, 5]);
  bag.replace(5, 0);
  t.deepEqual([...bag.snapshot()], [0, 1, 2, 3]);
  bag.replace(-0, 4); // -0 === 0: the 0 leaves
  t.deepEqual([...bag.snapshot()], [1, 2, 3, 4]);
  bag.replace(1, Number.POSITIVE_INFINITY);
  bag.replace(4, Number.NEGATIVE_INFINITY);
  t.deepEqual([...bag.snapshot()], [Number.NEGATIVE_INFINITY, 2, 3, Number.POSITIVE_INFINITY]);
});

test('growing buffers start at staggered sizes, from the base to under twice it, whatever the pattern they are made in', (t) => {
  // series that each make 1, 2, 4 or 8 buffers: the buffers of one kind (the second a series
  // makes) still start at all eight sizes, about as often each
  for (const perSeries of [1, 2, 4, 8]) {
    const sizes: number[] = [];
    for (let series = 0; series < 400; series++) for (let b = 0; b < perSeries; b++) {
      const s = staggeredSize(64);
      if (b === Math.min(1, perSeries - 1)) sizes.push(s);
    }
    const counts = new Map<number, number>();
    for (const s of sizes) counts.set(s, (counts.get(s) ?? 0) + 1);
    t.is(counts.size, 8, `${perSeries} buffers a series`);
    t.true([...counts.keys()].every((s) => s >= 64 && s < 128));
    t.true(Math.max(...counts.values()) < 2 * (400 / 8), `${perSeries} buffers a series: ${[...counts.values()]}`);
  }
  // windows made one after another double at different counts, and still hold what they should
  const windows = Array.from({ length: 8 }, () => new SortedWindow(300));
  for (let i = 0; i < 200; i++) for (const w of windows) w.push(i % 7);
  for (const w of windows) t.deepEqual([...w.snapshot()], Array.from({ length: 200 }, (_, i) => i % 7).sort((a, b) => a - b));
});

test('a slab hands out disjoint zeroed views of one buffer, and refuses to go past its room', (t) => {
  const slab = new Float64Slab(10);
  const a = slab.take(4);
  const b = slab.take(6);
  t.is(a.buffer, b.buffer);
  a.fill(1);
  t.deepEqual([...b], [0, 0, 0, 0, 0, 0]);
  b.fill(2);
  t.deepEqual([...a], [1, 1, 1, 1]);
  t.is(slab.left, 0);
  t.throws(() => slab.take(1), { instanceOf: RangeError, message: /slab of 10 numbers: 10 taken, 1 more asked/ });
});

/** Writes a forecast at every slot not in `hole`, checking each is found at its origin, with its values, when it resolves. */
function replayPendingRing(t: ExecutionContext, ring: PendingRing, steps: number, slots: number, hole: (slot: number) => boolean): number {
  const written = new Set<number>();
  let grewAt = -1;
  for (let slot = 0; slot < slots; slot++) {
    if (hole(slot)) continue;
    const origin = slot - steps;
    const r = ring.rowOf(origin);
    if (written.has(origin)) {
      t.true(r >= 0, `origin ${origin} lost at slot ${slot}`);
      const v = origin * 10;
      t.is(ring.p90[r * 3 + 2], v);
      t.is(ring.mix[r * 2 + 1], -v);
      t.is(ring.features![r * 4 + 3], v % 1000);
      ROW_FIELDS.forEach((field, i) => t.is(ring[field][r], v + 1 + i, field));
    } else {
      t.is(r, -1, `origin ${origin} found at slot ${slot}`);
    }
    const rows = ring.rows;
    const w = ring.rowFor(slot);
    if (ring.rows !== rows) grewAt = slot;
    ring.p90[w * 3 + 2] = slot * 10;
    ring.mix[w * 2 + 1] = -slot * 10;
    ring.features![w * 4 + 3] = (slot * 10) % 1000;
    ROW_FIELDS.forEach((field, i) => (ring[field][w] = slot * 10 + 1 + i));
    written.add(slot);
  }
  return grewAt;
}

test('pending ring: a forecast is found at its origin until it resolves, through the ring growing to its full size and holes', (t) => {
  const ring = new PendingRing(60, 3, 2, 4);
  t.true(ring.rows >= 8 && ring.rows < 16, `first rows ${ring.rows}`);
  const first = ring.rows;
  const grewAt = replayPendingRing(t, ring, 60, 200, (slot) => slot % 17 === 5);
  t.is(ring.rows, 61);
  t.is(grewAt, first, 'grown when its first row would be overwritten while pending');
  // a long hole early on leaves rows whose targets fell in it: at the growth they must not land
  // on a pending one (an Alibaba machine's first hour: slots 0-3, a hole, 13-16, a hole, 21...)
  const firstSizes = new Set<number>();
  for (let i = 0; i < 16; i++) {
    const r = new PendingRing(12, 3, 2, 4);
    firstSizes.add(r.rows);
    replayPendingRing(t, r, 12, 80, (slot) => (slot >= 4 && slot <= 12) || (slot >= 17 && slot <= 20) || slot % 11 === 10);
    t.true(r.rows <= 13);
  }
  t.true(firstSizes.has(8), `first sizes ${[...firstSizes]}`);
  // a short head never grows past steps + 1, nor starts above it
  const short = new PendingRing(3, 1, 1, 0);
  t.is(short.rows, 4);
  t.is(short.features, undefined);
});

test('seasonal profile: a quantile read directly is the forecast one, at every sample, through its season being found', (t) => {
  // options out of range are refused when it is made, not at its first forecast
  for (const bad of [{ seasons: Number.POSITIVE_INFINITY }, { seasons: 0 }, { seasons: Number.NaN }, { period: 1 }]) {
    t.throws(() => new SeasonalProfileForecaster({ halfLifeMs: 1000, ...bad }), { instanceOf: RangeError }, JSON.stringify(bad));
  }
  const f = new SeasonalProfileForecaster({ halfLifeMs: 3_600_000, stepMs: 60_000 });
  t.is(f.quantileAt(60_000, 0.9), f.forecast(60_000).quantile(0.9)); // no samples: 0
  const rnd = rng(11);
  let compared = 0;
  const periods = new Set<number>();
  for (let i = 0; i < 700; i++) {
    f.update(10 + 5 * Math.sin((2 * Math.PI * i) / 24) + rnd(), i * 60_000);
    periods.add(f.period);
    for (const h of [60_000, 300_000, 3_600_000]) {
      // the direct read first (it caches a centre), then the forecast, then the direct read again
      const direct = [0.1, 0.5, 0.9].map((q) => f.quantileAt(h, q));
      const fc = f.forecast(h);
      t.deepEqual(direct, [0.1, 0.5, 0.9].map((q) => fc.quantile(q)), `sample ${i}, horizon ${h}`);
      t.is(f.quantileAt(h, 0.9), fc.quantile(0.9));
      compared++;
    }
  }
  t.true(periods.size >= 2, 'the season changed on the way'); // 0, then 24
  t.is(compared, 2100);
  t.throws(() => f.quantileAt(60_000, 1.5), { instanceOf: RangeError });
});

test('pending values: oldest first across the ring wrapping and growing', (t) => {
  const q = new PendingValues();
  const out: Array<[number, number]> = [];
  let next = 0;
  // a horizon of 5 steps, then of 20 (the queue grows past its first 8 while wrapped)
  for (let slot = 0; slot < 60; slot++) {
    const lag = slot < 30 ? 5 : 20;
    q.push(slot, slot * 10 + 0.5);
    while (q.hasUpTo(slot - lag)) {
      const made = q.oldestSlot;
      out.push([made, q.shift()]);
    }
  }
  for (const [made, v] of out) {
    t.is(made, next++);
    t.is(v, made * 10 + 0.5);
  }
  t.is(out.length, 40); // slots 0..39 resolved by slot 59 at a lag of 20
  t.false(q.hasUpTo(39));
  t.true(q.hasUpTo(40));
});

test('sorted window and slot history grow as values come, and hold what a full-size buffer would', (t) => {
  const rnd = rng(7);
  const w = new SortedWindow(100);
  const kept: number[] = [];
  for (let i = 0; i < 250; i++) {
    const v = Math.round(rnd() * 1000);
    w.push(v);
    kept.push(v);
    if (kept.length > 100) kept.shift();
    if (i === 20 || i === 70 || i === 249) {
      t.deepEqual([...w.snapshot()], [...kept].sort((a, b) => a - b), `sorted after ${i + 1}`);
      t.deepEqual(Array.from({ length: w.size }, (_, k) => w.get(k)), kept, `in order after ${i + 1}`);
      t.true(within(w.mean, kept.reduce((a, b) => a + b, 0) / kept.length, 1e-9));
    }
  }
  // slots from 1000 on, with holes; the history keeps the last 100 slots
  const h = new SlotHistory(100);
  const seen = new Map<number, number>();
  let slot = 1000;
  let first = -1;
  for (let i = 0; i < 150; i++) {
    slot += rnd() < 0.2 ? 3 : 1;
    const v = Math.fround(rnd());
    h.set(slot, v);
    seen.set(slot, v);
    if (first < 0) first = slot;
    if (i === 10 || i === 60 || i === 149) {
      for (let s = slot - 120; s <= slot; s++) {
        const want = s > slot - 100 ? (seen.get(s) ?? Number.NaN) : Number.NaN;
        t.is(h.get(s), want, `slot ${s} after ${i + 1} samples`);
      }
      t.is(h.values().length, Math.min(100, slot - first + 1), 'slots held, holes included');
    }
  }
});

// ---- baselines ----

test('last-value: forecasts the newest value at every horizon, and a step at once', (t) => {
  const f = new LastValueForecaster({ halfLifeMs: 10 * SEC });
  feed(f, [1, 2, 3]);
  t.is(f.forecast(0).mean, 3);
  f.update(30, 3 * SEC);
  f.update(99, 1 * SEC); // from the past: does not replace the newer value
  const fc = f.forecast(600 * SEC);
  t.deepEqual([fc.mean, fc.quantile(0.01), fc.quantile(0.99), fc.exceedance(29), fc.exceedance(30)], [30, 30, 30, 1, 0]);
});

test('window-peak: p50 is the window median, upper quantiles its peak, which ages out', (t) => {
  const f = new WindowPeakForecaster({ halfLifeMs: 10 * SEC });
  const values = [4, 6, 5, 50, 5, 4, 6, 5, 4, 6]; // 10 s of samples, one spike
  feed(f, values);
  let fc = f.forecast(5 * SEC);
  t.is(fc.quantile(0.5), 5);
  t.is(fc.quantile(0.9), 50);
  t.is(fc.quantile(0.99), 50);
  t.is(fc.exceedance(20), 0.5);
  t.is(fc.exceedance(50), 0);
  for (let i = 10; i < 14; i++) f.update(5, i * SEC); // the spike at 3 s leaves the 10 s window at 13 s
  fc = f.forecast(5 * SEC);
  t.is(fc.quantile(0.9), 6);
});

test('mean-sigma: mean + N sigma of the window is its quantile at Phi(N)', (t) => {
  const f = new MeanSigmaForecaster({ halfLifeMs: 100 * SEC });
  const values = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 8 : 12)); // mean 10
  feed(f, values);
  const sd = Math.sqrt((100 * 4) / 99);
  const fc = f.forecast(5 * SEC);
  t.true(within(fc.mean, 10, 1e-9));
  t.true(within(fc.quantile(0.97725), 10 + 2 * sd, 1e-3), `p97.7 ${fc.quantile(0.97725)}, want ${10 + 2 * sd}`);
  t.true(within(fc.quantile(0.9), 10 + 1.28155 * sd, 1e-3));
  // a window, not a fading memory: 100 s later only the new level counts
  feed(f, Array.from({ length: 200 }, () => 30), 100);
  t.true(within(f.forecast(0).quantile(0.99), 30, 1e-9));
});

// ---- Holt ----

test('holt: a clean ramp gives its slope and the line h steps ahead', (t) => {
  const f = new HoltForecaster({ halfLifeMs: 60 * SEC });
  feed(f, Array.from({ length: 200 }, (_, i) => 10 + 0.5 * i));
  t.true(within(f.state.trend, 0.5, 1e-6), `trend ${f.state.trend}`);
  const last = 10 + 0.5 * 199;
  t.true(within(f.forecast(10 * SEC).mean, last + 5, 1e-4), `10 s ahead ${f.forecast(10 * SEC).mean}`);
  t.true(within(f.forecast(60 * SEC).mean, last + 30, 1e-3));
});

test('holt: a noisy ramp with skipped ticks: slope within 5%, forecast within 3 sigma', (t) => {
  const f = new HoltForecaster({ halfLifeMs: 60 * SEC });
  const noise = gaussian(rng(3));
  for (let i = 0; i < 1000; i++) if (i % 17 !== 5) f.update(100 + 2 * i + 3 * noise(), i * SEC); // one tick in 17 missing
  t.true(within(f.state.trend, 2, 0.1), `trend ${f.state.trend}`);
  const expected = 100 + 2 * (999 + 20);
  const fc = f.forecast(20 * SEC);
  t.true(within(fc.mean, expected, 9), `20 s ahead ${fc.mean}, want ${expected}`);
  t.true(fc.quantile(0.1) < expected && fc.quantile(0.9) > expected, `p10..p90 ${fc.quantile(0.1)}..${fc.quantile(0.9)}`);
});

// ---- seasons ----

const sineWithNoise = (n: number, seed: number, period = 24): number[] => {
  const noise = gaussian(rng(seed));
  return Array.from({ length: n }, (_, i) => 50 + 10 * Math.sin((2 * Math.PI * i) / period) + 2 * noise());
};

test('season detection: finds 24 in a noisy sine, nothing in white noise, a ramp or a constant', (t) => {
  for (const seed of [1, 2, 3]) t.is(detectSeason(sineWithNoise(600, seed)).period, 24);
  // the same sine on a ramp, with holes
  const ramped = sineWithNoise(600, 4).map((v, i) => (i % 13 === 0 ? Number.NaN : v + 0.3 * i));
  t.is(detectSeason(ramped).period, 24);
  let false_ = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const noise = gaussian(rng(100 + seed));
    if (detectSeason(Array.from({ length: 1152 }, () => 50 + 5 * noise())).period !== 0) false_++;
  }
  t.true(false_ <= 1, `seasons found in ${false_} of 40 white noise series (the test allows 1%)`);
  t.is(detectSeason(Array.from({ length: 600 }, (_, i) => 3 + 0.1 * i)).period, 0);
  t.is(detectSeason(Array.from({ length: 600 }, () => 7)).period, 0);
});

test('season detection: a period expected a priori passes at the single-lag bound', (t) => {
  // a weak 100-step season in strong noise: its ACF peak lies between the single-lag bound and
  // the scan's Bonferroni bound, so only the prior finds it
  const noise = gaussian(rng(8));
  const values = Array.from({ length: 1200 }, (_, i) => 50 + 2.4 * Math.sin((2 * Math.PI * i) / 100) + 5 * noise());
  const expected = detectSeason(values, { preferred: [100] });
  t.true(Math.abs(expected.period - 100) <= 1, `with the prior: ${JSON.stringify(expected)}`);
  const scanned = detectSeason(values);
  t.true(expected.threshold < scanned.threshold, `prior bound ${expected.threshold}, scan bound ${scanned.threshold}`);
});

test('holt-winters: detects 24 on a sine with noise and beats Holt there', (t) => {
  const values = sineWithNoise(2000, 7);
  const hw = new HoltWintersForecaster({ halfLifeMs: 600 * SEC });
  const holt = new HoltForecaster({ halfLifeMs: 600 * SEC });
  const h = 6;
  let errHw = 0;
  let errHolt = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    hw.update(values[i]!, i * SEC);
    holt.update(values[i]!, i * SEC);
    if (i < 1000 || i + h >= values.length) continue;
    errHw += Math.abs(values[i + h]! - hw.forecast(h * SEC).mean);
    errHolt += Math.abs(values[i + h]! - holt.forecast(h * SEC).mean);
    n++;
  }
  t.is(hw.period, 24);
  // the noise alone gives a mean absolute error of 2 * 0.8 = 1.6
  t.true(errHw / n < 2.2, `Holt-Winters MAE ${errHw / n}`);
  t.true(errHw < 0.5 * errHolt, `Holt-Winters MAE ${errHw / n}, Holt ${errHolt / n}`);
});

test('holt-winters: no season on white noise, so it is Holt', (t) => {
  for (const seed of [21, 22, 23]) {
    const noise = gaussian(rng(seed));
    const f = new HoltWintersForecaster({ halfLifeMs: 600 * SEC });
    feed(f, Array.from({ length: 1500 }, () => 50 + 5 * noise()));
    t.is(f.period, 0, `seed ${seed}`);
    t.true(within(f.forecast(10 * SEC).mean, 50, 2), `mean ${f.forecast(10 * SEC).mean}`);
  }
});

test('seasonal-profile: learns a spiky season and forecasts the spike before it comes', (t) => {
  // period 48: baseline 20, a job of 100 for 3 steps at phase 30
  const noise = gaussian(rng(9));
  const at = (i: number): number => (i % 48 >= 30 && i % 48 < 33 ? 100 : 20) + noise();
  const f = new SeasonalProfileForecaster({ halfLifeMs: 600 * SEC });
  const peak = new HorizonPeakForecaster(new SeasonalProfileForecaster({ halfLifeMs: 600 * SEC }));
  let i = 0;
  for (; i < 48 * 12 + 20; i++) {
    f.update(at(i), i * SEC);
    peak.update(at(i), i * SEC);
    peak.forecast(12 * SEC);
  }
  t.is(f.period, 48);
  // now at phase 20: the job starts 10 steps ahead
  t.true(within(f.forecast(11 * SEC).mean, 100, 5), `11 steps ahead ${f.forecast(11 * SEC).mean}`);
  t.true(within(f.forecast(5 * SEC).mean, 20, 3), `5 steps ahead ${f.forecast(5 * SEC).mean}`);
  const p = peak.forecast(12 * SEC);
  t.true(p.quantile(0.5) > 95 && p.quantile(0.9) < 110, `peak p50 ${p.quantile(0.5)} p90 ${p.quantile(0.9)}`);
});

test('horizon-peak without coldTrend (the engine\'s peak candidate): a genuine spiky season found part way, its peaks seen moved to the season\'s reference, keeps a shorter horizon\'s peak p90 over the peaks to come (as leaving them did)', (t) => {
  // period 48: 20 +- 1, a job of 100 for 3 steps at phase 30; the season is found at 145 s. The
  // 12 s peak over the next two seasons: above its p90 6 times in 96, p90 27 over the peak on
  // average (as when the old excesses stood as they were: 6, 25)
  const r = rng(9);
  const at = (i: number): number => (i % 48 >= 30 && i % 48 < 33 ? 100 : 20) + 2 * (r() - 0.5);
  const xs = Array.from({ length: 48 * 14 }, (_, i) => at(i));
  const base = new SeasonalProfileForecaster({ halfLifeMs: 600 * SEC });
  const peak = new HorizonPeakForecaster(base);
  let found = -1;
  const p90s: number[] = [];
  xs.forEach((x, i) => {
    peak.update(x, i * SEC);
    p90s.push(peak.forecast(12 * SEC).quantile(0.9));
    if (found < 0 && base.period > 0) found = i;
  });
  t.is(base.period, 48);
  let missed = 0;
  let over = 0;
  for (let i = found; i < found + 96; i++) {
    const next = Math.max(...xs.slice(i + 1, i + 13));
    if (next > p90s[i]!) missed++;
    over += p90s[i]! - next;
  }
  t.log(`season found at ${found} s; the next 96 s: 12 s peak above its p90 ${missed} times, the p90 ${(over / 96).toFixed(1)} over it on average`);
  t.true(found > 0 && found < 48 * 12, `${found}`);
  t.true(missed <= 10 && over / 96 <= 35, `missed ${missed}, over ${(over / 96).toFixed(1)}`);
});

test('seasonal-profile and horizon-peak: a burst in the first second is not taken for the level', (t) => {
  // a process loading: 2082 in its first second, then 200 +- 10. The level and spread were
  // time-decayed means: the level read 309 at 15 s and 210 at 100 s, the 5 s peak's p90 198 to
  // 204 from 40 to 100 s against peaks of about 207 (missed most of the time), the 60 s peak's
  // p90 668 at 40 s
  const r = rng(7);
  const values = Array.from({ length: 240 }, (_, i) => (i === 0 ? 2082 : 200 + 20 * (r() - 0.5)));
  const base = new SeasonalProfileForecaster({ halfLifeMs: 60 * SEC });
  feed(base, values.slice(0, 16));
  t.true(within(base.forecast(SEC).quantile(0.5), 200, 10), `level at 15 s ${base.forecast(SEC).quantile(0.5)}`);
  const peaks = make('horizon-peak');
  feed(peaks, values.slice(0, 41));
  t.true(peaks.forecast(60 * SEC).quantile(0.9) < 230, `60 s peak p90 at 40 s ${peaks.forecast(60 * SEC).quantile(0.9)}`);
  // missed 61% of the time from 20 s to 100 s, 62% to the end (now 11% and 21%)
  const early = underRate(make('horizon-peak'), values.slice(0, 106), 5, 20, true);
  const all = underRate(make('horizon-peak'), values, 5, 20, true);
  t.true(early < 0.25 && all < 0.3, `5 s peaks missed ${early} to 100 s, ${all} to the end`);
  // a level that really changes in the start-up is followed at the near horizons (the deviation
  // from the level carries them): 10 for 5 s, then 100 +- 5. (60 s ahead it reads 46 at 12 s,
  // 86 at 40 s: see relearnStartup)
  const shift = Array.from({ length: 40 }, (_, i) => (i < 5 ? 10 : 100 + 10 * (r() - 0.5)));
  const f = new SeasonalProfileForecaster({ halfLifeMs: 60 * SEC });
  feed(f, shift.slice(0, 13));
  t.true(within(f.forecast(SEC).quantile(0.5), 100, 10), `1 s ahead at 12 s: ${f.forecast(SEC).quantile(0.5)}`);
  feed(f, shift, 13);
  t.true(within(f.forecast(SEC).quantile(0.5), 100, 10), `1 s ahead at 40 s: ${f.forecast(SEC).quantile(0.5)}`);
  t.true(f.forecast(60 * SEC).quantile(0.5) > 80, `60 s ahead at 40 s: ${f.forecast(60 * SEC).quantile(0.5)}`);
});

test('horizon-peak: after a start-up burst of several seconds, the cold peak forecast reads the level, not the burst', (t) => {
  // 3 s at 2 cores, then 0.1 +- 0.01: the base's spread still held the burst's rise and fall,
  // and the 5 s peak's p90 read 0.27 at 10 s and 0.21 at 20 s until 20 peaks were known (coldCap)
  const r = rng(5);
  const values = Array.from({ length: 40 }, (_, i) => (i < 3 ? 2 : 0.1 + 0.02 * (r() - 0.5)));
  // (its step given and asked every second, as the agent does: a horizon first asked late has no span yet)
  const f = createForecaster('horizon-peak', { halfLifeMs: 60 * SEC, stepMs: SEC }) as HorizonPeakForecaster;
  for (let i = 0; i < values.length; i++) {
    f.update(values[i]!, i * SEC);
    const fc = f.forecast(5 * SEC);
    if (![10, 15, 20].includes(i)) continue;
    const p90 = fc.quantile(0.9);
    t.true(p90 > 0.105 && p90 < 0.13, `5 s peak p90 at ${i} s: ${p90}`);
    // (quantilePair, read without building the forecast: the same figures)
    const pair = f.quantilePair(5 * SEC);
    t.true(within(pair.p50, fc.quantile(0.5), 1e-9) && within(pair.p90, p90, 1e-9), `pair ${JSON.stringify(pair)} at ${i} s`);
    // the 60 s peak still holds the burst in its span: not capped
    t.true(f.forecast(60 * SEC).quantile(0.9) > 0.15, `60 s peak p90 at ${i} s: ${f.forecast(60 * SEC).quantile(0.9)}`);
  }
});

test('horizon-peak: the peaks it learns after a start-up burst are measured from the level, not from a level the burst lifted', (t) => {
  // 3 s at 2 cores, then 0.1 +- 0.01: the base's level, the mean of its start-up samples held
  // within bounds, sat above 0.1 for a minute; the peaks learnt against it kept the 5 s p90 a
  // little low for minutes (missed 41% of the time from 60 to 150 s over 20 series, 63% from 30
  // to 60 s). Its start-up median as the level: 15% and 18%
  let missed = 0;
  let scored = 0;
  for (let seed = 1; seed <= 5; seed++) {
    const r = rng(seed);
    const values = Array.from({ length: 160 }, (_, i) => (i < 3 ? 2 : 0.1 + 0.02 * (r() - 0.5)));
    const f = createForecaster('horizon-peak', { halfLifeMs: 60 * SEC, stepMs: SEC });
    for (let i = 0; i + 5 < values.length; i++) {
      f.update(values[i]!, i * SEC);
      const p90 = f.forecast(5 * SEC).quantile(0.9);
      if (i < 30) continue;
      scored++;
      if (Math.max(...values.slice(i + 1, i + 6)) > p90) missed++;
    }
  }
  t.true(missed / scored < 0.3, `5 s peaks missed ${missed} of ${scored} from 30 to 155 s`);
});

test('horizon-peak: its cold cap keeps spikes that come back less often than the horizon', (t) => {
  // 0.1 +- 0.01 with a spike to 1 every 8 s: between two spikes the last 5 s hold none, and a cap
  // at their peak read the 5 s peak's p90 at 0.12 from 17 to 19 s, a spike 1 or 2 s away
  const r = rng(3);
  const values = Array.from({ length: 24 }, (_, i) => (i % 8 === 4 ? 1 : 0.1 + 0.02 * (r() - 0.5)));
  const f = createForecaster('horizon-peak', { halfLifeMs: 60 * SEC, stepMs: SEC });
  for (let i = 0; i < values.length; i++) {
    f.update(values[i]!, i * SEC);
    const p90 = f.forecast(5 * SEC).quantile(0.9);
    if (i >= 17 && i <= 19) t.true(p90 > 0.3, `5 s peak p90 at ${i} s, a spike ${20 - i} s away: ${p90}`);
  }
});

// ---- steps ----

test('after a step, the trend and seasonal models settle on the new level', (t) => {
  const values = Array.from({ length: 400 }, (_, i) => (i < 200 ? 10 : 30));
  for (const model of ['holt', 'holt-winters', 'seasonal-profile', 'calibrated:last-value', 'selector'] as const) {
    const f = make(model);
    feed(f, values.slice(0, 230));
    const soon = f.forecast(5 * SEC).quantile(0.5);
    feed(f, values, 230);
    const later = f.forecast(5 * SEC).quantile(0.5);
    t.true(within(later, 30, 0.5), `${model}: p50 ${later} after the step settled`);
    t.true(within(soon, 30, 5), `${model}: p50 ${soon} 30 s after the step`);
  }
});

// ---- calibration ----

test('calibrated: p90 under-prediction lands at 10% +- 3% on heavy-tailed noise', (t) => {
  const noise = studentT3(rng(12));
  // a level with a slow wave, Student-t(3) noise: a normal's p90 is wrong in both tails
  const values = Array.from({ length: 4000 }, (_, i) => 100 + 20 * Math.sin((2 * Math.PI * i) / 700) + 8 * noise());
  for (const [inner, steps] of [['ewma', 1], ['ewma', 10], ['holt', 1], ['last-value', 5]] as const) {
    const f = new CalibratedForecaster(make(inner, 30 * SEC), {});
    const rate = underRate(f, values, steps, 400);
    t.true(within(rate, 0.1, 0.03), `calibrated:${inner} at ${steps} steps: p90 exceeded ${(100 * rate).toFixed(1)}%`);
  }
  // for contrast: the uncalibrated last value is exceeded about half the time
  const raw = underRate(new LastValueForecaster({ halfLifeMs: 30 * SEC }), values, 5, 400);
  t.true(raw > 0.4, `last value exceeded ${(100 * raw).toFixed(1)}%`);
});

test('calibrated: confidence falls when recent errors grow', (t) => {
  const f = new CalibratedForecaster(new EwmaForecaster({ halfLifeMs: 10 * SEC }));
  const noise = gaussian(rng(13));
  const values = Array.from({ length: 400 }, () => 50 + noise());
  for (let i = 0; i < values.length; i++) {
    f.update(values[i]!, i * SEC);
    f.forecast(SEC);
  }
  const calm = f.forecast(SEC).confidence;
  for (let i = 400; i < 410; i++) f.update(50 + 20 * noise(), i * SEC);
  const stormy = f.forecast(SEC).confidence;
  t.true(stormy < 0.6 * calm, `confidence ${calm} -> ${stormy}`);
});

// ---- the peak over the horizon ----

test('horizon-peak: its p90 covers the realised peak of the next 10 steps about 90% of the time', (t) => {
  const noise = studentT3(rng(14));
  const values = Array.from({ length: 4000 }, (_, i) => Math.max(0, 60 + 15 * Math.sin((2 * Math.PI * i) / 48) + 6 * noise()));
  const peakRate = underRate(make('horizon-peak'), values, 10, 400, true);
  t.true(within(peakRate, 0.1, 0.03), `peak p90 exceeded ${(100 * peakRate).toFixed(1)}%`);
  // the same p90 read off a calibrated point forecast misses the peak far more often
  const pointRate = underRate(make('calibrated:ewma'), values, 10, 400, true);
  t.true(pointRate > 0.3, `point p90 exceeded by the peak ${(100 * pointRate).toFixed(1)}%`);
});

/**
 * Per step, the height of the burst under way (0 for none): one starts on a step in `every` on
 * average, lasts 1 to `longest` steps, and is `lowest` to `highest` high.
 */
function burstHeights(r: () => number, n: number, every: number, longest: number, lowest: number, highest: number): number[] {
  const out: number[] = [];
  let left = 0;
  let height = 0;
  for (let i = 0; i < n; i++) {
    if (left === 0 && r() < 1 / every) {
      left = 1 + Math.floor(r() * longest);
      height = lowest + (highest - lowest) * r();
    }
    out.push(left > 0 ? height : 0);
    if (left > 0) left--;
  }
  return out;
}

test('horizon-peak: on a level with rare bursts its p90 covers the realised 60 s peak about 90% of the time (calibrated on its own misses)', (t) => {
  // 1.0 +- 0.05, with a burst of 0.5 to 2 more for 1 to 5 s one second in 80: a 60 s window
  // holds one about half the time. Its 256 excesses of overlapping 60 s windows hold about four
  // independent peaks, and their p90 was passed 19-24% of the time (8 seeds at a 1 s step; 15%
  // and more here) before the offset moved by its misses (the recorded traces' 60 s peaks: 16-27%)
  for (let seed = 1; seed <= 3; seed++) {
    const r = rng(seed);
    const noise = gaussian(rng(seed + 100));
    const values = burstHeights(r, 6000, 80, 5, 0.5, 2).map((burst) => Math.max(0, 1 + 0.05 * noise() + burst));
    const rate = underRate(make('horizon-peak'), values, 60, 600, true);
    t.log(`seed ${seed}: ${(100 * rate).toFixed(1)}%`);
    t.true(rate >= 0.07 && rate <= 0.13, `seed ${seed}: the 60 s peak's p90 passed ${(100 * rate).toFixed(1)}% of the time`);
  }
});

test('horizon-peak: its forecast and its quantilePair agree, offset and all, where the excesses have no spread up to their p90 (a sparse series)', (t) => {
  // idle at 0, a burst of 1 to 3 for 1 to 3 s one second in 150: a 10 s window's peak over the
  // reference is 0 nine times in ten, so its excesses' p50 and p90 are one value. Stretched
  // about the p50, such a forecast dropped the offset its misses had raised: its p90 sat on the
  // p50 while the calibration (and quantilePair) read it above
  const r = rng(5);
  const f = createForecaster('horizon-peak', { halfLifeMs: 60 * SEC, stepMs: SEC }) as HorizonPeakForecaster;
  let raised = 0;
  const bursts = burstHeights(r, 4000, 150, 3, 1, 3);
  for (let i = 0; i < bursts.length; i++) {
    f.update(bursts[i]!, i * SEC);
    const fc = f.forecast(10 * SEC);
    const pair = f.quantilePair(10 * SEC);
    if (Math.abs(fc.quantile(0.9) - pair.p90) > 1e-9 || Math.abs(fc.quantile(0.5) - pair.p50) > 1e-9) {
      t.fail(`at ${i} s: forecast p50 ${fc.quantile(0.5)} p90 ${fc.quantile(0.9)}, quantilePair ${pair.p50} ${pair.p90}`);
      return;
    }
    if (pair.p90 > pair.p50) raised++;
  }
  t.true(raised > 1000, `p90 above the p50 on ${raised} of 4000 steps`);
});

test('horizon-peak: its forecast and its quantilePair agree where a plateau holds its peaks (bursts of one height), and it does hold them', (t) => {
  // 0.3-0.4 with bursts of 1.6 for 3 s at random about once a minute: a plateau at 1.6 holds the
  // 5 s and 60 s peaks' p50 at 1.6 at most and their p90 a little above (warmPair); forecast()
  // must read the same pair, offset or none
  const r = rng(8);
  const f = createForecaster('horizon-peak', { halfLifeMs: 60 * SEC, stepMs: SEC }) as HorizonPeakForecaster;
  let held = 0;
  let left = 0;
  for (let i = 0; i < 1500; i++) {
    if (left === 0 && r() < 1 / 60) left = 3;
    f.update(left > 0 ? 1.6 : 0.3 + 0.1 * r(), i * SEC);
    if (left > 0) left--;
    for (const h of [5, 60]) {
      const fc = f.forecast(h * SEC);
      const pair = f.quantilePair(h * SEC);
      if (Math.abs(fc.quantile(0.9) - pair.p90) > 1e-9 || Math.abs(fc.quantile(0.5) - pair.p50) > 1e-9) {
        t.fail(`at ${i} s, ${h} s: forecast p50 ${fc.quantile(0.5)} p90 ${fc.quantile(0.9)}, quantilePair ${pair.p50} ${pair.p90}`);
        return;
      }
      // (held: at the plateau as the single-precision window keeps it, a hair over 1.6)
      if (h === 60 && i >= 600 && pair.p50 === Math.fround(1.6)) held++;
    }
  }
  t.true(held > 200, `the 60 s peak's p50 held at the plateau on ${held} of 900 steps`);
});

test('horizon-peak: the peak forecast never sits below the value forecast', (t) => {
  const noise = gaussian(rng(15));
  const values = Array.from({ length: 1000 }, () => 40 + 5 * noise());
  const peak = make('horizon-peak');
  const point = make('calibrated:seasonal-profile');
  for (let i = 0; i < values.length; i++) {
    peak.update(values[i]!, i * SEC);
    point.update(values[i]!, i * SEC);
    peak.forecast(20 * SEC);
    point.forecast(20 * SEC);
  }
  t.true(peak.forecast(20 * SEC).quantile(0.5) > point.forecast(20 * SEC).quantile(0.9));
});

// ---- the selector ----

test('selector: constant, then seasonal: moves from the first candidate to Holt-Winters', (t) => {
  const opts = { halfLifeMs: 60 * SEC };
  const f = new SelectorForecaster(
    [new CalibratedForecaster(new LastValueForecaster(opts)), new CalibratedForecaster(new HoltWintersForecaster(opts))],
    opts,
  );
  const noise = gaussian(rng(16));
  const values = Array.from({ length: 1600 }, (_, i) => (i < 400 ? 50 : 50 + 20 * Math.sin((2 * Math.PI * i) / 24) + noise()));
  for (let i = 0; i < values.length; i++) {
    f.update(values[i]!, i * SEC);
    f.forecast(6 * SEC);
    if (i === 399) t.is(f.selected(6 * SEC).name, 'calibrated:last-value', 'a tie keeps the first candidate');
  }
  t.is(f.selected(6 * SEC).name, 'calibrated:holt-winters');
});

test('selector: random walk, then noise around a level: last value, then the window mean', (t) => {
  const opts = { halfLifeMs: 60 * SEC };
  const f = new SelectorForecaster([new MeanSigmaForecaster(opts), new LastValueForecaster(opts)], opts);
  const noise = gaussian(rng(17));
  let walk = 100;
  const values = Array.from({ length: 1200 }, (_, i) => (i < 600 ? (walk += 3 * noise()) : 100 + 3 * noise()));
  const picks: string[] = [];
  for (let i = 0; i < values.length; i++) {
    f.update(values[i]!, i * SEC);
    f.forecast(SEC);
    if (i === 599 || i === 1199) picks.push(f.selected(SEC).name);
  }
  t.deepEqual(picks, ['last-value', 'mean-sigma']);
  // the switching margin keeps it from flapping between two close candidates
  t.true(f.selected(SEC).switches <= 4, `switches ${f.selected(SEC).switches}`);
});

// ---- the quantile GBM ----

/** Rows of (x0 uniform, x1 uniform or missing 10%) and y = a step on x0 plus standard normal noise. */
function stepRows(n: number, seed: number): { x: Float64Array; y: Float64Array } {
  const r = rng(seed);
  const g = gaussian(rng(seed + 1));
  const x = new Float64Array(n * 2);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[2 * i] = r();
    x[2 * i + 1] = r() < 0.1 ? Number.NaN : r();
    y[i] = (x[2 * i]! < 0.5 ? 0 : 10) + g();
  }
  return { x, y };
}

test('quantile GBM: a step plus normal noise gives the step + 1.28 at q 0.9, on both sides', (t) => {
  const { x, y } = stepRows(2000, 3);
  const m = QuantileGbm.fit(x, y, 2000, 2, 0.9);
  // the noise's p90 is 1.2816; shrinkage (0.1 x 60 rounds) and leaf quantiles of a finite sample
  // leave it within 0.25 (seen: 1.37 and 11.39)
  const low = m.predict([0.25, 0.5]);
  const high = m.predict([0.75, 0.5]);
  t.true(within(low, 1.2816, 0.25), `left of the step: ${low}`);
  t.true(within(high, 11.2816, 0.25), `right of the step: ${high}`);
  // an uninformative missing value changes nothing much: the split is on x0
  t.true(within(m.predict([0.75, Number.NaN]), high, 0.5));
  let covered = 0;
  for (let i = 0; i < 2000; i++) if (y[i]! <= m.predict([x[2 * i]!, x[2 * i + 1]!])) covered++;
  t.true(within(covered / 2000, 0.9, 0.02), `in-sample coverage ${covered / 2000}`);
});

test('quantile GBM: a missing value that matters gets a branch of its own', (t) => {
  const r = rng(21);
  const g = gaussian(rng(22));
  const n = 1500;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const missing = r() < 0.3;
    x[i] = missing ? Number.NaN : r();
    y[i] = (missing ? 10 : 0) + g();
  }
  const m = QuantileGbm.fit(x, y, n, 1, 0.5);
  t.true(within(m.predict([Number.NaN]), 10, 0.3), `missing: ${m.predict([Number.NaN])}`);
  t.true(within(m.predict([0.4]), 0, 0.3), `present: ${m.predict([0.4])}`);
  t.throws(() => QuantileGbm.fit(x, y, n, 1, 1), { instanceOf: RangeError });
  t.throws(() => QuantileGbm.fit(x, y, 0, 1, 0.5), { instanceOf: RangeError });
});

test('quantile GBM: the complete-tree layout predicts exactly as the node walk, at every depth, with missing and infinite values', (t) => {
  const r = rng(41);
  const F = 6;
  const n = 1200;
  const x = new Float64Array(n * F).map(() => (r() < 0.05 ? Number.NaN : 4 * r() - 2));
  const y = new Float64Array(n).map((_, i) => (x[i * F] || 0) + 0.5 * (x[i * F + 3] || 0) + r());
  const rows = Array.from({ length: 500 }, () => Array.from({ length: F }, () => (r() < 0.05 ? Number.NaN : r() < 0.02 ? Number.POSITIVE_INFINITY : 4 * r() - 2)));
  for (const depth of [1, 2, 3, 4, 5]) {
    for (const minLeaf of [2, 20, 300]) {
      const opts = { trees: 20, depth, minLeaf };
      const complete = QuantileGbm.fit(x, y, n, F, 0.9, opts);
      const walk = QuantileGbm.fit(x, y, n, F, 0.9, { ...opts, layout: 'walk' });
      const differ = rows.filter((row) => complete.predict(row) !== walk.predict(row)).length;
      t.is(differ, 0, `depth ${depth}, minLeaf ${minLeaf}: ${differ} rows differ`);
    }
  }
});

test('learner: fits once enough rows, refits as the set doubles, then every refitEvery rows', (t) => {
  const l = new QuantileLearner(1, 0.5, { rows: 64, firstFit: 16, refitEvery: 32, minLeaf: 2 });
  const noise = gaussian(rng(31));
  let i = 0;
  const add = (k: number): void => {
    for (const end = i + k; i < end; i++) l.add([i % 2], (i % 2) * 5 + 0.1 * noise());
  };
  add(15);
  t.false(l.ready);
  t.true(Number.isNaN(l.predict([1])));
  add(1);
  t.is(l.fits, 1);
  add(48); // 32 rows (a doubling); the next, 64, is the set full: the first refit (phase 0)
  t.is(l.fits, 3);
  add(31);
  t.is(l.fits, 3);
  add(1);
  t.is(l.fits, 4);
  t.true(within(l.predict([1]), 5, 0.5) && within(l.predict([0]), 0, 0.5), `${l.predict([0])} ${l.predict([1])}`);
});

test('learner: a phase delays the first fit, the fill\'s fits double from its unrounded count, and the refits come at its share of the period past the filling', (t) => {
  const fitsOf = (opts: { rows: number; firstFit: number; refitEvery?: number; phase: number }, n: number): number[] => {
    const l = new QuantileLearner(1, 0.5, { minLeaf: 2, ...opts });
    const at: number[] = [];
    for (let i = 1; i <= n; i++) {
      l.add([i % 2], i % 2);
      if (l.fits > at.length) at.push(i);
    }
    return at;
  };
  // first fit at 16 x 1.3 = 20.8 -> 21 rows, then 41.6 -> 42, 83.2 -> 83, 166.4 -> 166 (doubling the rounded count: 42, 84, 168)
  t.deepEqual(fitsOf({ rows: 256, firstFit: 16, phase: 0.3 }, 200), [21, 42, 83, 166]);
  // 64 rows, refits every 32: phase 0.5 fits at 24 and 48, not on the 64th row (where every series
  // started together would), then 16 rows past it and every 32 after
  t.deepEqual(fitsOf({ rows: 64, firstFit: 16, refitEvery: 32, phase: 0.5 }, 150), [24, 48, 80, 112, 144]);
  // phase 0.9: 30.4 -> 30 rows, 60.8 -> 61, then 64 + 29 = 93 (the refits spread over the whole period by phase)
  t.deepEqual(fitsOf({ rows: 64, firstFit: 16, refitEvery: 32, phase: 0.9 }, 130), [30, 61, 93, 125]);
  // a first fit past the capacity comes when the set fills
  t.deepEqual(fitsOf({ rows: 16, firstFit: 20, refitEvery: 10, phase: 0.5 }, 40), [16, 21, 31]);
});

test('damped trend: a climb whose rises shrink step by step bends its line towards where it settles; a jittery leak is followed straight', (t) => {
  // a cache settling towards 300 MiB (tau 30 steps): the 120-step line lands near 300, where a
  // straight line at the median rise, followed as far as the climb had run, read 341 at step 75
  const fill = new DampedTrend();
  let at75 = Number.NaN;
  let settlingFrom = -1;
  for (let s = 1; s <= 75; s++) {
    fill.update(20 + 280 * (1 - Math.exp(-s / 30)));
    if (fill.settling && settlingFrom < 0) settlingFrom = s;
    at75 = fill.climbLine(120);
  }
  t.log(`settling from step ${settlingFrom}; the 120-step line at step 75: ${at75.toFixed(1)} (settles at 300)`);
  // (8 rises for a line, then 8 fits in a row that agree where it settles)
  t.true(settlingFrom > 0 && settlingFrom <= 16, `${settlingFrom}`);
  // (followed as far ahead as it has run, 74 rises: where the fill is at step 149)
  t.true(Math.abs(at75 - (20 + 280 * (1 - Math.exp(-149 / 30)))) < 0.01, `${at75}`);
  // the line never reaches a level above where it settles, nor where it settles; it does reach one below, when the fill does
  t.is(fill.climbStepsTo(320), Number.POSITIVE_INFINITY);
  t.is(fill.climbStepsTo(300), Number.POSITIVE_INFINITY);
  const to290 = fill.climbStepsTo(290);
  const truth = -30 * Math.log((300 - 290) / 280) - 75;
  t.true(Math.abs(to290 - truth) < 0.05, `${to290} steps to 290, the fill's own ${truth.toFixed(2)}`);
  // a peak forecast under the line: moved onto it, no room above it where the climb settles
  const floored = fill.floorPeak(120, 200, 210);
  t.true(Math.abs(floored.p50 - at75) < 1e-9 && Math.abs(floored.p90 - at75) < 1e-9, JSON.stringify(floored));
  // a straight climb: its line and crossing as before, and room above its line
  const leak = new DampedTrend();
  for (let s = 0; s < 40; s++) leak.update(100 + 2 * s);
  t.false(leak.settling);
  t.true(Math.abs(leak.climbLine(10) - (178 + 20)) < 1e-9);
  t.true(Math.abs(leak.climbStepsTo(200) - 11) < 1e-9);
  t.true(leak.floorPeak(10, 150, 160).p90 > leak.climbLine(10) + 1, 'room above a leak\'s line');
  // sampled every 3 steps (holes between samples): the fit reads the rises against their steps
  const sparse = new DampedTrend();
  for (let s = 3; s <= 75; s += 3) sparse.update(20 + 280 * (1 - Math.exp(-s / 30)), s === 3 ? 1 : 3);
  t.true(sparse.settling);
  t.true(Math.abs(sparse.climbReach(1000) - 300) < 1, `settles at ${sparse.climbReach(1000)}`);
  // a leak whose rate ebbs and flows with load (2 per step, +-50% over 120 steps): its rises
  // shrink for a while, but where they would settle moves up; it is not read as settling
  const ebb = new DampedTrend();
  let ebbValue = 100;
  let ebbSettling = 0;
  for (let s = 1; s < 2000; s++) {
    ebbValue += 2 * (1 + 0.5 * Math.sin((2 * Math.PI * s) / 120));
    ebb.update(ebbValue);
    if (ebb.settling) ebbSettling++;
  }
  t.is(ebbSettling, 0);
  // a real fill, read each second from a memory cgroup (python filling towards 120 MiB, tau 8 s,
  // on top of its own 5 MiB): its readings jitter, and its settling points wander about 1% of
  // the level; read as settling by 20 s in, its line then near where it settles (about 125.5)
  const real = REAL_FILL_MIB.slice(0, 26);
  const cgroup = new DampedTrend();
  let realFrom = -1;
  for (const [i, v] of real.entries()) {
    cgroup.update(v);
    if (cgroup.settling && realFrom < 0) realFrom = i;
  }
  t.log(`a real fill read as settling from ${realFrom} s; its 120-step reach at ${real.length - 1} s: ${cgroup.climbReach(120).toFixed(1)}`);
  t.true(realFrom > 0 && realFrom <= 20, `${realFrom}`);
  t.true(cgroup.settling && Math.abs(cgroup.climbReach(120) - 125.5) < 1.5, `${cgroup.climbReach(120)}`);
  // the same read in whole pages (0.25 MiB steps, a tie now and then in its last 20 s): a lone tie
  // keeps the line's run (two end it), and once read as settling it stays so while its rises
  // shrink, though one fit's settling point is a page off (it read a straight climb for a tick)
  const pages = PAGED_FILLS_MIB[0]!.slice(0, 39);
  const paged = new DampedTrend();
  const settlingAt: boolean[] = pages.map((v) => {
    paged.update(v);
    return paged.settling;
  });
  const from = settlingAt.indexOf(true);
  t.log(`read in pages: settling from ${from} s to ${settlingAt.lastIndexOf(true)} s, ${settlingAt.slice(from).filter((x) => !x).length} ticks not between`);
  t.true(from > 0 && from <= 22 && settlingAt.slice(from).every(Boolean), settlingAt.map((x) => (x ? 1 : 0)).join(''));
  paged.update(pages.at(-1)!); // a second tie in a row: the run is over
  t.true(Number.isNaN(paged.climbRate) && !paged.settling);
  // a creep read in pages, rising every other step: its line rises at its rate, not at its rises'
  // (each rise after a tie is read over both steps; 2x the rate before)
  const creep = new DampedTrend();
  for (let i = 0; i < 40; i++) creep.update(100 + 0.25 * Math.floor(i / 2));
  t.true(within(creep.climbRate, 0.125, 0.01), `creep rate ${creep.climbRate}`);
  // a leak whose rate swings +-90% over 60 s, read in pages: settling in its troughs, a fit out of
  // line forgiven once, not twice in a row (on 429 of 2000 ticks then; 330 now, 99 before the
  // line kept its run through a tie: the cost of the two)
  const swing = new DampedTrend();
  let swingSettling = 0;
  for (let i = 0; i < 2000; i++) {
    swing.update(Math.round(4 * (100 + 2 * i + (0.9 * 120 / (2 * Math.PI)) * (1 - Math.cos((2 * Math.PI * i) / 60)))) / 4);
    if (swing.settling) swingSettling++;
  }
  t.log(`a leak swinging +-90% over 60 s, read in pages: settling on ${swingSettling} of 2000 ticks`);
  t.true(swingSettling <= 360, `${swingSettling}`);
  // a leak whose rises jitter (0.1 to 1.9 of its rate) is seldom read as settling
  const r = rng(3);
  const jitter = new DampedTrend();
  let v = 100;
  let onLine = 0;
  let settling = 0;
  for (let i = 0; i < 20_000; i++) {
    v += 0.1 + 1.8 * r();
    jitter.update(v);
    if (!Number.isNaN(jitter.climbRate)) onLine++;
    if (jitter.settling) settling++;
  }
  t.log(`jittery leak read settling on ${settling} of ${onLine} ticks on its line`);
  t.true(onLine > 19_000 && settling < 0.005 * onLine, `${settling} / ${onLine}`);
  // off a climb: NaN
  const flat = new DampedTrend();
  for (let s = 0; s < 20; s++) flat.update(5);
  t.true(Number.isNaN(flat.climbStepsTo(10)));
});

test('damped trend: a climb read as settling whose run ends has settled (it climbs again only from fresh rises); a leak\'s dip after a slow spell is no settling', (t) => {
  // a fill read in pages towards 125 MiB (tau 9 s): read as settling from 22 s, its run ends
  // with a second tie at 48 s. The climb's flag held on for a few more samples (net rises in its
  // last eight), off a line: a cold peak followed the trend's path, 139-144 MiB 60-120 s on,
  // and counted down to a 144 MiB limit
  const d = new DampedTrend();
  let settledAt = -1;
  let climbingAfter = 0;
  for (let s = 1; s <= 60; s++) {
    d.update(pagedFillMib(s, 9, 5));
    if (d.settled) {
      t.is(settledAt, -1, `settled twice: ${settledAt} and ${s}`);
      settledAt = s;
    }
    if (settledAt > 0 && d.climbing) climbingAfter++;
  }
  t.log(`settled at ${settledAt} s; climbing on ${climbingAfter} samples after`);
  t.true(settledAt >= 40 && settledAt <= 50, `${settledAt}`);
  t.is(climbingAfter, 0);
  for (let i = 1; i <= 3; i++) d.update(124.75 + i);
  t.false(d.climbing, 'three rises');
  d.update(129);
  t.true(d.climbing, 'four rises in a row: a climb again');
});

test('damped trend: a climb whose rate falls 6-fold from its steady rate of 8-24 steps before has faded (a fill, read to the byte or in pages); a leak does not (noisy, swinging +-70%, slow after noise, a sawtooth), or no longer once a fast start is out of the look-back', (t) => {
  // faded: no floor under a peak forecast off a settling line, and neither model follows its path
  const run = (values: readonly number[]): { faded: number[]; fadedNow: number[]; trend: DampedTrend } => {
    const trend = new DampedTrend(undefined, undefined, undefined, true);
    const faded: number[] = [];
    const fadedNow: number[] = [];
    for (const [i, v] of values.entries()) {
      trend.update(v);
      if (trend.faded) faded.push(i);
      if (trend.fadedJustNow) fadedNow.push(i);
    }
    return { faded, fadedNow, trend };
  };
  const fill = (tau: number, n: number): number[] => Array.from({ length: n }, (_, s) => 5 + 120 * (1 - Math.exp(-(s + 0.5) / tau)));
  const fills = [fill(8, 60), REAL_FILL_MIB, ...PAGED_FILLS_MIB, CI_FILL_MIB].map(run);
  const at = fills.map((f) => f.faded[0] ?? -1);
  t.log(`fills faded from ${at.join(', ')} s (tau 8 s; one read to the byte; three in pages)`);
  // (a fill with tau 8 s is 5 MiB from where it settles at 26 s)
  t.true(at.every((s) => s >= 10 && s <= 25), `${at}`);
  // the event once, where it first fades
  for (const f of fills) t.deepEqual(f.fadedNow, f.faded.slice(0, 1));
  // on the faded fill, no floor where it is not read as settling: a forecast is left as given
  const ci = new DampedTrend(undefined, undefined, undefined, true);
  let unfloored = 0;
  for (const v of CI_FILL_MIB.slice(0, 40)) {
    ci.update(v);
    if (ci.faded && !ci.settling) {
      unfloored++;
      t.deepEqual(ci.floorPeak(60, v, v + 1), { p50: v, p90: v + 1 });
    }
  }
  t.true(unfloored > 0, 'the CI run\'s fill faded, not read as settling, on some ticks');
  // a missed tick (a hole of one) leaves it faded: the look-back counts steps, not samples
  // (restarted at the hole, it read as not faded from there until 41 s)
  const fadedCi = run(CI_FILL_MIB).faded;
  for (const drop of [23, 26, 28, 30, 33]) {
    const holed = new DampedTrend(undefined, undefined, undefined, true);
    const faded: number[] = [];
    for (const [i, v] of CI_FILL_MIB.entries()) {
      if (i === drop) continue;
      holed.update(v, i === drop + 1 ? 2 : 1);
      if (holed.faded) faded.push(i);
    }
    t.deepEqual(faded, fadedCi.filter((s) => s !== drop), `a hole at ${drop} s`);
  }
  const leaks: [string, (s: number, r: () => number) => number][] = [
    ['1 MiB/s +-2 MiB', (s, r) => 100 + s + 2 * (2 * r() - 1)],
    ['2 MiB/s +-70% over 90 s', (s) => 100 + 2 * s - (2 * 0.7 * 90 / (2 * Math.PI)) * (Math.cos((2 * Math.PI * s) / 90) - 1)],
    ['0.2 MiB/s after +-20 MiB of noise', (s, r) => (s < 400 ? 300 + (r() - 0.5) * 40 : 300 + 0.2 * (s - 400))],
    // (8 rises of 1.5, a drop of 8, a rise of 1: a GC's sawtooth that leaks 0.5 MiB/s)
    ['a sawtooth every 10 s', (s) => 100 + 5 * Math.floor(s / 10) + (s % 10 < 9 ? 1.5 * (s % 10) : 4)],
  ];
  for (const [name, leak] of leaks) {
    for (let seed = 1; seed <= 5; seed++) {
      const r = rng(seed);
      t.deepEqual(run(Array.from({ length: 600 }, (_, s) => leak(s, r))).faded, [], `${name}, seed ${seed}`);
    }
  }
  // one reading 20 MiB up in the fill's creep (a review: on the rise over 8 steps it marked the
  // climb a leak, never faded again): faded again once the drop after it is 8 samples behind
  // (later in its creep the climb's flag drops first)
  for (const at of [24, 26, 30]) {
    const spiked = run(CI_FILL_MIB.map((v, i) => (i === at ? v + 20 : v)));
    t.true(spiked.faded.includes(at + 9), `a spike at ${at} s: faded at ${spiked.faded.join(' ')}`);
  }
  // a leak after a quick fill (tau 3 s, then 0.5 MiB/s from 30 s; in pages: the climb's flag
  // drops between them) is not judged against the fill's rates: it never fades
  const after = run(Array.from({ length: 300 }, (_, s) => Math.floor((s < 30 ? 5 + 60 * (1 - Math.exp(-s / 3)) : 65 + 0.5 * (s - 30)) * 4) / 4));
  t.deepEqual(after.faded.filter((s) => s >= 30), [], `${after.faded}`);
  // a leak in bursts (3 MiB/s for 10 s, then 0.3 MiB/s for 20 s; 5 for 5, then 0.5 for 25): its
  // first slow spell fades, once; sped up again, it is a leak, not faded again until its climb
  // ends (fading in each slow spell, horizon-peak forgot what it learnt of the climb every
  // cycle: its countdown on 32 of the last 60 s before the limit, not 60)
  for (const [fast, fastFor, slow] of [[3, 10, 0.3], [5, 5, 0.5]] as const) {
    const cycle = fast * fastFor + slow * (30 - fastFor);
    const bursts = run(Array.from({ length: 600 }, (_, s) => {
      const p = s % 30;
      return 100 + cycle * Math.floor(s / 30) + (p < fastFor ? fast * p : fast * fastFor + slow * (p - fastFor));
    }));
    t.log(`bursts of ${fast} MiB/s for ${fastFor} s: faded at ${bursts.faded.join(' ')}`);
    t.true(bursts.fadedNow.length <= 1 && bursts.faded.every((s) => s < 60), `${bursts.faded}`);
  }
  // 10 MiB/s for 15 s, then a steady 1.5 MiB/s: faded while the fast start's rises are in the
  // look-back (the line's 8 rises, 24 steps back), then followed again, its line a floor under a
  // peak forecast
  const start = run(Array.from({ length: 300 }, (_, s) => (s < 15 ? 10 * s : 150 + 1.5 * (s - 15))));
  t.log(`a leak after a fast start: faded at ${start.faded.join(' ')}`);
  t.true(start.faded.length > 0 && start.faded.every((s) => s < 15 + 8 + 24), `${start.faded}`);
  t.false(start.trend.faded);
  t.true(start.trend.floorPeak(10, 500, 501).p50 > 500, 'its line floors a forecast again');
});

test('damped trend: a climb that stops on a noisy level is read as stopped once, 8 steps or more after its flag drops; leaks (noisy, swinging, sawtooths, one that slows to half), a noisy ramp and noise alone never are', (t) => {
  const stops = (values: readonly number[]): number[] => {
    const trend = new DampedTrend(undefined, undefined, undefined, true);
    const at: number[] = [];
    for (const [i, v] of values.entries()) {
      trend.update(v);
      if (trend.stopped) at.push(i);
    }
    return at;
  };
  // 2 MiB/s for 120 s to 340 MiB, then flat: its noise (+-0.2 or +-1 MiB) drops the flag with falls
  for (const noise of [0.2, 1]) {
    for (let seed = 1; seed <= 5; seed++) {
      const r = rng(seed);
      const at = stops(Array.from({ length: 400 }, (_, s) => 100 + 2 * Math.max(0, Math.min(s - 60, 120)) + noise * (2 * r() - 1)));
      t.is(at.length, 1, `+-${noise}, seed ${seed}: ${at}`);
      // (the flag drops within 8 samples of the stop; 8 steps or more later, the verdict)
      t.true(at[0]! > 180 && at[0]! <= 180 + 8 + 8 + 2, `+-${noise}, seed ${seed}: stopped at ${at[0]}`);
    }
  }
  // a clean stop (the same value after it) reads stopped as its flag drops, as before
  const clean = stops(Array.from({ length: 300 }, (_, s) => 100 + 2 * Math.max(0, Math.min(s - 60, 120))));
  t.true(clean.length === 1 && clean[0]! <= 180 + 8, `${clean}`);
  const climbs: [string, (s: number, r: () => number) => number][] = [
    ['1 MiB/s +-2 MiB', (s, r) => 100 + s + 2 * (2 * r() - 1)],
    ['1 MiB/s +-0.5 MiB', (s, r) => 100 + s + 0.5 * (2 * r() - 1)],
    ['2 MiB/s +-70% over 90 s, +-1 MiB', (s, r) => 100 + 2 * s - (2 * 0.7 * 90 / (2 * Math.PI)) * (Math.cos((2 * Math.PI * s) / 90) - 1) + (2 * r() - 1)],
    ['a sawtooth every 10 s', (s) => 100 + 5 * Math.floor(s / 10) + (s % 10 < 9 ? 1.5 * (s % 10) : 4)],
    // (these draw lines and drop their flags with falls: judged, and not stopped)
    ['a sawtooth every 20 s (18 rises of 1.5, a drop of 17: 0.5 MiB/s), +-1 MiB', (s, r) => 100 + 10 * Math.floor(s / 20) + (s % 20 < 19 ? 1.5 * (s % 20) : 10) + (2 * r() - 1)],
    ['2 MiB/s, then 1 MiB/s from 60 s, +-1 MiB', (s, r) => (s < 60 ? 2 * s : 120 + (s - 60)) + (2 * r() - 1)],
    ['0.012 cores/s +-0.05', (s, r) => 0.2 + 0.012 * s + 0.05 * (2 * r() - 1)],
    ['noise alone, +-1', (_, r) => 100 + (2 * r() - 1)],
  ];
  for (const [name, climb] of climbs) {
    for (let seed = 1; seed <= 5; seed++) {
      const r = rng(seed);
      t.deepEqual(stops(Array.from({ length: 600 }, (_, s) => climb(s, r))), [], `${name}, seed ${seed}`);
    }
  }
});

test('damped trend: climbing starts with four rises in a row or five net rises in eight, and lasts through a dip', (t) => {
  const climbs = (values: number[]): boolean[] => {
    const d = new DampedTrend();
    return values.map((x) => {
      d.update(x);
      return d.climbing;
    });
  };
  // a filling workload: from its fourth rise (the first sample is compared with nothing)
  t.deepEqual(climbs([1, 2, 3, 4, 5, 6]), [false, false, false, false, true, true]);
  // a dip once climbing does not stop it; two in a row do
  t.deepEqual(climbs([1, 2, 3, 4, 5, 4.5, 6, 7]).slice(4), [true, true, true, true]);
  t.deepEqual(climbs([1, 2, 3, 4, 5, 4.5, 4, 3.5]).slice(4), [true, true, false, false]);
  // ties are neither: a climb by steps every other sample never has four rises in a row nor five net
  t.false(climbs([1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]).some(Boolean));
  // a dip after every third rise: never four in a row, but five net rises in eight start it
  t.deepEqual(climbs([1, 2, 3, 4, 3.5, 4.5, 5.5, 6.5]).slice(-2), [false, true]);
  // noise: up and down is never a climb, nor is a steady value (no slope)
  t.false(climbs([1, 2, 1, 2, 1, 2, 1, 2, 1, 2]).some(Boolean));
  t.false(climbs([3, 3, 3, 3, 3, 3, 3]).some(Boolean));
});

test('damped trend: a climb that fell back by half its rise within 24 samples (a square wave\'s edge) is recoiled: its path is not followed; a climb, a leak with GC dips, a climb after a small burst are not', (t) => {
  const last = (values: number[]): DampedTrend => {
    const d = new DampedTrend();
    for (const x of values) d.update(x);
    return d;
  };
  const wave = (cycles: number): number[] => Array.from({ length: cycles * 10 }, (_, i) => [0.3, 0.6, 0.61, 0.62, 0.63, 0.3, 0.02, 0.01, 0.02, 0.01][i % 10]!);
  // the on-edge's rises in a row start a climb, and the wave fell by as much 5 samples before
  const square = last([...wave(3), 0.3, 0.6, 0.61, 0.62]);
  t.true(square.climbing && square.recoiled);
  // the first edge, with no fall before it, is a climb to follow (nothing says otherwise yet)
  const first = last([0.01, 0.02, 0.3, 0.6, 0.61, 0.62]);
  t.true(first.climbing);
  t.false(first.recoiled);
  // a steady climb; a climb of 0.05 a step after a 0.1 burst
  const climb = last(Array.from({ length: 30 }, (_, i) => 10 + 0.5 * i));
  t.true(climb.climbing && !climb.recoiled);
  const afterBurst = last([1, 1, 1.1, 1, 1, 1, 1, 1.05, 1.1, 1.15, 1.2, 1.25]);
  t.true(afterBurst.climbing && !afterBurst.recoiled);
  // leaks whose falls are larger than half their rise over 8 steps, but whose lows climb: a GC's
  // sawtooth (8 rises of 1.5, a drop of 8: recoiled on most of its climbing samples, its lows
  // not read), 1 MiB/s +-2 MiB; against a wave with noise, recoiled whenever it climbs
  const climbingRecoiled = (values: number[]): [number, number] => {
    const d = new DampedTrend();
    let climbing = 0;
    let recoiled = 0;
    for (const x of values) {
      d.update(x);
      if (!d.climbing) continue;
      climbing++;
      if (d.recoiled) recoiled++;
    }
    return [climbing, recoiled];
  };
  const sawtooth = climbingRecoiled(Array.from({ length: 300 }, (_, s) => 100 + 5 * Math.floor(s / 10) + (s % 10 < 9 ? 1.5 * (s % 10) : 4)));
  t.true(sawtooth[0] > 200 && sawtooth[1] === 0, `sawtooth: ${sawtooth[1]} of ${sawtooth[0]} climbing samples recoiled`);
  const r = rng(3);
  const noisyLeak = climbingRecoiled(Array.from({ length: 300 }, (_, s) => 100 + s + 2 * (2 * r() - 1)));
  t.true(noisyLeak[0] > 100 && noisyLeak[1] === 0, `noisy leak: ${noisyLeak[1]} of ${noisyLeak[0]} climbing samples recoiled`);
  const noisyWave = climbingRecoiled(wave(20).map((x) => x + 0.02 * (r() - 0.5)));
  t.true(noisyWave[0] > 0 && noisyWave[1] >= 0.9 * noisyWave[0], `wave: ${noisyWave[1]} of ${noisyWave[0]} climbing samples recoiled`);
  t.log(`climbing / recoiled samples: sawtooth ${sawtooth.join(' / ')}, noisy leak ${noisyLeak.join(' / ')}, wave ${noisyWave.join(' / ')}`);
});

test('horizon-peak: a square wave whose season the base takes up keeps its 60 s peak forecast at the wave\'s peak: the excesses learnt before are moved to the new reference, not added to it', (t) => {
  // 0.6 5 s on, 0.02 5 s off, edges caught part way: the season is found about 75 s in. Added
  // to the seasonal reference (the wave's peak), the excesses of one at its mean read the 60 s
  // peak's p90 at 0.9-2.8 until the fresh ones took over (the 90th percentile of the ticks 60-200
  // s: 0.90-0.92, now 0.62-0.64); 34 of 1400 peaks above the p90 by 2%, as now
  const worst: number[] = [];
  let above = 0;
  let n = 0;
  for (let seed = 1; seed <= 10; seed++) {
    const r = rng(seed);
    const f = createForecaster('horizon-peak', { halfLifeMs: 60 * SEC, stepMs: SEC });
    const values: number[] = [];
    const p90s: number[] = [];
    for (let i = 0; i < 260; i++) {
      const phase = i % 10;
      const v = phase === 0 || phase === 5 ? 0.6 * (0.2 + 0.6 * r()) : (phase < 5 ? 0.6 : 0.02) + (r() - 0.5) * 0.02;
      f.update(v, i * SEC);
      values.push(v);
      p90s.push(f.forecast(60 * SEC).quantile(0.9));
    }
    // (the 90th percentile over those ticks: the base's own reference jumps on a tick now and then)
    worst.push(p90s.slice(60, 200).sort((a, b) => a - b)[126]!);
    for (let i = 60; i < 200; i++, n++) if (Math.max(...values.slice(i + 1, i + 61)) > 1.02 * p90s[i]!) above++;
  }
  t.log(`60 s peak p90 over 60-200 s, its 90th percentile per seed: ${worst.map((x) => x.toFixed(2)).join(' ')}; peaks above it by 2%: ${above} of ${n}`);
  t.true(worst.every((x) => x < 0.7), 'the p90 stays near the wave\'s peak (0.61)');
  t.true(above <= 0.05 * n, `${above} peaks above the p90`);
});

test('learner pool: keeps at most rowsPerStep rows of a step, fits once enough, as its set doubles, then by time, replays the same', (t) => {
  const make = (): PooledLearner => new PooledLearner(1, 0.5, { rows: 256, rowsPerStep: 4, firstFit: 40, refitSteps: 20, minLeaf: 2 }, 7);
  const a = make();
  const b = make();
  const noise = gaussian(rng(5));
  const fitsAt: number[] = [];
  // 30 series a step: the label is 5 where the feature is 1, 0 where it is 0
  for (let step = 0; step < 100; step++) {
    for (let k = 0; k < 30; k++) {
      const f = (step + k) % 2;
      const label = 5 * f + 0.1 * noise();
      a.add([f], label, step);
      b.add([f], label, step);
    }
    if (a.fits > fitsAt.length) fitsAt.push(step);
  }
  // 4 rows a step: the first fit needs 10 steps of rows (40), at the start of the 11th step;
  // while the set fills, again each time it doubles (80 rows at step 20, 160 at step 40); full
  // (256 rows) from step 64, every 20 steps
  t.deepEqual(fitsAt.slice(0, 3), [10, 20, 40], `fits at steps ${fitsAt}`);
  for (let i = 3; i < fitsAt.length; i++) t.is(fitsAt[i]! - fitsAt[i - 1]!, 20, `then every 20 steps: ${fitsAt}`);
  t.true(fitsAt.length >= 5);
  t.true(within(a.predict([1]), 5, 0.5) && within(a.predict([0]), 0, 0.5), `${a.predict([0])} ${a.predict([1])}`);
  t.is(a.predict([1]), b.predict([1]), 'the same rows, the same draws, the same model');
  t.true(Number.isNaN(new PooledLearner(1, 0.5).predict([1])), 'NaN before the first fit');
});

test('learner pool: a new series\' engine forecasts from what the others taught, before its own learner fits', (t) => {
  const pool = new LearnerPool();
  const g = gaussian(rng(8));
  // bursts every 20 steps: 10 then 30 for 5 steps
  const burst = (i: number, shift: number): number => ((i + shift) % 20 < 5 ? 30 : 10) + g();
  const engines = [0, 3, 7, 11].map(() => new ForecastEngine({ halfLifeMs: 600 * SEC, stepMs: SEC, learnerPool: pool }));
  for (let i = 0; i < 900; i++) {
    engines.forEach((e, k) => {
      e.update(burst(i, 3 * k), i * SEC);
      e.peak(10 * SEC);
    });
  }
  t.true(pool.size >= 1);
  const fresh = new ForecastEngine({ halfLifeMs: 600 * SEC, stepMs: SEC, learnerPool: pool });
  for (let i = 900; i < 960; i++) {
    fresh.update(burst(i, 5), i * SEC);
    fresh.peak(10 * SEC);
  }
  const seen = fresh.inspect('peak', 10 * SEC)!;
  // 60 steps in: its own learner has not fitted (its learned candidate is the conformal one); the pooled one has
  t.is(seen.candidates.learned.p90, seen.candidates.conformal.p90, 'its own learner is not fitted yet');
  t.not(seen.candidates.pooled.p90, seen.candidates.learned.p90, 'the pooled model answers already');
  t.true(seen.candidates.pooled.p90 > 20, `a peak over the next 10 steps holds a burst: pooled p90 ${seen.candidates.pooled.p90}`);
  // without a pool the candidate is left out
  const alone = new ForecastEngine({ halfLifeMs: 600 * SEC, stepMs: SEC });
  for (let i = 0; i < 100; i++) {
    alone.update(burst(i, 0), i * SEC);
    alone.peak(10 * SEC);
  }
  t.is(alone.inspect('peak', 10 * SEC)!.weights.pooled, 0);
});

test('learner pool: pooled-seasonal learns the target from its seasonal median, once a season is held', (t) => {
  const pool = new LearnerPool();
  const g = gaussian(rng(9));
  // a square wave of period 40 (20 steps at 10, then 20 at 30), each series at its own level
  const wave = (i: number, level: number): number => level + ((i % 40) < 20 ? 10 : 30) + g();
  const opts = { halfLifeMs: 600 * SEC, stepMs: SEC, seasonMs: 40 * SEC, learnerPool: pool };
  const engines = [0, 5, 10, 20].map((level) => ({ level, e: new ForecastEngine(opts) }));
  const early = engines[0]!.e;
  early.update(wave(0, 0), 0);
  early.point(10 * SEC);
  const first = early.inspect('point', 10 * SEC)!.candidates;
  t.deepEqual(first['pooled-seasonal'], first.pooled, 'no season held yet: it repeats the pooled candidate');
  for (let i = 1; i < 900; i++) {
    for (const { level, e } of engines) {
      e.update(wave(i, level), i * SEC);
      e.point(10 * SEC);
    }
  }
  // i = 899 is in a low phase (899 % 40 = 19); 10 steps on is the high phase
  const c = engines[2]!.e.inspect('point', 10 * SEC)!.candidates;
  t.not(c['pooled-seasonal'].p90, c.pooled.p90, 'its own model answers');
  t.true(c['pooled-seasonal'].p90 > 10 + 27 && c['pooled-seasonal'].p90 < 10 + 36, `the high phase ahead (40 at level 10): p90 ${c['pooled-seasonal'].p90.toFixed(1)}`);
  const alone = new ForecastEngine({ ...opts, learnerPool: undefined });
  for (let i = 0; i < 100; i++) {
    alone.update(wave(i, 0), i * SEC);
    alone.point(10 * SEC);
  }
  t.is(alone.inspect('point', 10 * SEC)!.weights['pooled-seasonal'], 0, 'without a pool it is left out');
});

// ---- the engine ----

test('engine: a phase mix weighs the candidates by their losses at this phase of the season (a nightly spike on a wandering level)', (t) => {
  const S = 480;
  const r = rng(21);
  // a random walk (the newest value is the best guess) with a spike of 300 at phase 200-203 of every season
  let level = 50;
  const series = Array.from({ length: S * 20 }, (_, i) => {
    level = Math.max(5, level + 4 * (r() - 0.5));
    return level + (i % S >= 200 && i % S < 204 ? 300 : 0);
  });
  // two candidates: 'last' wins all day, 'seasonal' at the spike
  const without = ENGINE_CANDIDATES.filter((c) => c !== 'last' && c !== 'seasonal');
  const run = (phase: boolean): { before: { last: number; seasonal: number }; midday: { last: number; seasonal: number }; loss: number } => {
    const e = new ForecastEngine({ halfLifeMs: 600 * SEC, stepMs: SEC, seasonMs: S * SEC, mixes: [{ eta: 10, phase }], without, learner: false });
    const p90: number[] = [];
    let before = { last: 0, seasonal: 0 };
    let midday = { last: 0, seasonal: 0 };
    series.forEach((v, i) => {
      e.update(v, i * SEC);
      p90.push(e.point(SEC).quantile(0.9));
      const w = e.inspect('point', SEC)!.weights;
      if (i === S * 19 + 199) before = { last: w.last, seasonal: w.seasonal };
      if (i === S * 19 + 100) midday = { last: w.last, seasonal: w.seasonal };
    });
    let loss = 0;
    for (let i = S * 15; i + 1 < series.length; i++) loss += pinball(series[i + 1]!, p90[i]!, 0.9);
    return { before, midday, loss };
  };
  const phase = run(true);
  const day = run(false);
  t.true(phase.before.seasonal > 0.9, `just before the spike the phase mix follows the seasonal candidate: ${JSON.stringify(phase.before)}`);
  t.true(phase.midday.last > 0.9, `elsewhere the newest value: ${JSON.stringify(phase.midday)}`);
  t.true(day.before.last > 0.9, `a memory of the whole day follows the newest value into the spike: ${JSON.stringify(day.before)}`);
  t.true(phase.loss < 0.6 * day.loss, `p90 loss over the last five seasons: ${phase.loss.toFixed(0)} with the phase mix, ${day.loss.toFixed(0)} without`);
});

test('engine: two learning rates make two combinations, mixed by their own loss (weights between those of each rate alone)', (t) => {
  const g = gaussian(rng(44));
  const make = (etas: number[]): ForecastEngine => new ForecastEngine({ halfLifeMs: 600 * SEC, stepMs: SEC, mixes: etas.map((eta) => ({ eta })), learner: false });
  const [soft, sharp, both] = [make([5]), make([20]), make([5, 20])];
  let x = 50;
  for (let i = 0; i < 600; i++) {
    x = Math.max(0, x + g()); // a random walk
    for (const e of [soft, sharp, both]) {
      e.update(x, i * SEC);
      e.point(5 * SEC);
    }
  }
  const w = (e: ForecastEngine): Record<EngineCandidate, number> => e.inspect('point', 5 * SEC)!.weights;
  const sum = Object.values(w(both)).reduce((a, b) => a + b, 0);
  t.true(within(sum, 1, 1e-9), `weights sum to ${sum}`);
  for (const c of ENGINE_CANDIDATES) {
    const lo = Math.min(w(soft)[c], w(sharp)[c]);
    const hi = Math.max(w(soft)[c], w(sharp)[c]);
    t.true(w(both)[c] >= lo - 1e-12 && w(both)[c] <= hi + 1e-12, `${c}: ${w(both)[c]} within [${lo}, ${hi}]`);
  }
  const leader = ENGINE_CANDIDATES.reduce((a, b) => (w(sharp)[b] > w(sharp)[a] ? b : a));
  t.true(w(sharp)[leader] > w(soft)[leader], `the sharper rate leans further on the leader (${leader}): ${w(sharp)[leader]} vs ${w(soft)[leader]}`);
  t.throws(() => make([]), { instanceOf: RangeError });
  t.throws(() => make([5, -1]), { instanceOf: RangeError });
});

test('engine: p90 under-prediction lands in 7%..13% on stationary heavy-tailed noise, value and peak; the p99 near 1%', (t) => {
  const g = gaussian(rng(12));
  const t3 = (): number => g() / Math.sqrt((g() ** 2 + g() ** 2 + g() ** 2) / 3);
  const values = Array.from({ length: 4000 }, (_, i) => Math.max(0, 100 + 20 * Math.sin((2 * Math.PI * i) / 700) + 8 * t3()));
  // 3500 scored points: a binomial sd of 0.5 points for the value; consecutive peak windows share
  // 9 of 10 steps, so the peak's sd is nearer 1.6 points: the band is the issue's 7%..13% for all
  for (const [kind, steps] of [['point', 1], ['point', 10], ['peak', 10]] as const) {
    const e = new ForecastEngine({ halfLifeMs: 600 * SEC });
    let under = 0;
    let under99 = 0;
    let n = 0;
    for (let i = 0; i < values.length; i++) {
      e.update(values[i]!, i * SEC);
      const fc = kind === 'peak' ? e.peak(steps * SEC) : e.point(steps * SEC);
      if (i < 500 || i + steps >= values.length) continue;
      const actual = kind === 'peak' ? Math.max(...values.slice(i + 1, i + steps + 1)) : values[i + steps]!;
      if (actual > fc.quantile(0.9)) under++;
      if (actual > fc.quantile(0.99)) under99++;
      n++;
    }
    t.log(`${kind} ${steps} steps: p90 exceeded ${((100 * under) / n).toFixed(1)}%, p99 ${((100 * under99) / n).toFixed(1)}%`);
    t.true(under / n >= 0.07 && under / n <= 0.13, `${kind} ${steps}: ${((100 * under) / n).toFixed(1)}%`);
    // the tail calibrated on its own misses (read off the body's normal: 2-3 times too often here)
    t.true(under99 / n >= 0.002 && under99 / n <= 0.02, `${kind} ${steps}: p99 exceeded ${((100 * under99) / n).toFixed(1)}%`);
  }
});

// (a walkthrough of predict: the engine's P(above a level) scored worse than a constant; on a
// series switching between phases its P read 0.9-1 where the level was passed 55% of the time)
test('engine: a value\'s spread below the p50 is calibrated on its own: on a series switching between two phases the p10 is passed downwards near 10%, and P(above a level under the p50) follows', (t) => {
  const r = rng(7);
  // phases of 20-80 s at 0.2 or 1.0 cores, with a little noise
  const values: number[] = [];
  while (values.length < 6000) {
    const level = values.length === 0 || values.at(-1)! > 0.6 ? 0.2 : 1.0;
    const len = 20 + Math.floor(r() * 60);
    for (let i = 0; i < len; i++) values.push(level + 0.05 * r());
  }
  const steps = 30;
  const score = (calibration: 'offset' | 'none'): { below10: number; highP: number; highPObserved: number } => {
    const e = new ForecastEngine({ halfLifeMs: 600 * SEC, calibration });
    let below10 = 0;
    let n = 0;
    let highP = 0;
    let highAbove = 0;
    for (let i = 0; i < values.length; i++) {
      e.update(values[i]!, i * SEC);
      if (i < 1000 || i + steps >= values.length) continue;
      const fc = e.point(steps * SEC);
      const actual = values[i + steps]!;
      if (actual < fc.quantile(0.1)) below10++;
      // a level between the phases: P(above it) when the engine is nearly sure
      if (fc.exceedance(0.6) >= 0.9) {
        highP++;
        if (actual > 0.6) highAbove++;
      }
      n++;
    }
    return { below10: below10 / n, highP, highPObserved: highP > 0 ? highAbove / highP : Number.NaN };
  };
  const calibrated = score('offset');
  const not = score('none');
  t.log(`p10 passed downwards: ${(100 * calibrated.below10).toFixed(1)}% (uncalibrated ${(100 * not.below10).toFixed(1)}%); ` +
    `P >= 0.9 said ${calibrated.highP} times, above the level ${(100 * calibrated.highPObserved).toFixed(0)}% of them (uncalibrated ${not.highP}, ${(100 * not.highPObserved).toFixed(0)}%)`);
  t.true(calibrated.below10 >= 0.06 && calibrated.below10 <= 0.16, `${(100 * calibrated.below10).toFixed(1)}%`);
  t.true(not.below10 > 0.2, `uncalibrated, the p10 is passed far more often: ${(100 * not.below10).toFixed(1)}%`);
  t.true(calibrated.highP < not.highP / 2, 'near-certain far less often');
});

test('engine-peak: on a level with random spikes the 60 s peak\'s p90 misses about 10% (an offset leaking towards 0: 12.5% on the first)', (t) => {
  // The mix under-covers these peaks by a lasting amount: the offset must hold it, not leak it away.
  // (A 60 s peak's misses come in runs: 4,000 scored seconds are about 70 independent windows, and
  // their miss rate wandered by 1.5 points from run to run; 19,000 hold it to about 0.7.)
  for (const [p, size, seed] of [[0.02, 2, 2], [0.005, 5, 3], [0.03, 1.5, 4]] as const) {
    const r = rng(seed);
    const values = Array.from({ length: 20_000 }, () => 100 * (1 + 0.1 * (r() - 0.5)) + (r() < p ? 100 * size * r() : 0));
    const e = new ForecastEngine({ halfLifeMs: 600 * SEC });
    let under = 0;
    let n = 0;
    for (let i = 0; i < values.length; i++) {
      e.update(values[i]!, i * SEC);
      const fc = e.peak(60 * SEC);
      if (i < 1000 || i + 60 >= values.length) continue;
      if (Math.max(...values.slice(i + 1, i + 61)) > fc.quantile(0.9)) under++;
      n++;
    }
    t.log(`spikes ${p} a step, up to ${size}x: p90 exceeded ${((100 * under) / n).toFixed(1)}%`);
    t.true(under / n >= 0.085 && under / n <= 0.115, `spikes ${p}, ${size}x: ${((100 * under) / n).toFixed(1)}%`);
  }
});

test('engine: the weights follow a change of regime (random walk: last value; noise around a level: the level models)', (t) => {
  const g = gaussian(rng(17));
  let walk = 100;
  const values = Array.from({ length: 2400 }, (_, i) => (i < 1200 ? (walk += 3 * g()) : 100 + 3 * g()));
  const e = new ForecastEngine({ halfLifeMs: 600 * SEC });
  const share = (w: Record<EngineCandidate, number>, names: EngineCandidate[]): number => names.reduce((a, c) => a + w[c], 0);
  // without a season the seasonal candidate answers the last value, and one step ahead the span
  // (the max over the last step) is the last value too: the three are one forecast
  const lastLike: EngineCandidate[] = ['last', 'seasonal', 'span'];
  // the windows' quantiles (a level) against a random walk lose; the EWMAs track either regime
  const levelLike: EngineCandidate[] = ['window', 'histogram', 'day'];
  let walkWeights: Record<EngineCandidate, number> | undefined;
  for (let i = 0; i < values.length; i++) {
    e.update(values[i]!, i * SEC);
    e.point(SEC);
    if (i === 1199) walkWeights = e.inspect('point', SEC)!.weights;
  }
  const noiseWeights = e.inspect('point', SEC)!.weights;
  const show = (w: Record<EngineCandidate, number>): string => ENGINE_CANDIDATES.map((c) => `${c} ${w[c].toFixed(2)}`).join(', ');
  t.log(`walk: ${show(walkWeights!)}`);
  t.log(`noise: ${show(noiseWeights)}`);
  // seen: last value 0.42 then 0.00; windows 0.02 then 0.46
  t.true(share(walkWeights!, lastLike) > 0.3, 'the last value leads on a random walk');
  t.true(share(noiseWeights, lastLike) < 0.05, 'and is dropped once the series is noise around a level');
  t.true(share(walkWeights!, levelLike) < 0.1, 'the windows have no say on a random walk');
  t.true(share(noiseWeights, levelLike) > 0.3, 'and a large one around a level');
});

test('engine-peak: periodic bursts are forecast before they come, and not between them', (t) => {
  // a burst to 5 for 5 s every 60 s over a base of 1; the peak over the next 20 s
  const g = gaussian(rng(5));
  const at = (i: number): number => (i % 60 < 5 ? 5 : 1) + 0.1 * g();
  const f = createForecaster('engine-peak', { halfLifeMs: 600 * SEC });
  for (let i = 0; i < 60 * 30; i++) {
    f.update(at(i), i * SEC);
    f.forecast(20 * SEC);
  }
  const missed: string[] = [];
  for (let i = 60 * 30; i < 60 * 32; i++) {
    f.update(at(i), i * SEC);
    const fc = f.forecast(20 * SEC);
    const phase = i % 60;
    const due = phase >= 40 || phase < 4; // a burst step falls in (now, now + 20 s]
    // seen: p90 5.1..5.2 when due, 1.2..1.35 when not
    if (due && !(fc.quantile(0.9) >= 4.5)) missed.push(`phase ${phase}: p90 ${fc.quantile(0.9).toFixed(2)} with a burst due`);
    if (!due && phase >= 5 && !(fc.quantile(0.9) < 2)) missed.push(`phase ${phase}: p90 ${fc.quantile(0.9).toFixed(2)} with none due`);
  }
  t.deepEqual(missed, []);
  // the point forecast 20 s ahead is not the peak: between bursts it stays near the base
  const point = createForecaster('engine', { halfLifeMs: 600 * SEC });
  for (let i = 0; i < 60 * 30 + 10; i++) point.update(at(i), i * SEC);
  t.true(point.forecast(20 * SEC).quantile(0.5) < 2, `p50 20 s ahead at phase 10: ${point.forecast(20 * SEC).quantile(0.5)}`);
});

test('engine: a series idle at 0 then bursting keeps finite, sane quantiles (no scale from an all-zero past)', (t) => {
  // found on a recorded retransmit series: 40 s of zeros, then bursts of 1..24/s; the conformal
  // errors were divided by a spread of ~1e-15 and the p90 went to 1e14
  const bursts = [0, 2, 0, 4, 3.9, 5.2, 1, 0, 2, 4, 0, 0, 0, 1, 0, 0, 2, 2, 1, 0, 0, 24, 0, 0, 23, 0, 4];
  const values = [...Array<number>(40).fill(0), ...bursts, ...Array<number>(100).fill(0), ...bursts];
  const e = new ForecastEngine({ halfLifeMs: 600 * SEC });
  let worst90 = 0;
  let worst99 = 0;
  for (let i = 0; i < values.length; i++) {
    e.update(values[i]!, i * SEC);
    for (const fc of [e.point(5 * SEC), e.peak(60 * SEC)]) {
      worst90 = Math.max(worst90, fc.quantile(0.9));
      worst99 = Math.max(worst99, fc.quantile(0.99));
    }
  }
  t.log(`highest p90 ${worst90.toFixed(2)}, p99 ${worst99.toFixed(2)} over the replay`);
  // the p99: the p90 plus the tail's own spread (at most 6 times the body's)
  t.true(Number.isFinite(worst90) && worst90 <= 3 * 24, `the p90 stays within 3 times the largest burst (24): ${worst90}`);
  t.true(Number.isFinite(worst99) && worst99 <= 5 * 24, `the p99 within 5 times: ${worst99}`);
});

test('engine: the trend candidate leads on a steady ramp, value and peak, and the forecasts follow it', (t) => {
  // memory growing 2 units a step with a little noise: the value 30 steps ahead is 60 higher
  const g = gaussian(rng(23));
  const e = new ForecastEngine({ halfLifeMs: 600 * SEC });
  let x = 0;
  for (let i = 0; i < 400; i++) {
    x = 100 + 2 * i + 0.5 * g();
    e.update(x, i * SEC);
    e.point(30 * SEC);
    e.peak(30 * SEC);
  }
  const point = e.inspect('point', 30 * SEC)!;
  const peak = e.inspect('peak', 30 * SEC)!;
  t.log(`point: trend weight ${point.weights.trend.toFixed(2)}, p50 ${point.p50.toFixed(1)} p90 ${point.p90.toFixed(1)} (now ${x.toFixed(1)}, due ${(x + 60).toFixed(1)})`);
  t.log(`peak: trend weight ${peak.weights.trend.toFixed(2)}, p50 ${peak.p50.toFixed(1)} p90 ${peak.p90.toFixed(1)}`);
  t.true(point.weights.trend > 0.5 && peak.weights.trend > 0.5, 'the trend leads both');
  t.true(within(point.candidates.trend.p50, x + 60, 4), `the trend projects the ramp: ${point.candidates.trend.p50}`);
  t.true(point.p90 >= x + 55 && point.p90 <= x + 75, `the value's p90 is ahead of now by about the ramp: ${point.p90}`);
  t.true(peak.p90 >= x + 55 && peak.p90 <= x + 75, `the peak's p90 likewise: ${peak.p90}`);
});

test('engine-peak: before its first forecasts resolve, the peak of the last span leads (not a mean of levels)', (t) => {
  // on/off: 50 for 10 s, 0 for 10 s; 40 s in, no 60 s peak forecast has resolved yet
  const e = new ForecastEngine({ halfLifeMs: 600 * SEC });
  for (let i = 0; i < 40; i++) {
    e.update(i % 20 < 10 ? 50 : 0, i * SEC);
    e.peak(60 * SEC);
  }
  const ins = e.inspect('peak', 60 * SEC)!;
  t.log(`p50 ${ins.p50.toFixed(1)} p90 ${ins.p90.toFixed(1)}, span weight ${ins.weights.span}`);
  t.is(ins.weights.span, 1);
  t.true(ins.p50 >= 50 && ins.p90 >= 50, 'the recent on-level is the peak to expect');
});

test('engine-peak: before its first forecasts resolve, a ramp from the first second leads by the trend\'s path', (t) => {
  // memory filling at 16 units/s from the start: the last span's peak is the value itself
  const e = new ForecastEngine({ halfLifeMs: 600 * SEC });
  for (let i = 0; i < 10; i++) {
    e.update(16 * i, i * SEC);
    e.peak(60 * SEC);
  }
  const ins = e.inspect('peak', 60 * SEC)!;
  t.log(`value 144, p50 ${ins.p50.toFixed(1)} p90 ${ins.p90.toFixed(1)}, trend weight ${ins.weights.trend}`);
  t.is(ins.weights.trend, 1);
  t.true(ins.p50 > 144 + 16 * 10, 'well above the value: the climb goes on');
});

test('engine-peak: a leak after a steady stretch is forecast along its climb as far ahead as it has run, and stays within a few times it (no 51 GiB candidates)', (t) => {
  // 50 MiB steady for 400 s (past the cold start), then 2 MiB/s: the 120 s peak is 240 MiB above
  // the value once the leak has run 120 s, and as far above as it has run before that. Old
  // engine: its p90 3 MiB above the value for the leak's first 230 s (the mix's losses come as
  // windows close), then 28 GiB as the trend's errors of a thousand calm spreads were read at the
  // leak's spread (trend candidate 51 GiB). Still so: once the trend's losses resolve (160 s in)
  // the mix follows it at about twice the peak to come
  const MiB = 1 << 20;
  const e = new ForecastEngine({ halfLifeMs: 60 * SEC, stepMs: SEC });
  const value = (i: number): number => 50 * MiB + 2 * MiB * Math.max(0, i - 400) + (i % 3) * 0.3 * MiB;
  let covered = 0;
  let scored = 0;
  let worst = 0;
  let widest = 0;
  for (let i = 0; i < 700; i++) {
    e.update(value(i), i * SEC);
    e.point(5 * SEC);
    e.peak(30 * SEC);
    const f = e.peak(120 * SEC);
    if (i < 410) continue; // the climb's first 10 s: not yet eight rises, their rate being read
    let peak = 0;
    for (let j = i + 1; j <= i + 120; j++) peak = Math.max(peak, value(j));
    const seen = Math.min(peak, value(i) + 2 * MiB * Math.min(120, i - 400));
    const p90 = f.quantile(0.9);
    scored++;
    if (p90 >= 0.95 * seen) covered++;
    worst = Math.max(worst, p90 / peak);
    const ins = e.inspect('peak', 120 * SEC)!;
    widest = Math.max(widest, ins.candidates.trend.p90 / peak, ins.candidates.conformal.p90 / peak);
  }
  t.log(`120 s peak's p90 at least 95% of the climb's line over as long as it ran at ${covered} of ${scored} steps of the leak; at most ${worst.toFixed(2)}x the peak; trend and conformal p90s at most ${widest.toFixed(1)}x it`);
  t.true(covered >= 0.95 * scored, `${covered} / ${scored}`);
  t.true(worst < 3, `the final p90 at most ${worst}x the peak`);
  t.true(widest < 5, `a candidate's p90 ${widest}x the peak`);
});

test('engine-peak: a climb that moves the p50 up to its line does not pull the p99 down', (t) => {
  // 300 MiB +- 20 for 400 s, then a smooth 0.2 MiB/s climb: the climb floor moves the 120 s
  // peak's p50 up to the line while its p90 stays (already above it). Read from the narrowed
  // body, the p99 fell with every step of the climb (336.7 -> 325.3 MiB over 30 s, passed more
  // often during the climb); the tail keeps the spread the body had before the floor
  const MiB = 1 << 20;
  const r = rng(11);
  const e = new ForecastEngine({ halfLifeMs: 60 * SEC, stepMs: SEC });
  let before = Number.NaN;
  let lowest = Number.POSITIVE_INFINITY;
  let narrowed = 0;
  for (let s = 0; s < 450; s++) {
    e.update(s < 400 ? 300 * MiB + (r() - 0.5) * 40 * MiB : 300 * MiB + 0.2 * MiB * (s - 400), s * SEC);
    e.point(5 * SEC);
    e.peak(30 * SEC);
    const f = e.peak(120 * SEC);
    if (s === 412) before = f.quantile(0.99);
    if (s > 412) {
      lowest = Math.min(lowest, f.quantile(0.99));
      if (f.quantile(0.9) - f.quantile(0.5) < 0.5 * (before - f.quantile(0.5))) narrowed++;
    }
  }
  t.log(`120 s peak p99 ${(before / MiB).toFixed(1)} MiB as the climb's line is drawn, at least ${(lowest / MiB).toFixed(1)} after; ${narrowed} ticks with the body narrowed`);
  t.true(narrowed > 10, 'the floor narrowed the body (the case under test)');
  // (the tail learns down a little while the climb stays under it: 0.8 MiB; narrowed, 11.4)
  t.true(lowest >= before - 2 * MiB, `p99 ${lowest / MiB} MiB after ${before / MiB}`);
});

test('engine-peak: a step up then a creep, or a cache settling towards its size, is not a climb to follow to a limit', (t) => {
  // (a review's cases for a line drawn over the whole horizon from the damped slope: the step
  // read as the creep's rate warned of a 400 MiB limit 12 s ahead; the settling cache's 120 s
  // peak p90 read 889 MiB; before the line, the trend's errors had it at 17.8 GiB)
  const MiB = 1 << 20;
  const r = rng(5);
  const creep = (s: number): number => (s < 300 ? 100 * MiB : 250 * MiB + 4096 * (s - 300)) + r() * 0.01 * MiB;
  const settle = (s: number): number => (s < 300 ? 20 * MiB : 20 * MiB + 280 * MiB * (1 - Math.exp(-(s - 300) / 20)));
  // (a settling line: 364 MiB, the straight line's overshoot, before it bent with the shrinking rises)
  for (const [name, value, most] of [['creep', creep, 300], ['settle', settle, 1.1 * 300]] as const) {
    const e = new ForecastEngine({ halfLifeMs: 60 * SEC, stepMs: SEC });
    let high = 0;
    for (let s = 0; s < 600; s++) {
      e.update(value(s), s * SEC);
      e.peak(5 * SEC);
      e.peak(30 * SEC);
      const p90 = e.peak(120 * SEC).quantile(0.9);
      if (s >= 300) high = Math.max(high, p90);
    }
    t.log(`${name}: highest 120 s peak p90 ${(high / MiB).toFixed(0)} MiB`);
    t.true(high < most * MiB, `${name}: ${high / MiB} MiB`);
  }
});

test('engine-peak: a burst in the first 100 s does not hold the p90 up ten minutes later (the offset shrinks with the errors)', (t) => {
  // 2,000-5,000 for 100 s (a workload starting), then calm at 20-30; the offset learnt in the
  // burst, kept in levels, held the 60 s peak's p90 at 431 at 700 s
  const r = rng(7);
  const e = new ForecastEngine({ halfLifeMs: 60 * SEC, stepMs: SEC });
  let at700 = Number.NaN;
  for (let i = 0; i < 700; i++) {
    e.update(i < 100 ? 2000 + 3000 * r() : 20 + 10 * r(), i * SEC);
    at700 = e.peak(60 * SEC).quantile(0.9);
  }
  t.log(`p90 of the 60 s peak at 700 s: ${at700.toFixed(1)} (calm at 20-30)`);
  t.true(at700 >= 25 && at700 < 100, `${at700}`);
});

test('engine: known answers on clean series (a constant, a level that steps)', (t) => {
  const e = new ForecastEngine({ halfLifeMs: 60 * SEC });
  for (let i = 0; i < 600; i++) {
    e.update(i < 300 ? 7 : 12, i * SEC);
    e.point(5 * SEC);
    e.peak(10 * SEC);
    if (i === 299) {
      const ins = e.inspect('point', 5 * SEC)!;
      // every candidate but the histogram (a bucket's end) is exact, and the weights find them
      t.true(within(ins.p50, 7, 1e-6) && within(ins.p90, 7, 0.05), `constant: p50 ${ins.p50} p90 ${ins.p90}`);
    }
  }
  const point = e.point(5 * SEC);
  const peak = e.peak(10 * SEC);
  t.true(within(point.quantile(0.5), 12, 0.1), `after the step: p50 ${point.quantile(0.5)}`);
  t.true(within(peak.quantile(0.9), 12, 0.5), `peak p90 ${peak.quantile(0.9)}`);
  t.true(peak.quantile(0.5) >= point.quantile(0.5) - 1e-9);
  t.throws(() => new ForecastEngine({ halfLifeMs: 1000, without: [...ENGINE_CANDIDATES] }), { instanceOf: RangeError });
});

test('engine: nothing resolves before a horizon has passed (no forecast "made" before the first sample)', (t) => {
  // a constant: every candidate forecasts it exactly, so only a phantom miss against zeros could move the offset
  const e = new ForecastEngine({ halfLifeMs: 60 * SEC, stepMs: SEC });
  for (let i = 0; i < 10; i++) {
    e.update(7, i * SEC);
    e.point(5 * SEC);
    e.peak(10 * SEC);
    t.is(e.inspect('point', 5 * SEC)!.offset, 0, `value head, step ${i}`);
    t.is(e.inspect('peak', 10 * SEC)!.offset, 0, `peak head, step ${i}`);
  }
});

test('engine: a burst of errors at a series\' start does not set the offset\'s unit for the rest of it (at most RECENT_ERROR_CAP times the recent error)', (t) => {
  // Context switches as the steady recording has them: 3,000-5,500/s for 40 s from 40 s, then
  // 18-32 for 14 minutes. The 60 s value's unit, a long mean, remembered the burst (140-1,400
  // where the errors were about 5-10), and the offset on it held the p90 at 76-96 on average
  // over 400-900 s (seeds 1-5); capped at 8 recent errors, 42-53. (Two seeds: the highest
  // without the cap, 4, and one of the lowest with it, 1.) The p90 of the calm itself is 30.6.
  for (const seed of [1, 4]) {
    const r = rng(seed);
    const e = new ForecastEngine({ halfLifeMs: 86_400 * SEC, stepMs: SEC });
    let sum = 0;
    let n = 0;
    for (let i = 0; i < 900; i++) {
      e.update(i >= 40 && i < 80 ? 3000 + 2500 * r() : 18 + 14 * r(), i * SEC);
      const p90 = e.point(60 * SEC).quantile(0.9);
      if (i >= 400) {
        sum += p90;
        n++;
      }
    }
    const mean = sum / n;
    t.log(`seed ${seed}: the 60 s value's p90 over 400-900 s, ${mean.toFixed(1)} on average (calm at 18-32)`);
    t.true(mean >= 30 && mean < 65, `seed ${seed}: ${mean}`);
  }
});

test('ErrorUnit: a winsorised long mean of the errors, at most RECENT_ERROR_CAP times the recent one, saved and restored whole', (t) => {
  const u = new ErrorUnit(Math.pow(2, -1 / 1000));
  t.false(u.known);
  t.is(u.value, 0);
  u.add(10);
  t.true(u.known);
  t.is(u.value, 10);
  // winsorised at three long means: 1,000 counts as 30
  u.add(1000);
  t.true(Math.abs(u.value - 20) < 0.1, `${u.value}`);
  // a burst, then calm: the long mean keeps the burst, the unit follows the calm
  const v = new ErrorUnit(Math.pow(2, -1 / 100_000));
  for (let i = 0; i < 20; i++) v.add(1000);
  for (let i = 0; i < 800; i++) v.add(1);
  t.true(v.value <= RECENT_ERROR_CAP * 1.01, `${v.value}`);
  t.true(v.value >= RECENT_ERROR_CAP * 0.99, `capped, not the calm's own: ${v.value}`);
  // (a long mean of calm errors is its own unit: the cap does not bind)
  const w = new ErrorUnit(Math.pow(2, -1 / 100));
  for (let i = 0; i < 300; i++) w.add(i % 2 === 0 ? 2 : 4);
  t.true(Math.abs(w.value - 3) < 0.05, `${w.value}`);
  // (a slot either side: a write out of its fields would show)
  const saved = new Float64Array(ERROR_UNIT_FIELDS + 3).fill(-1);
  v.save(saved, 2);
  t.deepEqual([saved[0], saved[1], saved[ERROR_UNIT_FIELDS + 2]], [-1, -1, -1]);
  t.is(ErrorUnit.valueIn(saved, 2), v.value);
  const back = new ErrorUnit(Math.pow(2, -1 / 100_000));
  back.restore(saved, 2);
  t.is(back.value, v.value);
  back.add(1);
  v.add(1);
  t.is(back.value, v.value, 'the same state, not only the same value');
});

test('engine: the offset steps by at least a small share of the level (a near-constant series does not calibrate on noise)', (t) => {
  // flat at 1000, then one miss by 0.5 (above the p90, yet far below 0.003 x level): the step is
  // gain x max(typical error, 0.003 x level)
  const e = new ForecastEngine({ halfLifeMs: 600 * SEC, stepMs: SEC });
  let i = 0;
  for (; i < 200; i++) {
    e.update(1000, i * SEC);
    e.point(SEC);
  }
  const before = e.inspect('point', SEC)!.offset;
  e.update(1000.5, i++ * SEC);
  e.point(SEC);
  const step = e.inspect('point', SEC)!.offset - before;
  t.log(`offset ${before} before the miss, step ${step}`);
  t.true(Math.abs(before) < 0.1, 'a constant leaves the offset near 0');
  // (the step up after a miss is 0.9 x gain 0.03 x unit; the leak moves a near-0 offset by nothing)
  t.true(step >= 0.9 * 0.03 * 0.003 * 1000 * 0.99, `the step is set by the level, not the miss: ${step}`);
  t.true(step <= 0.9 * 0.03 * 0.003 * 1000 * 1.01 + 0.01);
});

test('engine-peak: a miss is counted when a value passes a pending p90, but not in a window with a hole (its hits would never be)', (t) => {
  const g = gaussian(rng(31));
  const e = new ForecastEngine({ halfLifeMs: 600 * SEC, stepMs: SEC });
  const offset = (): number => e.inspect('peak', 60 * SEC)!.offset;
  let i = 0;
  const feed = (v: number): void => {
    e.update(v, i++ * SEC);
    e.peak(60 * SEC);
  };
  while (i < 400) feed(10 + 2 * g());
  const calm = offset();
  // five seconds without a sample: every pending window holds a hole, and is never scored
  i += 5;
  feed(100);
  t.is(offset(), calm, 'a spike past the hole does not count the windows across it');
  // forecasts made after the hole are counted at once (their windows close a minute later)
  for (let k = 0; k < 10; k++) feed(10 + 2 * g());
  const before = offset();
  feed(1000);
  t.log(`offset ${calm.toFixed(3)} calm, ${before.toFixed(3)} before the second spike, ${offset().toFixed(3)} after it`);
  t.true(offset() > before, 'a spike passing p90s made after the hole steps the offset up');
});

test('engine: a wild candidate is left out of the combination, not averaged in (a burst a minute ago)', (t) => {
  // a level of 4 that wobbles, and one 400 in its 45th second: 55 s later the span (the last
  // window's peak) still holds the 400; the other candidates do not
  const e = new ForecastEngine({ halfLifeMs: 3600 * SEC, stepMs: SEC });
  for (let i = 0; i <= 100; i++) {
    e.update(i === 45 ? 400 : 4 + Math.sin(i / 3) + 0.3 * Math.sin(i * 1.7), i * SEC);
    e.peak(60 * SEC);
  }
  const ins = e.inspect('peak', 60 * SEC)!;
  t.log(`span p90 ${ins.candidates.span.p90.toFixed(1)} weight ${ins.weights.span}; p90 ${ins.p90.toFixed(1)}`);
  t.true(ins.candidates.span.p90 > 300, 'the span still holds the burst');
  t.is(ins.weights.span, 0, 'and is left out');
});

test('robust pool: the weighted median, and the wild candidates left out of a pool (the leaders stay)', (t) => {
  const p50 = [4, 4.2, 4.5, 4.4, 300, 0.1];
  const p90 = [5, 5.5, 6, 6.2, 400, 0.2];
  const order90 = identityOrder(6);
  const order50 = identityOrder(6);
  sortedOrder(order90, p90);
  sortedOrder(order50, p50);
  t.deepEqual([...order90], [5, 0, 1, 2, 3, 4]);
  t.deepEqual([...order50], [5, 0, 1, 3, 2, 4]);
  const even = new Float64Array(6).fill(1);
  t.is(weightedMedian(order90, p90, even, 6), 5.5, 'half the weight reached at the third value');
  t.is(weightedMedian(order90, p90, Float64Array.from([0, 0, 0, 0, 3, 1]), 4), 400, 'a leader with most of the weight is the median');
  const sorted = [0, 1, 2, 3, 4, 5].sort((a, b) => p90[a]! - p90[b]!);
  t.deepEqual([...order90], sorted);
  // re-sorted from the order it held, after the values move
  p90[4] = 0.15;
  sortedOrder(order90, p90);
  t.deepEqual([...order90], [4, 5, 0, 1, 2, 3]);
  p90[4] = 400;
  sortedOrder(order90, p90);
  t.deepEqual([...order90], [5, 0, 1, 2, 3, 4]);
  // even weights: 400 (from 5.5 by 394, over 3 bands of 5.5 - 4.2) and 0.2 (by 5.3) go; the rest stay
  const w = new Float64Array(6).fill(1);
  leaveOutWild(order90, order50, p50, p90, w, 6, 1e-12);
  t.deepEqual([...w], [1, 1, 1, 1, 0, 0]);
  t.is(WILD_BANDS, 3);
  const pooled = (ws: ArrayLike<number>): number => p90.reduce((a, v, k) => a + v * ws[k]!, 0) / Array.from(ws).reduce((a, v) => a + v, 0);
  t.true(pooled(w) < 6 && pooled(even) > 60, `pooled p90 ${pooled(w)} left out, ${pooled(even)} with all`);
  // the candidate that leads stays, however far from the others it is
  const led = Float64Array.from([0.01, 0.01, 0.01, 0.01, 5, 0.01]);
  leaveOutWild(order90, order50, p50, p90, led, 5.05, 1e-12);
  t.true(led[4]! === 5, 'the leader stays');
  // a flat series: every candidate the same, the band's floor keeps them all
  const flat = new Float64Array(6).fill(7);
  const fo = identityOrder(6);
  sortedOrder(fo, flat);
  const fw = new Float64Array(6).fill(1);
  leaveOutWild(fo, fo, flat, flat, fw, 6, 1e-12);
  t.deepEqual([...fw], [1, 1, 1, 1, 1, 1]);
});

test('seasonal profile on a shared history: the same forecasts as on its own copy, and it never writes the owner\'s history', (t) => {
  const opts = { halfLifeMs: 3600 * SEC, stepMs: SEC, period: 50, historySteps: 512 };
  const own = new SeasonalProfileForecaster(opts);
  const history = new SlotHistory(512);
  const shared = new SeasonalProfileForecaster({ ...opts, sharedHistory: history });
  const rnd = rng(5);
  for (let i = 0; i < 400; i++) {
    if (i % 37 === 36) continue; // holes too
    const x = 10 + 5 * Math.sin((2 * Math.PI * i) / 50) + rnd();
    own.update(x, i * SEC);
    history.set(i, x); // the owner writes first, as the engine's series state does
    shared.update(x, i * SEC);
  }
  for (const h of [SEC, 10 * SEC, 60 * SEC]) {
    t.deepEqual([own.forecast(h).quantile(0.5), own.forecast(h).quantile(0.9)], [shared.forecast(h).quantile(0.5), shared.forecast(h).quantile(0.9)], `${h} ms`);
  }
  history.set(400, 1e9);
  shared.update(5, 401 * SEC);
  t.is(history.get(400), 1e9, 'the shared history is left as its owner wrote it');
  t.true(Number.isNaN(history.get(401)));
});

test('stair climb: a climb in steps (a worker added every 10 s) is read with its rate; one step, a steady climb that stops on a level, or noise are not', (t) => {
  const r = rng(7);
  /** the samples at which a rate was read, and the rates */
  const read = (values: number[]): { at: number[]; rates: number[] } => {
    const s = new StairClimb();
    const at: number[] = [], rates: number[] = [];
    values.forEach((v, i) => {
      s.update(v);
      if (!Number.isNaN(s.rate)) { at.push(i); rates.push(s.rate); }
    });
    return { at, rates };
  };
  const noisy = (v: number): number => v + (r() - 0.5) * 0.02;
  // +0.12 every 10 samples, over 2 of them, from 0.25
  const stairs: number[] = [];
  for (let i = 0, v = 0.25; i < 70; i++) {
    if (i >= 10 && i % 10 < 2) v += 0.06;
    stairs.push(noisy(v));
  }
  const s = read(stairs);
  t.log(`staircase read from sample ${s.at[0]}, on ${s.at.length} of ${70 - s.at[0]!}; rates ${Math.min(...s.rates).toFixed(4)}..${Math.max(...s.rates).toFixed(4)} (0.012 a step)`);
  // from its third step (the spans must see two steps and a rise span to span) to the end
  t.true(s.at[0]! <= 32, `${s.at[0]}`);
  t.is(s.at.length, 70 - s.at[0]!);
  t.true(s.rates.every((x) => x > 0.008 && x < 0.017), s.rates.join(' '));
  // a staircase that stops: read as climbing for a few samples after its last step (the spans
  // still rise), not for its whole level
  const stopped = read(stairs.slice(0, 52).concat(Array.from({ length: 40 }, () => noisy(0.85))));
  const lastRead = stopped.at[stopped.at.length - 1]!;
  t.log(`a staircase whose last step ends at sample 51: still read at ${lastRead - 51} samples after it`);
  t.true(lastRead - 51 <= 16, `${lastRead - 51}`);
  // one step, then flat
  t.deepEqual(read(Array.from({ length: 80 }, (_, i) => noisy(i < 30 ? 0.25 : 0.6))).at, []);
  // a steady climb (0.02 a sample) that stops on a level: rising spans, but no two steps
  t.deepEqual(read(Array.from({ length: 80 }, (_, i) => noisy(0.25 + 0.02 * Math.min(i, 40)))).at, []);
  // a noisy steady workload (0.8 +- 0.3, a spike to 1.3 one sample in 20)
  const steady = read(Array.from({ length: 5000 }, (_, i) => (i % 20 === 7 ? 1.3 : 0.8 + (r() - 0.5) * 0.6)));
  t.log(`noisy steady: read as climbing in steps on ${steady.at.length} of 5000 samples`);
  t.is(steady.at.length, 0);
  // square waves (their spans' means may rise, and their rises come as steps; but they fall),
  // exact or with a little noise, and a series mostly 0 with bursts (an I/O one's: no noise)
  for (const period of [8, 10, 12, 16]) {
    for (const jitter of [0, 0.02]) {
      const wave = read(Array.from({ length: 400 }, (_, i) => (i % period < period / 2 ? 1 : 0) + (jitter ? (r() - 0.5) * jitter : 0)));
      t.deepEqual(wave.at, [], `square wave, period ${period}, jitter ${jitter}`);
    }
  }
  t.deepEqual(read(Array.from({ length: 400 }, (_, i) => (i % 13 < 2 || i % 29 === 5 ? 5e7 * (1 + (i % 3)) : 0))).at, [], 'bursts over 0');
  // a gap (slots with no sample) starts the spans again: 24 samples after it before a rate
  const g = new StairClimb();
  const after: number[] = [];
  stairs.forEach((v, i) => {
    g.update(v, i === 40 ? 3 : 1);
    if (i >= 40 && !Number.isNaN(g.rate)) after.push(i);
  });
  t.true(after.length > 0 && after[0]! >= 40 + 23, `read again from ${after[0]}`);
});

test('SeriesState.plateauTop: bursts that come back to one height, jittering or not, read as a plateau once none has passed them for 300 samples (or, back at a height held before after a stretch without them, once the window holds three); a new high, a higher level seen before, a creep, a climbing base, a bell-shaped noisy or idle series and bursts of varied height do not', (t) => {
  const at = (i: number): number => 1e12 + i * 1000;
  // 0.3-0.4 with bursts of 1.6 for 3 s every 50 s
  const bursts = (s: SeriesState, from: number, to: number, height: (i: number) => number, r: () => number): void => {
    for (let i = from; i < to; i++) s.update(i % 50 < 3 ? height(i) : 0.3 + 0.1 * r(), at(i));
  };
  const r = rng(3);
  const one = new SeriesState({ stepMs: 1000 });
  bursts(one, 0, 299, () => 1.6, r);
  t.is(one.plateauTop, Number.POSITIVE_INFINITY, 'the first burst is a new high: not yet 300 samples quiet');
  bursts(one, 299, 600, () => 1.6, r);
  t.is(one.plateauTop, 1.6);
  // a burst a little higher is a new high: lifted at once, and held off while it is remembered
  // (gone from the 288-point window, it is still the record)
  one.update(1.7, at(600));
  t.is(one.plateauTop, Number.POSITIVE_INFINITY);
  bursts(one, 601, 1300, () => 1.6, r);
  t.is(one.plateauTop, Number.POSITIVE_INFINITY);
  // bursts of 1.65 a while later: each passes the top by less than 5% of the rise (a nudge, not a
  // new high), and the record (1.7) is within that spread of their height: a plateau from the first
  bursts(one, 1300, 1310, () => 1.65, r);
  t.is(one.plateauTop, 1.65);
  bursts(one, 1310, 1900, () => 1.65, r);
  t.is(one.plateauTop, 1.65);

  // a stretch with no burst in the window (its top the base's, under the record: none), then
  // bursts back at 1.6: no new high (the height held, which the record still reaches), so a
  // plateau as soon as the window holds enough of them (its top 2%, 6 of 288 values and a little
  // more: three bursts of 3), not 300 samples after the first
  const gap = new SeriesState({ stepMs: 1000 });
  bursts(gap, 0, 600, () => 1.6, r);
  t.is(gap.plateauTop, 1.6);
  for (let i = 600; i < 1000; i++) gap.update(0.3 + 0.1 * r(), at(i));
  t.is(gap.plateauTop, Number.POSITIVE_INFINITY, 'no burst in the window');
  bursts(gap, 1000, 1110, () => 1.6, r);
  t.is(gap.plateauTop, 1.6, 'three bursts back');
  // ...but only to a height held as a plateau, and only bursts: after the same gap, bursts back a
  // little higher (by more than 5% of the rise) are a new high; a level back at the held height
  // (a restart whose memory reloads straight to it) is one once it has stayed up 5 samples; and
  // bursts at the height of a lone spike, never held, are a new high
  const higher = new SeriesState({ stepMs: 1000 });
  const level = new SeriesState({ stepMs: 1000 });
  const spike = new SeriesState({ stepMs: 1000 });
  for (const s of [higher, level]) {
    bursts(s, 0, 600, () => 1.6, r);
    t.is(s.plateauTop, 1.6);
    for (let i = 600; i < 1000; i++) s.update(0.3 + 0.1 * r(), at(i));
  }
  bursts(higher, 1000, 1110, () => 1.7, r);
  t.is(higher.plateauTop, Number.POSITIVE_INFINITY, 'bursts back higher');
  for (let i = 1000; i < 1110; i++) level.update(1.6, at(i));
  t.is(level.plateauTop, Number.POSITIVE_INFINITY, 'a level back');
  for (let i = 0; i < 1000; i++) spike.update(i === 100 ? 1.6 : 0.3 + 0.1 * r(), at(i));
  bursts(spike, 1000, 1110, () => 1.6, r);
  t.is(spike.plateauTop, Number.POSITIVE_INFINITY, 'bursts at a lone spike\'s height');
  // a height held long ago, gone from the record (4,097-4,352 slots), stands for nothing: bursts
  // back at a lone spike's height under it are a new high (not the record's highest, the spike)
  const aged = new SeriesState({ stepMs: 1000 });
  bursts(aged, 0, 600, () => 2, r);
  t.is(aged.plateauTop, 2);
  for (let i = 600; i < 5000; i++) aged.update(i === 4000 ? 1.6 : 0.3 + 0.1 * r(), at(i));
  bursts(aged, 5000, 5110, () => 1.6, r);
  t.is(aged.plateauTop, Number.POSITIVE_INFINITY, 'bursts at a spike\'s height, the held height forgotten');

  // the bounds, pinned: 5 nudges within 300 samples leave a plateau, a 6th does not, and 300
  // samples after the first of those 6 it is one again
  const pin = new SeriesState({ stepMs: 1000 });
  bursts(pin, 0, 600, () => 1.6, r);
  for (let k = 0; k < 5; k++) pin.update(1.601 + 0.001 * k, at(600 + k));
  t.true(Math.abs(pin.plateauTop - 1.605) < 1e-12, `${pin.plateauTop}`);
  pin.update(1.606, at(605));
  t.is(pin.plateauTop, Number.POSITIVE_INFINITY);
  bursts(pin, 606, 900, () => 1.6, r);
  t.is(pin.plateauTop, Number.POSITIVE_INFINITY, '299 samples after the first');
  bursts(pin, 900, 901, () => 1.6, r);
  // (the nudges have left the 288-value window by then: its top is 1.6, the record 1.606 within the spread)
  t.is(pin.plateauTop, 1.6, '300 samples after the first');

  // a creep over the top (bursts that each end a little higher, by 0.002, less than 5% of the
  // rise): nudges, three a burst, more than 5 within any 300 samples, so never quiet
  const creep = new SeriesState({ stepMs: 1000 });
  bursts(creep, 0, 600, () => 1.6, r);
  t.is(creep.plateauTop, 1.6);
  bursts(creep, 600, 1300, (i) => 1.6 + 0.002 * Math.floor((i - 600) / 50) + 0.0001 * (i % 50), r);
  t.is(creep.plateauTop, Number.POSITIVE_INFINITY);

  // a base that climbs under the bursts (0.002 a sample, its median up by more than 10% of the
  // top's height over it within 300 samples): a leak coming up to them, no plateau
  const leak = new SeriesState({ stepMs: 1000 });
  bursts(leak, 0, 600, () => 1.6, r);
  for (let i = 600; i < 900; i++) leak.update(i % 50 < 3 ? 1.6 : 0.3 + 0.002 * (i - 600) + 0.1 * r(), at(i));
  t.is(leak.plateauTop, Number.POSITIVE_INFINITY);

  // a phase that reached 3.0 before: bursts of 1.6 after it are no plateau while it is remembered
  const phases = new SeriesState({ stepMs: 1000 });
  bursts(phases, 0, 300, () => 3, r);
  bursts(phases, 300, 1300, () => 1.6, r);
  t.is(phases.plateauTop, Number.POSITIVE_INFINITY);
  // ...and are one once it is forgotten (16 blocks of 256 slots and the newest: 4,097 to 4,352 slots after it)
  bursts(phases, 1300, 4300, () => 1.6, r);
  t.is(phases.plateauTop, Number.POSITIVE_INFINITY);
  bursts(phases, 4300, 4700, () => 1.6, r);
  t.is(phases.plateauTop, 1.6);

  // bursts whose height jitters (1.59-1.61): one (a value must pass the top by 5% of its rise to be a new high)
  const jittered = new SeriesState({ stepMs: 1000 });
  bursts(jittered, 0, 1300, () => 1.59 + 0.02 * r(), r);
  t.true(jittered.plateauTop > 1.6 && jittered.plateauTop <= 1.61, `${jittered.plateauTop}`);
  // bursts whose heights vary (1.2-2.0): none
  const varied = new SeriesState({ stepMs: 1000 });
  bursts(varied, 0, 1300, () => 1.2 + 0.8 * r(), r);
  t.is(varied.plateauTop, Number.POSITIVE_INFINITY);
  // a bell-shaped noisy series (a sum of three uniform draws about 1), and an idle one (0
  // throughout): none (noise spread evenly under a hard top mostly reads as one: see Plateau.top)
  const noisy = new SeriesState({ stepMs: 1000 });
  const idle = new SeriesState({ stepMs: 1000 });
  for (let i = 0; i < 1300; i++) {
    noisy.update(1 + 0.1 * (r() + r() + r() - 1.5), at(i));
    idle.update(0, at(i));
  }
  t.is(noisy.plateauTop, Number.POSITIVE_INFINITY);
  t.is(idle.plateauTop, Number.POSITIVE_INFINITY);
});

test('BlockMax: the max over the last blocks of slots, whole blocks kept, skipped blocks and long gaps emptied', (t) => {
  const m = new BlockMax(2, 10); // slots back 20 at least, 30 at most
  t.is(m.max, Number.NEGATIVE_INFINITY);
  m.push(5, 7);
  m.push(12, 3);
  t.is(m.max, 7);
  m.push(29, 1); // block 2: blocks 0-2 kept
  t.is(m.max, 7);
  m.push(30, 2); // block 3: block 0 (the 7) gone
  t.is(m.max, 3);
  m.push(55, 1); // block 5, block 4 skipped: blocks 3-5 kept (the 2), the 3 and the 1 gone
  t.is(m.max, 2);
  m.push(60, 0.8); // block 6: the 2 gone
  t.is(m.max, 1);
  m.push(1000, 0.5); // a gap longer than the window
  t.is(m.max, 0.5);
  m.push(5, 99); // a slot a window or more older than the newest: ignored
  t.is(m.max, 0.5);
});

test('damped trend: three climbs that fell back from about one height, lately, hold the next one\'s line under it (a collector\'s sawtooth); one past it, a leak under a collector, a heap that grows each period, tops far apart, a base that jumped up, a sawtooth long over and noise hold none', (t) => {
  // climbs at `rate` a step from `low` to `top`, then a drop to the next cycle's low (over the
  // samples `drop` lists first)
  const feed = (d: DampedTrend, cycles: Array<{ low: number; top: number; drop?: number[] }>, rate = 3): void => {
    for (const { low, top, drop = [] } of cycles) {
      for (let x = low; x < top; x += rate) d.update(x);
      d.update(top);
      for (const x of drop) d.update(x);
    }
  };
  const saw = new DampedTrend();
  feed(saw, [{ low: 20, top: 198 }, { low: 20, top: 203 }]);
  // (the second top is read once the values fall back: two tops are not enough)
  saw.update(20);
  t.is(saw.topsHeight, Number.POSITIVE_INFINITY, 'two climbs that fell back');
  feed(saw, [{ low: 20, top: 200 }]);
  saw.update(20);
  t.is(saw.topsHeight, 203, 'the highest of three tops within a quarter of their rise');
  // the next climb at 3 a step, 26 steps in: its line as before (followed as far as it has
  // run), its reach 60 steps on stops at the tops; it never reaches a 256 limit, and reaches 150
  // as before
  for (let x = 23; x <= 100; x += 3) saw.update(x);
  t.true(saw.climbRate > 0);
  t.true(Math.abs(saw.climbLine(60) - (saw.last + 26 * saw.climbRate)) < 1e-9, `${saw.climbLine(60)}`);
  t.is(saw.climbReach(60), 203);
  t.is(saw.climbStepsTo(256), Number.POSITIVE_INFINITY);
  t.true(Math.abs(saw.climbStepsTo(150) - (150 - saw.last) / saw.climbRate) < 1e-9);
  // 46 steps in: its line stops at the tops, and a peak under it is moved up to them, not past
  for (let x = 103; x <= 160; x += 3) saw.update(x);
  t.is(saw.climbLine(60), 203);
  t.deepEqual(saw.floorPeak(60, 170, 180), { p50: 203, p90: 203 }, 'no room past the tops');
  // a step before the line reaches the tops: room up to them, not past (at 199 for 12 steps
  // ahead, a quarter of its rise of 36 put the p90 at 208)
  saw.update(163);
  t.is(saw.floorPeak(12, 150, 160).p90, 203, 'no room past the tops, short of them');
  // a climb past the tops is new: followed on its line, through a dip back under them
  for (let x = 166; x <= 206; x += 3) saw.update(x);
  t.is(saw.topsHeight, Number.POSITIVE_INFINITY);
  t.true(saw.climbLine(20) > 250, `${saw.climbLine(20)}`);
  t.true(Number.isFinite(saw.climbStepsTo(256)));
  saw.update(202);
  t.is(saw.topsHeight, Number.POSITIVE_INFINITY, 'a dip under the tops, in a climb that passed them');

  // what would be held but for what the tops and troughs say, read while under the last top:
  // a leak under a collector (troughs up 6 a cycle, tops up 10 and down 2 by turns: within a
  // quarter of the rise over three, not up at each); a heap that grows each period from the same
  // trough (tops 150, 166, 182, 198: up at each of four); a base that jumped up (the sawtooth's
  // drop stops at 100)
  const leak = new DampedTrend();
  feed(leak, [160, 170, 168, 178, 176, 186].map((top, k) => ({ low: 100 + 6 * k, top })));
  for (let x = 136; x <= 170; x += 3) leak.update(x);
  t.true(leak.last < 186 && leak.climbRate > 0);
  t.is(leak.topsHeight, Number.POSITIVE_INFINITY, 'a leak under a collector');
  const grows = new DampedTrend();
  feed(grows, [{ low: 20, top: 150 }, { low: 20, top: 166 }, { low: 20, top: 182 }, { low: 20, top: 198 }]);
  for (let x = 20; x <= 140; x += 3) grows.update(x);
  t.is(grows.topsHeight, Number.POSITIVE_INFINITY, 'a heap that grows each period');
  const jumped = new DampedTrend();
  feed(jumped, [{ low: 20, top: 198 }, { low: 20, top: 203 }, { low: 20, top: 200 }, { low: 20, top: 201 }]);
  jumped.update(100);
  for (let x = 103; x <= 160; x += 3) jumped.update(x);
  t.is(jumped.topsHeight, Number.POSITIVE_INFINITY, 'a base that jumped up');
  // a base that stepped up from a flat trough (a bulk load), then a slow climb from there
  const stepped = new DampedTrend();
  feed(stepped, [{ low: 20, top: 198 }, { low: 20, top: 203 }, { low: 20, top: 200 }]);
  for (let i = 0; i < 5; i++) stepped.update(20);
  t.is(stepped.topsHeight, 203);
  stepped.update(110);
  t.is(stepped.topsHeight, Number.POSITIVE_INFINITY, 'stepped up');
  for (let x = 120; x <= 170; x += 2) stepped.update(x);
  t.true(stepped.climbRate > 0);
  t.is(stepped.topsHeight, Number.POSITIVE_INFINITY, 'a climb from a base that stepped up');
  // a climb that sat at its top for longer than it climbed (a heap levelled off overnight), then
  // fell back: no tooth of the sawtooth, and the height, long over, does not hold for its cycle
  const sat = new DampedTrend();
  feed(sat, [{ low: 20, top: 198 }, { low: 20, top: 203 }, { low: 20, top: 200 }, { low: 20, top: 201 }]);
  for (let i = 0; i < 600; i++) sat.update(201 + 0.1 * (i % 2));
  for (let x = 20; x <= 100; x += 3) sat.update(x);
  t.is(sat.topsHeight, Number.POSITIVE_INFINITY, 'a top that sat');
  // ...nor the next tooth's (the sawtooth is learnt afresh: one tooth, not its cycle over the night)
  feed(sat, [{ low: 103, top: 199 }]);
  for (let x = 20; x <= 100; x += 3) sat.update(x);
  t.is(sat.topsHeight, Number.POSITIVE_INFINITY, 'the tooth after a top that sat');
  // a fast climb that sits a little (12 steps up, 10 at the top) is a tooth
  const quick = new DampedTrend();
  for (let k = 0; k < 3; k++) {
    for (let x = 20; x < 200; x += 15) quick.update(x);
    for (let i = 0; i < 10; i++) quick.update(200 + 0.1 * (i % 2));
  }
  quick.update(20);
  t.is(quick.topsHeight, 200.1, 'a quick tooth that sat a little');
  // a sawtooth long over: flat for ten of its cycles, then a climb
  const over = new DampedTrend();
  feed(over, [{ low: 20, top: 198 }, { low: 20, top: 203 }, { low: 20, top: 200 }]);
  for (let i = 0; i < 600; i++) over.update(20 + 0.1 * (i % 2));
  for (let x = 20; x <= 100; x += 3) over.update(x);
  t.is(over.topsHeight, Number.POSITIVE_INFINITY, 'a sawtooth long over');
  // tops far apart: 100, 200, 150 from 20
  const apart = new DampedTrend();
  feed(apart, [{ low: 20, top: 100 }, { low: 20, top: 200 }, { low: 20, top: 150 }]);
  apart.update(20);
  t.is(apart.topsHeight, Number.POSITIVE_INFINITY, 'tops far apart');
  // drops read over two samples (the climb's flag outlives the first): the troughs are the
  // drops' bottoms, wherever the drops were caught, so tops a little apart still hold (read at
  // the first sample past half the rise, 60 and 100, the troughs crept with the tops)
  const caught = new DampedTrend();
  feed(caught, [{ low: 20, top: 195, drop: [60] }, { low: 20, top: 200, drop: [100] }, { low: 20, top: 205, drop: [140] }]);
  caught.update(20);
  t.is(caught.topsHeight, 205, 'drops over two samples');
  // noise: up and down, four rises now and then, never a line: no climb counts
  const r = rng(4);
  const noise = new DampedTrend();
  for (let i = 0; i < 2000; i++) noise.update(100 + 10 * r());
  t.is(noise.topsHeight, Number.POSITIVE_INFINITY, 'noise');
});
