// Bitbrains GWA-T-12 per-VM files (fastStorage / Rnd): a header, then `;\t`-separated rows
// every ~300 s. Two quirks: the header says "Timestamp [ms]" but the values are epoch seconds,
// and the monitoring clock drifts (~+0.03 s a step, +253 s over a month), so binning on a fixed
// 300 s grid would merge or empty ~30 steps. As in BASELINES.md, the grid index therefore
// advances by round(dt / 300) from one row to the next: the row spacing, not the wall clock,
// says how many steps passed.
import { basename } from 'node:path';
import { demandValue, fieldProblem, firstFieldProblem, lowerLimit, parseNumber, readLines, SkippedRows } from './lines.js';
import { gridTooLong, MAX_GRID_STEPS, mostlyMerged, type Series } from './series.js';

export const BITBRAINS_STEP_SECONDS = 300;

/** resource name -> column index, and the column's header (0 is the timestamp; the capacity columns are read as limits) */
const COLUMNS: ReadonlyArray<[string, number, string]> = [
  ['cpu_mhz', 3, 'CPU usage [MHZ]'],
  ['cpu_pct', 4, 'CPU usage [%]'],
  ['mem_kb', 6, 'Memory usage [KB]'],
  ['disk_read_kbps', 7, 'Disk read throughput [KB/s]'],
  ['disk_write_kbps', 8, 'Disk write throughput [KB/s]'],
  ['net_rx_kbps', 9, 'Network received throughput [KB/s]'],
  ['net_tx_kbps', 10, 'Network transmitted throughput [KB/s]'],
];

/**
 * The capacity a resource saturates at: a capacity column (the VM's provisioned CPU and memory,
 * constant per VM), or 100 for a percentage. Disk and network have none.
 */
const CAPACITY_COLUMNS: ReadonlyArray<[string, number, string]> = [
  ['cpu_mhz', 2, 'CPU capacity provisioned [MHZ]'],
  ['mem_kb', 5, 'Memory capacity provisioned [KB]'],
];
const PERCENT_RESOURCES: ReadonlySet<string> = new Set(['cpu_pct']);

/** Where each capacity column is: by the header's names (-1 where it has none), else the dataset's order. */
function capacityColumnsOf(header: string[] | undefined): number[] {
  if (!header) return CAPACITY_COLUMNS.map(([, c]) => c);
  const names = header.map((h) => h.trim().toLowerCase());
  return CAPACITY_COLUMNS.map(([, , name]) => names.indexOf(name.toLowerCase()));
}

/**
 * Where each resource's column is: by the header's names when the file has one (a file with a
 * column added or missing was read by position, a constant capacity column scored as the CPU),
 * else the dataset's order. An error names the first column it cannot find.
 */
function columnsOf(path: string, header: string[] | undefined, line: number): number[] {
  if (!header) return COLUMNS.map(([, c]) => c);
  const names = header.map((h) => h.trim().toLowerCase());
  return COLUMNS.map(([, , name]) => {
    const c = names.indexOf(name.toLowerCase());
    if (c < 0) throw new Error(`${path}:${line}: no column "${name}" in the header (it has ${header.map((h) => JSON.stringify(h.trim())).join(', ')})`);
    return c;
  });
}

/** Separator: `;` with optional white space after it (the files use `;\t`). */
const SEPARATOR = /;\s*/;

/** Epoch values above this are milliseconds (in case a file ever matches its header). */
const MS_EPOCH_THRESHOLD = 1e11;

/** True when a first line looks like a Bitbrains header or data row. */
export function isBitbrains(line: string): boolean {
  const first = line.split(SEPARATOR, 1)[0]!.trim();
  return line.includes(';') && (/^Timestamp/i.test(first) || /^\d+(\.\d+)?$/.test(first));
}

/**
 * Reads one VM file; the series is named after the file (`415.csv` -> `415`). A row whose time is
 * not a number, or goes back before the previous row's, is left out (or the previous row, where
 * it alone jumped ahead); a value that is not a number, below 0 or implausibly large is missing
 * from its series. `onWarning` is told where, once.
 */
export function readBitbrains(path: string, onWarning?: (message: string) => void): Series[] {
  const step = BITBRAINS_STEP_SECONDS;
  const cols = COLUMNS.map(() => [] as number[]);
  const index: number[] = []; // grid index of each kept row
  const times: number[] = []; // and its time (s)
  const lines: number[] = []; // and its line
  let startSeconds = Number.NaN;
  let merged = 0;
  let dropped = 0;
  const skipped = new SkippedRows();
  let lineNo = 0;
  let read: (readonly [string, number])[] | undefined; // each column's header name and place, from the header or the first row
  let capacityCols: number[] = [];
  const caps = CAPACITY_COLUMNS.map(() => [] as number[]); // each kept row's capacities
  for (const line of readLines(path, onWarning, { warnUnterminated: true })) {
    lineNo++;
    if (line.trim() === '') continue;
    const fields = line.split(SEPARATOR);
    if (!read) {
      // (the first line that is not blank: a header, or the first row of a file without one)
      const header = /^Timestamp/i.test(fields[0]!.trim());
      const at = columnsOf(path, header ? fields : undefined, lineNo);
      read = COLUMNS.map(([, , name], k) => [name, at[k]!] as const);
      capacityCols = capacityColumnsOf(header ? fields : undefined);
      if (header) continue;
    }
    let t = parseNumber(fields[0]);
    if (!Number.isFinite(t)) {
      dropped++;
      skipped.drop(lineNo, fieldProblem('Timestamp', fields[0]));
      continue;
    }
    if (t > MS_EPOCH_THRESHOLD) t /= 1000;
    const n = times.length;
    if (n > 0 && t < times[n - 1]! - step / 2) {
      // a row from the past has no place on a spacing-driven grid; but where this row follows
      // the one before the previous, the previous is the odd one out (a time jumped ahead: the
      // rows after it would all have been left out, and blamed)
      if (n >= 2 && t >= times[n - 2]! - step / 2) {
        dropped++;
        skipped.drop(lines[n - 1]!, `Timestamp ${times[n - 1]} s is ahead of the rows around it (${times[n - 2]} s before it, ${t} s after)`);
        if (index[n - 1] === index[n - 2]) merged--;
        for (const a of [index, times, lines, ...cols, ...caps]) a.pop();
      } else {
        dropped++;
        skipped.drop(lineNo, `Timestamp ${t} s is before the previous row's (${times[n - 1]} s)`);
        continue;
      }
    }
    const k = times.length;
    let gridIndex = 0;
    if (k === 0) startSeconds = t;
    else {
      const advance = Math.max(0, Math.round((t - times[k - 1]!) / step));
      if (advance === 0) merged++;
      gridIndex = index[k - 1]! + advance;
    }
    index.push(gridIndex);
    times.push(t);
    lines.push(lineNo);
    read.forEach(([, c], k) => cols[k]!.push(demandValue(fields[c])));
    capacityCols.forEach((c, k) => caps[k]!.push(c < 0 ? Number.NaN : demandValue(fields[c])));
    const problem = firstFieldProblem(fields, read);
    if (problem) skipped.add(lineNo, problem);
  }
  skipped.report(path, onWarning);
  const rows = index.length;
  if (mostlyMerged(merged, rows)) {
    const gaps = times.slice(1).map((t, i) => t - times[i]!).sort((a, b) => a - b);
    onWarning?.(`${path}: ${merged} of ${rows} rows came within ${step / 2} s of the row before and were averaged into its step: its rows are about ${gaps[gaps.length >> 1]} s apart, where Bitbrains' are ${step} s`);
  }
  const name = basename(path).replace(/(\.csv)?(\.gz)?$/i, '');
  // (the lowest a capacity was, of the rows kept, as a recording's lowest limit: constant per VM)
  const capacity = caps.map((vs) => vs.reduce(lowerLimit, Number.NaN));
  const length = rows > 0 ? index[rows - 1]! + 1 : 0;
  if (length > MAX_GRID_STEPS) throw gridTooLong(path, length, `${startSeconds} s`, `${startSeconds + (length - 1) * step} s`);
  return COLUMNS.map(([resource], k) => {
    const values = new Float64Array(length).fill(Number.NaN);
    const counts = new Uint32Array(length);
    let bad = dropped;
    let kept = 0;
    cols[k]!.forEach((v, r) => {
      if (!Number.isFinite(v)) {
        bad++;
        return;
      }
      kept++;
      const i = index[r]!;
      values[i] = counts[i] === 0 ? v : values[i]! + v;
      counts[i]!++;
    });
    for (let i = 0; i < length; i++) if (counts[i]! > 1) values[i]! /= counts[i]!;
    const c = CAPACITY_COLUMNS.findIndex(([r]) => r === resource);
    const limit = c >= 0 ? capacity[c]! : PERCENT_RESOURCES.has(resource) ? 100 : Number.NaN;
    return {
      name, dataset: 'bitbrains' as const, resource, stepSeconds: step, startSeconds, values,
      stats: { rows: kept, merged, dropped: bad },
      ...(Number.isFinite(limit) ? { limit } : {}),
    };
  });
}
