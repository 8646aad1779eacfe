// What every metrics export of the agent shares (the Prometheus endpoint, the OTLP push): a
// MeterProvider over the tick reports, its resource, and the agent's own health figures.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Meter } from '@opentelemetry/api';
import { defaultResource, detectResources, envDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { MeterProvider, type MetricProducer, type MetricReader } from '@opentelemetry/sdk-metrics';
import type { AgentHealth, ProbeHealth, TickReport } from '../agent/report.js';
import { ReportMetricProducer } from './report-metrics.js';

/**
 * The tick reports as metrics, read by one reader (made by `reader` around the workloads'
 * producer): the workloads' series from ReportMetricProducer, the agent's health as SDK
 * instruments, about the agent's resource. Each tick hands its report to update().
 */
export class ReportMeter {
  private readonly producer = new ReportMetricProducer();
  private readonly provider: MeterProvider;
  private health: AgentHealth | null = null;

  constructor(reader: (producer: MetricProducer) => MetricReader) {
    this.provider = new MeterProvider({ resource: agentResource(), readers: [reader(this.producer)] });
    observeAgentHealth(this.provider.getMeter('headroom'), () => this.health);
  }

  /** Keeps the report's figures; the next read (a scrape, a push) takes them. */
  update(report: TickReport): void {
    this.health = report.health;
    this.producer.update(report);
  }

  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}

/** headroom's version, from the project's package.json (two folders up from dist/exporters, one from exporters). */
function agentVersion(): string | undefined {
  for (const up of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'headroom') return pkg.version;
    } catch {
      // not there: the next folder up
    }
  }
  return undefined;
}

/**
 * What the metrics and decisions are about (target_info): the service, its version and the host; the standard
 * OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override or add to them.
 */
export function agentResource(): Resource {
  const version = agentVersion();
  return defaultResource()
    .merge(resourceFromAttributes({ 'service.name': 'headroom', 'host.name': hostname(), ...(version ? { 'service.version': version } : {}) }))
    .merge(detectResources({ detectors: [envDetector] }));
}

/** The agent's own figures, read from `health()` at each collection. They carry no workload label, so SDK instruments suit them. */
function observeAgentHealth(meter: Meter, health: () => AgentHealth | null): void {
  const counters: [string, string, (h: AgentHealth) => number][] = [
    ['headroom_events_read_total', 'Events read from the ring buffers', (h) => h.eventsRead],
    ['headroom_ring_drops_total', 'Events the kernel dropped because the ring buffer was full', (h) => h.ringDrops],
    ['headroom_stats_drops_total', 'Samples the kernel dropped because the stats map was full', (h) => h.statsDrops],
    ['headroom_missed_runs_total', 'Probe program runs the kernel skipped because the program was already running on that CPU (an interrupt during a run): their events may be missing', (h) => h.missedRuns],
    ['headroom_ticks_total', 'Ticks the agent has run', (h) => h.ticks],
    ['headroom_demand_worker_losses_total', 'Demand forecast worker threads lost (dead, or no answer in time): each replaced, or (past the restarts an hour allows) the agent\'s thread took over', (h) => h.demandWorkerLosses],
  ];
  for (const [name, description, read] of counters) {
    meter.createObservableCounter(name, { description }).addCallback((r) => {
      const h = health();
      if (h) r.observe(read(h));
    });
  }
  // Per probe: events, drops and cost (the variant it runs as: ReportMetricProducer, as the SDK
  // would keep exporting every variant it has seen).
  const perProbe: [string, string, keyof ProbeHealth][] = [
    ['headroom_probe_events_read_total', 'Events read from the probe\'s ring buffer', 'eventsRead'],
    ['headroom_probe_ring_drops_total', 'Events the probe lost to a full ring buffer', 'ringDrops'],
    ['headroom_probe_stats_drops_total', 'Samples the probe lost to a full stats map', 'statsDrops'],
    ['headroom_probe_missed_runs_total', 'Runs of the probe\'s programs the kernel skipped (already running on that CPU): their events may be missing', 'missedRuns'],
  ];
  for (const [name, description, field] of perProbe) {
    meter.createObservableCounter(name, { description }).addCallback((r) => {
      for (const [probe, p] of Object.entries(health()?.probes ?? {})) r.observe(p[field] as number, { probe });
    });
  }
  meter.createObservableGauge('headroom_overhead_cpu_ratio', { description: 'What headroom costs as a share of one CPU over the last window, by source (a probe\'s BPF run time, the agent process, all)' }).addCallback((r) => {
    const o = health()?.overhead;
    if (!o) return;
    for (const [probe, p] of Object.entries(o.probes)) r.observe(p.fraction, { source: probe });
    r.observe(o.agent, { source: 'agent' });
    r.observe(o.total, { source: 'total' });
  });
  meter.createObservableGauge('headroom_overhead_budget_ratio', { description: 'The policy\'s overhead budget as a share of one CPU' }).addCallback((r) => {
    const o = health()?.overhead;
    if (o) r.observe(o.budget);
  });
  meter
    .createObservableGauge('headroom_tick_duration_seconds', { description: 'Time the last tick took', unit: 'seconds' })
    .addCallback((r) => {
      const h = health();
      if (h) r.observe(h.lastTickSeconds);
    });
}
