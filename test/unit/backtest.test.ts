// The harness beyond BASELINES.md's figures (traces.test.ts reproduces those): targets in time
// resolved per grid, one forecaster per target, saturation warnings (crossings, lead times,
// false alarms) on a hand-computed case, the engine's table against the best reference baseline,
// then the engine's warnings on synthetic agent-tick traces (growth: warned in time; steady: few
// false alarms) and the engine on one real series per public dataset.
import test from 'ava';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AGENT_TARGETS, targetByName, backtestSeries, hindsightLoss, defaultTargets, defaultWarmup, forecasterModel, MAX_FALSE_ALARM_RATE, MIN_LEAD_SECONDS,
  resolveTarget, runBacktest, saturationTable, targetTable, TARGETS, type ModelSpec, type OnlineModel, type Target,
} from '../../agent/predict/backtest.js';
import { ENGINE, modelsByName, SINGLE_BASELINES } from '../../agent/predict/baselines.js';
import { createForecaster } from '../../agent/predict/forecaster.js';
import { markdown, renderSaturation } from '../../agent/cli/predict.js';
import { readTraces, type Series } from '../../agent/predict/traces/index.js';
import { testIf } from '../helpers/host.js';
import { rng } from '../helpers/rng.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SHARED = process.env.HEADROOM_TRACES ?? resolve(root, '../shared/traces');

function series(values: number[], opts: Partial<Series> = {}): Series {
  return {
    name: 's', dataset: 'headroom', resource: 'cpu_cores', stepSeconds: 1, startSeconds: 0,
    values: Float64Array.from(values), stats: { rows: values.length, merged: 0, dropped: 0 }, ...opts,
  };
}

/** A model whose p90 at origin t is script[t] (p50 the same). */
function scripted(id: string, script: number[]): ModelSpec {
  return {
    id, label: id, create(): OnlineModel {
      let t = -1;
      return { observe: (_v, i) => (t = i), predict: () => ({ p50: script[t] ?? 0, p90: script[t] ?? 0 }) };
    },
  };
}


test('targets in time become steps of each grid; the default set follows the grid', (t) => {
  t.is(resolveTarget(AGENT_TARGETS.h60s, 1).steps, 60);
  t.is(resolveTarget(AGENT_TARGETS.h60s, 5).steps, 12);
  t.is(resolveTarget(AGENT_TARGETS.h5s, 300).steps, 1); // never below one step
  t.is(resolveTarget(TARGETS.h12, 1).steps, 12); // a target in steps stays as it is
  t.deepEqual(defaultTargets(300).map((x) => x.name), ['h1', 'h12', 'h12max']);
  t.deepEqual(defaultTargets(1).map((x) => x.name), ['h5s', 'h60s', 'h60smax']);
  t.is(defaultWarmup(300), 288);
  t.is(defaultWarmup(1), 120);
  t.is(defaultWarmup(5), 24);
  // targets by name: steps, or a time turned into steps per grid; the value, or the peak (max)
  t.deepEqual(targetByName('h30'), { name: 'h30', kind: 'point', steps: 30 });
  t.deepEqual(targetByName('h15mmax'), { name: 'h15mmax', kind: 'peak', steps: 900, seconds: 900 });
  t.is(resolveTarget(targetByName('h1h')!, 300).steps, 12);
  t.is(targetByName('h60smax'), AGENT_TARGETS.h60smax);
  // days too (the error said "up to a week", and h7d was refused)
  t.is(resolveTarget(targetByName('h1dmax')!, 300).steps, 288);
  t.deepEqual(targetByName('h7d'), { name: 'h7d', kind: 'point', steps: 604_800, seconds: 604_800 });
  for (const bad of ['h0', 'h', 'h5x', 'h5smaxx', 'x5s', 'h1.5m', 'h10001', 'h169h', 'h8d']) t.is(targetByName(bad), undefined, bad);
  t.is(targetByName('h10000max')!.steps, 10_000);
});

test('one forecaster per target, each fed every value, a peak target may get its own model', (t) => {
  const made: string[] = [];
  const spec = forecasterModel('f', 'f', (_ctx, target) => {
    made.push(target.name);
    return createForecaster(target.kind === 'peak' ? 'engine-peak' : 'last-value', { halfLifeMs: 60_000 });
  });
  const y = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const r = backtestSeries(series(y), [spec], [TARGETS.h1, TARGETS.h12max], { warmup: 2 });
  t.deepEqual(made, ['h1', 'h12max']);
  // last value on a ramp: 1 below at every scored origin
  t.true(Math.abs(r.targets.h1!.scores[0]!.nPL90 - 0.9 / 5.5) < 1e-12);
});

test('a forecaster is asked for its horizon after every value, warm-up included, as the agent asks every tick', (t) => {
  const asked: Array<[number, number]> = []; // [values fed so far, horizon ms]
  let fed = 0;
  const spec = forecasterModel('spy', 'spy', () => ({
    update: () => { fed++; },
    forecast: (h: number) => { asked.push([fed, h]); return createForecaster('last-value', { halfLifeMs: 1000 }).forecast(h); },
  }) as unknown as ReturnType<typeof createForecaster>);
  backtestSeries(series([1, 2, 3, 4, 5, 6]), [spec], [TARGETS.h1], { warmup: 3 });
  const step = series([1]).stepSeconds * 1000;
  // after each of the 6 values (then once per scored point by the scorer)
  t.deepEqual(asked.slice(0, 3), [[1, step], [2, step], [3, step]]);
  t.is(new Set(asked.map(([n]) => n)).size, 6);
});

test('tables per dataset and per resource: a resource\'s table holds its series only', (t) => {
  const cpu = series([1, 2, 3, 4, 5, 6, 7, 8], { name: 'a' });
  const mem = series([10, 10, 10, 10, 10, 10, 10, 10], { name: 'a', resource: 'memory_bytes' });
  const report = runBacktest([cpu, mem], [scripted('w', [0, 0, 0, 0, 0, 0, 0, 0])], [TARGETS.h1], { warmup: 2 });
  t.deepEqual(report.tables.map((x) => [x.group, x.resource, x.series]), [['headroom', undefined, 2]]);
  t.deepEqual(report.resourceTables.map((x) => [x.group, x.resource, x.series]), [['headroom', 'cpu_cores', 1], ['headroom', 'memory_bytes', 1]]);
  // p90 0 under every value: the loss is 0.9 of the mean |y| over the scored points, each resource its own
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  t.true(Math.abs(report.resourceTables[0]!.rows[0]!.nPL90 - 0.9 * mean([4, 5, 6, 7, 8]) / mean([1, 2, 3, 4, 5, 6, 7, 8])) < 1e-9);
  t.true(Math.abs(report.resourceTables[1]!.rows[0]!.nPL90 - 0.9) < 1e-9);
  t.true(Math.abs(report.tables[0]!.rows[0]!.nPL90 - (report.resourceTables[0]!.rows[0]!.nPL90 + 0.9) / 2) < 1e-9, 'the dataset\'s: the mean of its series');
});

test('saturation by hand: crossings, lead times and false alarms', (t) => {
  // level 5 (given), peak target over 2 steps, warm-up 2: origins 2..13 are forecast
  const y = [1, 1, 1, 1, 6, 6, 1, 1, 1, 1, 7, 1, 1, 1];
  const p90 = [0, 0, 0, 9, 9, 0, 9, 0, 9, 9, 0, 0, 0, 0]; // warnings at 3, 4, 6, 8, 9
  const peak2: Target = { name: 'm2', kind: 'peak', steps: 2 };
  const r = backtestSeries(series(y), [scripted('w', p90)], [peak2], { warmup: 2, limits: { cpu_cores: 5 } });
  const sat = r.targets.m2!.saturation![0]!;
  t.deepEqual([sat.level, sat.levelFrom], [5, '--limit']);
  // rises through 5 at 4 (warned from 3: 1 step) and at 10 (warned from 8, at most 2 steps: 2)
  t.is(sat.crossings, 2);
  t.deepEqual(sat.leadsSeconds, [1, 2]);
  // scored origins 2..11; quiet ones (no value above 5 in the next 2): 5, 6, 7, 10, 11; a warning at 6
  t.deepEqual([sat.warnings, sat.falseAlarms, sat.quietOrigins], [5, 1, 5]);
  // without a limit: the warm-up's highest value (1), so the first rise at 4 still crosses
  const r2 = backtestSeries(series(y), [scripted('w', p90)], [peak2], { warmup: 2 });
  t.deepEqual([r2.targets.m2!.saturation![0]!.level, r2.targets.m2!.saturation![0]!.levelFrom], [1, 'warm-up max']);
  // the trace's own limit (its header's or its samples'): said apart from --limit's, which rules over it
  const r3 = backtestSeries({ ...series(y), limit: 4 }, [scripted('w', p90)], [peak2], { warmup: 2 });
  t.deepEqual([r3.targets.m2!.saturation![0]!.level, r3.targets.m2!.saturation![0]!.levelFrom], [4, 'limit']);
  const r4 = backtestSeries({ ...series(y), limit: 4 }, [scripted('w', p90)], [peak2], { warmup: 2, limits: { cpu_cores: 5 } });
  t.deepEqual([r4.targets.m2!.saturation![0]!.level, r4.targets.m2!.saturation![0]!.levelFrom], [5, '--limit']);
  // a limit is reached within 1% of it (usage cannot pass a CPU quota: one held at 4.97 of 5 is
  // saturated, and the warnings before it were no false alarms), as the agent reads it; a
  // warm-up's highest value only by a value above it
  const held = y.map((v) => Math.min(v, 4.97));
  const atQuota = backtestSeries(series(held), [scripted('w', p90)], [peak2], { warmup: 2, limits: { cpu_cores: 5 } }).targets.m2!.saturation![0]!;
  t.deepEqual([atQuota.crossings, atQuota.leadsSeconds, atQuota.falseAlarms, atQuota.quietOrigins], [2, [1, 2], 1, 5]);
  const below = backtestSeries(series(y.map((v) => Math.min(v, 4.9))), [scripted('w', p90)], [peak2], { warmup: 2, limits: { cpu_cores: 5 } }).targets.m2!.saturation![0]!;
  t.deepEqual([below.crossings, below.falseAlarms], [0, 5], '2% under the limit: not reached');
  const warm = backtestSeries(series([1, 1, 0.995, 0.995, 0.995, 0.995]), [scripted('w', [0, 0, 9, 9, 9, 9])], [peak2], { warmup: 2 }).targets.m2!.saturation![0]!;
  t.deepEqual([warm.levelFrom, warm.crossings], ['warm-up max', 0]);
  // a point target has no saturation score
  t.is(backtestSeries(series(y), [scripted('w', p90)], [TARGETS.h1], { warmup: 2 }).targets.h1!.saturation, undefined);
  // a lead is never more than the horizon, and a break in the warnings restarts it
  const long = scripted('long', [0, 0, 9, 9, 9, 9, 9, 9, 9, 9, 0, 0, 0, 0]);
  const s3 = backtestSeries(series([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 7, 1, 1, 1]), [long], [peak2], { warmup: 2, limits: { cpu_cores: 5 } });
  t.deepEqual(s3.targets.m2!.saturation![0]!.leadsSeconds, [2]);
  // in the tables: each model's warnings summed over the table's series (the leads pooled)
  const report = runBacktest([series(y), series(y, { name: 't' })], [scripted('w', p90)], [peak2], { warmup: 2, limits: { cpu_cores: 5 } });
  for (const table of [...report.tables, ...report.resourceTables]) {
    t.deepEqual(table.rows[0]!.saturation, { series: 2, crossings: 4, warnedInTime: 0, medianLeadSeconds: 1, falseAlarms: 2, quietOrigins: 10 });
  }
  t.is(runBacktest([series(y)], [scripted('w', p90)], [TARGETS.h1], { warmup: 2 }).tables[0]!.rows[0]!.saturation, undefined, 'a point target has none');
  // a series whose level is its warm-up's highest value (no limit in it) is not pooled: a level
  // nobody set, which a steady series passes often; the one with a limit is
  const mixed = runBacktest([series(y, { limit: 5 }), series(y, { name: 't' })], [scripted('w', p90)], [peak2], { warmup: 2 });
  t.deepEqual(mixed.series.map((r) => r.targets.m2!.saturation![0]!.levelFrom), ['limit', 'warm-up max']);
  t.like(mixed.tables[0]!.rows[0]!.saturation, { series: 1, crossings: 2 });
  t.is(runBacktest([series(y, { name: 't' })], [scripted('w', p90)], [peak2], { warmup: 2 }).tables[0]!.rows[0]!.saturation, undefined, 'none with a limit: no warnings pooled');
  // a row per series and peak target with something to judge it on (a crossing or a quiet origin):
  // none for a target longer than a series that never crosses
  const tooLong: Target = { name: 'm20', kind: 'peak', steps: 20 };
  const calm = runBacktest([series(y.map(() => 1))], [scripted('w', p90)], [peak2, tooLong], { warmup: 2, limits: { cpu_cores: 5 } });
  t.deepEqual(saturationTable(calm, [scripted('w', p90)], 'w').map((row) => row.target), ['m2']);
  // one that crosses keeps its row for the target too long to score, with its points (0), which
  // the table marks: its loss tables read "0 scored points"
  const crossing = runBacktest([series(y)], [scripted('w', p90)], [peak2, tooLong], { warmup: 2, limits: { cpu_cores: 5 } });
  const rows = saturationTable(crossing, [scripted('w', p90)], 'w');
  t.deepEqual(rows.map((row) => [row.target, row.points > 0]), [['m2', true], ['m20', false]]);
  const shown = renderSaturation(rows, 'w');
  t.regex(shown, /\|\s+m20 \* \|/);
  t.regex(shown, /A target marked \* scored no points/);
  t.notRegex(renderSaturation(rows.slice(0, 1), 'w'), /marked \*/);
});

test('saturation by hand: an OOM kill is the level reached, though the values before it read below it', (t) => {
  // memory killed at its limit 5: 4.9 then 0; the kill at step 5 (Series.reachedSteps)
  const y = [1, 1, 1, 2, 4.9, 0, 0, 0, 0, 0, 0, 0];
  const p90 = [0, 0, 0, 9, 9, 0, 0, 0, 0, 9, 0, 0]; // warnings at 3, 4 and 9
  const peak2: Target = { name: 'm2', kind: 'peak', steps: 2 };
  const killed = series(y, { resource: 'memory_bytes', reachedSteps: [5] });
  const sat = backtestSeries(killed, [scripted('w', p90)], [peak2], { warmup: 2, limits: { memory_bytes: 5 } }).targets.m2!.saturation![0]!;
  // a crossing at 5, warned from 3 (2 steps); origins 3 and 4 see the kill in their windows: not quiet
  t.is(sat.crossings, 1);
  t.deepEqual(sat.leadsSeconds, [2]);
  // scored origins 2..9; quiet: 2 (its window 3..4 holds no kill), 5..9; a warning at 9
  t.deepEqual([sat.warnings, sat.falseAlarms, sat.quietOrigins], [3, 1, 6]);
  // without the kill: no crossing, and all three warnings are false alarms
  const before = backtestSeries(series(y, { resource: 'memory_bytes' }), [scripted('w', p90)], [peak2], { warmup: 2, limits: { memory_bytes: 5 } }).targets.m2!.saturation![0]!;
  t.deepEqual([before.crossings, before.falseAlarms, before.quietOrigins], [0, 3, 8]);
});

/** Memory at 50 MiB for 300 s, then 2 MiB/s until killed at 99% of its 400 MiB limit, then empty (0.2 MiB) to 900 s. */
function leakKilled(): { y: number[]; killedAt: number; limit: number } {
  const MiB = 1024 * 1024;
  const limit = 400 * MiB;
  const y: number[] = [];
  let killedAt = -1;
  for (let s = 0; s < 900; s++) {
    const noise = ((s * 7919) % 13) / 13;
    const climb = 50 * MiB + 2 * MiB * Math.max(0, s - 300) + noise * 0.6 * MiB;
    if (killedAt < 0 && climb >= 0.99 * limit) killedAt = s;
    y.push(killedAt < 0 ? climb : 0.2 * MiB + noise * 0.01 * MiB);
  }
  return { y, killedAt, limit };
}

test('replays start the agent\'s models afresh where a recorded OOM kill emptied the workload, as the agent does; the baselines take no notice', (t) => {
  const { y, killedAt, limit } = leakKilled();
  const peak60: Target = { name: 'h60smax', kind: 'peak', steps: 60 };
  const specs = [ENGINE, ...modelsByName(['forecaster:engine-peak', 'ewma'])];
  const ctx = { stepSeconds: 1, startSeconds: 0, warmup: 120, dayPoints: 86_400, targets: [peak60], resource: 'memory_bytes' };
  for (const spec of specs.slice(0, 2)) {
    const [told, untold] = [spec.create({ ...ctx, shared: new Map() }), spec.create({ ...ctx, shared: new Map() })];
    let untoldHigh = 0;
    for (let s = 0; s < y.length; s++) {
      told.observe(y[s]!, s, s === killedAt);
      untold.observe(y[s]!, s);
      if (s < killedAt || s >= killedAt + 120) continue;
      // over the emptied cgroup: nothing of the climb, where kept it read a peak near the limit
      const p90 = told.predict(peak60).p90;
      t.true(p90 < 0.05 * limit, `${spec.id}: the 60 s peak's p90 ${(p90 / 2 ** 20).toFixed(1)} MiB ${s - killedAt} s after the kill`);
      if (untold.predict(peak60).p90 >= 0.5 * limit) untoldHigh++;
    }
    t.true(untoldHigh >= 30, `${spec.id}: untold of the kill, the p90 read half the limit or more on ${untoldHigh} ticks after it`);
  }
  // through the harness: the trace's kill reaches the models
  const run = (values: number[], reachedSteps?: number[]) =>
    backtestSeries(series(values, { resource: 'memory_bytes', ...(reachedSteps ? { reachedSteps } : {}) }), specs, [peak60], { warmup: 120, limits: { memory_bytes: limit } }).targets.h60smax!;
  const [withKill, without] = [run(y, [killedAt]), run(y)];
  // a kill at a step with no value is told with the next one
  const gap = run(y.map((v, s) => (s === killedAt ? Number.NaN : v)), [killedAt]);
  for (const i of [0, 1]) {
    for (const [what, told] of [['at its step', withKill], ['at a step with no value', gap]] as const) {
      t.true(told.scores[i]!.nSlack90 < 0.5 * without.scores[i]!.nSlack90, `${specs[i]!.id}, the kill ${what}: slack ${told.scores[i]!.nSlack90} told, ${without.scores[i]!.nSlack90} untold`);
    }
  }
  t.deepEqual(withKill.scores[2], without.scores[2], 'the EWMA baseline forecasts the same, told or not');
});

test('contention probability by hand: Brier score against the level, and its skill over the series\' own share', (t) => {
  // level 5 (given), value 1 step ahead, warm-up 2: origins 2..8 scored against y[3..9]
  const y = [1, 1, 1, 6, 1, 6, 6, 1, 1, 1];
  // P(y[t+1] > 5) said at origin t
  const said = [0, 0, 0.5, 0.5, 1, 0.2, 0, 0, 0.1];
  const prob: ModelSpec = {
    id: 'p', label: 'p', create(): OnlineModel {
      let t = -1;
      return { observe: (_v, i) => (t = i), predict: () => ({ p50: 0, p90: 0, exceedance: () => said[t]! }) };
    },
  };
  const r = backtestSeries(series(y), [prob, scripted('q', [])], [TARGETS.h1], { warmup: 2, limits: { cpu_cores: 5 } });
  const h1 = r.targets.h1!;
  // outcomes at origins 2..8: y[3..9] > 5 = 1 0 1 1 0 0 0
  t.deepEqual(h1.contention, { level: 5, levelFrom: '--limit', above: 3 / 7 });
  const brier = (0.25 + 0.25 + 0 + 0.64 + 0 + 0 + 0.01) / 7;
  t.true(Math.abs(h1.scores[0]!.brier - brier) < 1e-12);
  t.true(Number.isNaN(h1.scores[1]!.brier), 'a model with no probability has no Brier score');
  // in the tables: Brier and skill pooled over the points, against sum of n x share x (1 - share);
  // a second series of another length and share (origins 2..4 against y[3..5] = 6 1 1: 1 0 0)
  const y2 = [1, 1, 1, 6, 1, 1];
  const brier2 = ((0.5 - 1) ** 2 + (0.5 - 0) ** 2 + (1 - 0) ** 2) / 3;
  const report = runBacktest([series(y), series(y2, { name: 't' })], [prob, scripted('q', [])], [TARGETS.h1], { warmup: 2, limits: { cpu_cores: 5 } });
  const row = report.tables[0]!.rows[0]!;
  t.true(Math.abs(row.brier - (7 * brier + 3 * brier2) / 10) < 1e-12, `pooled Brier ${row.brier}`);
  t.true(Math.abs(row.brierSkill - (1 - (7 * brier + 3 * brier2) / (7 * (3 / 7) * (4 / 7) + 3 * (1 / 3) * (2 / 3)))) < 1e-12);
  t.true(Number.isNaN(report.tables[0]!.rows[1]!.brierSkill));
  // a level never passed: a Brier score, but no skill to read
  const calm = runBacktest([series([1, 1, 1, 1, 1, 1, 1, 1, 1, 1])], [prob], [TARGETS.h1], { warmup: 2, limits: { cpu_cores: 5 } });
  t.true(Number.isFinite(calm.tables[0]!.rows[0]!.brier));
  t.true(Number.isNaN(calm.tables[0]!.rows[0]!.brierSkill));
  // the engine gives one, at every target, as the agent's contention probability
  const eng = backtestSeries(series(Array.from({ length: 80 }, (_, i) => (i % 10 < 3 ? 6 : 1))), [ENGINE], [TARGETS.h1, TARGETS.h12max], { warmup: 20, limits: { cpu_cores: 5 } });
  for (const name of ['h1', 'h12max']) t.true(Number.isFinite(eng.targets[name]!.scores[0]!.brier), name);
});

test('the hindsight constant: the scored actuals\' own 90% quantile, scored as a p90 (no forecaster knows it)', (t) => {
  // 1..10: the 90% quantile 9 (rank 9 of 10); 0.1 x (8 + 7 + ... + 0) + 0.9 x 1 = 4.5 over 10 points
  t.true(Math.abs(hindsightLoss([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) - 0.45) < 1e-12);
  // 1..7: rank ceil(6.3) = 7, the constant 7: 0.1 x (6 + 5 + ... + 0) = 2.1 over 7 (the interpolated 6.4 scored 0.326)
  t.true(Math.abs(hindsightLoss([3, 1, 2, 7, 5, 4, 6]) - 0.3) < 1e-12);
  t.true(Number.isNaN(hindsightLoss([])));
  // on a series: over the scored actuals only (y[t+1] for origins 2..8), divided by the mean |y|
  const y = [5, 5, 1, 2, 3, 4, 5, 6, 7, 8];
  const r = backtestSeries(series(y), [scripted('q', [])], [TARGETS.h1], { warmup: 2 });
  const mean = y.reduce((a, b) => a + b, 0) / y.length;
  t.true(Math.abs(r.targets.h1!.hindsightNPL90 - hindsightLoss([2, 3, 4, 5, 6, 7, 8]) / mean) < 1e-12);
  // the tables carry the mean over their series, the target table beside the bar
  const report = runBacktest([series(y), series(y, { name: 't' })], [scripted('a', []), { ...scripted('b', []), combines: true }], [TARGETS.h1], { warmup: 2 });
  t.true(Math.abs(report.tables[0]!.hindsightNPL90 - r.targets.h1!.hindsightNPL90) < 1e-12);
  t.is(targetTable(report, 'b')[0]!.hindsightNPL90, report.tables[0]!.hindsightNPL90);
});

test('runBacktest: a model sharing state across series replays a group in time order, never ahead of any series', (t) => {
  // three series of one dataset starting at different times; each model notes the latest time any
  // series' model has seen in the state they share, and checks it never saw the future
  let violations = 0;
  let observed = 0;
  const sharing: ModelSpec = {
    id: 'share', label: 'share', sharesAcrossSeries: true,
    create(ctx) {
      const clock = (ctx.shared.get('clock') as { latest: number } | undefined) ?? { latest: -Infinity };
      ctx.shared.set('clock', clock);
      return {
        observe: (_v, i) => {
          const at = ctx.startSeconds + i * ctx.stepSeconds;
          if (clock.latest > at) violations++;
          clock.latest = Math.max(clock.latest, at);
          observed++;
        },
        predict: () => ({ p50: 1, p90: 1 }),
      };
    },
  };
  const group = [0, 7, 3].map((start, k) => series(Array(40).fill(1), { name: `s${k}`, dataset: 'google', stepSeconds: 300, startSeconds: start * 300 }));
  runBacktest(group, [sharing], [TARGETS.h1], { warmup: 5 });
  t.is(observed, 120);
  t.is(violations, 0, 'no series was fed a point older than one another had already seen');
  // a model that shares nothing: a series at a time, the same scores as backtestSeries alone
  const alone = runBacktest(group, [scripted('a', Array(40).fill(2))], [TARGETS.h1], { warmup: 5 });
  t.deepEqual(alone.series[1], backtestSeries(group[1]!, [scripted('a', Array(40).fill(2))], [TARGETS.h1], { warmup: 5 }));
});

test('target table: the judged model against the best reference baseline, with the bar', (t) => {
  const ref = (id: string, v: number): ModelSpec => ({ ...scripted(id, Array(20).fill(v)), reference: true });
  const ours = { ...scripted('engine', Array(20).fill(10)), combines: true };
  // y = 10 everywhere: 'engine' is exact; 'a' is 2 above (loss 0.2), 'b' 4 above (0.4)
  const rep = runBacktest([series(Array(20).fill(10), { stepSeconds: 300, dataset: 'bitbrains' })], [ref('a', 12), ref('b', 14), ours], [TARGETS.h1], { warmup: 5 });
  const [row] = targetTable(rep, 'engine');
  t.is(row!.bestId, 'a');
  t.true(Math.abs(row!.bestNPL90 - 0.02) < 1e-12);
  t.is(row!.ratio, 0);
  t.true(row!.lossMet);
  // exact forecasts are never exceeded: 0%, outside 7..13%, yet no miss: the values' own p90 is
  // the constant, which nothing passes (it read '0.0% (off)' beside a ratio of 0)
  t.true(row!.underMet);
  // each scored point one trial: 10% +- 1.96 sqrt(0.09 / points)
  t.is(row!.points, 14);
  const half = 1.96 * Math.sqrt(0.09 / 14);
  t.true(Math.abs(row!.calibratedRange[1] - (0.1 + half)) < 1e-12, `range ${row!.calibratedRange}`);
  t.is(row!.calibratedRange[0], 0, 'clamped at 0');
  // a 12-step target: its overlapping points count as about one trial (the range spans more)
  const rep12 = runBacktest([series(Array(40).fill(10), { stepSeconds: 300, dataset: 'bitbrains' })], [ref('a', 12), ours], [TARGETS.h12], { warmup: 5 });
  const [row12] = targetTable(rep12, 'engine');
  t.true(row12!.calibratedRange[1] > row!.calibratedRange[1], `h12 ${row12!.calibratedRange} vs h1 ${row!.calibratedRange}`);
});

// ---- the engine's warnings on agent-tick traces ----

/** 15 minutes at a 1 s tick. */
function agentTrace(name: string, f: (i: number) => number): Series {
  return series(Array.from({ length: 900 }, (_, i) => f(i)), { name, source: `/synthetic/${name}.jsonl` });
}

test('engine: a growing workload is warned at least 5 s before it crosses its limit; a steady one rarely', (t) => {
  // each trace draws from its own generator, so one trace's values do not depend on another's
  const noisy = (name: string, seed: number, f: (i: number, r: () => number) => number): Series => {
    const r = rng(seed);
    return agentTrace(name, (i) => f(i, r));
  };
  const traces = [
    // growth: flat, then climbing 0.003 or 0.01 cores a second through the 1.5-core limit
    noisy('growth-slow', 11, (i, r) => (i < 300 ? 0.3 : 0.3 + 0.003 * (i - 300)) + 0.05 * (r() - 0.5)),
    noisy('growth-fast', 12, (i, r) => (i < 400 ? 0.3 : 0.3 + 0.01 * (i - 400)) + 0.05 * (r() - 0.5)),
    // steady: well below, near, and spiky below the limit (spikes to 1.1, 2% of seconds)
    noisy('steady', 13, (_i, r) => 0.5 + 0.2 * (r() - 0.5)),
    noisy('steady-near', 14, (_i, r) => 1.2 + 0.2 * (r() - 0.5)),
    noisy('steady-spiky', 15, (_i, r) => 0.5 + 0.1 * r() + (r() < 0.02 ? 0.5 : 0)),
  ];
  const specs = [...SINGLE_BASELINES, ENGINE];
  const rep = runBacktest(traces, specs, 'auto', { limits: { cpu_cores: 1.5 } });
  const rows = saturationTable(rep, specs, 'engine');
  for (const row of rows) {
    t.log(`${row.name}: crossings ${row.score.crossings}, leads ${row.score.leadsSeconds.join(',') || '-'} s, false alarms ${row.score.falseAlarms}/${row.score.quietOrigins}`);
  }
  for (const row of rows.filter((x) => x.name.startsWith('growth'))) {
    t.true(row.score.crossings >= 1, `${row.name}: crosses`);
    t.is(row.warnedInTime, row.score.crossings, `${row.name}: every crossing warned >= ${MIN_LEAD_SECONDS} s ahead`);
  }
  // the bar is the 5%. Seen over ten seeds: 0% on the first two; on the spiky one 0%
  // in nine and 8.8% in one (a run of bursts that looks like a season for a while)
  for (const row of rows.filter((x) => x.name.startsWith('steady'))) {
    t.is(row.score.crossings, 0);
    t.true(row.falseAlarmRate <= MAX_FALSE_ALARM_RATE, `${row.name}: false-alarm rate ${(100 * row.falseAlarmRate).toFixed(1)}%`);
  }
  // for contrast, a reference baseline does not see the growth coming: the window max is the past
  const win = saturationTable(rep, specs, 'win12').filter((x) => x.name.startsWith('growth'));
  t.true(win.some((x) => x.warnedInTime < x.score.crossings), 'the window max misses a crossing');
});

test('engine on the recorded steady workload (cpu-steady): no false alarm 12% above its mean', (t) => {
  // stress-ng held at half a CPU for 15 minutes: 0.49 +- 0.02 cores, at most 0.53 (with the
  // calibration's offset kept in levels, its first minute's burst made it 33.8% at 0.55)
  const trace = readTraces(join(root, 'test/fixtures/traces/cpu-steady.jsonl.gz'), { resources: ['cpu_cores'] });
  const rep = runBacktest(trace, [ENGINE], [AGENT_TARGETS.h60smax], { limits: { cpu_cores: 0.55 } });
  const [row] = saturationTable(rep, [ENGINE], 'engine');
  t.log(`crossings ${row!.score.crossings}, false alarms ${row!.score.falseAlarms}/${row!.score.quietOrigins}`);
  t.is(row!.score.crossings, 0);
  t.true(row!.falseAlarmRate <= MAX_FALSE_ALARM_RATE, `false-alarm rate ${(100 * row!.falseAlarmRate).toFixed(1)}%`);
});

test('engine on the recorded phased workload (cpu-phases): its run-queue p99\'s 60 s peak is missed 7-15% of the time, bursts of spikes included (27.8% counted at the close)', (t) => {
  // the p99 lives at 1-5 ms with bursts of spikes while the load changes (101 ms, then 508 ms the
  // next minute): misses counted only as each 60 s window closed kept the offset a minute behind
  // a burst (27.8%); counted when a value passes a pending window's p90 (a few a slot), the offset
  // moves within the burst. 457 windows of a 60 s peak are few independent ones: the harness's
  // noise band for them is 0.7..19.3%, so 7..15% here (13.6% read)
  const trace = readTraces(join(root, 'test/fixtures/traces/cpu-phases.jsonl'), { resources: ['runq_p99_ms'] });
  const rep = runBacktest(trace, [ENGINE], [AGENT_TARGETS.h60smax]);
  const score = rep.series[0]!.targets.h60smax!.scores[0]!;
  t.log(`under ${(100 * score.under90).toFixed(1)}% over ${rep.series[0]!.targets.h60smax!.points} windows`);
  t.true(score.under90 >= 0.07 && score.under90 <= 0.15, `under ${(100 * score.under90).toFixed(1)}%`);
});

// ---- the engine on real series ----

const shared = existsSync(join(SHARED, 'BASELINES.md'));

testIf(shared, `public traces in ${SHARED}`, 'engine on one real series per dataset: calibrated, and no worse than the best baseline at the peak', (t) => {
  const picks: Array<[string, string, string]> = [
    ['bitbrains_rnd/2013-7/415.csv', '415', 'cpu_mhz'],
    ['google_clusterdata_2019/113/159-300000000-2678700000000.csv', '113/159', 'avg_cpu'],
    ['alibaba_clusterdata_2018/machine_usage.csv', 'm_1940', 'cpu_pct'],
  ];
  const specs = [...SINGLE_BASELINES, ENGINE];
  for (const [file, name, resource] of picks) {
    const s = readTraces(join(SHARED, file)).find((x) => x.name === name && x.resource === resource)!;
    const r = backtestSeries(s, specs, Object.values(TARGETS));
    for (const target of Object.keys(TARGETS)) {
      const scores = r.targets[target]!.scores;
      const ours = scores[specs.length - 1]!;
      const best = Math.min(...scores.slice(0, -1).map((x) => x.nPL90));
      t.log(`${name} ${resource} ${target}: engine ${ours.nPL90.toFixed(4)} vs best baseline ${best.toFixed(4)} (${(ours.nPL90 / best).toFixed(3)}), under ${(100 * ours.under90).toFixed(1)}%`);
      // one series is noisier than a dataset's mean: the under-rate within 5%..15%, and the
      // engine at most 10% worse than the best baseline on any target (seen: 0.62..0.98)
      t.true(ours.under90 >= 0.05 && ours.under90 <= 0.15, `${name} ${target}: under ${ours.under90}`);
      t.true(ours.nPL90 <= 1.1 * best, `${name} ${target}: ${ours.nPL90} vs ${best}`);
    }
  }
});

// (a walkthrough: a workload named with a '|' split its row of predict's table into one cell more)
test('markdown: a cell\'s | is escaped, the columns still aligned', (t) => {
  const out = markdown(['series', 'n'], [['/a|b', '1'], ['/c', '22']]);
  t.is(out, ['| series |  n |', '|--------|---:|', '| /a\\|b  |  1 |', '| /c     | 22 |'].join('\n'));
});
