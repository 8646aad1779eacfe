// Windowed least squares (agent/predict/models/window-regression.ts): known answers, and the same
// fits as mljs's ml-regression (the library the forecasting issue names) on random windows.
import test from 'ava';
import { PolynomialRegression } from 'ml-regression-polynomial';
import { SimpleLinearRegression } from 'ml-regression-simple-linear';
import { createForecaster } from '../../agent/predict/forecaster.js';
import { evaluate, fitPolynomial, SlidingPolyFit, WindowRegressionForecaster } from '../../agent/predict/models/window-regression.js';
import { rng } from '../helpers/rng.js';

const SEC = 1000;

test('regression: a line and a parabola through exact points are recovered and extrapolated', (t) => {
  const line = new SlidingPolyFit(10, 1);
  const parabola = new SlidingPolyFit(10, 2);
  for (let s = 100; s < 130; s++) {
    line.push(s, 3 + 0.5 * s);
    parabola.push(s, 2 + 0.1 * s - 0.01 * s * s);
  }
  t.is(line.size, 10, 'the window keeps its last 10 points');
  t.true(Math.abs(line.at(200) - (3 + 0.5 * 200)) < 1e-9, `line at 200: ${line.at(200)}`);
  t.true(Math.abs(parabola.at(140) - (2 + 0.1 * 140 - 0.01 * 140 * 140)) < 1e-7, `parabola at 140: ${parabola.at(140)}`);
  t.is(line.fit()!.residualSd, 0);
  // the peak of a falling line over (129, 139] is its first slot; a parabola's vertex between the ends counts
  t.true(Math.abs(line.maxOver(129, 139) - line.at(139)) < 1e-9, 'rising line: the far end');
  const hump = new SlidingPolyFit(5, 2);
  for (let s = 0; s < 5; s++) hump.push(s, -((s - 6) ** 2));
  t.true(Math.abs(hump.maxOver(4, 10) - 0) < 1e-9, `the vertex at slot 6: ${hump.maxOver(4, 10)}`);
});

test('regression: too few points, or all on one slot, give no fit', (t) => {
  t.is(fitPolynomial([1], [2], 1, 1), null);
  t.is(fitPolynomial([1, 2], [2, 3], 2, 2), null);
  t.is(fitPolynomial([5, 5, 5], [1, 2, 3], 3, 1), null);
  t.throws(() => new SlidingPolyFit(2, 1), { instanceOf: RangeError });
  t.throws(() => new SlidingPolyFit(10, 3 as 1), { instanceOf: RangeError });
});

test('regression: the same coefficients and predictions as ml-regression on random windows', (t) => {
  const rnd = rng(11);
  for (let trial = 0; trial < 50; trial++) {
    const n = 8 + Math.floor(rnd() * 60);
    const start = Math.floor(rnd() * 1e6);
    const xs: number[] = [];
    const ys: number[] = [];
    let slot = start;
    for (let i = 0; i < n; i++) {
      slot += 1 + (rnd() < 0.1 ? 2 : 0); // holes now and then
      xs.push(slot);
      ys.push(50 + 20 * Math.sin(slot / 7) + 5 * rnd());
    }
    const at = slot + 1 + Math.floor(rnd() * 30);
    const lin = fitPolynomial(xs, ys, n, 1)!;
    const ref1 = new SimpleLinearRegression(xs, ys);
    t.true(Math.abs(evaluate(lin, at) - ref1.predict(at)) < 1e-6 * Math.max(1, Math.abs(ref1.predict(at))), `trial ${trial}: line ${evaluate(lin, at)} vs ${ref1.predict(at)}`);
    t.true(Math.abs(lin.coef[1]! - ref1.slope) < 1e-9 * Math.max(1, Math.abs(ref1.slope)), `slope ${lin.coef[1]} vs ${ref1.slope}`);
    // ml-regression's polynomial works in raw x: centred here, so compare in a well-conditioned frame
    const centred = xs.map((x) => x - start);
    const quad = fitPolynomial(centred, ys, n, 2)!;
    const ref2 = new PolynomialRegression(centred, ys, 2);
    const want = ref2.predict(at - start);
    t.true(Math.abs(evaluate(quad, at - start) - want) < 1e-6 * Math.max(1, Math.abs(want)), `trial ${trial}: parabola ${evaluate(quad, at - start)} vs ${want}`);
  }
});

test('regression forecaster: extrapolates a ramp, and its p90 covers about 90% of a noisy line', (t) => {
  const f = createForecaster('linear-regression', { halfLifeMs: 600 * SEC });
  t.true(f instanceof WindowRegressionForecaster);
  for (let i = 0; i < 50; i++) f.update(10 + 2 * i, i * SEC);
  // 10 s ahead of the last sample (i = 49): 10 + 2 * 59
  t.true(Math.abs(f.forecast(10 * SEC).quantile(0.5) - 128) < 1e-6, `p50 ${f.forecast(10 * SEC).quantile(0.5)}`);

  const rnd = rng(3);
  const g = new WindowRegressionForecaster({ halfLifeMs: 600 * SEC, stepMs: SEC, windowSteps: 24 }, 1);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  let pending: number[] = [];
  let over = 0;
  let scored = 0;
  for (let i = 0; i < 3000; i++) {
    const y = 100 + 0.05 * i + 3 * gauss();
    if (pending.length > 0 && i >= 100) {
      scored++;
      if (y > pending[0]!) over++;
    }
    g.update(y, i * SEC);
    pending = [g.forecast(SEC).quantile(0.9)];
  }
  const rate = over / scored;
  t.true(rate > 0.07 && rate < 0.13, `share above the p90: ${(rate * 100).toFixed(1)}%`);
  t.is(createForecaster('poly-regression', { halfLifeMs: SEC }).name, 'poly-regression');
});
