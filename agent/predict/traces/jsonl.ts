// headroom's own recorded traces (`headroom record`, test/fixtures/traces/): JSON Lines.
//
// Format, one JSON object per line:
//   {"t": 1718000000000, "workload": "/sys/fs/cgroup/app.slice/web", "resource": "cpu_cores", "value": 1.25}
//     t         sample time, ms since the Unix epoch (any monotonic ms clock works too)
//     workload  the workload the sample belongs to (cgroup path, or a name)
//     resource  what was measured, with its unit in the name: cpu_cores, mem_bytes, io_read_bps, ...
//     value     the demand at t, a finite number (a gauge or a rate, never a cumulative counter)
//   Optionally, the first line is a header instead of a sample:
//   {"format": "headroom-trace", "version": 1, "stepMs": 1000, "limits": {"cpu_cores": 2}}
//     stepMs    the tick period the trace was recorded at: the grid step when replayed
//     limits    optional: per resource, the level at which it saturates (a quota, the CPUs
//               given): what `headroom predict` scores saturation warnings against
// Samples may come in any order and interleave workloads. Each (workload, resource) becomes one
// series on a grid of stepMs (without a header: the median spacing of its samples, rounded to
// two significant digits, e.g. 1003 ms -> 1000 ms); samples sharing a step are averaged. Lines
// that are blank or do not parse as a sample (a truncated last line after a crash) are skipped
// and counted in the series' `stats.dropped`.
import { readLines } from './lines.js';
import { GridAccumulator, type Series } from './series.js';

export const TRACE_FORMAT = 'headroom-trace';

export interface TraceSample {
  t: number;
  workload: string;
  resource: string;
  value: number;
}

export interface TraceHeader {
  format: typeof TRACE_FORMAT;
  version: 1;
  stepMs: number;
  limits?: Record<string, number>;
}

export function isJsonl(line: string): boolean {
  return line.trimStart().startsWith('{');
}

/** One line of a recorded trace, for writers: `formatSample(s) + '\n'`. */
export function formatSample(s: TraceSample): string {
  return JSON.stringify({ t: s.t, workload: s.workload, resource: s.resource, value: s.value });
}

function asSample(o: unknown): TraceSample | undefined {
  if (typeof o !== 'object' || o === null) return undefined;
  const s = o as Record<string, unknown>;
  if (typeof s.t !== 'number' || !Number.isFinite(s.t)) return undefined;
  if (typeof s.workload !== 'string' || typeof s.resource !== 'string') return undefined;
  if (typeof s.value !== 'number' || !Number.isFinite(s.value)) return undefined;
  return s as unknown as TraceSample;
}

/** Two significant digits: a jittery 1003 ms tick reads as 1000 ms. */
function roundStep(ms: number): number {
  const scale = Math.pow(10, Math.floor(Math.log10(ms)) - 1);
  return Math.max(1, Math.round(ms / scale) * scale);
}

function medianSpacing(times: number[]): number {
  const sorted = times.slice().sort((a, b) => a - b);
  const gaps: number[] = [];
  for (let i = 1; i < sorted.length; i++) if (sorted[i]! > sorted[i - 1]!) gaps.push(sorted[i]! - sorted[i - 1]!);
  if (gaps.length === 0) return 1000;
  gaps.sort((a, b) => a - b);
  return gaps[gaps.length >> 1]!;
}

export function readJsonl(path: string, opts: { stepMs?: number } = {}): Series[] {
  let stepMs = opts.stepMs;
  const samples = new Map<string, { workload: string; resource: string; t: number[]; v: number[] }>();
  let bad = 0;
  let first = true;
  let limits: Record<string, number> = {};
  for (const line of readLines(path)) {
    if (line.trim() === '') continue;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      bad++;
      continue;
    }
    if (first && (o as Partial<TraceHeader>)?.format === TRACE_FORMAT) {
      const s = (o as TraceHeader).stepMs;
      if (stepMs === undefined && Number.isFinite(s) && s > 0) stepMs = s;
      const l = (o as TraceHeader).limits;
      if (typeof l === 'object' && l !== null) limits = l;
      first = false;
      continue;
    }
    first = false;
    const s = asSample(o);
    if (!s) {
      bad++;
      continue;
    }
    const key = JSON.stringify([s.workload, s.resource]);
    let entry = samples.get(key);
    if (!entry) samples.set(key, (entry = { workload: s.workload, resource: s.resource, t: [], v: [] }));
    entry.t.push(s.t);
    entry.v.push(s.value);
  }
  const out: Series[] = [];
  for (const e of samples.values()) {
    const step = stepMs ?? roundStep(medianSpacing(e.t));
    const grid = new GridAccumulator();
    e.t.forEach((t, i) => grid.add(Math.floor(t / step), e.v[i]!));
    grid.dropped += bad;
    const limit = limits[e.resource];
    out.push({
      name: e.workload, dataset: 'headroom', resource: e.resource, stepSeconds: step / 1000,
      startSeconds: (grid.firstStep * step) / 1000, values: grid.build(), stats: grid.stats,
      ...(typeof limit === 'number' && Number.isFinite(limit) ? { limit } : {}),
    });
  }
  return out;
}
