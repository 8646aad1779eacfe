// The Prometheus page at thousands of workloads: what the agent's writer (exporters/prometheus-text.ts)
// costs against the OpenTelemetry exporter's own serializer, on the same collection of the same
// synthetic report, in the same run; and what gzip makes of the page. Both pages are compared
// byte for byte first: a writer that is fast but wrong is an error, not a figure. The same for
// the OTLP push's JSON body (exporters/otlp-json.ts against otlp-transformer's serializer).
import { gzipSync } from 'node:zlib';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { JsonMetricsSerializer } from '@opentelemetry/otlp-transformer';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { DemandForecast, DemandResource } from '../../agent/predict/demand.js';
import type { TickReport, WorkloadReport } from '../../agent/report.js';
import { ReportMeter } from '../../exporters/agent-meter.js';
import { otlpMetricsJson } from '../../exporters/otlp-json.js';
import { prometheusText } from '../../exporters/prometheus-text.js';
import { fmt, fmtX, mega, median, ratio, table } from './stats.js';

export interface ScrapeBenchResult {
  workloads: number;
  rounds: number;
  pageBytes: number;
  gzipBytes: number;
  /** ms, medians over the rounds */
  collectMs: number;
  exporterMs: number;
  oursMs: number;
  gzipMs: number;
  /** the exporter's serializer's time over ours (the page made a buffer, as a response sends it) */
  speedup: number;
  /** the OTLP push's JSON body of the same collection: its size, and ms (medians) the library's serializer and ours take */
  otlp: { bodyBytes: number; exporterMs: number; oursMs: number; speedup: number };
}

const RESOURCES: DemandResource[] = ['cpu_cores', 'memory_bytes', 'io_bytes_per_s', 'io_ops_per_s', 'net_bytes_per_s'];

/** A report as the running agent's at `workloads` cgroups, each forecast for five resources at 5 s and 60 s. */
function syntheticReport(workloads: number, tick: number): TickReport {
  const demand = (resource: DemandResource, i: number): DemandForecast => ({
    resource, model: 'engine-peak', windowsOf: 'peak', value: 0.4 + i / 1e4, limit: 2, limitSource: 'cgroup', ceiling: 2,
    windows: [5_000, 60_000].map((horizonMs, w) => ({ horizonMs, p50: 0.5 + w / 10 + i / 1e5, p90: 0.9 + i / 1e5, p99: 1.3 + i / 1e5, pContention: 0.01 * w })),
    timeToSaturationMs: i % 7 === 0 ? 30_000 : null, confidence: 0.8,
  });
  const out: WorkloadReport[] = [];
  for (let i = 0; i < workloads; i++) {
    const path = `/system.slice/headroom-bench-${String(i).padStart(5, '0')}.service`;
    const slots = Array.from({ length: 32 }, (_, s) => (s < 14 ? (i + tick) * (s + 1) : 0));
    out.push({
      workload: { id: `v1-cpu:${path}`, path, hierarchy: 'v1-cpu', cpuDir: `/sys/fs/cgroup/cpu${path}` },
      cpu: { seconds: 12.5 + tick + i / 1000, cores: 0.5 },
      runq: { slots, count: slots.reduce((a, b) => a + b, 0), sumSeconds: 0.25 + tick / 100, waitPerSecond: 0, waitsPerSecond: 0, p50Ms: 0.003, p99Ms: 0.02 },
      switches: { voluntary: 100 + tick * i, involuntary: 7 + tick, perSecond: 10 },
      memory: { minorFaults: 5 * tick, majorFaults: 1, minorPerSecond: 0, majorPerSecond: 0, reclaimStalls: 0, reclaimSeconds: 0, reclaimedPages: 0, reclaimMsPerSecond: 0, oomKills: 0, oomKillsPerSecond: 0 },
      net: { txBytes: 1000 * tick, rxBytes: 2000 * tick, retransmits: 0, opened: 1, closed: 0, txBytesPerSecond: 0, rxBytesPerSecond: 0, retransmitsPerSecond: 0 },
      usage: { memoryBytes: 1e8 + i, memoryFileBytes: 1e6, memoryLimitBytes: 1e9, cpuLimitCores: 2, memoryLimitSource: 'cgroup', cpuLimitSource: 'cgroup', memoryCeilingBytes: 1e9, cpuCeilingCores: 2 },
      demand: Object.fromEntries(RESOURCES.map((r) => [r, demand(r, i)])),
    });
  }
  return {
    atMs: 1_700_000_000_000 + tick * 1000, intervalMs: 1000, mode: 'recommend', workloads: out, decisions: [], events: [], runs: [], overheadChanges: [],
    health: { ticks: tick, eventsRead: tick, ringDrops: 0, statsDrops: 0, missedRuns: 0, lastTickSeconds: 0.4, demandWorkerLosses: 0, probes: { sched: { eventsRead: tick, ringDrops: 0, statsDrops: 0, missedRuns: 0, variant: 'full' } }, overhead: null },
  };
}

function timed<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const out = fn();
  return [out, performance.now() - t0];
}

/** a() and b(), a first in even rounds and b first in odd ones; their results in that order. */
function inTurn<A, B>(round: number, a: () => A, b: () => B): [A, B] {
  if (round % 2 === 0) {
    const x = a();
    return [x, b()];
  }
  const y = b();
  return [a(), y];
}

export async function benchScrape(opts: { workloads: number; rounds: number; progress: (m: string) => void }): Promise<ScrapeBenchResult> {
  let exporter!: PrometheusExporter;
  const meter = new ReportMeter((producer) => (exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, metricProducers: [producer] })));
  const serializer = new PrometheusSerializer(undefined, false, undefined, false, true);
  const collect: number[] = [];
  const theirs: number[] = [];
  const ours: number[] = [];
  const gzip: number[] = [];
  const otlpTheirs: number[] = [];
  const otlpOurs: number[] = [];
  let otlpBytes = 0;
  let pageBytes = 0;
  let gzipBytes = 0;
  try {
    for (let round = 0; round <= opts.rounds; round++) {
      meter.update(syntheticReport(opts.workloads, round + 1));
      const t0 = performance.now();
      const { resourceMetrics } = await exporter.collect();
      collect.push(performance.now() - t0);
      // each pair run alternately first (inTurn), so that neither always meets the other's garbage
      const [[page, oursMs], [reference, theirMs]] = inTurn(round,
        () => timed(() => prometheusText(resourceMetrics as ResourceMetrics)),
        // (as the exporter answered: the page one string, encoded when the response is sent)
        () => timed(() => {
          const text = serializer.serialize(resourceMetrics);
          Buffer.from(text, 'utf8');
          return text;
        }));
      ours.push(oursMs);
      theirs.push(theirMs);
      const whole = Buffer.concat(page);
      if (whole.toString('utf8') !== reference) throw new Error(`round ${round}: the pages differ (${whole.length} bytes against the exporter's ${Buffer.byteLength(reference)})`);
      pageBytes = whole.length;
      const [zipped, zipMs] = timed(() => gzipSync(whole, { level: 1 }));
      gzip.push(zipMs);
      gzipBytes = zipped.length;
      // the OTLP body, each serializer as the exporter calls it (bytes out)
      const [[oursBody, oursBodyMs], [theirBody, theirBodyMs]] = inTurn(round,
        () => timed(() => otlpMetricsJson.serializeRequest(resourceMetrics as ResourceMetrics)!),
        () => timed(() => JsonMetricsSerializer.serializeRequest(resourceMetrics as ResourceMetrics)!));
      if (!Buffer.from(oursBody).equals(Buffer.from(theirBody))) throw new Error(`round ${round}: the OTLP bodies differ (${oursBody.length} bytes against the library's ${theirBody.length})`);
      otlpOurs.push(oursBodyMs);
      otlpTheirs.push(theirBodyMs);
      otlpBytes = oursBody.length;
      opts.progress(`scrape round ${round}/${opts.rounds}: ${mega(pageBytes, 1)} MB, exporter ${fmt(theirs.at(-1)!, 0)} ms, ours ${fmt(ours.at(-1)!, 0)} ms${round === 0 ? ' (warm-up, not counted)' : ''}`);
    }
    // the first round warms both writers up (code compiled, the heap grown)
    for (const xs of [collect, theirs, ours, gzip, otlpTheirs, otlpOurs]) xs.shift();
  } finally {
    await meter.shutdown();
  }
  const exporterMs = median(theirs);
  const oursMs = median(ours);
  return {
    workloads: opts.workloads, rounds: opts.rounds, pageBytes, gzipBytes,
    collectMs: median(collect), exporterMs, oursMs, gzipMs: median(gzip), speedup: ratio(exporterMs, oursMs),
    otlp: { bodyBytes: otlpBytes, exporterMs: median(otlpTheirs), oursMs: median(otlpOurs), speedup: ratio(median(otlpTheirs), median(otlpOurs)) },
  };
}

export function printScrape(r: ScrapeBenchResult): string {
  return [
    `Prometheus page, ${r.workloads} synthetic workloads (five demand resources each), median of ${r.rounds} rounds:`,
    table([
      ['step', 'ms', 'vs exporter'],
      ['collect (the report as metrics)', fmt(r.collectMs, 0), ''],
      ["exporter's serializer (one string, encoded)", fmt(r.exporterMs, 0), '1.00x'],
      ['prometheus-text.ts (64 KB buffers)', fmt(r.oursMs, 0), fmtX(r.speedup)],
      ['gzip level 1 (libuv threads when served)', fmt(r.gzipMs, 0), ''],
    ]),
    `page ${mega(r.pageBytes, 1)} MB, gzipped ${mega(r.gzipBytes, 2)} MB (${fmt(r.pageBytes / Math.max(1, r.gzipBytes), 0)} to 1); the two pages equal byte for byte`,
    `OTLP push's JSON body of the same collection (${mega(r.otlp.bodyBytes, 1)} MB; the two bodies equal byte for byte):`,
    table([
      ['step', 'ms', 'vs library'],
      ["otlp-transformer's JSON serializer", fmt(r.otlp.exporterMs, 0), '1.00x'],
      ['otlp-json.ts (one buffer)', fmt(r.otlp.oursMs, 0), fmtX(r.otlp.speedup)],
    ]),
  ].join('\n');
}
