// The blockio probe as a running source over a loaded, attached object: its load-time settings,
// drains the slow-I/O ring on a timer (records are submitted without wakeups), and reads the
// stats map once per tick.
import { BpfObject, RingReader } from '../kernel/index.js';
import {
  decodeSlowIo, encodeBlockioConfig, readBlockioDrops, readBlockioStats, type BlkKey, type BlkStats, type SlowIo,
} from './blockio.js';
import { writeFilter, writeKnobs, type ProbeKnobs } from './knobs.js';

export interface BlockioSourceOptions {
  /** ring event for each I/O taking at least this long, issue to completion; 0 = none */
  slowIoMs: number;
  /** hybrid hosts: also read each task's v1 cpu cgroup */
  readV1Cpu: boolean;
  /** ring size in bytes (a power of two, a multiple of the page size); default 256 KiB */
  ringBytes?: number;
  /** how often the ring is drained (ms); 0: never by itself, its owner calls drain() */
  drainIntervalMs?: number;
  /** how many recent slow I/Os to keep between readings */
  keepRecent?: number;
}

export interface BlockioReading {
  /** cumulative per (workload, device), keyed by blkKeyString */
  stats: Map<string, { key: BlkKey; stats: BlkStats }>;
  /** slow I/Os drained since the previous reading (the most recent keepRecent) */
  slowIos: SlowIo[];
  /** ring records read since the source started */
  eventsRead: number;
  ringDrops: number;
  /** stats or in-flight map had no room */
  statsDrops: number;
}

export class BlockioSource {
  private readonly obj: BpfObject;
  private readonly ring: RingReader;
  private timer: NodeJS.Timeout | null = null;
  private pending: SlowIo[] = [];
  private eventsRead = 0;
  private readonly keep: number;

  /** Load-time settings, for BpfObject.open's rodata. */
  static rodata(opts: BlockioSourceOptions): Record<string, Uint8Array> {
    return { blockio_cfg: encodeBlockioConfig({ slowIoNs: opts.slowIoMs * 1e6, readV1Cpu: opts.readV1Cpu }) };
  }

  /** Ring sizes, for BpfObject.open's maxEntries. */
  static maxEntries(opts: BlockioSourceOptions): Record<string, number> {
    return opts.ringBytes ? { blockio_events: opts.ringBytes } : {};
  }

  /** Reads an object its caller has loaded (with rodata() and maxEntries()) and attached. */
  constructor(obj: BpfObject, opts: BlockioSourceOptions) {
    this.obj = obj;
    this.ring = new RingReader(obj.map('blockio_events'));
    this.keep = opts.keepRecent ?? 1000;
    // 0: the caller drains (ProbeSet runs one timer for every probe)
    if (opts.drainIntervalMs !== 0) {
      this.timer = setInterval(() => this.drain(), opts.drainIntervalMs ?? 25);
      this.timer.unref();
    }
  }

  /** Opens, loads and attaches an object holding only this probe (tests, benches). */
  static open(objectPath: string, verifierLogPath: string, opts: BlockioSourceOptions): { obj: BpfObject; source: BlockioSource } {
    const obj = BpfObject.open(objectPath, {
      verifierLogPath, rodata: BlockioSource.rodata(opts), maxEntries: BlockioSource.maxEntries(opts),
    });
    try {
      obj.load();
      obj.attachAll();
      return { obj, source: new BlockioSource(obj, opts) };
    } catch (err) {
      obj.close();
      throw err;
    }
  }

  /** Drains the ring into a bounded list; older entries beyond `keepRecent` are counted only. */
  drain(): void {
    this.eventsRead += this.ring.drain((d, offsets, lengths, n) => {
      for (let i = 0; i < n; i++) {
        const ev = decodeSlowIo(d, offsets[i], lengths[i]);
        if (ev) this.pending.push(ev);
      }
    });
    if (this.pending.length > this.keep) this.pending.splice(0, this.pending.length - this.keep);
  }

  read(): BlockioReading {
    this.drain();
    const drops = readBlockioDrops(this.obj.map('blockio_drops'));
    const slowIos = this.pending;
    this.pending = [];
    return {
      stats: readBlockioStats(this.obj.map('blockio_stats')),
      slowIos,
      eventsRead: this.eventsRead,
      ringDrops: drops.ringFull,
      statsDrops: drops.statsFull,
    };
  }

  /** Overhead control: sample the I/Os (each counted one weighs 2^n), or keep only the
   * workloads in the filter. The choice is made per request when it is submitted. */
  setKnobs(k: ProbeKnobs): void {
    writeKnobs(this.obj.map('blockio_knobs'), k);
  }

  setFilter(ids: Iterable<bigint>): void {
    writeFilter(this.obj.map('blockio_filter'), ids);
  }

  /** Stops draining and frees the ring reader; the object is its caller's to close. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.ring.close();
  }
}
