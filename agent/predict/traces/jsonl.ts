// headroom's own recorded traces (`headroom record`, test/fixtures/traces/): JSON Lines.
//
// Format, one JSON object per line:
//   {"t": 1718000000000, "workload": "/sys/fs/cgroup/app.slice/web", "resource": "cpu_cores", "value": 1.25}
//     t         sample time, ms since the Unix epoch (any monotonic ms clock works too)
//     workload  the workload the sample belongs to (cgroup path, or a name)
//     resource  what was measured, with its unit in the name: cpu_cores, mem_bytes, io_read_bps, ...
//     value     the demand at t, a finite number (a gauge or a rate, never a cumulative counter)
//     limit     optional: the level at which this workload's resource saturates at t (its
//               cgroup's memory limit or CPU quota, as `record` reads them), above 0
//   Optionally, the first line is a header instead of a sample:
//   {"format": "headroom-trace", "version": 1, "stepMs": 1000, "limits": {"cpu_cores": 2}}
//     stepMs    the tick period the trace was recorded at: the grid step when replayed
//     limits    optional: per resource, the level at which it saturates (a quota, the CPUs
//               given): what `headroom predict` scores saturation warnings against, for every
//               workload (over the samples' own limits)
//   A series' saturation level is the header's limit for its resource, else its samples' limit
//   (the lowest, with a warning, when it changed during the trace), else none.
// Samples may come in any order and interleave workloads. Each (workload, resource) becomes one
// series on a grid of stepMs (without a header: the median spacing of its samples, rounded to
// two significant digits, e.g. 1003 ms -> 1000 ms); samples sharing a step are averaged. Blank
// lines are skipped. A last line that is not JSON (cut short when a recorder was killed) is
// skipped with a warning (of no series: its fields did not read); any other line that is not
// JSON, not a sample (a field missing or of the wrong type), or a header that is not version 1
// with a positive stepMs and numeric limits, is an error naming the file, line and field.
import { humanBytes, isByteResource } from '../../byte-units.js';
import { demandRangeProblem, MAX_DEMAND, readLines, shownValue } from './lines.js';
import { printableName } from '../../printable.js';
import { GridAccumulator, TraceOptionError, type Series } from './series.js';
import { nearMiss } from '../../near-miss.js';

export const TRACE_FORMAT = 'headroom-trace';

export interface TraceSample {
  t: number;
  workload: string;
  resource: string;
  value: number;
  /** the level the workload's resource saturates at, at t (its cgroup's limit), when known */
  limit?: number;
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
  return JSON.stringify({ t: s.t, workload: s.workload, resource: s.resource, value: s.value, ...(s.limit !== undefined ? { limit: s.limit } : {}) });
}

/** What is wrong with a parsed line as a sample (the field and why), or undefined when it is one. */
function sampleProblem(o: unknown): string | undefined {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'expected an object {"t", "workload", "resource", "value"}';
  const s = o as Record<string, unknown>;
  if (typeof s.t !== 'number' || !Number.isFinite(s.t)) return `field "t": expected a time in ms, got ${shownValue(s.t)}`;
  // (past 2^53 a time is read to the nearest 2 ms or worse: samples merged, and 475 points scored 441)
  if (Math.abs(s.t) > Number.MAX_SAFE_INTEGER) return `field "t": ${s.t} is beyond the times a number holds exactly (2^53 ms; a time in ns or us?)`;
  if (typeof s.workload !== 'string') return `field "workload": expected a string, got ${shownValue(s.workload)}`;
  if (typeof s.resource !== 'string' || s.resource === '') return `field "resource": expected a name, got ${shownValue(s.resource)}`;
  if (typeof s.value !== 'number' || !Number.isFinite(s.value)) return `field "value": expected a finite number, got ${shownValue(s.value)}`;
  if (s.value < 0) return `field "value": a demand is never below 0, got ${s.value}`;
  if (s.value > MAX_DEMAND) return demandRangeProblem('value', s.value);
  if (s.limit !== undefined && !(typeof s.limit === 'number' && Number.isFinite(s.limit) && s.limit > 0)) return `field "limit": expected a level above 0, got ${shownValue(s.limit)}`;
  if (typeof s.limit === 'number' && s.limit > MAX_DEMAND) return `field "limit": ${s.limit} is above ${MAX_DEMAND} (a unit slip or a corrupt field? a resource without a limit has none)`;
  return undefined;
}

/** What is wrong with a header (the field and why), or undefined. */
function headerProblem(h: Record<string, unknown>): string | undefined {
  if (h.version !== 1) return `header field "version": this headroom reads version 1, got ${shownValue(h.version)}`;
  if (h.stepMs !== undefined && !(typeof h.stepMs === 'number' && Number.isFinite(h.stepMs) && h.stepMs > 0)) {
    return `header field "stepMs": expected a positive number of ms, got ${shownValue(h.stepMs)}`;
  }
  if (h.limits !== undefined) {
    if (typeof h.limits !== 'object' || h.limits === null || Array.isArray(h.limits)) return `header field "limits": expected an object of resource: level, got ${shownValue(h.limits)}`;
    for (const [k, v] of Object.entries(h.limits)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) return `header field "limits.${k}": expected a level above 0, got ${shownValue(v)}`;
    }
  }
  return undefined;
}


/** Two significant digits: a jittery 1003 ms tick reads as 1000 ms. */
function roundStep(ms: number): number {
  const scale = Math.pow(10, Math.floor(Math.log10(ms)) - 1);
  return Math.max(1, Math.round(ms / scale) * scale);
}

/**
 * Where in its step a series' samples fall (ms after a multiple of the step): the circular mean
 * of their times modulo the step. The grid's cells are centred there, so a recorder ticking on
 * whole seconds with a few ms of jitter puts each sample in its own cell; cut at the multiples,
 * half of them fell into the cell before and left a hole beside a merged pair (a peak over any
 * window holding a hole is not scored).
 */
function samplePhase(times: number[], step: number): number {
  let x = 0;
  let y = 0;
  for (const t of times) {
    const a = (2 * Math.PI * (((t % step) + step) % step)) / step;
    x += Math.cos(a);
    y += Math.sin(a);
  }
  if (x === 0 && y === 0) return 0;
  const a = Math.atan2(y, x);
  return ((a < 0 ? a + 2 * Math.PI : a) * step) / (2 * Math.PI);
}

/**
 * Whether JSON.parse failed only for want of the rest of the line (its input ended inside a
 * value: a write cut short), not at a character it could not read (a NaN, a stray brace): a
 * last line of the second kind is an error like any other, not a killed recorder's.
 */
function endsEarly(line: string, err: Error): boolean {
  if (/Unexpected end of JSON input/.test(err.message)) return true;
  const at = /at position (\d+)/.exec(err.message);
  return at !== null && Number(at[1]) >= line.trimEnd().length;
}

function medianSpacing(times: number[]): number {
  const sorted = times.slice().sort((a, b) => a - b);
  const gaps: number[] = [];
  for (let i = 1; i < sorted.length; i++) if (sorted[i]! > sorted[i - 1]!) gaps.push(sorted[i]! - sorted[i - 1]!);
  if (gaps.length === 0) return 1000;
  gaps.sort((a, b) => a - b);
  return gaps[gaps.length >> 1]!;
}

/** What headroom's recorder writes, per workload: gauges and rates only, never cumulative counters. */
export const RECORDED_RESOURCES = [
  'cpu_cores', 'switches_per_s', 'runq_p99_ms', 'minor_faults_per_s', 'major_faults_per_s', 'reclaim_ms_per_s',
  'io_read_bytes_per_s', 'io_write_bytes_per_s', 'io_ops_per_s', 'io_p99_ms',
  'tcp_tx_bytes_per_s', 'tcp_rx_bytes_per_s', 'tcp_retransmits_per_s', 'memory_bytes', 'oom_kills_per_s',
] as const;

/** Whether `name` is one of RECORDED_RESOURCES. */
export const isRecordedResource = (name: string): boolean => (RECORDED_RESOURCES as readonly string[]).includes(name);

/**
 * A resource name (the format takes any) within two edits of a recorded one: a typo, said, as it
 * becomes a series of its own (cpu_core beside cpu_cores was two series without a word).
 */
function typoWarning(path: string, line: number, resource: string): string | undefined {
  if (isRecordedResource(resource)) return undefined;
  // (two edits at most: a hand-made trace's mem_bytes is its own name, not a typo of memory_bytes)
  const near = nearMiss(resource, RECORDED_RESOURCES, 2);
  // (one that differs in its digits alone is another percentile, io_p90_ms beside io_p99_ms: its own)
  const digitsAside = (name: string): string => name.replace(/\d+/g, '#');
  if (near === undefined || digitsAside(near) === digitsAside(resource)) return undefined;
  return `${path}:${line}: field "resource": "${printableName(resource)}" is not one headroom records (did you mean "${near}"?); read as a series of its own`;
}

export interface ReadJsonlOptions {
  /** grid step for a trace without a header; with one, its stepMs rules and a different value here is an error */
  stepMs?: number;
  /** a header's own stepMs stands against a different stepMs above, said through onWarning (a folder's files: one file does not stop the rest) */
  headerStepWins?: boolean;
  /** told of what is skipped (a truncated last line) */
  onWarning?: (message: string) => void;
}

export function readJsonl(path: string, opts: ReadJsonlOptions = {}): Series[] {
  let stepMs = opts.stepMs;
  let stepFrom: Series['stepFrom'] = opts.stepMs !== undefined ? 'option' : 'inferred';
  const samples = new Map<string, { workload: string; resource: string; t: number[]; v: number[]; line: number[]; lowest: number; highest: number; first: Timed; last: Timed }>();
  const resourcesSeen = new Set<string>();
  let first = true;
  let limits: Record<string, number> = {};
  let lineNo = 0;
  // a line that is not JSON is an error unless it is the last one and cut short (a recorder killed mid-line)
  let unparsed: { line: number; why: string; cut: boolean } | undefined;
  for (const line of readLines(path, opts.onWarning)) {
    lineNo++;
    if (line.trim() === '') continue;
    if (unparsed) throw new Error(`${path}:${unparsed.line}: not JSON (${unparsed.why})`);
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch (err) {
      unparsed = { line: lineNo, why: (err as Error).message, cut: endsEarly(line, err as Error) };
      continue;
    }
    const isHeader = (o as Partial<TraceHeader> | null)?.format === TRACE_FORMAT;
    if (isHeader && !first) throw new Error(`${path}:${lineNo}: a header after the first line (two traces joined?); a trace's header must be its first line`);
    if (isHeader) {
      const h = o as Record<string, unknown>;
      const problem = headerProblem(h);
      if (problem) throw new Error(`${path}:${lineNo}: ${problem}`);
      if (typeof h.stepMs === 'number') {
        if (opts.stepMs !== undefined && opts.stepMs !== h.stepMs && opts.headerStepWins) {
          opts.onWarning?.(`${path}: its header says stepMs ${h.stepMs}; --step-ms (${opts.stepMs}) is for traces without one: not used for it`);
        } else if (opts.stepMs !== undefined && opts.stepMs !== h.stepMs) {
          throw new TraceOptionError(`${path}: its header says stepMs ${h.stepMs}; --step-ms is for traces without one`);
        }
        stepMs = h.stepMs;
        stepFrom = 'header';
      }
      if (h.limits) limits = h.limits as Record<string, number>;
      first = false;
      continue;
    }
    first = false;
    const problem = sampleProblem(o);
    if (problem) throw new Error(`${path}:${lineNo}: ${problem}`);
    const s = o as TraceSample;
    const key = JSON.stringify([s.workload, s.resource]);
    let entry = samples.get(key);
    // (names escaped here: the warnings below print them)
    if (!entry) {
      samples.set(key, (entry = { workload: printableName(s.workload), resource: printableName(s.resource), t: [], v: [], line: [], lowest: Number.POSITIVE_INFINITY, highest: 0, first: { t: Number.POSITIVE_INFINITY, v: 0 }, last: { t: Number.NEGATIVE_INFINITY, v: 0 } }));
      if (!resourcesSeen.has(s.resource)) {
        resourcesSeen.add(s.resource);
        const typo = typoWarning(path, lineNo, s.resource);
        if (typo) opts.onWarning?.(typo);
      }
    }
    if (s.limit !== undefined) {
      entry.lowest = Math.min(entry.lowest, s.limit);
      entry.highest = Math.max(entry.highest, s.limit);
      // (the earliest and the latest in time, not in the file's order: a warning says how it changed)
      if (s.t < entry.first.t) entry.first = { t: s.t, v: s.limit };
      if (s.t >= entry.last.t) entry.last = { t: s.t, v: s.limit };
    }
    entry.t.push(s.t);
    entry.v.push(s.value);
    entry.line.push(lineNo);
  }
  if (unparsed && !unparsed.cut) throw new Error(`${path}:${unparsed.line}: not JSON (${unparsed.why})`);
  if (unparsed) {
    opts.onWarning?.(`${path}:${unparsed.line}: the last line is cut short (not JSON); skipped`);
  }
  if (samples.size === 0 && !first) opts.onWarning?.(`${path}: no samples after its header`);
  const out: Series[] = [];
  for (const e of samples.values()) {
    const step = stepMs ?? roundStep(medianSpacing(e.t));
    const grid = new GridAccumulator();
    // (cell k holds the times within half a step of k steps + phase)
    const phase = samplePhase(e.t, step);
    e.t.forEach((t, i) => grid.add(Math.floor((t - phase) / step + 0.5), e.v[i]!, e.line[i]!));
    const limit = limits[e.resource] ?? sampleLimit(e, path, opts.onWarning);
    out.push({
      name: e.workload, dataset: 'headroom', resource: e.resource, stepSeconds: step / 1000, stepFrom,
      // (the cell's start, as before: its samples' phase within it, under a step, moves nothing a forecast reads)
      startSeconds: (grid.firstStep * step) / 1000, values: grid.build(`${path}: ${e.workload} ${e.resource} (steps of ${step} ms)`), stats: grid.stats,
      ...(typeof limit === 'number' && Number.isFinite(limit) ? { limit } : {}),
    });
  }
  markOomKills(out);
  return out;
}

/** A memory series' reachedSteps: the steps at which its workload's OOM-kill series (`record`'s oom_kills_per_s) is above 0. */
function markOomKills(series: Series[]): void {
  const kills = new Map(series.filter((s) => s.resource === OOM_KILLS).map((s) => [s.name, s]));
  for (const s of series) {
    const k = s.resource === MEMORY ? kills.get(s.name) : undefined;
    if (!k) continue;
    const steps: number[] = [];
    const offset = Math.round((k.startSeconds - s.startSeconds) / s.stepSeconds);
    k.values.forEach((v, i) => {
      const at = i + offset;
      if (v > 0 && at >= 0 && at < s.values.length) steps.push(at);
    });
    if (steps.length > 0) s.reachedSteps = steps;
  }
}
const OOM_KILLS = 'oom_kills_per_s';
const MEMORY = 'memory_bytes';

/** A value at a time (ms). */
interface Timed {
  t: number;
  v: number;
}

/** A series' limit from its samples: the one they give, or the lowest (said) when it changed; undefined for none. */
function sampleLimit(e: { workload: string; resource: string; lowest: number; highest: number; first: Timed; last: Timed }, path: string, onWarning?: (message: string) => void): number | undefined {
  if (e.lowest === Number.POSITIVE_INFINITY) return undefined;
  if (e.highest !== e.lowest) {
    // (in exact bytes where the binary units would read the two alike)
    const bytes = isByteResource(e.resource) && humanBytes(e.lowest) !== humanBytes(e.highest);
    const level = (v: number): string => (bytes ? humanBytes(v) : String(v));
    const low = e.lowest !== e.first.v && e.lowest !== e.last.v ? `, ${level(e.lowest)} at its lowest` : '';
    onWarning?.(`${path}: ${e.workload} ${e.resource}: its limit changed during the trace (from ${level(e.first.v)} to ${level(e.last.v)}${low}); saturation is scored against the lowest`);
  }
  return e.lowest;
}
