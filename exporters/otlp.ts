// Metrics pushed to an OpenTelemetry collector over OTLP/HTTP (JSON), beside the Prometheus
// endpoint: the same series (ReportMetricProducer and the agent's health) about the same
// resource. The push runs on its own timer, never in the tick, so a collector that cannot be
// reached costs a line on stderr: said once, until an export works again.
import { PeriodicExportingMetricReader, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import type { TickReport } from '../agent/report.js';
import { ReportMeter } from './agent-meter.js';
import { badOtlpUrl, otlpEndpointFromEnv } from './otlp-url.js';

export interface OtlpPushOptions {
  /** where to POST the metrics (default: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/metrics, else the collector's own port on this host) */
  url?: string;
  /** time between pushes */
  intervalMs: number;
  /** where a failed push (and the first one that works again) is said */
  log: (message: string) => void;
}

/** The longest one export may wait on a quiet connection. */
const MAX_EXPORT_MS = 5000;
/**
 * The longest a stop waits for the last push. The library's timeout fires only on a quiet
 * connection, and it retries refused ones: a collector that never answered held a stop 9 s, one
 * that trickled a byte a second for over a minute.
 */
const STOP_WAIT_MS = 3000;

export class OtlpPush {
  readonly url: string;
  private readonly meter: ReportMeter;
  private readonly log: (message: string) => void;
  /** whether the last export failed (a failure is said once per streak) */
  private failing = false;

  constructor(opts: OtlpPushOptions) {
    this.url = opts.url ?? otlpEndpointFromEnv().url;
    this.log = opts.log;
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
    this.meter = new ReportMeter((producer) =>
      new PeriodicExportingMetricReader({ exporter: watched, exportIntervalMillis: opts.intervalMs, exportTimeoutMillis: timeoutMs, metricProducers: [producer] }));
  }

  /** Keeps the report's figures; the next push sends them. */
  update(report: TickReport): void {
    this.meter.update(report);
  }

  /** Pushes the last figures once more, then stops; gives up on that push after STOP_WAIT_MS, saying so. */
  async shutdown(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), STOP_WAIT_MS);
      timer.unref();
    });
    const stopped = this.meter.shutdown().then(() => false, () => false);
    if (await Promise.race([stopped, gaveUp])) this.log(`OTLP export to ${this.url}: the last push did not finish within ${STOP_WAIT_MS / 1000} s; stopped without it`);
    clearTimeout(timer);
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

/** An export error as a user reads it: the system's code (ECONNREFUSED), the collector's HTTP status, else its message. */
function describe(error: Error | undefined): string {
  if (!error) return 'no reason given';
  const code = (error as { code?: unknown }).code ?? (error.cause as { code?: unknown } | undefined)?.code;
  // (the library's OTLPExporterError carries the HTTP status as a number)
  if (typeof code === 'number') return `HTTP ${code}${error.message ? `: ${error.message}` : ''}`;
  return typeof code === 'string' ? code : error.message;
}
