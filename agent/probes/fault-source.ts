// The fault probe as a running source over a loaded, attached object: opens the per-CPU
// page-fault perf events and attaches the two perf_event programs to them (attachAll skips
// those), drains the OOM-kill ring on a timer, and reads the stats map once per tick.
import {
  BpfObject, PerfEventSet, RingReader, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ, PERF_COUNT_SW_PAGE_FAULTS_MIN,
} from '../kernel/index.js';
import { decodeOomKill, encodeFaultConfig, readFaultStats, type FaultStats, type OomKill } from './fault.js';
import { readDrops } from './sched.js';
import { writeFilter, writeKnobs, type ProbeKnobs } from './knobs.js';
import type { CgroupKey } from '../workloads/types.js';

export interface FaultSourceOptions {
  /** hybrid hosts: also read each task's v1 cpu cgroup (and an OOM victim's v1 memory cgroup) */
  readV1Cpu: boolean;
  /** size of the OOM-kill ring (bytes, a power of two pages); default: the object's 64 KiB */
  ringBytes?: number;
  /** how often the ring is drained (ms); 0: never by itself, its owner calls drain() */
  drainIntervalMs?: number;
  /** how many recent OOM kills to keep between readings */
  keepRecent?: number;
  /** CPUs to open the fault events on; default: the online ones */
  cpus?: number[];
}

export interface FaultReading {
  stats: Map<string, { key: CgroupKey; stats: FaultStats }>;
  /** OOM kills drained since the previous reading */
  oomKills: OomKill[];
  eventsRead: number;
  ringDrops: number;
  statsDrops: number;
}

/** Which perf_event program runs on which page-fault event (kernel's mm_account_fault). */
const FAULT_EVENTS = [
  { program: 'hr_fault_minor', config: PERF_COUNT_SW_PAGE_FAULTS_MIN },
  { program: 'hr_fault_major', config: PERF_COUNT_SW_PAGE_FAULTS_MAJ },
] as const;

export class FaultSource {
  private readonly obj: BpfObject;
  private readonly ring: RingReader;
  private perf: PerfEventSet[] = [];
  private timer: NodeJS.Timeout | null = null;
  private pending: OomKill[] = [];
  private eventsRead = 0;
  private readonly keep: number;

  /** Load-time settings, for BpfObject.open's rodata. */
  static rodata(opts: FaultSourceOptions): Record<string, Uint8Array> {
    return { fault_cfg: encodeFaultConfig({ readV1Cpu: opts.readV1Cpu }) };
  }

  /** Ring size, for BpfObject.open's maxEntries. */
  static maxEntries(opts: FaultSourceOptions): Record<string, number> {
    return opts.ringBytes ? { fault_events: opts.ringBytes } : {};
  }

  /** Reads an object its caller has loaded (with rodata() and maxEntries()) and attached with attachAll(). */
  constructor(obj: BpfObject, opts: FaultSourceOptions) {
    this.obj = obj;
    this.keep = opts.keepRecent ?? 1000;
    this.ring = new RingReader(obj.map('fault_events'));
    try {
      // sample_period 1: the program runs on every fault; the cheap variant raises the minor
      // faults' period (setKnobs)
      for (const { program, config } of FAULT_EVENTS) {
        const set = PerfEventSet.open({ type: PERF_TYPE_SOFTWARE, config, samplePeriod: 1 }, opts.cpus);
        this.perf.push(set);
        for (const fd of set.fds) obj.attachPerfEvent(program, fd);
      }
    } catch (err) {
      this.close();
      throw err;
    }
    // 0: the caller drains (ProbeSet runs one timer for every probe)
    if (opts.drainIntervalMs !== 0) {
      this.timer = setInterval(() => this.drain(), opts.drainIntervalMs ?? 25);
      this.timer.unref();
    }
  }

  /** Opens, loads and attaches an object holding only this probe (tests, benches). */
  static open(objectPath: string, verifierLogPath: string, opts: FaultSourceOptions): { obj: BpfObject; source: FaultSource } {
    const obj = BpfObject.open(objectPath, { verifierLogPath, rodata: FaultSource.rodata(opts), maxEntries: FaultSource.maxEntries(opts) });
    try {
      obj.load();
      obj.attachAll();
      return { obj, source: new FaultSource(obj, opts) };
    } catch (err) {
      obj.close();
      throw err;
    }
  }

  /** Drains the ring into a bounded list; older entries beyond `keepRecent` are counted only. */
  drain(): void {
    this.eventsRead += this.ring.drain((d, offsets, lengths, n) => {
      for (let i = 0; i < n; i++) {
        const ev = decodeOomKill(d, offsets[i], lengths[i]);
        if (ev) this.pending.push(ev);
      }
    });
    if (this.pending.length > this.keep) this.pending.splice(0, this.pending.length - this.keep);
  }

  read(): FaultReading {
    this.drain();
    const drops = readDrops(this.obj.map('fault_drops'));
    const oomKills = this.pending;
    this.pending = [];
    return {
      stats: readFaultStats(this.obj.map('fault_stats')),
      oomKills,
      eventsRead: this.eventsRead,
      ringDrops: drops.ringFull,
      statsDrops: drops.statsFull,
    };
  }

  /** Overhead control: sample minor faults, or keep only the filtered workloads. OOM kills
   * are always reported. */
  /**
   * Overhead control. Sampling happens in perf, where the cost is: the minor-fault events get a
   * sample period of 2^sampleShift, so perf's overflow path and the program run once per period
   * (the program counts the period). The filter is the program's.
   */
  setKnobs(k: ProbeKnobs): void {
    this.perf[0]?.setPeriod(2 ** k.sampleShift);
    writeKnobs(this.obj.map('fault_knobs'), { sampleShift: 0, filter: k.filter });
  }

  setFilter(ids: Iterable<bigint>): void {
    writeFilter(this.obj.map('fault_filter'), ids);
  }

  /** Stops draining, frees the ring reader and closes the perf events (the links hold their
   * own duplicates until the caller closes the object). Safe to call twice. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.ring.close();
    for (const set of this.perf) set.close();
    this.perf = [];
  }
}
