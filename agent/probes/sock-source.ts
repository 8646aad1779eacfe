// The sock probe as a running source over a loaded, attached object: its load-time settings,
// drains the ring of closed connections and retransmits on a timer (records are submitted
// without wakeups), and reads the TCP stats map once per tick.
import { BpfObject, RingReader } from '../kernel/index.js';
import { readDrops } from './sched.js';
import { decodeSockEvent, encodeSockConfig, readSockStats, type TcpClose, type TcpRetransmit, type TcpStats } from './sock.js';
import { writeFilter, writeKnobs, type ProbeKnobs } from './knobs.js';
import type { CgroupKey } from '../workloads/types.js';

export interface SockSourceOptions {
  /** hybrid hosts: also read each task's v1 cpu cgroup */
  readV1Cpu: boolean;
  ringBytes: number;
  /** how often the ring is drained (ms); 0: never by itself, its owner calls drain() */
  drainIntervalMs?: number;
  /** how many recent events of each kind to keep between readings */
  keepRecent?: number;
}

export interface SockReading {
  stats: Map<string, { key: CgroupKey; stats: TcpStats }>;
  /** connections closed since the previous reading (the newest keepRecent) */
  closes: TcpClose[];
  /** retransmits since the previous reading (the newest keepRecent) */
  retransmits: TcpRetransmit[];
  /** records drained since the source started, kept or not */
  eventsRead: number;
  ringDrops: number;
  statsDrops: number;
}

export class SockSource {
  private readonly obj: BpfObject;
  private readonly ring: RingReader;
  private timer: NodeJS.Timeout | null = null;
  private closes: TcpClose[] = [];
  private retransmits: TcpRetransmit[] = [];
  private eventsRead = 0;
  private readonly keep: number;

  /** Load-time settings, for BpfObject.open's rodata. */
  static rodata(opts: SockSourceOptions): Record<string, Uint8Array> {
    return { sock_cfg: encodeSockConfig({ readV1Cpu: opts.readV1Cpu }) };
  }

  /** Ring sizes, for BpfObject.open's maxEntries. */
  static maxEntries(opts: SockSourceOptions): Record<string, number> {
    return { sock_events: opts.ringBytes };
  }

  /** Reads an object its caller has loaded (with rodata() and maxEntries()) and attached. */
  constructor(obj: BpfObject, opts: SockSourceOptions) {
    this.obj = obj;
    this.ring = new RingReader(obj.map('sock_events'));
    this.keep = opts.keepRecent ?? 1000;
    // 0: the caller drains (ProbeSet runs one timer for every probe)
    if (opts.drainIntervalMs !== 0) {
      this.timer = setInterval(() => this.drain(), opts.drainIntervalMs ?? 25);
      this.timer.unref();
    }
  }

  /** Opens, loads and attaches an object holding only this probe (tests, benches). */
  static open(objectPath: string, verifierLogPath: string, opts: SockSourceOptions): { obj: BpfObject; source: SockSource } {
    const obj = BpfObject.open(objectPath, { verifierLogPath, rodata: SockSource.rodata(opts), maxEntries: SockSource.maxEntries(opts) });
    try {
      obj.load();
      obj.attachAll();
      return { obj, source: new SockSource(obj, opts) };
    } catch (err) {
      obj.close();
      throw err;
    }
  }

  /** Drains the ring into two bounded lists; older entries beyond `keepRecent` are counted only. */
  drain(): void {
    this.eventsRead += this.ring.drain((d, offsets, lengths, n) => {
      for (let i = 0; i < n; i++) {
        const e = decodeSockEvent(d, offsets[i], lengths[i]);
        if (e?.kind === 'close') this.closes.push(e.ev);
        else if (e?.kind === 'retransmit') this.retransmits.push(e.ev);
      }
    });
    if (this.closes.length > this.keep) this.closes.splice(0, this.closes.length - this.keep);
    if (this.retransmits.length > this.keep) this.retransmits.splice(0, this.retransmits.length - this.keep);
  }

  read(): SockReading {
    this.drain();
    const drops = readDrops(this.obj.map('sock_drops'));
    const { closes, retransmits } = this;
    this.closes = [];
    this.retransmits = [];
    return {
      stats: readSockStats(this.obj.map('sock_stats')),
      closes,
      retransmits,
      eventsRead: this.eventsRead,
      ringDrops: drops.ringFull,
      statsDrops: drops.statsFull,
    };
  }

  /** Overhead control: sample the send/recv lengths, or keep only the filtered workloads. */
  setKnobs(k: ProbeKnobs): void {
    writeKnobs(this.obj.map('sock_knobs'), k);
  }

  setFilter(ids: Iterable<bigint>): void {
    writeFilter(this.obj.map('sock_filter'), ids);
  }

  /** Stops draining and frees the ring reader; the object is its caller's to close. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.ring.close();
  }
}
