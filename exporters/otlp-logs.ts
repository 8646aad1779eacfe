// The agent's record pushed to an OpenTelemetry collector as OTLP log records (HTTP, JSON),
// beside the metrics, about the same resource: each decision with what it did and its reason (the
// "why" that headroom_decisions_total only counts), each switch of the overhead governor (the
// agent's own moves), each OOM kill (what an SRE triaging an incident looks for first), and each
// task run with something to say (a start forecast from its task's profile, an end recorded into
// it). Batched off the tick; a collector that cannot be reached costs a line on stderr, said once
// until an export works.
import { randomUUID } from 'node:crypto';
import { SeverityNumber, type AttributeValue, type Logger } from '@opentelemetry/api';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import type { Decision, Mode } from '../agent/plan/types.js';
import { agentResource } from './agent-meter.js';
import { decisionRecord, formatDecision, formatKernelEvent, formatOverhead, formatRunEvent } from './decision-log.js';
import type { KernelEvent, OverheadEvent } from '../agent/report.js';
import type { RunEvent } from '../agent/predict/task-runs.js';
import { gzipUnlessEnvChooses, MAX_EXPORT_MS } from './otlp.js';
import { RUN_RESOURCE } from './report-metrics.js';
import { badOtlpUrl } from './otlp-url.js';
import { shownUrl } from '../agent/plan/http-url.js';
import { ExportWatch, httpStatus, type ExportOutcome } from './otlp-watch.js';

export interface OtlpLogPushOptions {
  /** where to POST the log records (otlp-url.ts: otlpLogsEndpoint) */
  url: string;
  /** the URL was worked out from the metrics URL, not given: a collector that answers it takes no logs there is said, and the push stops */
  guessed?: boolean;
  /** where a failed export (and the first one that works again) is said */
  log: (message: string) => void;
  /** how long records wait to be sent together (default 1 s) */
  delayMs?: number;
  /** how long after a failed export its records are sent again when no new one comes (default 10 s; doubled at each failure after, up to 5 min) */
  retryMs?: number;
}

/** Records held for the next export while the collector cannot be reached; beyond, the oldest go. */
const MAX_HELD = 1024;
const DEFAULT_RETRY_MS = 10_000;
/** While the collector keeps failing, its retries come ever less often (each wait doubled), at most this far apart. */
const MAX_RETRY_MS = 300_000;
/** HTTP answers that say the URL takes no OTLP logs (sending again will not help). */
const NO_LOGS_HERE = [404, 405, 415];

export class OtlpLogPush {
  readonly url: string;
  private readonly guessed: boolean;
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
  /** the export in flight: one at a time (the processor moves on after its timeout, the request may not) */
  private sending: Promise<void> = Promise.resolve();
  /** the URL takes no logs: nothing more is sent */
  private stopped = false;
  /** whether dropping the oldest was said in this streak of failures (once per streak) */
  private saidDropped = false;
  private readonly retryMs: number;
  /** the wait before the next retry: retryMs after an export that worked, doubled by each failure after it */
  private retryWaitMs: number;
  /** the next try of what is held, when nothing new comes first */
  private retry: NodeJS.Timeout | undefined;
  /** shutting down: the stop sends what is held, no timer does */
  private closing = false;

  constructor(opts: OtlpLogPushOptions) {
    this.url = opts.url;
    this.guessed = opts.guessed ?? false;
    this.log = opts.log;
    this.retryMs = opts.retryMs ?? DEFAULT_RETRY_MS;
    this.retryWaitMs = this.retryMs;
    const bad = badOtlpUrl(this.url);
    if (bad !== undefined) throw new Error(`OTLP logs endpoint ${bad}`);
    this.watch = new ExportWatch(`OTLP export of log records to ${shownUrl(this.url)}`, `they are held and sent again after ${this.retryMs / 1000} s (then less often while it fails), or with the next one`, opts.log, MAX_EXPORT_MS);
    // gzip unless the environment chooses, as the metrics' push (a burst of decisions and events is JSON that packs tenfold)
    const inner = (this.inner = new OTLPLogExporter({ url: this.url, timeoutMillis: MAX_EXPORT_MS, ...gzipUnlessEnvChooses('LOGS') }));
    const exporter: LogRecordExporter = {
      export: (logs, done) => this.send(logs, done),
      // (what a failed export held is tried once more at the stop)
      shutdown: async () => {
        // (after the export in flight, a retry's among them: it may fail and hold its records again)
        await this.sending;
        if (this.held.length > 0) await new Promise((sent) => this.send([], sent));
        await this.sending;
        await inner.shutdown();
      },
      forceFlush: () => inner.forceFlush(),
    };
    const processor = new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: opts.delayMs ?? 1000, exportTimeoutMillis: 2 * MAX_EXPORT_MS });
    this.provider = new LoggerProvider({ resource: agentResource(), processors: [processor] });
    this.logger = this.provider.getLogger('headroom');
  }

  private send(logs: ReadableLogRecord[], done: (result: ExportOutcome) => void): void {
    this.sending = this.sending.then(() => new Promise<void>((settled) => {
      if (this.stopped) {
        done({ code: 0 });
        settled();
        return;
      }
      const batch = this.held.length > 0 ? [...this.held, ...logs] : logs;
      this.held = [];
      this.inner.export(batch, (result) => {
        if (result.code === 0) {
          this.saidDropped = false;
          this.retryWaitMs = this.retryMs;
        }
        const refused = result.code === 0 ? false : this.refused(batch, result);
        if (!refused) this.watch.seen(result);
        done(result);
        settled();
      });
    }));
  }

  /**
   * A failed export: held for the next, unless the collector refused it for good (an HTTP 4xx
   * other than 408 and 429), which sending again would not change. Whether it was refused.
   */
  private refused(batch: ReadableLogRecord[], result: ExportOutcome): boolean {
    const status = httpStatus(result.error);
    if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
      if (this.guessed && NO_LOGS_HERE.includes(status)) {
        this.stopped = true;
        this.log(`OTLP export of log records to ${shownUrl(this.url)}: HTTP ${status}, it takes no logs (that URL was worked out from the metrics one); decisions and events are no longer pushed: set OTEL_EXPORTER_OTLP_LOGS_ENDPOINT, or OTEL_LOGS_EXPORTER=none`);
      } else {
        this.log(`OTLP export of log records to ${shownUrl(this.url)}: HTTP ${status}, ${records(batch.length)} refused; not sent again`);
      }
      return true;
    }
    this.held = batch.slice(-MAX_HELD);
    this.retryLater();
    if (batch.length > MAX_HELD && !this.saidDropped) {
      this.saidDropped = true;
      this.log(`OTLP export of log records to ${shownUrl(this.url)}: more than ${MAX_HELD} waiting; the oldest are dropped`);
    }
    return false;
  }

  /**
   * Sends what is held again after a wait, if it is still held then (a collector back after the
   * last decision of an incident still gets it). Each failure doubles the wait, up to
   * MAX_RETRY_MS: a collector that is slow, not down, may have taken a batch that timed out, and
   * is not sent 1,024 records every 10 s for as long as it stays slow.
   */
  private retryLater(): void {
    if (this.retry !== undefined || this.stopped || this.closing) return;
    const wait = this.retryWaitMs;
    this.retryWaitMs = Math.min(MAX_RETRY_MS, 2 * wait);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.held.length > 0 && !this.stopped && !this.closing) this.send([], () => {});
    }, wait);
    // (a retry pending never keeps the process alive)
    this.retry.unref();
  }

  /** One decision as a log record: the line a person reads as its body, its fields as attributes. */
  emit(d: Decision, mode: Mode): void {
    const r = decisionRecord(d, mode);
    const w = r.workload;
    this.record('headroom.decision', d.atMs, r.notApplied === undefined ? 'INFO' : 'WARN', formatDecision(d, mode), {
      'headroom.decision.id': r.id,
      'headroom.mode': r.mode,
      'headroom.rule': r.rule,
      'headroom.action': r.action,
      'headroom.resource': r.resource,
      ...(r.cpuCores !== null ? { 'headroom.cpu_cores': r.cpuCores } : {}),
      'headroom.reason': r.reason,
      ...(r.notApplied !== undefined ? { 'headroom.decision.not_applied': r.notApplied } : {}),
      ...workloadAttributes(w),
      'headroom.workload.hierarchy': w.hierarchy,
      ...(w.containerId ? { 'container.id': w.containerId } : {}),
      ...(w.podUid ? { 'k8s.pod.uid': w.podUid } : {}),
      ...(w.runtime ? { 'container.runtime.name': w.runtime } : {}),
    });
  }

  /** A switch of the overhead governor (a probe to a cheaper variant, or back): the agent's own move, with its reason. */
  emitOverhead(e: OverheadEvent): void {
    this.record('headroom.overhead', e.atMs, 'INFO', formatOverhead(e), { 'headroom.probe': e.probe, 'headroom.overhead.from': e.from, 'headroom.overhead.to': e.to, 'headroom.reason': e.reason });
  }

  /** A task the OOM killer chose, as the kernel reported it (seen at `atMs`, the tick that drained it). */
  emitOomKill(e: KernelEvent, atMs: number): void {
    this.record('headroom.oom_kill', atMs, 'WARN', formatKernelEvent(e), {
      ...workloadAttributes(e.workload),
      'process.pid': e.pid,
      // (the task's comm: what OpenTelemetry calls the executable's name)
      ...(e.comm ? { 'process.executable.name': e.comm } : {}),
      ...Object.fromEntries(Object.entries(e.detail).map(([k, v]) => [`headroom.oom.${k}`, v])),
    });
  }

  /**
   * A task run's start (with what its task's past runs say it will need) or end (recorded into
   * the profile or not, and why): the line `run` prints, its fields as attributes.
   */
  emitRun(e: RunEvent): void {
    const attributes: Record<string, AttributeValue> = {
      ...workloadAttributes(e.workload),
      'headroom.run.kind': e.kind === 'run-start' ? 'start' : 'end',
      ...(e.signature ? { 'headroom.task.signature': e.signature } : {}),
    };
    if (e.kind === 'run-start') {
      attributes['process.executable.path'] = e.task.exe;
      // (the first arguments, shortened, as `profiles` shows them: not process.command_args,
      // which OpenTelemetry defines as all of them, as received)
      attributes['headroom.task.args'] = [...(e.task.args ?? [])];
      const f = e.forecast;
      if (f) {
        attributes['headroom.run.profile_runs'] = f.runs;
        attributes['headroom.run.confidence'] = f.confidence;
        attributes['headroom.run.expected_duration_seconds'] = f.durationMs.mean / 1000;
        attributes['headroom.run.expected_duration_p90_seconds'] = f.durationMs.p90 / 1000;
        // (a resource no past run measured has no attribute, not a 0)
        for (const [resource, name] of Object.entries(RUN_RESOURCE)) {
          const peak = f.peak[resource as keyof typeof RUN_RESOURCE];
          if (peak) attributes[`headroom.run.expected_peak_p90.${name}`] = peak.p90;
          // (from the runs that measured it: fewer than the profile's where some did not)
          const confidence = f.confidenceOf[resource as keyof typeof RUN_RESOURCE];
          if (confidence !== undefined) attributes[`headroom.run.resource_confidence.${name}`] = confidence;
        }
        if (e.memoryCeilingBytes !== undefined) attributes['headroom.run.memory_ceiling_bytes'] = e.memoryCeilingBytes;
      }
    } else {
      if (!e.durationUnknown) attributes['headroom.run.duration_seconds'] = e.durationMs / 1000;
      if (e.durationAtMost) attributes['headroom.run.duration_at_most'] = true;
      if (e.unseenMs) {
        attributes['headroom.run.unseen_seconds'] = e.unseenMs / 1000;
        if (e.unseenBecause) attributes['headroom.run.unseen_because'] = e.unseenBecause;
      }
      attributes['headroom.run.recorded'] = e.recorded;
      if (e.runs !== undefined) attributes['headroom.run.profile_runs'] = e.runs;
      if (e.reason) attributes['headroom.reason'] = e.reason;
      if (e.oomKilled) attributes['headroom.run.oom_killed'] = true;
      if (e.killedBy !== undefined) attributes['headroom.run.killed_by'] = e.killedBy;
      if (e.exitStatus !== undefined) attributes['headroom.run.exit_status'] = e.exitStatus;
      if (e.learnedWith) attributes['headroom.run.learned_with'] = e.learnedWith;
      if (e.heldBack) attributes['headroom.run.held_back'] = true;
      // (the measure, beside the forecast's p90 it came out above)
      for (const b of e.beyondForecast ?? []) {
        const [name, unit] = b.what === 'duration_ms' ? ['duration_seconds', 1000] : [b.what, 1];
        attributes[`headroom.run.beyond_forecast.${name}`] = b.actual / unit;
        attributes[`headroom.run.beyond_forecast.${name}_p90`] = b.p90 / unit;
      }
    }
    this.record('headroom.task_run', e.atMs, 'INFO', formatRunEvent(e), attributes);
  }

  /**
   * One record, its own `log.record.uid` (OpenTelemetry's unique id of a log record) among its
   * attributes: delivery is at least once (an export that timed out yet arrived is sent again),
   * and the id tells the copies apart.
   */
  private record(eventName: string, atMs: number, severity: 'INFO' | 'WARN', body: string, attributes: Record<string, AttributeValue>): void {
    this.logger.emit({
      eventName, timestamp: atMs, severityNumber: SeverityNumber[severity], severityText: severity, body,
      attributes: { ...attributes, 'log.record.uid': randomUUID() },
    });
  }

  /** Sends what is waiting, then stops; gives up on that export after STOP_WAIT_MS, saying so and how many were not sent. */
  async shutdown(): Promise<void> {
    this.closing = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    await this.watch.stop(this.provider.shutdown(), 'the last log records');
    if (this.held.length > 0) this.log(`OTLP export of log records to ${shownUrl(this.url)}: ${records(this.held.length)} not sent`);
  }
}

const workloadAttributes = (w: { id: string; path: string }): Record<string, string> => ({ 'headroom.workload.id': w.id, 'headroom.workload.path': w.path });

const records = (n: number): string => `${n} record${n === 1 ? '' : 's'}`;
