// Where OTLP metrics go, read and checked without loading the OpenTelemetry SDK (the command
// line checks them before anything loads): from --otlp-endpoint, or from the OpenTelemetry SDK's
// standard environment variables.

/** Whether the standard environment asks for an OTLP metrics push (OTEL_METRICS_EXPORTER: "otlp", or a list naming it). */
export const otlpOnInEnv = (env: NodeJS.ProcessEnv = process.env): boolean =>
  (env.OTEL_METRICS_EXPORTER ?? '').split(',').some((e) => e.trim() === 'otlp');

/** Whether to push over OTLP: an --otlp-endpoint given, or the standard environment asking for it. */
export const otlpWanted = (endpoint: string | undefined, env: NodeJS.ProcessEnv = process.env): boolean => endpoint !== undefined || otlpOnInEnv(env);

/** The OTLP/HTTP metrics URL the standard environment names, as the OpenTelemetry SDK reads it, and the variable it came from. */
export function otlpEndpointFromEnv(env: NodeJS.ProcessEnv = process.env): { url: string; from: string } {
  const metrics = env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT?.trim();
  if (metrics) return { url: metrics, from: 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT' };
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (base) return { url: `${base.replace(/\/+$/, '')}/v1/metrics`, from: 'OTEL_EXPORTER_OTLP_ENDPOINT' };
  return { url: 'http://localhost:4318/v1/metrics', from: 'the default' };
}

/** Why `url` is no OTLP/HTTP endpoint, or undefined. */
export function badOtlpUrl(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `not a URL: ${url}`;
  }
  return u.protocol === 'http:' || u.protocol === 'https:' ? undefined : `must be an http:// or https:// URL, got ${url}`;
}

/**
 * Why the standard environment's OTLP settings cannot be followed, or undefined: a protocol
 * other than http/json (JSON posted to a gRPC port would only fail), or an endpoint that is no
 * URL. `url`: the --otlp-endpoint given, which the endpoint variables then do not matter for.
 */
export function otlpEnvProblem(env: NodeJS.ProcessEnv = process.env, url?: string): string | undefined {
  for (const name of ['OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const protocol = env[name]?.trim();
    if (protocol) return protocol === 'http/json' ? undefined : `${name}=${protocol}: headroom pushes OTLP metrics over HTTP as JSON only (http/json)`;
  }
  if (url !== undefined) return undefined;
  const { url: fromEnv, from } = otlpEndpointFromEnv(env);
  const bad = badOtlpUrl(fromEnv);
  return bad === undefined ? undefined : `${from}: ${bad}`;
}
