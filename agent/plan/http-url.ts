// One check shared by the policy's loader and the OTLP exporters, kept free of imports so the
// exporters do not load the policy's schema for it.

/** Why `url` is no http:// or https:// URL (an OTLP/HTTP endpoint), or undefined. */
export function badHttpUrl(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `not a URL: ${url}`;
  }
  return u.protocol === 'http:' || u.protocol === 'https:' ? undefined : `must be an http:// or https:// URL, got ${url}`;
}
