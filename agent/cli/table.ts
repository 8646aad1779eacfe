// The live table `headroom top` and `headroom run` print: one row per workload.
import type { TickReport, WorkloadReport } from '../report.js';

export type SortKey = 'cpu' | 'p50' | 'p99' | 'switches' | 'path';

const num = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined ? '-' : v.toFixed(digits));

const sorters: Record<SortKey, (a: WorkloadReport, b: WorkloadReport) => number> = {
  cpu: (a, b) => b.cpu.cores - a.cpu.cores,
  p50: (a, b) => (b.runq.p50Ms ?? -1) - (a.runq.p50Ms ?? -1),
  p99: (a, b) => (b.runq.p99Ms ?? -1) - (a.runq.p99Ms ?? -1),
  switches: (a, b) => b.switches.perSecond - a.switches.perSecond,
  path: (a, b) => a.workload.path.localeCompare(b.workload.path),
};

/** Workloads that did something this tick (or hold a forecast or a throttle). */
export function activeWorkloads(r: TickReport): WorkloadReport[] {
  return r.workloads.filter((w) => w.cpu.cores > 0.0005 || w.switches.perSecond > 0 || w.forecast || w.throttleCores != null);
}

export function renderTable(r: TickReport, opts: { sort?: SortKey; limit?: number; all?: boolean } = {}): string {
  const rows = (opts.all ? r.workloads : activeWorkloads(r)).slice().sort(sorters[opts.sort ?? 'cpu']).slice(0, opts.limit ?? 40);
  const header = ['WORKLOAD', 'HIER', 'CPU', 'RUNQ_P50_MS', 'RUNQ_P99_MS', 'SWITCH/S', 'FC_P99_MS', 'P(CONT)', 'THROTTLE'];
  const lines = rows.map((w) => [
    w.workload.path + (w.workload.containerId ? ` [${w.workload.containerId.slice(0, 12)}]` : ''),
    w.workload.hierarchy,
    num(w.cpu.cores),
    num(w.runq.p50Ms, 3),
    num(w.runq.p99Ms, 3),
    num(w.switches.perSecond, 0),
    num(w.forecast?.quantiles['0.99']),
    num(w.forecast?.pContention),
    w.throttleCores == null ? '-' : `${num(w.throttleCores)}c`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cols: string[]): string => cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const h = r.health;
  const status = `mode ${r.mode}  interval ${(r.intervalMs / 1000).toFixed(1)}s  workloads ${r.workloads.length}  ` +
    `events ${h.eventsRead}  ring drops ${h.ringDrops}  tick ${(h.lastTickSeconds * 1000).toFixed(1)}ms`;
  return [status, fmt(header), ...lines.map(fmt)].join('\n');
}

/** `top --json`: one document, workloads keyed by cgroup path (hierarchy-prefixed on a clash). */
export function reportJson(r: TickReport): object {
  const workloads: Record<string, object> = {};
  for (const w of r.workloads) {
    const key = w.workload.path in workloads ? w.workload.id : w.workload.path;
    workloads[key] = {
      id: w.workload.id,
      hierarchy: w.workload.hierarchy,
      containerId: w.workload.containerId ?? null,
      podUid: w.workload.podUid ?? null,
      cpu: { cores: w.cpu.cores, seconds: w.cpu.seconds },
      runq: { p50Ms: w.runq.p50Ms, p99Ms: w.runq.p99Ms, count: w.runq.count, sumSeconds: w.runq.sumSeconds, slotsUs: w.runq.slots },
      switches: w.switches,
      forecast: w.forecast ?? null,
      throttleCores: w.throttleCores ?? null,
    };
  }
  return { atMs: r.atMs, intervalMs: r.intervalMs, mode: r.mode, health: r.health, workloads };
}
