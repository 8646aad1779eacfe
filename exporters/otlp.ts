// Metrics pushed to an OpenTelemetry collector over OTLP/HTTP (JSON), beside the Prometheus
// endpoint: the same series (ReportMetricProducer and the agent's health) about the same
// resource. The push runs on its own timer, never in the tick, so a collector that cannot be
// reached costs a line on stderr: said once, until an export works again.
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import type { AgentHealth, TickReport } from '../agent/report.js';
import { agentResource, observeAgentHealth } from './agent-meter.js';
import { badOtlpUrl, otlpUrlFromEnv } from './otlp-url.js';
import { ReportMetricProducer } from './report-metrics.js';

export interface OtlpPushOptions {
  /** where to POST the metrics (default: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/metrics, else the collector's own port on this host) */
  url?: string;
  /** time between pushes */
  intervalMs: number;
  /** where a failed push (and the first one that works again) is said */
  log: (message: string) => void;
}

/** The longest an export may take: a stop waits for the last one. */
const MAX_EXPORT_MS = 5000;

export class OtlpPush {
  readonly url: string;
  private readonly producer = new ReportMetricProducer();
  private readonly provider: MeterProvider;
  private health: AgentHealth | null = null;
  /** whether the last export failed (a failure is said once per streak) */
  private failing = false;

  constructor(opts: OtlpPushOptions) {
    this.url = opts.url ?? otlpUrlFromEnv();
    const bad = badOtlpUrl(this.url);
    if (bad !== undefined) throw new Error(`OTLP endpoint ${bad}`);
    if (!(opts.intervalMs > 0)) throw new RangeError(`OTLP push interval must be above 0 ms, got ${opts.intervalMs}`);
    const timeoutMs = Math.min(opts.intervalMs, MAX_EXPORT_MS);
    const exporter = new OTLPMetricExporter({ url: this.url, timeoutMillis: timeoutMs });
    const watched = watchResults(exporter, (error) => {
      if (error !== undefined && !this.failing) opts.log(`OTLP export to ${this.url} failed (${error}); retrying every ${opts.intervalMs / 1000} s`);
      else if (error === undefined && this.failing) opts.log(`OTLP export to ${this.url} works again`);
      this.failing = error !== undefined;
    });
    this.provider = new MeterProvider({
      resource: agentResource(),
      readers: [new PeriodicExportingMetricReader({ exporter: watched, exportIntervalMillis: opts.intervalMs, exportTimeoutMillis: timeoutMs, metricProducers: [this.producer] })],
    });
    observeAgentHealth(this.provider.getMeter('headroom'), () => this.health);
  }

  /** Keeps the report's figures; the next push sends them. */
  update(report: TickReport): void {
    this.health = report.health;
    this.producer.update(report);
  }

  /** Pushes the last figures once more (within MAX_EXPORT_MS), then stops. */
  async shutdown(): Promise<void> {
    await this.provider.shutdown();
  }
}

/** The exporter, each export's outcome handed to `seen` (an error's text, or undefined when it worked). */
function watchResults(inner: PushMetricExporter, seen: (error: string | undefined) => void): PushMetricExporter {
  return {
    export: (metrics: ResourceMetrics, done) =>
      inner.export(metrics, (result) => {
        // (0: ExportResultCode.SUCCESS)
        seen(result.code === 0 ? undefined : describe(result.error));
        done(result);
      }),
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
    selectAggregationTemporality: inner.selectAggregationTemporality?.bind(inner),
    selectAggregation: inner.selectAggregation?.bind(inner),
  };
}

/** An export error as a user reads it: the system's code where there is one (ECONNREFUSED), else its message. */
function describe(error: Error | undefined): string {
  if (!error) return 'no reason given';
  const code = (error as NodeJS.ErrnoException).code ?? ((error.cause as NodeJS.ErrnoException | undefined)?.code);
  return code ?? error.message;
}
