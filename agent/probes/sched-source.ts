// The sched probe as a running source over a loaded, attached object: its load-time settings,
// drains the slow-wakeup ring on a timer (records are submitted without wakeups),
// and reads the stats map once per tick.
import { BpfObject, RingReader } from '../kernel/index.js';
import {
  addRunningSlices, decodeSlowWakeup, encodeSchedConfig, readDrops, readSchedStats, type SchedStats, type SlowWakeup,
} from './sched.js';
import type { CgroupKey } from '../workloads/types.js';
import { writeFilter, writeKnobs, type ProbeKnobs } from './knobs.js';

export interface SchedSourceOptions {
  slowWakeupMs: number;
  /** hybrid hosts: also read each task's v1 cpu cgroup */
  readV1Cpu: boolean;
  ringBytes: number;
  /** how often the ring is drained (ms); 0: never by itself, its owner calls drain() */
  drainIntervalMs?: number;
  /** how many recent slow wakeups to keep for display */
  keepRecent?: number;
}

export interface SchedReading {
  stats: Map<string, { key: CgroupKey; stats: SchedStats }>;
  /** slow wakeups drained since the previous reading */
  slowWakeups: SlowWakeup[];
  eventsRead: number;
  ringDrops: number;
  statsDrops: number;
}

export class SchedSource {
  private readonly obj: BpfObject;
  private readonly ring: RingReader;
  private timer: NodeJS.Timeout | null = null;
  private pending: SlowWakeup[] = [];
  private eventsRead = 0;
  private readonly keep: number;

  /** Load-time settings, for BpfObject.open's rodata. */
  static rodata(opts: SchedSourceOptions): Record<string, Uint8Array> {
    return { sched_cfg: encodeSchedConfig({ slowWakeupNs: opts.slowWakeupMs * 1e6, readV1Cpu: opts.readV1Cpu }) };
  }

  /** Ring sizes, for BpfObject.open's maxEntries. */
  static maxEntries(opts: SchedSourceOptions): Record<string, number> {
    return { sched_events: opts.ringBytes };
  }

  /** Reads an object its caller has loaded (with rodata() and maxEntries()) and attached. */
  constructor(obj: BpfObject, opts: SchedSourceOptions) {
    this.obj = obj;
    this.ring = new RingReader(obj.map('sched_events'));
    this.keep = opts.keepRecent ?? 1000;
    // 0: the caller drains (ProbeSet runs one timer for every probe)
    if (opts.drainIntervalMs !== 0) {
      this.timer = setInterval(() => this.drain(), opts.drainIntervalMs ?? 25);
      this.timer.unref();
    }
  }

  /** Opens, loads and attaches an object holding only this probe (tests, benches). */
  static open(objectPath: string, verifierLogPath: string, opts: SchedSourceOptions): { obj: BpfObject; source: SchedSource } {
    const obj = BpfObject.open(objectPath, { verifierLogPath, rodata: SchedSource.rodata(opts), maxEntries: SchedSource.maxEntries(opts) });
    try {
      obj.load();
      obj.attachAll();
      return { obj, source: new SchedSource(obj, opts) };
    } catch (err) {
      obj.close();
      throw err;
    }
  }

  /** Drains the ring into a bounded list; older entries beyond `keepRecent` are counted only. */
  drain(): void {
    this.eventsRead += this.ring.drain((d, offsets, lengths, n) => {
      for (let i = 0; i < n; i++) {
        const ev = decodeSlowWakeup(d, offsets[i], lengths[i]);
        if (ev) this.pending.push(ev);
      }
    });
    if (this.pending.length > this.keep) this.pending.splice(0, this.pending.length - this.keep);
  }

  read(): SchedReading {
    this.drain();
    const drops = readDrops(this.obj.map('sched_drops'));
    const slowWakeups = this.pending;
    this.pending = [];
    const stats = readSchedStats(this.obj.map('sched_stats'));
    addRunningSlices(stats, this.obj.map('sched_oncpu'), process.hrtime.bigint());
    return {
      stats,
      slowWakeups,
      eventsRead: this.eventsRead,
      ringDrops: drops.ringFull,
      statsDrops: drops.statsFull,
    };
  }

  /** Overhead control: sample the run-queue waits, or keep only the filtered workloads. */
  setKnobs(k: ProbeKnobs): void {
    writeKnobs(this.obj.map('sched_knobs'), k);
  }

  setFilter(ids: Iterable<bigint>): void {
    writeFilter(this.obj.map('sched_filter'), ids);
  }

  /** Stops draining and frees the ring reader; the object is its caller's to close. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.ring.close();
  }
}
