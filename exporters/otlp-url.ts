// Where OTLP metrics and log records (decisions, events) go, read and checked without loading the
// OpenTelemetry SDK (`run` checks them before anything loads): --otlp-endpoint, else the policy's
// export.otlp.endpoint, else the OpenTelemetry SDK's standard environment variables.
import { badHttpUrl, shownUrl } from '../agent/plan/http-url.js';

/** The exporters an OTEL_*_EXPORTER variable names (a comma-separated list; case-insensitive, as the specification reads them). */
const exporterList = (value: string | undefined): string[] => (value ?? '').toLowerCase().split(',').map((e) => e.trim()).filter((e) => e !== '');

/** Whether the standard environment asks for an OTLP metrics push (OTEL_METRICS_EXPORTER: "otlp", or a list naming it). */
export const otlpOnInEnv = (env: NodeJS.ProcessEnv = process.env): boolean => exporterList(env.OTEL_METRICS_EXPORTER).includes('otlp');

/** A signal's OTLP/HTTP URL by the SDK's rules: its own variable as it is, else the general one + /v1/<signal>; undefined when neither is set. */
function signalEndpoint(env: NodeJS.ProcessEnv, signal: 'metrics' | 'logs'): { url: string; from: string } | undefined {
  const own = `OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`;
  const url = env[own]?.trim();
  if (url) return { url, from: own };
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return base ? { url: `${base.replace(/\/+$/, '')}/v1/${signal}`, from: 'OTEL_EXPORTER_OTLP_ENDPOINT' } : undefined;
}

/** Whether to push over OTLP: a metrics URL given (--otlp-endpoint or the policy's), or the standard environment asking for it. */
export const otlpWanted = (endpoint: string | undefined, env: NodeJS.ProcessEnv = process.env): boolean => endpoint !== undefined || otlpOnInEnv(env);

/** The OTLP/HTTP metrics URL the standard environment names, as the OpenTelemetry SDK reads it, and the variable it came from. */
export function otlpEndpointFromEnv(env: NodeJS.ProcessEnv = process.env): { url: string; from: string } {
  return signalEndpoint(env, 'metrics') ?? { url: 'http://localhost:4318/v1/metrics', from: 'the default' };
}

/** Where the decisions and events go as OTLP log records: a URL (and where it came from), or none (and why, when the user did not say so). */
export type OtlpLogsTarget = { url: string; from: string } | { url: undefined; why?: string };

/**
 * Where the decisions and events go as OTLP log records, beside the metrics, by the OpenTelemetry SDK's
 * rules: OTEL_EXPORTER_OTLP_LOGS_ENDPOINT as it is, else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/logs,
 * else beside the metrics URL (its /v1/metrics as /v1/logs; of another path: its origin +
 * /v1/logs). None when OTEL_LOGS_EXPORTER is set and names no otlp, or when only the general
 * OTEL_EXPORTER_OTLP_PROTOCOL asks for a protocol other than http/json (said, not refused: it is
 * often set for other programs; an explicit OTEL_EXPORTER_OTLP_LOGS_PROTOCOL is refused by
 * otlpEnvProblem).
 */
export function otlpLogsEndpoint(metricsUrl: string, env: NodeJS.ProcessEnv = process.env): OtlpLogsTarget {
  const exporters = exporterList(env.OTEL_LOGS_EXPORTER);
  if (exporters.length > 0 && !exporters.includes('otlp')) return { url: undefined };
  const general = env.OTEL_EXPORTER_OTLP_PROTOCOL?.trim();
  if (!env.OTEL_EXPORTER_OTLP_LOGS_PROTOCOL?.trim() && general && general !== 'http/json') {
    return { url: undefined, why: `decisions and events are not pushed as OTLP logs: OTEL_EXPORTER_OTLP_PROTOCOL=${general}, and headroom sends http/json only (OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=http/json pushes them)` };
  }
  const fromEnv = signalEndpoint(env, 'logs');
  if (fromEnv) return fromEnv;
  const sibling = /\/v1\/metrics\/?$/.test(metricsUrl) ? metricsUrl.replace(/\/v1\/metrics\/?$/, '/v1/logs') : `${new URL(metricsUrl).origin}/v1/logs`;
  return { url: sibling, from: 'the metrics URL' };
}

/** Why `url` is no OTLP/HTTP endpoint, or undefined. */
export const badOtlpUrl = badHttpUrl;

/**
 * Why the standard environment's OTLP settings cannot be followed, or undefined: a protocol
 * other than http/json (JSON posted to a gRPC port would only fail), or an endpoint that is no
 * URL. `url`: the metrics URL given (by `from`), which the metrics endpoint variables then do not
 * matter for.
 */
export function otlpEnvProblem(env: NodeJS.ProcessEnv = process.env, url?: string, from = '--otlp-endpoint'): string | undefined {
  for (const name of ['OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const protocol = env[name]?.trim();
    if (!protocol) continue;
    if (protocol !== 'http/json') return `${name}=${protocol}: headroom pushes OTLP metrics over HTTP as JSON only (http/json)`;
    break;
  }
  const metrics = url !== undefined ? { url, from } : otlpEndpointFromEnv(env);
  const bad = badOtlpUrl(metrics.url);
  if (bad !== undefined) return `${metrics.from}: ${bad}`;
  const logs = otlpLogsEndpoint(metrics.url, env);
  if (logs.url === undefined) return undefined; // left out: by OTEL_LOGS_EXPORTER, or said at the start
  const logsProtocol = env.OTEL_EXPORTER_OTLP_LOGS_PROTOCOL?.trim();
  if (logsProtocol && logsProtocol !== 'http/json') {
    return `OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=${logsProtocol}: headroom pushes its decisions and events as OTLP logs over HTTP as JSON only (http/json; OTEL_LOGS_EXPORTER=none leaves them out)`;
  }
  const badLogs = badOtlpUrl(logs.url);
  return badLogs === undefined ? undefined : `${logs.from}: ${badLogs}`;
}

/** What `run` pushes over OTLP: whether, to which metrics URL (undefined: the environment's), how often, and why it cannot. */
export interface OtlpChoice {
  wanted: boolean;
  url: string | undefined;
  intervalS: number;
  problem?: string;
}

/**
 * The flags first, then the policy's export.otlp, then the standard environment (which also
 * decides where the log records go, as for a URL given by flag). A problem with what was chosen
 * names where it came from; the environment's metrics endpoint is not held against a URL given
 * (its logs endpoint is: the log records go there).
 */
export function otlpChoice(
  flags: { endpoint?: string; intervalS?: number }, policy: { endpoint: string | null; intervalMs: number }, policyFile: string, env: NodeJS.ProcessEnv = process.env,
): OtlpChoice {
  const fromPolicy = flags.endpoint === undefined && policy.endpoint !== null;
  const url = flags.endpoint ?? policy.endpoint ?? undefined;
  const wanted = otlpWanted(url, env);
  const problem = wanted ? otlpEnvProblem(env, url, fromPolicy ? `the policy ${policyFile} (export.otlp.endpoint)` : '--otlp-endpoint') : undefined;
  const said = problem !== undefined && fromPolicy ? `${problem} (the policy ${policyFile} pushes to ${shownUrl(url!)}: export.otlp.endpoint)` : problem;
  return { wanted, url, intervalS: flags.intervalS ?? policy.intervalMs / 1000, ...(said !== undefined ? { problem: said } : {}) };
}
