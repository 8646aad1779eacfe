// Forecast cost and accuracy for `make bench` (issue 6).
//
// Cost: what one workload-resource pair costs per tick: one update() and a forecast at each of
// three targets (the value 5 s and 60 s ahead, the peak over the next 60 s: one head more than
// the agent's default two, the peaks over 5 s and 60 s, so an upper bound on what it pays), for
// the selected forecaster (the engine, its pairs sharing one learner pool as the agent's
// workloads of one resource do) and for the EWMA alone, in the same run:
// - per call: timed pairs fed a long synthetic series (a daily-like wave, noise, bursts) at a
//   1 s tick, each call timed on its own once the pair is warm; median, mean (the learner's
//   refits included) and p99;
// - per tick: `pairs` pairs (default 10,000), each warmed with `warmSamples` samples, then
//   whole ticks timed: every pair updated and asked for its three targets;
// - per tick once old: `oldPairs` pairs (default 1,000) warmed with 1,300 samples (their learners
//   full, their windows full), the same ticks timed, and scaled linearly to `pairs` (more pairs
//   fall further out of the caches, and a full collection's pause comes on top);
// - the agent's demand tick: `demandWorkloads` workloads' five resources (10,000 pairs by
//   default) through DemandForecasts in this thread, then held by worker threads
//   (ShardedDemandForecasts), the same samples: median and slowest tick of each.
// Figures are absolute (µs, ms) and as a ratio to the EWMA measured the same way.
//
// Accuracy (when `traces` is given): `headroom predict`'s target table, the engine against the
// best reference baseline per dataset and target, on the public traces (and any recorded ones).
//
// Runnable on its own: `node dist/test/bench/forecast.js [TRACES]` (HR_BENCH_FORECAST_PAIRS,
// HR_BENCH_FORECAST_WARM, HR_BENCH_FORECAST_TICKS, HR_BENCH_FORECAST_TIMED,
// HR_BENCH_FORECAST_OLD_PAIRS, HR_BENCH_FORECAST_OLD_WARM, HR_BENCH_DEMAND_WORKLOADS,
// HR_BENCH_DEMAND_WORKERS, HR_BENCH_DEMAND_WARM change the sizes).
import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AGENT_TARGETS, runBacktest, targetTable, type TargetRow } from '../../agent/predict/backtest.js';
import { DEFAULT_MODELS } from '../../agent/predict/baselines.js';
import { DemandForecasts, type DemandForecast, type DemandInput, type DemandResource } from '../../agent/predict/demand.js';
import { ShardedDemandForecasts } from '../../agent/predict/demand-shards.js';
import { createForecaster, type Forecaster, type ForecastModel } from '../../agent/predict/forecaster.js';
import { LearnerPool } from '../../agent/predict/models/learner-pool.js';
import { readTraces } from '../../agent/predict/traces/index.js';
import { rng as prng } from '../helpers/rng.js';

export interface ForecastBenchOptions {
  /** pairs in the timed tick (default 10,000) */
  pairs?: number;
  /** samples fed to each of them before the ticks are timed (default 256) */
  warmSamples?: number;
  /** ticks timed (default 5) */
  ticks?: number;
  /** pairs timed call by call (default 50) */
  timedPairs?: number;
  /** samples fed to each timed pair; the second half is timed (default 6000) */
  timedSamples?: number;
  /** the selected model (default 'engine') */
  model?: ForecastModel;
  /** other models timed per call beside it (default: OTHER_MODELS) */
  others?: readonly ForecastModel[];
  /**
   * pairs timed again once old: warmed with `oldWarmSamples` samples (their learners hold all
   * their rows, their windows are full), then `ticks` ticks timed (default 1,000 pairs; 0: not
   * timed). A young pair's tick is not an old one's: at 10,000 pairs warmed 1,300 samples a tick
   * read 692 ms against 465-533 ms after 256
   */
  oldPairs?: number;
  /** samples an old pair is warmed with (default 1,300) */
  oldWarmSamples?: number;
  /**
   * workloads whose five resources' demand is forecast as the agent's tick does
   * (DemandForecasts, engine-peak for all, horizons 5 s and 60 s), in the caller's thread and
   * held by `demandWorkers` worker threads, each warmed `warmSamples` samples, then `ticks`
   * ticks timed (default 2,000 workloads: 10,000 pairs; 0: not timed)
   */
  demandWorkloads?: number;
  /** worker threads for the sharded demand ticks (default 2: this VM's cores) */
  demandWorkers?: number;
  /** samples each demand pair is warmed with (default `warmSamples`; 1,300 fills the learners: about 17 minutes of bench) */
  demandWarmSamples?: number;
  /** a trace file or folder: also score accuracy there */
  traces?: string;
  /** progress lines */
  progress?: (msg: string) => void;
}

export interface CallCost {
  medianUs: number;
  meanUs: number;
  p99Us: number;
  maxUs: number;
}

export interface ForecastBenchResult {
  model: ForecastModel;
  /** per call (update + three forecasts), timed pairs */
  ewma: CallCost;
  selected: CallCost;
  ewmaMedianUs: number;
  selectedMedianUs: number;
  /** selected / EWMA, medians */
  ratio: number;
  /** selected / EWMA, means (the learner's refits included) */
  meanRatio: number;
  /** one tick over `pairs` pairs: median of the timed ticks, ms */
  pairs: number;
  warmSamples: number;
  timedSamples: number;
  pairsPerTickMs: number;
  /** the slowest of the first 16 ticks (the step learnt, every pair's targets set up at once) */
  startTickMs: number;
  /** the slowest tick after those (learners' first fits, refits, GC) */
  worstTickMs: number;
  ewmaPairsPerTickMs: number;
  tickRatio: number;
  /**
   * the same tick extrapolated from the timed pairs (a steadier state: more refits behind them):
   * `pairs` times their mean call less the pooled learners' refits, plus those refits' time a tick
   * (a pool refits on its own schedule, so at 10,000 pairs it costs what it costs at 50)
   */
  steadyPairsPerTickMs: number;
  /** of which the pooled learners' refits, ms a tick */
  poolRefitMsPerTick: number;
  /** old pairs (see ForecastBenchOptions.oldPairs): their count, warm-up, median tick and what `pairs` of them would take */
  old?: { pairs: number; warmSamples: number; tickMs: number; worstTickMs: number; perPairUs: number; scaledTickMs: number };
  /** the agent's demand tick over many workloads, in the caller's thread and over worker threads (see ForecastBenchOptions.demandWorkloads) */
  demand?: { workloads: number; pairs: number; workers: number; warmSamples: number; inThread: TickTimes; sharded: TickTimes; pairsPerWorker: number[] };
  /** memory grown per pair (JS heap and typed arrays) after `warmSamples` samples, KB (approximate: garbage included unless run with --expose-gc) */
  heapPerPairKb: number;
  /** the same for the timed pairs after their `timedSamples` samples: a pair whose learners hold all their rows */
  steadyHeapPerPairKb: number;
  /**
   * the other models the agent may give a pair, timed per call as the selected one (`auto` gives
   * horizon-peak to the workloads outside the policy), with their memory once steady
   */
  others: Array<{ model: ForecastModel; cost: CallCost; ratio: number; steadyHeapPerPairKb: number }>;
  /** accuracy, when traces were given */
  accuracy?: TargetRow[];
  seconds: number;
}

/** What `auto` gives the workloads outside the policy, and the value model it replaced. */
export const OTHER_MODELS: readonly ForecastModel[] = ['horizon-peak', 'calibrated:holt'];

const HORIZONS_MS = [AGENT_TARGETS.h5s.seconds * 1000, AGENT_TARGETS.h60s.seconds * 1000] as const;
const PEAK_MS = AGENT_TARGETS.h60smax.seconds * 1000;

/** A pair's demand at tick i: a slow wave, noise and now and then a burst (deterministic per pair). */
function demand(pair: number, i: number, rnd: () => number): number {
  const wave = 1 + 0.4 * Math.sin((2 * Math.PI * i) / 3600 + pair) + 0.15 * Math.sin((2 * Math.PI * i) / 97 + 2 * pair);
  return Math.max(0, wave + 0.1 * (rnd() - 0.5) + (rnd() < 0.01 ? 1 + rnd() : 0));
}


/** One tick's work for one pair: the sample, then the three targets. */
interface Pair {
  update(v: number, atMs: number): void;
  ask(): number;
}

/** `pool`: the learner pool the run's engines share, as the agent's engines of one resource do. */
function pairOf(model: ForecastModel, pool: LearnerPool): Pair {
  const opts = { halfLifeMs: 60_000, learnerPool: pool };
  if (model === 'engine' || model === 'engine-peak') {
    // one engine serves both the value and the peak targets
    const point = createForecaster('engine', opts);
    const engine = (point as unknown as { engine: { peak(h: number): { quantile(q: number): number } } }).engine;
    return {
      update: (v, t) => point.update(v, t),
      ask: () => point.forecast(HORIZONS_MS[0]).quantile(0.9) + point.forecast(HORIZONS_MS[1]).quantile(0.9) + engine.peak(PEAK_MS).quantile(0.9),
    };
  }
  const f: Forecaster = createForecaster(model, opts);
  return {
    update: (v, t) => f.update(v, t),
    ask: () => f.forecast(HORIZONS_MS[0]).quantile(0.9) + f.forecast(HORIZONS_MS[1]).quantile(0.9) + f.forecast(PEAK_MS).quantile(0.9),
  };
}

function callCost(samples: Float64Array): CallCost {
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  let sum = 0;
  for (const x of sorted) sum += x;
  return { medianUs: at(0.5), meanUs: sum / sorted.length, p99Us: at(0.99), maxUs: sorted[sorted.length - 1]! };
}

/**
 * JS heap and typed arrays (they live outside it), after full collections when the bench may ask
 * for them (--expose-gc). Two: a typed array's memory is released by a sweep that one collection
 * only starts, and after one the engine's pairs read 441-448 KB where they hold about 380.
 */
function usedBytes(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Each call of `timedPairs` pairs timed on its own, over the second half of `timedSamples` ticks. */
function timeCalls(model: ForecastModel, timedPairs: number, timedSamples: number): CallCost & { heapPerPairKb: number; poolRefitMsPerTick: number } {
  const before = usedBytes();
  const pool = new LearnerPool();
  const pairs = Array.from({ length: timedPairs }, () => pairOf(model, pool));
  const rnds = pairs.map((_, p) => prng(1000 + p));
  const from = timedSamples >> 1;
  const samples = new Float64Array(timedPairs * (timedSamples - from));
  let k = 0;
  let sink = 0;
  let poolFitMsBefore = 0;
  for (let i = 0; i < timedSamples; i++) {
    if (i === from) poolFitMsBefore = pool.fitMs;
    for (let p = 0; p < timedPairs; p++) {
      const v = demand(p, i, rnds[p]!);
      const t0 = process.hrtime.bigint();
      pairs[p]!.update(v, i * 1000);
      sink += pairs[p]!.ask();
      const t1 = process.hrtime.bigint();
      if (i >= from) samples[k++] = Number(t1 - t0) / 1000;
    }
  }
  if (!Number.isFinite(sink)) throw new Error(`${model}: a forecast was not finite`);
  const heapPerPairKb = (usedBytes() - before) / timedPairs / 1024;
  if (pairs.length !== timedPairs) throw new Error('unreachable'); // the pairs stay alive until measured
  return { ...callCost(samples), heapPerPairKb, poolRefitMsPerTick: (pool.fitMs - poolFitMsBefore) / (timedSamples - from) };
}

/** A run of timed ticks: the median and the slowest, ms; the slowest of the warm-up's after its start. */
export interface TickTimes {
  medianMs: number;
  slowestMs: number;
  slowestWarmMs: number;
}

const DEMAND_OPTS = { model: 'engine-peak' as const, halfLifeMs: 60_000, horizonsMs: [...HORIZONS_MS], stepMs: 1000 };
const DEMAND_RESOURCES: readonly DemandResource[] = ['cpu_cores', 'memory_bytes', 'io_bytes_per_s', 'io_ops_per_s', 'net_bytes_per_s'];

/**
 * The agent's demand tick (every workload's five resources, observeAll) over `workloads`
 * workloads: `warm` ticks, then `ticks` timed. The demand of a pair is the ticks' `demand()`.
 */
function timeDemandTicks(d: { observeAll(inputs: readonly DemandInput[], atMs: number): DemandForecast[] }, workloads: number, warm: number, ticks: number, label: string, progress: (m: string) => void): TickTimes {
  const inputs: DemandInput[] = [];
  for (let w = 0; w < workloads; w++) {
    for (const resource of DEMAND_RESOURCES) inputs.push({ workload: `w${w}`, resource, value: 0, bounds: resource === 'cpu_cores' ? { limit: 2, ceiling: 2 } : undefined, selected: true });
  }
  const rnds = inputs.map((_, p) => prng(1 + p));
  let sink = 0;
  const tick = (i: number): number => {
    for (let p = 0; p < inputs.length; p++) inputs[p]!.value = demand(p, i, rnds[p]!);
    const t0 = performance.now();
    const out = d.observeAll(inputs, i * 1000);
    const ms = performance.now() - t0;
    sink += out[out.length - 1]!.windows[1]!.p90;
    return ms;
  };
  const started = performance.now();
  let slowestWarmMs = 0;
  for (let i = 0; i < warm; i++) {
    const ms = tick(i);
    if (i >= START_TICKS) slowestWarmMs = Math.max(slowestWarmMs, ms);
    if (i % 64 === 63) progress(`demand ticks ${label}: ${inputs.length} pairs warmed ${i + 1}/${warm} samples (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  const times: number[] = [];
  for (let i = warm; i < warm + ticks; i++) times.push(tick(i));
  if (!Number.isFinite(sink)) throw new Error(`demand ticks ${label}: a forecast was not finite`);
  times.sort((a, b) => a - b);
  return { medianMs: times[(times.length - 1) >> 1]!, slowestMs: times[times.length - 1]!, slowestWarmMs };
}

/** Ticks counted as the start: the step is learnt from the first gaps, then every target is set up. */
const START_TICKS = 16;

/** `pairs` pairs warmed with `warm` samples, then `ticks` whole ticks timed; median tick in ms, and the worst tick of all. */
function timeTicks(model: ForecastModel, pairs: number, warm: number, ticks: number, progress: (m: string) => void): { tickMs: number; startTickMs: number; worstTickMs: number; timedWorstTickMs: number; heapPerPairKb: number } {
  const heapBefore = usedBytes();
  const pool = new LearnerPool();
  const all = Array.from({ length: pairs }, () => pairOf(model, pool));
  const rnds = all.map((_, p) => prng(1 + p));
  let sink = 0;
  const started = performance.now();
  let worstTickMs = 0;
  let startTickMs = 0;
  for (let i = 0; i < warm; i++) {
    const t0 = performance.now();
    for (let p = 0; p < pairs; p++) {
      all[p]!.update(demand(p, i, rnds[p]!), i * 1000);
      sink += all[p]!.ask();
    }
    if (i < START_TICKS) startTickMs = Math.max(startTickMs, performance.now() - t0);
    else worstTickMs = Math.max(worstTickMs, performance.now() - t0);
    if (i % 64 === 63) progress(`${model}: ${pairs} pairs warmed ${i + 1}/${warm} samples (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  const heapPerPairKb = (usedBytes() - heapBefore) / pairs / 1024;
  const times: number[] = [];
  for (let i = warm; i < warm + ticks; i++) {
    const t0 = performance.now();
    for (let p = 0; p < pairs; p++) {
      all[p]!.update(demand(p, i, rnds[p]!), i * 1000);
      sink += all[p]!.ask();
    }
    times.push(performance.now() - t0);
    worstTickMs = Math.max(worstTickMs, times[times.length - 1]!);
  }
  if (!Number.isFinite(sink)) throw new Error(`${model}: a forecast was not finite`);
  times.sort((a, b) => a - b);
  return { tickMs: times[(times.length - 1) >> 1]!, startTickMs, worstTickMs, timedWorstTickMs: times[times.length - 1]!, heapPerPairKb };
}

export async function benchForecast(opts: ForecastBenchOptions = {}): Promise<ForecastBenchResult> {
  const start = performance.now();
  const model = opts.model ?? 'engine';
  const pairs = opts.pairs ?? 10_000;
  const warmSamples = opts.warmSamples ?? 256;
  const ticks = opts.ticks ?? 5;
  const timedPairs = opts.timedPairs ?? 50;
  const timedSamples = opts.timedSamples ?? 6000;
  const progress = opts.progress ?? (() => {});

  progress(`timing calls: ${timedPairs} pairs x ${timedSamples} samples, ewma then ${model}`);
  const ewma = timeCalls('ewma', timedPairs, timedSamples);
  const selected = timeCalls(model, timedPairs, timedSamples);
  const others = (opts.others ?? OTHER_MODELS).filter((m) => m !== model).map((m) => {
    progress(`timing calls: ${timedPairs} pairs x ${timedSamples} samples, ${m}`);
    const cost = timeCalls(m, timedPairs, timedSamples);
    return { model: m, cost, ratio: cost.medianUs / ewma.medianUs, steadyHeapPerPairKb: cost.heapPerPairKb };
  });
  progress(`timing ticks of ${pairs} pairs (${warmSamples} warm-up samples each)`);
  const ewmaTick = timeTicks('ewma', pairs, warmSamples, ticks, progress);
  const selectedTick = timeTicks(model, pairs, warmSamples, ticks, progress);
  const oldPairs = opts.oldPairs ?? 1000;
  const oldWarm = opts.oldWarmSamples ?? 1300;
  let old: ForecastBenchResult['old'];
  if (oldPairs > 0) {
    progress(`timing ticks of ${oldPairs} old pairs (${oldWarm} warm-up samples each)`);
    // (its worst tick counts only the timed ticks: the warm-up's are a young pair's)
    const t = timeTicks(model, oldPairs, oldWarm, ticks, progress);
    old = { pairs: oldPairs, warmSamples: oldWarm, tickMs: t.tickMs, worstTickMs: t.timedWorstTickMs, perPairUs: (1000 * t.tickMs) / oldPairs, scaledTickMs: (t.tickMs * pairs) / oldPairs };
  }

  const demandWorkloads = opts.demandWorkloads ?? 2000;
  let demandTicks: ForecastBenchResult['demand'];
  if (demandWorkloads > 0) {
    const workers = opts.demandWorkers ?? 2;
    const demandWarm = opts.demandWarmSamples ?? warmSamples;
    progress(`timing demand ticks: ${demandWorkloads} workloads x ${DEMAND_RESOURCES.length} resources in this thread`);
    const inThread = timeDemandTicks(new DemandForecasts(DEMAND_OPTS), demandWorkloads, demandWarm, ticks, 'in this thread', progress);
    progress(`timing demand ticks: the same over ${workers} worker threads`);
    const sharded = new ShardedDemandForecasts({ ...DEMAND_OPTS, workers });
    try {
      const times = timeDemandTicks(sharded, demandWorkloads, demandWarm, ticks, `over ${workers} workers`, progress);
      demandTicks = { workloads: demandWorkloads, pairs: demandWorkloads * DEMAND_RESOURCES.length, workers, warmSamples: demandWarm, inThread, sharded: times, pairsPerWorker: sharded.pairsPerWorker };
    } finally {
      await sharded.close();
    }
  }

  let accuracy: TargetRow[] | undefined;
  if (opts.traces !== undefined) {
    progress(`accuracy on ${opts.traces}`);
    const report = runBacktest(readTraces(opts.traces), DEFAULT_MODELS, 'auto');
    accuracy = targetTable(report, 'engine');
  }
  return {
    model,
    ewma,
    selected,
    ewmaMedianUs: ewma.medianUs,
    selectedMedianUs: selected.medianUs,
    ratio: selected.medianUs / ewma.medianUs,
    meanRatio: selected.meanUs / ewma.meanUs,
    pairs,
    warmSamples,
    timedSamples,
    pairsPerTickMs: selectedTick.tickMs,
    startTickMs: selectedTick.startTickMs,
    worstTickMs: selectedTick.worstTickMs,
    ewmaPairsPerTickMs: ewmaTick.tickMs,
    tickRatio: selectedTick.tickMs / ewmaTick.tickMs,
    // the timed calls' mean holds the pool's refits shared by timedPairs pairs: taken out, added back once a tick
    steadyPairsPerTickMs: (pairs * Math.max(0, selected.meanUs - (1000 * selected.poolRefitMsPerTick) / timedPairs)) / 1000 + selected.poolRefitMsPerTick,
    poolRefitMsPerTick: selected.poolRefitMsPerTick,
    heapPerPairKb: selectedTick.heapPerPairKb,
    steadyHeapPerPairKb: selected.heapPerPairKb,
    ...(old ? { old } : {}),
    ...(demandTicks ? { demand: demandTicks } : {}),
    others,
    ...(accuracy ? { accuracy } : {}),
    seconds: (performance.now() - start) / 1000,
  };
}

/** The report as text. */
export function renderForecastBench(r: ForecastBenchResult): string {
  const us = (x: number): string => `${x.toFixed(2)} us`;
  const lines = [
    `Forecast cost: one pair = update + forecasts at 5 s, 60 s and the peak over 60 s (1 s tick)`,
    `  ewma:      median ${us(r.ewma.medianUs)}, mean ${us(r.ewma.meanUs)}, p99 ${us(r.ewma.p99Us)}`,
    `  ${r.model}:    median ${us(r.selected.medianUs)}, mean ${us(r.selected.meanUs)} (refits included), p99 ${us(r.selected.p99Us)}, max ${(r.selected.maxUs / 1000).toFixed(1)} ms`,
    `  ratio to ewma: median ${r.ratio.toFixed(1)}x, mean ${r.meanRatio.toFixed(1)}x`,
    `  ${r.pairs} pairs in one tick: ${r.pairsPerTickMs.toFixed(0)} ms (ewma ${r.ewmaPairsPerTickMs.toFixed(1)} ms, ${r.tickRatio.toFixed(1)}x) after ${r.warmSamples} samples each; ` +
      `slowest tick ${r.worstTickMs.toFixed(0)} ms (the first ${START_TICKS}, where the step is learnt and the targets set up: ${r.startTickMs.toFixed(0)} ms); ` +
      `steady state from the timed pairs' calls: ${r.steadyPairsPerTickMs.toFixed(0)} ms (the pooled learners' refits ${r.poolRefitMsPerTick.toFixed(1)} ms of it)`,
    ...(r.old ? [`  old pairs: ${r.old.pairs} warmed ${r.old.warmSamples} samples each: median tick ${r.old.tickMs.toFixed(0)} ms, slowest timed tick ${r.old.worstTickMs.toFixed(0)} ms; ` +
      `${r.old.perPairUs.toFixed(1)} us a pair, so ${r.pairs} old pairs about ${r.old.scaledTickMs.toFixed(0)} ms a tick scaled linearly (more for more pairs out of the caches, and with a full collection's pause)`] : []),
    ...(r.demand ? [`  the agent's demand tick, ${r.demand.workloads} workloads x 5 resources (${r.demand.pairs} pairs, engine-peak, peaks over 5 s and 60 s) after ${r.demand.warmSamples} samples each: ` +
      `in this thread median ${r.demand.inThread.medianMs.toFixed(0)} ms (slowest ${r.demand.inThread.slowestMs.toFixed(0)}, in the warm-up ${r.demand.inThread.slowestWarmMs.toFixed(0)}); ` +
      `over ${r.demand.workers} worker threads (pairs ${r.demand.pairsPerWorker.join(' + ')}) median ${r.demand.sharded.medianMs.toFixed(0)} ms (slowest ${r.demand.sharded.slowestMs.toFixed(0)}, in the warm-up ${r.demand.sharded.slowestWarmMs.toFixed(0)}); ` +
      `${(r.demand.inThread.medianMs / r.demand.sharded.medianMs).toFixed(2)}x faster`] : []),
    `  memory per pair: about ${r.heapPerPairKb.toFixed(0)} KB after ${r.warmSamples} samples, ${r.steadyHeapPerPairKb.toFixed(0)} KB once its learners hold all their rows (timed pairs, ${r.timedSamples} samples)`,
    ...r.others.map((o) => `  ${o.model}: median ${us(o.cost.medianUs)} (${o.ratio.toFixed(1)}x ewma), mean ${us(o.cost.meanUs)}, p99 ${us(o.cost.p99Us)}; ` +
      `about ${o.steadyHeapPerPairKb.toFixed(0)} KB a pair after ${r.timedSamples} samples`),
  ];
  if (r.accuracy) {
    lines.push('', 'Forecast accuracy: engine vs best reference baseline (p90 pinball loss / series mean; bar: ratio <= 0.8, under p90 7..13%)');
    for (const a of r.accuracy) {
      lines.push(`  ${a.group.padEnd(28)} ${a.target.name.padEnd(8)} best ${a.bestId.padEnd(10)} ${a.bestNPL90.toFixed(4)}  ours ${a.nPL90.toFixed(4)}  ratio ${a.ratio.toFixed(3)}${a.lossMet ? '' : ' (short)'}  under ${(a.under90 * 100).toFixed(1)}%${a.underMet ? '' : ' (off)'} (calibrated reads ${(a.calibratedRange[0] * 100).toFixed(1)}..${(a.calibratedRange[1] * 100).toFixed(1)}%)  hindsight constant ${a.hindsightNPL90.toFixed(4)}`);
    }
  }
  lines.push(`  (${r.seconds.toFixed(0)} s)`);
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const env = (name: string): number | undefined => {
    const v = Number(process.env[name]);
    return Number.isFinite(v) && v > 0 ? v : undefined;
  };
  const traces = process.argv[2] ?? resolve(process.cwd(), '../shared/traces');
  const r = await benchForecast({
    pairs: env('HR_BENCH_FORECAST_PAIRS'),
    warmSamples: env('HR_BENCH_FORECAST_WARM'),
    ticks: env('HR_BENCH_FORECAST_TICKS'),
    timedPairs: env('HR_BENCH_FORECAST_TIMED'),
    oldPairs: Number(process.env.HR_BENCH_FORECAST_OLD_PAIRS) === 0 && process.env.HR_BENCH_FORECAST_OLD_PAIRS?.trim() ? 0 : env('HR_BENCH_FORECAST_OLD_PAIRS'),
    oldWarmSamples: env('HR_BENCH_FORECAST_OLD_WARM'),
    demandWorkloads: Number(process.env.HR_BENCH_DEMAND_WORKLOADS) === 0 && process.env.HR_BENCH_DEMAND_WORKLOADS?.trim() ? 0 : env('HR_BENCH_DEMAND_WORKLOADS'),
    demandWorkers: env('HR_BENCH_DEMAND_WORKERS'),
    demandWarmSamples: env('HR_BENCH_DEMAND_WARM'),
    traces: existsSync(traces) ? traces : undefined,
    progress: (m) => process.stderr.write(`bench: ${m}\n`),
  });
  process.stdout.write(`${renderForecastBench(r)}\n`);
}
