// A run's task profile in its demand forecasts (agent/predict/demand-from-run.ts): profiles made
// the way the store makes them (runs merged, then forecast), applied to demand forecasts shaped
// as DemandForecasts gives them.
import test from 'ava';
import { applyRunProfile } from '../../agent/predict/demand-from-run.js';
import type { DemandForecast, DemandWindow } from '../../agent/predict/demand.js';
import { forecastFromProfile, mergeRun, type Profile, type RunForecast, type RunSample } from '../../agent/predict/profiles.js';

const SIG = 'a'.repeat(64);
const MiB = 2 ** 20;

/** The forecast of a profile of these runs, each `durationMs` long, one sample a second from `sample(t)`. */
function profileOf(runs: { durationMs: number; sample: (atMs: number) => Omit<RunSample, 'atMs'> }[]): RunForecast {
  let p: Profile | undefined;
  for (const r of runs) {
    const samples: RunSample[] = [];
    for (let at = 500; at < r.durationMs; at += 1000) samples.push({ atMs: at, ...r.sample(at) });
    p = mergeRun(p, { signature: SIG, durationMs: r.durationMs, samples }, 0.84, 0);
  }
  return forecastFromProfile(p!);
}

/** A series' forecast: these windows (5 s and 60 s peaks by default), this value, limit and countdown. */
function series(resource: DemandForecast['resource'], value: number, limit: number | null, windows: [number, number, number, number | null][], timeToSaturationMs: number | null, windowsOf: DemandForecast['windowsOf'] = 'peak'): DemandForecast {
  return {
    resource, model: 'engine-peak', windowsOf, value, limit, limitSource: limit === null ? null : 'host', ceiling: resource === 'cpu_cores' ? 2 : null,
    windows: windows.map(([horizonMs, p50, p90, pContention]): DemandWindow => ({ horizonMs, p50, p90, p99: p90 * 1.2, pContention })),
    timeToSaturationMs, confidence: 0.3,
  };
}

// a one-core job of 40 s, run three times
const ONE_CORE = profileOf([0.98, 1.0, 1.01].map((c) => ({ durationMs: 40_000, sample: () => ({ cpuCores: c }) })));

test("a known one-core job early in its run: the series' climb to the host's 2 CPUs is its profile's one core", (t) => {
  // the series, four ticks into the run, read its climb from 0 as a climb to go on
  const d = series('cpu_cores', 1, 1.99, [[5000, 1.4, 1.9, 0.3], [60_000, 1.8, 1.99, 0.6]], 4000);
  t.true(applyRunProfile(d, { forecast: ONE_CORE, elapsedMs: 4000 }));
  for (const w of d.windows) {
    t.true(w.p90 >= 1 && w.p90 < 1.1, `p90 ${w.p90} at ${w.horizonMs} ms`);
    t.true(w.p99 >= w.p90 && w.p99 < 1.25, `p99 ${w.p99}`);
    t.true(w.pContention! < 1e-6, `P ${w.pContention}`);
  }
  t.is(d.timeToSaturationMs, null, 'no saturation foreseen: its runs never came near 2 cores');
  t.deepEqual(d.fromTask, { signature: SIG, runs: 3 });
  t.is(d.confidence, ONE_CORE.confidenceOf.cpuCores!);
  t.true(d.confidence > 0.5, `confidence ${d.confidence}`);
});

test('a memory peak its past runs all reached late is foreseen early: the contention map and the countdown', (t) => {
  // 20 s runs: 100 MiB, then 300 MiB from 14 s to 17 s; a 256 MiB limit
  const late = profileOf([1, 1.02, 0.99].map((k) => ({
    durationMs: 20_000, sample: (at: number) => ({ cpuCores: 0.5, memBytes: (at >= 14_000 && at < 17_000 ? 300 : 100) * MiB * k }),
  })));
  const limit = 256 * MiB;
  const d = series('memory_bytes', 100 * MiB, limit, [[5000, 101 * MiB, 104 * MiB, 0], [60_000, 103 * MiB, 110 * MiB, 0.001]], null);
  t.true(applyRunProfile(d, { forecast: late, elapsedMs: 3000 }));
  const [w5, w60] = d.windows;
  t.true(w5!.p90 < 110 * MiB && w5!.pContention! < 0.01, `5 s: p90 ${w5!.p90 / MiB} MiB, P ${w5!.pContention}`);
  t.true(w60!.p50 >= 290 * MiB && w60!.p90 >= 300 * MiB, `60 s: p50 ${w60!.p50 / MiB}, p90 ${w60!.p90 / MiB} MiB`);
  t.true(w60!.pContention! > 0.95, `60 s: P ${w60!.pContention}`);
  // the slice the peak starts in (14 s of 20 s: slice 14 at 1 s each): 11 s from 3 s
  t.is(d.timeToSaturationMs, 11_000);
  // nearer, the countdown follows
  const later = series('memory_bytes', 100 * MiB, limit, [[5000, 101 * MiB, 104 * MiB, 0], [60_000, 103 * MiB, 110 * MiB, 0.001]], null);
  applyRunProfile(later, { forecast: late, elapsedMs: 10_500 });
  t.is(later.timeToSaturationMs, 3500);
  t.true(later.windows[0]!.pContention! > 0.95, 'the 5 s window holds the peak now');
});

test('a run not like its past runs (above their p99 now), one of a task run once, or one outliving its runs keeps its series', (t) => {
  const original = (): DemandForecast => series('cpu_cores', 1.9, 1.99, [[5000, 1.9, 1.95, 0.4], [60_000, 1.9, 1.99, 0.6]], 2000);
  const busier = original();
  t.false(applyRunProfile(busier, { forecast: ONE_CORE, elapsedMs: 4000 }));
  t.deepEqual(busier, original());
  const once = profileOf([{ durationMs: 40_000, sample: () => ({ cpuCores: 1 }) }]);
  const first = series('cpu_cores', 1, 1.99, [[5000, 1.4, 1.9, 0.3]], 4000);
  t.false(applyRunProfile(first, { forecast: once, elapsedMs: 4000 }), 'one run: no spread to trust');
  t.is(first.fromTask, undefined);
  const overdue = series('cpu_cores', 1, 1.99, [[5000, 1.4, 1.9, 0.3]], 4000);
  t.false(applyRunProfile(overdue, { forecast: ONE_CORE, elapsedMs: 45_000 }), 'past its runs\' p90 duration');
  // a resource its runs did not measure
  const net = series('net_bytes_per_s', 1e6, null, [[5000, 1e6, 2e6, null]], null);
  t.false(applyRunProfile(net, { forecast: ONE_CORE, elapsedMs: 4000 }));
});

test("value windows: the profile's slice at the window's end, and only while the run is expected to last", (t) => {
  // 40 s: 0.2 cores, then 1.5 cores from 20 s
  const steps = profileOf([1, 1.01, 0.99].map((k) => ({ durationMs: 40_000, sample: (at: number) => ({ cpuCores: (at < 20_000 ? 0.2 : 1.5) * k }) })));
  const d = series('cpu_cores', 0.2, 1.99, [[5000, 0.2, 0.25, 0], [30_000, 0.2, 0.3, 0], [60_000, 0.2, 0.3, 0]], null, 'value');
  t.true(applyRunProfile(d, { forecast: steps, elapsedMs: 2000 }));
  const [w5, w30, w60] = d.windows;
  t.true(w5!.p90 < 0.3, `at 7 s: ${w5!.p90}`);
  t.true(w30!.p50 > 1.4 && w30!.p90 < 1.99, `at 32 s: p50 ${w30!.p50}, p90 ${w30!.p90}`);
  t.deepEqual(w60, { horizonMs: 60_000, p50: 0.2, p90: 0.3, p99: 0.36, pContention: 0 }, 'at 62 s the run is over: the series stands');
  t.is(d.timeToSaturationMs, null);
});

test("quantiles stop at the ceiling, as the series' do; P and the countdown do not", (t) => {
  const big = profileOf([1, 1.01, 0.99].map((k) => ({ durationMs: 20_000, sample: (at: number) => ({ cpuCores: (at < 10_000 ? 0.5 : 3) * k }) })));
  const d = series('cpu_cores', 0.5, 1.99, [[60_000, 0.5, 0.6, 0]], null);
  applyRunProfile(d, { forecast: big, elapsedMs: 1000 });
  t.deepEqual([d.windows[0]!.p50, d.windows[0]!.p90, d.windows[0]!.p99], [2, 2, 2]);
  t.true(d.windows[0]!.pContention! > 0.99);
  t.is(d.timeToSaturationMs, 9000);
});
