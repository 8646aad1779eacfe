// The Prometheus scrape endpoint: an OpenTelemetry MeterProvider whose reader is the Prometheus
// exporter. Each tick hands its report to update(); nothing is computed until a scrape asks.
import type { Meter } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { AgentHealth, TickReport } from '../agent/report.js';
import { ReportMetricProducer } from './report-metrics.js';

export interface PrometheusEndpointOptions {
  /** address to listen on; the default keeps the endpoint on this host */
  host?: string;
  port?: number;
}

export class PrometheusEndpoint {
  readonly host: string;
  readonly port: number;
  private readonly producer = new ReportMetricProducer();
  private readonly exporter: PrometheusExporter;
  private readonly provider: MeterProvider;
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
      preventServerStart: true, // start() reports a busy port; the constructor could only log it
      withoutScopeInfo: true, // one scope only: an otel_scope_name label on each series says nothing
      metricProducers: [this.producer],
    });
    this.provider = new MeterProvider({
      resource: defaultResource().merge(resourceFromAttributes({ 'service.name': 'headroom' })),
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
      await this.exporter.startServer();
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
    await this.provider.shutdown();
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
    meter
      .createObservableGauge('headroom_tick_duration_seconds', { description: 'Time the last tick took', unit: 'seconds' })
      .addCallback((r) => {
        if (this.health) r.observe(this.health.lastTickSeconds);
      });
  }
}
