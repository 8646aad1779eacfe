// Alibaba cluster-trace-v2018 machine_usage: no header, one row per machine sample at irregular
// times (median ~60 s apart, hours-long gaps), rows of many machines in one file. Each machine's
// samples are averaged into grid step floor(t / 300 s) (BASELINES.md). net_in / net_out are
// cumulative counters: they become the increase per 300 s step, from consecutive rows.
import { fieldProblem, firstFieldProblem, parseNumber, readLines, SkippedRows } from './lines.js';
import { GridAccumulator, type Series } from './series.js';

export const ALIBABA_STEP_SECONDS = 300;

/** A machine_usage row's fields (the trace's schema; the file has no header). */
const FIELD_NAMES = ['machine_id', 'time_stamp', 'cpu_util_percent', 'mem_util_percent', 'mem_gps', 'mkpi', 'net_in', 'net_out', 'disk_io_percent'];
const FIELDS = FIELD_NAMES.length;

/** Percent columns: resource name -> column. -1 and 101 mark abnormal disk rows: out of range is dropped. */
const PERCENT_COLUMNS: ReadonlyArray<[string, number]> = [
  ['cpu_pct', 2],
  ['mem_pct', 3],
  ['disk_io_pct', 8],
];

/** Cumulative counters: resource name -> column. */
const COUNTER_COLUMNS: ReadonlyArray<[string, number]> = [
  ['net_in', 6],
  ['net_out', 7],
];

/** The columns read, by their names in the schema. */
const READ_COLUMNS = [...PERCENT_COLUMNS, ...COUNTER_COLUMNS].map(([, c]) => [FIELD_NAMES[c]!, c] as const);

/** A counter increment spanning more than this is not spread over the gap: it is dropped. */
const MAX_COUNTER_GAP_SECONDS = 3 * ALIBABA_STEP_SECONDS;

export function isAlibaba(line: string): boolean {
  const f = line.split(',');
  return f.length === FIELDS && /^m_\d+$/.test(f[0]!) && Number.isFinite(parseNumber(f[1]));
}

interface Machine {
  grids: GridAccumulator[];
  /** previous row's time and counter values, for differencing */
  prevT: number;
  prevCounters: number[];
  /** per counter: its value before it last went down, until the next row says whether that was a reset (NaN: none pending) */
  beforeDrop: number[];
}

/** Per counter, how often it went down: a reset (it counted on from the lower value), or a lone lower value (back at its level a row later). */
interface CounterDrops {
  resets: number;
  glitches: number;
}

/**
 * Reads machine_usage rows. A row whose time is not a number is left out; a value that is not a
 * number, or not there (a short row), is missing from its series (`onWarning` is told where, once); a
 * percent out of 0..100 is the trace's own mark of an abnormal reading, left out silently.
 */
export function readAlibaba(path: string, onWarning?: (message: string) => void): Series[] {
  const machines = new Map<string, Machine>();
  const resources = [...PERCENT_COLUMNS, ...COUNTER_COLUMNS].map(([r]) => r);
  const skipped = new SkippedRows();
  const drops: CounterDrops[] = COUNTER_COLUMNS.map(() => ({ resets: 0, glitches: 0 }));
  let lineNo = 0;
  for (const line of readLines(path, onWarning, { warnUnterminated: true })) {
    lineNo++;
    if (line === '') continue;
    const f = line.split(',');
    const t = parseNumber(f[1]);
    if (!Number.isFinite(t)) {
      skipped.drop(lineNo, fieldProblem(FIELD_NAMES[1]!, f[1]));
      continue;
    }
    const id = f[0]!;
    let m = machines.get(id);
    if (!m) {
      m = { grids: resources.map(() => new GridAccumulator()), prevT: Number.NaN, prevCounters: COUNTER_COLUMNS.map(() => Number.NaN), beforeDrop: COUNTER_COLUMNS.map(() => Number.NaN) };
      machines.set(id, m);
    }
    const problem = firstFieldProblem(f, READ_COLUMNS, false);
    if (problem) skipped.add(lineNo, problem);
    const step = Math.floor(t / ALIBABA_STEP_SECONDS);
    PERCENT_COLUMNS.forEach(([, c], k) => {
      const v = parseNumber(f[c]);
      m.grids[k]!.add(step, v >= 0 && v <= 100 ? v : Number.NaN, lineNo);
    });
    const dt = t - m.prevT;
    COUNTER_COLUMNS.forEach(([, c], j) => {
      const v = parseNumber(f[c]);
      const dv = v - m.prevCounters[j]!;
      // a counter that went down is a reset, or a lone lower value (a 0 written in a glitch):
      // back at its old level a row later, differencing from the low value made a burst of the
      // whole counter (net_in's mean went from 0.006 to 38 with a 0 every tenth row)
      let glitch = false;
      if (dv < 0) {
        // (a second drop before the first is judged keeps the level before the first)
        if (Number.isNaN(m.beforeDrop[j]!)) {
          m.beforeDrop[j] = m.prevCounters[j]!;
          drops[j]!.resets++;
        }
      } else if (Number.isFinite(v) && !Number.isNaN(m.beforeDrop[j]!)) {
        if (v >= m.beforeDrop[j]!) {
          glitch = true;
          drops[j]!.resets--;
          drops[j]!.glitches++;
        }
        m.beforeDrop[j] = Number.NaN;
      }
      // a reset (dv < 0), the row after a lone lower value, a first row or a long gap gives no
      // increment; NaN still counts the row
      const ok = dt > 0 && dt <= MAX_COUNTER_GAP_SECONDS && dv >= 0 && !glitch;
      if (Number.isFinite(v)) m.prevCounters[j] = v;
      else m.prevCounters[j] = Number.NaN;
      if (Number.isFinite(m.prevT)) m.grids[PERCENT_COLUMNS.length + j]!.add(step, ok ? (dv / dt) * ALIBABA_STEP_SECONDS : Number.NaN, lineNo);
    });
    m.prevT = t;
  }
  skipped.report(path, onWarning);
  COUNTER_COLUMNS.forEach(([name], j) => {
    const { resets, glitches } = drops[j]!;
    if (resets + glitches === 0) return;
    const said = [
      resets > 0 ? `${resets} reset${resets === 1 ? '' : 's'} (counting on from a lower value: no increment at the reset)` : '',
      glitches > 0 ? `${glitches} lower value${glitches === 1 ? '' : 's'} that did not last (back at its level at the next value: no increment on those rows)` : '',
    ].filter(Boolean);
    onWarning?.(`${path}: counter ${name} went down: ${said.join('; ')}`);
  });
  const out: Series[] = [];
  for (const [name, m] of machines) {
    resources.forEach((resource, k) => {
      const g = m.grids[k]!;
      out.push({
        name, dataset: 'alibaba', resource, stepSeconds: ALIBABA_STEP_SECONDS,
        startSeconds: g.firstStep * ALIBABA_STEP_SECONDS, values: g.build(`${path}: machine ${name} ${resource}`), stats: g.stats,
        // (a machine's percentages saturate at 100: the level its saturation warnings are judged at)
        ...(PERCENT_COLUMNS.some(([r]) => r === resource) ? { limit: 100 } : {}),
      });
    });
  }
  return out;
}
