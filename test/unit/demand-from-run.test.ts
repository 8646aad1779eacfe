// A run's task profile in its demand forecasts (agent/predict/demand-from-run.ts): profiles made
// the way the store makes them (runs merged, then forecast), applied to demand forecasts shaped
// as DemandForecasts gives them.
import test from 'ava';
import { applyRunProfile, type RunPosition } from '../../agent/predict/demand-from-run.js';
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

/** A run `elapsedMs` in, whose last ticks (one a second, the last now) read `recent`. */
function at(forecast: RunForecast, elapsedMs: number, recent: Omit<RunSample, 'atMs'>[]): RunPosition {
  return { forecast, elapsedMs, recent: recent.map((s, i) => ({ atMs: elapsedMs - (recent.length - 1 - i) * 1000, ...s })) };
}
const cpu = (...cores: number[]): Omit<RunSample, 'atMs'>[] => cores.map((cpuCores) => ({ cpuCores }));
const mem = (...mib: number[]): Omit<RunSample, 'atMs'>[] => mib.map((m) => ({ memBytes: m * MiB }));

/** A series' forecast: these windows, this value, limit and countdown (CPU's ceiling the host's 2 CPUs). */
function series(resource: DemandForecast['resource'], value: number, limit: number | null, windows: [number, number, number, number | null][], timeToSaturationMs: number | null, windowsOf: DemandForecast['windowsOf'] = 'peak'): DemandForecast {
  return {
    resource, model: 'engine-peak', windowsOf, value, limit, limitSource: limit === null ? null : 'host', ceiling: resource === 'cpu_cores' ? 2 : null,
    windows: windows.map(([horizonMs, p50, p90, pContention]): DemandWindow => ({ horizonMs, p50, p90, p99: p90 * 1.2, pContention })),
    timeToSaturationMs, confidence: 0.3,
  };
}

// a one-core job of 40 s, run three times
const ONE_CORE = profileOf([0.98, 1.0, 1.01].map((c) => ({ durationMs: 40_000, sample: () => ({ cpuCores: c }) })));
// 20 s runs: 100 MiB, then 300 MiB from 14 s to 17 s
const LATE_PEAK = profileOf([1, 1.02, 0.99].map((k) => ({
  durationMs: 20_000, sample: (t: number) => ({ cpuCores: 0.5, memBytes: (t >= 14_000 && t < 17_000 ? 300 : 100) * MiB * k }),
})));

test("a known one-core job early in its run: the series' climb to the host's 2 CPUs is its profile's one core", (t) => {
  // the series, four ticks into the run, read its climb from 0 as a climb to go on
  const d = series('cpu_cores', 1, 1.99, [[5000, 1.4, 1.9, 0.3], [60_000, 1.8, 1.99, 0.6]], 4000);
  t.true(applyRunProfile(d, at(ONE_CORE, 4000, cpu(0.4, 1, 1.02, 1))));
  for (const w of d.windows) {
    t.true(w.p90 >= 1 && w.p90 < 1.1, `p90 ${w.p90} at ${w.horizonMs} ms`);
    t.true(w.p99 >= w.p90 && w.p99 < 1.25, `p99 ${w.p99}`);
    // (a far tail is 0, as the series' own forecasts say it: it read 1e-300 and the like)
    t.is(w.pContention, 0);
  }
  t.is(d.timeToSaturationMs, null, 'no saturation foreseen: its runs never came near 2 cores');
  t.deepEqual(d.fromTask, { signature: SIG, runs: 3, foresaw: false });
  t.is(d.confidence, ONE_CORE.confidenceOf.cpuCores!);
  t.true(d.confidence > 0.5, `confidence ${d.confidence}`);
});

test('a memory peak its past runs all reached late is foreseen early: the contention map and the countdown', (t) => {
  const limit = 256 * MiB;
  const quiet = (): DemandForecast => series('memory_bytes', 100 * MiB, limit, [[5000, 101 * MiB, 104 * MiB, 0], [60_000, 103 * MiB, 110 * MiB, 0.001]], null);
  const d = quiet();
  t.true(applyRunProfile(d, at(LATE_PEAK, 3000, mem(100, 100, 100))));
  const [w5, w60] = d.windows;
  t.true(w5!.p90 < 110 * MiB && w5!.pContention! < 0.01, `5 s: p90 ${w5!.p90 / MiB} MiB, P ${w5!.pContention}`);
  t.true(w60!.p50 >= 290 * MiB && w60!.p90 >= 300 * MiB, `60 s: p50 ${w60!.p50 / MiB}, p90 ${w60!.p90 / MiB} MiB`);
  t.true(w60!.pContention! > 0.95, `60 s: P ${w60!.pContention}`);
  // memory in whole bytes, as the series' forecasts give it (the curves' means are not)
  for (const w of d.windows) for (const q of [w.p50, w.p90, w.p99]) t.true(Number.isInteger(q), `memory quantile ${q}`);
  // the start of the slice the peak begins in (14 s of 20 s: slice 14, a second each): 11 s from 3 s
  t.is(d.timeToSaturationMs, 11_000);
  t.deepEqual(d.fromTask, { signature: SIG, runs: 3, foresaw: true });
  // nearer, the countdown follows, down and never up, and never 0 (not there yet): the slice's
  // peak may come at any moment of it
  const countdowns = [10_500, 13_900, 14_000, 14_400, 14_900].map((ms) => {
    const later = quiet();
    applyRunProfile(later, at(LATE_PEAK, ms, mem(100, 100, 100)));
    return later.timeToSaturationMs;
  });
  t.deepEqual(countdowns, [3500, 100, 1, 1, 1]);
  // there already: P 1, countdown 0, and nothing foreseen
  const full = series('memory_bytes', 254 * MiB, limit, [[5000, 254 * MiB, 256 * MiB, 0.6]], 0);
  t.true(applyRunProfile(full, at(LATE_PEAK, 15_000, mem(100, 280, 260))));
  t.like(full, { timeToSaturationMs: 0, fromTask: { signature: SIG, runs: 3, foresaw: false } });
  t.is(full.windows[0]!.pContention, 1);
});

test('a run slower than its past runs, past their mean duration: the countdown is never below 1 ms', (t) => {
  // 18, 20 and 22 s: memory at 300 MiB in the last tenth of each
  const slow = profileOf([18_000, 20_000, 22_000].map((durationMs) => ({ durationMs, sample: (ms: number) => ({ memBytes: (ms >= durationMs * 0.9 ? 300 : 100) * MiB }) })));
  t.true(slow.durationMs.p90 > 21_500, `p90 duration ${slow.durationMs.p90}`);
  for (const ms of [20_500, 21_500]) {
    const d = series('memory_bytes', 100 * MiB, 256 * MiB, [[5000, 100 * MiB, 104 * MiB, 0]], null);
    t.true(applyRunProfile(d, at(slow, ms, mem(100, 100, 100))));
    t.is(d.timeToSaturationMs, 1, `at ${ms} ms`);
  }
});

test("a value above what its past runs had here, near the limit: the series' risk stands beside the profile's", (t) => {
  // past runs: a flat 100 MiB; this one is at 120 MiB now, 2 MiB from its limit
  const flat = profileOf([1, 1.01, 0.99].map((k) => ({ durationMs: 20_000, sample: () => ({ memBytes: 100 * MiB * k }) })));
  const d = series('memory_bytes', 120 * MiB, 122 * MiB, [[5000, 121 * MiB, 123 * MiB, 0.8], [60_000, 121 * MiB, 123 * MiB, 0.9]], 3000);
  t.true(applyRunProfile(d, at(flat, 5000, mem(100, 100, 100, 100, 120))));
  t.deepEqual(d.windows.map((w) => w.pContention), [0.8, 0.9]);
  t.is(d.timeToSaturationMs, 3000);
  t.true(d.windows.every((w) => w.p90 >= 123 * MiB), "the series' quantiles, where higher (a walkthrough: the profile's 205 MiB beside its 256 MiB)");
  // its usage at 300 MiB, 200 MiB of it page cache: its working set (the run's samples) is where
  // its past runs were, so the profile's stands (the usage was beyond them at every tick)
  const cached = series('memory_bytes', 300 * MiB, 512 * MiB, [[5000, 300 * MiB, 310 * MiB, 0.01], [60_000, 300 * MiB, 310 * MiB, 0.02]], null);
  t.true(applyRunProfile(cached, at(flat, 5000, mem(100, 100, 100, 100, 100))));
  t.deepEqual(cached.windows.map((w) => w.pContention), [0, 0], "the profile's chance alone, not the series' beside it");
});

test("runs that disagree on a resource (one of three at twice the CPU) are not trusted for it, however alike their durations", (t) => {
  // (a walkthrough: NPROC=1 twice, then NPROC=2; the next NPROC=1 run read "1s cpu(task)" for five ticks)
  const odd = profileOf([1, 1, 1.96].map((c) => ({ durationMs: 10_000, sample: () => ({ cpuCores: c, memBytes: 50 * MiB }) })));
  t.true(odd.confidenceOf.cpuCores! > 0.5, `confidence ${odd.confidenceOf.cpuCores}: its durations agree`);
  const d = (): DemandForecast => series('cpu_cores', 1, 1.98, [[5000, 1, 1.05, 0], [60_000, 1, 1.1, 0]], null);
  const cpuNow = d();
  t.false(applyRunProfile(cpuNow, at(odd, 3000, cpu(1, 1, 1))), `peak mean ${odd.peak.cpuCores!.mean}, p90 ${odd.peak.cpuCores!.p90}`);
  t.deepEqual(cpuNow, d());
  // its memory, alike in every run, still is
  t.true(applyRunProfile(series('memory_bytes', 50 * MiB, 256 * MiB, [[5000, 50 * MiB, 60 * MiB, 0]], null), at(odd, 3000, mem(50, 50, 50))));
});

test('runs that peak alike at different moments agree: each run\'s own peak is compared, not the highest slice\'s spread', (t) => {
  // three 20 s runs, each 2 cores for 2 s (at 4, 6 and 8 s), 0.2 otherwise: the slices' highest
  // mean 0.91 and p90 2.03 read as disagreement, and the profile was not trusted for CPU
  const spikes = profileOf([4, 6, 8].map((from) => ({
    durationMs: 20_000, sample: (ms: number) => ({ cpuCores: ms >= from * 1000 && ms < (from + 2) * 1000 ? 2 : 0.2, memBytes: 40 * MiB }),
  })));
  t.log(`highest slice mean ${spikes.peak.cpuCores!.mean.toFixed(2)} p90 ${spikes.peak.cpuCores!.p90.toFixed(2)}; runs' own peaks mean ${spikes.runPeak.cpuCores!.mean.toFixed(2)} p90 ${spikes.runPeak.cpuCores!.p90.toFixed(2)}`);
  t.true(spikes.peak.cpuCores!.p90 > 1.25 * spikes.peak.cpuCores!.mean, 'the slices disagree (the case under test)');
  t.true(Math.abs(spikes.runPeak.cpuCores!.mean - 2) < 1e-9 && Math.abs(spikes.runPeak.cpuCores!.p90 - 2) < 1e-6);
  t.true(applyRunProfile(series('cpu_cores', 0.2, 1.99, [[5000, 0.3, 0.5, 0]], null), at(spikes, 2000, cpu(0.2, 0.2, 0.2))));
  // a profile written before runs' own peaks were kept: judged as before, on its highest slice's
  // mean and its highest slice's p90 (not always the same slice)
  const old = forecastFromProfile(withoutRunPeaks(spikesProfile()));
  t.true(Math.abs(old.runPeak.cpuCores!.mean - old.peak.cpuCores!.mean) < 1e-9 && Math.abs(old.runPeak.cpuCores!.p90 - old.peak.cpuCores!.p90) < 1e-9);
  t.false(applyRunProfile(series('cpu_cores', 0.2, 1.99, [[5000, 0.3, 0.5, 0]], null), at(old, 2000, cpu(0.2, 0.2, 0.2))));
  // four runs at 1 core from 10 to 16 s, the first also at 4 cores from 3 to 5 s: its highest
  // mean (the plateau's slices) and its highest p90 (the spike's) are different slices. Written
  // the old way it is still not trusted, nor once an ordinary run is merged into it (the highest
  // mean's slice alone read it as agreeing, and the merge forgot the spike)
  const plateau = (spike: boolean): RunSample[] => {
    const samples: RunSample[] = [];
    for (let ms = 500; ms < 20_000; ms += 1000) samples.push({ atMs: ms, cpuCores: spike && ms >= 3000 && ms < 5000 ? 4 : ms >= 10_000 && ms < 16_000 ? 1 : 0.2 });
    return samples;
  };
  let runs: Profile | undefined;
  for (const spike of [true, false, false, false]) runs = mergeRun(runs, { signature: SIG, durationMs: 20_000, samples: plateau(spike) }, 0.84, 0);
  const oldFile = withoutRunPeaks(runs!);
  const busy = (): DemandForecast => series('cpu_cores', 1, 1.99, [[5000, 1, 1.1, 0]], null);
  t.false(applyRunProfile(busy(), at(forecastFromProfile(oldFile), 11_000, cpu(1, 1, 1))));
  const merged = mergeRun(oldFile, { signature: SIG, durationMs: 20_000, samples: plateau(false) }, 0.84, 0);
  t.false(applyRunProfile(busy(), at(forecastFromProfile(merged), 11_000, cpu(1, 1, 1))), JSON.stringify(merged.curve.cpuCores!.peak));
  // the same runs kept the new way are not trusted either
  t.false(applyRunProfile(busy(), at(forecastFromProfile(mergeRun(runs, { signature: SIG, durationMs: 20_000, samples: plateau(false) }, 0.84, 0)), 11_000, cpu(1, 1, 1))));
});

/** The spiking runs' profile itself (as the store keeps it). */
function spikesProfile(): Profile {
  let p: Profile | undefined;
  for (const from of [4, 6, 8]) {
    const samples: RunSample[] = [];
    for (let at = 500; at < 20_000; at += 1000) samples.push({ atMs: at, cpuCores: at >= from * 1000 && at < (from + 2) * 1000 ? 2 : 0.2 });
    p = mergeRun(p, { signature: SIG, durationMs: 20_000, samples }, 0.84, 0);
  }
  return p!;
}

/** A profile as one written before CurveMoments.peak. */
function withoutRunPeaks(p: Profile): Profile {
  const curve: Profile['curve'] = {};
  for (const [r, c] of Object.entries(p.curve)) {
    const { peak: _, ...rest } = c!;
    curve[r as keyof Profile['curve']] = rest;
  }
  return { ...p, curve };
}

test('one busy tick does not turn the profile off; a run busier than its past runs for its last ticks does', (t) => {
  const d = (): DemandForecast => series('cpu_cores', 1.3, 1.99, [[5000, 1.4, 1.9, 0.3], [60_000, 1.8, 1.99, 0.6]], 4000);
  const burst = d();
  t.true(applyRunProfile(burst, at(ONE_CORE, 8000, cpu(1, 1, 1, 1, 1.3))));
  t.true(burst.windows.every((w) => w.p90 >= 1.3), 'the burst now held');
  const busier = d();
  t.false(applyRunProfile(busier, at(ONE_CORE, 8000, cpu(1.4, 1.35, 1.4, 1.4, 1.4))));
  t.deepEqual(busier, d(), 'the series stands, untouched');
  // a run a second ahead of its past runs (the step up at 20 s reached at 19 s) still tracks them
  const step = profileOf([1, 1.01, 0.99].map((k) => ({ durationMs: 40_000, sample: (ms: number) => ({ cpuCores: (ms < 20_000 ? 0.2 : 1.5) * k }) })));
  t.true(applyRunProfile(series('cpu_cores', 1.5, 1.99, [[5000, 1.5, 1.6, 0]], null), at(step, 19_000, cpu(0.2, 0.2, 0.2, 1.5, 1.5))));
  // a task its past runs saw do no network: a few bytes a second are no departure from them
  const quiet = profileOf([1, 1, 1].map(() => ({ durationMs: 40_000, sample: () => ({ cpuCores: 1, netBytesPerSec: 0 }) })));
  t.true(applyRunProfile(series('net_bytes_per_s', 300, null, [[5000, 300, 400, null]], null), at(quiet, 8000, [0, 0, 300].map((netBytesPerSec) => ({ netBytesPerSec })))));
});

test('not trusted: a task run once, a resource one run in three measured; nor past its runs, nor a resource not in its profile', (t) => {
  const first = (): DemandForecast => series('cpu_cores', 1, 1.99, [[5000, 1.4, 1.9, 0.3]], 4000);
  const once = profileOf([{ durationMs: 40_000, sample: () => ({ cpuCores: 1 }) }]);
  const d = first();
  t.false(applyRunProfile(d, at(once, 4000, cpu(1, 1))), 'one run: no spread to trust');
  t.deepEqual(d, first());
  // memory read in the last of three runs only: that curve stands on one run
  const memOnce = profileOf([false, false, true].map((withMemory) => ({ durationMs: 20_000, sample: () => ({ cpuCores: 1, ...(withMemory ? { memBytes: 100 * MiB } : {}) }) })));
  t.true(memOnce.confidenceOf.memPeakBytes! <= 0.5 && memOnce.confidenceOf.cpuCores! > 0.5);
  t.false(applyRunProfile(series('memory_bytes', 100 * MiB, 256 * MiB, [[5000, 100 * MiB, 200 * MiB, 0.01]], null), at(memOnce, 4000, mem(100))));
  t.true(applyRunProfile(first(), at(memOnce, 4000, cpu(1, 1))));
  t.false(applyRunProfile(first(), at(ONE_CORE, 45_000, cpu(1, 1))), "past its runs' p90 duration");
  t.false(applyRunProfile(series('io_ops_per_s', 10, null, [[5000, 10, 20, null]], null), at(ONE_CORE, 4000, cpu(1))), 'no curve of I/O operations');
  t.false(applyRunProfile(series('net_bytes_per_s', 1e6, null, [[5000, 1e6, 2e6, null]], null), at(ONE_CORE, 4000, cpu(1))), 'network not measured');
});

test("value windows: the profile's slice at the window's end, while the run is expected to last; a window left the series' keeps its countdown", (t) => {
  // 40 s: 0.2 cores, then 1.5 cores from 20 s
  const steps = profileOf([1, 1.01, 0.99].map((k) => ({ durationMs: 40_000, sample: (ms: number) => ({ cpuCores: (ms < 20_000 ? 0.2 : 1.5) * k }) })));
  const d = series('cpu_cores', 0.2, 1.99, [[5000, 0.2, 0.25, 0], [30_000, 0.2, 0.3, 0], [60_000, 0.2, 0.3, 0.6]], 45_000, 'value');
  t.true(applyRunProfile(d, at(steps, 2000, cpu(0.2, 0.2))));
  const [w5, w30, w60] = d.windows;
  t.true(w5!.p90 < 0.3, `at 7 s: ${w5!.p90}`);
  t.true(w30!.p50 > 1.4 && w30!.p90 < 1.99, `at 32 s: p50 ${w30!.p50}, p90 ${w30!.p90}`);
  t.deepEqual(w60, { horizonMs: 60_000, p50: 0.2, p90: 0.3, p99: 0.36, pContention: 0.6 }, 'at 62 s the run is over: the series stands');
  t.is(d.timeToSaturationMs, 45_000, "what the series foresaw there: not wiped while its window stands");
});

test("quantiles stop at the ceiling, as the series' do; P and the countdown do not", (t) => {
  const big = profileOf([1, 1.01, 0.99].map((k) => ({ durationMs: 20_000, sample: (ms: number) => ({ cpuCores: (ms < 10_000 ? 0.5 : 3) * k }) })));
  const d = series('cpu_cores', 0.5, 1.99, [[60_000, 0.5, 0.6, 0]], null);
  applyRunProfile(d, at(big, 1000, cpu(0.5)));
  t.deepEqual([d.windows[0]!.p50, d.windows[0]!.p90, d.windows[0]!.p99], [2, 2, 2]);
  t.true(d.windows[0]!.pContention! > 0.99);
  t.is(d.timeToSaturationMs, 9000);
});
