// agent/predict: the normal helpers, then both forecasters against the same contract
// (constant, step, fading, irregular ticks, monotonicity, bad input), then each model's own
// properties (histogram resolution and memory, EWMA variance and clamping).
import test from 'ava';
import { DecayingHistogramForecaster, MAX_BUCKETS } from '../../agent/predict/decaying-histogram.js';
import { createForecaster, type Forecaster } from '../../agent/predict/index.js';
import { erf, normalCdf, normalQuantile, normalUpperTail } from '../../agent/predict/stats.js';
import { normalForecast, splitTailForecast } from '../../agent/predict/models/distributions.js';
import { rng } from '../helpers/rng.js';

const MODELS = ['ewma', 'decaying-histogram'] as const;
const SEC = 1000;
const HALF_LIFE = 10 * SEC;

/** Feeds `value` every `stepMs` from `fromMs` (inclusive) to `toMs` (exclusive). */
function feed(f: Forecaster, value: number | (() => number), fromMs: number, toMs: number, stepMs: number): void {
  for (let t = fromMs; t < toMs; t += stepMs) f.update(typeof value === 'number' ? value : value(), t);
}


function within(actual: number, expected: number, relative: number): boolean {
  return Math.abs(actual - expected) <= relative * Math.abs(expected);
}

// ---- normal distribution helpers ----

test('normal cdf and tail match reference values', (t) => {
  const cases: Array<[number, number]> = [
    [0, 0.5],
    [1, 0.8413447461],
    [-1.959963985, 0.025],
    [2.326347874, 0.99],
    [3, 0.9986501020],
    [-4, 3.167124183e-5],
  ];
  for (const [z, p] of cases) t.true(Math.abs(normalCdf(z) - p) < 2e-7, `cdf(${z}) = ${normalCdf(z)}, want ${p}`);
  // the upper tail keeps relative precision far out
  t.true(within(normalUpperTail(6), 9.865876450e-10, 1e-4), `tail(6) = ${normalUpperTail(6)}`);
  t.true(Math.abs(erf(0.5) - 0.5204998778) < 2e-7);
  t.true(Math.abs(erf(-0.5) + 0.5204998778) < 2e-7);
});

test('normal quantile matches reference values and inverts the cdf', (t) => {
  const cases: Array<[number, number]> = [
    [0.5, 0],
    [0.975, 1.959963985],
    [0.01, -2.326347874],
    [0.999, 3.090232306],
    [1e-6, -4.753424309],
  ];
  for (const [q, z] of cases) t.true(Math.abs(normalQuantile(q) - z) < 1e-5, `quantile(${q}) = ${normalQuantile(q)}, want ${z}`);
  for (let q = 0.001; q < 1; q += 0.001) {
    const back = normalCdf(normalQuantile(q));
    if (Math.abs(back - q) > 1e-6) t.fail(`cdf(quantile(${q})) = ${back}`);
  }
  t.throws(() => normalQuantile(0), { instanceOf: RangeError });
  t.throws(() => normalQuantile(1), { instanceOf: RangeError });
});

// ---- the contract, for both models ----

for (const model of MODELS) {
  const make = (halfLifeMs = HALF_LIFE): Forecaster => createForecaster(model, { halfLifeMs });

  test(`${model}: names itself`, (t) => {
    t.is(make().name, model);
  });

  test(`${model}: with no samples says nothing, with no confidence`, (t) => {
    const fc = make().forecast(5 * SEC);
    t.is(fc.mean, 0);
    t.is(fc.confidence, 0);
    t.is(fc.quantile(0.99), 0);
    t.is(fc.exceedance(1), 0);
  });

  test(`${model}: one sample gives its value with small confidence`, (t) => {
    const f = make();
    f.update(4.2, 1000);
    const fc = f.forecast(5 * SEC);
    t.true(within(fc.mean, 4.2, 1e-12), `mean ${fc.mean}`);
    t.true(within(fc.quantile(0.5), 4.2, 0.05), `p50 ${fc.quantile(0.5)}`);
    t.true(fc.confidence > 0 && fc.confidence < 0.3, `confidence ${fc.confidence}`);
  });

  test(`${model}: a constant series forecasts the constant`, (t) => {
    const f = make();
    feed(f, 7, 0, 200 * SEC, SEC);
    const fc = f.forecast(5 * SEC);
    t.true(within(fc.mean, 7, 1e-9), `mean ${fc.mean}`);
    for (const q of [0.01, 0.5, 0.9, 0.99]) t.true(within(fc.quantile(q), 7, 0.05), `q${q} = ${fc.quantile(q)}`);
    t.true(fc.exceedance(7 * 1.2) < 0.01, `P(> 8.4) = ${fc.exceedance(8.4)}`);
    t.true(fc.exceedance(7 * 0.8) > 0.99, `P(> 5.6) = ${fc.exceedance(5.6)}`);
    t.true(fc.confidence > 0.5 && fc.confidence < 1, `confidence ${fc.confidence}`);
  });

  test(`${model}: a step change is followed within a few half-lives`, (t) => {
    const f = make();
    feed(f, 2, 0, 100 * SEC, SEC);
    t.true(within(f.forecast(0).quantile(0.5), 2, 0.05));
    feed(f, 10, 100 * SEC, 100 * SEC + 2 * HALF_LIFE, SEC);
    const twoHalfLives = f.forecast(0);
    t.true(twoHalfLives.mean > 7, `mean after 2 half-lives ${twoHalfLives.mean}`);
    feed(f, 10, 100 * SEC + 2 * HALF_LIFE, 100 * SEC + 5 * HALF_LIFE, SEC);
    const fc = f.forecast(0);
    t.true(fc.mean > 9.5, `mean after 5 half-lives ${fc.mean}`);
    t.true(within(fc.quantile(0.5), 10, 0.05), `p50 ${fc.quantile(0.5)}`);
    t.true(fc.exceedance(5) > 0.9, `P(> 5) = ${fc.exceedance(5)}`);
  });

  test(`${model}: the half-life makes old high values fade`, (t) => {
    const decaying = make();
    const keeping = make(1e12); // practically no decay, for contrast
    for (const f of [decaying, keeping]) {
      feed(f, 100, 0, 300 * SEC, SEC);
      feed(f, 1, 300 * SEC, 600 * SEC, SEC); // 30 half-lives of low values
    }
    const fc = decaying.forecast(5 * SEC);
    t.true(fc.quantile(0.99) < 1.1, `p99 ${fc.quantile(0.99)}`);
    t.true(fc.exceedance(50) < 1e-3, `P(> 50) = ${fc.exceedance(50)}`);
    const old = keeping.forecast(5 * SEC);
    t.true(old.quantile(0.99) > 50, `without decay p99 ${old.quantile(0.99)}`);
    t.true(old.exceedance(50) > 0.3, `without decay P(> 50) = ${old.exceedance(50)}`);
  });

  test(`${model}: quantiles rise with q and exceedance falls with x`, (t) => {
    const f = make();
    const r = rng(7);
    feed(f, () => 50 + 20 * (r() - 0.5) + (r() < 0.05 ? 30 * r() : 0), 0, 300 * SEC, SEC);
    const fc = f.forecast(5 * SEC);
    let prev = -Infinity;
    for (let q = 0.01; q < 0.995; q += 0.01) {
      const v = fc.quantile(q);
      if (!(v >= prev)) t.fail(`quantile(${q.toFixed(2)}) = ${v} < ${prev}`);
      prev = v;
      // the two readings agree: P(value > quantile(q)) = 1 - q
      if (Math.abs(fc.exceedance(v) - (1 - q)) > 1e-3) t.fail(`exceedance(quantile(${q.toFixed(2)})) = ${fc.exceedance(v)}`);
    }
    let prevP = 1;
    for (let x = -5; x <= 120; x += 0.25) {
      const p = fc.exceedance(x);
      if (!(p >= 0 && p <= 1 && p <= prevP)) t.fail(`exceedance(${x}) = ${p} after ${prevP}`);
      prevP = p;
    }
    t.is(fc.exceedance(-1), 1);
    t.true(fc.exceedance(1000) < 1e-6);
    t.pass();
  });

  test(`${model}: decay follows elapsed time, not the number of ticks`, (t) => {
    // Old level 1, then level 10 for exactly one half-life: half the weight is new, whatever
    // the tick period, so the mean is 5.5 at every rate. A per-tick decay would differ.
    for (const stepMs of [500, SEC, 2 * SEC, 5 * SEC]) {
      const f = make();
      feed(f, 1, 0, 200 * SEC, stepMs);
      feed(f, 10, 200 * SEC, 200 * SEC + HALF_LIFE, stepMs);
      const mean = f.forecast(0).mean;
      t.true(within(mean, 5.5, 0.01), `tick ${stepMs} ms: mean ${mean}`);
    }
  });

  test(`${model}: a long silence leaves the old history nearly weightless`, (t) => {
    const f = make();
    feed(f, 3, 0, 100 * SEC, SEC);
    const before = f.forecast(0).confidence;
    f.update(20, 100 * SEC + 10 * HALF_LIFE); // one sample after 10 half-lives of silence
    const fc = f.forecast(0);
    // old weight about 15 samples / 2^10: the mean lies within 2% of the new value
    t.true(within(fc.mean, 20, 0.02), `mean ${fc.mean}`);
    t.true(within(fc.quantile(0.5), 20, 0.05), `p50 ${fc.quantile(0.5)}`);
    t.true(fc.confidence < 0.2 && fc.confidence < before, `confidence ${fc.confidence} (before ${before})`);
  });

  test(`${model}: samples at one instant are averaged, and time going back does no harm`, (t) => {
    const f = make();
    f.update(2, 5000);
    f.update(4, 5000);
    t.true(within(f.forecast(0).mean, 3, 1e-12), `mean ${f.forecast(0).mean}`);
    f.update(6, 4000); // out of order
    const fc = f.forecast(0);
    t.true(Number.isFinite(fc.mean) && fc.mean > 3 && fc.mean <= 4, `mean ${fc.mean}`);
    t.true(fc.confidence > 0 && fc.confidence < 1);
  });

  test(`${model}: NaN and infinite samples are ignored, negative ones count as 0`, (t) => {
    const f = make();
    const g = make();
    for (const x of [f, g]) feed(x, 5, 0, 20 * SEC, SEC);
    f.update(Number.NaN, 20 * SEC);
    f.update(Number.POSITIVE_INFINITY, 20 * SEC);
    f.update(5, Number.NaN);
    f.update(5, Number.POSITIVE_INFINITY);
    t.deepEqual(
      [f.forecast(0).mean, f.forecast(0).quantile(0.9), f.forecast(0).confidence],
      [g.forecast(0).mean, g.forecast(0).quantile(0.9), g.forecast(0).confidence],
    );
    const h = make();
    h.update(-3, 0);
    t.is(h.forecast(0).mean, 0);
    t.true(h.forecast(0).quantile(0.5) >= 0);
  });

  test(`${model}: invalid options and arguments throw clear errors`, (t) => {
    for (const halfLifeMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      t.throws(() => createForecaster(model, { halfLifeMs }), { instanceOf: RangeError, message: /halfLifeMs must be/ });
    }
    const f = make();
    f.update(1, 0);
    const fc = f.forecast(0);
    for (const q of [0, 1, -0.5, 2, Number.NaN]) t.throws(() => fc.quantile(q), { instanceOf: RangeError, message: /q in \(0, 1\)/ });
    t.throws(() => fc.exceedance(Number.NaN), { instanceOf: RangeError });
    t.throws(() => f.forecast(-1), { instanceOf: RangeError, message: /horizonMs/ });
    t.throws(() => f.forecast(Number.NaN), { instanceOf: RangeError, message: /horizonMs/ });
  });
}

test('createForecaster rejects an unknown model', (t) => {
  t.throws(() => createForecaster('arima' as 'ewma', { halfLifeMs: 1000 }), { instanceOf: RangeError, message: /unknown forecast model "arima"/ });
});

// ---- decaying histogram ----

test('decaying-histogram: percentiles of a uniform sample within a bucket width', (t) => {
  const f = new DecayingHistogramForecaster({ halfLifeMs: HALF_LIFE });
  const n = 20_000;
  for (let i = 0; i < n; i++) f.update(1 + (999 * i) / (n - 1), 1000); // uniform on [1, 1000]
  const fc = f.forecast(0);
  for (const q of [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]) {
    const expected = 1 + 999 * q;
    t.true(within(fc.quantile(q), expected, 0.05), `q${q}: ${fc.quantile(q)}, want ${expected}`);
  }
  t.true(Math.abs(fc.exceedance(500.5) - 0.5) < 0.02, `P(> 500.5) = ${fc.exceedance(500.5)}`);
  t.true(within(fc.mean, 500.5, 1e-9));
});

test('decaying-histogram: memory is a fixed set of buckets reaching 1e6', (t) => {
  const f = new DecayingHistogramForecaster({ halfLifeMs: HALF_LIFE });
  const buckets = f.bucketCount;
  t.true(buckets > 250 && buckets < 400, `${buckets} buckets`);
  const r = rng(3);
  feed(f, () => 5e5 * (0.98 + 0.04 * r()), 0, 100_000 * SEC, SEC);
  t.is(f.bucketCount, buckets);
  t.true(within(f.forecast(0).quantile(0.5), 5e5, 0.05), `p50 ${f.forecast(0).quantile(0.5)}`);
  // beyond the last finite bucket: the overflow bucket, capped by what was seen
  const g = new DecayingHistogramForecaster({ halfLifeMs: HALF_LIFE });
  g.update(5e7, 0);
  const q = g.forecast(0).quantile(0.99);
  t.true(q >= 1e6 && q <= 5e7, `overflow p99 ${q}`);
  t.is(g.forecast(0).exceedance(5e7), 0);
});

test('decaying-histogram: weights stay finite over thousands of half-lives', (t) => {
  const f = new DecayingHistogramForecaster({ halfLifeMs: SEC });
  feed(f, 3, 0, 5000 * SEC, SEC); // 2^5000 would overflow without rebasing
  let fc = f.forecast(0);
  t.true(within(fc.quantile(0.5), 3, 0.05), `p50 ${fc.quantile(0.5)}`);
  t.true(Number.isFinite(fc.confidence) && fc.confidence > 0);
  feed(f, 30, 5000 * SEC, 5020 * SEC, SEC); // a step after many rebases is still followed
  fc = f.forecast(0);
  t.true(within(fc.quantile(0.5), 30, 0.05), `p50 after step ${fc.quantile(0.5)}`);
  t.true(fc.exceedance(10) > 0.99);
});

test('decaying-histogram: a late sample keeps the weight of its own time', (t) => {
  const f = new DecayingHistogramForecaster({ halfLifeMs: HALF_LIFE });
  feed(f, 5, 100 * SEC, 110 * SEC, SEC);
  f.update(100, 0); // arrives last but was taken 10+ half-lives earlier
  const fc = f.forecast(0);
  t.true(fc.exceedance(50) < 2e-4, `P(> 50) = ${fc.exceedance(50)}`);
  t.true(within(fc.quantile(0.99), 5, 0.05));
});

test('decaying-histogram: invalid bucket options throw', (t) => {
  const halfLifeMs = 1000;
  t.throws(() => new DecayingHistogramForecaster({ halfLifeMs, ratio: 1 }), { instanceOf: RangeError, message: /ratio/ });
  t.throws(() => new DecayingHistogramForecaster({ halfLifeMs, firstBucketSize: 0 }), { instanceOf: RangeError, message: /firstBucketSize/ });
  t.throws(() => new DecayingHistogramForecaster({ halfLifeMs, maxValue: 0.001 }), { instanceOf: RangeError, message: /maxValue/ });
  t.throws(() => new DecayingHistogramForecaster({ halfLifeMs, ratio: 1.0000001 }), {
    instanceOf: RangeError,
    message: new RegExp(`limit ${MAX_BUCKETS}`),
  });
});

// ---- EWMA ----

test('ewma: unbiased weighted variance sets the spread', (t) => {
  const f = createForecaster('ewma', { halfLifeMs: HALF_LIFE });
  for (const x of [1, 2, 3]) f.update(x, 0); // mean 2, sample variance 1
  const fc = f.forecast(5 * SEC);
  t.true(within(fc.mean, 2, 1e-12));
  t.true(Math.abs(fc.quantile(0.8413447461) - 3) < 1e-5, `q(+1 sd) = ${fc.quantile(0.8413447461)}`);
  t.true(Math.abs(fc.exceedance(3) - 0.1586552539) < 1e-6, `P(> 3) = ${fc.exceedance(3)}`);
});

test('ewma: forecasts are clamped at 0', (t) => {
  const f = createForecaster('ewma', { halfLifeMs: HALF_LIFE });
  f.update(0, 0);
  f.update(10, 0); // mean 5, sd about 7.07: a tenth of the normal lies below 0
  const fc = f.forecast(0);
  t.is(fc.quantile(0.1), 0);
  t.true(fc.quantile(0.9) > 10);
  t.is(fc.exceedance(-0.001), 1);
  t.true(fc.exceedance(0) < 1 && fc.exceedance(0) > 0.7);
});

test('a split-tail forecast: the body normal to its p90, a tail of its own spread above, quantiles and exceedance agreeing', (t) => {
  const fc = splitTailForecast(10, 2, 6, 1);
  const z90 = normalQuantile(0.9);
  t.true(Math.abs(fc.quantile(0.5) - 10) < 1e-12);
  t.true(Math.abs(fc.quantile(0.9) - (10 + 2 * z90)) < 1e-12, 'the p90 is the body\'s');
  t.true(Math.abs(fc.quantile(0.99) - (10 + 2 * z90 + 6 * (normalQuantile(0.99) - z90))) < 1e-9, 'the p99 from the tail\'s spread');
  for (const q of [0.2, 0.5, 0.9, 0.95, 0.99, 0.999]) t.true(Math.abs(fc.exceedance(fc.quantile(q)) - (1 - q)) < 1e-6, `q ${q}`);
  // continuous at the p90, and a level far above it far likelier than the body alone says
  const p90 = fc.quantile(0.9);
  t.true(Math.abs(fc.exceedance(p90 - 1e-9) - fc.exceedance(p90 + 1e-9)) < 1e-6);
  t.true(fc.exceedance(20) > 10 * normalForecastTail(10, 2, 20));
  // equal spreads: the plain normal; no spread at all: the point
  t.is(splitTailForecast(10, 2, 2, 1).quantile(0.99), normalForecast(10, 2, 1).quantile(0.99));
  t.is(splitTailForecast(10, 0, 0, 1).quantile(0.99), 10);
  // no body spread (a climb floor moved the p50 up to the p90): the centre to the p90, the tail above it
  const edge = splitTailForecast(10, 0, 5, 1);
  t.is(edge.quantile(0.5), 10);
  t.is(edge.quantile(0.9), 10);
  t.true(Math.abs(edge.quantile(0.99) - (10 + 5 * (normalQuantile(0.99) - z90))) < 1e-9);
  t.is(edge.exceedance(9.99), 1);
  t.true(Math.abs(edge.exceedance(10) - 0.1) < 1e-12);
  t.true(Math.abs(edge.exceedance(edge.quantile(0.99)) - 0.01) < 1e-9);
});

const normalForecastTail = (centre: number, sd: number, x: number): number => normalForecast(centre, sd, 1).exceedance(x);
