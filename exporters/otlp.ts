// Metrics pushed to an OpenTelemetry collector over OTLP/HTTP (JSON), beside the Prometheus
// endpoint: the same series (ReportMetricProducer and the agent's health) about the same
// resource. The push runs on its own timer, never in the tick, so a collector that cannot be
// reached costs a line on stderr: said once, until an export works again.
import { PeriodicExportingMetricReader, type PushMetricExporter, type ResourceMetrics, type ScopeMetrics } from '@opentelemetry/sdk-metrics';
import { OTLPMetricExporterBase, type OTLPMetricExporterOptions } from '@opentelemetry/exporter-metrics-otlp-http';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate, type OTLPExporterNodeConfigBase } from '@opentelemetry/otlp-exporter-base/node-http';
import { MetricsExporterMetricsHelper } from '@opentelemetry/otlp-transformer';
import type { TickReport } from '../agent/report.js';
import { ReportMeter } from './agent-meter.js';
import { otlpMetricsJson } from './otlp-json.js';
import { badOtlpUrl, otlpEndpointFromEnv } from './otlp-url.js';
import { shownUrl } from '../agent/plan/http-url.js';
import { ExportWatch, type ExportOutcome } from './otlp-watch.js';

export interface OtlpPushOptions {
  /** where to POST the metrics (default: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/metrics, else the collector's own port on this host) */
  url?: string;
  /** time between pushes */
  intervalMs: number;
  /** where a failed push (and the first one that works again) is said */
  log: (message: string) => void;
}

/** The longest one export may wait on a quiet connection. */
export const MAX_EXPORT_MS = 5000;

export class OtlpPush {
  readonly url: string;
  private readonly meter: ReportMeter;
  private readonly watch: ExportWatch;

  constructor(opts: OtlpPushOptions) {
    this.url = opts.url ?? otlpEndpointFromEnv().url;
    const bad = badOtlpUrl(this.url);
    if (bad !== undefined) throw new Error(`OTLP endpoint ${bad}`);
    if (!(opts.intervalMs > 0)) throw new RangeError(`OTLP push interval must be above 0 ms, got ${opts.intervalMs}`);
    const timeoutMs = Math.min(opts.intervalMs, MAX_EXPORT_MS);
    this.watch = new ExportWatch(`OTLP export to ${shownUrl(this.url)}`, `retrying every ${opts.intervalMs / 1000} s`, opts.log, timeoutMs);
    // gzip unless the environment chooses (OTEL_EXPORTER_OTLP_[METRICS_]COMPRESSION, which a
    // setting here would override): thousands of workloads make tens of MB of JSON a push
    const compression = gzipUnlessEnvChooses('METRICS');
    const exporter = jsonExporter({ url: this.url, timeoutMillis: timeoutMs, ...compression });
    const watched = watchResults(exporter, (result) => this.watch.seen(result));
    this.meter = new ReportMeter((producer) =>
      new PeriodicExportingMetricReader({ exporter: watched, exportIntervalMillis: opts.intervalMs, exportTimeoutMillis: timeoutMs, metricProducers: [producer] }));
  }

  /** Keeps the report's figures; the next push sends them. */
  update(report: TickReport): void {
    this.meter.update(report);
  }

  /** Pushes the last figures once more, then stops; gives up on that push after STOP_WAIT_MS, saying so. */
  async shutdown(): Promise<void> {
    await this.watch.stop(this.meter.shutdown(), 'the last push');
  }
}

/**
 * The library's OTLPMetricExporter, put together as it puts itself together (the environment's
 * headers and temporality, retries, compression; the URL and timeout are the ones given), with the
 * JSON written by otlp-json.ts instead of its serializer's objects and one big string.
 */
function jsonExporter(config: OTLPExporterNodeConfigBase & OTLPMetricExporterOptions): PushMetricExporter {
  const http = convertLegacyHttpOptions(config, 'METRICS', 'v1/metrics', { 'Content-Type': 'application/json' });
  return new OTLPMetricExporterBase(createOtlpHttpExportDelegate(http, otlpMetricsJson, EXPORTER_KIND, MetricsExporterMetricsHelper, undefined), config);
}

/** The exporter's kind as the library's own self-observability names it (its semconv value). */
const EXPORTER_KIND = 'otlp_http_metric_exporter';

/**
 * Whether the standard environment chooses a push's compression (the metrics' or the logs'): as
 * the exporter reads it, 'none' or 'gzip' (trimmed, this case); it ignores anything else, and so
 * does this.
 */
function compressionFromEnv(signal: 'METRICS' | 'LOGS', env: NodeJS.ProcessEnv = process.env): boolean {
  return [`OTEL_EXPORTER_OTLP_${signal}_COMPRESSION`, 'OTEL_EXPORTER_OTLP_COMPRESSION'].some((k) => ['none', 'gzip'].includes((env[k] ?? '').trim()));
}

/** An exporter's compression option: gzip, unless the environment chooses (a setting here would override it). */
export function gzipUnlessEnvChooses(signal: 'METRICS' | 'LOGS'): { compression?: CompressionAlgorithm } {
  return compressionFromEnv(signal) ? {} : { compression: CompressionAlgorithm.GZIP };
}

/**
 * One ScopeMetrics per scope: the agent's health (the SDK's instruments) and the workloads' series
 * (ReportMetricProducer) are both scope 'headroom', and were pushed as two ScopeMetrics of it.
 */
function mergeScopes(rm: ResourceMetrics): ResourceMetrics {
  const byScope = new Map<string, ScopeMetrics>();
  for (const sm of rm.scopeMetrics) {
    const key = JSON.stringify([sm.scope.name, sm.scope.version ?? '', sm.scope.schemaUrl ?? '']);
    const had = byScope.get(key);
    if (had) had.metrics.push(...sm.metrics);
    else byScope.set(key, { scope: sm.scope, metrics: [...sm.metrics] });
  }
  return byScope.size === rm.scopeMetrics.length ? rm : { resource: rm.resource, scopeMetrics: [...byScope.values()] };
}

/** The exporter, each export's outcome handed to `seen`. */
function watchResults(inner: PushMetricExporter, seen: (result: ExportOutcome) => void): PushMetricExporter {
  return {
    export: (metrics: ResourceMetrics, done) =>
      inner.export(mergeScopes(metrics), (result) => {
        seen(result);
        done(result);
      }),
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
    selectAggregationTemporality: inner.selectAggregationTemporality?.bind(inner),
    selectAggregation: inner.selectAggregation?.bind(inner),
  };
}
