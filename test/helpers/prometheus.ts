// A Prometheus text page, as the tests read it: its samples by metric name and exact labels.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Every sample line of the page (comments and blank lines skipped); label values unescaped only as far as quotes go. */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
  }
  return out;
}

/** The samples of `name` that carry every one of `labels` (they may carry others). */
export const samplesOf = (all: readonly Sample[], name: string, labels: Record<string, string> = {}): Sample[] =>
  all.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

/** The value of the first sample of `name` with these labels on a page; undefined when there is none. */
export function metricValue(page: string, name: string, labels: Record<string, string> = {}): number | undefined {
  return samplesOf(parseExposition(page), name, labels)[0]?.value;
}
