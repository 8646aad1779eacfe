// Per-workload metrics, built from the latest tick report at each scrape.
//
// Why a MetricProducer and not SDK instruments: with cumulative temporality (the only one the
// Prometheus exporter uses) sdk-metrics 3.1 keeps every attribute set it has ever seen and
// reports its last value forever, so a workload that ends would stay exported. And the SDK's
// Histogram records single values, while the kernel hands us buckets already aggregated. A
// producer emits exactly the workloads of the latest report, and the buckets as they are.
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { emptyResource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type DataPoint,
  type GaugeMetricData,
  type Histogram,
  type HistogramMetricData,
  type MetricData,
  type MetricDescriptor,
  type MetricProducer,
  type SumMetricData,
} from '@opentelemetry/sdk-metrics';
import type { Resource } from '../agent/predict/profiles.js';
import { AHEAD_RESOURCES } from '../agent/predict/task-runs.js';
import type { TickReport } from '../agent/report.js';
import type { Workload } from '../agent/workloads/types.js';
import { log2Histogram } from './log2-histogram.js';
import { MonotoneCounters } from './monotone.js';

const SCOPE = { name: 'headroom' };
/** The demand confidence's model where a run's task profile gave the forecast (DemandForecast.fromTask). */
const TASK_PROFILE_MODEL = 'task-profile';

/** The labels that name a workload on each of its series. */
export function workloadLabels(w: Workload): Attributes {
  const labels: Attributes = { workload: w.id, path: w.path, hierarchy: w.hierarchy };
  if (w.containerId) labels.container_id = w.containerId;
  if (w.podUid) labels.pod_uid = w.podUid;
  return labels;
}

export function hrTimeOfMs(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  const ns = Math.min(999_999_999, Math.round((ms - s * 1000) * 1e6));
  return [s, ns];
}

/** A profile's resources as the demand metrics name them (and the task-run log records). */
export const RUN_RESOURCE = {
  cpuCores: 'cpu_cores', memPeakBytes: 'memory_peak_bytes', memSustainedBytes: 'memory_sustained_bytes',
  ioBytesPerSec: 'io_bytes_per_s', netBytesPerSec: 'net_bytes_per_s',
} as const satisfies Record<Resource, string>; // (every profile resource named: a new one that is not fails to compile)

interface DecisionSeries {
  workloadId: string;
  attributes: Attributes;
  value: number;
  startTime: HrTime;
}

export class ReportMetricProducer implements MetricProducer {
  private report: TickReport | null = null;
  /** start time of each present workload's cumulative series */
  private readonly firstSeen = new Map<string, HrTime>();
  /** headroom_decisions_total, by its label set */
  private readonly decisions = new Map<string, DecisionSeries>();
  /** headroom_task_runs_total, by outcome (recorded / held / not_recorded), from the first tick */
  private readonly runsEnded = new Map<string, number>();
  private runsSince: HrTime | null = null;
  /** the workloads' cumulative figures as exported: never lower than at the last scrape */
  private readonly monotone = new MonotoneCounters();

  update(report: TickReport): void {
    const at = hrTimeOfMs(report.atMs);
    const present = new Set(report.workloads.map((w) => w.workload.id));
    // A decision may name a workload this tick no longer lists (a restore at stop): keep it once.
    for (const d of report.decisions) present.add(d.workload.id);
    for (const id of present) if (!this.firstSeen.has(id)) this.firstSeen.set(id, at);

    for (const d of report.decisions) {
      const attributes = { action: d.action, rule: d.rule, workload: d.workload.id, mode: report.mode };
      const key = JSON.stringify(attributes);
      const series = this.decisions.get(key) ?? { workloadId: d.workload.id, attributes, value: 0, startTime: at };
      series.value++;
      this.decisions.set(key, series);
    }

    // (every outcome from the first tick, at 0: a counter that appears only at its first run's end
    // hides that run from increase() and rate())
    if (this.runsSince === null) for (const outcome of ['recorded', 'held', 'not_recorded']) this.runsEnded.set(outcome, 0);
    this.runsSince ??= at;
    for (const e of report.runs ?? []) {
      if (e.kind !== 'run-end') continue;
      // (a held run counts once, as held: the run it is later learned with counts as recorded,
      // its learned_with in the run's log record)
      const outcome = e.recorded ? 'recorded' : e.heldBack ? 'held' : 'not_recorded';
      this.runsEnded.set(outcome, (this.runsEnded.get(outcome) ?? 0) + 1);
    }

    // Forget what left, so its series stop being exported.
    for (const id of this.firstSeen.keys()) if (!present.has(id)) this.firstSeen.delete(id);
    for (const [key, s] of this.decisions) if (!present.has(s.workloadId)) this.decisions.delete(key);
    this.report = report;
  }

  async collect(): Promise<CollectionResult> {
    const metrics = this.report ? this.build(this.report, hrTimeOfMs(Date.now())) : [];
    // The exporter replaces this resource with the MeterProvider's own.
    return { resourceMetrics: { resource: emptyResource(), scopeMetrics: [{ scope: SCOPE, metrics }] }, errors: [] };
  }

  private build(report: TickReport, end: HrTime): MetricData[] {
    const cpu: DataPoint<number>[] = [];
    const switches: DataPoint<number>[] = [];
    const runq: DataPoint<Histogram>[] = [];
    const forecast: DataPoint<number>[] = [];
    const contention: DataPoint<number>[] = [];
    const confidence: DataPoint<number>[] = [];
    const throttle: DataPoint<number>[] = [];
    const faults: DataPoint<number>[] = [];
    const reclaimSeconds: DataPoint<number>[] = [];
    const reclaimStalls: DataPoint<number>[] = [];
    const ooms: DataPoint<number>[] = [];
    const ioBytes: DataPoint<number>[] = [];
    const ioOps: DataPoint<number>[] = [];
    const ioLatency: DataPoint<Histogram>[] = [];
    const tcpBytes: DataPoint<number>[] = [];
    const retransmits: DataPoint<number>[] = [];
    const connections: DataPoint<number>[] = [];
    const demandQ: DataPoint<number>[] = [];
    const demandP: DataPoint<number>[] = [];
    const saturation: DataPoint<number>[] = [];
    const demandConfidence: DataPoint<number>[] = [];
    const demandLimit: DataPoint<number>[] = [];
    const demandHeld: DataPoint<number>[] = [];
    const memoryBytes: DataPoint<number>[] = [];
    const memoryLimit: DataPoint<number>[] = [];
    const cpuLimit: DataPoint<number>[] = [];
    const runElapsed: DataPoint<number>[] = [];
    const runDuration: DataPoint<number>[] = [];
    const runPeak: DataPoint<number>[] = [];
    const runAhead: DataPoint<number>[] = [];

    for (const w of report.workloads) {
      const labels = workloadLabels(w.workload);
      const startTime = this.firstSeen.get(w.workload.id) ?? end;
      const point = <T>(value: T, extra: Attributes = {}): DataPoint<T> =>
        ({ startTime, endTime: end, attributes: { ...labels, ...extra }, value });
      // a counter's point, its value carried over any drop of the sum (monotone.ts)
      // (the extra labels' values tell a workload's series of one name apart: their keys are the name's)
      const seriesKey = (name: string, extra: Attributes): string => {
        let key = `${w.workload.id}\0${name}`;
        for (const label in extra) key += `\0${String(extra[label])}`;
        return key;
      };
      const total = (name: string, value: number, extra: Attributes = {}): DataPoint<number> =>
        point(this.monotone.value(seriesKey(name, extra), value), extra);
      const buckets = (name: string, slots: readonly number[], sumSeconds: number, extra: Attributes = {}): DataPoint<Histogram> => {
        const key = seriesKey(name, extra);
        return point(log2Histogram(this.monotone.counts(key, slots), this.monotone.value(`${key}\0sum`, sumSeconds)), extra);
      };

      // (none while the sched probe, kept to the policy's workloads, counts nothing of this one: a
      // series frozen then would read as a workload that ran nothing; nor while its cores come from
      // its cgroup's CPU time: its seconds, the probe's, are frozen then)
      if (w.cpu.cores !== null && !w.cpu.counter) {
        cpu.push(total('cpu', w.cpu.seconds));
        switches.push(total('switches', w.switches.voluntary, { kind: 'voluntary' }), total('switches', w.switches.involuntary, { kind: 'involuntary' }));
        runq.push(buckets('runq', w.runq.slots, w.runq.sumSeconds));
      }
      if (w.forecast) {
        for (const [q, ms] of Object.entries(w.forecast.quantiles)) forecast.push(point(ms / 1000, { forecast_quantile: q }));
        contention.push(point(w.forecast.pContention, { resource: 'cpu', metric: 'runqueue_p99' }));
        confidence.push(point(w.forecast.confidence));
      }
      if (typeof w.throttleCores === 'number') throttle.push(point(w.throttleCores));
      if (w.memory) {
        faults.push(total('faults', w.memory.minorFaults, { kind: 'minor' }), total('faults', w.memory.majorFaults, { kind: 'major' }));
        reclaimSeconds.push(total('reclaim-seconds', w.memory.reclaimSeconds));
        reclaimStalls.push(total('reclaim-stalls', w.memory.reclaimStalls));
        ooms.push(total('ooms', w.memory.oomKills));
      }
      for (const [device, d] of Object.entries(w.io?.devices ?? {})) {
        ioBytes.push(total('io-bytes', d.readBytes, { device, direction: 'read' }), total('io-bytes', d.writeBytes, { device, direction: 'write' }));
        ioOps.push(total('io-ops', d.readOps, { device, direction: 'read' }), total('io-ops', d.writeOps, { device, direction: 'write' }));
        ioLatency.push(buckets('io-latency', d.latency.slots, d.latency.sumSeconds, { device }));
      }
      if (w.net) {
        tcpBytes.push(total('tcp-bytes', w.net.txBytes, { direction: 'sent' }), total('tcp-bytes', w.net.rxBytes, { direction: 'received' }));
        retransmits.push(total('retransmits', w.net.retransmits));
        connections.push(total('connections', w.net.opened, { event: 'opened' }), total('connections', w.net.closed, { event: 'closed' }));
      }
      if (w.usage?.memoryBytes != null) memoryBytes.push(point(w.usage.memoryBytes));
      if (w.usage?.memoryLimitBytes != null) memoryLimit.push(point(w.usage.memoryLimitBytes, { source: w.usage.memoryLimitSource ?? 'cgroup' }));
      if (w.usage?.cpuLimitCores != null) cpuLimit.push(point(w.usage.cpuLimitCores, { source: w.usage.cpuLimitSource ?? 'cgroup' }));
      // a run's series start once its task is known (one identity per run)
      if (w.run?.signature) {
        const task = { task: w.run.signature.slice(0, 16) };
        runElapsed.push(point(w.run.elapsedMs / 1000, task));
        const x = w.run.expected;
        if (x) {
          runDuration.push(point(x.durationMs.mean / 1000, { ...task, stat: 'mean' }), point(x.durationMs.p90 / 1000, { ...task, stat: 'p90' }));
          for (const [resource, peak] of Object.entries(x.peak)) {
            const name = RUN_RESOURCE[resource as keyof typeof RUN_RESOURCE];
            runPeak.push(point(peak.mean, { ...task, resource: name, stat: 'mean' }), point(peak.p90, { ...task, resource: name, stat: 'p90' }));
          }
          for (const a of x.ahead) {
            const at = { ...task, horizon_seconds: String(a.horizonMs / 1000) };
            for (const resource of AHEAD_RESOURCES) {
              const v = a[resource];
              if (v !== null) runAhead.push(point(v, { ...at, resource: RUN_RESOURCE[resource] }));
            }
          }
        }
      }
      for (const d of Object.values(w.demand ?? {})) {
        for (const win of d.windows) {
          const at = { resource: d.resource, horizon_seconds: String(win.horizonMs / 1000), window: d.windowsOf };
          demandQ.push(point(win.p50, { ...at, forecast_quantile: '0.5' }), point(win.p90, { ...at, forecast_quantile: '0.9' }), point(win.p99, { ...at, forecast_quantile: '0.99' }));
          if (win.pContention !== null) demandP.push(point(win.pContention, { ...at, source: d.limitSource ?? 'cgroup' }));
        }
        if (d.timeToSaturationMs !== null) saturation.push(point(d.timeToSaturationMs / 1000, { resource: d.resource }));
        // (a forecast its run's task profile gave says so: a P that jumps as a known task starts is explained)
        demandConfidence.push(point(d.confidence, { resource: d.resource, model: d.fromTask ? TASK_PROFILE_MODEL : d.model }));
        if (d.limit !== null) demandLimit.push(point(d.limit, { resource: d.resource, source: d.limitSource ?? 'cgroup' }));
        // (why headroom_demand_limit{source="host"} moves between the host's CPUs and the workload's own use)
        if (d.resource === 'cpu_cores' && d.limit !== null) demandHeld.push(point(d.held ? 1 : 0, { resource: d.resource }));
      }
    }
    // the overhead governor's current variant only: one series per probe
    const variants = Object.entries(report.health.probes).map(
      ([probe, p]): DataPoint<number> => ({ startTime: end, endTime: end, attributes: { probe, variant: p.variant }, value: 1 }),
    );
    const decisions = [...this.decisions.values()].map(
      (s): DataPoint<number> => ({ startTime: s.startTime, endTime: end, attributes: s.attributes, value: s.value }),
    );

    const out: MetricData[] = [
      counter('headroom_workload_cpu_seconds_total', 'CPU time used by the workload', 'seconds', cpu),
      counter('headroom_workload_context_switches_total', 'Context switches of the workload, by kind', '', switches),
      histogram('headroom_workload_runqueue_latency_seconds',
        'Time runnable tasks of the workload waited for a CPU (kernel log2 buckets)', 'seconds', runq),
      gauge('headroom_forecast_runqueue_p99_seconds',
        'Forecast of the run-queue latency p99 over the horizon, by forecast quantile', 'seconds', forecast),
      gauge('headroom_contention_probability', 'Probability that the metric exceeds its objective within the horizon', '', contention),
      gauge('headroom_forecast_confidence', 'How much history the forecast stands on (0..1)', '', confidence),
      gauge('headroom_throttle_cores', "CPU cores currently allowed by headroom's own throttle", '', throttle),
      counter('headroom_decisions_total', 'Decisions taken by the planner', '', decisions),
      counter('headroom_workload_page_faults_total', 'User page faults of the workload, by kind (major: waited for I/O)', '', faults),
      counter('headroom_workload_reclaim_stall_seconds_total', 'Time its tasks stalled in direct or cgroup-limit memory reclaim', 'seconds', reclaimSeconds),
      counter('headroom_workload_reclaim_stalls_total', 'Memory reclaim passes its tasks stalled in', '', reclaimStalls),
      counter('headroom_workload_oom_kills_total', 'Tasks of the workload the OOM killer chose', '', ooms),
      counter('headroom_workload_io_bytes_total', 'Block I/O bytes the workload submitted, by device and direction', 'bytes', ioBytes),
      counter('headroom_workload_io_operations_total', 'Block I/O requests the workload submitted, by device and direction', '', ioOps),
      histogram('headroom_workload_io_latency_seconds', 'Block I/O latency from issue to completion, by device (kernel log2 buckets)', 'seconds', ioLatency),
      counter('headroom_workload_tcp_bytes_total', 'TCP payload bytes the workload sent and received', 'bytes', tcpBytes),
      counter('headroom_workload_tcp_retransmits_total', 'TCP segments retransmitted on the workload\'s connections', '', retransmits),
      counter('headroom_workload_tcp_connections_total', 'TCP connections of the workload, by event', '', connections),
      gauge('headroom_workload_memory_bytes', 'Memory the workload\'s cgroup holds', 'bytes', memoryBytes),
      gauge('headroom_workload_memory_limit_bytes', 'Memory the workload\'s cgroup may hold: the tighter of its own limit and its ancestors\' (less what their other cgroups hold); source: cgroup, parent', 'bytes', memoryLimit),
      gauge('headroom_workload_cpu_limit_cores', 'CPUs the workload\'s cgroup may use, in cores: the tightest of its quota, its ancestors\' and its CPU set; source: cgroup, parent, cpuset', '', cpuLimit),
      gauge('headroom_demand_forecast', 'Forecast demand by resource (cpu_cores in cores, memory_bytes in bytes, *_bytes_per_s in bytes/s, io_ops_per_s in block I/Os a second), horizon and quantile; window: peak (of the peak within the horizon, the default models) or value (of the value at its end)', '', demandQ),
      gauge('headroom_demand_contention_probability', 'Probability that demand reaches what the workload may use (headroom_demand_limit, its source as there; within 1% of it or above) within the horizon (window: peak) or at its end (window: value)', '', demandP),
      gauge('headroom_demand_limit', 'What the workload may use: the tighter of its cgroup limit and what the host leaves it (cores, bytes; on a full host, all its CPUs where it hardly waits to run: its run-queue wait under a quarter of its runnable time or 0.05 s a second); source: cgroup, parent, cpuset, host', '', demandLimit),
      gauge('headroom_demand_held', 'Whether the workload\'s CPU is held at what the others leave it (1): the host is full and it waits to run (its run-queue wait, estimated over its last few ticks, a quarter of its runnable time and 0.05 s a second or more), so headroom_demand_limit is its own use and its contention certain; 0: not held', '', demandHeld),
      gauge('headroom_demand_time_to_saturation_seconds', 'Time until the forecast p90 demand reaches the limit, within 1% (0: there already); absent when not foreseen', 'seconds', saturation),
      gauge('headroom_demand_forecast_confidence', 'Confidence of the demand forecast: history behind it, lowered by its recent relative error (0..1); model: the forecaster behind it (demand_model, or the one auto chose), or task-profile where its run\'s task profile gave it (then how far the task\'s runs agree)', '', demandConfidence),
      gauge('headroom_task_run_elapsed_seconds', 'Time since the workload\'s run (a cgroup that appeared while the agent ran) started', 'seconds', runElapsed),
      gauge('headroom_task_run_expected_duration_seconds', 'Duration of the run its task\'s past runs predict (stat: mean, p90)', 'seconds', runDuration),
      gauge('headroom_task_run_expected_peak', 'Peak demand of the run its task\'s past runs predict, by resource (cpu_cores in cores, memory_* in bytes, *_bytes_per_s in bytes/s) and stat', '', runPeak),
      gauge('headroom_task_run_expected_demand', 'Highest p90 demand its task\'s past runs had from this point of the run to the horizon, by resource and horizon', '', runAhead),
      gauge('headroom_probe_variant', 'The variant each probe runs as now (full, sampled-1/8, sampled-1/64, selected-only...: the overhead governor switches them), value 1', '', variants),
      counter('headroom_task_runs_total', 'Runs that ended, by outcome: recorded into their task\'s profile; held (back for a nonzero exit status: a failure, or the first of its task\'s usual ends, learned with a later run if its task\'s runs in a row end so; counted here once, learned or dropped later); not_recorded', '',
        [...this.runsEnded].map(([outcome, value]) => ({ startTime: this.runsSince ?? end, endTime: end, attributes: { outcome }, value }))),
    ];
    this.monotone.sweep();
    // A metric without points would still print its HELP and TYPE lines.
    return out.filter((m) => m.dataPoints.length > 0);
  }
}

const descriptor = (name: string, description: string, unit: string): MetricDescriptor =>
  ({ name, description, unit, valueType: ValueType.DOUBLE });

function counter(name: string, description: string, unit: string, dataPoints: DataPoint<number>[]): SumMetricData {
  return {
    descriptor: descriptor(name, description, unit),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints,
  };
}

function gauge(name: string, description: string, unit: string, dataPoints: DataPoint<number>[]): GaugeMetricData {
  return {
    descriptor: descriptor(name, description, unit),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints,
  };
}

function histogram(name: string, description: string, unit: string, dataPoints: DataPoint<Histogram>[]): HistogramMetricData {
  return {
    descriptor: descriptor(name, description, unit),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints,
  };
}
