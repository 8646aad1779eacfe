// The sched probe as a running source: loads the linked object with its load-time settings,
// attaches, drains the slow-wakeup ring on a timer (records are submitted without wakeups),
// and reads the stats map once per tick.
import { BpfObject, RingReader } from '../kernel/index.js';
import {
  addRunningSlices, decodeSlowWakeup, encodeSchedConfig, readDrops, readSchedStats, type SchedStats, type SlowWakeup,
} from './sched.js';
import type { CgroupKey } from '../workloads/types.js';

export interface SchedSourceOptions {
  objectPath: string;
  verifierLogPath: string;
  slowWakeupMs: number;
  /** hybrid hosts: also read each task's v1 cpu cgroup */
  readV1Cpu: boolean;
  ringBytes: number;
  /** how often the ring is drained (ms) */
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

  private constructor(obj: BpfObject, ring: RingReader, keep: number) {
    this.obj = obj;
    this.ring = ring;
    this.keep = keep;
  }

  static open(opts: SchedSourceOptions): SchedSource {
    const obj = BpfObject.open(opts.objectPath, {
      verifierLogPath: opts.verifierLogPath,
      rodata: { sched_cfg: encodeSchedConfig({ slowWakeupNs: opts.slowWakeupMs * 1e6, readV1Cpu: opts.readV1Cpu }) },
      maxEntries: { sched_events: opts.ringBytes },
    });
    try {
      obj.load();
      obj.attachAll();
      const source = new SchedSource(obj, new RingReader(obj.map('sched_events')), opts.keepRecent ?? 1000);
      source.timer = setInterval(() => source.drain(), opts.drainIntervalMs ?? 25);
      source.timer.unref();
      return source;
    } catch (err) {
      obj.close();
      throw err;
    }
  }

  get programs(): string[] {
    return this.obj.attachedPrograms;
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

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.ring.close();
    this.obj.close();
  }
}
