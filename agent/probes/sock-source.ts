// The sock probe as a running source over a loaded, attached object: its load-time settings,
// drains the ring of closed connections and retransmits on a timer (records are submitted
// without wakeups), and reads the TCP stats map once per tick.
import type { BpfObject } from '../kernel/index.js';
import { decodeSockEvent, encodeSockConfig, readSockStats, type TcpClose, type TcpRetransmit, type TcpStats } from './sock.js';
import { keepNewest, openProbe, ProbeSource, type ProbeSettings, type ProbeSourceOptions, type ProbeLosses } from './probe-source.js';
import type { CgroupKey } from '../workloads/types.js';

export interface SockSourceOptions extends ProbeSourceOptions {
  /** hybrid hosts: also read each task's v1 cpu cgroup */
  readV1Cpu: boolean;
  ringBytes: number;
}

export interface SockReading extends ProbeLosses {
  stats: Map<string, { key: CgroupKey; stats: TcpStats }>;
  /** when the stats were read (CLOCK_MONOTONIC, ns): rates are over the time between two readings */
  atNs: bigint;
  /** connections closed since the previous reading (the newest keepRecent) */
  closes: TcpClose[];
  /** retransmits since the previous reading (the newest keepRecent) */
  retransmits: TcpRetransmit[];
}

export class SockSource extends ProbeSource {
  private closes: TcpClose[] = [];
  private retransmits: TcpRetransmit[] = [];

  /** Load-time settings: the v1 flag and the ring's size. */
  static settings(opts: SockSourceOptions): ProbeSettings {
    return { rodata: { sock_cfg: encodeSockConfig({ readV1Cpu: opts.readV1Cpu }) }, maxEntries: { sock_events: opts.ringBytes } };
  }

  /** Sampling (knobs) applies to the send/recv lengths, the hottest events. */
  constructor(obj: BpfObject, opts: SockSourceOptions) {
    super(obj, 'sock', opts);
  }

  /** Opens, loads and attaches an object holding only this probe (tests, benches). */
  static open(objectPath: string, verifierLogPath: string, opts: SockSourceOptions): { obj: BpfObject; source: SockSource } {
    return openProbe(objectPath, verifierLogPath, SockSource.settings(opts), (obj) => new SockSource(obj, opts));
  }

  protected onRecord(d: DataView, off: number, len: number): void {
    const e = decodeSockEvent(d, off, len);
    if (e?.kind === 'close') this.closes.push(e.ev);
    else if (e?.kind === 'retransmit') this.retransmits.push(e.ev);
  }

  protected trim(): void {
    keepNewest(this.closes, this.keep);
    keepNewest(this.retransmits, this.keep);
  }

  read(): SockReading {
    // the stats map first, then the ring: the kernel counts a retransmit before it submits its
    // event, so the events drained cover the counts read, but for one caught between the two on
    // another CPU (drained first, any retransmit counted in between had its event left for the
    // next reading: 1586 against 1585 once in CI). A reading's events may now run ahead of its
    // counts instead (no reader compares them), and retransmits counted only as a socket closes
    // have no event at all
    const stats = readSockStats(this.obj.map('sock_stats'));
    const atNs = process.hrtime.bigint();
    this.drain();
    const { closes, retransmits } = this;
    this.closes = [];
    this.retransmits = [];
    return { stats, atNs, closes, retransmits, ...this.health() };
  }
}
