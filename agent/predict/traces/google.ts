// Google ClusterData2019 instance_usage rows (CSV with a header, one row per instance and
// 5-minute window). `time` is µs since the trace epoch and marks the END of the window, so a
// window belongs to grid step ceil(time / 300 s); the short windows written around an instance
// move land in the same step and are averaged in (BASELINES.md). Days-long gaps stay NaN.
import { basename, dirname } from 'node:path';
import { demandValue, fieldProblem, firstFieldProblem, lowerLimit, parseNumber, readLines, SkippedRows, splitCsv } from './lines.js';
import { GridAccumulator, type Series } from './series.js';

export const GOOGLE_STEP_SECONDS = 300;
const US_PER_STEP = GOOGLE_STEP_SECONDS * 1e6;

/** resource name -> header column */
const COLUMNS: ReadonlyArray<[string, string]> = [
  ['avg_cpu', 'avg_cpu_usage'],
  ['avg_mem', 'avg_memory_usage'],
  ['max_cpu', 'max_cpu_usage'],
  ['max_mem', 'max_memory_usage'],
];

/** Each resource's limit column (the instance's, constant while it runs): CPU in GCU, memory normalised as its usage. */
const LIMIT_COLUMNS: Readonly<Record<string, string>> = { avg_cpu: 'cpu_limit', max_cpu: 'cpu_limit', avg_mem: 'memory_limit', max_mem: 'memory_limit' };

/** A header's column names (quoted or not, spaces after the commas or not). */
const headerNames = (line: string): string[] => splitCsv(line).map((c) => c.trim());

export function isGoogle(line: string): boolean {
  const cols = headerNames(line);
  return cols[0] === 'time' && cols.includes('avg_cpu_usage');
}

/**
 * Reads one instance_usage CSV. Rows are grouped by instance (collection_id/instance_index);
 * a file holding a single instance is named after its place (`113/159-….csv` -> `113/159`),
 * as the per-instance files of the public samples are. A row whose time is not a number is left
 * out; a value that is not one, is below 0 (a marker, never a reading) or implausibly
 * large is missing from its series; `onWarning` is told where, once. Quoted fields may hold commas.
 */
export function readGoogle(path: string, onWarning?: (message: string) => void): Series[] {
  const lines = readLines(path, onWarning, { warnUnterminated: true });
  const header = lines.next();
  if (header.done || !isGoogle(header.value)) throw new Error(`${path}: not a Google instance_usage CSV (no header with time, avg_cpu_usage)`);
  const names = headerNames(header.value);
  const at = (col: string): number => names.indexOf(col);
  const timeCol = at('time');
  const jobCol = at('collection_id');
  const instCol = at('instance_index');
  const valueCols = COLUMNS.map(([, col]) => at(col));
  const limitCols = COLUMNS.map(([resource]) => at(LIMIT_COLUMNS[resource]!));
  // (the value columns the header has, by their names there)
  const read = COLUMNS.map(([, col], k) => [col, valueCols[k]!] as const).filter(([, c]) => c >= 0);
  const instances = new Map<string, GridAccumulator[]>();
  // each instance's lowest limit per resource, as a recording's (none where the column is missing, empty or 0)
  const limits = new Map<string, number[]>();
  const skipped = new SkippedRows();
  let lineNo = 1;
  for (const line of lines) {
    lineNo++;
    if (line === '') continue;
    const f = splitCsv(line);
    const t = parseNumber(f[timeCol]);
    if (!Number.isFinite(t)) {
      skipped.drop(lineNo, fieldProblem('time', f[timeCol]));
      continue;
    }
    const key = `${f[jobCol] ?? ''}/${f[instCol] ?? ''}`;
    let grids = instances.get(key);
    if (!grids) {
      instances.set(key, (grids = COLUMNS.map(() => new GridAccumulator())));
      limits.set(key, COLUMNS.map(() => Number.NaN));
    }
    const lowest = limits.get(key)!;
    limitCols.forEach((c, k) => {
      lowest[k] = lowerLimit(lowest[k]!, c < 0 ? Number.NaN : demandValue(f[c]));
    });
    const step = Math.ceil(t / US_PER_STEP);
    valueCols.forEach((c, k) => grids!.at(k)!.add(step, c < 0 ? Number.NaN : demandValue(f[c]), lineNo));
    const problem = firstFieldProblem(f, read);
    if (problem) skipped.add(lineNo, problem);
  }
  skipped.report(path, onWarning);
  const single = `${basename(dirname(path))}/${basename(path).split(/[-.]/)[0]}`;
  const out: Series[] = [];
  for (const [key, grids] of instances) {
    COLUMNS.forEach(([resource], k) => {
      const g = grids[k]!;
      const stats = g.stats;
      out.push({
        name: instances.size === 1 ? single : key, dataset: 'google', resource, stepSeconds: GOOGLE_STEP_SECONDS,
        startSeconds: g.firstStep * GOOGLE_STEP_SECONDS, values: g.build(`${path}: instance ${key} ${resource}`), stats,
        ...(Number.isFinite(limits.get(key)![k]) ? { limit: limits.get(key)![k]! } : {}),
      });
    });
  }
  return out;
}
