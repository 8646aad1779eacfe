// Exporters: what a scrape of the Prometheus endpoint shows for synthetic tick reports, the
// decision log, and one scrape by a real Prometheus server.
import test, { type ExecutionContext } from 'ava';
import { ValueType, type Attributes } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { AggregationTemporality, DataPointType, type Histogram, type MetricData, type ResourceMetrics, type ScopeMetrics } from '@opentelemetry/sdk-metrics';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createServer as createHttpServer, request as httpRequest, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { hostname, networkInterfaces, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { shownUrl } from '../../agent/plan/http-url.js';
import type { Decision } from '../../agent/plan/types.js';
import type { AgentHealth, TickReport, WorkloadReport } from '../../agent/report.js';
import type { Workload } from '../../agent/workloads/types.js';
import { PrometheusEndpoint, decisionRecord, formatDecision, log2BoundariesSeconds } from '../../exporters/index.js';
import { metricValue, parseExposition, samplesNamed, samplesOf, type Sample } from '../helpers/prometheus.js';
import { ReportMeter } from '../../exporters/agent-meter.js';
import { MonotoneCounters } from '../../exporters/monotone.js';
import { takesGzip } from '../../exporters/prometheus.js';
import { prometheusText } from '../../exporters/prometheus-text.js';
import { otlpMetricsJson } from '../../exporters/otlp-json.js';
import { OtlpPush } from '../../exporters/otlp.js';
import { OtlpLogPush, type OtlpLogPushOptions } from '../../exporters/otlp-logs.js';
import { badOtlpUrl, otlpChoice, otlpEndpointFromEnv, otlpEnvProblem, otlpLogsEndpoint, otlpOnInEnv } from '../../exporters/otlp-url.js';
import { testIf } from '../helpers/host.js';
import { freePort, sleep, start, waitFor } from '../helpers/proc.js';
import { attributesOf, logRecordsOf, startCollector, type OtlpLogsBody } from '../helpers/otlp-collector.js';

const SLOTS = 32;
const RUNQ_METRIC = 'headroom_workload_runqueue_latency_seconds';

// (dist/test/unit -> the project)
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');

// ---- synthetic reports ----

function workload(path: string, extra: Partial<Workload> = {}): Workload {
  return { id: `v2:${path}`, path, hierarchy: 'v2', cpuDir: `/sys/fs/cgroup${path}`, ...extra };
}

/** slots given sparsely: { slot: count } */
function slots(sparse: Record<number, number>): number[] {
  const out = new Array<number>(SLOTS).fill(0);
  for (const [i, n] of Object.entries(sparse)) out[Number(i)] = n;
  return out;
}

function workloadReport(w: Workload, extra: Partial<WorkloadReport> = {}): WorkloadReport {
  return {
    workload: w,
    cpu: { seconds: 12.5, cores: 0.5 },
    runq: { slots: slots({ 0: 3, 1: 5, 4: 2, 31: 1 }), count: 11, sumSeconds: 0.25, waitPerSecond: 0.05, waitsPerSecond: 4, p50Ms: 0.003, p99Ms: 0.02 },
    switches: { voluntary: 100, involuntary: 7, perSecond: 10 },
    ...extra,
  };
}

const health = (ticks: number): AgentHealth =>
  ({ ticks, eventsRead: 40 * ticks, ringDrops: 2, statsDrops: 1, missedRuns: 3, lastTickSeconds: 0.004, demandWorkerLosses: 1, probes: {}, overhead: null });

function tick(ticks: number, workloads: WorkloadReport[], decisions: Decision[] = []): TickReport {
  return { atMs: 1_700_000_000_000 + ticks * 1000, intervalMs: 1000, mode: 'recommend', workloads, decisions, events: [], runs: [], overheadChanges: [], health: health(ticks) };
}

function decision(w: Workload, action: Decision['action'], cpuCores: number | null): Decision {
  return { id: `d-${action}-${cpuCores}`, atMs: 1_700_000_000_000, rule: 'protect-latency', action, workload: w, resource: 'cpu', cpuCores, reason: 'why not' };
}

// ---- the text exposition ----

function valueOf(t: ExecutionContext, all: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samplesOf(all, name, labels);
  t.true(found.length <= 1, `one sample of ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

// ---- endpoints on free ports ----


async function endpoint(t: ExecutionContext): Promise<{ ep: PrometheusEndpoint; url: string }> {
  const ep = new PrometheusEndpoint({ port: await freePort() });
  t.teardown(() => ep.shutdown());
  const { url } = await ep.start();
  return { ep, url };
}

async function scrape(url: string): Promise<{ text: string; samples: Sample[] }> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  const text = await res.text();
  return { text, samples: parseExposition(text) };
}

/** Resolves to the error code of a TCP connection attempt, or 'connected'. */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((res) => {
    const s = createConnection({ host, port, timeout: 2000 });
    s.once('connect', () => {
      s.destroy();
      res('connected');
    });
    s.once('timeout', () => {
      s.destroy();
      res('timeout');
    });
    s.once('error', (e: NodeJS.ErrnoException) => res(e.code ?? e.message));
  });
}

// ---- tests ----

test('the tests\' page reader (helpers/prometheus.ts): a sample by its exact name and labels, none where the page has none', (t) => {
  const page = [
    '# HELP headroom_ticks_total ticks', '# TYPE headroom_ticks_total counter',
    'headroom_ticks_total_created 1700000000', 'headroom_ticks_total 3',
    'm{a="10",b="x"} 5', 'm{a="1",b="x,y=\\"z\\""} 2', 'h_bucket{le="+Inf"} 7', '',
  ].join('\n');
  t.is(metricValue(page, 'headroom_ticks_total'), 3);
  t.is(metricValue(page, 'm', { a: '1' }), 2);
  t.is(metricValue(page, 'm'), 5, 'the first of several');
  t.is(metricValue(page, 'm', { b: 'x' }), 5, 'an exact value, not a prefix of one');
  t.is(metricValue(page, 'm', { b: 'x,y=\\"z\\"' }), 2, 'label values as written, escapes kept');
  t.is(metricValue(page, 'h_bucket', { le: '+Inf' }), 7);
  t.is(metricValue(page, 'm', { a: '2' }), undefined);
  t.is(metricValue(page, 'headroom_ticks'), undefined);
  t.is(metricValue('m 4', 'm'), 4, 'the first line, no newline after it');
  t.deepEqual(parseExposition(page).map((x) => x.name), ['headroom_ticks_total_created', 'headroom_ticks_total', 'm', 'm', 'h_bucket']);
  t.deepEqual(samplesNamed(page, 'm').map((x) => x.value), [5, 2]);
});

test('log2 boundaries are 2^(i+1) microseconds in seconds, one fewer than the slots', (t) => {
  const b = log2BoundariesSeconds(SLOTS);
  t.is(b.length, SLOTS - 1);
  t.is(b[0], 2e-6);
  t.is(b[9], 1.024e-3);
  t.is(b[30], 2 ** 31 / 1e6);
});

test('a task run\'s expected demand: a series per resource its past runs measured, none for one they did not', async (t) => {
  const { ep, url } = await endpoint(t);
  const w = workload('/headroom-test/job');
  const signature = 'ab'.repeat(32);
  const expected = {
    runs: 2, confidence: 0.6, confidenceOf: { cpuCores: 0.6, netBytesPerSec: 0.6 }, durationMs: { mean: 4000, p90: 4500 }, progress: 0.25,
    peak: { cpuCores: { mean: 1, p90: 1.1 }, netBytesPerSec: { mean: 10, p90: 12 } },
    ahead: [{ horizonMs: 5000, cpuCores: 1.1, memPeakBytes: null, ioBytesPerSec: null, netBytesPerSec: 12 }],
  };
  ep.update(tick(1, [workloadReport(w, { run: { signature, startedAtMs: 0, elapsedMs: 1000, expected } })]));
  const { samples } = await scrape(url);
  const resources = (name: string): string[] => samples.filter((s) => s.name === name).map((s) => s.labels.resource!).sort();
  t.deepEqual(resources('headroom_task_run_expected_demand'), ['cpu_cores', 'net_bytes_per_s']);
  t.deepEqual(resources('headroom_task_run_expected_peak'), ['cpu_cores', 'cpu_cores', 'net_bytes_per_s', 'net_bytes_per_s']);
});

test('the run-queue histogram keeps the kernel buckets: le in seconds, cumulative, +Inf = _count', async (t) => {
  const { ep, url } = await endpoint(t);
  const a = workload('/headroom-test/a');
  ep.update(tick(1, [workloadReport(a)]));
  const { text, samples } = await scrape(url);

  t.regex(text, new RegExp(`^# TYPE ${RUNQ_METRIC} histogram$`, 'm'));
  const buckets = samplesOf(samples, `${RUNQ_METRIC}_bucket`, { workload: a.id });
  t.is(buckets.length, SLOTS, 'one bucket per kernel slot, the last one +Inf');
  t.is(buckets[0].labels.le, '0.000002', 'the first bound is 2 us, rendered in seconds');
  // every finite bound is 2^(i+1) us, in seconds, in order
  t.deepEqual(buckets.slice(0, -1).map((b) => Number(b.labels.le)), log2BoundariesSeconds(SLOTS));
  t.is(buckets.at(-1)!.labels.le, '+Inf');

  const given = workloadReport(a).runq.slots;
  let running = 0;
  buckets.forEach((b, i) => {
    running += given[i];
    t.is(b.value, running, `bucket ${b.labels.le} is cumulative`);
  });
  for (let i = 1; i < buckets.length; i++) t.true(buckets[i].value >= buckets[i - 1].value, 'monotone');
  t.is(buckets[0].value, 3);
  t.is(buckets[1].value, 8);
  t.is(buckets[4].value, 10);
  t.is(buckets[30].value, 10, 'the last bounded bucket leaves out the unbounded slot');

  const count = valueOf(t, samples, `${RUNQ_METRIC}_count`, { workload: a.id });
  t.is(count, 11);
  t.is(buckets.at(-1)!.value, count!, '+Inf equals _count');
  t.is(valueOf(t, samples, `${RUNQ_METRIC}_sum`, { workload: a.id }), 0.25);
});

test('before the first report only target_info is served, naming the service, its version and the host', async (t) => {
  const { url } = await endpoint(t);
  const { text, samples } = await scrape(url);
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  t.is(samplesOf(samples, 'target_info', { service_name: 'headroom', service_version: version, host_name: hostname() }).length, 1);
  t.false(/^headroom_/m.test(text));
  // every line ended, the last too (promtool refused the page: "unexpected end of input stream")
  t.true(text.endsWith('\n'), JSON.stringify(text.slice(-40)));
  const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (promtool.error === undefined) t.is(promtool.status, 0, promtool.stderr);
});

test('OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES name the service and add attributes, as in any OpenTelemetry SDK', async (t) => {
  const port = await freePort();
  const saved = { name: process.env.OTEL_SERVICE_NAME, attrs: process.env.OTEL_RESOURCE_ATTRIBUTES };
  process.env.OTEL_SERVICE_NAME = 'myagent';
  process.env.OTEL_RESOURCE_ATTRIBUTES = 'deployment.environment=prod';
  // (read when the endpoint is made, synchronously: the environment is put back before any other test runs)
  let ep: PrometheusEndpoint;
  try {
    ep = new PrometheusEndpoint({ port });
  } finally {
    for (const [k, v] of [['OTEL_SERVICE_NAME', saved.name], ['OTEL_RESOURCE_ATTRIBUTES', saved.attrs]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  t.teardown(() => ep.shutdown());
  const { url } = await ep.start();
  const { samples } = await scrape(url);
  t.is(samplesOf(samples, 'target_info', { service_name: 'myagent', deployment_environment: 'prod' }).length, 1);
});

test('counters, gauges and their labels', async (t) => {
  const { ep, url } = await endpoint(t);
  const plain = workload('/headroom-test/plain');
  const pod = workload('/kubepods/burstable/podabc/0123cafe', {
    containerId: '0123cafe', podUid: 'abc', runtime: 'kubepods', hierarchy: 'v1-cpu', id: 'v1-cpu:/kubepods/burstable/podabc/0123cafe',
  });
  ep.update(tick(3, [
    workloadReport(plain, { throttleCores: null }),
    workloadReport(pod, {
      cpu: { seconds: 99.25, cores: 2 },
      throttleCores: 1.5,
      forecast: {
        metric: 'runqueue_p99_ms', horizonMs: 5000, quantiles: { '0.5': 2, '0.9': 4, '0.99': 8 },
        objectiveMs: 5, pContention: 0.42, confidence: 0.75,
      },
    }),
  ]));
  const { text, samples } = await scrape(url);

  // labels: the workload's identity, container and pod ids only where known
  const [cpuPlain] = samplesOf(samples, 'headroom_workload_cpu_seconds_total', { workload: plain.id });
  t.deepEqual(cpuPlain.labels, { workload: plain.id, path: plain.path, hierarchy: 'v2' });
  t.is(cpuPlain.value, 12.5);
  const [cpuPod] = samplesOf(samples, 'headroom_workload_cpu_seconds_total', { workload: pod.id });
  t.deepEqual(cpuPod.labels, { workload: pod.id, path: pod.path, hierarchy: 'v1-cpu', container_id: '0123cafe', pod_uid: 'abc' });
  t.is(cpuPod.value, 99.25);
  t.regex(text, /^# TYPE headroom_workload_cpu_seconds_total counter$/m);

  t.is(valueOf(t, samples, 'headroom_workload_context_switches_total', { workload: plain.id, kind: 'voluntary' }), 100);
  t.is(valueOf(t, samples, 'headroom_workload_context_switches_total', { workload: plain.id, kind: 'involuntary' }), 7);
  t.regex(text, /^# TYPE headroom_workload_context_switches_total counter$/m);

  // forecast figures, in seconds, only for the workload that has a forecast
  const q = (quantile: string): number | undefined =>
    valueOf(t, samples, 'headroom_forecast_runqueue_p99_seconds', { workload: pod.id, forecast_quantile: quantile });
  t.is(q('0.5'), 0.002);
  t.is(q('0.9'), 0.004);
  t.is(q('0.99'), 0.008);
  t.regex(text, /^# TYPE headroom_forecast_runqueue_p99_seconds gauge$/m);
  t.is(valueOf(t, samples, 'headroom_contention_probability', { workload: pod.id, resource: 'cpu', metric: 'runqueue_p99' }), 0.42);
  t.is(valueOf(t, samples, 'headroom_forecast_confidence', { workload: pod.id }), 0.75);
  for (const name of ['headroom_forecast_runqueue_p99_seconds', 'headroom_contention_probability', 'headroom_forecast_confidence']) {
    t.is(samplesOf(samples, name, { workload: plain.id }).length, 0, `${name} only where there is a forecast`);
  }

  // throttle: only when headroom holds one
  t.is(valueOf(t, samples, 'headroom_throttle_cores', { workload: pod.id }), 1.5);
  t.is(samplesOf(samples, 'headroom_throttle_cores', { workload: plain.id }).length, 0);

  // the agent's own health
  t.is(valueOf(t, samples, 'headroom_ticks_total'), 3);
  t.is(valueOf(t, samples, 'headroom_events_read_total'), 120);
  t.is(valueOf(t, samples, 'headroom_ring_drops_total'), 2);
  t.is(valueOf(t, samples, 'headroom_stats_drops_total'), 1);
  t.is(valueOf(t, samples, 'headroom_missed_runs_total'), 3);
  t.regex(text, /^# TYPE headroom_missed_runs_total counter$/m);
  t.is(valueOf(t, samples, 'headroom_demand_worker_losses_total'), 1);
  t.is(valueOf(t, samples, 'headroom_tick_duration_seconds'), 0.004);
  t.regex(text, /^# TYPE headroom_ticks_total counter$/m);
  t.regex(text, /^# TYPE headroom_tick_duration_seconds gauge$/m);
  t.is(samplesOf(samples, 'target_info', { service_name: 'headroom' }).length, 1);

  // the health counters follow the next report
  ep.update(tick(4, [workloadReport(plain)]));
  const next = (await scrape(url)).samples;
  t.is(valueOf(t, next, 'headroom_ticks_total'), 4);
  t.is(valueOf(t, next, 'headroom_events_read_total'), 160);
});

test('demand: quantiles per horizon and window, contention with its limit source, saturation, confidence', async (t) => {
  const { ep, url } = await endpoint(t);
  const w = workload('/headroom-test/demand');
  const window = (horizonMs: number, p90: number, pContention: number | null) => ({ horizonMs, p50: p90 / 2, p90, p99: p90 * 2, pContention });
  ep.update(tick(1, [workloadReport(w, {
    demand: {
      cpu_cores: {
        resource: 'cpu_cores', model: 'engine-peak', windowsOf: 'peak', value: 0.5, limit: 2, limitSource: 'host', ceiling: 2,
        windows: [window(5000, 1, 0.01), window(60000, 1.5, 0.2)], timeToSaturationMs: 45000, confidence: 0.8,
      },
      net_bytes_per_s: {
        resource: 'net_bytes_per_s', model: 'ewma', windowsOf: 'value', value: 10, limit: null, limitSource: null, ceiling: null,
        windows: [window(5000, 20, null)], timeToSaturationMs: null, confidence: 0.4,
      },
      memory_bytes: {
        resource: 'memory_bytes', model: 'engine-peak', windowsOf: 'peak', value: 1e6, limit: 2e6, limitSource: 'cgroup', ceiling: 2e6,
        windows: [window(5000, 2e6, 0.99)], timeToSaturationMs: 3600, confidence: 0.65, fromTask: { signature: 'a'.repeat(64), runs: 2, foresaw: true },
      },
    },
  })]));
  const { samples } = await scrape(url);
  const at = { workload: w.id, resource: 'cpu_cores', horizon_seconds: '60' };
  t.is(valueOf(t, samples, 'headroom_demand_forecast', { ...at, window: 'peak', forecast_quantile: '0.9' }), 1.5);
  t.is(valueOf(t, samples, 'headroom_demand_forecast', { ...at, window: 'peak', forecast_quantile: '0.99' }), 3);
  t.is(valueOf(t, samples, 'headroom_demand_contention_probability', { ...at, window: 'peak', source: 'host' }), 0.2);
  t.is(valueOf(t, samples, 'headroom_demand_limit', { workload: w.id, resource: 'cpu_cores', source: 'host' }), 2);
  t.is(valueOf(t, samples, 'headroom_demand_time_to_saturation_seconds', { workload: w.id, resource: 'cpu_cores' }), 45);
  t.is(valueOf(t, samples, 'headroom_demand_forecast_confidence', { workload: w.id, resource: 'net_bytes_per_s', model: 'ewma' }), 0.4);
  // the model behind each pair's forecast (what `auto` chose is otherwise not seen)
  t.is(valueOf(t, samples, 'headroom_demand_forecast_confidence', { workload: w.id, resource: 'cpu_cores', model: 'engine-peak' }), 0.8);
  // a forecast its run's task profile gave (demand-from-run.ts): its confidence is the profile's
  t.is(valueOf(t, samples, 'headroom_demand_forecast_confidence', { workload: w.id, resource: 'memory_bytes', model: 'task-profile' }), 0.65);
  t.is(valueOf(t, samples, 'headroom_demand_time_to_saturation_seconds', { workload: w.id, resource: 'memory_bytes' }), 3.6);
  // a value model's windows say so; no limit: no contention, no saturation
  t.is(valueOf(t, samples, 'headroom_demand_forecast', { workload: w.id, resource: 'net_bytes_per_s', horizon_seconds: '5', window: 'value', forecast_quantile: '0.5' }), 10);
  t.is(samplesOf(samples, 'headroom_demand_contention_probability', { resource: 'net_bytes_per_s' }).length, 0);
  t.is(samplesOf(samples, 'headroom_demand_time_to_saturation_seconds', { resource: 'net_bytes_per_s' }).length, 0);
  // held: CPU only, 0 where not held, 1 where it is (the limit its own use, its contention certain)
  t.is(valueOf(t, samples, 'headroom_demand_held', { workload: w.id, resource: 'cpu_cores' }), 0);
  t.is(samplesOf(samples, 'headroom_demand_held', { resource: 'memory_bytes' }).length, 0);
  const cpu = { resource: 'cpu_cores' as const, model: 'engine-peak' as const, windowsOf: 'peak' as const, value: 0.5, limit: 0.5, limitSource: 'host' as const, ceiling: 2,
    windows: [window(5000, 0.5, 1)], timeToSaturationMs: 0, confidence: 0.8, held: true as const };
  ep.update(tick(2, [workloadReport(w, { demand: { cpu_cores: cpu } })]));
  t.is(valueOf(t, (await scrape(url)).samples, 'headroom_demand_held', { workload: w.id, resource: 'cpu_cores' }), 1);
});

const PROMTOOL = '/usr/bin/promtool';

testIf(existsSync(PROMTOOL), `promtool (${PROMTOOL})`, "promtool's lint passes a scrape with every kind of series (a gauge's 'quantile' label is a summary's: it failed)", async (t) => {
  const { ep, url } = await endpoint(t);
  const w = workload('/headroom-test/lint');
  const window = { horizonMs: 5000, p50: 1, p90: 2, p99: 3, pContention: 0.1 };
  ep.update(tick(1, [workloadReport(w, {
    throttleCores: 1,
    forecast: { metric: 'runqueue_p99_ms', horizonMs: 5000, quantiles: { '0.5': 2, '0.9': 4, '0.99': 8 }, objectiveMs: 5, pContention: 0.4, confidence: 0.7 },
    memory: { minorFaults: 5, majorFaults: 1, minorPerSecond: 1, majorPerSecond: 0, reclaimSeconds: 0.1, reclaimStalls: 2, reclaimedPages: 3, reclaimMsPerSecond: 0, oomKills: 0, oomKillsPerSecond: 0 },
    net: { txBytes: 100, rxBytes: 200, retransmits: 1, opened: 2, closed: 1, txBytesPerSecond: 10, rxBytesPerSecond: 20, retransmitsPerSecond: 0 },
    demand: {
      cpu_cores: {
        resource: 'cpu_cores', model: 'engine-peak', windowsOf: 'peak', value: 0.5, limit: 2, limitSource: 'host', ceiling: 2,
        windows: [window], timeToSaturationMs: 45000, confidence: 0.8,
      },
    },
  })], [decision(w, 'throttle', 1)]));
  const { text } = await scrape(url);
  const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  t.is(lint.status, 0, `${lint.stdout}${lint.stderr}`);
  for (const name of ['headroom_forecast_runqueue_p99_seconds', 'headroom_demand_forecast', 'headroom_workload_page_faults_total', 'headroom_workload_tcp_bytes_total', 'headroom_decisions_total']) {
    t.true(text.includes(`\n${name}{`), `${name} in the scrape linted`);
  }
});

// points and descriptors made by hand, for what the agent's producer never makes
const AT: [number, number] = [1, 0];
const point = <T>(value: T, attributes: Attributes = {}) => ({ startTime: AT, endTime: AT, attributes, value });
const desc = (name: string, description = '', unit = '') => ({ name, description, unit, valueType: ValueType.DOUBLE });
const hist = (boundaries: number[], counts: number[], extra: Partial<Histogram> = {}): Histogram => ({ buckets: { boundaries, counts }, count: counts.reduce((a, b) => a + b, 0), sum: 1.5, ...extra });

/** A report with every kind of series the agent exports, and labels the formats must escape. */
function richReport(): TickReport {
  const odd = workload('/headroom-test/été-q"uote\\back\nline', { containerId: 'c0ffee', podUid: 'pod-1' });
  const plain = workload('/headroom-test/plain');
  const window = { horizonMs: 5000, p50: 1, p90: 2, p99: 3, pContention: 0.1 };
  const device = { readBytes: 4096, writeBytes: 8192, readOps: 1, writeOps: 2, latency: { slots: slots({ 3: 1, 7: 2 }), count: 3, sumSeconds: 0.002, p50Ms: 0.01, p99Ms: 0.2 } };
  const rich = workloadReport(odd, {
    throttleCores: 1.5,
    forecast: { metric: 'runqueue_p99_ms', horizonMs: 5000, quantiles: { '0.5': 2, '0.9': 4, '0.99': 8 }, objectiveMs: 5, pContention: 0.4, confidence: 0.7 },
    memory: { minorFaults: 5, majorFaults: 1, minorPerSecond: 1, majorPerSecond: 0, reclaimSeconds: 0.1, reclaimStalls: 2, reclaimedPages: 3, reclaimMsPerSecond: 0, oomKills: 1, oomKillsPerSecond: 0 },
    io: { ...device, readBytesPerSecond: 1, writeBytesPerSecond: 2, opsPerSecond: 3, devices: { '8:0': device, '259:1': device } },
    net: { txBytes: 100, rxBytes: 200, retransmits: 1, opened: 2, closed: 1, txBytesPerSecond: 10, rxBytesPerSecond: 20, retransmitsPerSecond: 0 },
    usage: { memoryBytes: 1e8, memoryFileBytes: 1e6, memoryLimitBytes: 2 ** 40, cpuLimitCores: 0.25, memoryLimitSource: 'parent', cpuLimitSource: 'cpuset' } as WorkloadReport['usage'],
    demand: {
      cpu_cores: { resource: 'cpu_cores', model: 'engine-peak', windowsOf: 'peak', value: 0.5, limit: 2, limitSource: 'host', ceiling: 2, windows: [window, { ...window, horizonMs: 60_000 }], timeToSaturationMs: 45000, confidence: 0.8 },
      net_bytes_per_s: { resource: 'net_bytes_per_s', model: 'ewma', windowsOf: 'value', value: 1e-7, limit: null, limitSource: null, ceiling: null, windows: [{ ...window, pContention: null }], timeToSaturationMs: null, confidence: 0.1 },
    },
    run: {
      signature: 'ab'.repeat(32), startedAtMs: 0, elapsedMs: 1500,
      expected: {
        runs: 2, confidence: 0.6, confidenceOf: { cpuCores: 0.6 }, durationMs: { mean: 4000, p90: 4500 }, progress: 0.25,
        peak: { cpuCores: { mean: 1, p90: 1.1 } }, ahead: [{ horizonMs: 5000, cpuCores: 1.1, memPeakBytes: null, ioBytesPerSec: null, netBytesPerSec: null }],
      },
    },
  } as Partial<WorkloadReport>);
  const report = tick(3, [rich, workloadReport(plain)], [decision(odd, 'throttle', 1.5), decision(plain, 'restore', null)]);
  const probe = (variant: string) => ({ eventsRead: 7, ringDrops: 1, statsDrops: 0, missedRuns: 2, variant });
  report.health = { ...report.health, probes: { sched: probe('full'), fault: probe('sampled-1/8') }, overhead: { budget: 0.02, total: 0.011, agent: 0.01, probes: { sched: { fraction: 0.001, eventsPerSecond: 40 } }, windowMs: 10_000 } };
  report.runs = [{ kind: 'run-end', recorded: true } as NonNullable<TickReport['runs']>[number]];
  return report;
}

/** What the agent never makes: a name to sanitize, a type conflict, values of every kind, a histogram bounded by +Inf, metrics without points. */
function oddMetrics(): MetricData[] {
  const metrics: MetricData[] = [
    { descriptor: desc('1st.odd-name__x', 'help with \\ and\nnewline', 'ms'), aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM, isMonotonic: true,
      dataPoints: [point(1, { 'a.b': 'x', n: 3, ok: true, list: ['p', 'q"'] }), point(Infinity), point(-Infinity), point(NaN), point(1e-7, { e: '' })] },
    { descriptor: desc('up_down'), aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM, isMonotonic: false, dataPoints: [point(-2)] },
    { descriptor: desc('clash', 'first'), aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints: [point(1)] },
    { descriptor: desc('clash', 'second'), aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM, isMonotonic: false, dataPoints: [point(2)] },
    { descriptor: desc('clash', 'third'), aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints: [point(3)] },
    { descriptor: desc('twice', '', 'bytes'), aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints: [] },
    { descriptor: desc('twice', 'said second'), aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints: [point(4)] },
    { descriptor: desc('twice', 'said third'), aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints: [] },
    { descriptor: desc('lat'), aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.HISTOGRAM,
      dataPoints: [point(hist([0.1, 1, Infinity], [1, 2, 3, 4])), point(hist([0.5], [0, 1], { sum: undefined }), { k: 'v' })] },
  ];
  return metrics;
}

test('the page is written as the OpenTelemetry Prometheus exporter writes it, byte for byte, for every kind of series the agent exports', async (t) => {
  let exporter!: PrometheusExporter;
  const meter = new ReportMeter((producer) => (exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, metricProducers: [producer] })));
  t.teardown(() => meter.shutdown());
  const report = richReport();
  meter.update(report);
  const { resourceMetrics } = await exporter.collect();
  const theirs = new PrometheusSerializer(undefined, false, undefined, false, true).serialize(resourceMetrics);
  const ours = prometheusText(resourceMetrics);
  t.true(ours.length > 0);
  t.is(Buffer.concat(ours).toString('utf8'), theirs);
  t.true(theirs.includes('path="/headroom-test/été-q\\"uote\\\\back\\nline"'), 'the odd path is escaped');
  t.true(theirs.includes('headroom_workload_io_latency_seconds_bucket{'), 'a device\'s histogram is on the page');

  // what the agent never makes, written the same way too: no metrics, a name to sanitize, a
  // type conflict, values of every kind, a histogram bounded by +Inf, a metric without points
  const metrics = oddMetrics();
  // (a page of no metric differs only there: its comment's line ends, where the serializer's did not)
  const same = (rm: ResourceMetrics, what: string, lineEnd = '') =>
    t.is(Buffer.concat(prometheusText(rm)).toString('utf8'), new PrometheusSerializer(undefined, false, undefined, false, true).serialize(rm) + lineEnd, what);
  const resource = resourceFromAttributes({ 'service.name': 'x"y' });
  same({ resource, scopeMetrics: [] }, 'no metrics', '\n');
  same({ resource: resourceFromAttributes({}), scopeMetrics: [{ scope: { name: 'a' }, metrics: [] }] }, 'no resource attributes, no metrics', '\n');
  same({ resource, scopeMetrics: [{ scope: { name: 'a' }, metrics: metrics.slice(0, 5) }, { scope: { name: 'b' }, metrics: metrics.slice(5) }] }, 'odd metrics over two scopes');
  // lines longer than a piece, and many short ones, in characters of one to four bytes
  const long = 'é'.repeat(40_000) + '😀'.repeat(20_000) + '"\\';
  const many = Array.from({ length: 5000 }, (_, i) => point(i, { i: `ü${i}` }));
  same({ resource, scopeMetrics: [{ scope: { name: 'a' }, metrics: [
    { descriptor: desc('long'), aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints: [point(1, { long }), point(2, { long: long + 'x' }), ...many] },
  ] }] }, 'pieces of 64 KB and more');
  t.true(prometheusText({ resource, scopeMetrics: [{ scope: { name: 'a' }, metrics: [{ descriptor: desc('long'), aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints: many }] }] }).length > 1, 'written in more than one piece');
});

test('the OTLP JSON body is written as the OpenTelemetry JSON serializer writes it, byte for byte, for every kind of series the agent exports and odd input', async (t) => {
  let exporter!: PrometheusExporter;
  const meter = new ReportMeter((producer) => (exporter = new PrometheusExporter({ preventServerStart: true, metricProducers: [producer] })));
  t.teardown(() => meter.shutdown());
  meter.update(richReport());
  const { resourceMetrics } = await exporter.collect();
  const same = (rm: ResourceMetrics, what: string): void => {
    const theirs = Buffer.from(JsonMetricsSerializer.serializeRequest(rm)!);
    const ours = otlpMetricsJson.serializeRequest(rm)!;
    const mine = Buffer.from(ours);
    if (mine.equals(theirs)) {
      t.pass(what);
      return;
    }
    // where they part, shown briefly (a diff of tens of MB would not end)
    let at = 0;
    while (at < mine.length && mine[at] === theirs[at]) at++;
    t.is(mine.subarray(Math.max(0, at - 80), at + 80).toString('latin1'), theirs.subarray(Math.max(0, at - 80), at + 80).toString('latin1'), `${what}: they part at byte ${at} (lengths ${mine.length}, ${theirs.length})`);
  };
  same(resourceMetrics, 'the agent\'s series');
  const sent = new TextDecoder().decode(otlpMetricsJson.serializeRequest(resourceMetrics));
  t.true(sent.includes('{"key":"path","value":{"stringValue":"/headroom-test/été-q\\"uote\\\\back\\nline"}}'), 'the odd path, escaped');
  t.true(sent.includes('"histogram":{"aggregationTemporality":2,"dataPoints":[{"attributes":'), 'a histogram');

  // every kind of attribute value, resource and scope fields set and not, every point kind
  const resource = resourceFromAttributes({
    's': 'x"y\u0001\ud800', int: 3, neg: -0, dbl: 0.5, nan: NaN, inf: -Infinity, yes: true, bytes: new Uint8Array([0, 255, 7]) as unknown as string, cjk: '€漢字',
    list: ['a', 2, 2.5, false, null, undefined] as unknown as string[], holes: new Array(3) as string[], kv: { a: 1, b: [1, 'x'] } as unknown as string,
  }, { schemaUrl: 'https://example.test/schema' });
  const odd = oddMetrics();
  const intGauge: MetricData = { descriptor: { ...desc('ints', 'd'), valueType: ValueType.INT }, aggregationTemporality: AggregationTemporality.DELTA, dataPointType: DataPointType.GAUGE,
    // (a point's attributes as given: the resource's are checked, and bytes are not an attribute value there)
    dataPoints: [point(3, { bytes: new Uint8Array([0, 255, 7]), view: new Uint8Array([9, 1, 2, 3]).subarray(1, 3), nested: [[1, 'a'], { k: [true] }] } as unknown as Attributes), point(2.5), point(NaN)] };
  const noKind: MetricData = { descriptor: { name: 'plain', valueType: undefined } as unknown as MetricData['descriptor'], aggregationTemporality: undefined as unknown as AggregationTemporality, dataPointType: DataPointType.SUM, dataPoints: [point(undefined as unknown as number), point(1)] } as MetricData;
  const minMax: MetricData = { descriptor: desc('mm'), aggregationTemporality: AggregationTemporality.DELTA, dataPointType: DataPointType.HISTOGRAM, dataPoints: [point(hist([1, 2], [0, 1, 2], { min: 0.5, max: 3 }))] };
  const exponential: MetricData = {
    descriptor: desc('exp', 'e', 's'), aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
    dataPoints: [point({ count: 3, sum: 4.5, min: 1, max: 2, scale: 3, zeroCount: 1, positive: { offset: 2, bucketCounts: [1, 1] }, negative: { offset: 0, bucketCounts: [] } }), point({ count: 0, scale: 0, zeroCount: 0, positive: { offset: 0, bucketCounts: [] }, negative: { offset: 0, bucketCounts: [] } })],
  };
  const scopes = [
    { scope: { name: 'a', version: '1.2', schemaUrl: 'https://example.test/scope' }, metrics: odd.slice(0, 5) },
    { scope: { name: 'b', attributes: { k: 'v' } } as ScopeMetrics['scope'], metrics: [...odd.slice(5), intGauge, noKind, minMax, exponential] },
    { scope: { name: 'c', attributes: { k: 'v' }, droppedAttributesCount: 2 } as ScopeMetrics['scope'], metrics: [] },
    { scope: { version: '0' } as ScopeMetrics['scope'], metrics: [] },
  ];
  same({ resource, scopeMetrics: [] }, 'no scopes');
  same({ resource: resourceFromAttributes({}), scopeMetrics: [{ scope: { name: 'a' }, metrics: [] }] }, 'no resource attributes, no metrics');
  same({ resource, scopeMetrics: scopes }, 'odd metrics over odd scopes');
  // far more than one buffer's first size, in characters of one to four bytes: the buffer grows
  const long = 'é'.repeat(40_000) + '😀'.repeat(20_000) + '€漢'.repeat(20_000) + '"\\\n';
  // points at times of their own, fractional parts included (the writer keeps each time's text)
  const many = Array.from({ length: 20_000 }, (_, i) => ({ ...point(i / 3, i % 100 === 0 ? { i: `ü${i}`, long } : { i: `ü${i}` }), startTime: [i % 7, 0.5 + i] as [number, number], endTime: [1_700_000_000 + i, 999_999_999.9] as [number, number] }));
  same({ resource, scopeMetrics: [{ scope: { name: 'a' }, metrics: [{ descriptor: desc('long'), aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints: many }] }] }, 'a body of tens of MB');
  same(resourceMetrics, 'a small body after a large one');
  // one write far larger than the buffer sized from that small body (3-byte characters: the bound)
  same({ resource, scopeMetrics: [{ scope: { name: 'a' }, metrics: [{ descriptor: desc('big'), aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints: [point(1, { big: '€'.repeat(1_000_000) })] }] }] }, 'one label of 3 MB after a small body');
});

/** One request with these headers, nothing decoded: status, headers and the body's bytes. */
function rawGet(url: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

test('the page is gzipped for a client that takes gzip (as Prometheus does), and the same page plain for one that does not', async (t) => {
  const { ep, url } = await endpoint(t);
  ep.update(tick(1, Array.from({ length: 50 }, (_, i) => workloadReport(workload(`/headroom-test/w${i}`)))));
  const plain = await rawGet(url, {});
  t.is(plain.status, 200);
  t.is(plain.headers['content-encoding'], undefined);
  t.is(plain.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  const text = plain.body.toString('utf8');
  t.true(text.includes('headroom_workload_cpu_seconds_total{workload="v2:/headroom-test/w49"'));
  for (const accept of ['gzip', 'deflate, gzip;q=0.5', 'identity, *', 'x-gzip']) {
    const zipped = await rawGet(url, { 'accept-encoding': accept });
    t.is(zipped.headers['content-encoding'], 'gzip', accept);
    t.is(zipped.headers.vary, 'accept-encoding');
    t.is(gunzipSync(zipped.body).toString('utf8'), text, `${accept}: the same page`);
    t.true(zipped.body.length * 5 < plain.body.length, `${accept}: ${zipped.body.length} bytes against ${plain.body.length}`);
  }
  for (const accept of ['identity', 'gzip;q=0', 'br', '*;q=0', 'gzip;q=0, *']) {
    t.is((await rawGet(url, { 'accept-encoding': accept })).headers['content-encoding'], undefined, accept);
  }
  // a HEAD: the headers, no body, gzipped or not
  for (const accept of ['gzip', 'identity']) {
    const head = await rawGet(url, { 'accept-encoding': accept }, 'HEAD');
    t.is(head.status, 200, accept);
    t.is(head.body.length, 0, accept);
    t.is(head.headers['content-encoding'], accept === 'gzip' ? 'gzip' : undefined, accept);
  }
  t.false(takesGzip(undefined));
  t.false(takesGzip(''));
  t.true(takesGzip('GZIP; Q=1'));
  t.true(takesGzip('gzip;q=0.001'));
});

test('task runs ended: every outcome exported at 0 from the first report, so the first run\'s end is an increase; a held run counts as held', async (t) => {
  const { ep, url } = await endpoint(t);
  const reports = [workloadReport(workload('/headroom-test/jobs'))];
  ep.update(tick(1, reports));
  let { samples } = await scrape(url);
  for (const outcome of ['recorded', 'held', 'not_recorded']) t.is(valueOf(t, samples, 'headroom_task_runs_total', { outcome }), 0, outcome);
  const ends = (...es: object[]): NonNullable<TickReport['runs']> => es.map((e) => ({ kind: 'run-end', ...e }) as NonNullable<TickReport['runs']>[number]);
  const second = tick(2, reports);
  second.runs = ends({ recorded: true }, { recorded: false, heldBack: true }, { recorded: false, heldBack: true }, { recorded: false });
  ep.update(second);
  ({ samples } = await scrape(url));
  t.is(valueOf(t, samples, 'headroom_task_runs_total', { outcome: 'recorded' }), 1);
  t.is(valueOf(t, samples, 'headroom_task_runs_total', { outcome: 'held' }), 2);
  t.is(valueOf(t, samples, 'headroom_task_runs_total', { outcome: 'not_recorded' }), 1);
  // the third in a row is learned with the two held: it counts as recorded, the held not again
  const third = tick(3, reports);
  third.runs = ends({ recorded: true, learnedWith: 2 });
  ep.update(third);
  ({ samples } = await scrape(url));
  t.is(valueOf(t, samples, 'headroom_task_runs_total', { outcome: 'recorded' }), 2);
  t.is(valueOf(t, samples, 'headroom_task_runs_total', { outcome: 'held' }), 2);
});

test('decisions are counted once each, across reports', async (t) => {
  const { ep, url } = await endpoint(t);
  const critical = workload('/headroom-test/critical');
  const batch = workload('/headroom-test/batch');
  const reports = [critical, batch].map((w) => workloadReport(w));

  ep.update(tick(1, reports, [decision(batch, 'throttle', 2)]));
  let { samples } = await scrape(url);
  const throttles = { action: 'throttle', rule: 'protect-latency', workload: batch.id, mode: 'recommend' };
  t.is(valueOf(t, samples, 'headroom_decisions_total', throttles), 1);

  ep.update(tick(2, reports, [decision(batch, 'throttle', 1.5), decision(batch, 'release', 2)]));
  ep.update(tick(3, reports, [])); // a report without decisions counts nothing
  ({ samples } = await scrape(url));
  t.is(valueOf(t, samples, 'headroom_decisions_total', throttles), 2);
  t.is(valueOf(t, samples, 'headroom_decisions_total', { ...throttles, action: 'release' }), 1);
  t.is(samplesOf(samples, 'headroom_decisions_total', { workload: critical.id }).length, 0);
  const [one] = samplesOf(samples, 'headroom_decisions_total', throttles);
  t.deepEqual(Object.keys(one.labels).sort(), ['action', 'mode', 'rule', 'workload']);
});

test("a workload that leaves the reports leaves the endpoint: all of its series", async (t) => {
  const { ep, url } = await endpoint(t);
  const stays = workload('/headroom-test/stays');
  const goes = workload('/headroom-test/goes');
  const forecast = {
    metric: 'runqueue_p99_ms' as const, horizonMs: 5000, quantiles: { '0.99': 3 }, objectiveMs: 5, pContention: 0.1, confidence: 0.5,
  };
  ep.update(tick(1, [workloadReport(stays), workloadReport(goes, { forecast, throttleCores: 1 })], [decision(goes, 'throttle', 1)]));
  const before = await scrape(url);
  t.true(before.samples.filter((s) => s.labels.workload === goes.id).length > SLOTS, 'goes was exported');

  ep.update(tick(2, [workloadReport(stays)]));
  const after = await scrape(url);
  t.false(after.text.includes(goes.path), 'no series names the workload that left');
  t.is(samplesOf(after.samples, `${RUNQ_METRIC}_count`, { workload: stays.id }).length, 1);
  t.is(samplesOf(after.samples, 'headroom_workload_cpu_seconds_total', { workload: stays.id }).length, 1);
  // metrics left without any series are not even announced
  t.false(/^# TYPE headroom_throttle_cores/m.test(after.text));

  // and one that comes back starts its series again
  ep.update(tick(3, [workloadReport(stays), workloadReport(goes)]));
  const again = await scrape(url);
  t.is(valueOf(t, again.samples, `${RUNQ_METRIC}_count`, { workload: goes.id }), 11);
});

test('a workload the sched probe does not count (kept to the policy\'s workloads) has no CPU, switch or run-queue series while so; its counters go on after', async (t) => {
  const { ep, url } = await endpoint(t);
  const w = workload('/headroom-test/unselected');
  ep.update(tick(1, [workloadReport(w)]));
  t.is(valueOf(t, (await scrape(url)).samples, 'headroom_workload_cpu_seconds_total', { workload: w.id }), 12.5);
  const unseen = workloadReport(w, {
    cpu: { seconds: 12.5, cores: null },
    runq: { ...workloadReport(w).runq, waitPerSecond: null },
    switches: { voluntary: 100, involuntary: 7, perSecond: null },
  });
  // (its cores read from its cgroup's CPU time meanwhile: the probe's seconds are frozen still)
  const counted = workloadReport(w, { ...unseen, cpu: { seconds: 12.5, cores: 0.7, counter: true } });
  for (const [i, r] of [unseen, counted].entries()) {
    ep.update(tick(2 + i, [r]));
    const during = await scrape(url);
    for (const name of ['headroom_workload_cpu_seconds_total', 'headroom_workload_context_switches_total', `${RUNQ_METRIC}_count`]) {
      t.is(samplesOf(during.samples, name, { workload: w.id }).length, 0, `${name}: no series frozen at what was counted before${i ? ' (cores from the cgroup)' : ''}`);
    }
  }
  ep.update(tick(4, [workloadReport(w, { cpu: { seconds: 13.5, cores: 1 } })]));
  t.is(valueOf(t, (await scrape(url)).samples, 'headroom_workload_cpu_seconds_total', { workload: w.id }), 13.5);
});

test('a probe\'s variant: only the one it runs as now (the SDK\'s gauge kept every variant it had seen)', async (t) => {
  const { ep, url } = await endpoint(t);
  const probe = (variant: string, missedRuns = 0) => ({ eventsRead: 1, ringDrops: 0, statsDrops: 0, missedRuns, variant });
  const at = (ticks: number, variant: string): TickReport => {
    const r = tick(ticks, [workloadReport(workload('/a'))]);
    return { ...r, health: { ...r.health, probes: { sched: probe(variant), fault: probe('full', ticks) } } };
  };
  ep.update(at(1, 'full'));
  const first = (await scrape(url)).samples;
  t.deepEqual(samplesOf(first, 'headroom_probe_variant').map((s) => [s.labels.probe, s.labels.variant, s.value]), [['sched', 'full', 1], ['fault', 'full', 1]]);
  // runs the kernel skipped, per probe
  t.deepEqual(samplesOf(first, 'headroom_probe_missed_runs_total').map((s) => [s.labels.probe, s.value]), [['sched', 0], ['fault', 1]]);
  ep.update(at(2, 'sampled-1/8'));
  ep.update(at(3, 'sampled-1/64'));
  t.deepEqual(samplesOf((await scrape(url)).samples, 'headroom_probe_variant').map((s) => [s.labels.probe, s.labels.variant, s.value]), [['sched', 'sampled-1/64', 1], ['fault', 'full', 1]]);
});

test('a workload\'s counters never go back: a drop of its sum (a cgroup\'s entries now another workload\'s) is carried, not a reset', async (t) => {
  const { ep, url } = await endpoint(t);
  const w = workload('/a');
  const at = (ticks: number, seconds: number, runq: Record<number, number>): TickReport =>
    tick(ticks, [workloadReport(w, { cpu: { seconds, cores: 1 }, runq: { slots: slots(runq), count: 0, sumSeconds: seconds / 10, waitPerSecond: 0.1, waitsPerSecond: 1, p50Ms: null, p99Ms: null } })]);
  const read = async () => {
    const { samples } = await scrape(url);
    return {
      cpu: valueOf(t, samples, 'headroom_workload_cpu_seconds_total'),
      inf: valueOf(t, samples, 'headroom_workload_runqueue_latency_seconds_bucket', { le: '+Inf' }),
      count: valueOf(t, samples, 'headroom_workload_runqueue_latency_seconds_count'),
      sum: valueOf(t, samples, 'headroom_workload_runqueue_latency_seconds_sum'),
    };
  };
  ep.update(at(1, 13.99, { 0: 10, 3: 5 }));
  t.deepEqual(await read(), { cpu: 13.99, inf: 15, count: 15, sum: 1.399 });
  // the sums drop (helper's scrape: 13.9948 then 13.8047, a reset to Prometheus)
  ep.update(at(2, 13.8, { 0: 8, 3: 5 }));
  t.deepEqual(await read(), { cpu: 13.99, inf: 15, count: 15, sum: 1.399 });
  // and grow from there
  ep.update(at(3, 14.3, { 0: 9, 3: 6 }));
  const r = await read();
  t.is(r.cpu!.toFixed(2), '14.49');
  t.deepEqual([r.inf, r.count, r.sum!.toFixed(2)], [17, 17, '1.45']);
});

test('MonotoneCounters: a drop carried per series; a series not asked for in a sweep starts again', (t) => {
  const m = new MonotoneCounters();
  t.is(m.value('a', 5), 5);
  t.is(m.value('a', 3), 5);
  t.is(m.value('a', 4), 6);
  t.deepEqual(m.counts('h', [1, 2]), [1, 2]);
  t.deepEqual(m.counts('h', [0, 3]), [1, 3]);
  m.sweep();
  t.is(m.value('a', 7), 9, 'asked since the last sweep: kept');
  m.sweep();
  m.sweep();
  t.is(m.value('a', 1), 1, 'not asked in a whole sweep: forgotten');
  t.deepEqual(m.counts('h', [0, 0]), [0, 0], 'a histogram not asked in a whole sweep: forgotten');
  t.deepEqual(m.counts('h', [5, 5]), [5, 5]);
  t.deepEqual(m.counts('h', [1, 1, 1]), [5, 5, 1], 'another number of slots: the shared buckets keep their carried drops');
  t.deepEqual(m.counts('h', [0]), [5], 'and fewer');
});

test('the endpoint listens on 127.0.0.1 only, by default', async (t) => {
  const { ep, url } = await endpoint(t);
  t.is(ep.host, '127.0.0.1');
  t.is(url, `http://127.0.0.1:${ep.port}/metrics`);
  t.is(await tryConnect('127.0.0.1', ep.port), 'connected');
  // 127.0.0.2 reaches this host through lo too: only a wildcard listener would answer there
  t.is(await tryConnect('127.0.0.2', ep.port), 'ECONNREFUSED');
  const external = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
  if (external) t.is(await tryConnect(external.address, ep.port), 'ECONNREFUSED', `not on ${external.address}`);

  // the kernel's own view: one listening socket on this port, bound to 127.0.0.1
  const portHex = ep.port.toString(16).toUpperCase().padStart(4, '0');
  const listening = readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1]?.endsWith(`:${portHex}`) && f[3] === '0A');
  t.deepEqual(listening.map((f) => f[1]), [`0100007F:${portHex}`]);
  const tcp6 = readFileSync('/proc/net/tcp6', 'utf8');
  t.false(new RegExp(`:${portHex} [0-9A-F]+:0000 0A `).test(tcp6), 'nothing on IPv6');
});

const hasIpv6Loopback = Object.values(networkInterfaces()).flat().some((i) => i?.address === '::1');

testIf(hasIpv6Loopback, 'an IPv6 loopback (::1)', 'an IPv6 address serves /metrics (the exporter\'s own server answered 400 there); other paths 404, other methods 405', async (t) => {
  const port = await freePort();
  const ep = new PrometheusEndpoint({ host: '::1', port });
  t.teardown(() => ep.shutdown());
  const { url } = await ep.start();
  t.is(url, `http://[::1]:${port}/metrics`);
  ep.update(tick(1, [workloadReport(workload('/a'), { cpu: { seconds: 2, cores: 0.1 } })]));
  const res = await fetch(url);
  t.is(res.status, 200);
  t.is(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  t.is(valueOf(t, parseExposition(await res.text()), 'headroom_workload_cpu_seconds_total', { path: '/a' }), 2);
  t.is((await fetch(`${url}?x=1`)).status, 200, 'a query string is no other path');
  for (const path of ['/', '/metrics/', '/foo']) t.is((await fetch(`http://[::1]:${port}${path}`)).status, 404, path);
  const post = await fetch(url, { method: 'POST' });
  t.is(post.status, 405);
  t.is(post.headers.get('allow'), 'GET, HEAD');
});

test('a port already taken is refused with a message naming host:port', async (t) => {
  const port = await freePort();
  const squatter = createServer();
  await new Promise<void>((res) => squatter.listen(port, '127.0.0.1', res));
  t.teardown(() => new Promise<void>((res) => squatter.close(() => res())));

  const ep = new PrometheusEndpoint({ host: '127.0.0.1', port });
  const err = await t.throwsAsync(() => ep.start());
  t.is(err?.message, `Prometheus endpoint cannot listen on 127.0.0.1:${port}: the port is already in use`);
  await t.notThrowsAsync(() => ep.shutdown(), 'shutdown after a failed start is harmless');
  t.throws(() => new PrometheusEndpoint({ port: 0 }), { message: /port must be 1\.\.65535, got 0/ });
});

test('every metric family the exporters define is in the README, and every one the README names is defined', (t) => {
  const names = (text: string): Set<string> => new Set(text.match(/headroom_[a-z0-9_]*[a-z0-9]/g) ?? []);
  const code = new Set([...readdirSync(join(ROOT, 'exporters')).filter((f) => f.endsWith('.ts')).flatMap((f) => [...(readFileSync(join(ROOT, 'exporters', f), 'utf8').match(/'headroom_[a-z0-9_]+'/g) ?? [])])].map((n) => n.slice(1, -1)));
  const readme = names(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  t.true(code.size >= 30, `${code.size} families found in the exporters`);
  t.deepEqual([...code].filter((n) => !readme.has(n)), [], 'defined, not in the README');
  // (the README also names a family or two by prefix: headroom_task_run_expected_*)
  t.deepEqual([...readme].filter((n) => !code.has(n) && ![...code].some((c) => c.startsWith(`${n}_`))), [], 'in the README, not defined');
});

test('OTLP push: the same series as the scrape, POSTed as JSON; a collector that cannot be reached is said once, and when it answers again', async (t) => {
  // while `down`, the collector drops each connection unanswered
  let down = true;
  const { url, requests: bodies } = await startCollector(t, () => down);
  const logs: string[] = [];
  const push = new OtlpPush({ url, intervalMs: 400, log: (m) => logs.push(m) });
  t.teardown(() => push.shutdown());
  push.update(tick(1, [workloadReport(workload('/a'), { cpu: { seconds: 7, cores: 1 } })]));
  await waitFor(() => logs.length > 0, 'a failed push to be said', 10_000);
  await sleep(1000); // two or more pushes more, failing: still one line
  down = false;
  await waitFor(() => bodies.length > 0 && logs.length >= 2, 'a push to arrive, and be said', 10_000);
  t.regex(logs[0]!, new RegExp(`^OTLP export to ${url} failed \\(.+\\); retrying every 0\\.4 s$`));
  t.is(logs[1], `OTLP export to ${url} works again`);
  t.is(bodies[0]!.type, 'application/json');
  t.is(bodies[0]!.encoding, 'gzip', 'gzipped, the environment choosing nothing');
  const sent = JSON.stringify(JSON.parse(bodies[0]!.body));
  t.regex(sent, /"name":"headroom_workload_cpu_seconds_total"/);
  t.regex(sent, /"name":"headroom_ticks_total"/);
  t.regex(sent, /"key":"service.name","value":\{"stringValue":"headroom"\}/);
  t.regex(sent, /"asDouble":7\b/);
  // one ScopeMetrics for scope 'headroom': the agent's health and the workloads' series together
  const scopes = (JSON.parse(bodies[0]!.body) as { resourceMetrics: { scopeMetrics: { scope: { name: string }; metrics: { name: string }[] }[] }[] }).resourceMetrics[0]!.scopeMetrics;
  t.deepEqual(scopes.map((s) => s.scope.name), ['headroom']);
  t.true(['headroom_ticks_total', 'headroom_workload_cpu_seconds_total'].every((n) => scopes[0]!.metrics.some((m) => m.name === n)));
});

// (a walkthrough: the start-up line hid the password, but every failed push's line printed it)
test('OTLP push: a failed push\'s line hides the URL\'s password and query values, as the start-up line does', async (t) => {
  const { url } = await startCollector(t, () => true);
  const secretUrl = url.replace('http://', 'http://user:secret@') + '?token=abc&plain';
  const logs: string[] = [];
  const push = new OtlpPush({ url: secretUrl, intervalMs: 400, log: (m) => logs.push(m) });
  t.teardown(() => push.shutdown());
  push.update(tick(1, [workloadReport(workload('/a'), { cpu: { seconds: 7, cores: 1 } })]));
  await waitFor(() => logs.length > 0, 'a failed push to be said', 10_000);
  t.notRegex(logs.join('\n'), /secret|abc/);
  t.true(logs[0]!.startsWith(`OTLP export to ${url.replace('http://', 'http://user:***@')}?token=***&*** failed`), logs[0]);
  t.is(shownUrl('http://collector:4318/v1/metrics'), 'http://collector:4318/v1/metrics');
  t.is(shownUrl('https://u:p@c/v1/metrics?api-key=k1&x=2'), 'https://u:***@c/v1/metrics?api-key=***&x=***');
  t.is(shownUrl('not a url'), 'not a url');
  // one that does not parse (a port out of range) is shown by pattern; a user alone is a token; bare query items and a fragment hidden
  t.is(shownUrl('http://u:s3cret@c:99999/v1/metrics?k=1'), 'http://***@c:99999/v1/metrics?***');
  t.is(shownUrl('https://TOKEN@collector/v1/metrics'), 'https://***@collector/v1/metrics');
  t.is(shownUrl('https://c/v1/metrics?abc123#frag'), 'https://c/v1/metrics?***#***');
});

test('OTLP log records: OTEL_EXPORTER_OTLP_LOGS_COMPRESSION=none (or the general one) sends them plain; the metrics\' variable leaves them gzipped', async (t) => {
  for (const [name, encoding] of [['OTEL_EXPORTER_OTLP_LOGS_COMPRESSION', ''], ['OTEL_EXPORTER_OTLP_COMPRESSION', ''], ['OTEL_EXPORTER_OTLP_METRICS_COMPRESSION', 'gzip']] as const) {
    const { url: metricsUrl, requests } = await startCollector(t);
    const saved = process.env[name];
    process.env[name] = 'none';
    let out: OtlpLogPush;
    try {
      out = new OtlpLogPush({ url: metricsUrl.replace(/metrics$/, 'logs'), log: (m) => t.fail(m), delayMs: 50 });
    } finally {
      if (saved === undefined) delete process.env[name];
      else process.env[name] = saved;
    }
    out.emitOverhead({ atMs: Date.now(), probe: 'faults', from: 'full', to: 'sampled', reason: 'a test' });
    await waitFor(() => requests.length > 0, `the record to arrive (${name})`, 10_000);
    await out.shutdown();
    t.is(requests[0]!.encoding, encoding, name);
  }
});

test('OTLP push: OTEL_EXPORTER_OTLP_COMPRESSION=none (or the metrics one) sends the JSON plain; gzip, or a value the exporter ignores, gzipped', async (t) => {
  for (const [name, value, encoding] of [
    ['OTEL_EXPORTER_OTLP_COMPRESSION', 'none', ''], ['OTEL_EXPORTER_OTLP_METRICS_COMPRESSION', ' none ', ''],
    ['OTEL_EXPORTER_OTLP_COMPRESSION', 'gzip', 'gzip'], ['OTEL_EXPORTER_OTLP_COMPRESSION', 'GZIP', 'gzip'], ['OTEL_EXPORTER_OTLP_METRICS_COMPRESSION', 'deflate', 'gzip'],
  ] as const) {
    const { url, requests } = await startCollector(t);
    const saved = process.env[name];
    process.env[name] = value;
    let push: OtlpPush;
    try {
      push = new OtlpPush({ url, intervalMs: 60_000, log: () => {} });
    } finally {
      if (saved === undefined) delete process.env[name];
      else process.env[name] = saved;
    }
    push.update(tick(1, [workloadReport(workload('/a'))]));
    await push.shutdown();
    const what = `${name}=${value}`;
    t.is(requests.length, 1, what);
    t.is(requests[0]!.encoding, encoding, what);
    t.regex(requests[0]!.body, /"name":"headroom_workload_cpu_seconds_total"/, what);
  }
});

test('OTLP push: headers from the standard environment are sent (OTEL_EXPORTER_OTLP_HEADERS, the metrics one first), as by the library\'s own exporter', async (t) => {
  const { url, requests } = await startCollector(t);
  const saved = { all: process.env.OTEL_EXPORTER_OTLP_HEADERS, metrics: process.env.OTEL_EXPORTER_OTLP_METRICS_HEADERS };
  process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-tenant=blue,x-both=all';
  process.env.OTEL_EXPORTER_OTLP_METRICS_HEADERS = 'x-both=metrics';
  let push: OtlpPush;
  try {
    push = new OtlpPush({ url, intervalMs: 60_000, log: () => {} });
  } finally {
    for (const [key, value] of [['OTEL_EXPORTER_OTLP_HEADERS', saved.all], ['OTEL_EXPORTER_OTLP_METRICS_HEADERS', saved.metrics]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
  push.update(tick(1, [workloadReport(workload('/a'))]));
  await push.shutdown();
  t.is(requests.length, 1);
  const { headers, type, body } = requests[0]!;
  t.is(headers['x-tenant'], 'blue');
  t.is(headers['x-both'], 'metrics');
  t.is(type, 'application/json');
  t.regex(String(headers['user-agent']), /^OTel-OTLP-Exporter-JavaScript\//);
  const parsed = JSON.parse(body) as { resourceMetrics: { scopeMetrics: { metrics: { name: string }[] }[] }[] };
  t.true(parsed.resourceMetrics[0]!.scopeMetrics.some((s) => s.metrics.some((m) => m.name === 'headroom_workload_cpu_seconds_total')));
});

test('OTLP push: a stop does not wait long on a collector that never answers', async (t) => {
  const held: ServerResponse[] = [];
  const collector = createHttpServer((_req, res) => void held.push(res));
  await new Promise<void>((res) => collector.listen(0, '127.0.0.1', res));
  t.teardown(() => new Promise<void>((res) => {
    collector.closeAllConnections();
    collector.close(() => res());
  }));
  const logs: string[] = [];
  const push = new OtlpPush({ url: `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/metrics`, intervalMs: 60_000, log: (m) => logs.push(m) });
  push.update(tick(1, [workloadReport(workload('/a'))]));
  const started = Date.now();
  await push.shutdown();
  const took = Date.now() - started;
  t.true(held.length >= 1, 'the last push was sent');
  t.true(took < 10_000, `stopped after ${took} ms`);
  t.regex(logs.at(-1) ?? '', /the last push did not finish within 3 s; stopped without waiting longer$/);
});

test('OTLP push chosen by `run`: the flags, then the policy\'s export.otlp, then the environment; a problem names where the URL came from', (t) => {
  const none = { endpoint: null, intervalMs: 10_000 };
  const policy = { endpoint: 'http://127.0.0.1:4318/v1/metrics', intervalMs: 30_000 };
  const flag = 'http://127.0.0.1:14318/v1/metrics';
  // the flags override the policy, each on its own
  t.deepEqual(otlpChoice({ endpoint: flag, intervalS: 5 }, policy, 'p.yaml', {}), { wanted: true, url: flag, intervalS: 5 });
  t.deepEqual(otlpChoice({ endpoint: flag }, policy, 'p.yaml', {}), { wanted: true, url: flag, intervalS: 30 });
  t.deepEqual(otlpChoice({ intervalS: 5 }, policy, 'p.yaml', {}), { wanted: true, url: policy.endpoint, intervalS: 5 });
  // neither: the environment decides, at the policy's interval
  t.deepEqual(otlpChoice({}, none, 'p.yaml', {}), { wanted: false, url: undefined, intervalS: 10 });
  t.deepEqual(otlpChoice({}, { ...none, intervalMs: 20_000 }, 'p.yaml', { OTEL_METRICS_EXPORTER: 'otlp' }), { wanted: true, url: undefined, intervalS: 20 });
  // the environment's own metrics endpoint is not held against a URL given
  const badEnv = { OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'collector:4318' };
  t.is(otlpChoice({}, policy, 'p.yaml', badEnv).problem, undefined);
  t.is(otlpChoice({ endpoint: flag }, none, 'p.yaml', badEnv).problem, undefined);
  t.is(otlpChoice({}, none, 'p.yaml', badEnv).problem, 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: must be an http:// or https:// URL, got collector:4318');
  // ...but its protocol is, however the push was turned on
  const grpc = { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' };
  t.is(otlpChoice({}, policy, 'p.yaml', grpc).problem, `OTEL_EXPORTER_OTLP_PROTOCOL=grpc: headroom pushes OTLP metrics over HTTP as JSON only (http/json) (the policy p.yaml pushes to ${policy.endpoint}: export.otlp.endpoint)`);
  t.is(otlpChoice({ endpoint: flag }, policy, 'p.yaml', grpc).problem, 'OTEL_EXPORTER_OTLP_PROTOCOL=grpc: headroom pushes OTLP metrics over HTTP as JSON only (http/json)');
  t.is(otlpChoice({}, none, 'p.yaml', grpc).problem, undefined, 'nothing pushed: nothing to refuse');
});

test('OTLP endpoint and protocol from the standard environment, and URLs that are none', (t) => {
  t.deepEqual(otlpEndpointFromEnv({}), { url: 'http://localhost:4318/v1/metrics', from: 'the default' });
  t.is(otlpEndpointFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).url, 'http://collector:4318/v1/metrics');
  t.is(otlpEndpointFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:1', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'https://b/m' }).url, 'https://b/m');
  t.true(otlpOnInEnv({ OTEL_METRICS_EXPORTER: 'prometheus, otlp' }));
  t.false(otlpOnInEnv({ OTEL_METRICS_EXPORTER: 'none' }));
  // the specification reads the exporter names case-insensitively
  t.true(otlpOnInEnv({ OTEL_METRICS_EXPORTER: 'OTLP' }));
  t.true(otlpOnInEnv({ OTEL_METRICS_EXPORTER: 'Prometheus,Otlp' }));
  t.is(badOtlpUrl('http://127.0.0.1:4318/v1/metrics'), undefined);
  t.is(badOtlpUrl('ftp://x'), 'must be an http:// or https:// URL, got ftp://x');
  t.is(badOtlpUrl('nope'), 'not a URL: nope');
  t.is(otlpEnvProblem({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }), 'OTEL_EXPORTER_OTLP_ENDPOINT: must be an http:// or https:// URL, got collector:4318/v1/metrics');
  t.is(otlpEnvProblem({ OTEL_EXPORTER_OTLP_ENDPOINT: 'nope', OTEL_LOGS_EXPORTER: 'none' }, 'http://given/v1/metrics'), undefined, 'an endpoint given on the command line wins');
  // (...for the metrics: the decisions' logs still go where the general endpoint says)
  t.is(otlpEnvProblem({ OTEL_EXPORTER_OTLP_ENDPOINT: 'nope' }, 'http://given/v1/metrics'), 'OTEL_EXPORTER_OTLP_ENDPOINT: not a URL: nope/v1/logs');
  t.is(otlpEnvProblem({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), 'OTEL_EXPORTER_OTLP_PROTOCOL=grpc: headroom pushes OTLP metrics over HTTP as JSON only (http/json)');
  t.is(otlpEnvProblem({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json' }), undefined);
  // the decisions go as logs: by the SDK's rules for the logs endpoint, else beside the metrics
  t.deepEqual(otlpLogsEndpoint('http://c:4318/v1/metrics', {}), { url: 'http://c:4318/v1/logs', from: 'the metrics URL' });
  t.deepEqual(otlpLogsEndpoint('https://c/otel/v1/metrics/', {}), { url: 'https://c/otel/v1/logs', from: 'the metrics URL' });
  t.deepEqual(otlpLogsEndpoint('http://c:9000/ingest', {}), { url: 'http://c:9000/v1/logs', from: 'the metrics URL' });
  t.deepEqual(otlpLogsEndpoint('http://c:4318/v1/metrics', { OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://l/x' }), { url: 'http://l/x', from: 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT' });
  // (a metrics-only endpoint says nothing of where logs go: the general one does)
  t.deepEqual(otlpLogsEndpoint('http://metrics-only:9090/api/v1/otlp/v1/metrics', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://gw:4318/' }), { url: 'http://gw:4318/v1/logs', from: 'OTEL_EXPORTER_OTLP_ENDPOINT' });
  for (const off of ['none', 'NONE', 'console', 'console,none']) t.deepEqual(otlpLogsEndpoint('http://c:4318/v1/metrics', { OTEL_LOGS_EXPORTER: off }), { url: undefined }, off);
  for (const on of ['', 'otlp', 'console, OTLP']) t.is(otlpLogsEndpoint('http://c:4318/v1/metrics', { OTEL_LOGS_EXPORTER: on }).url, 'http://c:4318/v1/logs', on);
  // a general protocol other than http/json (often set for other programs) leaves the decisions out, said; an explicit one for logs is refused
  t.deepEqual(otlpLogsEndpoint('http://c:4318/v1/metrics', { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json' }),
    { url: undefined, why: 'decisions and events are not pushed as OTLP logs: OTEL_EXPORTER_OTLP_PROTOCOL=grpc, and headroom sends http/json only (OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=http/json pushes them)' });
  t.is(otlpLogsEndpoint('http://c:4318/v1/metrics', { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json' }).url, 'http://c:4318/v1/logs');
  t.is(otlpEnvProblem({ OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'grpc' }),
    'OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=grpc: headroom pushes its decisions and events as OTLP logs over HTTP as JSON only (http/json; OTEL_LOGS_EXPORTER=none leaves them out)');
  t.is(otlpEnvProblem({ OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'grpc', OTEL_LOGS_EXPORTER: 'none' }), undefined);
  t.is(otlpEnvProblem({ OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'logs:4318' }, 'http://given/v1/metrics'), 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: must be an http:// or https:// URL, got logs:4318');
  t.throws(() => new OtlpPush({ url: 'nope', intervalMs: 1000, log: () => {} }), { message: 'OTLP endpoint not a URL: nope' });
});

/**
 * A log push to a collector that answers 500 while `collector.down` (not retried by the library:
 * each export fails at once), counting those in `collector.failed`; the push's lines in `logs`.
 */
async function pushToFailingCollector(t: ExecutionContext, opts: Partial<OtlpLogPushOptions> = {}) {
  const collector = { down: true, failed: 0 };
  const { url: metricsUrl, requests, refused } = await startCollector(t, () => (collector.down ? (collector.failed++, 500) : false));
  const url = metricsUrl.replace(/metrics$/, 'logs');
  const logs: string[] = [];
  const out = new OtlpLogPush({ url, log: (m) => logs.push(m), delayMs: 50, ...opts });
  t.teardown(() => out.shutdown());
  return { collector, url, requests, refused, logs, out };
}

test('OTLP decisions: each one a log record, its line the body and its fields attributes; a collector that fails is said once, nothing is lost, and it is said when it answers again', async (t) => {
  const { collector, url, requests, refused, logs, out } = await pushToFailingCollector(t);
  const w = workload('/batch/job', { containerId: 'c0ffee' });
  const throttle: Decision = { ...decision(w, 'throttle', 1.5), reason: 'P(p99 > 5 ms) = 0.9 > 0.5' };
  out.emit(throttle, 'enforce');
  await waitFor(() => logs.length > 0, 'a failed export to be said', 10_000);
  out.emit({ ...decision(w, 'throttle', 1.25), atMs: throttle.atMs + 1000 }, 'enforce');
  await waitFor(() => collector.failed >= 2, 'a second export, failing too', 10_000);
  collector.down = false;
  out.emit({ ...decision(w, 'release', null), atMs: throttle.atMs + 2000, reason: 'the critical workload is calm again' }, 'enforce');
  await waitFor(() => requests.some((r) => r.body.includes('calm again')) && logs.length >= 2, 'the decisions to arrive, and that be said', 10_000);
  t.deepEqual(logs, [`OTLP export of log records to ${url} failed (HTTP 500: Internal Server Error); they are held and sent again after 10 s (then less often while it fails), or with the next one`, `OTLP export of log records to ${url} works again`]);
  t.is(requests[0]!.path, '/v1/logs');
  t.is(requests[0]!.type, 'application/json');
  t.true(requests.every((r) => r.encoding === 'gzip'), 'gzipped, as the metrics, the environment choosing nothing');
  const bodies = requests.map((r) => JSON.parse(r.body) as OtlpLogsBody);
  t.true(bodies[0]!.resourceLogs[0]!.resource.attributes.some((a) => a.key === 'service.name' && a.value.stringValue === 'headroom'));
  const records = logRecordsOf(requests);
  // nothing lost while the collector failed: the decisions of the failed exports came with the next, in order
  t.deepEqual(records.map((r) => `${attributesOf(r)['headroom.action']} ${attributesOf(r)['headroom.cpu_cores'] ?? '-'}`), ['throttle 1.5', 'throttle 1.25', 'release -']);
  const release = records[2]!;
  t.is(release.body.stringValue, '[enforce] release v2:/batch/job cpu to its original setting: the critical workload is calm again');
  t.is(release.timeUnixNano, String((throttle.atMs + 2000) * 1e6));
  t.is(release.severityText, 'INFO');
  t.is(release.eventName, 'headroom.decision');
  const attrs = attributesOf(release);
  t.like(attrs, { 'headroom.action': 'release', 'headroom.mode': 'enforce', 'headroom.rule': 'protect-latency', 'headroom.workload.path': '/batch/job', 'container.id': 'c0ffee', 'headroom.reason': 'the critical workload is calm again' });
  t.false('headroom.cpu_cores' in attrs, 'no cores on a release');
  // a record sent again is the same record: its log.record.uid is the one the failed export carried
  const uidOf = (rs: ReturnType<typeof logRecordsOf>, action: string): unknown => rs.map(attributesOf).find((a) => a['headroom.action'] === action)?.['log.record.uid'];
  const firstTry = uidOf(logRecordsOf(refused), 'throttle');
  t.truthy(firstTry);
  t.is(uidOf(records, 'throttle'), firstTry);
  t.not(uidOf(records, 'throttle'), uidOf(records, 'release'));
  // at a stop, what waits is sent
  out.emit({ ...decision(w, 'throttle', 1), atMs: throttle.atMs + 3000, reason: 'at the stop' }, 'enforce');
  await out.shutdown();
  t.true(requests.some((r) => r.body.includes('at the stop')), 'the last decision sent at the stop');
});

test('OTLP log records: the overhead governor\'s switches and OOM kills go beside the decisions, each its line and fields', async (t) => {
  const { url: metricsUrl, requests } = await startCollector(t);
  const url = metricsUrl.replace(/metrics$/, 'logs');
  const out = new OtlpLogPush({ url, log: (m) => t.fail(m), delayMs: 50 });
  const atMs = Date.UTC(2026, 11, 2, 10, 0, 0);
  out.emitOverhead({ atMs, probe: 'faults', from: 'full', to: 'sampled', reason: 'probes cost 3.1% of a CPU over a 2% budget' });
  out.emitOomKill({ kind: 'oom_kill', workload: { id: 'v1-memory:/jobs/a', path: '/jobs/a' }, pid: 4242, comm: 'stress-ng', detail: { rssPages: 16384 } }, atMs + 1000);
  await waitFor(() => requests.length > 0, 'the records to arrive', 10_000);
  await out.shutdown();
  const records = logRecordsOf(requests);
  t.deepEqual(records.map((r) => [r.eventName, r.severityText, r.body.stringValue]), [
    ['headroom.overhead', 'INFO', '[overhead] faults full -> sampled: probes cost 3.1% of a CPU over a 2% budget'],
    ['headroom.oom_kill', 'WARN', '[oom_kill] v1-memory:/jobs/a pid 4242 (stress-ng) rssPages=16384'],
  ]);
  t.like(attributesOf(records[0]!), { 'headroom.probe': 'faults', 'headroom.overhead.from': 'full', 'headroom.overhead.to': 'sampled', 'headroom.reason': 'probes cost 3.1% of a CPU over a 2% budget' });
  t.like(attributesOf(records[1]!), { 'headroom.workload.id': 'v1-memory:/jobs/a', 'headroom.workload.path': '/jobs/a', 'process.executable.name': 'stress-ng' });
  t.like(attributesOf(records[1]!), { 'process.pid': 4242, 'headroom.oom.rssPages': 16384 });
  t.is(records[1]!.timeUnixNano, String((atMs + 1000) * 1e6));
});

test('OTLP log records: a task run\'s start with its forecast and its end with its outcome, each its line and fields', async (t) => {
  const { url: metricsUrl, requests } = await startCollector(t);
  const out = new OtlpLogPush({ url: metricsUrl.replace(/metrics$/, 'logs'), log: (m) => t.fail(m), delayMs: 50 });
  const atMs = Date.UTC(2026, 11, 2, 11, 0, 0);
  const w = { id: 'v1-cpu:/jobs/b', path: '/jobs/b' } as Workload;
  const signature = 'ab'.repeat(32);
  const peak = { cpuCores: { mean: 0.9, p90: 1 }, memPeakBytes: { mean: 11 * 2 ** 20, p90: 12 * 2 ** 20 }, memSustainedBytes: { mean: 0, p90: 0 }, ioBytesPerSec: { mean: 0, p90: 0 }, netBytesPerSec: { mean: 0, p90: 0 } };
  // memory measured in fewer of the runs: its own confidence lower, said on the line and as an attribute
  const confidenceOf = { cpuCores: 0.71, memPeakBytes: 0.5, memSustainedBytes: 0.5, ioBytesPerSec: 0.71, netBytesPerSec: 0.71 };
  const forecast = { signature, runs: 3, confidence: 0.71, confidenceOf, durationMs: { mean: 4000, p90: 4300 }, binMs: 200, curve: {} as never, peak, runPeak: peak };
  out.emitRun({ kind: 'run-start', atMs, workload: w, signature, task: { exe: '/usr/bin/stress-ng', args: ['--cpu', '1'] }, forecast });
  // (its cgroup found late: its first 1.2 s seen by no tick, left out of its profile)
  out.emitRun({
    kind: 'run-end', atMs: atMs + 4100, workload: w, signature, durationMs: 4100, recorded: true, runs: 4, unseenMs: 1200, unseenBecause: 'found-late',
    beyondForecast: [{ what: 'memory_peak_bytes', actual: 30 * 2 ** 20, p90: 12 * 2 ** 20 }],
  });
  out.emitRun({ kind: 'run-end', atMs: atMs + 5000, workload: w, signature: null, durationMs: 900, recorded: false, reason: 'its task could not be read' });
  // a task whose past runs' memory was not measured (a cgroup the memory controller does not see)
  const { memPeakBytes: _p, memSustainedBytes: _s, ...cpuOnly } = peak;
  const { memPeakBytes: _cp, memSustainedBytes: _cs, ...cpuOnlyConfidence } = confidenceOf;
  out.emitRun({ kind: 'run-start', atMs: atMs + 6000, workload: w, signature, task: { exe: '/usr/bin/stress-ng', args: ['--cpu', '1'] }, forecast: { ...forecast, peak: cpuOnly, runPeak: cpuOnly, confidenceOf: cpuOnlyConfidence } });
  await waitFor(() => logRecordsOf(requests).length >= 4, 'the records to arrive', 10_000);
  await out.shutdown();
  const records = logRecordsOf(requests);
  t.deepEqual(records.map((r) => [r.eventName, r.severityText, r.body.stringValue, r.timeUnixNano]), [
    ['headroom.task_run', 'INFO', '[run] v1-cpu:/jobs/b started: stress-ng --cpu 1 (task abababab): expected 4.0 s (p90 4.3 s), peak 1.00 cores, 12 MiB (3 runs, confidence 0.71, memory 0.50)', String(atMs * 1e6)],
    ['headroom.task_run', 'INFO', '[run] v1-cpu:/jobs/b ended after 4.1 s (task abababab): recorded (4 runs behind its profile); its first 1.2 s not seen (its cgroup found late): left out of its profile; beyond its forecast: memory peak 30 MiB (p90 12 MiB)', String((atMs + 4100) * 1e6)],
    ['headroom.task_run', 'INFO', '[run] v1-cpu:/jobs/b ended after 0.9 s: not recorded: its task could not be read', String((atMs + 5000) * 1e6)],
    ['headroom.task_run', 'INFO', '[run] v1-cpu:/jobs/b started: stress-ng --cpu 1 (task abababab): expected 4.0 s (p90 4.3 s), peak 1.00 cores, memory not measured (3 runs, confidence 0.71)', String((atMs + 6000) * 1e6)],
  ]);
  const [start, end, unread, noMemory] = records.map(attributesOf);
  // each its own id, for a collector to tell a copy (at-least-once delivery) from a new record
  const uids = [start, end, unread, noMemory].map((a) => a!['log.record.uid']);
  t.true(uids.every((u) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(String(u))), String(uids));
  t.is(new Set(uids).size, records.length);
  t.like(start, {
    'headroom.workload.id': w.id, 'headroom.workload.path': w.path, 'headroom.run.kind': 'start', 'headroom.task.signature': signature,
    'process.executable.path': '/usr/bin/stress-ng', 'headroom.run.profile_runs': 3, 'headroom.run.confidence': 0.71,
    'headroom.run.expected_duration_seconds': 4, 'headroom.run.expected_duration_p90_seconds': 4.3,
    'headroom.run.expected_peak_p90.cpu_cores': 1, 'headroom.run.expected_peak_p90.memory_peak_bytes': 12 * 2 ** 20, 'headroom.run.expected_peak_p90.net_bytes_per_s': 0,
    'headroom.run.resource_confidence.cpu_cores': 0.71, 'headroom.run.resource_confidence.memory_peak_bytes': 0.5,
  });
  t.deepEqual(start!['headroom.task.args'], ['--cpu', '1']);
  t.like(end, {
    'headroom.run.kind': 'end', 'headroom.task.signature': signature, 'headroom.run.duration_seconds': 4.1, 'headroom.run.recorded': true, 'headroom.run.profile_runs': 4,
    'headroom.run.beyond_forecast.memory_peak_bytes': 30 * 2 ** 20, 'headroom.run.beyond_forecast.memory_peak_bytes_p90': 12 * 2 ** 20,
    'headroom.run.unseen_seconds': 1.2, 'headroom.run.unseen_because': 'found-late',
  });
  t.false('headroom.run.unseen_seconds' in unread!, 'none where its whole run was seen');
  t.like(unread, { 'headroom.run.kind': 'end', 'headroom.run.recorded': false, 'headroom.reason': 'its task could not be read' });
  t.false('headroom.task.signature' in unread!, 'no signature when the task could not be read');
  t.like(noMemory, { 'headroom.run.expected_peak_p90.cpu_cores': 1 });
  t.false('headroom.run.expected_peak_p90.memory_peak_bytes' in noMemory!, 'no memory attribute (not a 0) where no run measured it');
  t.false('headroom.run.resource_confidence.memory_peak_bytes' in noMemory!, 'no memory confidence where no run measured it');
});

test('OTLP decisions: what a failed export held is sent again on a timer, with no new decision to carry it', async (t) => {
  const { collector, url, requests, logs, out } = await pushToFailingCollector(t, { retryMs: 200 });
  out.emit({ ...decision(workload('/batch/job'), 'throttle', 1.5), reason: 'the last one for a while' }, 'enforce');
  await waitFor(() => logs.length > 0, 'the failed export to be said', 10_000);
  // two retries (after 0.2 s, then 0.4 s), failing too: said once
  await waitFor(() => collector.failed >= 3, 'two retries', 10_000);
  collector.down = false;
  await waitFor(() => requests.some((r) => r.body.includes('the last one for a while')), 'the held decision to arrive on its own', 10_000);
  await waitFor(() => logs.length >= 2, 'its arrival to be said', 10_000);
  t.deepEqual(logs, [`OTLP export of log records to ${url} failed (HTTP 500: Internal Server Error); they are held and sent again after 0.2 s (then less often while it fails), or with the next one`, `OTLP export of log records to ${url} works again`]);
  t.is(requests.filter((r) => r.body.includes('the last one for a while')).length, 1, 'sent once it could be, and only once');
  await out.shutdown();
  t.false(logs.some((l) => l.includes('not sent')), 'nothing left at the stop');
});

test('OTLP decisions: a URL worked out from the metrics one that takes no logs is said once and no longer pushed; a refused batch is not sent again; a stop says what it could not send', async (t) => {
  let answer: boolean | number = 404;
  let posts = 0;
  const { url: metricsUrl, requests } = await startCollector(t, () => (posts++, answer));
  const url = metricsUrl.replace(/metrics$/, 'logs');
  const w = workload('/batch/job');
  // guessed: a 404 stops the push
  const guessedLogs: string[] = [];
  const guessed = new OtlpLogPush({ url, guessed: true, log: (m) => guessedLogs.push(m), delayMs: 50 });
  guessed.emit(decision(w, 'throttle', 1.5), 'enforce');
  await waitFor(() => guessedLogs.length > 0, 'the 404 to be said', 10_000);
  guessed.emit(decision(w, 'throttle', 1.25), 'enforce');
  await sleep(300);
  await guessed.shutdown();
  t.is(posts, 1, 'nothing more sent to a URL that takes no logs');
  t.deepEqual(guessedLogs, [`OTLP export of log records to ${url}: HTTP 404, it takes no logs (that URL was worked out from the metrics one); decisions and events are no longer pushed: set OTEL_EXPORTER_OTLP_LOGS_ENDPOINT, or OTEL_LOGS_EXPORTER=none`]);
  // given: a 400 refuses that batch, the next one goes alone
  answer = 400;
  const givenLogs: string[] = [];
  const given = new OtlpLogPush({ url, log: (m) => givenLogs.push(m), delayMs: 50 });
  given.emit({ ...decision(w, 'throttle', 1.5), reason: 'refused one' }, 'enforce');
  await waitFor(() => givenLogs.length > 0, 'the 400 to be said', 10_000);
  answer = false;
  given.emit({ ...decision(w, 'throttle', 1.25), reason: 'taken one' }, 'enforce');
  await waitFor(() => requests.length > 0, 'the next decision to arrive', 10_000);
  await given.shutdown();
  t.deepEqual(givenLogs, [`OTLP export of log records to ${url}: HTTP 400, 1 record refused; not sent again`]);
  t.false(requests.some((r) => r.body.includes('refused one')));
  t.true(requests.some((r) => r.body.includes('taken one')));
  // a stop while the collector fails: how many were not sent
  answer = 500;
  const stopLogs: string[] = [];
  const stopping = new OtlpLogPush({ url, log: (m) => stopLogs.push(m), delayMs: 60_000 });
  stopping.emit(decision(w, 'throttle', 1.5), 'enforce');
  stopping.emit(decision(w, 'release', null), 'enforce');
  await stopping.shutdown();
  t.is(stopLogs.at(-1), `OTLP export of log records to ${url}: 2 records not sent`);
});

test('decision log: one human line, and a JSON record', (t) => {
  const w = workload('/a/b', { id: 'v1-cpu:/a/b', hierarchy: 'v1-cpu', containerId: 'c0ffee' });
  const d: Decision = { ...decision(w, 'throttle', 1.5), reason: 'P(p99 > 5 ms) = 0.9 > 0.5', atMs: Date.UTC(2024, 0, 2, 3, 4, 5) };
  t.is(formatDecision(d, 'recommend'), '[recommend] throttle v1-cpu:/a/b cpu to 1.50 cores: P(p99 > 5 ms) = 0.9 > 0.5');
  t.is(formatDecision({ ...d, action: 'restore', cpuCores: null }, 'enforce'),
    '[enforce] restore v1-cpu:/a/b cpu to its original setting: P(p99 > 5 ms) = 0.9 > 0.5');

  const rec = decisionRecord(d, 'enforce');
  t.deepEqual(JSON.parse(JSON.stringify(rec)), {
    type: 'decision', id: d.id, at: '2024-01-02T03:04:05.000Z', atMs: d.atMs, mode: 'enforce', rule: 'protect-latency',
    action: 'throttle', resource: 'cpu', cpuCores: 1.5,
    workload: { id: 'v1-cpu:/a/b', path: '/a/b', hierarchy: 'v1-cpu', containerId: 'c0ffee' },
    reason: 'P(p99 > 5 ms) = 0.9 > 0.5',
  });
  t.is(decisionRecord({ ...d, cpuCores: null }, 'observe').cpuCores, null);
  // a write that failed says so, in both (it was shown as done)
  const failed = { ...d, notApplied: 'appending to journal /s/journal.jsonl: ENOSPC: no space left on device' };
  t.is(formatDecision(failed, 'enforce'), '[enforce] throttle v1-cpu:/a/b cpu to 1.50 cores (NOT APPLIED: appending to journal /s/journal.jsonl: ENOSPC: no space left on device): P(p99 > 5 ms) = 0.9 > 0.5');
  t.is(decisionRecord(failed, 'enforce').notApplied, failed.notApplied);
  t.false('notApplied' in decisionRecord(d, 'enforce'));
});

// ---- a real Prometheus server scrapes the endpoint ----

const PROMETHEUS = '/usr/bin/prometheus';

async function promQuery(base: string, query: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { status: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (body.status !== 'success' || !body.data) throw new Error(`query ${query}: ${JSON.stringify(body)}`);
  return body.data.result;
}

testIf(existsSync(PROMETHEUS), `the Prometheus server (${PROMETHEUS})`, 'a real Prometheus server scrapes the endpoint and reads the histogram', async (t) => {
  const { ep } = await endpoint(t);
  const w = workload('/headroom-test/prom');
  ep.update(tick(1, [workloadReport(w)]));

  const dir = mkdtempSync(join(tmpdir(), 'headroom-prom-'));
  const webPort = await freePort();
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    'scrape_configs:',
    '  - job_name: headroom',
    '    static_configs:',
    `      - targets: ['127.0.0.1:${ep.port}']`,
    '',
  ].join('\n'));
  const server = start(PROMETHEUS, [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${webPort}`,
    '--log.level=warn',
  ], { timeoutMs: 90_000 }); // bounded even if a teardown never runs
  t.teardown(async () => {
    server.child.kill('SIGKILL');
    await server.done;
    rmSync(dir, { recursive: true, force: true });
  });

  const base = `http://127.0.0.1:${webPort}`;
  const countQuery = `${RUNQ_METRIC}_count{workload="${w.id}"}`;
  try {
    await waitFor(async () => {
      if (server.child.exitCode !== null) throw new Error(`prometheus exited: ${server.stderr()}`);
      try {
        return (await promQuery(base, countQuery)).length > 0;
      } catch {
        return false; // not up yet
      }
    }, 'a first scrape by prometheus', 45_000);
  } catch (err) {
    t.log(server.stderr());
    throw err;
  }

  const [count] = await promQuery(base, countQuery);
  t.is(count.value[1], '11');
  t.like(count.metric, { job: 'headroom', instance: `127.0.0.1:${ep.port}`, workload: w.id, path: w.path, hierarchy: 'v2' });
  const [up] = await promQuery(base, 'up{job="headroom"}');
  t.is(up.value[1], '1', 'the scrape succeeded');
  // Prometheus reads the buckets as a histogram: rank 5.5 of 11 lies in the [2 us, 4 us) bucket
  // (3 below it, 5 in it), so the median interpolates to 2 + 2 * 2.5 / 5 = 3 us.
  const [median] = await promQuery(base, `histogram_quantile(0.5, ${RUNQ_METRIC}_bucket{workload="${w.id}"})`);
  t.true(Math.abs(Number(median.value[1]) - 3e-6) < 1e-12, `median ${median.value[1]}`);
  const buckets = await promQuery(base, `${RUNQ_METRIC}_bucket{workload="${w.id}"}`);
  t.is(buckets.length, SLOTS);
});

test('OTLP push: a collector that answers 429 to every try, or answers too late, is said in words that name the cause', async (t) => {
  // (the library's own words: "Export failed with retryable status", "Request timed out")
  for (const [mode, said] of [['busy', /failed \(the collector answered HTTP 429, 502, 503 or 504 \(busy or unavailable: try later\) to every try\); retrying every 0\.4 s$/], ['slow', /failed \(no answer within 0\.4 s: the collector may have taken it, and be slow to say so\); retrying every 0\.4 s$/]] as const) {
    const server = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (mode === 'busy') res.writeHead(429, { 'Retry-After': '5' }).end();
        else setTimeout(() => res.writeHead(200).end(), 1500).unref();
      });
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    t.teardown(() => { server.closeAllConnections(); server.close(); });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/metrics`;
    const logs: string[] = [];
    const push = new OtlpPush({ url, intervalMs: 400, log: (m) => logs.push(m) });
    push.update(tick(1, [workloadReport(workload('/a'), { cpu: { seconds: 7, cores: 1 } })]));
    await waitFor(() => logs.length > 0, `a failed push (${mode}) to be said`, 10_000);
    await push.shutdown();
    t.regex(logs[0]!, said, mode);
  }
});
