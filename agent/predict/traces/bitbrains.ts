// Bitbrains GWA-T-12 per-VM files (fastStorage / Rnd): a header, then `;\t`-separated rows
// every ~300 s. Two quirks: the header says "Timestamp [ms]" but the values are epoch seconds,
// and the monitoring clock drifts (~+0.03 s a step, +253 s over a month), so binning on a fixed
// 300 s grid would merge or empty ~30 steps. As in BASELINES.md, the grid index therefore
// advances by round(dt / 300) from one row to the next: the row spacing, not the wall clock,
// says how many steps passed.
import { basename } from 'node:path';
import { fieldProblem, firstFieldProblem, parseNumber, readLines, SkippedRows } from './lines.js';
import { gridTooLong, MAX_GRID_STEPS, type Series } from './series.js';

export const BITBRAINS_STEP_SECONDS = 300;

/** resource name -> column index, and the column's header (0 is the timestamp; capacity columns are left out) */
const COLUMNS: ReadonlyArray<[string, number, string]> = [
  ['cpu_mhz', 3, 'CPU usage [MHZ]'],
  ['cpu_pct', 4, 'CPU usage [%]'],
  ['mem_kb', 6, 'Memory usage [KB]'],
  ['disk_read_kbps', 7, 'Disk read throughput [KB/s]'],
  ['disk_write_kbps', 8, 'Disk write throughput [KB/s]'],
  ['net_rx_kbps', 9, 'Network received throughput [KB/s]'],
  ['net_tx_kbps', 10, 'Network transmitted throughput [KB/s]'],
];

/** The columns read, by their headers. */
const READ_COLUMNS = COLUMNS.map(([, c, header]) => [header, c] as const);

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
 * not a number, or goes back before the previous row's, is left out; a value that is not a number
 * is missing from its series. `onWarning` is told where, once.
 */
export function readBitbrains(path: string, onWarning?: (message: string) => void): Series[] {
  const step = BITBRAINS_STEP_SECONDS;
  const cols = COLUMNS.map(() => [] as number[]);
  const index: number[] = []; // grid index of each kept row
  let prevT = Number.NaN;
  let startSeconds = Number.NaN;
  let gridIndex = 0;
  let merged = 0;
  let dropped = 0;
  const skipped = new SkippedRows();
  let lineNo = 0;
  for (const line of readLines(path)) {
    lineNo++;
    if (line.trim() === '') continue;
    const fields = line.split(SEPARATOR);
    let t = parseNumber(fields[0]);
    if (!Number.isFinite(t)) {
      if (index.length === 0 && /^Timestamp/i.test(fields[0]!.trim())) continue; // the header
      dropped++;
      skipped.drop(lineNo, fieldProblem('Timestamp', fields[0]));
      continue;
    }
    if (t > MS_EPOCH_THRESHOLD) t /= 1000;
    if (Number.isNaN(prevT)) {
      startSeconds = t;
    } else {
      const advance = Math.round((t - prevT) / step);
      if (advance < 0) {
        // a row from the past has no place on a spacing-driven grid
        dropped++;
        skipped.drop(lineNo, `Timestamp ${t} s is before the previous row's (${prevT} s)`);
        continue;
      }
      if (advance === 0) merged++;
      gridIndex += advance;
    }
    prevT = t;
    index.push(gridIndex);
    COLUMNS.forEach(([, c], k) => cols[k]!.push(parseNumber(fields[c])));
    const problem = firstFieldProblem(fields, READ_COLUMNS);
    if (problem) skipped.add(lineNo, problem);
  }
  skipped.report(path, onWarning);
  const name = basename(path).replace(/\.csv$/i, '');
  const length = index.length > 0 ? index[index.length - 1]! + 1 : 0;
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
    return {
      name, dataset: 'bitbrains' as const, resource, stepSeconds: step, startSeconds, values,
      stats: { rows: kept, merged, dropped: bad },
    };
  });
}
