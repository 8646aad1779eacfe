// The sched probe as a running source over a loaded, attached object: its load-time settings,
// drains the slow-wakeup ring on a timer (records are submitted without wakeups),
// and reads the stats map once per tick.
import { cpus } from 'node:os';
import type { BpfObject } from '../kernel/index.js';
import { decodeExecCwd, decodeExit, decodeSlowWakeup, type ProcessEnd, encodeSchedConfig, readSchedStats, type SchedStats, type SlowWakeup } from './sched.js';
import type { CgroupKey } from '../workloads/types.js';
import { keepNewest, openProbe, ProbeSource, type ProbeSettings, type ProbeSourceOptions, type ProbeLosses } from './probe-source.js';

export interface SchedSourceOptions extends ProbeSourceOptions {
  slowWakeupMs: number;
  /** hybrid hosts: also read each task's v1 cpu cgroup */
  readV1Cpu: boolean;
  ringBytes: number;
}

export interface SchedReading extends ProbeLosses {
  stats: Map<string, { key: CgroupKey; stats: SchedStats }>;
  /** when the stats' read began (CLOCK_MONOTONIC, ns: bpf_ktime_get_ns's clock): rates are over the time between two readings */
  atNs: bigint;
  /** slow wakeups drained since the previous reading */
  slowWakeups: SlowWakeup[];
}

/**
 * Processes whose cwd at exec is kept (sched_exec_cwd, 800 bytes each): 2,048, and more on a
 * host of many CPUs, where each CPU holds up to 128 of an LRU map's free entries for itself
 * (kernels before 6.16 evicted the newest entries of a map nearly empty from about 16 CPUs on).
 */
export function execCwdEntries(cpuCount: number): number {
  return Math.max(2048, 160 * cpuCount);
}

export class SchedSource extends ProbeSource {
  private pending: SlowWakeup[] = [];
  /** counting has started (at the first reading: sched_since) */
  private started = false;

  /** Load-time settings: the slow-wakeup threshold, the v1 flag, the ring's size. */
  static settings(opts: SchedSourceOptions): ProbeSettings {
    return {
      rodata: { sched_cfg: encodeSchedConfig({ slowWakeupNs: opts.slowWakeupMs * 1e6, readV1Cpu: opts.readV1Cpu }) },
      maxEntries: { sched_events: opts.ringBytes, sched_exec_cwd: execCwdEntries(cpus().length), sched_exit: 4 * execCwdEntries(cpus().length) },
    };
  }

  constructor(obj: BpfObject, opts: SchedSourceOptions) {
    super(obj, 'sched', opts);
  }

  /** Opens, loads and attaches an object holding only this probe (tests, benches). */
  static open(objectPath: string, verifierLogPath: string, opts: SchedSourceOptions): { obj: BpfObject; source: SchedSource } {
    return openProbe(objectPath, verifierLogPath, SchedSource.settings(opts), (obj) => new SchedSource(obj, opts));
  }

  protected onRecord(d: DataView, off: number, len: number): void {
    const ev = decodeSlowWakeup(d, off, len);
    if (ev) this.pending.push(ev);
  }

  protected trim(): void {
    keepNewest(this.pending, this.keep);
  }

  /**
   * Where process `pid` was (its cwd, as it sees it) when it exec'd, or null when not known: it
   * exec'd before the probe attached, another process had its pid (`startTicks`, its start in
   * /proc/<pid>/stat, tells), its root is not `root` (stat of /proc/<pid>/root) now, or its path
   * was not read whole (decodeExecCwd). One map lookup: a task's, not per event.
   */
  cwdAtExec(pid: number, startTicks: number, root: { ino: bigint; dev: bigint }): string | null {
    const v = this.byPid('sched_exec_cwd', pid);
    return v ? decodeExecCwd(v, startTicks, root) : null;
  }

  /**
   * How process `pid` ended (killed by a signal, or its exit status), or null when not known: it
   * lives, it ended before the probe attached or long enough ago to be forgotten, or another
   * process had its pid (`startTicks`). One map lookup: a run's, at its end.
   */
  endOf(pid: number, startTicks: number): ProcessEnd | null {
    const v = this.byPid('sched_exit', pid);
    return v ? decodeExit(v, startTicks) : null;
  }

  /** A per-process map's entry for `pid` (its tgid), or null: none, or the object closed meanwhile (the agent stopping while a task is read). */
  private byPid(map: 'sched_exec_cwd' | 'sched_exit', pid: number): Buffer | null {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(pid);
    try {
      return this.obj.map(map).lookup(key);
    } catch {
      return null;
    }
  }

  /** `reuse`: a reading its caller holds no longer: its entries are overwritten (readSchedStats). */
  read(reuse?: SchedReading): SchedReading {
    this.drain();
    const slowWakeups = this.pending;
    this.pending = [];
    const atNs = process.hrtime.bigint();
    // the first reading is where counting starts, as of when its read begins: a task on a CPU
    // since before the attach is lent its running slice from here (sched.bpf.c, hr_sched_runtime;
    // a mark at or after a read's start is not lent by that read), or credited its time from
    // here at its first switch-out (stint_unseen), during the read too
    if (!this.started) {
      const since = Buffer.alloc(8);
      since.writeBigUInt64LE(atNs);
      this.obj.map('sched_since').update(Buffer.alloc(4), since);
      this.started = true;
    }
    const { stats } = readSchedStats(this.obj.map('sched_stats'), atNs, reuse?.stats);
    return { stats, atNs, slowWakeups, ...this.health() };
  }
}
