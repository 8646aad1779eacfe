// The live table `headroom top` and `headroom run` print: one row per workload.
import { displayWidth, headWithin, padEndTo, tailWithin } from './display-width.js';
import type { LatencyFigures, TickReport, WorkloadReport } from '../report.js';
import { durationText } from '../plan/policy.js';
import { printableName } from '../printable.js';

const num = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined ? '-' : v.toFixed(digits));

/** 1536 -> "1.5K", 3.2e6 -> "3.1M" (binary units): rates per second, and memory. */
export function bytes(v: number | null | undefined): string {
  if (v === null || v === undefined) return '-';
  const units = ['', 'K', 'M', 'G', 'T'];
  let x = v;
  let u = 0;
  while (x >= 1024 && u < units.length - 1) {
    x /= 1024;
    u++;
  }
  return u === 0 ? x.toFixed(0) : `${x.toFixed(1)}${units[u]}`;
}

/** A probe the policy can turn off (the scheduler's is always on). */
export type OptionalProbe = 'fault' | 'blockio' | 'sock';

/** A column: its header, how it is shown, the number it sorts by (descending), and the probe it needs if that can be off. */
interface Column {
  header: string;
  show: (w: WorkloadReport) => string;
  value: (w: WorkloadReport) => number;
  probe?: OptionalProbe;
}

/** The soonest of a workload's demand saturations (ms), of which resource, and whether its run's task profile foresaw it; null when none is foreseen. */
function soonestSaturation(w: WorkloadReport): { ms: number; resource: string; fromTask: boolean } | null {
  let best: { ms: number; resource: string; fromTask: boolean } | null = null;
  for (const [resource, d] of Object.entries(w.demand ?? {})) {
    const ms = d?.timeToSaturationMs;
    if (ms != null && (best === null || ms < best.ms)) best = { ms, resource, fromTask: d!.fromTask?.foresaw === true };
  }
  return best;
}

const SHORT_RESOURCE: Record<string, string> = { cpu_cores: 'cpu', memory_bytes: 'mem', io_bytes_per_s: 'io', io_ops_per_s: 'iops', net_bytes_per_s: 'net' };

/**
 * "45s mem", "<1s mem" (any moment), "0s cpu" (there already), "-": when the first resource is
 * forecast to reach its limit; "4s mem(task)" where its run's task profile foresaw it (its own
 * series had not yet).
 */
function saturationText(w: WorkloadReport): string {
  const s = soonestSaturation(w);
  if (s === null) return '-';
  // (whole seconds, up, but under one "<1s": 400 ms is no "0s", which says there already, and
  // a profile's "any moment now" (1 ms) read as a steady "1s"; 3,600 s reads 1h)
  const when = s.ms > 0 && s.ms < 1000 ? '<1s' : durationText(Math.ceil(s.ms / 1000) * 1000).replace(/^0ms$/, '0s');
  return `${when} ${SHORT_RESOURCE[s.resource] ?? s.resource}${s.fromTask ? '(task)' : ''}`;
}

const COLUMN_LIST = {
  // (*: read from the cgroup's CPU time, the sched probe kept to the policy's workloads)
  cpu: { header: 'CPU', show: (w: WorkloadReport) => (w.cpu.counter ? `${num(w.cpu.cores)}*` : num(w.cpu.cores)), value: (w: WorkloadReport) => w.cpu.cores ?? -1 },
  // memory in use and the soonest saturation: the workloads the demand forecasts cover (the
  // policy's, then the busiest); a memory filling towards its limit showed nowhere in the table
  mem: { header: 'MEM', show: (w: WorkloadReport) => bytes(w.usage?.memoryBytes), value: (w: WorkloadReport) => w.usage?.memoryBytes ?? -1 },
  saturation: {
    header: 'SAT_IN', show: saturationText,
    // soonest first
    value: (w: WorkloadReport) => { const s = soonestSaturation(w); return s === null ? -1 : Number.MAX_SAFE_INTEGER - s.ms; },
  },
  p50: { header: 'RUNQ_P50_MS', show: (w: WorkloadReport) => num(w.runq.p50Ms, 3), value: (w: WorkloadReport) => w.runq.p50Ms ?? -1 },
  p99: { header: 'RUNQ_P99_MS', show: (w: WorkloadReport) => num(w.runq.p99Ms, 3), value: (w: WorkloadReport) => w.runq.p99Ms ?? -1 },
  switches: { header: 'SWITCH/S', show: (w: WorkloadReport) => num(w.switches.perSecond, 0), value: (w: WorkloadReport) => w.switches.perSecond ?? -1 },
  minflt: { header: 'MINFLT/S', show: (w: WorkloadReport) => num(w.memory?.minorPerSecond, 0), value: (w: WorkloadReport) => w.memory?.minorPerSecond ?? -1, probe: 'fault' },
  majflt: { header: 'MAJFLT/S', show: (w: WorkloadReport) => num(w.memory?.majorPerSecond, 0), value: (w: WorkloadReport) => w.memory?.majorPerSecond ?? -1, probe: 'fault' },
  'io-p99': { header: 'IO_P99_MS', show: (w: WorkloadReport) => num(w.io?.latency.p99Ms, 3), value: (w: WorkloadReport) => w.io?.latency.p99Ms ?? -1, probe: 'blockio' },
  'io-read': { header: 'IO_RD_B/S', show: (w: WorkloadReport) => bytes(w.io?.readBytesPerSecond), value: (w: WorkloadReport) => w.io?.readBytesPerSecond ?? -1, probe: 'blockio' },
  'io-write': { header: 'IO_WR_B/S', show: (w: WorkloadReport) => bytes(w.io?.writeBytesPerSecond), value: (w: WorkloadReport) => w.io?.writeBytesPerSecond ?? -1, probe: 'blockio' },
  'tcp-tx': { header: 'TCP_TX_B/S', show: (w: WorkloadReport) => bytes(w.net?.txBytesPerSecond), value: (w: WorkloadReport) => w.net?.txBytesPerSecond ?? -1, probe: 'sock' },
  'tcp-rx': { header: 'TCP_RX_B/S', show: (w: WorkloadReport) => bytes(w.net?.rxBytesPerSecond), value: (w: WorkloadReport) => w.net?.rxBytesPerSecond ?? -1, probe: 'sock' },
  retrans: { header: 'RETRANS/S', show: (w: WorkloadReport) => num(w.net?.retransmitsPerSecond, 0), value: (w: WorkloadReport) => w.net?.retransmitsPerSecond ?? -1, probe: 'sock' },
} satisfies Record<string, Column>;
const COLUMNS: Record<keyof typeof COLUMN_LIST, Column> = COLUMN_LIST;

export type SortKey = keyof typeof COLUMNS | 'path';
export const SORT_KEYS = [...Object.keys(COLUMNS), 'path'] as SortKey[];

/** The probe a sort key's column needs, if one the policy can turn off. */
export function sortProbe(key: SortKey): OptionalProbe | undefined {
  return key === 'path' ? undefined : COLUMNS[key].probe;
}

function sorter(key: SortKey): (a: WorkloadReport, b: WorkloadReport) => number {
  if (key === 'path') return (a, b) => a.workload.path.localeCompare(b.workload.path);
  const value = COLUMNS[key].value;
  return (a, b) => value(b) - value(a) || a.workload.path.localeCompare(b.workload.path);
}

/** Workloads that did something this tick (or hold a forecast, a demand forecast or a throttle, or are on a task run). */
export function activeWorkloads(r: TickReport): WorkloadReport[] {
  // (a run asleep on its memory between two busy spells left the table and came back: a walkthrough)
  return r.workloads.filter((w) => (w.cpu.cores ?? 0) > 0.0005 || (w.switches.perSecond ?? 0) > 0 || w.forecast || w.demand || w.throttleCores != null || w.run ||
    (w.memory?.minorPerSecond ?? 0) > 0 || (w.io?.opsPerSecond ?? 0) > 0 || (w.net?.txBytesPerSecond ?? 0) + (w.net?.rxBytesPerSecond ?? 0) > 0);
}

/**
 * A workload's task run (`run` follows them): "3.2s/9.5s" (elapsed, and what its task's past runs
 * took: their mean), "3.2s" for a task not seen finish before, "-" off a run.
 */
function runText(w: WorkloadReport): string {
  const run = w.run;
  if (!run) return '-';
  const elapsed = `${(run.elapsedMs / 1000).toFixed(1)}s`;
  return run.expected ? `${elapsed}/${(run.expected.durationMs.mean / 1000).toFixed(1)}s` : elapsed;
}

/** Where the table is drawn: a terminal's columns and rows (absent: not a terminal, nothing is cut). */
export interface TableFit {
  width?: number;
  height?: number;
}

/**
 * Headers of the columns given up first when the table is wider than the terminal: the
 * traffic's detail before the CPU and memory an SRE opened `top` for (a wrapped row put every
 * figure under the wrong header). The sort column and WORKLOAD are never given up.
 */
const GIVE_UP_ORDER = ['RETRANS/S', 'TCP_RX_B/S', 'TCP_TX_B/S', 'IO_WR_B/S', 'IO_RD_B/S', 'MAJFLT/S', 'SWITCH/S', 'RUNQ_P50_MS', 'MINFLT/S', 'IO_P99_MS', 'HIER', 'RUN', 'RUNQ_FC_P99_MS', 'P(RUNQ>OBJ)', 'THROTTLE', 'SAT_IN', 'MEM', 'RUNQ_P99_MS', 'CPU'];
/** The WORKLOAD column is cut (in the middle) no narrower than this before a column is given up. */
const MIN_WORKLOAD_WIDTH = 24;
/**
 * Lines of a frame that are not rows: the status, the header, the note of what was left out, and
 * the terminal's last line, which the line feed after the frame leaves empty (a frame as tall as
 * the terminal scrolled its status away at every tick: a review).
 */
const FRAME_LINES = 4;

/** `text` cut to `width` columns, its middle replaced by '~' (a cgroup path's both ends say most). */
export function cutMiddle(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  if (width <= 1) return headWithin(text, Math.max(0, width));
  const keep = width - 1;
  const head = headWithin(text, Math.ceil(keep / 2));
  return `${head}~${tailWithin(text, keep - displayWidth(head))}`;
}

/** Under this many ticks, the table says its forecasts stand on few samples. */
const SETTLED_TICKS = 5;

export function renderTable(r: TickReport, opts: { sort?: SortKey; limit?: number; all?: boolean } & TableFit = {}): string {
  const active = (opts.all ? r.workloads : activeWorkloads(r)).slice().sort(sorter(opts.sort ?? 'cpu'));
  // (a frame taller than the terminal scrolled its status and header away at every tick)
  const fitRows = opts.height !== undefined && opts.height > 0 ? Math.max(1, opts.height - FRAME_LINES) : Number.POSITIVE_INFINITY;
  const rows = active.slice(0, Math.min(opts.limit ?? 40, fitRows));
  // A probe that is not running (the policy turned it off) has no column; nor task runs where none is followed (top).
  const shown = Object.values(COLUMNS).filter((c) => c.probe === undefined || r.health.probes[c.probe] !== undefined);
  if (rows.some((w) => w.run !== undefined)) shown.push({ header: 'RUN', show: runText, value: () => 0 });
  // the run-queue forecast of a workload with a run-queue objective, and its chance of passing it
  const header = ['WORKLOAD', 'HIER', ...shown.map((c) => c.header), 'RUNQ_FC_P99_MS', 'P(RUNQ>OBJ)', 'THROTTLE'];
  const lines = rows.map((w) => [
    // (a cgroup's name is anyone's who may make one: a terminal escape in it cleared the screen)
    printableName(w.workload.path) + (w.workload.containerId ? ` [${printableName(w.workload.containerId.slice(0, 12))}]` : ''),
    w.workload.hierarchy,
    ...shown.map((c) => c.show(w)),
    num(w.forecast?.quantiles['0.99']),
    num(w.forecast?.pContention),
    w.throttleCores == null ? '-' : `${num(w.throttleCores)}c`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (i === 0 ? displayWidth(l[i]!) : l[i]!.length))));
  const sort = opts.sort ?? 'cpu';
  const kept = fitColumns(header, widths, opts.width, sort === 'path' ? undefined : COLUMNS[sort].header);
  const fmt = (cols: string[]): string => kept.map((i) => (i === 0 ? padEndTo(cutMiddle(cols[i]!, widths[i]!), widths[i]!) : cols[i]!.padStart(widths[i]!))).join('  ');
  const h = r.health;
  const status = `mode ${r.mode}  interval ${Number((r.intervalMs / 1000).toFixed(3))}s  workloads ${r.workloads.length}  ` +
    `events ${h.eventsRead}  ring drops ${h.ringDrops}${h.missedRuns ? `  missed runs ${h.missedRuns}` : ''}  tick ${(h.lastTickSeconds * 1000).toFixed(1)}ms` +
    // (the probes the overhead governor runs cheaper: their figures are estimates, or only the policy's workloads')
    reducedProbes(h);
  const left: string[] = [];
  const hidden = header.filter((_, i) => !kept.includes(i));
  // (the rows first: on a narrow terminal the note is cut, and the column names can go)
  if (active.length > rows.length) left.push(`${active.length - rows.length} more workload${active.length - rows.length === 1 ? '' : 's'} not shown`);
  if (hidden.length > 0) left.push(`${hidden.length} column${hidden.length === 1 ? '' : 's'} hidden to fit ${opts.width} columns: ${hidden.join(' ')}`);
  // (top --once showed a forecast of one tick's sample as any other: its p99 the value, a
  // countdown from one reading)
  if (rows.some((w) => w.cpu.cores === null)) left.push('- under CPU: the sched probe counts only the policy\'s workloads now, to keep within its overhead budget');
  if (rows.some((w) => w.cpu.counter)) left.push('* under CPU: read from the cgroup\'s CPU time, while the sched probe counts only the policy\'s workloads');
  if (h.ticks < SETTLED_TICKS && rows.some((w) => w.demand !== undefined || w.forecast !== undefined)) {
    left.push(`forecasts stand on ${h.ticks} tick${h.ticks === 1 ? '' : 's'} so far: read them after ${SETTLED_TICKS} or more`);
  }
  const out = [status, fmt(header), ...lines.map(fmt)];
  if (left.length > 0) out.push(`(${left.join('; ')})`);
  // (the status and the note are cut too: a wrapped line is a line more than the frame has)
  return (opts.width !== undefined && opts.width > 0 ? out.map((l) => headWithin(l, opts.width!)) : out).join('\n');
}

/**
 * The indices of the columns shown in `width` terminal columns: all of them when they fit (or no width
 * is given); otherwise WORKLOAD is cut down to MIN_WORKLOAD_WIDTH, then columns are given up in
 * GIVE_UP_ORDER (never `keep`), then WORKLOAD is cut further. Sets widths[0] to WORKLOAD's width.
 */
function fitColumns(header: readonly string[], widths: number[], width: number | undefined, keep: string | undefined): number[] {
  const kept = header.map((_, i) => i);
  if (width === undefined || !(width > 0)) return kept;
  const total = (): number => kept.reduce((sum, i) => sum + (i === 0 ? 0 : widths[i]! + 2), 0);
  const floor = Math.min(widths[0]!, Math.max(MIN_WORKLOAD_WIDTH, header[0]!.length));
  for (const name of GIVE_UP_ORDER) {
    if (floor + total() <= width) break;
    const i = header.indexOf(name);
    if (i > 0 && name !== keep && kept.includes(i)) kept.splice(kept.indexOf(i), 1);
  }
  widths[0] = Math.max(header[0]!.length, Math.min(widths[0]!, width - total()));
  return kept;
}

/** "  sched selected-only  fault sampled-1/8": the probes not run in full, for the status line. */
function reducedProbes(h: TickReport['health']): string {
  return Object.entries(h.probes).filter(([, p]) => p.variant !== 'full').map(([name, p]) => `  ${name} ${p.variant}`).join('');
}

/** `top --json`: one document, workloads keyed by cgroup path (hierarchy-prefixed on a clash). */
export function reportJson(r: TickReport): object {
  const workloads: Record<string, object> = {};
  // a path both hierarchies hold: the v2 cgroup keyed by it, the v1 cpu one by its id (as the
  // README says), whichever the probes' maps gave first
  const paths = new Map<string, number>();
  for (const w of r.workloads) paths.set(w.workload.path, (paths.get(w.workload.path) ?? 0) + 1);
  for (const w of r.workloads) {
    const key = paths.get(w.workload.path)! > 1 && w.workload.hierarchy !== 'v2' ? w.workload.id : w.workload.path;
    workloads[key] = {
      id: w.workload.id,
      hierarchy: w.workload.hierarchy,
      containerId: w.workload.containerId ?? null,
      podUid: w.workload.podUid ?? null,
      // (its counts so far too, where the sched probe does not count it now: frozen, they read as a
      // workload gone idle; its cores then from its cgroup's CPU time where that could be read)
      ...(w.cpu.cores === null || w.cpu.counter ? {
        cpu: { cores: w.cpu.cores, seconds: null, source: w.cpu.cores === null ? null : 'cgroup' },
        runq: { p50Ms: null, p99Ms: null, count: null, sumSeconds: null, waitPerSecond: null, waitsPerSecond: null, slotsUs: null },
        switches: { voluntary: null, involuntary: null, perSecond: null },
      } : {
        cpu: { cores: w.cpu.cores, seconds: w.cpu.seconds, source: 'probe' },
        runq: { p50Ms: w.runq.p50Ms, p99Ms: w.runq.p99Ms, count: w.runq.count, sumSeconds: w.runq.sumSeconds, waitPerSecond: w.runq.waitPerSecond, waitsPerSecond: w.runq.waitsPerSecond, slotsUs: w.runq.slots },
        switches: w.switches,
      }),
      memory: w.memory ?? null,
      io: w.io ? { ...w.io, latency: jsonLatency(w.io.latency), devices: mapValues(w.io.devices, (d) => ({ ...d, latency: jsonLatency(d.latency) })) } : null,
      net: w.net ?? null,
      usage: w.usage ?? null,
      demand: w.demand ?? null,
      forecast: w.forecast ?? null,
      throttleCores: w.throttleCores ?? null,
    };
  }
  return { atMs: r.atMs, intervalMs: r.intervalMs, mode: r.mode, health: r.health, workloads, events: r.events, overheadChanges: r.overheadChanges };
}

/** Latency in --json: the kernel's slots as slotsUs, like runq's. */
function jsonLatency(l: LatencyFigures): object {
  return { p50Ms: l.p50Ms, p99Ms: l.p99Ms, count: l.count, sumSeconds: l.sumSeconds, slotsUs: l.slots };
}

function mapValues<A, B>(o: Record<string, A>, f: (a: A) => B): Record<string, B> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}
