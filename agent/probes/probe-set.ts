// All of headroom's kernel probes as one unit: the linked object (build/bpf/headroom.bpf.o) is
// opened once with every probe's load-time settings (the programs of a probe the policy turns
// off are not loaded), loaded, attached; each probe's source then reads its own maps. Closing
// the set stops the sources, then detaches and frees the object.
import { BpfObject, RunTimeStats } from '../kernel/index.js';
import type { ProbeKnobs } from './knobs.js';
import type { ProbeCounters } from './overhead.js';
import { probeOfProgram, type ProbeSource } from './probe-source.js';
import { nextDrainMs } from './drain-period.js';
import { SchedSource, type SchedReading, type SchedSourceOptions } from './sched-source.js';
import { FaultSource, type FaultReading, type FaultSourceOptions } from './fault-source.js';
import { BlockioSource, type BlockioReading, type BlockioSourceOptions } from './blockio-source.js';
import { SockSource, type SockReading, type SockSourceOptions } from './sock-source.js';

export interface ProbeSetOptions {
  objectPath: string;
  verifierLogPath: string;
  /** the shortest period between two drains of every ring (ms), by one timer; default 50 (256 KiB
   *  rings absorb 5 MB/s of events between drains). Quiet rings are drained less often, down to
   *  every DRAIN_CEILING_MS (drain-period.ts: each wakeup costs the agent CPU) */
  drainIntervalMs?: number;
  sched: SchedSourceOptions;
  /** null: that probe is off */
  fault: FaultSourceOptions | null;
  blockio: BlockioSourceOptions | null;
  sock: SockSourceOptions | null;
}

export interface ProbeReading {
  sched: SchedReading;
  fault: FaultReading | null;
  blockio: BlockioReading | null;
  sock: SockReading | null;
}

export const PROBES = ['sched', 'fault', 'blockio', 'sock'] as const;

export { probeOfProgram };

/** What the overhead governor may turn on each probe. */
export interface Tunable {
  setKnobs(k: ProbeKnobs): void;
  /** the filter map's keys (`filterKey`) */
  setFilter(keys: Iterable<bigint>): void;
  drain(): void;
  close(): void;
}

export class ProbeSet {
  private readonly obj: BpfObject;
  readonly sched: SchedSource;
  readonly fault: FaultSource | null = null;
  readonly blockio: BlockioSource | null = null;
  readonly sock: SockSource | null = null;
  private stats: RunTimeStats | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** why run-time statistics are unavailable, when they are */
  readonly costUnavailable: string | null = null;

  private constructor(obj: BpfObject, opts: ProbeSetOptions) {
    this.obj = obj;
    // Each source that opens is closed if a later one fails.
    const opened: ProbeSource[] = [];
    // One timer drains every ring (the sources run none of their own): fewer wakeups.
    const own = { drainIntervalMs: 0 };
    try {
      this.sched = new SchedSource(obj, { ...opts.sched, ...own });
      opened.push(this.sched);
      if (opts.fault) opened.push((this.fault = new FaultSource(obj, { ...opts.fault, ...own })));
      if (opts.blockio) opened.push((this.blockio = new BlockioSource(obj, { ...opts.blockio, ...own })));
      if (opts.sock) opened.push((this.sock = new SockSource(obj, { ...opts.sock, ...own })));
    } catch (err) {
      for (const s of opened) s.close();
      throw err;
    }
    const floorMs = opts.drainIntervalMs ?? 50;
    // (a chain of timeouts, not an interval: each period follows what the last drain found)
    const drainAll = (periodMs: number): void => {
      let fill = 0;
      try {
        for (const s of opened) {
          fill = Math.max(fill, s.ringFill());
          s.drain();
        }
      } finally {
        this.schedule(drainAll, nextDrainMs(periodMs, fill, floorMs));
      }
    };
    this.schedule(drainAll, floorMs);
    try {
      this.stats = new RunTimeStats();
    } catch (err) {
      this.costUnavailable = (err as Error).message;
    }
  }

  /** The next drain, `periodMs` from now (none once closed). */
  private schedule(drainAll: (periodMs: number) => void, periodMs: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => drainAll(periodMs), periodMs);
    this.timer.unref();
  }

  static open(opts: ProbeSetOptions): ProbeSet {
    const off = new Set(['fault', 'blockio', 'sock'].filter((p) => opts[p as 'fault' | 'blockio' | 'sock'] === null));
    const settings = [
      SchedSource.settings(opts.sched),
      ...(opts.fault ? [FaultSource.settings(opts.fault)] : []),
      ...(opts.blockio ? [BlockioSource.settings(opts.blockio)] : []),
      ...(opts.sock ? [SockSource.settings(opts.sock)] : []),
    ];
    const obj = BpfObject.open(opts.objectPath, {
      verifierLogPath: opts.verifierLogPath,
      rodata: Object.assign({}, ...settings.map((s) => s.rodata)),
      maxEntries: Object.assign({}, ...settings.map((s) => s.maxEntries)),
      skipProgram: (name) => off.has(probeOfProgram(name) ?? ''),
    });
    try {
      obj.load();
      obj.attachAll();
      return new ProbeSet(obj, opts);
    } catch (err) {
      obj.close();
      throw err;
    }
  }

  get programs(): string[] {
    return this.obj.attachedPrograms;
  }

  /** The probes the governor can tune, by name. */
  get tunables(): Record<string, Tunable> {
    const out: Record<string, Tunable> = { sched: this.sched };
    if (this.fault) out.fault = this.fault;
    if (this.blockio) out.blockio = this.blockio;
    if (this.sock) out.sock = this.sock;
    return out;
  }

  /** Cumulative BPF run time and run count of each probe's programs (empty without statistics). */
  counters(): Record<string, ProbeCounters> {
    const out: Record<string, ProbeCounters> = {};
    if (!this.stats) return out;
    for (const { name, fd } of this.obj.programFds) {
      const probe = probeOfProgram(name);
      if (!probe) continue;
      const c = (out[probe] ??= { runTimeNs: 0, runCount: 0 });
      const s = RunTimeStats.read(fd);
      c.runTimeNs += s.runTimeNs;
      c.runCount += s.runCount;
    }
    return out;
  }

  /**
   * Each probe's reading. `reuse`: a reading the caller holds nothing of any longer (its maps, its
   * entries, their figures and arrays): the objects of keys read again are overwritten in place,
   * not made anew (a tick's reading lives a tick, long enough to be promoted and collected by
   * the old generation's marking).
   */
  read(reuse?: ProbeReading | null): ProbeReading {
    return {
      sched: this.sched.read(reuse?.sched),
      fault: this.fault?.read(reuse?.fault ?? undefined) ?? null,
      blockio: this.blockio?.read() ?? null,
      sock: this.sock?.read() ?? null,
    };
  }

  /** Safe to call twice. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    try {
      for (const s of Object.values(this.tunables)) s.close();
    } finally {
      this.stats?.close();
      this.stats = null;
      this.obj.close();
    }
  }
}
