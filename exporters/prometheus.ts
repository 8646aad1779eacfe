// The Prometheus scrape endpoint: an OpenTelemetry MeterProvider whose reader is the Prometheus
// exporter. Each tick hands its report to update(); nothing is computed until a scrape asks.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import type { Meter } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { defaultResource, detectResources, envDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { ProbeHealth, AgentHealth, TickReport } from '../agent/report.js';
import { ReportMetricProducer } from './report-metrics.js';

export interface PrometheusEndpointOptions {
  /** address to listen on; the default keeps the endpoint on this host */
  host?: string;
  port?: number;
}

/** headroom's version, from the package.json two folders above this module (dist/exporters or exporters). */
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
 * What the metrics are about (target_info): the service, its version and the host; the standard
 * OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override or add to them.
 */
function agentResource(): Resource {
  const version = agentVersion();
  return defaultResource()
    .merge(resourceFromAttributes({ 'service.name': 'headroom', 'host.name': hostname(), ...(version ? { 'service.version': version } : {}) }))
    .merge(detectResources({ detectors: [envDetector] }));
}

export class PrometheusEndpoint {
  readonly host: string;
  readonly port: number;
  private readonly producer = new ReportMetricProducer();
  private readonly exporter: PrometheusExporter;
  private readonly provider: MeterProvider;
  /**
   * Our own server, the exporter only rendering: the exporter's server parses each request's URL
   * against http://HOST:PORT/, which an IPv6 host (`::1`) makes invalid, so every request there
   * was answered 400.
   */
  private readonly server: Server = createServer((req, res) => this.serve(req, res));
  private listening = false;
  private health: AgentHealth | null = null;

  constructor({ host = '127.0.0.1', port = 9464 }: PrometheusEndpointOptions = {}) {
    // The exporter reads port 0 as "default" (9464): refuse it rather than listen elsewhere.
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`Prometheus endpoint: port must be 1..65535, got ${port}`);
    }
    this.host = host;
    this.port = port;
    this.exporter = new PrometheusExporter({
      host,
      port,
      preventServerStart: true, // this.server serves it (see there)
      withoutScopeInfo: true, // one scope only: an otel_scope_name label on each series says nothing
      metricProducers: [this.producer],
    });
    this.provider = new MeterProvider({
      resource: agentResource(),
      readers: [this.exporter],
    });
    this.observeHealth(this.provider.getMeter('headroom'));
  }

  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${host}:${this.port}/metrics`;
  }

  async start(): Promise<{ url: string }> {
    try {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen({ host: this.host, port: this.port }, () => {
          this.server.off('error', reject);
          resolve();
        });
      });
      this.server.unref();
      this.listening = true;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'EADDRINUSE' ? 'the port is already in use' : e.message;
      throw new Error(`Prometheus endpoint cannot listen on ${this.host}:${this.port}: ${why}`, { cause: err });
    }
    return { url: this.url };
  }

  /** Keeps the report's figures; the next scrape reads them. */
  update(report: TickReport): void {
    this.health = report.health;
    this.producer.update(report);
  }

  /** Stops the server. Safe after a failed start. */
  async shutdown(): Promise<void> {
    if (this.listening) {
      this.listening = false;
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }
    await this.provider.shutdown();
  }

  /** GET (or HEAD) /metrics, with or without a query string; anything else is not found. */
  private serve(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?', 1)[0];
    if (path !== '/metrics') {
      res.statusCode = 404;
      res.end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.statusCode = 405;
      res.setHeader('allow', 'GET, HEAD');
      res.end();
      return;
    }
    this.exporter.getMetricsRequestHandler(req, res);
    // the text format's own content type (the exporter's "text/plain" names no version)
    res.setHeader('content-type', 'text/plain; version=0.0.4; charset=utf-8');
  }

  // The agent's own figures carry no workload label, so SDK instruments suit them.
  private observeHealth(meter: Meter): void {
    const counters: [string, string, (h: AgentHealth) => number][] = [
      ['headroom_events_read_total', 'Events read from the ring buffers', (h) => h.eventsRead],
      ['headroom_ring_drops_total', 'Events the kernel dropped because the ring buffer was full', (h) => h.ringDrops],
      ['headroom_stats_drops_total', 'Samples the kernel dropped because the stats map was full', (h) => h.statsDrops],
      ['headroom_ticks_total', 'Ticks the agent has run', (h) => h.ticks],
    ];
    for (const [name, description, read] of counters) {
      meter.createObservableCounter(name, { description }).addCallback((r) => {
        if (this.health) r.observe(read(this.health));
      });
    }
    // Per probe: events, drops and cost (the variant it runs as: ReportMetricProducer, as the SDK
    // would keep exporting every variant it has seen).
    const perProbe: [string, string, keyof ProbeHealth][] = [
      ['headroom_probe_events_read_total', 'Events read from the probe\'s ring buffer', 'eventsRead'],
      ['headroom_probe_ring_drops_total', 'Events the probe lost to a full ring buffer', 'ringDrops'],
      ['headroom_probe_stats_drops_total', 'Samples the probe lost to a full stats map', 'statsDrops'],
    ];
    for (const [name, description, field] of perProbe) {
      meter.createObservableCounter(name, { description }).addCallback((r) => {
        for (const [probe, p] of Object.entries(this.health?.probes ?? {})) r.observe(p[field] as number, { probe });
      });
    }
    meter.createObservableGauge('headroom_overhead_cpu_ratio', { description: 'What headroom costs as a share of one CPU over the last window, by source (a probe\'s BPF run time, the agent process, all)' }).addCallback((r) => {
      const o = this.health?.overhead;
      if (!o) return;
      for (const [probe, p] of Object.entries(o.probes)) r.observe(p.fraction, { source: probe });
      r.observe(o.agent, { source: 'agent' });
      r.observe(o.total, { source: 'total' });
    });
    meter.createObservableGauge('headroom_overhead_budget_ratio', { description: 'The policy\'s overhead budget as a share of one CPU' }).addCallback((r) => {
      if (this.health?.overhead) r.observe(this.health.overhead.budget);
    });
    meter
      .createObservableGauge('headroom_tick_duration_seconds', { description: 'Time the last tick took', unit: 'seconds' })
      .addCallback((r) => {
        if (this.health) r.observe(this.health.lastTickSeconds);
      });
  }
}
