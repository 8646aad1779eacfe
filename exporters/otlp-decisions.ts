// The decisions pushed to an OpenTelemetry collector as OTLP log records (HTTP, JSON), beside
// the metrics: what each one did and its reason, about the same resource, so a collector's log
// store holds the "why" that headroom_decisions_total only counts. Batched off the tick; a
// collector that cannot be reached costs a line on stderr, said once until an export works.
import { SeverityNumber, type Logger } from '@opentelemetry/api';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import type { Decision, Mode } from '../agent/plan/types.js';
import { agentResource } from './agent-meter.js';
import { decisionRecord, formatDecision } from './decision-log.js';
import { MAX_EXPORT_MS } from './otlp.js';
import { badOtlpUrl } from './otlp-url.js';
import { ExportWatch, type ExportOutcome } from './otlp-watch.js';

export interface OtlpDecisionsOptions {
  /** where to POST the log records (otlp-url.ts: otlpLogsEndpoint) */
  url: string;
  /** where a failed export (and the first one that works again) is said */
  log: (message: string) => void;
  /** how long decisions wait to be sent together (default 1 s) */
  delayMs?: number;
}

/** Decisions held for the next export while the collector cannot be reached; beyond, the oldest go. */
const MAX_HELD = 1024;

export class OtlpDecisions {
  readonly url: string;
  private readonly provider: LoggerProvider;
  private readonly logger: Logger;
  private readonly watch: ExportWatch;
  private readonly log: (message: string) => void;
  private readonly inner: OTLPLogExporter;
  /**
   * Records a failed export held, sent again before the next ones: the library gives up on a
   * batch once its retries fail, and a decision lost on a collector's restart is the "why" lost.
   */
  private held: ReadableLogRecord[] = [];

  constructor(opts: OtlpDecisionsOptions) {
    this.url = opts.url;
    this.log = opts.log;
    const bad = badOtlpUrl(this.url);
    if (bad !== undefined) throw new Error(`OTLP logs endpoint ${bad}`);
    this.watch = new ExportWatch(`OTLP export of decisions to ${this.url}`, 'retrying with the next decision', opts.log);
    const inner = (this.inner = new OTLPLogExporter({ url: this.url, timeoutMillis: MAX_EXPORT_MS }));
    const exporter: LogRecordExporter = {
      export: (logs, done) => this.send(logs, done),
      // (what a failed export held is tried once more at the stop)
      shutdown: async () => {
        if (this.held.length > 0) await new Promise((sent) => this.send([], sent));
        await inner.shutdown();
      },
      forceFlush: () => inner.forceFlush(),
    };
    const processor = new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: opts.delayMs ?? 1000, exportTimeoutMillis: MAX_EXPORT_MS });
    this.provider = new LoggerProvider({ resource: agentResource(), processors: [processor] });
    this.logger = this.provider.getLogger('headroom');
  }

  private send(logs: ReadableLogRecord[], done: (result: ExportOutcome) => void): void {
    const batch = this.held.length > 0 ? [...this.held, ...logs] : logs;
    this.held = [];
    this.inner.export(batch, (result) => {
      if (result.code !== 0) {
        const dropped = batch.length - MAX_HELD;
        if (dropped > 0) this.log(`OTLP export of decisions to ${this.url}: ${dropped} decisions dropped (more than ${MAX_HELD} waiting)`);
        this.held = batch.slice(-MAX_HELD);
      }
      this.watch.seen(result);
      done(result);
    });
  }

  /** One decision as a log record: the line a person reads as its body, its fields as attributes. */
  emit(d: Decision, mode: Mode): void {
    const r = decisionRecord(d, mode);
    const w = r.workload;
    this.logger.emit({
      eventName: 'headroom.decision',
      timestamp: d.atMs,
      severityNumber: SeverityNumber.INFO,
      severityText: 'INFO',
      body: formatDecision(d, mode),
      attributes: {
        'headroom.decision.id': r.id,
        'headroom.mode': r.mode,
        'headroom.rule': r.rule,
        'headroom.action': r.action,
        'headroom.resource': r.resource,
        ...(r.cpuCores !== null ? { 'headroom.cpu_cores': r.cpuCores } : {}),
        'headroom.reason': r.reason,
        'headroom.workload.id': w.id,
        'headroom.workload.path': w.path,
        'headroom.workload.hierarchy': w.hierarchy,
        ...(w.containerId ? { 'container.id': w.containerId } : {}),
        ...(w.podUid ? { 'k8s.pod.uid': w.podUid } : {}),
        ...(w.runtime ? { 'container.runtime.name': w.runtime } : {}),
      },
    });
  }

  /** Sends what is waiting, then stops; gives up on that export after STOP_WAIT_MS, saying so. */
  async shutdown(): Promise<void> {
    await this.watch.stop(this.provider.shutdown(), 'the last decisions');
  }
}
