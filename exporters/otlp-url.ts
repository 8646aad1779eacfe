// Where OTLP metrics go, read and checked without loading the OpenTelemetry SDK (the command
// line checks --otlp-endpoint before anything loads).

/** The OTLP/HTTP metrics URL the standard environment names, as the OpenTelemetry SDK reads it. */
export function otlpUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const metrics = env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT?.trim();
  if (metrics) return metrics;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (base) return `${base.replace(/\/+$/, '')}/v1/metrics`;
  return 'http://localhost:4318/v1/metrics';
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
