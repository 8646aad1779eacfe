// The blockio probe as a running source over a loaded, attached object: its load-time settings,
// drains the slow-I/O ring on a timer (records are submitted without wakeups), and reads the
// stats map once per tick.
import type { BpfObject } from '../kernel/index.js';
import { decodeSlowIo, encodeBlockioConfig, readBlockioStats, type BlkKey, type BlkStats, type SlowIo } from './blockio.js';
import { keepNewest, openProbe, ProbeSource, type ProbeSettings, type ProbeSourceOptions, type ProbeLosses } from './probe-source.js';

export interface BlockioSourceOptions extends ProbeSourceOptions {
  /** ring event for each I/O taking at least this long, issue to completion; 0 = none */
  slowIoMs: number;
  /** hybrid hosts: also read each task's v1 cpu cgroup */
  readV1Cpu: boolean;
  /** ring size in bytes (a power of two, a multiple of the page size); default 256 KiB */
  ringBytes?: number;
}

export interface BlockioReading extends ProbeLosses {
  /** cumulative per (workload, device), keyed by blkKeyString */
  stats: Map<string, { key: BlkKey; stats: BlkStats }>;
  /** when the stats were read (CLOCK_MONOTONIC, ns): rates are over the time between two readings */
  atNs: bigint;
  /** slow I/Os drained since the previous reading (the most recent keepRecent) */
  slowIos: SlowIo[];
}

export class BlockioSource extends ProbeSource {
  private pending: SlowIo[] = [];

  /** Load-time settings: the slow-I/O threshold, the v1 flag, the ring's size. */
  static settings(opts: BlockioSourceOptions): ProbeSettings {
    return {
      rodata: { blockio_cfg: encodeBlockioConfig({ slowIoNs: opts.slowIoMs * 1e6, readV1Cpu: opts.readV1Cpu }) },
      maxEntries: opts.ringBytes ? { blockio_events: opts.ringBytes } : {},
    };
  }

  /** Sampling (knobs) is decided per request when it is submitted; each counted one weighs 2^n. */
  constructor(obj: BpfObject, opts: BlockioSourceOptions) {
    super(obj, 'blockio', opts);
  }

  /** Opens, loads and attaches an object holding only this probe (tests, benches). */
  static open(objectPath: string, verifierLogPath: string, opts: BlockioSourceOptions): { obj: BpfObject; source: BlockioSource } {
    return openProbe(objectPath, verifierLogPath, BlockioSource.settings(opts), (obj) => new BlockioSource(obj, opts));
  }

  protected onRecord(d: DataView, off: number, len: number): void {
    const ev = decodeSlowIo(d, off, len);
    if (ev) this.pending.push(ev);
  }

  protected trim(): void {
    keepNewest(this.pending, this.keep);
  }

  read(): BlockioReading {
    this.drain();
    const slowIos = this.pending;
    this.pending = [];
    const stats = readBlockioStats(this.obj.map('blockio_stats'));
    return { stats, atNs: process.hrtime.bigint(), slowIos, ...this.health() };
  }
}
