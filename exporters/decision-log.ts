// Decisions, the overhead governor's switches and kernel events, as a person reads them (one
// line each) and as a machine reads them (--json lines).
import type { Decision, Mode } from '../agent/plan/types.js';
import type { Hierarchy } from '../agent/workloads/types.js';
import type { KernelEvent, OverheadEvent } from '../agent/report.js';

/** What the decision leaves the workload with, in words. */
function target(d: Decision): string {
  return d.cpuCores === null ? 'its original setting' : `${d.cpuCores.toFixed(2)} cores`;
}

/** "[recommend] throttle v1-cpu:/a/b cpu to 1.50 cores: <reason>" */
export function formatDecision(d: Decision, mode: Mode): string {
  return `[${mode}] ${d.action} ${d.workload.id} ${d.resource} to ${target(d)}: ${d.reason}`;
}

export interface DecisionRecord {
  type: 'decision';
  id: string;
  /** ISO 8601, for people and log shippers; atMs for arithmetic */
  at: string;
  atMs: number;
  mode: Mode;
  rule: string;
  action: Decision['action'];
  resource: Decision['resource'];
  /** cores allowed after the decision; null = back to the original setting */
  cpuCores: number | null;
  workload: {
    id: string;
    path: string;
    hierarchy: Hierarchy;
    containerId?: string;
    podUid?: string;
    runtime?: string;
  };
  reason: string;
}

/** A JSON-able record of one decision; fields a workload lacks are left out, not null. */
export function decisionRecord(d: Decision, mode: Mode): DecisionRecord {
  const w = d.workload;
  return {
    type: 'decision',
    id: d.id,
    at: new Date(d.atMs).toISOString(),
    atMs: d.atMs,
    mode,
    rule: d.rule,
    action: d.action,
    resource: d.resource,
    cpuCores: d.cpuCores,
    workload: {
      id: w.id,
      path: w.path,
      hierarchy: w.hierarchy,
      ...(w.containerId ? { containerId: w.containerId } : {}),
      ...(w.podUid ? { podUid: w.podUid } : {}),
      ...(w.runtime ? { runtime: w.runtime } : {}),
    },
    reason: d.reason,
  };
}

/** "[overhead] fault full -> sampled-1/8: <reason>" */
export function formatOverhead(e: OverheadEvent): string {
  return `[overhead] ${e.probe} ${e.from} -> ${e.to}: ${e.reason}`;
}

export function overheadRecord(e: OverheadEvent): object {
  return { type: 'overhead', at: new Date(e.atMs).toISOString(), atMs: e.atMs, probe: e.probe, from: e.from, to: e.to, reason: e.reason };
}

/** "[oom_kill] v1-cpu:/a/b pid 123 (stress-ng) rssPages=16384 ..." */
export function formatKernelEvent(e: KernelEvent): string {
  const detail = Object.entries(e.detail).map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toFixed(3) : v}`).join(' ');
  return `[${e.kind}] ${e.workload.id} pid ${e.pid}${e.comm ? ` (${e.comm})` : ''} ${detail}`.trimEnd();
}

export function kernelEventRecord(e: KernelEvent, atMs: number): object {
  return { type: 'event', kind: e.kind, at: new Date(atMs).toISOString(), atMs, workload: e.workload, pid: e.pid, ...(e.comm ? { comm: e.comm } : {}), ...e.detail };
}
