// A Prometheus text page, as the tests read it: its samples by metric name and exact labels.

export interface Sample {
  name: string;
  /** label values as written on the page: escapes (\" \\ \n) kept */
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;

function parseLine(line: string): Sample | undefined {
  const m = SAMPLE_LINE.exec(line);
  if (!m) return undefined;
  const labels: Record<string, string> = {};
  for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
  return { name: m[1]!, labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) };
}

/** Every sample line of the page (comments and blank lines skipped). */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const s = parseLine(line);
    if (s) out.push(s);
  }
  return out;
}

/**
 * The samples of `name` alone, in page order: only the lines that start with it are parsed (a
 * page of thousands of workloads is megabytes, read every few seconds beside the agent).
 */
export function samplesNamed(text: string, name: string): Sample[] {
  const out: Sample[] = [];
  let at = text.startsWith(name) ? 0 : lineStartingWith(text, name, 0);
  while (at >= 0) {
    const end = text.indexOf('\n', at);
    const s = parseLine(end < 0 ? text.slice(at) : text.slice(at, end));
    if (s?.name === name) out.push(s);
    at = end < 0 ? -1 : lineStartingWith(text, name, end);
  }
  return out;
}

/** Where the next line from `from` on that starts with `prefix` starts; -1 when none does. */
function lineStartingWith(text: string, prefix: string, from: number): number {
  const i = text.indexOf(`\n${prefix}`, from);
  return i < 0 ? -1 : i + 1;
}

/** The samples of `name` that carry every one of `labels` (they may carry others). */
export const samplesOf = (all: readonly Sample[], name: string, labels: Record<string, string> = {}): Sample[] =>
  all.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

/** The value of the first sample of `name` with these labels on a page; undefined when there is none. */
export function metricValue(page: string, name: string, labels: Record<string, string> = {}): number | undefined {
  return samplesOf(samplesNamed(page, name), name, labels)[0]?.value;
}
