// Decisions, the overhead governor's switches, kernel events and task runs, as a person reads them (one
// line each) and as a machine reads them (--json lines).
import type { Decision, Mode } from '../agent/plan/types.js';
import type { Hierarchy, Workload } from '../agent/workloads/types.js';
import { basename } from 'node:path';
import type { KernelEvent, OverheadEvent } from '../agent/report.js';
import type { BeyondForecast, RunEvent, RunStart } from '../agent/predict/task-runs.js';

/** What the decision leaves the workload with, in words. */
function target(d: Decision): string {
  return d.cpuCores === null ? 'its original setting' : `${d.cpuCores.toFixed(2)} cores`;
}

/** "[recommend] throttle v1-cpu:/a/b cpu to 1.50 cores: <reason>" */
export function formatDecision(d: Decision, mode: Mode): string {
  const failed = d.notApplied === undefined ? '' : ` (NOT APPLIED: ${d.notApplied})`;
  return `[${mode}] ${d.action} ${d.workload.id} ${d.resource} to ${target(d)}${failed}: ${d.reason}`;
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
  /** enforce: why its write failed (absent when it was applied, or in a dry run) */
  notApplied?: string;
}

/** A workload as the JSON records name it: not the index's own fields (its cpu directory). */
function workloadRecord(w: Workload): DecisionRecord['workload'] {
  return {
    id: w.id,
    path: w.path,
    hierarchy: w.hierarchy,
    ...(w.containerId ? { containerId: w.containerId } : {}),
    ...(w.podUid ? { podUid: w.podUid } : {}),
    ...(w.runtime ? { runtime: w.runtime } : {}),
  };
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
    workload: workloadRecord(w),
    reason: d.reason,
    ...(d.notApplied === undefined ? {} : { notApplied: d.notApplied }),
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

/** A task's name for a person: the program's name and its arguments, shortened. */
function taskLabel(e: RunStart): string {
  const text = [basename(e.task.exe), ...(e.task.args ?? [])].join(' ');
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

/**
 * "[run] v1-cpu:/jobs/a started: stress-ng --cpu 1 (task 3fa2c1d9): expected 4.0 s (p90 4.3 s),
 * peak 1.00 cores, 12 MiB (3 runs, confidence 0.71)" (", memory 0.50" after the 0.72 where memory
 * was measured in fewer of the runs) /
 * "[run] v1-cpu:/jobs/a ended after 4.1 s (task 3fa2c1d9): recorded (4 runs behind its profile)"
 */
export function formatRunEvent(e: RunEvent): string {
  const task = e.signature ? ` (task ${e.signature.slice(0, 8)})` : '';
  if (e.kind === 'run-end') {
    const took = e.durationAtMost ? `within a tick (at most ${seconds(e.durationMs)})` : e.durationUnknown ? 'after a time not known (its start not seen)' : `after ${seconds(e.durationMs)}`;
    const beyond = e.beyondForecast ? `; beyond its forecast: ${e.beyondForecast.map(beyondText).join(', ')}` : '';
    // (a nonzero status learned: the task's usual end, said so as not to read as a failure)
    const withHeld = e.learnedWith ? `, with the ${e.learnedWith} run${e.learnedWith === 1 ? '' : 's'} before it held back` : '';
    const usual = e.recorded && e.exitStatus ? `, exited with status ${e.exitStatus} as its task's runs do${withHeld}` : '';
    // (its curve's first slices were not learned: said, as its profile there is not this run's)
    const unseen = e.unseenMs
      ? `; its first ${seconds(e.unseenMs)} not seen (${e.unseenBecause === 'found-late' ? 'its cgroup found late' : 'begun before its cgroup was seen busy'}): left out of its profile`
      : '';
    return `[run] ${e.workload.id} ended ${took}${task}: ${e.recorded ? `recorded${usual} (${e.runs} run${e.runs === 1 ? '' : 's'} behind its profile)` : `not recorded: ${e.reason}`}${unseen}${beyond}`;
  }
  const started = `[run] ${e.workload.id} started: ${taskLabel(e)}${task}`;
  const f = e.forecast;
  if (!f) return `${started}: a task not seen finish before`;
  const cpu = f.peak.cpuCores ? `${f.peak.cpuCores.p90.toFixed(2)} cores` : 'CPU not measured';
  const mem = f.peak.memPeakBytes ? mib(f.peak.memPeakBytes.p90) : 'memory not measured';
  const tooBig = e.memoryCeilingBytes !== undefined && f.peak.memPeakBytes
    ? `; may not fit: its runs' memory peak (mean ${mib(f.peak.memPeakBytes.mean)}) is above its cgroup's limit, ${mib(e.memoryCeilingBytes)}`
    : '';
  return `${started}: expected ${seconds(f.durationMs.mean)} (p90 ${seconds(f.durationMs.p90)}), peak ${cpu}, ${mem} (${f.runs} run${f.runs === 1 ? '' : 's'}, confidence ${f.confidence.toFixed(2)}${lessTrusted(f)})${tooBig}`;
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** "duration 15.8 s (p90 5.8 s)", "memory peak 308 MiB (p90 113 MiB)" */
function beyondText(b: BeyondForecast): string {
  switch (b.what) {
    case 'duration_ms': return `duration ${seconds(b.actual)} (p90 ${seconds(b.p90)})`;
    case 'cpu_cores': return `CPU ${b.actual.toFixed(2)} cores (p90 ${b.p90.toFixed(2)})`;
    case 'memory_peak_bytes': return `memory peak ${mib(b.actual)} (p90 ${mib(b.p90)})`;
  }
}

/** ", memory 0.50": the line's resources whose own confidence is lower (measured in fewer of the runs); '' when none. */
function lessTrusted(f: NonNullable<RunStart['forecast']>): string {
  const shown = [['cpuCores', 'CPU'], ['memPeakBytes', 'memory']] as const;
  // (compared as printed: a gap that rounds away would read "confidence 0.82, memory 0.82")
  const lower = shown.filter(([r]) => f.confidenceOf[r] !== undefined && f.confidenceOf[r]!.toFixed(2) !== f.confidence.toFixed(2));
  return lower.map(([r, name]) => `, ${name} ${f.confidenceOf[r]!.toFixed(2)}`).join('');
}

export function runEventRecord(e: RunEvent): object {
  const base = { type: 'run', kind: e.kind, at: new Date(e.atMs).toISOString(), atMs: e.atMs, workload: workloadRecord(e.workload), signature: e.signature };
  if (e.kind === 'run-end') {
    return {
      ...base, durationMs: e.durationUnknown ? null : e.durationMs, ...(e.durationAtMost ? { durationAtMost: true } : {}), ...(e.unseenMs ? { unseenMs: e.unseenMs, unseenBecause: e.unseenBecause } : {}), recorded: e.recorded, ...(e.runs !== undefined ? { runs: e.runs } : {}),
      ...(e.reason ? { reason: e.reason } : {}), ...(e.oomKilled ? { oomKilled: true } : {}),
      ...(e.killedBy !== undefined ? { killedBy: e.killedBy } : {}), ...(e.exitStatus !== undefined ? { exitStatus: e.exitStatus } : {}), ...(e.learnedWith ? { learnedWith: e.learnedWith } : {}), ...(e.heldBack ? { heldBack: true } : {}), ...(e.beyondForecast ? { beyondForecast: e.beyondForecast } : {}),
    };
  }
  const f = e.forecast;
  return {
    // (the label's command line only: the inputs and environment values stay in the profile store)
    ...base, task: { exe: e.task.exe, args: e.task.args ?? [] },
    forecast: f && { runs: f.runs, confidence: f.confidence, confidenceOf: f.confidenceOf, durationMs: f.durationMs, peak: f.peak },
    ...(e.memoryCeilingBytes !== undefined ? { memoryCeilingBytes: e.memoryCeilingBytes } : {}),
  };
}
