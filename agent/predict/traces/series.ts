// The common shape every trace reader produces: one resource of one workload on a regular grid,
// so the backtest never has to know where a series came from.

export type Dataset = 'bitbrains' | 'google' | 'alibaba' | 'headroom';

/** An option that the trace contradicts or cannot serve (--step-ms against a header, --resources it lacks): the caller's usage. */
export class TraceOptionError extends Error {}

export interface SeriesStats {
  /** values that fed this series (one per data row that had one) */
  rows: number;
  /** values that landed in a grid step already holding one (averaged together) */
  merged: number;
  /** values of this series left out: not a number, out of range, or going back in time (a row
   * a reader could not place at all, its time unreadable, is said by line in a warning instead) */
  dropped: number;
}

export interface Series {
  /** workload within its dataset: a VM id, `job/instance`, a machine id, a cgroup path */
  name: string;
  dataset: Dataset;
  /** what was measured, e.g. `cpu_mhz`, `avg_mem`, `cpu_pct` (see each reader) */
  resource: string;
  /** grid period */
  stepSeconds: number;
  /** a recording's grid: its header's stepMs, --step-ms (for one without), or its samples' spacing */
  stepFrom?: 'header' | 'option' | 'inferred';
  /** time of grid step 0, in the trace's own clock (epoch or trace-relative seconds) */
  startSeconds: number;
  /** one value per grid step; NaN = nothing observed in that step */
  values: Float64Array;
  stats: SeriesStats;
  /** the file it was read from (set by readTraces): recorded traces are tabulated per file */
  source?: string;
  /**
   * what that file's table is called (set by readTraces): its name, or where two files read
   * together share one, its path under the folder read (a/t.jsonl and b/t.jsonl were one table)
   */
  sourceLabel?: string;
  /** the level at which this resource saturates (a limit or capacity), when the trace gives one */
  limit?: number;
  /**
   * grid steps at which the resource reached its limit though no value shows it: a recorded
   * memory series' OOM kills (its last value before a kill reads below the limit it was killed at)
   */
  reachedSteps?: readonly number[];
}

/**
 * The series BASELINES.md scores, per dataset: `headroom predict` uses these unless told
 * otherwise, so its table is comparable with the reference one.
 */
export const REFERENCE_RESOURCES: Readonly<Record<Dataset, readonly string[] | 'active'>> = {
  bitbrains: ['cpu_mhz', 'mem_kb', 'disk_write_kbps'],
  google: ['avg_cpu', 'avg_mem'],
  alibaba: ['cpu_pct', 'mem_pct'],
  // a recording holds every resource of its workloads, most of them idle (the network of a
  // memory hog): its reference series are those the workloads exercised
  headroom: 'active',
};

/** A series is active when at least this share of its observed values is above zero. */
export const ACTIVE_SHARE = 0.1;

/** Whether at least ACTIVE_SHARE of the observed values are above zero. */
export function isActive(values: Float64Array): boolean {
  let observed = 0;
  let positive = 0;
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    observed++;
    if (v > 0) positive++;
  }
  return observed > 0 && positive >= ACTIVE_SHARE * observed;
}

/**
 * Whether most of a series' values fell into a grid step already holding one (of at least 10):
 * its times in another unit (seconds for ms, ms for µs), or rows closer than its grid.
 */
export const mostlyMerged = (merged: number, rows: number): boolean => rows >= 10 && merged > 0.5 * rows;

/** Number of grid steps holding a value. */
export function observedCount(values: Float64Array): number {
  let n = 0;
  for (const v of values) if (!Number.isNaN(v)) n++;
  return n;
}

/** How often each gap (in grid steps) between consecutive observed values occurs, and the most frequent one (1 with fewer than two values). */
export function sampleGaps(values: Float64Array): { gaps: Map<number, number>; usual: number; atUsual: number } {
  const gaps = new Map<number, number>();
  let last = -1;
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i]!)) continue;
    if (last >= 0) gaps.set(i - last, (gaps.get(i - last) ?? 0) + 1);
    last = i;
  }
  let usual = 1;
  let atUsual = 0;
  for (const [g, n] of gaps) if (n > atUsual) [usual, atUsual] = [g, n];
  return { gaps, usual, atUsual };
}

/**
 * The most steps one series' grid may span: 116 days of 1 s steps, 95 years of 5 min ones. A
 * single time far from the others (seconds written where ms belong, a zero) would otherwise
 * ask for gigabytes before anything could say which line it was.
 */
export const MAX_GRID_STEPS = 10_000_000;

/** A series spanning more than MAX_GRID_STEPS: the error that says so, naming `what` (file and series) and where its ends come from. */
export function gridTooLong(what: string, steps: number, first: string, last: string): Error {
  const count = steps < 1e15 ? steps.toLocaleString('en') : steps.toExponential(1);
  return new Error(`${what}: its times span ${count} steps (${first} to ${last}), over the ${MAX_GRID_STEPS.toLocaleString('en')} a series may; a time far from the others?`);
}

/**
 * A series spanning more than this many steps must hold a value in at least one in
 * SPARSE_SHARE_DIVISOR of them. Its replay walks every step (about 40 bytes each, per model):
 * a 23 KB trace of 25 workloads, each with one time far from its dozen others, took 62 s and
 * 9.3 GB before it said it had nothing to score.
 */
const SPARSE_SPAN_STEPS = 1_000_000;
const SPARSE_SHARE_DIVISOR = 1000;
/** ...nor have this share of its span in one gap between two values (one row dated years ahead of a dense week). */
const FAR_GAP_SHARE = 0.9;

/**
 * Collects (grid step, value) pairs in any order and averages those sharing a step.
 * Steps are integers relative to any origin; build() shifts them so the first one is 0.
 */
export class GridAccumulator {
  private readonly sums = new Map<number, number>();
  private readonly counts = new Map<number, number>();
  private lo = Number.POSITIVE_INFINITY;
  private hi = Number.NEGATIVE_INFINITY;
  /** the lines the first and last steps came from (0: not told) */
  private loLine = 0;
  private hiLine = 0;
  rows = 0;
  merged = 0;
  dropped = 0;

  /** A value at a step number; `line`: where it was read, for an error about the grid's span. */
  add(step: number, value: number, line = 0): void {
    if (!Number.isFinite(value) || !Number.isInteger(step)) {
      this.dropped++;
      return;
    }
    this.rows++;
    const n = this.counts.get(step) ?? 0;
    if (n > 0) this.merged++;
    this.counts.set(step, n + 1);
    this.sums.set(step, (this.sums.get(step) ?? 0) + value);
    if (step < this.lo) {
      this.lo = step;
      this.loLine = line;
    }
    if (step > this.hi) {
      this.hi = step;
      this.hiLine = line;
    }
  }

  /** Step number of grid index 0 (NaN while empty). */
  get firstStep(): number {
    return this.rows > 0 ? this.lo : Number.NaN;
  }

  /** The grid, NaN where no value fell; `what` (file and series) names it in the error when it spans too many steps. */
  build(what: string): Float64Array {
    if (this.rows === 0) return new Float64Array(0);
    const span = this.hi - this.lo + 1;
    const at = (step: number, line: number): string => `step ${step}${line > 0 ? ` at line ${line}` : ''}`;
    if (span > MAX_GRID_STEPS) {
      throw gridTooLong(what, span, at(this.lo, this.loLine), at(this.hi, this.hiLine));
    }
    if (span > SPARSE_SPAN_STEPS && this.sums.size * SPARSE_SHARE_DIVISOR < span) {
      throw new Error(
        `${what}: its ${this.sums.size.toLocaleString('en')} values span ${span.toLocaleString('en')} steps (${at(this.lo, this.loLine)} to ${at(this.hi, this.hiLine)}), ` +
          `fewer than one in ${SPARSE_SHARE_DIVISOR.toLocaleString('en')} of them holding one; a time far from the others?`,
      );
    }
    if (span > SPARSE_SPAN_STEPS) {
      // (rare: a series this long; its steps sorted once to find its widest gap)
      const steps = [...this.sums.keys()].sort((a, b) => a - b);
      let gapAt = 0;
      for (let i = 1; i < steps.length; i++) if (steps[i]! - steps[i - 1]! > steps[gapAt + 1]! - steps[gapAt]!) gapAt = i - 1;
      const from = steps[gapAt]!;
      const to = steps[gapAt + 1]!;
      if (to - from > FAR_GAP_SHARE * span) {
        // the far side is the one holding fewer values: named by its line where it is one end's
        const far = gapAt + 1 <= steps.length - gapAt - 1 ? at(this.lo, this.loLine) : at(this.hi, this.hiLine);
        throw new Error(
          `${what}: ${Math.round(((to - from) / span) * 100)}% of its ${span.toLocaleString('en')} steps lie in one gap, from step ${from} to step ${to}; ` +
            `its far side begins or ends at ${far}: a time far from the others?`,
        );
      }
    }
    const values = new Float64Array(this.hi - this.lo + 1).fill(Number.NaN);
    for (const [step, sum] of this.sums) values[step - this.lo] = sum / this.counts.get(step)!;
    return values;
  }

  get stats(): SeriesStats {
    return { rows: this.rows, merged: this.merged, dropped: this.dropped };
  }
}

