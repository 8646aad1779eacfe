// The Prometheus scrape endpoint: an OpenTelemetry MeterProvider whose reader is the Prometheus
// exporter. Each tick hands its report to update(); nothing is computed until a scrape asks.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pipeline, Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { diag } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { TickReport } from '../agent/report.js';
import { ReportMeter } from './agent-meter.js';
import { prometheusText } from './prometheus-text.js';

export interface PrometheusEndpointOptions {
  /** address to listen on; the default keeps the endpoint on this host */
  host?: string;
  port?: number;
}

export class PrometheusEndpoint {
  readonly host: string;
  readonly port: number;
  private readonly exporter: PrometheusExporter;
  private readonly meter: ReportMeter;
  /**
   * Our own server, the exporter only collecting: the exporter's server parses each request's URL
   * against http://HOST:PORT/, which an IPv6 host (`::1`) makes invalid, so every request there
   * was answered 400.
   */
  private readonly server: Server = createServer((req, res) => this.serve(req, res));
  private listening = false;

  constructor({ host = '127.0.0.1', port = 9464 }: PrometheusEndpointOptions = {}) {
    // The exporter reads port 0 as "default" (9464): refuse it rather than listen elsewhere.
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`Prometheus endpoint: port must be 1..65535, got ${port}`);
    }
    this.host = host;
    this.port = port;
    let exporter!: PrometheusExporter;
    this.meter = new ReportMeter((producer) => (exporter = new PrometheusExporter({
      host,
      port,
      preventServerStart: true, // this.server serves it (see there)
      withoutScopeInfo: true, // one scope only: an otel_scope_name label on each series says nothing
      metricProducers: [producer],
    })));
    this.exporter = exporter;
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
      // (an error once listening, a socket's say: the scrape fails, not the agent)
      this.server.on('error', () => {});
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
    this.meter.update(report);
  }

  /** Stops the server, the connections still open with it (a scraper stuck mid-request too). Safe after a failed start. */
  async shutdown(): Promise<void> {
    if (this.listening) {
      this.listening = false;
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeAllConnections();
      await closed;
    }
    await this.meter.shutdown();
  }

  /** GET (or HEAD) /metrics, with or without a query string; another path is not found, another method not allowed. */
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
    void this.answer(req, res);
  }

  /** Collects (the exporter: the workloads' producer, the SDK's instruments), writes the page (prometheus-text.ts), gzipped when the client takes it. */
  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let pieces: Buffer[];
    try {
      const { resourceMetrics, errors } = await this.exporter.collect();
      if (errors.length) diag.error('Prometheus endpoint: metrics collection errors', ...errors);
      pieces = prometheusText(resourceMetrics);
    } catch (err) {
      res.statusCode = 500;
      res.end(`# failed to collect metrics: ${String(err)}\n`);
      return;
    }
    res.statusCode = 200;
    // the text format's own content type (the exporter's "text/plain" names no version)
    res.setHeader('content-type', 'text/plain; version=0.0.4; charset=utf-8');
    res.setHeader('vary', 'accept-encoding');
    const gzip = takesGzip(req.headers['accept-encoding']);
    if (gzip) res.setHeader('content-encoding', 'gzip');
    if (req.method === 'HEAD' || !gzip) {
      if (req.method !== 'HEAD') for (const piece of pieces) res.write(piece);
      res.end();
      return;
    }
    // Thousands of workloads make tens of MB of text that compresses 25 to 1 and more (Prometheus
    // asks for gzip): compressed on libuv's threads, at the fastest level.
    // (a client gone mid-page ends the pipeline: nothing to answer)
    pipeline(Readable.from(pieces), createGzip({ level: 1 }), res, () => {});
  }
}

/** Whether an Accept-Encoding header takes gzip (named, or `*`, with a q above 0). */
export function takesGzip(header: string | undefined): boolean {
  if (!header) return false;
  let gzip: boolean | undefined;
  let any: boolean | undefined;
  for (const part of header.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';').map((x) => x.trim());
    const q = params.find((p) => p.startsWith('q='));
    const ok = q === undefined || Number(q.slice(2)) > 0;
    if (coding === 'gzip' || coding === 'x-gzip') gzip = ok;
    else if (coding === '*') any = ok;
  }
  return gzip ?? any ?? false;
}
