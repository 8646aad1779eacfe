// Profiles: what each task signature (agent/workloads/signature.ts) needed on its past runs, as
// a resource curve over normalised run time, so its next run is forecast before it starts.
//
// A finished run is cut into BINS slices of its progress (0-5%, 5-10%, ...); per slice it gives
// CPU cores, memory peak and sustained (mean), I/O and network bytes/s. Runs are merged with a
// per-run decay (half-life in runs), keeping a weighted mean and variance per slice, so recent
// runs weigh more and the spread between runs gives a p90.
//
// On disk: one JSON file per signature in one directory, each written atomically (temp file,
// fsync, rename, directory fsync), so a crash leaves the old file or the new one, never half of
// one. A budget bounds the directory's bytes: least-recently-used profiles (used = recorded or
// forecast; the file's mtime carries it across restarts) are evicted first. A file that does
// not parse is reported and moved to quarantine/, never fatal. One writer per directory (the
// agent); readers (`headroom profiles`) open it read-only and change nothing.
import {
  chmodSync, closeSync, fsyncSync, futimesSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync,
  unlinkSync, utimesSync, writeFileSync,
} from 'node:fs';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { shownValue } from './traces/lines.js';
import { printableName } from '../printable.js';
import { Z90 } from './stats.js';

export const DEFAULT_PROFILE_DIR = '/var/lib/headroom/profiles';
export const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;
export const DEFAULT_HALF_LIFE_RUNS = 4;
export const PROFILE_FORMAT = 1;
/** slices of run progress: 20 gives 5% steps, fine enough to place a peak, small on disk */
export const BINS = 20;
/** A curve's slice weights are written only while one differs from the curve's by this share of it (mergeRun). */
const SLICE_WEIGHT_KEPT = 1e-3;
/** A run's unseen slice counts towards its own peak (as the profile has it) while the slice's weight is at least this share of the curve's (mergeRun). */
const PEAK_FROM_UNSEEN = 0.5;
export const RESOURCES = ['cpuCores', 'memPeakBytes', 'memSustainedBytes', 'ioBytesPerSec', 'netBytesPerSec'] as const;
export type Resource = (typeof RESOURCES)[number];
export const QUARANTINE = 'quarantine';

/** Problems kept in `problems` (the latest), and profiles kept in memory (the most recently used). */
const MAX_PROBLEMS_KEPT = 100;
const MAX_CACHED = 1024;
const SIGNATURE_RE = /^[0-9a-f]{64}$/;
const PROFILE_FILE_RE = /^([0-9a-f]{64})\.json$/;
const TEMP_FILE_RE = /^\.[0-9a-f]{64}\.json\.tmp-/;

// ---- runs and curves ----

/**
 * One observation during a run. An absent value was not measured: a slice averages the samples
 * that carry its value, and a resource no sample of the run carries is left out of its curve
 * (memory, for a run in a cgroup the memory controller does not see), never taken for 0.
 */
export interface RunSample {
  /** ms since the run started */
  atMs: number;
  cpuCores?: number;
  /** memory in use at this instant */
  memBytes?: number;
  /** highest memory since the previous sample (e.g. memory.peak); default memBytes */
  memPeakBytes?: number;
  ioBytesPerSec?: number;
  netBytesPerSec?: number;
}

export interface TaskLabel {
  exe: string;
  args?: readonly string[];
  /** the inputs its arguments name, as the signature saw them ("in.dat: file, 1234 bytes"): two tasks of one command line differ by these */
  inputs?: readonly string[];
  /** the chosen environment variables, as the signature saw them (null: unset) */
  env?: Readonly<Record<string, string | null>>;
}

export interface FinishedRun {
  signature: string;
  durationMs: number;
  /** when it ended; default: the store's clock */
  endedAtMs?: number;
  /** at least one; more is better (one per tick) */
  samples: readonly RunSample[];
  /** what to show for the signature in `headroom profiles` */
  task?: TaskLabel;
  /** its task's process's exit status (absent: not known); not 0: one the task ends with as a rule (grep's 1, rsync's 24) */
  exitStatus?: number;
  /**
   * how long it ran before a tick could see it (ms from its start; absent: 0): its cgroup was
   * found late (a walk of the trees finds a job's within 10 ticks while the sched probe is
   * filtered), or seen before and busy only since, and its start read from its process's. The
   * slices wholly within it, up to its first sample of each resource, are left as the profile
   * has them (unseenSlices)
   */
  unseenMs?: number;
}

/** The slices at a run's start that no sample could fall in: wholly within its first `unseenMs` (at most all but the last). */
export function unseenSlices(durationMs: number, unseenMs: number | undefined): number {
  if (!(unseenMs! > 0) || !(durationMs > 0)) return 0;
  return Math.min(BINS - 1, Math.floor((unseenMs! / durationMs) * BINS));
}

/** BINS values per resource measured (see RunSample) */
export type Curve = Partial<Record<Resource, number[]>>;

/**
 * One run's curve: each sample falls in the slice of progress it was taken in; a slice with no
 * sample carrying a resource is interpolated from its neighbours (runs shorter than BINS ticks
 * have gaps); a resource no sample carries is absent.
 */
export function binRun(samples: readonly RunSample[], durationMs: number): Curve {
  return binSlices(samples, durationMs).curve;
}

/** binRun's curve, and per resource the slice of its first sample carrying it. */
function binSlices(samples: readonly RunSample[], durationMs: number): { curve: Curve; firstSlice: Partial<Record<Resource, number>> } {
  if (!(durationMs > 0) || !Number.isFinite(durationMs)) throw new RangeError(`run duration must be positive, got ${durationMs}`);
  if (samples.length === 0) throw new RangeError('a run needs at least one sample');
  const sums = RESOURCES.map(() => new Array<number>(BINS).fill(0));
  const counts = RESOURCES.map(() => new Array<number>(BINS).fill(0));
  const cpu = 0, memPeak = 1, memSus = 2, io = 3, net = 4;
  for (const s of samples) {
    if (!Number.isFinite(s.atMs)) throw new RangeError(`sample time must be finite, got ${s.atMs}`);
    const b = Math.min(BINS - 1, Math.max(0, Math.floor((s.atMs / durationMs) * BINS)));
    const add = (i: number, raw: number | undefined): void => {
      if (!measured(raw)) return;
      // (within what a stored profile may hold: a counter's glitch of 2e15 bytes/s was saved,
      // and the file quarantined as corrupt when the store next opened, the task's history with it)
      const x = Math.min(raw, MAX_STORED_FIGURE);
      // (the memory peak slice holds its highest value, the others their mean)
      sums[i]![b] = i === memPeak ? Math.max(sums[i]![b]!, x) : sums[i]![b]! + Math.max(0, x);
      counts[i]![b]!++;
    };
    add(cpu, s.cpuCores);
    add(memSus, s.memBytes);
    add(memPeak, higher(s.memPeakBytes, s.memBytes));
    add(io, s.ioBytesPerSec);
    add(net, s.netBytesPerSec);
  }
  const curve: Curve = {};
  const firstSlice: Partial<Record<Resource, number>> = {};
  RESOURCES.forEach((r, i) => {
    const n = counts[i]!;
    const first = n.findIndex((c) => c > 0);
    if (first < 0) return;
    firstSlice[r] = first;
    curve[r] = fillGaps(sums[i]!.map((x, b) => (n[b]! > 0 && i !== memPeak ? x / n[b]! : x)), n);
  });
  return { curve, firstSlice };
}

function measured(x: number | undefined): x is number {
  return x !== undefined && Number.isFinite(x);
}

/** The higher of the values measured; undefined when neither is. */
function higher(a: number | undefined, b: number | undefined): number | undefined {
  if (!measured(a)) return measured(b) ? b : undefined;
  return measured(b) ? Math.max(a, b) : a;
}

/** Linear interpolation across empty bins; the ends take the nearest filled bin. */
function fillGaps(v: number[], counts: number[]): number[] {
  const filled = v.map((_, b) => b).filter((b) => counts[b]! > 0);
  return v.map((x, b) => {
    if (counts[b]! > 0) return x;
    const after = filled.find((f) => f > b);
    const before = filled.filter((f) => f < b).pop();
    if (before === undefined) return v[after!]!;
    if (after === undefined) return v[before]!;
    return v[before]! + ((v[after]! - v[before]!) * (b - before)) / (after - before);
  });
}

// ---- profiles: runs merged with decay ----

export interface Moments {
  mean: number;
  /** weighted population variance */
  var: number;
}

export interface Profile {
  format: typeof PROFILE_FORMAT;
  signature: string;
  task?: { exe: string; args: string[]; inputs?: string[]; env?: Record<string, string | null> };
  createdAtMs: number;
  lastRunAtMs: number;
  runs: number;
  /** decayed run count: sum of decay^age over runs; the weight of what is known (a curve's own: over the runs that measured it) */
  weight: number;
  durationMs: Moments & { min: number; max: number; last: number };
  /** per resource some run measured: the curve's moments across the runs that did */
  curve: Partial<Record<Resource, CurveMoments>>;
  /**
   * the status its last recorded run whose end was seen exited with, where not 0: its task's usual
   * end (grep's 1 when nothing matches), so a run ending so is learned at once (TaskRuns);
   * absent: 0, or never seen
   */
  exitStatus?: number;
}

export interface CurveMoments {
  mean: number[];
  var: number[];
  /** decayed count of the runs behind these moments; absent (profiles written before it): the profile's weight */
  weight?: number;
  /**
   * per slice, the decayed count of the runs that saw it, where a run found late did not see
   * some (FinishedRun.unseenMs); absent: each slice's is the curve's weight. A slice of weight 0
   * no run saw: its moments repeat the first slice of weight above 0 (mergeRun)
   */
  sliceWeight?: number[];
  /**
   * each run's own peak (its highest slice), merged as the slices are: runs that peak alike at
   * different moments agree on it, where the slices' spread says they do not. Absent in
   * profiles written before it (then the highest slice's moments stand in)
   */
  peak?: Moments;
}

/** Moments after adding x with weight 1, older weight first multiplied by `decay`. */
function merge(m: number, v: number, olderWeight: number, x: number): Moments {
  const w = olderWeight + 1;
  const mean = m + (x - m) / w;
  const variance = (olderWeight * (v + (m - mean) ** 2) + (x - mean) ** 2) / w;
  return { mean, var: Math.max(0, variance) };
}

/** The profile with one more run in it (a new object; `prev` is left as it was). */
export function mergeRun(prev: Profile | undefined, run: FinishedRun, decay: number, nowMs: number): Profile {
  const { curve: binned, firstSlice } = binSlices(run.samples, run.durationMs);
  const unseenSpan = unseenSlices(run.durationMs, run.unseenMs);
  const at = run.endedAtMs ?? nowMs;
  const older = prev ? prev.weight * decay : 0;
  const d = merge(prev?.durationMs.mean ?? 0, prev?.durationMs.var ?? 0, older, run.durationMs);
  const curve: Profile['curve'] = {};
  for (const r of RESOURCES) {
    const x = binned[r];
    const before = prev?.curve[r];
    // (a curve from a file written before curves kept their own weight: the profile's)
    const weightBefore = before ? before.weight ?? prev!.weight : 0;
    // a run that did not measure it leaves what the others did as it was
    if (!x) {
      if (before) curve[r] = { ...before, weight: weightBefore };
      continue;
    }
    const olderR = weightBefore * decay;
    // (slices a late-found run never saw keep what earlier runs had there, their weight fading as
    // the curve's does; filled from its first seen slice, they taught the task a start it did not
    // have: a memory ramp found 10 s late began at the 10 s value. Never past its first sample of
    // the resource: what a sample saw is learned)
    const unseen = Math.min(unseenSpan, firstSlice[r]!);
    const weightOf = (b: number): number => before?.sliceWeight?.[b] ?? weightBefore;
    const mean: number[] = [];
    const vars: number[] = [];
    const weights: number[] = [];
    let runPeak = 0;
    for (let b = 0; b < BINS; b++) {
      const olderB = weightOf(b) * decay;
      if (b < unseen) {
        // (the run's own peak takes the slice as the profile has it, while that stands on half the
        // curve's weight or more: an early spike stays its peak, but one seen only long ago, on
        // runs since found late every time, would never come down)
        if (before && olderB >= PEAK_FROM_UNSEEN * olderR) runPeak = Math.max(runPeak, before.mean[b]!);
        mean.push(before ? before.mean[b]! : x[b]!);
        vars.push(before ? before.var[b]! : 0);
        weights.push(before ? olderB : 0);
        continue;
      }
      const m = merge(before?.mean[b] ?? 0, before?.var[b] ?? 0, olderB, x[b]!);
      mean.push(m.mean);
      vars.push(m.var);
      weights.push(olderB + 1);
      runPeak = Math.max(runPeak, x[b]!);
    }
    // (the first slices no run saw repeat the first one seen, its spread too: a task found late
    // on every run follows its runs there, as a run's own gaps are filled)
    const seen = weights.findIndex((w) => w > 0);
    for (let b = 0; b < seen; b++) {
      mean[b] = mean[seen]!;
      vars[b] = vars[seen]!;
    }
    const peakBefore = before ? before.peak ?? highestSlice(before) : { mean: 0, var: 0 };
    const weight = olderR + 1;
    // (kept only where a slice's differs by SLICE_WEIGHT_KEPT of the curve's: a profile of runs
    // seen whole is written as before, and one late run's 20 weights go after 30 or so runs)
    const uneven = weights.some((w) => Math.abs(w - weight) > SLICE_WEIGHT_KEPT * weight);
    curve[r] = { mean, var: vars, weight, ...(uneven ? { sliceWeight: weights } : {}), peak: merge(peakBefore.mean, peakBefore.var, olderR, runPeak) };
  }
  const t = run.task;
  const task = t
    ? {
      exe: t.exe,
      args: (t.args ?? []).slice(0, MAX_LABEL_ITEMS).map(labelText),
      ...(t.inputs ? { inputs: t.inputs.slice(0, MAX_LABEL_ITEMS) } : {}),
      ...(t.env ? { env: Object.fromEntries(Object.entries(t.env).map(([k, v]) => [k, v === null ? null : labelText(v)])) } : {}),
    }
    : prev?.task;
  // (its last run's status where known, a status of 0 kept as none; one not known leaves the last known)
  const exitStatus = run.exitStatus ?? prev?.exitStatus;
  return {
    format: PROFILE_FORMAT,
    signature: run.signature,
    ...(task ? { task } : {}),
    createdAtMs: prev?.createdAtMs ?? at,
    lastRunAtMs: Math.max(prev?.lastRunAtMs ?? at, at),
    runs: (prev?.runs ?? 0) + 1,
    weight: older + 1,
    durationMs: {
      ...d,
      min: Math.min(prev?.durationMs.min ?? Infinity, run.durationMs),
      max: Math.max(prev?.durationMs.max ?? 0, run.durationMs),
      last: run.durationMs,
    },
    curve,
    ...(exitStatus ? { exitStatus } : {}),
  };
}

/**
 * Its runs' peak as a profile written before CurveMoments.peak knows it: the highest slice's mean
 * and the highest slice's p90 (which may be another slice's), as runs were judged to agree before.
 * (The highest mean's slice alone read a run of four that spiked to 4 cores as agreeing.)
 */
function highestSlice(c: CurveMoments): Moments {
  let mean = 0;
  let p90 = 0;
  for (let b = 0; b < BINS; b++) {
    mean = Math.max(mean, c.mean[b]!);
    p90 = Math.max(p90, c.mean[b]! + Z90 * Math.sqrt(c.var[b]!));
  }
  return { mean, var: ((p90 - mean) / Z90) ** 2 };
}

export interface RunForecast {
  signature: string;
  runs: number;
  /**
   * 0..1: grows with the weight of past runs (w / (w + 1)) and falls as their durations
   * disagree (times 1 - coefficient of variation); a rough figure, not a probability.
   */
  confidence: number;
  /**
   * per resource measured: the same figure from the weight of the runs that measured it (memory
   * read in one run of three stands on that one run, not on three)
   */
  confidenceOf: Partial<Record<Resource, number>>;
  durationMs: { mean: number; p90: number };
  /** length of one slice at the mean duration */
  binMs: number;
  /**
   * per slice: mean and p90 across runs (normal approximation of the spread), for each resource
   * measured; `unseen`: its first slices no run was seen in (each begun before a tick saw it),
   * which repeat the first slice seen (absent: none)
   */
  curve: Partial<Record<Resource, { mean: number[]; p90: number[]; unseen?: number }>>;
  /** highest slice of each curve */
  peak: Partial<Record<Resource, { mean: number; p90: number }>>;
  /** each run's own peak, across the runs (CurveMoments.peak): its mean and p90 */
  runPeak: Partial<Record<Resource, { mean: number; p90: number }>>;
}

/** The slice of a forecast's curves that `ms` into a run falls in (at its mean duration; the last one past it). */
export const sliceOf = (f: Pick<RunForecast, 'binMs'>, ms: number): number => Math.min(BINS - 1, Math.max(0, Math.floor(ms / Math.max(1, f.binMs))));

/** What the next run of this profile's signature should need, slice by slice. */
export function forecastFromProfile(p: Profile): RunForecast {
  const p90 = (m: number, v: number): number => m + Z90 * Math.sqrt(v);
  const d = p.durationMs;
  const cv = d.mean > 0 ? Math.sqrt(d.var) / d.mean : 1;
  const trust = (weight: number): number => (weight / (weight + 1)) * Math.max(0, 1 - cv);
  const curve: RunForecast['curve'] = {};
  const peak: RunForecast['peak'] = {};
  const runPeak: RunForecast['runPeak'] = {};
  const confidenceOf: RunForecast['confidenceOf'] = {};
  for (const r of RESOURCES) {
    const m = p.curve[r];
    if (!m) continue;
    // No run's slice is above its own peak, so no slice's p90 is above the runs' peak p90. Each
    // slice's spread alone read more where runs climb at slightly different times: two runs that
    // both peaked at 70.4MiB had a slice of their climb at p90 86.3MiB, and the next run's peak at
    // p90 91.1MiB (stress-ng --vm-bytes 64M)
    const own = m.peak ? p90(m.peak.mean, m.peak.var) : Number.POSITIVE_INFINITY;
    const unseen = m.sliceWeight ? m.sliceWeight.findIndex((w) => w > 0) : 0;
    const c = { mean: m.mean.slice(), p90: m.mean.map((x, b) => Math.max(x, Math.min(own, p90(x, m.var[b]!)))), ...(unseen > 0 ? { unseen } : {}) };
    curve[r] = c;
    peak[r] = { mean: Math.max(...c.mean), p90: Math.max(...c.p90) };
    // (written before runs' own peaks: the highest slice's mean and p90 stand in, as peak has them)
    runPeak[r] = m.peak ? { mean: m.peak.mean, p90: own } : peak[r];
    // (a curve from a file written before curves kept their own weight: the profile's)
    confidenceOf[r] = trust(m.weight ?? p.weight);
  }
  return {
    signature: p.signature,
    runs: p.runs,
    confidence: trust(p.weight),
    confidenceOf,
    durationMs: { mean: d.mean, p90: p90(d.mean, d.var) },
    binMs: d.mean / BINS,
    curve,
    peak,
    runPeak,
  };
}

/** No figure a profile stores reaches this: bytes (a petabyte), bytes/s, cores, ms (31,000 years); their variances, its square. */
const MAX_STORED_FIGURE = 1e15;
/**
 * The latest time a profile may hold: the end of year 9999 (ms since the epoch). A Date holds
 * times to 8.64e15 (year 275760), which `profiles show` printed as "+275760-09-13": no clock
 * writes one, so past this a time is corrupt.
 */
const MAX_DATE_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
/** Arguments and inputs a task label keeps (mergeRun). */
const MAX_LABEL_ITEMS = 64;
/**
 * Characters a label keeps of one argument or environment value (the signature was taken over
 * all of it). `bash -c '<a 40 KB script>'` made a profile of 41 KB: over a small store's whole
 * budget, it evicted every other profile and still did not fit.
 */
const MAX_LABEL_CHARS = 1024;

/** An argument or value as a label keeps it: cut past MAX_LABEL_CHARS, saying how much. */
function labelText(v: string): string {
  return v.length <= MAX_LABEL_CHARS ? v : `${v.slice(0, MAX_LABEL_CHARS)}... (${v.length - MAX_LABEL_CHARS} more characters)`;
}
/**
 * No profile file is larger: its curves take a few KB, its label at most the arguments a
 * command line can hold (2 MiB on Linux). A larger file is not read: a 100 MB one was read whole
 * and shown by `profiles show`.
 */
export const MAX_PROFILE_FILE_BYTES = 4 * 1024 * 1024;
/** Room for rounding in sums a profile keeps (a weight against its run count, a mean within its extremes). */
const SLACK = 1e-9;

/** What the store says of a profile's name on something not a file (a folder, a link to a device). */
export const NOT_A_REGULAR_FILE = 'not a regular file';

/** A profile file too large to be one (MAX_PROFILE_FILE_BYTES): corrupt, and not read. */
class SizeError extends Error {
  constructor(readonly bytes: number) {
    super(`${bytes} bytes, too large to be a profile (at most ${MAX_PROFILE_FILE_BYTES})`);
  }
}

/** A profile a newer headroom wrote: not corrupt, only not readable here (left in place). */
export class NewerFormatError extends Error {
  constructor(readonly format: number) {
    super(`format ${format}, written by a newer headroom (this one reads ${PROFILE_FORMAT}): left in place, not used`);
  }
}

/** Parses and checks a stored profile; throws with the reason when it is not one (NewerFormatError for a newer headroom's). */
export function parseProfile(text: string, expectedSignature?: string): Profile {
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch (err) {
    // (V8's message quotes the text, control characters and all: a "garbage\n" split the log line)
    throw new Error(`not JSON: ${printableName((err as Error).message)}`);
  }
  const p = x as Partial<Profile> | null;
  const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  // (bounded: a hand-edited 1e300 cores was forecast and exported as the next run's peak)
  const bins = (v: unknown, most = MAX_STORED_FIGURE): boolean => Array.isArray(v) && v.length === BINS && v.every((e) => num(e) && e >= 0 && e <= most);
  if (!p || typeof p !== 'object' || Array.isArray(p)) throw new Error('not an object');
  if (typeof p.format === 'number' && Number.isInteger(p.format) && p.format > PROFILE_FORMAT) throw new NewerFormatError(p.format);
  if (p.format !== PROFILE_FORMAT) throw new Error(`format ${String(p.format)}, expected ${PROFILE_FORMAT}`);
  if (typeof p.signature !== 'string' || !SIGNATURE_RE.test(p.signature)) throw new Error('no valid signature');
  if (expectedSignature !== undefined && p.signature !== expectedSignature) throw new Error(`holds signature ${p.signature.slice(0, 12)}, not the one its name says`);
  // (a time no Date can hold crashed `profiles list`, and with it the listing of every other profile)
  const time = (v: unknown): boolean => num(v) && v >= 0 && v <= MAX_DATE_MS;
  for (const field of ['createdAtMs', 'lastRunAtMs'] as const) if (!time(p[field])) throw new Error(`bad timestamps: ${field} ${shownValue(p[field])}`);
  if (!Number.isSafeInteger(p.runs) || !(p.runs! >= 1)) throw new Error('bad run count');
  // (mergeRun: the newest run weighs 1 and the older less: a weight under 1 or above the run
  // count was never written; 1e-300 read "confidence 0.00" over a resource's 0.70)
  const weight = (v: unknown): boolean => num(v) && v >= 1 - SLACK && v <= p.runs! * (1 + SLACK);
  if (!weight(p.weight)) throw new Error('bad weight');
  const d = p.durationMs;
  const figure = (v: unknown, most = MAX_STORED_FIGURE): boolean => num(v) && v >= 0 && v <= most;
  if (!d || typeof d !== 'object') throw new Error('bad duration statistics (durationMs missing)');
  const badDuration = (['mean', 'min', 'max', 'last', 'var'] as const).find((k) => !figure(d[k], k === 'var' ? MAX_STORED_FIGURE ** 2 : MAX_STORED_FIGURE));
  if (badDuration !== undefined) throw new Error(`bad duration statistics (durationMs.${badDuration}: ${shownValue(d[badDuration])})`);
  // (rounding in a decayed mean scales with the largest duration in it, not the smallest)
  const within = (v: number): boolean => v >= d.min - SLACK * d.max && v <= d.max * (1 + SLACK);
  if (!(d.min <= d.max) || !within(d.mean) || !within(d.last)) throw new Error('bad duration statistics (mean or last outside min..max)');
  // (binRun refuses a run of no time: only a hand-edited file holds one, and its curve's bins would be 0 ms long)
  if (!(d.min > 0)) throw new Error('bad duration statistics (a run of 0 ms)');
  if (!p.curve || typeof p.curve !== 'object') throw new Error('no curve');
  for (const r of RESOURCES) {
    const c = p.curve[r];
    if (c === undefined) continue;
    if (!c || !bins(c.mean) || !bins(c.var, MAX_STORED_FIGURE ** 2) || (c.weight !== undefined && !weight(c.weight))) throw new Error(`bad curve for ${r}`);
    if (c.peak !== undefined && !(c.peak && figure(c.peak.mean) && figure(c.peak.var, MAX_STORED_FIGURE ** 2))) throw new Error(`bad peak for ${r}`);
    if (c.sliceWeight !== undefined && !sliceWeightsOk(c.sliceWeight, c.weight ?? p.weight!)) throw new Error(`bad slice weights for ${r}`);
    // written before unmeasured resources were told from 0 (no weights): memory at 0 throughout
    // was not measured (a cgroup in use holds some)
    if (c.weight === undefined && r.startsWith('mem') && c.mean.every((m) => m === 0)) delete p.curve[r];
  }
  const strings = (v: unknown): boolean => Array.isArray(v) && v.length <= MAX_LABEL_ITEMS && v.every((a) => typeof a === 'string');
  const envOk = (v: unknown): boolean => v === undefined || (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => x === null || typeof x === 'string'));
  if (p.task !== undefined && (typeof p.task?.exe !== 'string' || !strings(p.task.args) || (p.task.inputs !== undefined && !strings(p.task.inputs)) || !envOk(p.task.env))) {
    throw new Error('bad task label');
  }
  if (p.exitStatus !== undefined && !(Number.isInteger(p.exitStatus) && p.exitStatus >= 1 && p.exitStatus <= 255)) throw new Error(`bad exit status ${shownValue(p.exitStatus)}`);
  return p as Profile;
}

/**
 * Slice weights as mergeRun writes them: BINS, none above the curve's weight, none above the
 * next slice's (a run leaves out only its first slices), the last the curve's (every run sees its
 * last slice).
 */
function sliceWeightsOk(w: unknown, weight: number): boolean {
  if (!Array.isArray(w) || w.length !== BINS || !w.every((e) => typeof e === 'number' && Number.isFinite(e) && e >= 0)) return false;
  const top = weight * (1 + SLACK);
  return w.every((e, b) => e <= top && (b === BINS - 1 || e <= w[b + 1]! * (1 + SLACK))) && w[BINS - 1]! >= weight * (1 - SLACK);
}

/** Environment keys as one set's name (ProfileStore.envKeySets): sorted, once each, joined by ", ". */
const keySetOf = (keys: readonly string[]): string => [...new Set(keys)].sort().join(', ');

/**
 * What to say where the profiles were learned with other environment keys than the policy's
 * `profiles.env_keys` now (ProfileStore.envKeySets): a task's signature holds its chosen
 * environment, so each of them is signed anew, and not forecast until it has run again. Changed
 * without a word, every profile was orphaned (a walkthrough). Null when all agree.
 */
export function envKeysChangedNote(keySets: ReadonlyMap<string, number>, envKeys: readonly string[]): string | null {
  const now = keySetOf(envKeys);
  const others = [...keySets].filter(([k]) => k !== now).sort((a, b) => b[1] - a[1]);
  if (others.length === 0) return null;
  const n = others.reduce((a, [, c]) => a + c, 0);
  const known = [...keySets.values()].reduce((a, c) => a + c, 0);
  const shown = (keys: string): string => (keys === '' ? 'none' : keys);
  const sets = others.slice(0, 3).map(([k, c]) => `${c} with ${shown(k)}`).join(', ') + (others.length > 3 ? ', ...' : '');
  return `${n} of the ${known} task profiles whose keys are recorded were learned with other profiles.env_keys than this policy's (${shown(now)}): ${sets}. ` +
    'Their tasks are signed anew and forecast once they have run again; the old profiles stay until evicted (profiles.max_size) or removed (headroom profiles delete)';
}

// ---- the store ----

export interface StoreProblem {
  /** corrupt: a profile file that did not parse; stale-temp: a write a crash left behind;
   *  write-failed: a profile kept in memory but not saved (disk full, permissions);
   *  newer-format: a newer headroom's profile, left in place and not used;
   *  unreadable: a profile file that could not be read (permissions, an I/O error), left in place */
  kind: 'corrupt' | 'stale-temp' | 'write-failed' | 'newer-format' | 'unreadable';
  file: string;
  message: string;
  /** where a corrupt file was moved to (absent when read-only or the move failed) */
  movedTo?: string;
}

export interface ProfileStoreOptions {
  /** default DEFAULT_PROFILE_DIR */
  dir?: string;
  /** budget for the profile files' bytes; default 16 MiB */
  maxBytes?: number;
  /** a run's weight halves after this many newer runs (in a curve: newer runs that measured it); default 4 */
  halfLifeRuns?: number;
  /** change nothing on disk (for inspection): no writes, no moves, no cleanup */
  readOnly?: boolean;
  /** called for each problem, as it is met (also kept in `problems`) */
  onProblem?: (p: StoreProblem) => void;
  /** quarantined files kept, oldest removed first; default 20 */
  maxQuarantined?: number;
  /** clock in ms (tests) */
  now?: () => number;
}

export interface RecordOutcome {
  profile: Profile;
  /** false when the write failed: the profile is kept in memory, the old file left intact */
  saved: boolean;
  /** signatures evicted to stay within the budget */
  evicted: string[];
}

export interface ProfileEntry {
  profile: Profile;
  file: string;
  bytes: number;
  /** last recorded or forecast (the file's mtime) */
  usedAtMs: number;
}

export class ProfileStoreError extends Error {
  override readonly name = 'ProfileStoreError';
}

interface IndexEntry {
  bytes: number;
  usedAtMs: number;
  /** the file as this store last read, wrote or touched it (stampOf): any other change is someone else's */
  stamp?: string;
}

/** A file's inode, size and mtime as one key (IndexEntry.stamp). */
const stampOf = (st: { ino: number; size: number; mtimeMs: number }): string => `${st.ino}:${st.size}:${st.mtimeMs}`;

/** A file's stat, or undefined where it is gone. */
function statOf(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

/** Where a signature's profile is kept in a store's directory. */
export const profileFile = (dir: string, signature: string): string => join(dir, `${signature}.json`);

/**
 * Removes a signature's profile file from a store's directory, for good (the directory synced):
 * `headroom profiles delete`. A store with it open reads its file again when it changed (gone:
 * the task starts afresh). Throws the unlink's error (ENOENT: not there).
 */
export function removeProfileFile(dir: string, signature: string): void {
  if (!SIGNATURE_RE.test(signature)) throw new ProfileStoreError(`not a task signature (64 hex digits): ${signature}`);
  unlinkSync(profileFile(dir, signature));
  fsyncDir(dir);
}

export class ProfileStore {
  readonly dir: string;
  readonly maxBytes: number;
  readonly readOnly: boolean;
  readonly problems: StoreProblem[] = [];
  /** whether the directory existed when the store was opened */
  readonly existed: boolean;
  private readonly decay: number;
  private readonly maxQuarantined: number;
  private readonly onProblem?: (p: StoreProblem) => void;
  private readonly now: () => number;
  private readonly index = new Map<string, IndexEntry>();
  private readonly cache = new Map<string, Profile>();
  /** profiles whose last write failed: the cached copy is ahead of the file (see get) */
  private readonly unsaved = new Set<string>();
  /** profiles a newer headroom wrote: left alone (not read, counted, evicted or written over) */
  private readonly foreign = new Set<string>();
  /** profiles whose file could not be read at the last look (not corrupt: read again at the next) */
  private readonly unreadable = new Set<string>();
  /** read-only: signatures whose names are on something not a file (left in place, said) */
  private readonly notFiles = new Set<string>();
  private lastUse = 0;
  private tempSeq = 0;

  constructor(opts: ProfileStoreOptions = {}) {
    this.dir = opts.dir ?? DEFAULT_PROFILE_DIR;
    this.maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    if (!(this.maxBytes >= 16 * 1024)) throw new ProfileStoreError(`profile budget must be at least 16 KiB, got ${this.maxBytes} bytes`);
    const halfLife = opts.halfLifeRuns ?? DEFAULT_HALF_LIFE_RUNS;
    if (!(halfLife > 0)) throw new ProfileStoreError(`half-life must be a positive number of runs, got ${halfLife}`);
    this.decay = 0.5 ** (1 / halfLife);
    this.readOnly = opts.readOnly ?? false;
    this.maxQuarantined = opts.maxQuarantined ?? 20;
    this.onProblem = opts.onProblem;
    this.now = opts.now ?? Date.now;
    this.existed = this.scan();
    // every file read once at the start: a corrupt one is quarantined now, not when its task
    // next runs (until then it was warned of at every look and counted against the budget)
    if (!this.readOnly) {
      for (const sig of [...this.index.keys()]) {
        const env = this.read(sig)?.task?.env;
        if (env === undefined) continue;
        const keys = keySetOf(Object.keys(env));
        this.envKeySets.set(keys, (this.envKeySets.get(keys) ?? 0) + 1);
      }
    }
  }

  /**
   * The environment keys the profiles read at the open were signed with (sorted, joined by ", ";
   * '' for none), and how many profiles each; profiles whose label keeps no environment are not
   * counted. Empty for a read-only store.
   */
  readonly envKeySets = new Map<string, number>();

  /** Bytes of the profile files (quarantine and temp files not counted). */
  get bytes(): number {
    let n = 0;
    for (const e of this.index.values()) n += e.bytes;
    return n;
  }

  get size(): number {
    return this.index.size;
  }

  signatures(): string[] {
    return [...this.index.keys()];
  }

  has(signature: string): boolean {
    return this.index.has(signature) || this.cache.has(signature);
  }

  /** The stored profile, or undefined (none, or the file was corrupt and is now quarantined). */
  get(signature: string): Profile | undefined {
    const cached = this.cache.get(signature);
    if (cached && (this.unsaved.has(signature) || this.unchangedOnDisk(signature))) return cached;
    // changed on disk since it was read or written (truncated, edited, replaced, removed by
    // hand): read again. A copy kept in memory put back a profile removed while the agent ran,
    // and went on forecasting from one truncated on disk until it wrote over it, never said (a
    // walkthrough). (What the file holds now stands, also for a copy whose last write failed)
    this.cache.delete(signature);
    this.unsaved.delete(signature);
    const p = this.read(signature);
    if (!p) return undefined;
    this.cache.set(signature, p);
    while (this.cache.size > MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    return p;
  }

  /** Whether the profile's file is as this store last read, wrote or touched it (same inode, size and mtime). */
  private unchangedOnDisk(signature: string): boolean {
    const e = this.index.get(signature);
    const st = e?.stamp !== undefined ? statOf(this.fileOf(signature)) : undefined;
    return st !== undefined && stampOf(st) === e!.stamp;
  }

  /**
   * A profile from its file (not cached); a corrupt one quarantined, a newer headroom's set aside,
   * one that could not be read (EACCES, EIO, EMFILE) said and left in place: no fault of the
   * file's, and quarantined it was lost to its task (the quarantine keeps 20).
   */
  private read(signature: string): Profile | undefined {
    if (!this.index.has(signature)) return undefined;
    const file = this.fileOf(signature);
    let text: string;
    // (taken before the read: a change made between the two is seen at the next look)
    const st = statOf(file);
    if (st && !st.isFile()) {
      // (made at the name since the store opened: a folder read as EISDIR, "unreadable" for ever)
      this.quarantine(signature, NOT_A_REGULAR_FILE);
      return undefined;
    }
    try {
      if (st && st.size > MAX_PROFILE_FILE_BYTES) throw new SizeError(st.size);
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        this.index.delete(signature); // removed by hand
        this.unreadable.delete(signature);
      } else if (err instanceof SizeError) this.quarantine(signature, err.message);
      else {
        this.unreadable.add(signature);
        this.report({ kind: 'unreadable', file, message: `${(err as Error).message} (left in place)` });
      }
      return undefined;
    }
    this.unreadable.delete(signature);
    try {
      const profile = parseProfile(text, signature);
      const e = this.index.get(signature)!;
      e.stamp = st && stampOf(st);
      if (st) e.bytes = st.size;
      return profile;
    } catch (err) {
      if (err instanceof NewerFormatError) {
        // a downgrade's: not ours to move away, to count against the budget, nor to write over
        this.index.delete(signature);
        this.foreign.add(signature);
        this.report({ kind: 'newer-format', file, message: err.message });
      } else this.quarantine(signature, (err as Error).message);
      return undefined;
    }
  }

  /** Every readable profile, most recently run first (corrupt ones reported and skipped). */
  list(): ProfileEntry[] {
    const out: ProfileEntry[] = [];
    for (const sig of [...this.index.keys()]) {
      const profile = this.get(sig);
      const e = this.index.get(sig);
      if (profile && e) out.push({ profile, file: this.fileOf(sig), bytes: e.bytes, usedAtMs: e.usedAtMs });
    }
    return out.sort((a, b) => b.profile.lastRunAtMs - a.profile.lastRunAtMs || a.profile.signature.localeCompare(b.profile.signature));
  }

  /**
   * Signatures that start with `prefix` (hex, any case): of the profiles, or (read-only) of the
   * names found on something not a file, which are out of the index but `profiles delete` removes.
   */
  find(prefix: string, among: 'profiles' | 'not-files' = 'profiles'): string[] {
    const p = prefix.toLowerCase();
    return [...(among === 'profiles' ? this.index.keys() : this.notFiles)].filter((s) => s.startsWith(p)).sort();
  }

  /** Expected curve and duration of the next run, before it starts; undefined for a new task. */
  forecastRun(signature: string): RunForecast | undefined {
    const p = this.get(signature);
    if (!p) return undefined;
    this.touch(signature);
    return forecastFromProfile(p);
  }

  /** Merges a finished run into its signature's profile and saves it. */
  record(run: FinishedRun): RecordOutcome {
    if (this.readOnly) throw new ProfileStoreError(`profile store ${this.dir} is open read-only`);
    if (typeof run.signature !== 'string' || !SIGNATURE_RE.test(run.signature)) {
      throw new ProfileStoreError(`not a task signature (64 hex digits): ${String(run.signature)}`);
    }
    if (this.foreign.has(run.signature)) {
      // a newer headroom's file: written over, it would lose that agent its task's history
      const file = this.fileOf(run.signature);
      this.report({ kind: 'newer-format', file, message: 'a newer headroom\'s profile: this run is not recorded over it' });
      return { profile: mergeRun(undefined, run, this.decay, this.now()), saved: false, evicted: [] };
    }
    const prev = this.get(run.signature);
    if (!prev && this.unreadable.has(run.signature) && this.index.has(run.signature)) {
      // a file it could not read: written over, the task's history in it was lost
      const file = this.fileOf(run.signature);
      this.report({ kind: 'unreadable', file, message: 'its profile could not be read: this run is not recorded over it' });
      return { profile: mergeRun(undefined, run, this.decay, this.now()), saved: false, evicted: [] };
    }
    const profile = mergeRun(prev, run, this.decay, this.now());
    this.cache.delete(run.signature); // re-inserted last: the cache is bounded oldest-first
    this.cache.set(run.signature, profile);
    while (this.cache.size > MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    const usedAtMs = this.nextUse();
    const text = `${JSON.stringify(profile)}\n`;
    const bytes = Buffer.byteLength(text);
    if (bytes > this.maxBytes) {
      // (making room for it would evict every other profile, and it would still not fit)
      this.report({ kind: 'write-failed', file: this.fileOf(run.signature), message: `its profile takes ${bytes} bytes, more than the store's whole budget (${this.maxBytes}): not saved, and no other profile evicted for it` });
      return { profile, saved: false, evicted: [] };
    }
    let evicted: string[] = [];
    try {
      // task labels hold command lines: the store is root's alone (0700 folder, 0600 files)
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      evicted = this.makeRoom(run.signature, bytes);
      this.writeAtomic(this.fileOf(run.signature), text, usedAtMs);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      // (a system error's message starts with its code already: "EPERM: EPERM: ..." was said)
      const message = e.code === undefined || e.message.startsWith(`${e.code}:`) ? e.message : `${e.code}: ${e.message}`;
      this.report({ kind: 'write-failed', file: this.fileOf(run.signature), message });
      // Still known in memory; the next run's record tries again. The index follows what the
      // file now is (the old one, or the new one when only the directory fsync failed).
      this.unsaved.add(run.signature);
      // (bounded as the cache is: beyond it, the oldest fall back to their files)
      if (this.unsaved.size > MAX_CACHED) this.unsaved.delete(this.unsaved.values().next().value!);
      const st = statOf(this.fileOf(run.signature));
      if (st) this.index.set(run.signature, { bytes: st.size, usedAtMs, stamp: stampOf(st) });
      else this.index.delete(run.signature);
      return { profile, saved: false, evicted };
    }
    const written = statOf(this.fileOf(run.signature));
    this.index.set(run.signature, { bytes, usedAtMs, stamp: written && stampOf(written) });
    this.unsaved.delete(run.signature);
    return { profile, saved: true, evicted };
  }

  // ---- disk ----

  private fileOf(signature: string): string {
    return profileFile(this.dir, signature);
  }

  private report(p: StoreProblem): void {
    this.problems.push(p);
    // a long-running writer on a full or read-only disk meets one per run: keep the latest
    if (this.problems.length > MAX_PROBLEMS_KEPT) this.problems.splice(0, this.problems.length - MAX_PROBLEMS_KEPT);
    this.onProblem?.(p);
  }

  /** Builds the index from the directory; returns whether it exists. */
  private scan(): boolean {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw new ProfileStoreError(`reading profile store ${this.dir}: ${(err as Error).message}`);
    }
    for (const name of names.sort()) {
      const path = join(this.dir, name);
      if (TEMP_FILE_RE.test(name)) {
        // A write that never reached its rename: the profile it would have replaced is intact.
        if (this.readOnly) continue;
        try {
          unlinkSync(path);
          this.report({ kind: 'stale-temp', file: path, message: 'removed an unfinished write (the agent stopped mid-write)' });
        } catch (err) {
          this.report({ kind: 'stale-temp', file: path, message: `could not remove an unfinished write: ${(err as Error).message}` });
        }
        continue;
      }
      const m = PROFILE_FILE_RE.exec(name);
      if (!m) continue; // quarantine/ and anything not ours
      let st;
      try {
        st = statSync(path);
      } catch {
        // a link to nothing: not a file, said (and `profiles delete` removes it); else gone meanwhile
        try {
          st = lstatSync(path);
        } catch {
          continue;
        }
      }
      this.index.set(m[1]!, { bytes: st.size, usedAtMs: st.mtimeMs, stamp: stampOf(st) });
      this.lastUse = Math.max(this.lastUse, st.mtimeMs);
      if (!st.isFile()) this.quarantine(m[1]!, NOT_A_REGULAR_FILE);
    }
    return true;
  }

  /** A strictly increasing use time, so LRU order has no ties even within one millisecond. */
  private nextUse(): number {
    this.lastUse = Math.max(this.now(), this.lastUse + 1);
    return this.lastUse;
  }

  /** Marks a profile used; its mtime keeps the order across restarts (best effort). */
  private touch(signature: string): void {
    const e = this.index.get(signature);
    if (!e || this.readOnly) return;
    e.usedAtMs = this.nextUse();
    // (our own change, not one to read the file again for: unless someone else's came first)
    const unchanged = this.unchangedOnDisk(signature);
    try {
      utimesSync(this.fileOf(signature), e.usedAtMs / 1000, e.usedAtMs / 1000);
      const st = unchanged ? statOf(this.fileOf(signature)) : undefined;
      if (st) e.stamp = stampOf(st);
    } catch {
      // the order in memory still holds; only a restart would forget it
    }
  }

  /** Evicts least-recently-used profiles (never `keep`) until `incoming` bytes for `keep` fit. */
  private makeRoom(keep: string, incoming: number): string[] {
    const evicted: string[] = [];
    let total = this.bytes - (this.index.get(keep)?.bytes ?? 0) + incoming;
    const byAge = [...this.index.entries()].filter(([s]) => s !== keep).sort((a, b) => a[1].usedAtMs - b[1].usedAtMs);
    for (const [sig, e] of byAge) {
      if (total <= this.maxBytes) break;
      try {
        unlinkSync(this.fileOf(sig));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') continue;
      }
      this.index.delete(sig);
      this.cache.delete(sig);
      this.unsaved.delete(sig);
      this.unreadable.delete(sig);
      total -= e.bytes;
      evicted.push(sig);
    }
    return evicted;
  }

  /** temp file in the same directory, written and fsynced, renamed over, directory fsynced */
  private writeAtomic(file: string, text: string, usedAtMs: number): void {
    const base = file.slice(this.dir.length + 1);
    const tmp = join(this.dir, `.${base}.tmp-${process.pid}-${this.tempSeq++}`);
    try {
      const fd = openSync(tmp, 'wx', 0o600);
      try {
        writeFileSync(fd, text);
        futimesSync(fd, usedAtMs / 1000, usedAtMs / 1000);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, file);
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        // never created, or already renamed
      }
      throw err;
    }
    fsyncDir(this.dir);
  }

  /** Moves a corrupt profile aside (read-only: only reports it) and forgets it. */
  private quarantine(signature: string, why: string): void {
    const file = this.fileOf(signature);
    this.index.delete(signature);
    this.cache.delete(signature);
    this.unsaved.delete(signature);
    this.unreadable.delete(signature);
    if (this.readOnly) {
      if (why === NOT_A_REGULAR_FILE) this.notFiles.add(signature);
      this.report({ kind: 'corrupt', file, message: `${why} (left in place: this reader changes nothing; the agent moves it to quarantine/ as it starts, or \`headroom profiles delete\` removes it)` });
      return;
    }
    const qdir = join(this.dir, QUARANTINE);
    const stamp = new Date(this.now()).toISOString().replace(/[:.]/g, '-');
    let movedTo: string | undefined = join(qdir, `${signature}.json.${stamp}`);
    try {
      // (0700 as the store: a task label holds command lines and environment values)
      mkdirSync(qdir, { recursive: true, mode: 0o700 });
      chmodSync(qdir, 0o700);
      for (let n = 1; exists(movedTo!); n++) movedTo = join(qdir, `${signature}.json.${stamp}.${n}`);
      renameSync(file, movedTo!);
      fsyncDir(this.dir);
      this.pruneQuarantine(qdir);
    } catch (err) {
      why += ` (could not move it to ${qdir}: ${(err as Error).message})`;
      movedTo = undefined;
    }
    this.report({ kind: 'corrupt', file, message: why, ...(movedTo ? { movedTo } : {}) });
  }

  /** Keeps quarantine/ bounded: the oldest files beyond maxQuarantined go. */
  private pruneQuarantine(qdir: string): void {
    const files = readdirSync(qdir)
      .map((n) => ({ path: join(qdir, n), mtimeMs: statSync(join(qdir, n)).mtimeMs }))
      .sort((a, b) => a.mtimeMs - b.mtimeMs || a.path.localeCompare(b.path));
    for (const f of files.slice(0, Math.max(0, files.length - this.maxQuarantined))) {
      try {
        unlinkSync(f.path);
      } catch {
        // leave it: a bound missed by one file is not worth failing over
      }
    }
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Makes a rename or unlink in `dir` durable. */
function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
