// One check shared by the policy's loader and the OTLP exporters, kept free of imports so the
// exporters do not load the policy's schema for it.

/** Why `url` is no http:// or https:// URL (an OTLP/HTTP endpoint), or undefined. */
export function badHttpUrl(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `not a URL: ${shownUrl(url)}`;
  }
  return u.protocol === 'http:' || u.protocol === 'https:' ? undefined : `must be an http:// or https:// URL, got ${shownUrl(url)}`;
}

/**
 * A URL as a message shows it: a password in it (http://user:secret@host/...) and the query's
 * values (?token=..., where some collectors take a key) replaced by ***, so a summary, a start-up
 * line or a failed push's line pasted into a ticket does not carry them, nor a user alone (a token)
 * or the fragment. One that does not parse is redacted by pattern.
 */
export function shownUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // (one that does not parse, a port out of range, is shown by pattern: its user part and all
    // after a '?' or '#' hidden)
    return url.replace(/\/\/[^/?#]*@/, '//***@').replace(/([?#]).*$/s, '$1***');
  }
  if (u.password === '' && u.username === '' && u.search === '' && u.hash === '') return url;
  // (a user with no password is likely a token: https://TOKEN@host)
  if (u.password !== '') u.password = '***';
  else if (u.username !== '') u.username = '***';
  if (u.search !== '') u.search = u.search.slice(1).split('&').map((kv) => (kv.includes('=') ? `${kv.slice(0, kv.indexOf('='))}=***` : '***')).join('&');
  if (u.hash !== '') u.hash = '***';
  return u.toString();
}
