// A stand-in OpenTelemetry collector for the OTLP push tests: an HTTP listener on loopback that
// keeps every request it is sent. It listens from the start (no free port left for another
// process to take); while `down()` says so it drops each connection unanswered, or answers with
// the HTTP status it gives.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import type { ExecutionContext } from 'ava';

export interface OtlpRequest {
  path: string;
  type: string;
  /** the Content-Encoding it came with ('' for none); body is as decoded */
  encoding: string;
  body: string;
  headers: IncomingHttpHeaders;
}

/** What an OTLP/HTTP JSON logs request holds, as far as the tests read it. */
export interface OtlpLogsBody {
  resourceLogs: { resource: { attributes: OtlpAttribute[] }; scopeLogs: { logRecords: OtlpLogRecord[] }[] }[];
}
export interface OtlpLogRecord {
  timeUnixNano: string;
  severityText: string;
  eventName?: string;
  body: { stringValue: string };
  attributes: OtlpAttribute[];
}
export interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; doubleValue?: number; intValue?: string | number; boolValue?: boolean; arrayValue?: { values: OtlpAttribute['value'][] } };
}
type Plain = string | number | boolean | undefined | Plain[];

/** Every log record the collector was sent, in the order it came. */
export const logRecordsOf = (requests: readonly OtlpRequest[]): OtlpLogRecord[] =>
  requests.filter((r) => r.path === '/v1/logs').flatMap((r) => (JSON.parse(r.body) as OtlpLogsBody).resourceLogs.flatMap((l) => l.scopeLogs.flatMap((s) => s.logRecords)));

/** A record's attributes as plain values (OTLP JSON writes 64-bit integers as strings: numbers here). */
export const attributesOf = (r: OtlpLogRecord): Record<string, Plain> => Object.fromEntries(r.attributes.map((a) => [a.key, plain(a.value)]));

function plain(v: OtlpAttribute['value']): Plain {
  if (v.arrayValue) return v.arrayValue.values.map(plain);
  if (v.intValue !== undefined) return Number(v.intValue);
  return v.stringValue ?? v.doubleValue ?? v.boolValue;
}

/** `requests`: those taken; `refused`: those answered with an HTTP error status (dropped connections are in neither). */
export async function startCollector(t: ExecutionContext, down: () => boolean | number = () => false): Promise<{ url: string; requests: OtlpRequest[]; refused: OtlpRequest[] }> {
  const requests: OtlpRequest[] = [];
  const refused: OtlpRequest[] = [];
  const server = createServer((req, res) => {
    const answer = down();
    if (answer === true) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const encoding = req.headers['content-encoding'] ?? '';
      const raw = Buffer.concat(chunks);
      const body = (encoding === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      const request = { path: req.url ?? '', type: req.headers['content-type'] ?? '', encoding, body, headers: req.headers };
      if (typeof answer === 'number') {
        refused.push(request);
        res.statusCode = answer;
        res.end();
        return;
      }
      requests.push(request);
      res.end('{}');
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  t.teardown(() => new Promise<void>((res) => server.close(() => res())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/metrics`, requests, refused };
}
