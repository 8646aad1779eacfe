// `make bench`: ring drain, live ingestion, tracing overhead, the agent's idle footprint and its
// footprint beside many cgroups, forecasting, and the Prometheus page at thousands of workloads.
// Every figure that could pass or fail is a ratio against a baseline measured in the same run
// (wall-clock numbers differ from host to host); a report on stdout, build/bench.json for machines.
//
// Knobs (environment): HR_BENCH_ROUNDS (default 3), HR_BENCH_DRAIN_ROUNDS (7),
// HR_BENCH_RECORDS (400000, fits the 16 MiB ring), HR_BENCH_LIVE_SECONDS (1),
// HR_BENCH_DRAIN_MS (25, the agent's drain period), HR_BENCH_STRESS_SECONDS (5),
// HR_BENCH_IDLE_SECONDS (10), HR_BENCH_CGROUPS (1000), HR_BENCH_MANY_SECONDS (90: the agent's
// window beside them, and idle in that section), HR_BENCH_MANY_STARTS (3: agent starts beside
// them, the CPU verdict on their median), HR_BENCH_MANY_CPU_SECONDS (45: each start's CPU over
// its first so many seconds), HR_BENCH_NET_SECONDS (3),
// HR_BENCH_FORECAST_PAIRS (10000), HR_BENCH_FORECAST_OLD_PAIRS (1000; 0 skips the old pairs),
// HR_BENCH_FORECAST_OLD_WARM (1300), HR_BENCH_DEMAND_WORKLOADS (2000 workloads x 5 resources
// through the agent's demand forecasts, in this thread and over worker threads; 0 skips them),
// HR_BENCH_DEMAND_WORKERS (2), HR_BENCH_DEMAND_WARM (the forecast pairs' 256; 1300 fills the
// learners, about 17 minutes), HR_BENCH_BUSY_SECONDS (45: the agent beside the many cgroups
// with all of them forecast, its tick read that long, once in its thread and once over
// HR_BENCH_DEMAND_WORKERS; 0 skips it), HR_BENCH_SCRAPE_WORKLOADS (2000: the Prometheus page
// of so many synthetic workloads, the agent's writer against the exporter's serializer),
// HR_BENCH_ONLY (comma list of: drain, live, overhead, footprint, forecast, blockio, sock, many,
// scrape),
// HR_BENCH_AGENT (another agent command line for overhead and footprint), HR_BENCH_STRESS_PIN=0
// (stress-ng not pinned to one CPU: much noisier on a small VM).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { resolve } from 'node:path';
import { projectRoot } from '../helpers/proc.js';
import { installCleanup, stopAll } from './children.js';
import { benchDrain, benchLive, floodObject, ringdrainBin, type DrainResult, type LiveResult } from './ring.js';
import { benchFootprint, benchOverhead, daemonCommand, headroomBin, type FootprintResult, type OverheadResult } from './overhead.js';
import { fmt, fmtX, mega, progress, summarize, table, type Summary } from './stats.js';
import { manyCgroups } from './cgroups.js';
import { TEST_ROOT_NAME } from '../helpers/cgroups.js';
import { benchSock, formatSock } from './sock.js';
import { benchBlockio, printBlockio } from './blockio.js';
import { benchForecast, renderForecastBench } from './forecast.js';
import { busyTick, type BusyTickRun } from './busy-tick.js';
import { benchScrape, printScrape, type ScrapeBenchResult } from './scrape.js';

const num = (name: string, dflt: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : dflt;
};

/** As num(), but an explicit 0 turns the part off (0). */
const numOrOff = (name: string, dflt: number): number => (Number(process.env[name]) === 0 && process.env[name]?.trim() ? 0 : num(name, dflt));

const cfg = {
  rounds: num('HR_BENCH_ROUNDS', 3),
  drainRounds: num('HR_BENCH_DRAIN_ROUNDS', 7),
  records: num('HR_BENCH_RECORDS', 400_000),
  liveSeconds: num('HR_BENCH_LIVE_SECONDS', 1),
  drainMs: num('HR_BENCH_DRAIN_MS', 25),
  stressSeconds: num('HR_BENCH_STRESS_SECONDS', 5),
  idleSeconds: num('HR_BENCH_IDLE_SECONDS', 10),
  manyCgroups: num('HR_BENCH_CGROUPS', 1000),
  // (its heap grows for minutes beside them: 10 s read a peak of 155-170 MB where 100 s read 254
  // with V8's default young generation)
  manySeconds: num('HR_BENCH_MANY_SECONDS', 90),
  // The CPU beside them from this many agent starts, the verdict on their median: one window's
  // figure varies 1.7-2.4% of one CPU between starts of the same build (the goal is 2%). Each
  // start's CPU is over its first manyCpuSeconds (the first start's window runs on to
  // manySeconds for its peak RSS).
  manyStarts: Math.max(1, Math.round(num('HR_BENCH_MANY_STARTS', 3))),
  manyCpuSeconds: num('HR_BENCH_MANY_CPU_SECONDS', 45),
  netSeconds: num('HR_BENCH_NET_SECONDS', 3),
  forecastPairs: num('HR_BENCH_FORECAST_PAIRS', 10_000),
  forecastOldPairs: numOrOff('HR_BENCH_FORECAST_OLD_PAIRS', 1000),
  forecastOldWarm: num('HR_BENCH_FORECAST_OLD_WARM', 1300),
  demandWorkloads: numOrOff('HR_BENCH_DEMAND_WORKLOADS', 2000),
  // (a policy takes 1 to 5 demand workers, a whole number: both sections use the same count)
  demandWorkers: Math.min(5, Math.max(1, Math.round(num('HR_BENCH_DEMAND_WORKERS', 2)))),
  demandWarm: process.env.HR_BENCH_DEMAND_WARM ? num('HR_BENCH_DEMAND_WARM', 256) : undefined,
  busySeconds: numOrOff('HR_BENCH_BUSY_SECONDS', 45),
  scrapeWorkloads: num('HR_BENCH_SCRAPE_WORKLOADS', 2000),
  only: new Set((process.env.HR_BENCH_ONLY ?? 'drain,live,overhead,footprint,forecast,blockio,sock,many,scrape').split(',').map((s) => s.trim())),
};

interface Report {
  host: { kernel: string; cpus: number; node: string; date: string };
  config: Omit<typeof cfg, 'only'> & { only: string[] };
  drain?: DrainResult;
  live?: LiveResult;
  overhead?: OverheadResult;
  footprint?: FootprintResult;
  many?: {
    cgroups: number; workersCpuPercent: number; idle: FootprintResult; footprint: FootprintResult;
    /** the CPU % of one CPU of each agent start beside them over its first cpuStartSeconds (the first start is footprint's), summarised */
    cpuStarts: Summary; cpuStartSeconds: number; busy: BusyTickRun[];
  };
  sock?: Awaited<ReturnType<typeof benchSock>>;
  blockio?: Awaited<ReturnType<typeof benchBlockio>>;
  forecast?: Awaited<ReturnType<typeof benchForecast>>;
  scrape?: ScrapeBenchResult;
  errors: string[];
  seconds: number;
}

function preconditions(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (loads BPF programs)');
  if (!existsSync('/sys/kernel/btf/vmlinux')) missing.push('kernel BTF');
  if (!existsSync(ringdrainBin)) missing.push(`${ringdrainBin} (make bpf)`);
  if (!existsSync(floodObject)) missing.push(`${floodObject} (make bpf)`);
  return missing;
}

async function section<T>(name: string, errors: string[], fn: () => Promise<T>): Promise<T | undefined> {
  if (!cfg.only.has(name)) return undefined;
  try {
    return await fn();
  } catch (err) {
    const msg = `${name}: ${(err as Error).stack ?? String(err)}`;
    errors.push(msg);
    progress(`${name} failed: ${(err as Error).message}`);
    return undefined;
  } finally {
    await stopAll(); // nothing a section started outlives it
  }
}

function printDrain(d: DrainResult): string {
  const rows = [
    ['reader', 'M records/s (median)', 'min', 'max', 'vs C'],
    ['C ring_buffer__consume, counting callback', mega(d.c.median), mega(d.c.min), mega(d.c.max), '1.00x'],
    ['JS RingReader, counting callback', mega(d.js.count.median), mega(d.js.count.min), mega(d.js.count.max), fmtX(d.ratio.count)],
    ['JS RingReader, empty callback', mega(d.js.noop.median), mega(d.js.noop.min), mega(d.js.noop.max), fmtX(d.ratio.noop)],
    ['JS RingReader, reads 2 fields', mega(d.js.decode.median), mega(d.js.decode.min), mega(d.js.decode.max), fmtX(d.ratio.decode)],
  ];
  return [
    `Ring drain: pre-filled ${d.ringBytes >> 20} MiB ring, producer stopped, ${d.records} records of 32 bytes, ${d.rounds} rounds each, interleaved` +
      (d.pinned ? '\n(readers on CPU 0; the ring filled by the same getppid() loop on CPU 1 for both)' : ''),
    table(rows),
    `goal: JS/C >= 1.00x  ->  ${d.ratio.count >= 1 ? 'met' : 'NOT met'} (counting callbacks on both sides: ${fmtX(d.ratio.count)})`,
    `drops while filling: C ${d.drops.c}, JS ${d.drops.js}${d.notes.length ? `\nnotes: ${[...new Set(d.notes)].join('; ')}` : ''}`,
  ].join('\n');
}

function printLive(l: LiveResult): string {
  const rows = [['producer traced by ringflood', 'producer M calls/s', 'vs untraced', 'delivered M ev/s', 'drops', 'consumer CPU']];
  for (const r of l.rows) {
    const traced = r.config.consumer !== 'untraced' && r.config.consumer !== 'filtered';
    rows.push([
      r.config.name, mega(r.producerRate), fmtX(r.vsUntraced),
      traced ? mega(r.deliveredRate) : '-', traced ? String(Math.round(r.drops)) : '-',
      `${fmt(r.consumerCpu * 100, 0)}%`,
    ]);
  }
  const get = (name: string) => l.rows.find((r) => r.config.name === name);
  const js0 = get('JS timer, no-wakeup'), busy1 = get('C busy, default'), poll1 = get('C poll, default');
  const lines = [
    `Live ingestion: a tight getppid() loop for ${l.seconds}s, one record per call, ${l.rounds} rounds (medians; ratios per round)`,
    table(rows),
    ...l.rows.map((r) => `  ${r.config.name}: ${r.config.describe}`),
  ];
  if (js0 && busy1) lines.push(`agent's way (no-wakeup, ${l.drainIntervalMs} ms timer) vs busy C consumer with default flags: producer ${fmtX(js0.producerRate / busy1.producerRate)}, delivered ${fmtX(js0.deliveredRate / busy1.deliveredRate)}`);
  if (js0 && poll1) lines.push(`agent's way vs ring_buffer__poll with default flags: producer ${fmtX(js0.producerRate / poll1.producerRate)}, delivered ${fmtX(js0.deliveredRate / poll1.deliveredRate)}`);
  return lines.join('\n');
}

function printOverhead(o: OverheadResult): string {
  const rows = [
    ['tracer', 'bogo ops/s (median)', 'min', 'max', 'vs none (median of per-round ratios)'],
    ...(['none', 'agent', 'runqlat'] as const).map((t) => [
      t === 'agent' ? o.agent : t === 'runqlat' ? 'libbpf-tools runqlat' : 'no tracing',
      fmt(o.opsPerSec[t].median, 0), fmt(o.opsPerSec[t].min, 0), fmt(o.opsPerSec[t].max, 0), fmtX(o.ratio[t].median, 3),
    ]),
  ];
  const verdict = Number.isFinite(o.ratio.agent.median) && Number.isFinite(o.ratio.runqlat.median)
    ? (o.ratio.agent.median >= o.ratio.runqlat.median ? 'met' : 'NOT met')
    : 'n/a';
  return [
    `Overhead: stress-ng --switch 1 --timeout ${o.stressSeconds}s --metrics-brief, ${o.rounds} rounds interleaved` +
      (o.stressCpu !== null ? `, stress-ng pinned to CPU ${o.stressCpu} (tracers free)` : ''),
    table(rows),
    `per-round ratios: agent ${o.ratio.agent.samples.map((x) => fmt(x, 3)).join(', ')}; runqlat ${o.ratio.runqlat.samples.map((x) => fmt(x, 3)).join(', ')}`,
    `goal: the agent's slowdown no worse than runqlat's  ->  ${verdict}`,
    ...o.errors.map((e) => `error: ${e}`),
  ].join('\n');
}

function printMany(m: NonNullable<Report['many']>, idle: FootprintResult | undefined): string {
  const f = m.footprint, cpu = m.cpuStarts;
  const cpuOk = cpu.median < 2, rssOk = f.peakRssMb < 150;
  const starts = cpu.samples.length;
  // a median under the goal with a start over it (or over with one under) is said: that is noise
  const straddles = cpu.min < 2 && cpu.max >= 2;
  return [
    `${f.agent} beside ${m.cgroups} cgroups under headroom-test, each with a worker that wakes every second (all of them ${fmt(m.workersCpuPercent, 1)}% of one CPU), ${fmt(f.windowSeconds, 1)} s window${idle ? ` (the idle host's ${fmt(idle.windowSeconds, 1)} s)` : ''}`,
    table([
      ['', 'RSS MB (median)', 'peak RSS', 'CPU % of one CPU', 'start to running'],
      ...(idle ? [['idle host (same run)', fmt(idle.rssMb.median, 1), fmt(idle.peakRssMb, 1), fmt(idle.cpuPercent, 2), `${idle.startupMs} ms`]] : []),
      [`${m.cgroups} cgroups`, fmt(f.rssMb.median, 1), fmt(f.peakRssMb, 1), fmt(f.cpuPercent, 2), `${f.startupMs} ms`],
      ...(idle ? [['ratio', fmtX(f.rssMb.median / idle.rssMb.median), fmtX(f.peakRssMb / idle.peakRssMb), fmtX(f.cpuPercent / idle.cpuPercent), '']] : []),
    ]),
    starts > 1
      ? `CPU % of one CPU beside them over each agent start's first ${fmt(m.cpuStartSeconds, 0)} s, ${starts} starts (the first is the table's, whose figure there is over its whole window): ${cpu.samples.map((x) => fmt(x, 2)).join(', ')}; median ${fmt(cpu.median, 2)}, range ${fmt(cpu.min, 2)}-${fmt(cpu.max, 2)}`
      : `CPU beside them from one agent start's first ${fmt(m.cpuStartSeconds, 0)} s (HR_BENCH_MANY_STARTS 1): one window's figure varies by up to 0.7% of one CPU between starts`,
    `goal: under 2% of one CPU and 150 MB RSS  ->  CPU ${cpuOk ? 'met' : 'NOT met'} (${starts > 1 ? `median of ${starts} starts` : 'one start'}${straddles ? ', the starts on both sides of 2%' : ''}), RSS ${rssOk ? 'met' : 'NOT met'}`,
    ...(m.busy.length ? [printBusy(m.busy, m.cgroups)] : []),
  ].join('\n');
}

function printBusy(runs: BusyTickRun[], cgroups: number): string {
  const base = runs.find((r) => r.workers === 0);
  return [
    `\nThe same ${cgroups} workloads, their workers still running, all selected by a policy (forecast.demand_workloads ${cgroups}: the engine for each); the tick's own duration (headroom_tick_duration_seconds) read every ${runs[0]!.everySeconds} s`,
    table([
      ['demand forecasts in', 'pairs', 'reads', 'tick ms (median)', 'p90', 'slowest', 'speed-up (median)', 'RSS MB'],
      ...runs.map((r) => [
        r.workers === 0 ? "the agent's thread" : `${r.workers} worker threads`, String(r.pairs), String(r.ticksMs.length), fmt(r.medianMs, 0), fmt(r.p90Ms, 0), fmt(r.maxMs, 0),
        base ? fmtX(base.medianMs / r.medianMs) : '', fmt(r.rssMb, 0),
      ]),
    ]),
    `(young pairs: the learners fill after about 1,300 ticks; a tick is 1 s)`,
  ].join('\n');
}

function printFootprint(f: FootprintResult): string {
  return [
    `Agent idle footprint: ${f.agent}, idle host, ${fmt(f.windowSeconds, 1)} s window`,
    table([
      ['RSS MB (median)', 'RSS min', 'RSS max', 'peak RSS (VmHWM)', 'CPU % of one CPU', 'threads', 'start to 1st report'],
      [fmt(f.rssMb.median, 1), fmt(f.rssMb.min, 1), fmt(f.rssMb.max, 1), fmt(f.peakRssMb, 1), fmt(f.cpuPercent, 2), String(f.threads), `${f.startupMs} ms`],
    ]),
  ].join('\n');
}

async function main(): Promise<number> {
  installCleanup();
  const t0 = Date.now();
  const missing = preconditions();
  if (missing.length) {
    process.stderr.write(`bench: this host lacks: ${missing.join(', ')}\n`);
    return 1;
  }
  const errors: string[] = [];
  const report: Report = {
    host: { kernel: release(), cpus: cpus().length, node: process.version, date: new Date().toISOString() },
    config: { ...cfg, only: [...cfg.only] },
    errors,
    seconds: 0,
  };
  report.drain = await section('drain', errors, () => benchDrain(cfg.records, cfg.drainRounds));
  report.live = await section('live', errors, () => benchLive(cfg.liveSeconds, cfg.rounds, cfg.drainMs));
  if (cfg.only.has('overhead') || cfg.only.has('footprint')) {
    if (!process.env.HR_BENCH_AGENT && !existsSync(resolve(projectRoot, 'dist/agent/cli/main.js'))) errors.push(`the agent is not built (${headroomBin}): overhead and footprint skipped`);
  }
  report.overhead = await section('overhead', errors, () => benchOverhead(cfg.stressSeconds, cfg.rounds));
  report.footprint = await section('footprint', errors, () => benchFootprint(cfg.idleSeconds));
  report.forecast = await section('forecast', errors, () => benchForecast({
    pairs: cfg.forecastPairs, oldPairs: cfg.forecastOldPairs, oldWarmSamples: cfg.forecastOldWarm, demandWorkloads: cfg.demandWorkloads, demandWorkers: cfg.demandWorkers, demandWarmSamples: cfg.demandWarm, progress,
    ...(existsSync(resolve(projectRoot, '../shared/traces')) ? { traces: resolve(projectRoot, '../shared/traces') } : {}),
  }));
  report.blockio = await section('blockio', errors, () => benchBlockio({ rounds: cfg.rounds }));
  report.sock = await section('sock', errors, () => benchSock({ seconds: cfg.netSeconds, rounds: cfg.rounds }));
  report.many = await section('many', errors, async () => {
    // The daemon, idle first, then beside the cgroups (top --json would also print ~1 MB a second)
    // (the same window both times: its peak RSS grows with the window)
    const idle = await benchFootprint(cfg.manySeconds, daemonCommand());
    const many = await manyCgroups(cfg.manyCgroups);
    try {
      const cpuSeconds = Math.min(cfg.manyCpuSeconds, cfg.manySeconds);
      const footprint = await benchFootprint(cfg.manySeconds, daemonCommand(), 5, `beside ${many.count} cgroups`, cpuSeconds);
      const cpu = [footprint.cpuPercentAt ?? footprint.cpuPercent];
      for (let i = 2; i <= cfg.manyStarts; i++) {
        const again = await benchFootprint(cpuSeconds, daemonCommand(), 5, `beside ${many.count} cgroups, start ${i} of ${cfg.manyStarts}`);
        cpu.push(again.cpuPercent);
      }
      progress(`the agent's CPU beside ${many.count} cgroups, ${cpu.length} start${cpu.length === 1 ? '' : 's'}: ${cpu.map((x) => fmt(x, 2)).join(', ')}% of one CPU`);
      // then every one of them forecast: in the agent's thread, and over the demand workers
      const busy: BusyTickRun[] = [];
      for (const workers of cfg.busySeconds > 0 ? [0, cfg.demandWorkers] : []) {
        // each run on its own: one that fails leaves the footprints and the other run reported
        try {
          const alive = many.running();
          if (alive < many.count) throw new Error(`only ${alive} of the ${many.count} cgroups' workers still run`);
          const run = await busyTick({ match: `/${TEST_ROOT_NAME}/many-*`, workloads: many.count, workers, seconds: cfg.busySeconds });
          const after = many.running();
          if (after < many.count) throw new Error(`${many.count - after} of the cgroups' workers ended during the run`);
          busy.push(run);
        } catch (err) {
          errors.push(`many, busy tick with demand_workers ${workers}: ${(err as Error).stack ?? String(err)}`);
          progress(`busy tick with demand_workers ${workers} failed: ${(err as Error).message}`);
        }
      }
      return { cgroups: many.count, workersCpuPercent: many.workersCpuPercent, idle, footprint, cpuStarts: summarize(cpu), cpuStartSeconds: cpuSeconds, busy };
    } finally {
      await many.release();
    }
  });
  report.scrape = await section('scrape', errors, () => benchScrape({ workloads: cfg.scrapeWorkloads, rounds: cfg.rounds, progress }));
  report.seconds = (Date.now() - t0) / 1000;

  const out: string[] = [`headroom bench: kernel ${report.host.kernel}, ${report.host.cpus} CPUs, Node ${report.host.node}`];
  if (report.drain) out.push(printDrain(report.drain));
  if (report.live) out.push(printLive(report.live));
  if (report.overhead) out.push(printOverhead(report.overhead));
  if (report.footprint) out.push(printFootprint(report.footprint));
  if (report.forecast) out.push(renderForecastBench(report.forecast));
  if (report.blockio) out.push(printBlockio(report.blockio));
  if (report.sock) out.push(formatSock(report.sock));
  if (report.many) out.push(printMany(report.many, report.many.idle));
  if (report.scrape) out.push(printScrape(report.scrape));
  if (errors.length) out.push(`errors:\n${errors.map((e) => `  ${e.split('\n')[0]}`).join('\n')}`);
  out.push(`(${fmt(report.seconds, 0)} s; machine-readable: build/bench.json)`);
  process.stdout.write(`${out.join('\n\n')}\n`);
  mkdirSync(resolve(projectRoot, 'build'), { recursive: true });
  writeFileSync(resolve(projectRoot, 'build/bench.json'), `${JSON.stringify(report, null, 2)}\n`);
  return errors.length ? 1 : 0;
}

main()
  .then(async (code) => {
    await stopAll();
    process.exit(code);
  })
  .catch(async (err) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    await stopAll();
    process.exit(1);
  });
