// Demand forecasts on series with known answers: growth towards a limit is warned ahead, a
// steady series far from its limit is not, and confidence falls when the forecasts start missing.
import test from 'ava';
import { DemandForecasts, REACHED_SHARE, type DemandForecast } from '../../agent/predict/demand.js';
import { rng } from '../helpers/rng.js';
import { shownProbability } from '../../agent/predict/stats.js';
import { CI_FILL_MIB, PAGED_FILLS_MIB, pagedFillMib, REAL_FILL_MIB } from '../helpers/real-fills.js';
import { ACTIVE_FLOOR, activityOf } from '../../agent/workload-figures.js';
import type { WorkloadReport } from '../../agent/report.js';
import { readTraces } from '../../agent/predict/traces/index.js';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const opts = { model: 'calibrated:holt' as const, halfLifeMs: 30_000, horizonsMs: [5_000, 60_000] };

// the models `auto` picks (peaks) and a value model
for (const model of ['calibrated:holt', 'horizon-peak', 'engine-peak'] as const) {
test(`${model}: memory growing 1 MiB/s towards a 512 MiB limit: saturation foreseen before it happens`, (t) => {
  const d = new DemandForecasts({ ...opts, model, stepMs: 1000 });
  const MiB = 1024 * 1024;
  let warnedAt: number | null = null;
  let reachedAt: number | null = null;
  const ttl = new Map<number, number | null>();
  for (let s = 0; s < 600; s++) {
    const value = (100 + s) * MiB + (s % 3) * 0.2 * MiB;
    const f = d.observe('w', 'memory_bytes', value, s * 1000, { limit: 512 * MiB });
    ttl.set(s, f.timeToSaturationMs);
    if (warnedAt === null && f.timeToSaturationMs !== null) warnedAt = s;
    if (reachedAt === null && value >= 512 * MiB) reachedAt = s;
  }
  t.log(`warned at ${warnedAt} s, limit reached at ${reachedAt} s`);
  t.true(reachedAt! - warnedAt! >= 5, 'warned at least 5 s ahead');
  // a value model warns when the value 60 s ahead reaches it; a peak model's p90 still carries
  // some of the misses of the ramp's first two minutes (the trend learning its slope), so it
  // warns a little earlier (here 71 s ahead for engine-peak, 78 s for horizon-peak)
  const longest = model === 'calibrated:holt' ? 65 : 120;
  t.true(reachedAt! - warnedAt! <= longest, `not long before the longest horizon (60 s) could see it: ${reachedAt! - warnedAt!} s`);
  t.is(ttl.get(300), null, '212 s away: beyond the horizon');
  t.true(ttl.get(400)! >= 4_000 && ttl.get(400)! <= 20_000, `12 s away: ${ttl.get(400)}`);
  t.is(ttl.get(450), 0, 'past the limit');
});

test(`${model}: a steady series far below its limit: no contention, no saturation, confidence grows`, (t) => {
  const d = new DemandForecasts({ ...opts, model, stepMs: 1000 });
  let last;
  for (let s = 0; s < 300; s++) last = d.observe('w', 'cpu_cores', 0.5 + 0.05 * Math.sin(s / 7), s * 1000, { limit: 2 });
  t.is(last!.timeToSaturationMs, null);
  for (const w of last!.windows) t.true(w.pContention! < 0.05, `P(contention) ${w.pContention}`);
  t.true(last!.confidence > 0.5, `confidence ${last!.confidence}`);
  t.true(last!.windows[0].p50 > 0.4 && last!.windows[0].p50 < 0.65, `p50 ${last!.windows[0].p50}`);
  // a chance no dashboard tells from 0 (or from 1) is that (it read 3e-314), and memory is forecast in whole bytes
  t.deepEqual([3e-314, 1e-9, 2e-9, 0.5, 1 - 1e-12].map(shownProbability), [0, 1e-9, 2e-9, 0.5, 1]);
  const far = new DemandForecasts({ ...opts, model, stepMs: 1000 });
  let mem;
  for (let s = 0; s < 120; s++) mem = far.observe('w', 'memory_bytes', 6_696_960 + (s % 3) * 4096, s * 1000, { limit: 24e9 });
  for (const w of mem!.windows) {
    t.is(w.pContention, 0);
    for (const q of [w.p50, w.p90, w.p99]) t.true(Number.isInteger(q), `memory quantile ${q}`);
  }
});
}

test('a peak within a longer horizon is never forecast under the peak within a shorter one (quantiles, contention, saturation path)', (t) => {
  // bursts of network traffic: a burst lifts the 5 s window's forecast, and the 60 s one, forecast on its own, read under it
  for (const model of ['engine-peak', 'horizon-peak'] as const) {
    const d = new DemandForecasts({ ...opts, model, horizonsMs: [5_000, 15_000, 60_000], stepMs: 1000 });
    const r = rng(7);
    let checked = 0;
    for (let s = 0; s < 400; s++) {
      const value = (s % 40 < 6 ? 5e6 : 2e5) * (0.5 + r());
      const f = d.observe('w', 'net_bytes_per_s', value, s * 1000, { limit: 4e6 });
      for (let i = 1; i < f.windows.length; i++) {
        const a = f.windows[i - 1]!, b = f.windows[i]!;
        t.true(b.p50 >= a.p50 && b.p90 >= a.p90 && b.p99 >= a.p99 && b.pContention! >= a.pContention!,
          `${model} at ${s} s: ${a.horizonMs} ms ${JSON.stringify(a)} against ${b.horizonMs} ms ${JSON.stringify(b)}`);
        checked++;
      }
    }
    t.is(checked, 800);
  }
});

test('engine-peak: a job\'s exit does not lift the next window\'s peak above what the job used (a fall is not a spread upwards)', (t) => {
  // idle at 2 MiB, a job climbs to 80 MiB in 10 s, holds a minute and exits: the fall widened the
  // span candidate's "step-to-step spread" as much as a rise would, and the 5 s window's p90 read
  // 116 MiB and its p99 the 256 MiB limit (P(contention) 0.018) in the seconds after the exit
  const MiB = 1024 * 1024;
  const d = new DemandForecasts({ ...opts, model: 'engine-peak', halfLifeMs: 60_000, stepMs: 1000 });
  const series: number[] = [];
  for (let i = 0; i < 30; i++) series.push(2 * MiB + (i % 3) * 0.1 * MiB);
  for (let i = 0; i < 10; i++) series.push(2 * MiB + 7.8 * MiB * (i + 1));
  for (let i = 0; i < 60; i++) series.push(80 * MiB + (i % 5) * 0.5 * MiB);
  const used = Math.max(...series);
  for (let i = 0; i < 30; i++) series.push(2 * MiB);
  series.forEach((value, s) => {
    const f = d.observe('w', 'memory_bytes', value, s * 1000, { limit: 256 * MiB, ceiling: 256 * MiB });
    if (s < 100) return;
    const w = f.windows[0]!;
    t.true(w.p90 <= 1.05 * used && w.p99 <= 1.25 * used, `${s} s, ${s - 99} s after the exit: p90 ${(w.p90 / MiB).toFixed(1)} MiB, p99 ${(w.p99 / MiB).toFixed(1)} MiB (the job used ${(used / MiB).toFixed(1)})`);
    t.true(w.pContention! < 1e-3, `${s} s: P(contention) ${w.pContention}`);
    if (s >= 106) t.true(w.p90 < 10 * MiB, `${s} s: the window after the exit holds 2 MiB: p90 ${(w.p90 / MiB).toFixed(1)} MiB`);
  });
});

test('a start-up burst that is over: no certain contention for a minute (engine-peak), no value forecast at 0 (engine)', (t) => {
  // 3 s at a 0.6-core quota (a process loading), then 0.1 cores: the engines' cold heads (until
  // 10 of their forecasts resolve) read the 60 s peak p50 = p90 = 0.6 and P(contention) 0.92-1
  // until 63 s, the 5 s one P 1 until 6 s; and the value 60 s ahead p50 0 until 29 s (the trend
  // carried the fall on). Now P 0.10 once the burst is older than half the window (33 s, 5 s)
  const r = rng(5);
  const at = (i: number): number => (i < 3 ? 0.6 : 0.1 + 0.02 * (r() - 0.5));
  const bounds = { limit: 0.6, limitSource: 'cgroup' as const, ceiling: 0.6 };
  const peaks = new DemandForecasts({ ...opts, model: 'engine-peak', stepMs: 1000 });
  const values = new DemandForecasts({ ...opts, model: 'engine', stepMs: 1000 });
  let peakP5 = 0;
  let peakP60 = 0;
  let lowest50 = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 90; i++) {
    const v = at(i);
    const p = peaks.observe('w', 'cpu_cores', v, 1e12 + i * 1000, bounds);
    const f = values.observe('w', 'cpu_cores', v, 1e12 + i * 1000, bounds);
    if (i >= 5) peakP5 = Math.max(peakP5, p.windows[0]!.pContention!);
    // (a peak in the newest half of the 60 s window, to 32 s, is as likely back as not)
    if (i >= 33) peakP60 = Math.max(peakP60, p.windows[1]!.pContention!);
    if (i >= 6) lowest50 = Math.min(lowest50, ...f.windows.map((w) => w.p50));
  }
  t.true(peakP5 <= 0.15, `5 s P(contention) after the burst: at most ${peakP5}`);
  t.true(peakP60 <= 0.15, `60 s P(contention) from 33 s: at most ${peakP60}`);
  t.true(lowest50 >= 0.08, `the value's p50 from 6 s: at least ${lowest50}`);
  // a burst that comes back every 30 s stays likely within the next minute while the heads are cold
  const again = new DemandForecasts({ ...opts, model: 'engine-peak', stepMs: 1000 });
  const low: number[] = [];
  for (let i = 0; i < 65; i++) {
    const p = again.observe('w', 'cpu_cores', i % 30 < 3 ? 0.6 : at(10), 1e12 + i * 1000, bounds);
    if (p.windows[1]!.pContention! < 0.5) low.push(i);
  }
  t.deepEqual(low, [], 'ticks whose 60 s P(contention) fell under 0.5');
});

test('confidence falls when recent forecasts miss', (t) => {
  const d = new DemandForecasts(opts);
  let calm = 0, wild = 0;
  for (let s = 0; s < 200; s++) calm = d.observe('w', 'io_bytes_per_s', 1e6, s * 1000).confidence;
  for (let s = 200; s < 220; s++) wild = d.observe('w', 'io_bytes_per_s', s % 2 ? 5e6 : 1e4, s * 1000).confidence;
  t.log(`confidence calm ${calm.toFixed(2)}, after misses ${wild.toFixed(2)}`);
  t.true(wild < calm * 0.6);
});

test('horizon-peak from a workload\'s first second: a fast climb is seen before any of its peaks resolved (the cold trend)', (t) => {
  // 16 MiB/s from 10 MiB towards 192 MiB: the limit is 11.4 s away at the start
  const MiB = 1024 * 1024;
  const d = new DemandForecasts({ ...opts, model: 'horizon-peak', halfLifeMs: 60_000, stepMs: 1000 });
  const ttl: Array<number | null> = [];
  for (let s = 0; s < 12; s++) ttl.push(d.observe('w', 'memory_bytes', 10 * MiB + 16 * MiB * s, s * 1000, { limit: 192 * MiB }).timeToSaturationMs);
  t.log(ttl.map((x, s) => `${(11.4 - s).toFixed(1)} s left: ${x === null ? '-' : (x / 1000).toFixed(1)}`).join(', '));
  // 4.4 s left (at 7 s): foreseen near that (the base alone, a flat profile, read 35 s; the cold
  // trend at the series state's slope smoothing, 9.8 s)
  t.true(ttl[7] !== null && ttl[7]! <= 7_000, `at 4.4 s left: ${ttl[7]}`);
  // the agent's bounds: the cgroup's limit is also the ceiling. The p90s shown stop there, the time
  // to saturation is read off the demand's own path (cut, it read 49-58 s until 4.4 s left)
  const bounded = new DemandForecasts({ ...opts, model: 'horizon-peak', halfLifeMs: 60_000, stepMs: 1000 });
  const ttlBounded: Array<number | null> = [];
  for (let s = 0; s < 12; s++) {
    const f = bounded.observe('w', 'memory_bytes', 10 * MiB + 16 * MiB * s, s * 1000, { limit: 192 * MiB, ceiling: 192 * MiB });
    ttlBounded.push(f.timeToSaturationMs);
    for (const w of f.windows) t.true(w.p90 <= 192 * MiB);
  }
  t.deepEqual(ttlBounded, ttl);
});

test('time to saturation on a steady fill reads the fill\'s own line, however far apart the horizons', (t) => {
  // 3 MiB/s towards a 300 MiB limit. The p90 path's straight line between horizons read 3,339 s
  // when 42 s were left (horizons 1 s and 1 h), 85 s when 36 were (5 s, 30 s, 120 s): a
  // walkthrough's finding, live
  const MiB = 1024 * 1024;
  const limit = 300 * MiB;
  for (const horizonsMs of [[1_000, 3_600_000], [5_000, 30_000, 120_000], [5_000, 60_000]]) {
    for (const model of ['engine-peak', 'horizon-peak'] as const) {
      const d = new DemandForecasts({ ...opts, model, halfLifeMs: 60_000, stepMs: 1000, horizonsMs });
      const seen: string[] = [];
      let previous = Number.POSITIVE_INFINITY;
      for (let s = 0; s < 100; s++) {
        const value = 10 * MiB + 3 * MiB * s + (s % 3) * 0.1 * MiB;
        const tts = d.observe('w', 'memory_bytes', value, s * 1000, { limit, ceiling: limit }).timeToSaturationMs;
        const left = (0.99 * limit - value) / (3 * MiB); // (reached within 1% of the limit)
        if (left <= 0) {
          t.is(tts, 0, 'there already');
          continue;
        }
        if (tts === null) continue;
        seen.push(`${left.toFixed(0)}:${(tts / 1000).toFixed(0)}`);
        const what = `${model} ${JSON.stringify(horizonsMs)} with ${left.toFixed(1)} s left`;
        t.true(tts / 1000 <= left + Math.max(2, 0.15 * left), `${what}: ${tts} ms is later than the fill`);
        if (left >= 5) t.true(tts / 1000 >= 0.7 * left, `${what}: ${tts} ms is far sooner than the fill`);
        t.true(tts <= previous + 1000, `${what}: the countdown rose, ${previous} -> ${tts} ms`);
        previous = tts;
      }
      t.true(seen.length >= 10, `${model} ${JSON.stringify(horizonsMs)}: foreseen ${seen.length} ticks ahead (${seen.join(' ')})`);
    }
  }
});

test('a leak after a steady stretch is warned as far ahead as it has run, and its countdown reads the leak (engine-peak, horizon-peak)', (t) => {
  // 50 MiB for 400 s, then 2 MiB/s towards a 400 MiB limit; horizons 5 s, 30 s, 120 s. Old
  // engine, from 100 s left: P(contention) over 120 s down to 1e-19 (at 55 s left: 0.00), the
  // time to saturation none at 95 s left, 23 s at 99 s left (a head's p90 at twice its peak);
  // old horizon-peak: nothing foreseen until 70 s left. (Noise of period 3 gives horizon-peak's
  // base a season, which the leak then ends)
  const MiB = 1024 * 1024;
  const limit = 400 * MiB;
  const r = rng(11);
  const noises = { 'period 3': (s: number): number => (s % 3) * 0.3 * MiB, random: (): number => r() * 0.6 * MiB };
  for (const [model, noise] of [['engine-peak', 'period 3'], ['engine-peak', 'random'], ['horizon-peak', 'period 3'], ['horizon-peak', 'random']] as const) {
    const d = new DemandForecasts({ ...opts, model, halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 30_000, 120_000] });
    const seen: string[] = [];
    let minP = 1;
    let minP45 = 1;
    for (let s = 0; s < 600; s++) {
      const value = 50 * MiB + 2 * MiB * Math.max(0, s - 400) + noises[noise](s);
      const f = d.observe('w', 'memory_bytes', value, s * 1000, { limit, ceiling: limit });
      const left = (0.99 * limit - value) / (2 * MiB);
      if (left > 85 || left < 2) continue;
      const p = f.windows.find((w) => w.horizonMs === 120_000)!.pContention!;
      minP = Math.min(minP, p);
      if (left <= 45) minP45 = Math.min(minP45, p);
      const tts = f.timeToSaturationMs;
      if (Math.round(left) % 10 === 0) seen.push(`${left.toFixed(0)}:${tts === null ? '-' : (tts / 1000).toFixed(0)}/${p.toFixed(2)}`);
      const what = `${model}, noise ${noise}, ${left.toFixed(1)} s left`;
      t.not(tts, null, `${what}: no saturation foreseen`);
      t.true(tts! / 1000 <= left + Math.max(2, 0.15 * left) && tts! / 1000 >= 0.85 * left, `${what}: ${tts} ms`);
    }
    t.log(`${model}, noise ${noise}: s left:countdown/P(120 s) ${seen.join(' ')}`);
    t.true(minP >= 0.1, `${model}, noise ${noise}: P(contention) over 120 s fell to ${minP} within 85 s of the limit`);
    // within 45 s, the 120 s window holds the crossing whatever the climb's pace (before the
    // p50 was moved to the line too: horizon-peak read 0.43 to 0.55 at 30 to 40 s left)
    t.true(minP45 >= 0.9, `${model}, noise ${noise}: P(contention) over 120 s fell to ${minP45} within 45 s of the limit`);
  }
});

test('a cache settling 7% under its limit is not counted down to it, where a leak is (engine-peak)', (t) => {
  // 20 MiB filling towards 300 MiB (tau 30 s), limit 320 MiB: the climb's straight line
  // overshot where the fill settles (its 120 s peak read 376 MiB), and the countdown showed on
  // 121 ticks at a straight line's rate. The rises shrink step by step: the line bends with them
  // once that is clear (16 s in; before, the cold start follows the climb as any other)
  const MiB = 2 ** 20;
  // the fill's forecast each second under a limit
  function* settling(limitMiB: number, seconds: number): Generator<[number, DemandForecast]> {
    const d = new DemandForecasts({ model: 'engine-peak', halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 30_000, 120_000] });
    for (let s = 0; s < seconds; s++) {
      yield [s, d.observe('w', 'memory_bytes', (20 + 280 * (1 - Math.exp(-s / 30))) * MiB, s * 1000, { limit: limitMiB * MiB, ceiling: 4000 * MiB })];
    }
  }
  let countdowns = 0;
  let highest = 0;
  for (const [s, f] of settling(320, 900)) {
    if (f.timeToSaturationMs !== null) countdowns++;
    if (s >= 16) highest = Math.max(highest, f.windows[2]!.p50);
  }
  t.log(`countdown on ${countdowns} of 900 ticks; highest 120 s peak p50 from 16 s: ${(highest / MiB).toFixed(0)} MiB`);
  t.true(countdowns <= 8, `${countdowns}`);
  t.true(highest < 310 * MiB, `${highest / MiB}`);
  // a limit it may still touch (310 MiB): no countdown while its line settles short of it (a
  // time the line does not give), its chance of reaching it still said in P
  let atRisk = 0;
  let counted = 0;
  for (const [s, f] of settling(310, 300)) {
    if (s < 60 || !(f.windows[2]!.p90 >= 310 * MiB * REACHED_SHARE)) continue;
    atRisk++;
    if (f.timeToSaturationMs !== null) counted++;
    t.true(f.windows[2]!.pContention! >= 0.1, `P ${f.windows[2]!.pContention} at ${s} s`);
  }
  t.log(`a 310 MiB limit: the 120 s p90 at it on ${atRisk} ticks, a countdown on ${counted}`);
  t.true(atRisk > 0, 'a p90 at the limit (the case under test)');
  t.is(counted, 0);
  // the same limit under a leak at the fill's starting rate is counted down, and reached
  const leak = new DemandForecasts({ model: 'engine-peak', halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 30_000, 120_000] });
  let warnedAt = -1;
  let countdown = Number.NaN;
  for (let s = 0; s < 150; s++) {
    const f = leak.observe('w', 'memory_bytes', (20 + 2 * s) * MiB, s * 1000, { limit: 320 * MiB, ceiling: 4000 * MiB });
    if (f.timeToSaturationMs !== null && warnedAt < 0) {
      warnedAt = s;
      countdown = f.timeToSaturationMs;
    }
  }
  t.log(`a 2 MiB/s leak (at the limit at 150 s) warned at ${warnedAt} s: ${countdown} ms`);
  t.true(warnedAt >= 0 && warnedAt <= 90, `${warnedAt}`);
  t.true(Math.abs(countdown - (150 - warnedAt) * 1000) <= 2000, `${countdown}`);
});

test('a cache that filled and then sits flat is not counted down to its limit (engine-peak, horizon-peak)', (t) => {
  // a real fill, read each second from a memory cgroup (the kernel test's python filling towards
  // 120 MiB on top of its own 5 MiB), then flat within 0.1 MiB for 200 s under a 144 MiB limit. The
  // peak forecasters kept the fill's excesses over a reference that lagged it for 256 forecasts:
  // engine-peak counted down on 53 ticks after the fill (P(contention) up to 0.52; its peak
  // profile, leading the mix from its losses in the fill, read a 60 s peak p90 of 208 MiB),
  // horizon-peak on 193 of 220 (P up to 0.64)
  const MiB = 2 ** 20;
  const fill = REAL_FILL_MIB;
  const values = [...fill, ...Array.from({ length: 200 }, (_, i) => 125.4 + 0.1 * Math.sin(i * 1.7))];
  for (const model of ['engine-peak', 'horizon-peak'] as const) {
    const d = new DemandForecasts({ model, halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000, 120_000] });
    const counted: number[] = [];
    let highestP = 0;
    let highestLateP = 0;
    for (const [s, v] of values.entries()) {
      const f = d.observe('w', 'memory_bytes', v * MiB, s * 1000, { limit: 144 * MiB, ceiling: 144 * MiB });
      if (s < 20) continue; // (the fill's first seconds are a fast climb: warned as any other)
      if (f.timeToSaturationMs !== null) counted.push(s);
      const p = Math.max(...f.windows.map((w) => w.pContention!));
      // (horizon-peak from 60 s: its excesses from the fill's fast start stand while it slows)
      if (s >= (model === 'horizon-peak' ? 60 : 40)) highestP = Math.max(highestP, p);
      if (s >= 170) highestLateP = Math.max(highestLateP, p);
    }
    t.log(`${model}: a countdown on ${counted.length} of ${values.length - 20} ticks from 20 s (${counted.length > 0 ? `${counted[0]}..${counted.at(-1)} s` : 'none'}); highest P(contention) from ${model === 'horizon-peak' ? 60 : 40} s ${highestP.toFixed(2)}, from 170 s ${highestLateP.toFixed(2)}`);
    // (horizon-peak: 18 ticks, before 70 s, until the base's spread, which its longer horizons
    // read until their first windows resolve and which held the fill, was learnt afresh once the
    // climb settled; with the climb's excesses forgotten only once a window without it resolved,
    // 72 ticks, to 165 s)
    t.is(counted.length, 0, `${counted.join(' ')}`);
    t.true(highestP <= 0.1, `${highestP}`);
    t.true(highestLateP <= 0.05, `${highestLateP}`);
  }
});

test('a real fill read in whole pages, ties and all, is not counted down once it settles (two kernel runs\' readings: engine-peak, horizon-peak)', (t) => {
  // memory.usage_in_bytes each second while python filled towards 120 MiB under a 144 MiB limit
  // (the kernel test's fill, with a busy loop added): the last minute creeps in 0.25 MiB steps
  // with a tie every few seconds. Each tie ended the climb's line and its settling, and a settling
  // point a page off broke its confirmation for a tick: the cold 120 s head then followed a
  // straight climb for 180 s, to the limit. Before: engine-peak counted down on 7 and 4 ticks
  // after 117 MiB, horizon-peak on 37 and 33
  const MiB = 2 ** 20;
  const runs = PAGED_FILLS_MIB;
  for (const model of ['engine-peak', 'horizon-peak'] as const) {
    const counts = runs.map((values) => {
      const d = new DemandForecasts({ model, halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000, 120_000] });
      let counted = 0;
      for (const [s, v] of values.entries()) {
        const f = d.observe('w', 'memory_bytes', v * MiB, s * 1000, { limit: 144 * MiB, ceiling: 144 * MiB });
        if (v >= 117 && f.timeToSaturationMs !== null) counted++;
      }
      return counted;
    });
    t.log(`${model}: a countdown after 117 MiB on ${counts.join(' and ')} ticks of ${runs.map((r) => r.length).join(' and ')}`);
    // (horizon-peak: 6 and 4 ticks while its longer horizons, cold until their first windows
    // resolve, read the base's spread, which held the fill, until it was learnt afresh)
    t.true(counts.every((c) => c === 0), `${counts}`);
  }
});

test('a CI run\'s fill, whose settling fit never agreed, is not counted down from 119 MiB, its P(contention) low, at the kernel test\'s horizons (5 s, 60 s; engine-peak, horizon-peak)', (t) => {
  // It reached 119 MiB still climbing 0.6 MiB/s, its rises shrinking but jittery: the climb's
  // flag held on its net rises, and the settling fit never agreed. horizon-peak (the default
  // for workloads outside the policy) read the 5 s peak's p90 at the 144 MiB limit from the
  // excesses its first seconds left (30 MiB over a reference that lagged a 10 MiB/s climb), and
  // the cold 60 s peak followed the damped trend's path and the climb's straight line: the
  // kernel test counted down on 38 of its last 64 ticks; this replay (gaps filled in), on 4
  // (engine-peak too, on the trend's path: its cold 60 s head). Now a climb whose rate has fallen
  // 6-fold from its steady rate of 8-24 s before is no steady climb (DampedTrend.faded): its
  // path and line are not followed, and horizon-peak forgets its excesses. (It fades at 23 s,
  // two ticks before 119 MiB, on readings 19-24 that the log had lost and were filled in)
  const MiB = 2 ** 20;
  for (const model of ['engine-peak', 'horizon-peak'] as const) {
    const d = new DemandForecasts({ model, halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000] });
    const counted: number[] = [];
    const likely: number[] = [];
    for (const [s, v] of CI_FILL_MIB.entries()) {
      const f = d.observe('w', 'memory_bytes', v * MiB, s * 1000, { limit: 144 * MiB, ceiling: 144 * MiB });
      if (v < 119) continue;
      if (f.timeToSaturationMs !== null) counted.push(s);
      if (Math.max(...f.windows.map((w) => w.pContention!)) > 0.1) likely.push(s);
    }
    t.log(`${model}: from 119 MiB, a countdown at [${counted.join(' ')}], P(contention) over 0.1 at [${likely.join(' ')}]`);
    t.deepEqual(counted, [], model);
    t.deepEqual(likely, [], model);
  }
});

test('a leak in bursts (fast, then slow spells) is counted down to its limit through its slow spells, its P(contention) high (engine-peak, horizon-peak)', (t) => {
  // 3 MiB/s for 10 s then 0.3 MiB/s for 20 s (or 5 for 5, then 0.5 for 25), read in pages,
  // towards a 700 MiB limit. Faded in each slow spell (a review), horizon-peak forgot what it
  // learnt of the climb every cycle: a countdown on 32 and 40 of the last 60 s before the
  // limit, P(contention) over 120 s 0.43 on average over the last 120 s (now 60, 1.00)
  const MiB = 2 ** 20;
  for (const [fast, fastFor, slow] of [[3, 10, 0.3], [5, 5, 0.5]] as const) {
    const cycle = fast * fastFor + slow * (30 - fastFor);
    for (const model of ['engine-peak', 'horizon-peak'] as const) {
      const d = new DemandForecasts({ model, halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000, 120_000] });
      const counted: boolean[] = [];
      const p: number[] = [];
      for (let s = 0; ; s++) {
        const phase = s % 30;
        const v = Math.floor((100 + cycle * Math.floor(s / 30) + (phase < fastFor ? fast * phase : fast * fastFor + slow * (phase - fastFor))) * 4) / 4;
        if (v >= 700) break;
        const f = d.observe('w', 'memory_bytes', v * MiB, s * 1000, { limit: 700 * MiB, ceiling: 700 * MiB });
        counted.push(f.timeToSaturationMs !== null);
        p.push(f.windows[2]!.pContention!);
      }
      const last60 = counted.slice(-60).filter(Boolean).length;
      const meanP = p.slice(-120).reduce((a, b) => a + b, 0) / 120;
      t.log(`${model}, bursts of ${fast} MiB/s for ${fastFor} s: a countdown on ${last60} of the last 60 s, P(contention) over 120 s ${meanP.toFixed(2)} on average over the last 120 s`);
      t.is(last60, 60, model);
      t.true(meanP >= (model === 'horizon-peak' ? 0.9 : 0.6), `${model}: ${meanP}`);
    }
  }
});

test('fills read in pages, a little quicker or slower than the recorded ones, are not counted down once near where they settle, nor given a chance of reaching the limit, for four minutes (engine-peak, horizon-peak)', (t) => {
  // the kernel test's fill at tau 7 to 10 s on 4 to 6 MiB of its own, under a 144 MiB limit. A
  // CI run failed on it (engine-peak): the climb's line ended at a second tie while its flag held
  // on, and the cold 60 s peak followed the trend's path to the limit; when the 60 s head's first
  // windows resolved (61 s) its offset, stepped up by the fill's misses in units of the fill's
  // errors, lifted its p90 16-24 MiB over the value, and from 70 s its peak profile (whose losses
  // in the fill's windows were the lowest) led the mix at 138 MiB. horizon-peak: after the fill
  // its cold longer horizons read the base's spread, which held the fill. Before, of the 4,505
  // ticks from 119 MiB in the 21 fills: engine-peak counted down on 403 (P over 0.1 on 403, at
  // most 0.21), horizon-peak on 359 (P over 0.1 on 745, up to 0.93). While the fill still
  // slowed (20-50 s), the excesses horizon-peak learnt while it climbed fast held its 5 s peak's
  // p90 at up to 150 MiB, P over 0.1 on 386 ticks; since they go once the climb's rate fades
  // 6-fold (DampedTrend.faded), on 2: the first tick from 119 MiB of the two quickest fills
  // (tau 7 and 7.5 s on 6 MiB: 0.9 over 60 s, before their rate has faded)
  const MiB = 2 ** 20;
  for (const model of ['engine-peak', 'horizon-peak'] as const) {
    let counted = 0;
    let likely = 0;
    let highest = 0;
    let ticks = 0;
    const fills: string[] = [];
    for (let tau = 7; tau <= 10; tau += 0.5) {
      for (const base of [4, 5, 6]) {
        const d = new DemandForecasts({ model, halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000, 120_000] });
        const at: number[] = [];
        for (let s = 0; s < 240; s++) {
          const v = pagedFillMib(s + 0.5, tau, base);
          const f = d.observe('w', 'memory_bytes', v * MiB, s * 1000, { limit: 144 * MiB, ceiling: 144 * MiB });
          if (v < 119) continue;
          ticks++;
          if (f.timeToSaturationMs !== null) at.push(s);
          const p = Math.max(...f.windows.map((w) => w.pContention!));
          if (p > 0.1) likely++;
          highest = Math.max(highest, p);
        }
        counted += at.length;
        if (at.length > 0) fills.push(`tau ${tau} on ${base} MiB: ${at.join(' ')}`);
      }
    }
    t.log(`${model}: of ${ticks} ticks from 119 MiB, a countdown on ${counted}${fills.length > 0 ? ` (${fills.join('; ')})` : ''}; P(contention) over 0.1 on ${likely}, at most ${highest.toFixed(2)}`);
    t.is(counted, 0, model);
    t.true(likely <= (model === 'horizon-peak' ? 2 : 0), `${model}: ${likely}`);
  }
});

test('a leak whose rate swings keeps its countdown through a GC\'s dip after a slow spell; a staircase towards the limit is warned of as before (engine-peak, horizon-peak)', (t) => {
  // 2 MiB/s +-70% over 90 s towards 500 MiB (at 218 s), 1 MiB freed at 166 s, after a slow spell
  // read as settling. Read as its settling's end, the dip took horizon-peak's countdown and P
  // for 20 s (on 32 of the 52 ticks left, P over 0.5 on 30; a review)
  const MiB = 2 ** 20;
  for (const model of ['engine-peak', 'horizon-peak'] as const) {
    const d = new DemandForecasts({ model, halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000, 120_000] });
    let v = 20;
    let counted = 0;
    for (let s = 0; s < 218; s++) {
      v += 2 * (1 + 0.7 * Math.sin((2 * Math.PI * s) / 90));
      const f = d.observe('w', 'memory_bytes', (s === 166 ? v - 1 : v) * MiB, s * 1000, { limit: 500 * MiB, ceiling: 500 * MiB });
      if (s >= 166 && f.timeToSaturationMs !== null) counted++;
    }
    t.log(`${model}: a countdown on ${counted} of the 52 ticks from the dip to the limit`);
    t.is(counted, 52, model);
  }
  // +24 MiB every 60 s (each step a fill, tau 8 s, read in pages) towards 234 MiB: each step
  // settles. With every settled climb's forecasts unlearnt, none was counted down before the
  // sixth step (366 s, 18 MiB from the limit), 250 s before; now only the first step's are
  const d = new DemandForecasts({ model: 'engine-peak', halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000, 120_000] });
  let first = -1;
  for (let s = 0; s < 480; s++) {
    const v = Math.floor((40 + 24 * Math.floor(s / 60) + 24 * (1 - Math.exp(-(s % 60) / 8))) * 4) / 4;
    const f = d.observe('w', 'memory_bytes', v * MiB, s * 1000, { limit: 234 * MiB, ceiling: 234 * MiB });
    if (first < 0 && f.timeToSaturationMs !== null) first = s;
  }
  t.log(`the staircase first counted down at ${first} s`);
  t.true(first >= 0 && first <= 300, `${first}`);
});

test('a climb in steps towards the host\'s share (a worker added every 10 s) is counted down on every tick from its fourth step, new or after a flat stretch (horizon-peak, engine-peak)', (t) => {
  // As a live ramp beside a 1-core hog on 2 CPUs: +0.12 cores every 10 s, over 2 ticks, from
  // 0.25 towards its 0.99 share, +-0.01 of noise. The climb's flag dropped on each step's level:
  // its countdown came and went (horizon-peak, a new workload: none on 46-49; engine-peak after
  // 150 s flat: none until the sixth step)
  for (const model of ['horizon-peak', 'engine-peak'] as const) {
    for (const flat of [10, 150]) {
      const r = rng(11);
      const d = new DemandForecasts({ model, halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000] });
      const missed: number[] = [];
      let v = 0.25;
      for (let i = 0; i < flat + 70; i++) {
        const k = i - flat;
        if (k >= 0 && k % 10 < 2) v = Math.min(0.99, v + 0.06);
        const f = d.observe('w', 'cpu_cores', v + (r() - 0.5) * 0.02, i * 1000, { limit: 0.99, limitSource: 'host', ceiling: 2 });
        if (k >= 30 && v < 0.96 && f.timeToSaturationMs === null) missed.push(k);
      }
      t.deepEqual(missed, [], `${model} after ${flat} s flat: no countdown ${missed.length} ticks from the fourth step (s ${missed.join(' ')})`);
    }
  }
});

test('a square wave well under what the host leaves it (a worker 5 s on, 5 s off) is not counted down: its edges are steps, not a climb, and its season found changes no peak (engine-peak, horizon-peak)', (t) => {
  // 0.6 cores on (+-0.025 or +-0.05), 0.02 off, or on-phases of 0.5 and 0.7 in turn (+-0.01, a
  // walkthrough's), the edges caught part way, beside what the host leaves it (1.15 +- 0.05 or
  // 1.19 +- 0.01 cores), 20 runs of 200 s each. The trend's climb gate tripped on an edge's rises
  // and the cold peaks followed the edge's slope to the host's 2 cores; once the season was
  // found (about 75 s in), the excesses learnt against the wave's mean were added to its peak.
  // At the session's start, horizon-peak: 113, 264 and 612 ticks counted down (now 0, 7, 13);
  // engine-peak 51, 61 and 43 (now 0, 3, 0). With the season's short horizons' excesses still
  // added to its peak, horizon-peak's 5 s: 1, 10 and 72
  const waves = [
    { name: '0.6 +-0.025', on: (): number => 0.6, noise: 0.05, limit: [1.15, 0.1] },
    { name: '0.6 +-0.05', on: (): number => 0.6, noise: 0.1, limit: [1.15, 0.1] },
    { name: '0.5 and 0.7 in turn', on: (i: number): number => (Math.floor(i / 10) % 2 === 0 ? 0.5 : 0.7), noise: 0.02, limit: [1.19, 0.02] },
  ] as const;
  for (const model of ['horizon-peak', 'engine-peak'] as const) {
    for (const wave of waves) {
      let ticks = 0;
      for (let seed = 1; seed <= 20; seed++) {
        const r = rng(seed);
        const d = new DemandForecasts({ model, halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000] });
        for (let i = 0; i < 200; i++) {
          const phase = i % 10;
          const v = phase === 0 || phase === 5 ? wave.on(i) * (0.2 + 0.6 * r()) : (phase < 5 ? wave.on(i) : 0.02) + (r() - 0.5) * wave.noise;
          const f = d.observe('w', 'cpu_cores', Math.max(0, v), i * 1000, { limit: wave.limit[0] + (r() - 0.5) * wave.limit[1], limitSource: 'host', ceiling: 2 });
          // (its first seconds stand on the base's spread of a few values)
          if (i >= 5 && f.timeToSaturationMs !== null) ticks++;
        }
      }
      t.log(`${model}, ${wave.name}: ${ticks} ticks counted down of 3900`);
      t.true(ticks <= 20, `${model}, ${wave.name}: ${ticks} ticks counted down`);
    }
  }
});

test('a new workload is not counted down on its first few samples (a first tick caught part way into its start), unless at its limit already; a fast climb is from its fifth (horizon-peak, engine-peak)', (t) => {
  // 0.6 cores, the host leaving 1.15: the first tick part way (0.3), or a start over two ticks
  // (0.1, 0.4). Before: horizon-peak counted both down at their second tick on 20 of 20 starts,
  // the one over two ticks on its third and fourth too
  for (const model of ['horizon-peak', 'engine-peak'] as const) {
    for (const start of [[0.3], [0.1, 0.4]]) {
      let ticks = 0;
      for (let seed = 1; seed <= 20; seed++) {
        const r = rng(seed);
        const d = new DemandForecasts({ model, halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000] });
        for (let i = 0; i < 20; i++) {
          const v = (start[i] ?? 0.6) + (r() - 0.5) * 0.02;
          if (d.observe('w', 'cpu_cores', v, i * 1000, { limit: 1.15, limitSource: 'host', ceiling: 2 }).timeToSaturationMs !== null) ticks++;
        }
      }
      t.is(ticks, 0, `${model}, starting ${start.join(', ')}: ${ticks} ticks counted down`);
    }
    // at its limit at once: 0 from its first sample
    const d = new DemandForecasts({ model, halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000] });
    t.is(d.observe('w', 'cpu_cores', 1.2, 0, { limit: 1.15, limitSource: 'host', ceiling: 2 }).timeToSaturationMs, 0);
    // a fill of 16 MiB/s from 10 MiB towards 192: counted down from its fifth sample (as before)
    const MiB = 1024 * 1024;
    const fill = new DemandForecasts({ model, halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000] });
    const ttl = Array.from({ length: 6 }, (_, s) => fill.observe('w', 'memory_bytes', (10 + 16 * s) * MiB, s * 1000, { limit: 192 * MiB, ceiling: 192 * MiB }).timeToSaturationMs);
    t.deepEqual(ttl.map((x) => x !== null), [false, false, false, false, true, true], `${model}: ${ttl.join(' ')}`);
  }
});

test('horizon-peak: a ramp that comes back every cycle keeps its excesses (the base\'s season): its 5 s peak is covered as before', (t) => {
  // 2 MiB/s for 40 s, held 10 s, dropped, flat 60 s, every 110 s, with a little noise: its
  // climbs' excesses forgotten at each flat stretch, the 5 s peak's p90 was passed 13.7% of the
  // time (6.8% before climbs were forgotten; the base finds the 110 s season)
  const MiB = 2 ** 20;
  const r = rng(4);
  const d = new DemandForecasts({ model: 'horizon-peak', halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000] });
  const values: number[] = [];
  const p90s: number[] = [];
  for (let s = 0; s < 2400; s++) {
    const p = s % 110;
    const v = 100 + (p < 40 ? 2 * p : p < 50 ? 80 : 0) + r();
    values.push(v);
    p90s.push(d.observe('w', 'memory_bytes', v * MiB, s * 1000).windows[0]!.p90 / MiB);
  }
  let misses = 0;
  let scored = 0;
  for (let s = 1000; s + 5 < values.length; s++) {
    scored++;
    if (Math.max(...values.slice(s + 1, s + 6)) > p90s[s]!) misses++;
  }
  t.log(`5 s peak above its p90 on ${misses} of ${scored} (${((100 * misses) / scored).toFixed(1)}%)`);
  t.true(misses / scored <= 0.1, `${misses} / ${scored}`);
});

test('horizon-peak: a noisy leak after a steady stretch is warned as early as its climb allows (the climb\'s excesses go only once a window without it resolves)', (t) => {
  // 200 MiB +- 2 MiB for 300 s, then 1 MiB/s towards a 400 MiB limit: the climb's flag flickers
  // with the noise; its excesses forgotten each time the flag dropped, the leak was warned 11 to
  // 53 s ahead (88 to 90 s when they were kept)
  const MiB = 2 ** 20;
  const leads: number[] = [];
  for (let seed = 1; seed <= 5; seed++) {
    const r = rng(seed);
    const d = new DemandForecasts({ model: 'horizon-peak', halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000, 120_000] });
    let warnedFrom = -1;
    for (let s = 0; s < 520; s++) {
      const value = 200 + Math.max(0, s - 300) + 2 * (2 * r() - 1);
      if (value >= 400) {
        leads.push(warnedFrom < 0 ? 0 : s - warnedFrom);
        break;
      }
      const f = d.observe('w', 'memory_bytes', value * MiB, s * 1000, { limit: 400 * MiB });
      if (f.timeToSaturationMs === null) warnedFrom = -1;
      else if (warnedFrom < 0) warnedFrom = s;
    }
  }
  t.log(`warned (unbroken) ${leads.join(', ')} s ahead`);
  t.is(leads.length, 5);
  t.true(leads.every((l) => l >= 80), `${leads}`);
});

test('a leak whose rate ebbs and flows with load is counted down to its limit, not read as settling (engine-peak)', (t) => {
  // 2 MiB/s, +-20% over 60 s: read as settling on the shrinking rises alone, its countdown read
  // 340 s with 68 s left (a review)
  const MiB = 2 ** 20;
  const values = [50 * MiB];
  for (let s = 1; s < 600; s++) values.push(values[s - 1]! + 2 * MiB * (1 + 0.2 * Math.sin((2 * Math.PI * s) / 60)));
  const limit = 1000 * MiB;
  const cross = values.findIndex((v) => v >= limit);
  const d = new DemandForecasts({ model: 'engine-peak', halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 30_000, 120_000] });
  let latest = Number.NEGATIVE_INFINITY;
  let silent = 0;
  for (let s = 0; s < cross; s++) {
    const f = d.observe('w', 'memory_bytes', values[s]!, s * 1000, { limit, ceiling: 4000 * MiB });
    const left = cross - s;
    if (left > 90) continue;
    if (f.timeToSaturationMs === null) silent++;
    else latest = Math.max(latest, f.timeToSaturationMs / 1000 - left);
  }
  t.log(`the last 90 s before the limit (${cross} s): no countdown on ${silent} ticks; the countdown at most ${latest.toFixed(0)} s later than the crossing`);
  t.is(silent, 0);
  t.true(latest < 30, `${latest}`);
});

test('a leak from a workload\'s first second: P(contention) over 120 s follows the climb\'s line (engine-peak)', (t) => {
  // 2 MiB/s from 50 MiB towards 512 MiB, a little noise. Before (its p90 alone on the line, its
  // p50 a mix's spread under it): P 0.31 at 90 s left, 0.44 within 60 s, dipping as it rose; now
  // 0.92 at 90 s, 0.99 within 60 s
  const MiB = 1024 * 1024;
  const limit = 512 * MiB;
  const d = new DemandForecasts({ ...opts, model: 'engine-peak', halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000, 120_000] });
  let minP = 1;
  const seen: string[] = [];
  for (let s = 0; ; s++) {
    const value = 50 * MiB + 2 * MiB * s;
    if (value >= 0.99 * limit) break;
    const f = d.observe('w', 'memory_bytes', value + (Math.sin(s * 1.7) + Math.sin(s * 0.37)) * 0.5 * MiB, s * 1000, { limit, ceiling: limit });
    const left = (0.99 * limit - value) / (2 * MiB);
    const p = f.windows[2]!.pContention!;
    if (left <= 60) minP = Math.min(minP, p);
    if (Math.round(left) % 10 === 0 && left <= 100) seen.push(`${Math.round(left)}:${p.toFixed(2)}`);
  }
  t.log(`s left:P(120 s) ${seen.join(' ')}`);
  t.true(minP >= 0.9, `P(contention) over 120 s fell to ${minP} within 60 s of the limit`);
});

test('horizon-peak: a leak that ends its base\'s season keeps a 120 s peak p90 near the peak to come (the old excesses stand in until new ones are known)', (t) => {
  // 50 MiB with a noise of period 3 for 400 s, then 2 MiB/s. Before: the excesses were cleared
  // when the base's season changed, and the base's spread stood in: a p90 of 2.2 GiB for 556 MiB
  // to come, and P(contention) 0.5 at 40 s from a 400 MiB limit
  const MiB = 1024 * 1024;
  const d = new DemandForecasts({ ...opts, model: 'horizon-peak', halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 30_000, 120_000] });
  const values: number[] = [];
  const p90s: number[] = [];
  for (let s = 0; s < 760; s++) {
    values.push(50 * MiB + 2 * MiB * Math.max(0, s - 400) + (s % 3) * 0.3 * MiB);
    p90s.push(d.observe('w', 'memory_bytes', values[s]!, s * 1000, { limit: 64 * 1024 * MiB, ceiling: 64 * 1024 * MiB }).windows[2]!.p90);
  }
  let worst = 0;
  for (let s = 400; s < 640; s++) worst = Math.max(worst, p90s[s]! / Math.max(...values.slice(s + 1, s + 121)));
  t.log(`the 120 s p90 at most ${worst.toFixed(2)} x the peak to come`);
  t.true(worst <= 1.3, `the 120 s p90 reached ${worst.toFixed(2)} x the peak to come`);
});

test('a steady leak\'s peak is not forecast far past its line, once the mix follows the trend candidate (engine-peak)', (t) => {
  // 50 MiB for 400 s, then 2 MiB/s with no limit in reach. Before: from 150 s into the leak the
  // 120 s peak's p90 read up to 1.75 GiB (p50 1 GiB) for 590-750 MiB to come: the trend's
  // errors from the leak's first steps, when it said "flat", widened its band once the mix followed it
  const MiB = 1024 * 1024;
  const r = rng(7);
  const d = new DemandForecasts({ ...opts, model: 'engine-peak', halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 30_000, 120_000] });
  const values: number[] = [];
  const forecasts = [];
  for (let s = 0; s < 760; s++) {
    values.push(50 * MiB + 2 * MiB * Math.max(0, s - 400) + r() * 0.6 * MiB);
    forecasts.push(d.observe('w', 'memory_bytes', values[s]!, s * 1000, { limit: 64 * 1024 * MiB, ceiling: 64 * 1024 * MiB }));
  }
  let worst = 0;
  for (let s = 420; s < 640; s++) {
    const w = forecasts[s]!.windows[2]!;
    const peak = Math.max(...values.slice(s + 1, s + 121));
    worst = Math.max(worst, (w.p90 - values[s]!) / (peak - values[s]!));
    // (the line is followed as far ahead as the leak has run: the whole horizon from 120 s in)
    if (s >= 520) t.true(w.p90 >= 0.95 * peak, `${s - 400} s into the leak: p90 ${(w.p90 / MiB).toFixed(0)} MiB under the peak to come ${(peak / MiB).toFixed(0)}`);
    t.true(w.p90 - values[s]! <= 1.6 * (peak - values[s]!), `${s - 400} s into the leak: p90 ${(w.p90 / MiB).toFixed(0)} MiB for a peak of ${(peak / MiB).toFixed(0)} MiB from ${(values[s]! / MiB).toFixed(0)}`);
    t.true(w.p50 <= 1.1 * peak, `${s - 400} s into the leak: p50 ${(w.p50 / MiB).toFixed(0)} MiB for a peak of ${(peak / MiB).toFixed(0)} MiB`);
  }
  t.log(`the 120 s p90's rise over the value, at most ${worst.toFixed(2)} x the peak's to come`);
});

test('a ramp to a spike the engine has learned keeps the spike in its peak forecast: the bound on a steady climb is the trend candidate\'s alone (engine-peak)', (t) => {
  // (a review) every 60 s: 100 MiB for 39 s, a 1 MiB/s ramp for 16 s, then 5 s at 1000 MiB. The
  // ramp is a steady climb; bounding the whole mix there cut the learned spike to ~200 MiB and
  // missed the 60 s peak 126 times in 840
  const MiB = 1024 * 1024;
  const value = (s: number): number => { const k = s % 60; return (k < 39 ? 100 : k < 55 ? 100 + (k - 38) : 1000) * MiB; };
  const d = new DemandForecasts({ ...opts, model: 'engine-peak', halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000] });
  const p90s: number[] = [];
  for (let s = 0; s < 1800; s++) p90s.push(d.observe('w', 'memory_bytes', value(s), s * 1000, { limit: 1024 * MiB, ceiling: 1024 * MiB }).windows[1]!.p90);
  let missed = 0;
  for (let s = 900; s < 1740; s++) {
    let peak = 0;
    for (let j = 1; j <= 60; j++) peak = Math.max(peak, value(s + j));
    if (peak > p90s[s]! * 1.0001) missed++;
  }
  t.log(`the 60 s peak over its p90 ${missed} times in 840`);
  t.true(missed <= 84, `the 60 s peak over its p90 ${missed} times in 840`);
});

test('an OOM kill starts the memory forecast afresh: the emptied cgroup has no countdown, and a run that climbs again is warned as it climbs (engine-peak, horizon-peak)', (t) => {
  // 50 MiB for 300 s, 2 MiB/s to the 400 MiB limit, killed; 0.2 MiB for 60 s, then 4 MiB/s again.
  // Kept across the kill, what the climb taught held a countdown over the empty cgroup on 60 of
  // its 60 ticks (engine-peak, P(120 s) up to 0.69; horizon-peak: 51, 0.86). The cost: a
  // restarted climb is warned as far ahead as it has run (49 s here), not from its history (99 s).
  // The kill counted with the emptied sample, or one or two ticks before it (memory not yet freed)
  const MiB = 1024 * 1024;
  const limit = 400 * MiB;
  const values: number[] = [];
  let killedAt = -1;
  for (let s = 0; s < 700; s++) {
    const climb = 50 * MiB + 2 * MiB * Math.max(0, s - 300) + (((s * 7919) % 13) / 13) * 0.6 * MiB;
    if (killedAt < 0 && climb >= 0.99 * limit) killedAt = s;
    const value = killedAt < 0 ? climb : 0.2 * MiB + (s < killedAt + 60 ? 0 : 4 * MiB * (s - killedAt - 60));
    if (value >= 0.99 * limit) break;
    values.push(value);
  }
  t.true(killedAt > 300);
  for (const model of ['engine-peak', 'horizon-peak'] as const) for (const early of [0, 1, 2]) {
    const d = new DemandForecasts({ ...opts, model, halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 30_000, 120_000] });
    const what = `${model}, the kill counted ${early} ticks early`;
    let warned = 0;
    let firstAhead = 0;
    for (let s = 0; s < values.length; s++) {
      const value = values[s]!;
      const f = d.observe('w', 'memory_bytes', value, s * 1000, { limit, ceiling: limit }, false, s === killedAt - early);
      if (s < killedAt) continue;
      const tts = f.timeToSaturationMs;
      if (s < killedAt + 60) {
        t.is(tts, null, `${what}: a countdown ${s - killedAt} s after the kill, over an empty cgroup`);
        t.true(f.windows[2]!.pContention! < 0.05, `${what}: P(120 s) ${f.windows[2]!.pContention} ${s - killedAt} s after the kill`);
        continue;
      }
      if (tts === null) continue;
      const left = (0.99 * limit - value) / (4 * MiB);
      if (warned++ === 0) firstAhead = left;
      t.true(tts / 1000 <= left + 2 && tts / 1000 >= 0.85 * left, `${what}: ${tts} ms with ${left.toFixed(1)} s left`);
    }
    t.true(firstAhead >= 40, `${what}: the climb after the kill first warned ${firstAhead.toFixed(0)} s ahead`);
  }
});

test('a start-up climb that levelled off starts the memory forecast afresh: no countdown, no contention after it (engine-peak, horizon-peak)', (t) => {
  // 5, 40, 80 MiB in the first 3 s (an interpreter loading), then flat about 82 MiB under a
  // 256 MiB limit: read as a trend, its countdown was 25-55 s and P(60 s) up to 1 on ticks 1-8
  // (a walkthrough: 56 s at 4 s and 9 s in). A leak from its first second, one tick paused, is
  // warned as before.
  const MiB = 1024 * 1024;
  const limit = 256 * MiB;
  const bounds = { limit, limitSource: 'cgroup' as const, ceiling: limit };
  // (from 5 MiB, or from 45 MiB at the second sample: the climb seen from the pair's first sample)
  for (const second of [40, 45]) for (const model of ['engine-peak', 'horizon-peak'] as const) {
    const startup = [5 * MiB, second * MiB, 80 * MiB, ...Array.from({ length: 60 }, (_, i) => 82 * MiB + (((i * 7919) % 13) - 6) * 20_000)];
    const d = new DemandForecasts({ ...opts, model, halfLifeMs: 300_000, stepMs: 1000 });
    startup.forEach((v, s) => {
      const f = d.observe('w', 'memory_bytes', v, 1e12 + s * 1000, bounds);
      if (s < 5) return; // (levelled off at 4 s: the second tick in a row that did not rise)
      t.is(f.timeToSaturationMs, null, `${model}: a countdown ${s} s in, ${(v / MiB).toFixed(1)} MiB`);
      for (const w of f.windows) t.true(w.pContention! < 0.05, `${model}: P ${w.pContention} over ${w.horizonMs} ms, ${s} s in`);
    });
    // 8 MiB a second from 5 MiB, the fourth second read twice: warned 5 s ahead or more
    const leak = new DemandForecasts({ ...opts, model, halfLifeMs: 300_000, stepMs: 1000 });
    const values = Array.from({ length: 40 }, (_, i) => (5 + 8 * (i < 4 ? i : i - 1)) * MiB);
    const warnedAt = values.findIndex((v, s) => leak.observe('w', 'memory_bytes', v, 1e12 + s * 1000, bounds).timeToSaturationMs !== null);
    const fullAt = values.findIndex((v) => v >= 0.99 * limit);
    t.true(warnedAt >= 0 && fullAt - warnedAt >= 5, `${model}: the leak warned at ${warnedAt} s, full at ${fullAt} s`);
  }
});

test('horizon-peak: a climb that stopped on a level forgets its excesses at once: no countdown or contention over the flat memory, none come back as its windows resolve', (t) => {
  // 50 MiB for 30 s, then 5 MiB/s to 150 MiB (or 2 MiB/s to 220 MiB), then flat (a process's
  // memory reads the same value tick after tick once it stops), under a 256 MiB limit. Kept until
  // a window with no climb in it resolved, the climb's excesses held P(60 s) 1 and an 18 s
  // countdown for 40 s over 220 MiB, and lifted the 60 s peak's p90 of 150 MiB back to 248 MiB
  // from 30 s to 60 s after the stop (a walkthrough: P 0.4 and a 44 s countdown 51 s after it)
  const MiB = 2 ** 20;
  const limit = 256 * MiB;
  for (const [rate, top] of [[5, 150], [2, 220]] as const) {
    const d = new DemandForecasts({ ...opts, model: 'horizon-peak', halfLifeMs: 60_000, stepMs: 1000 });
    const values: number[] = Array<number>(30).fill(50 * MiB);
    for (let v = 50 + rate; v <= top; v += rate) values.push(v * MiB + ((values.length * 7919) % 13 - 6) * 10_000);
    const stop = values.length;
    for (let i = 0; i < 150; i++) values.push(top * MiB);
    let warnedInClimb = false;
    values.forEach((v, s) => {
      const f = d.observe('w', 'memory_bytes', v, 1e12 + s * 1000, { limit, limitSource: 'cgroup', ceiling: limit });
      if (s < stop) {
        warnedInClimb ||= f.timeToSaturationMs !== null;
        return;
      }
      if (s < stop + 5) return; // (the climb's flag drops within its window's net rises)
      const at = `${rate} MiB/s to ${top} MiB, ${s - stop} s after the stop`;
      t.is(f.timeToSaturationMs, null, at);
      // (the 60 s peak's p90 comes down over the next seconds: 166 MiB 5 s after a stop at 150)
      const over = s < stop + 10 ? 20 : 10;
      for (const w of f.windows) t.true(w.pContention! < 0.05 && w.p90 <= (top + over) * MiB, `${at}: ${w.horizonMs} ms P ${w.pContention}, p90 ${(w.p90 / MiB).toFixed(1)} MiB`);
    });
    t.true(warnedInClimb, `${rate} MiB/s: warned of while it climbed`);
  }
});

test('horizon-peak: a climb that stopped on a noisy level (memory jittering about it) forgets its excesses once flat for 8 s or more off the climb: no countdown or contention from 20 s after the stop', (t) => {
  // 100 MiB for 60 s, then 2 MiB/s for 120 s (or 4 MiB/s for 60 s) to 340 MiB, then flat, each
  // reading +-0.2 to +-1 MiB off, under a 512 MiB limit. Noise drops the climb's flag with falls
  // (no clean stop), and raises it again now and then: no 120 s window went without a climb in
  // it, and the climb's excesses stood. Before: its 120 s peak read the limit, P(contention) up
  // to 1 and a countdown of 72-103 s on every run to the end, 240 s after the stop
  const MiB = 2 ** 20;
  const limit = 512 * MiB;
  for (const [rate, climbFor, noise] of [[2, 120, 0.2], [4, 60, 0.5], [2, 120, 1]] as const) {
    let latest = -1;
    for (let seed = 1; seed <= 10; seed++) {
      const r = rng(seed);
      const d = new DemandForecasts({ model: 'horizon-peak', halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000, 120_000] });
      const stop = 60 + climbFor;
      const top = 100 + rate * climbFor;
      let warnedInClimb = false;
      for (let s = 0; s < stop + 240; s++) {
        const v = (100 + Math.max(0, Math.min(s - 60, climbFor)) * rate + noise * (2 * r() - 1)) * MiB;
        const f = d.observe('w', 'memory_bytes', v, 1e12 + s * 1000, { limit, limitSource: 'cgroup', ceiling: limit });
        if (s < stop) {
          warnedInClimb ||= f.timeToSaturationMs !== null;
          continue;
        }
        if (f.timeToSaturationMs !== null) latest = Math.max(latest, s - stop);
        // (its flag drops some 5 s after the stop, and the level is judged 8 s or more later)
        if (s < stop + 20) continue;
        const at = `${rate} MiB/s to ${top} MiB +-${noise}, seed ${seed}, ${s - stop} s after the stop`;
        t.is(f.timeToSaturationMs, null, at);
        for (const w of f.windows) t.true(w.pContention! < 0.05 && w.p90 <= (top + 15) * MiB, `${at}: ${w.horizonMs} ms P ${w.pContention}, p90 ${(w.p90 / MiB).toFixed(1)} MiB`);
      }
      t.true(warnedInClimb, `${rate} MiB/s, seed ${seed}: warned of while it climbed`);
    }
    t.log(`${rate} MiB/s for ${climbFor} s +-${noise} MiB: the last countdown ${latest} s after the stop (10 runs)`);
  }
});

test('engine-peak and engine: a climb that stopped on a level, clean or noisy, is not counted down to its limit from 20 s after the stop, and its chance of reaching it stays low', (t) => {
  // 100 MiB for 60 s, then 2 MiB/s for 120 s (or 4 MiB/s for 60 s) to 340 MiB, then flat, each
  // reading +-0 to +-1 MiB off, under a 512 MiB limit. What the engine learnt of its errors over
  // the climb (the offset on the p90, the trend candidate's errors) was kept after the stop: the
  // 60 s peak's p90 stood 100-170 MiB over the level, and the countdown went on 32-71 s after the
  // stop (engine-peak, P(contention) up to 0.25) and 87-110 s (engine, the value 60 s ahead; P up
  // to 0.27). Now 19 s at most, P at most 0.03
  const MiB = 2 ** 20;
  const limit = 512 * MiB;
  for (const model of ['engine-peak', 'engine'] as const) {
    for (const [rate, climbFor, noise] of [[2, 120, 0], [4, 60, 0.5], [2, 120, 1]] as const) {
      let latest = -1;
      let highest = 0;
      let warnedInClimb = 0;
      // (with no noise every seed is the same run)
      const runs = noise === 0 ? 1 : 10;
      for (let seed = 1; seed <= runs; seed++) {
        const r = rng(seed);
        const d = new DemandForecasts({ model, halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000, 120_000] });
        const stop = 60 + climbFor;
        for (let s = 0; s < stop + 180; s++) {
          const v = (100 + Math.max(0, Math.min(s - 60, climbFor)) * rate + noise * (2 * r() - 1)) * MiB;
          const f = d.observe('w', 'memory_bytes', v, 1e12 + s * 1000, { limit, limitSource: 'cgroup', ceiling: limit });
          if (s === stop - 1 && f.timeToSaturationMs !== null) warnedInClimb++;
          if (s < stop) continue;
          if (f.timeToSaturationMs !== null) latest = Math.max(latest, s - stop);
          if (s < stop + 20) continue;
          const at = `${model}, ${rate} MiB/s for ${climbFor} s +-${noise}, seed ${seed}, ${s - stop} s after the stop`;
          t.is(f.timeToSaturationMs, null, at);
          for (const w of f.windows) {
            highest = Math.max(highest, w.pContention!);
            t.true(w.pContention! < 0.05, `${at}: ${w.horizonMs} ms P ${w.pContention}`);
          }
        }
      }
      t.log(`${model}, ${rate} MiB/s for ${climbFor} s +-${noise} MiB: counted down at the climb's last second on ${warnedInClimb} of ${runs} runs; the last countdown ${latest} s after the stop, P from 20 s at most ${highest.toFixed(3)}`);
      // (warned of while it climbed: the peak always; the value 60 s ahead not of the shorter
      // climb, which the mix has not learnt by its end: a value has no climb floor)
      if (model === 'engine-peak' || climbFor === 120) t.is(warnedInClimb, runs, `${model}, ${rate} MiB/s for ${climbFor} s +-${noise}: warned of at the climb's last second`);
    }
  }
});

test('engine-peak: bursts under their limit in which a season is found by chance are counted down less once the peak candidate moves its excesses with the season (still too often: see the README)', (t) => {
  // 0.3-0.4 cores with bursts of 1.6 for 3 s at random once a minute, under a 2-core limit they
  // never reach, 5 seeds of 1,800 s. A season (130 s on seed 1) is found in some: the peak
  // candidate's reference is raised to the season's usual peak over the horizon (1.6) while its
  // excesses, measured over a reference without one, stood as they were (p50 2.76 cores on seed
  // 1; the mix followed it). Counted down on 1,750 ticks (578, 621, 20, 155, 376); moved with the
  // season, 1,201 (578, 374, 20, 179, 50): the move fits the phase the season was found at, and
  // helps seeds 2 and 5 most. Since then (the plateaus) 311 (111, 151, 15, 8, 26); with a burst
  // back at its held height after a stretch without one no new high (Plateau.note), 185 (111, 25,
  // 15, 8, 26)
  const per: number[] = [];
  for (let seed = 1; seed <= 5; seed++) {
    const r = rng(seed);
    const d = new DemandForecasts({ model: 'engine-peak', halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000] });
    let left = 0;
    let counted = 0;
    for (let i = 0; i < 1800; i++) {
      if (left === 0 && r() < 1 / 60) left = 3;
      const v = left > 0 ? 1.6 : 0.3 + 0.1 * r();
      if (left > 0) left--;
      const f = d.observe('w', 'cpu_cores', v, 1e12 + i * 1000, { limit: 2, limitSource: 'cgroup', ceiling: 2 });
      if (i >= 120 && f.timeToSaturationMs !== null) counted++;
    }
    per.push(counted);
  }
  const all = per.reduce((a, b) => a + b, 0);
  t.log(`counted down on ${all} of 8400 ticks (${per.join(', ')})`);
  t.true(all <= 250, `${all}`);
  t.true(per[1]! <= 60 && per[4]! <= 150, `seeds 2 and 5: ${per[1]}, ${per[4]}`);
});

test('engine-peak and horizon-peak: bursts that come back to one height under their limit are held near it and counted down far less often, their height jittering or not; bursts that come higher are warned of as before', (t) => {
  // the bursts of the test above: after a season found by chance was dropped again, the engine's
  // p50 read 1.8 cores over bursts of 1.6 and the offset +0.3-0.5 (p90 2.1 over a 2-core limit).
  // The runs here (the base drawn at every tick), counted down on ticks of 8,400, before -> held
  // at the plateau (the p90 at most a quarter of an offset unit above):
  // - engine-peak: 1,341 (195, 264, 549, 18, 315) -> 417 (140, 102, 128, 17, 30); the height
  //   jittering, 1,146 (27, 641, 402, 35, 41) -> 170 (6, 90, 28, 19, 27)
  // - horizon-peak: 850 (23, 41, 536, 12, 238) -> 15 (1, 2, 3, 3, 6); jittering, 1,608 (35, 923,
  //   589, 7, 54) -> 156 (4, 141, 6, 1, 4)
  // and, a burst back at its held height after a stretch without one no new high (Plateau.note):
  // engine-peak 285 (8, 102, 128, 17, 30), jittering 167 (3, 90, 28, 19, 27); horizon-peak 14
  // (0, 2, 3, 3, 6), jittering 152 (0, 141, 6, 1, 4)
  const run = (model: 'engine-peak' | 'horizon-peak', seed: number, highFrom: number, jitter: number): { before: number; over: number; warned: number } => {
    const r = rng(seed);
    const d = new DemandForecasts({ model, halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000] });
    let left = 0;
    let before = 0;
    let over = 0;
    let warned = 0;
    let counting = false;
    for (let i = 0; i < 1800; i++) {
      if (left === 0 && r() < 1 / 60) {
        left = 3;
        // a burst over the limit, and whether the countdown ran as it began
        if (i >= highFrom) {
          over++;
          if (counting) warned++;
        }
      }
      const base = 0.3 + 0.1 * r();
      const v = left > 0 ? (i >= highFrom ? 2.2 : 1.6) + jitter * (base - 0.35) : base;
      if (left > 0) left--;
      const f = d.observe('w', 'cpu_cores', v, 1e12 + i * 1000, { limit: 2, limitSource: 'cgroup', ceiling: 2 });
      counting = f.timeToSaturationMs !== null;
      if (i >= 120 && i < highFrom && counting) before++;
    }
    return { before, over, warned };
  };
  const seeds = [1, 2, 3, 4, 5];
  // (jitter 0.2: each burst's value 1.59-1.61, as a CPU reading of a held job jitters); the bounds
  // in all and on the seed that was counted down most before
  const bounds = [
    ['engine-peak', 0, 350, 1, 40],
    ['engine-peak', 0.2, 300, 2, 150],
    ['horizon-peak', 0, 80, 3, 40],
    ['horizon-peak', 0.2, 300, 2, 200],
  ] as const;
  for (const [model, jitter, most, seed, atMost] of bounds) {
    const held = seeds.map((s) => run(model, s, 1800, jitter).before);
    const all = held.reduce((a, b) => a + b, 0);
    t.log(`${model}, one height, jitter ${jitter}: counted down on ${all} of 8400 ticks (${held.join(', ')})`);
    t.true(all <= most && held[seed - 1]! <= atMost, `${model}, jitter ${jitter}: ${all}; seed ${seed} ${held[seed - 1]}`);
  }
  // 1.6 for 900 s, then bursts of 2.2 over the limit: warned at their start about as often as
  // before the cap (engine-peak 54 of 60, 56 before, 55 before a burst back at a held height was
  // no new high; horizon-peak 54, 55 before): the cap lifts
  // at the first of them, a new high
  for (const model of ['engine-peak', 'horizon-peak'] as const) {
    const higher = seeds.map((seed) => run(model, seed, 900, 0));
    const over = higher.reduce((a, b) => a + b.over, 0);
    const warned = higher.reduce((a, b) => a + b.warned, 0);
    t.log(`${model}, higher: ${warned} of ${over} bursts over the limit warned at their start`);
    t.true(over >= 50 && warned >= 45, `${model}: ${warned} of ${over}`);
  }
});

test('engine-peak and horizon-peak: a base that climbs under bursts of one height towards the limit is counted down as long before it crosses as without the plateau cap', (t) => {
  // bursts of 1.6 cores (3 s, about once a minute) on a base of 0.3-0.4 for 900 s: a plateau; then
  // the base climbs 0.002 cores a second (+-0.05) to a 2-core limit. Held at the plateau until the
  // base passed it, both were counted down only 182-183 s before the crossing (the cap lifted
  // there), where 510-615 s before with no plateau (the engine's seed 1 845 s, from before the
  // climb); now the base's climb (the window's median, up 10% of the plateau's height over it
  // within 300 samples) ends the plateau: 510-596 s
  for (const model of ['engine-peak', 'horizon-peak'] as const) {
    const ahead: number[] = [];
    for (const seed of [1, 4]) {
      const r = rng(seed);
      const d = new DemandForecasts({ model, halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000] });
      let left = 0;
      let since = -1;
      let cross = -1;
      for (let i = 0; i < 2400; i++) {
        if (left === 0 && r() < 1 / 60) left = 3;
        const base = 0.35 + Math.max(0, i - 900) * 0.002 + 0.1 * (r() - 0.5);
        if (base >= 1.98) {
          cross = i;
          break;
        }
        const v = left > 0 ? Math.max(1.6, base) : base;
        if (left > 0) left--;
        const f = d.observe('w', 'cpu_cores', v, 1e12 + i * 1000, { limit: 2, limitSource: 'cgroup', ceiling: 2 });
        // (the first tick of the countdown that runs on to the crossing)
        if (f.timeToSaturationMs === null) since = -1;
        else if (since < 0) since = i;
      }
      ahead.push(since < 0 ? 0 : cross - since);
    }
    t.log(`${model}: counted down without a break from ${ahead.join(' and ')} s before the crossing`);
    t.true(ahead.every((a) => a >= 400), `${model}: ${ahead.join(', ')}`);
  }
});

test('a workload held at the host\'s CPU limit now (the host full, it waiting to run): every peak window\'s P(contention) is 1; a value window\'s is forecast', (t) => {
  // a starved hog: 0.4-0.5 cores, its limit its own use that tick (what the others leave it).
  // Forecast alone, its P flapped about 0.5 (0.06, 0.84, 0.21, 0.09 in a walkthrough)
  const r = rng(11);
  for (const model of ['engine-peak', 'horizon-peak', 'engine'] as const) {
    const held = new DemandForecasts({ ...opts, model, stepMs: 1000 });
    const alone = new DemandForecasts({ ...opts, model, stepMs: 1000 });
    const ps: number[] = [];
    for (let s = 0; s < 60; s++) {
      const use = 0.4 + 0.1 * r();
      const bounds = { limit: use, limitSource: 'host' as const, ceiling: 2 };
      const f = held.observe('hog', 'cpu_cores', use, 1e12 + s * 1000, { ...bounds, held: true });
      const g = alone.observe('hog', 'cpu_cores', use, 1e12 + s * 1000, bounds);
      ps.push(g.windows[0]!.pContention!);
      // the same forecast but for P (and its countdown: 0, there already)
      t.deepEqual(f.windows.map((w) => [w.p50, w.p90, w.p99]), g.windows.map((w) => [w.p50, w.p90, w.p99]));
      t.is(f.timeToSaturationMs, 0);
      if (model === 'engine') t.deepEqual(f.windows.map((w) => w.pContention), g.windows.map((w) => w.pContention), 'a value window: as forecast');
      else t.deepEqual(f.windows.map((w) => w.pContention), [1, 1], model);
    }
    if (model !== 'engine') t.true(Math.min(...ps) < 0.5, `${model}: alone, P as low as ${Math.min(...ps)}`);
    // held at a limit a little over its use this tick (the host's count a hair off the probe's):
    // there already all the same, its countdown 0 (it read 0.3-2.2 s, or none, in a CI run)
    const f = held.observe('hog', 'cpu_cores', 0.45, 1e12 + 60_000, { limit: 0.6, limitSource: 'host', ceiling: 2, held: true });
    t.is(f.timeToSaturationMs, 0, model);
    t.is(alone.observe('hog', 'cpu_cores', 0.45, 1e12 + 60_000, { limit: 0.6, limitSource: 'host', ceiling: 2 }).held, undefined);
  }
});

test('a run that ended (its cgroup emptied) starts its forecasts afresh: no countdown or contention over an empty cgroup', (t) => {
  // a CPU hog at 1 core for 45 s, against the 0.44 cores the host left it, then gone: kept, its
  // 5 s peak read p50 1.00, P(contention) 1 and a countdown for 3 ticks, and p50 above 0.9 for 6
  // (a QA run of top); told the cgroup emptied, none of that from the first empty tick
  for (const model of ['engine-peak', 'horizon-peak'] as const) {
    const told = new DemandForecasts({ ...opts, model, halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000] });
    const untold = new DemandForecasts({ ...opts, model, halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000] });
    const bounds = { limit: 0.44, limitSource: 'host' as const, ceiling: 2 };
    let keptHigh = 0;
    for (let s = 0; s < 60; s++) {
      const value = s < 45 ? 1 + 0.01 * Math.sin(s) : 0;
      const f = told.observe('w', 'cpu_cores', value, s * 1000, bounds, false, false, s === 45);
      const g = untold.observe('w', 'cpu_cores', value, s * 1000, bounds);
      if (s < 45) {
        t.deepEqual(f, g, `${model}: the same while it runs, at ${s} s`);
        continue;
      }
      if (g.windows[0]!.pContention! > 0.5) keptHigh++;
      t.is(f.timeToSaturationMs, null, `${model}: a countdown ${s - 45} s after the cgroup emptied`);
      for (const w of f.windows) t.true(w.p90 < 0.1 && w.pContention! < 0.05, `${model}: ${JSON.stringify(w)} ${s - 45} s after the cgroup emptied`);
    }
    t.true(keptHigh >= 1, `${model}: kept, the old forecast read P > 0.5 on ${keptHigh} empty ticks (the case this is for)`);
  }
});

test('a workload thrashing at its memory limit, a worker killed every 10 s, keeps its forecast: a kill that does not empty it starts nothing afresh', (t) => {
  // (a review) 350-398 MiB of 400 MiB, a worker killed at each 10th tick: restarted at each kill,
  // the countdown was there on 240 of 400 ticks, and P(30 s) fell to 0 after each kill
  const MiB = 1024 * 1024;
  const limit = 400 * MiB;
  for (const model of ['engine-peak', 'horizon-peak'] as const) {
    const told = new DemandForecasts({ ...opts, model, halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 30_000, 120_000] });
    const untold = new DemandForecasts({ ...opts, model, halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 30_000, 120_000] });
    let counted = 0;
    for (let s = 0; s < 600; s++) {
      const value = (350 + 5.3 * (s % 10)) * MiB;
      const f = told.observe('w', 'memory_bytes', value, s * 1000, { limit, ceiling: limit }, false, s % 10 === 0 && s > 0);
      const g = untold.observe('w', 'memory_bytes', value, s * 1000, { limit, ceiling: limit });
      t.deepEqual(f, g, `${model}: told of the kills, at ${s} s`);
      if (s >= 200 && f.timeToSaturationMs !== null) counted++;
    }
    t.is(counted, 400, `${model}: a countdown on ${counted} of 400 ticks`);
  }
});

test('the cold peak models follow a fast climb from the first second, and a dip does not turn the warning off', (t) => {
  // 16 MiB/s from 10 MiB towards a 192 MiB limit (the ceiling too), 20 MiB less every sixth second
  const MiB = 1024 * 1024;
  for (const model of ['horizon-peak', 'engine-peak'] as const) {
    const d = new DemandForecasts({ ...opts, model, halfLifeMs: 60_000, stepMs: 1000 });
    const ttl: Array<number | null> = [];
    for (let s = 0; s < 12; s++) {
      const value = (10 + 16 * s - (s % 6 === 5 ? 20 : 0)) * MiB;
      ttl.push(d.observe('w', 'memory_bytes', value, s * 1000, { limit: 192 * MiB, ceiling: 192 * MiB }).timeToSaturationMs);
    }
    t.log(`${model}: ${ttl.map((x) => (x === null ? '-' : (x / 1000).toFixed(1))).join(' ')}`);
    const first = ttl.findIndex((x) => x !== null);
    t.true(first >= 0 && first <= 5, `${model}: first warned at ${first} s`);
    t.false(ttl.slice(first).includes(null), `${model}: the warning stays on through the dip`);
    t.true(ttl[7]! <= 8_000, `${model}: ${ttl[7]} ms at 4.4 s from the limit`);
  }
});

// the models `auto` gives: their cold peak forecasts follow the trend's path only while the values climb
for (const [model, before, startsAtMost, ticksAtMost] of [['horizon-peak', '194 of 200 starts (1,439 ticks)', 120, 250], ['engine-peak', '192 (1,168 ticks)', 150, 500]] as const) {
test(`${model} from a noisy steady start: the cold trend does not cry saturation (it follows only a climb)`, (t) => {
  // 0.8 cores +-0.3 with a 0.5 spike 5% of the ticks, against a 2-core limit: the peak over a
  // minute is about 1.6, never 2. A trend followed whatever the values did warned within 90 s in
  // 194 of 200 starts (horizon-peak) and 192 (engine-peak)
  let starts = 0;
  let ticks = 0;
  for (let seed = 1; seed <= 200; seed++) {
    const rnd = rng(seed);
    const d = new DemandForecasts({ ...opts, model, halfLifeMs: 60_000, stepMs: 1000 });
    let warned = false;
    for (let s = 0; s < 90; s++) {
      const value = 0.8 + 0.6 * (rnd() - 0.5) + (rnd() < 0.05 ? 0.5 : 0);
      if (d.observe('w', 'cpu_cores', value, s * 1000, { limit: 2 }).timeToSaturationMs !== null) {
        warned = true;
        ticks++;
      }
    }
    if (warned) starts++;
  }
  t.log(`starts warned within 90 s: ${starts} of 200, ticks ${ticks} of 18000 (before the gate: ${before})`);
  t.true(starts <= startsAtMost, `${starts} starts warned`);
  t.true(ticks <= ticksAtMost, `${ticks} ticks warned`);
});
}

test('a peak window\'s median is judged against the peak it came due over, not the value at its end', (t) => {
  // a spike to 1 every 5 s, 0.1 between: every 5 s window peaks at 1, its end is mostly at 0.1
  const d = new DemandForecasts({ ...opts, model: 'horizon-peak', stepMs: 1000 });
  let last;
  for (let s = 0; s < 600; s++) last = d.observe('w', 'cpu_cores', s % 5 === 0 ? 1 : 0.1, s * 1000, { limit: 2 });
  t.log(`5 s peak p50 ${last!.windows[0].p50.toFixed(2)}, confidence ${last!.confidence.toFixed(2)}`);
  t.true(last!.windows[0].p50 > 0.8, 'the median of the window\'s peak');
  t.true(last!.confidence > 0.5, `confidence ${last!.confidence}`);
});

test('no limit: no contention probability and no saturation; gone pairs are forgotten', (t) => {
  const d = new DemandForecasts({ ...opts, forgetAfterMs: 10_000 });
  const f = d.observe('a', 'net_bytes_per_s', 100, 0);
  t.is(f.windows[0].pContention, null);
  t.is(f.limitSource, null);
  t.is(d.observe('c', 'cpu_cores', 1, 0, { limit: 1.5, limitSource: 'host' }).limitSource, 'host');
  t.is(d.observe('e', 'cpu_cores', 1, 0, { limit: 0.5 }).limitSource, 'cgroup', 'a limit is the cgroup\'s unless told');
  t.is(f.timeToSaturationMs, null);
  d.observe('b', 'net_bytes_per_s', 100, 20_000);
  d.sweep(20_000);
  t.is(d.size, 1);
  t.throws(() => new DemandForecasts({ ...opts, horizonsMs: [] }), { instanceOf: RangeError });
});

test("auto: the engine's peaks for the policy's workloads, the direct peak forecaster for the others; a change of selection starts afresh", (t) => {
  const d = new DemandForecasts({ ...opts, model: 'auto', stepMs: 1000 });
  t.is(d.modelFor(true), 'engine-peak');
  t.is(d.modelFor(false), 'horizon-peak');
  let sel, other;
  for (let s = 0; s < 120; s++) {
    sel = d.observe('web', 'cpu_cores', 1 + 0.1 * Math.sin(s / 5), s * 1000, { limit: 2 }, true);
    other = d.observe('batch', 'cpu_cores', 1 + 0.1 * Math.sin(s / 5), s * 1000, { limit: 2 }, false);
  }
  t.is(sel!.model, 'engine-peak');
  t.is(other!.model, 'horizon-peak');
  t.deepEqual([sel!.windowsOf, other!.windowsOf], ['peak', 'peak']);
  // (a private field: only the engine's models learn from a pool, so memory's has not been made)
  const pools = (d as unknown as { pools: Map<string, unknown> }).pools;
  d.observe('batch', 'memory_bytes', 1e8, 120_000, {}, false);
  t.deepEqual([...pools.keys()], ['cpu_cores'], 'a pool for the engine\'s resource alone');
  t.true(sel!.windows[0].p50 > 0.8 && sel!.windows[0].p50 < 1.2, `engine p50 ${sel!.windows[0].p50}`);
  // the policy now selects batch: its pairs restart with the engine (little history: low confidence)
  const now = d.observe('batch', 'cpu_cores', 1, 120_000, { limit: 2 }, true);
  t.is(now.model, 'engine-peak');
  t.true(now.confidence < other!.confidence, `confidence ${now.confidence} after the switch, ${other!.confidence} before`);
  t.is(new DemandForecasts({ ...opts }).modelFor(true), 'calibrated:holt', 'a named model is for every workload');
  t.is(d.observe('x', 'cpu_cores', 1, 0, { limit: 2 }).windowsOf, 'peak');
  t.is(new DemandForecasts({ ...opts }).observe('x', 'cpu_cores', 1, 0, { limit: 2 }).windowsOf, 'value', "a value model's windows are values");
});

test('a ceiling (the host\'s CPUs, a cgroup\'s memory limit) bounds the quantiles, not the chance of reaching the limit', (t) => {
  // bursts to the whole 2-CPU host after calm: the tail learnt from them would go past 2 cores.
  // The limit is the ceiling (a quota of 2 on a 2-CPU host): the case where a distribution cut
  // at the ceiling would read no chance of reaching it
  const d = new DemandForecasts({ ...opts, model: 'auto', stepMs: 1000 });
  const free = new DemandForecasts({ ...opts, model: 'auto', stepMs: 1000 });
  let highest = 0;
  let freeHighest = 0;
  let highestP = 0;
  for (let s = 0; s < 400; s++) {
    const value = s % 40 < 4 ? 2 : 0.2 + 0.05 * (s % 3);
    const f = d.observe('w', 'cpu_cores', value, s * 1000, { limit: 2, ceiling: 2 }, true);
    const g = free.observe('w', 'cpu_cores', value, s * 1000, { limit: 2 }, true);
    for (const w of f.windows) highest = Math.max(highest, w.p50, w.p90, w.p99);
    for (const w of g.windows) freeHighest = Math.max(freeHighest, w.p99);
    for (const w of f.windows) highestP = Math.max(highestP, w.pContention!);
    t.is(f.ceiling, 2);
    // the same chance of reaching the limit, bounded or not
    t.deepEqual(f.windows.map((w) => w.pContention), g.windows.map((w) => w.pContention));
  }
  t.true(highestP > 0.5, `bursts to the limit: P(reaching it) up to ${highestP}`);
  t.log(`highest quantile ${highest.toFixed(2)} cores under a ceiling of 2; ${freeHighest.toFixed(2)} without`);
  t.true(freeHighest > 2, 'without a ceiling the tail passes the host (the case this guards)');
  t.true(highest <= 2);
  // memory held at its cgroup's limit (limit and ceiling one): the quantiles sit at it, reaching it is likely
  const MiB = 1024 * 1024;
  const m = new DemandForecasts({ ...opts, model: 'engine-peak', stepMs: 1000 });
  let at;
  for (let s = 0; s < 200; s++) at = m.observe('w', 'memory_bytes', Math.min(256, 100 + 2 * s) * MiB - (s % 2) * MiB, s * 1000, { limit: 256 * MiB, ceiling: 256 * MiB });
  t.true(at!.timeToSaturationMs !== null && at!.timeToSaturationMs <= 5000, `saturation in ${at!.timeToSaturationMs} ms: within the first window`);
  for (const w of at!.windows) {
    t.true(w.p90 > 250 * MiB, `p90 ${w.p90 / MiB} MiB`);
    t.true(w.pContention! > 0.5, `P(reaching the limit) ${w.pContention}`);
  }
  t.is(m.observe('n', 'net_bytes_per_s', 1, 0).ceiling, null, 'none given: unbounded');
});

test('a workload leaking memory while asleep on CPU is active enough to have its demand forecast', (t) => {
  // (a walkthrough: a 2 MiB/s leak not named by the policy had no forecast in `top`: its 512 new
  // pages a second weighed 0.005, under the floor, at 1,000 pages per 1% of a core)
  const report = (cores: number, minorPerSecond: number): WorkloadReport => ({ cpu: { seconds: 0, cores }, memory: { minorPerSecond } }) as unknown as WorkloadReport;
  t.true(activityOf(report(0.002, 512)) > ACTIVE_FLOOR, 'a 2 MiB/s leak');
  t.true(activityOf(report(0.002, 30)) < ACTIVE_FLOOR, 'a daemon faulting a page now and then');
  t.true(activityOf(report(0.02, 0)) > ACTIVE_FLOOR, '2% of a core');
});

test('a collector\'s sawtooth under its limit is not counted down once three climbs fell back from about one height, nor the recorded memory-growth workload after its first climbs; a leak under a collector, or one long after the sawtooth, is counted down as before, a climb past the tops as it passes them (engine-peak, horizon-peak)', (t) => {
  // Each climb's straight line, read 60 s ahead, ran on past where the climbs stopped: a heap
  // from 20 to 240 MiB at 3 MiB/s under a 256 MiB limit was counted down on 818 and 817 of the
  // 1,500 ticks from its fifth minute (engine-peak, horizon-peak), P(contention) 0.48 on average
  // from its tenth; the recorded workload (climbs to 205-246 MiB under 256) on 584 and 692 of
  // 1,189. The leaks below were counted down as they are now
  const MiB = 2 ** 20;
  const r = rng(7);
  const sawtooth = (top: number, secs: number): number[] => {
    const values: number[] = [];
    let v = 20;
    for (let s = 0; s < secs; s++) {
      values.push(v + 0.5 * r());
      v += 3 * (0.8 + 0.4 * r());
      if (v > top - 3 + 6 * r()) v = 20;
    }
    return values;
  };
  const recorded = readTraces(join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'test/fixtures/traces/memory-growth.jsonl.gz'), { resources: ['memory_bytes'] })[0]!;
  const recordedMiB = [...recorded.values].map((v) => v / MiB);
  t.false(recordedMiB.some(Number.isNaN), 'the recording: a value each second');
  // a leak under a collector: climbs of 60 MiB at 3 MiB/s, drops of 50 (or 56: +4 a cycle)
  const leak = (drop: number): number[] => {
    const values: number[] = [];
    for (let x = 100; ;) {
      for (let k = 0; k < 20; k++) values.push((x += 3 * (0.9 + 0.2 * r())));
      if (x >= 520) return values;
      values.push((x -= drop));
    }
  };
  // 10 minutes of a sawtooth to 200 MiB, then a climb that runs on at 3 MiB/s to the limit
  const runaway = sawtooth(200, 600);
  for (let x = 20; x < 270; x += 3 * (0.8 + 0.4 * r())) runaway.push(x);
  // 10 minutes of a sawtooth to 240 MiB, 10 flat at its trough, then a leak at 3 MiB/s from there
  const later = sawtooth(240, 600);
  for (let s = 0; s < 600; s++) later.push(20 + 0.5 * r());
  for (let x = 20; x < 270; x += 3 * (0.8 + 0.4 * r())) later.push(x);
  // (every series drawn before the models replay them: both replay the same)
  const saw240 = sawtooth(240, 1800);
  const leaks = [50, 56].map(leak);
  const replay = (model: 'engine-peak' | 'horizon-peak', values: number[], limitMiB: number): { counted: boolean[]; p: number[]; crossing: number } => {
    const d = new DemandForecasts({ model, halfLifeMs: 60_000, stepMs: 1000, horizonsMs: [5_000, 60_000] });
    const counted: boolean[] = [];
    const p: number[] = [];
    let crossing = -1;
    for (const [s, v] of values.entries()) {
      const f = d.observe('w', 'memory_bytes', v * MiB, s * 1000, { limit: limitMiB * MiB, ceiling: limitMiB * MiB });
      counted.push(f.timeToSaturationMs !== null);
      p.push(Math.max(...f.windows.map((w) => w.pContention!)));
      if (crossing < 0 && v >= limitMiB * REACHED_SHARE) crossing = s;
    }
    return { counted, p, crossing };
  };
  const count = (xs: boolean[]): number => xs.filter(Boolean).length;
  // (counted down without a break for this many seconds before the crossing)
  const unbroken = (counted: boolean[], crossing: number): number => {
    let n = 0;
    for (let s = crossing - 1; s >= 0 && counted[s]; s--) n++;
    return n;
  };
  for (const model of ['engine-peak', 'horizon-peak'] as const) {
    const saw = replay(model, saw240, 256);
    const late = count(saw.counted.slice(300));
    const meanP = saw.p.slice(600).reduce((a, b) => a + b, 0) / 1200;
    const rec = replay(model, recordedMiB, 256);
    const recLate = count(rec.counted.slice(300));
    const leaked = leaks.map((values) => replay(model, values, 512));
    const past = replay(model, runaway, 256);
    const passedTops = runaway.findIndex((v, s) => s >= 600 && v > 206);
    const afterSaw = replay(model, later, 256);
    t.log(`${model}: a sawtooth to 240 MiB counted down on ${count(saw.counted)} of 1,800 ticks, ${late} from its fifth minute, P(contention) ${meanP.toFixed(2)} on average from its tenth; the recording on ${count(rec.counted)} of ${recordedMiB.length}, ${recLate} from its fifth minute; leaks under a collector counted down without a break ${leaked.map((l) => unbroken(l.counted, l.crossing)).join(' and ')} s before their crossings; a climb past the tops from ${past.crossing - passedTops} s before its crossing, without a break ${unbroken(past.counted, past.crossing)} s; a leak 10 minutes after the sawtooth without a break ${unbroken(afterSaw.counted, afterSaw.crossing)} s`);
    t.true(late <= 15, `${late}`);
    t.true(meanP <= 0.15, `${meanP}`);
    t.true(recLate <= 40, `${recLate}`);
    for (const l of leaked) t.true(unbroken(l.counted, l.crossing) >= 50, `${unbroken(l.counted, l.crossing)}`);
    // (warned once it passes where the climbs stopped, not before: 16-19 s of the 60 s to go)
    const pastFor = unbroken(past.counted, past.crossing);
    t.true(passedTops > 600 && pastFor >= past.crossing - passedTops - 2 && pastFor <= past.crossing - passedTops + 5, `${pastFor} of ${past.crossing - passedTops}`);
    t.true(unbroken(past.counted, past.crossing) >= 10, `${unbroken(past.counted, past.crossing)}`);
    // (the tops hold three of the sawtooth's cycles after its last climb fell back, no longer:
    // as long as with no tops at all, 43 and 45 s)
    t.true(unbroken(afterSaw.counted, afterSaw.crossing) >= 40, `${unbroken(afterSaw.counted, afterSaw.crossing)}`);
  }
});
