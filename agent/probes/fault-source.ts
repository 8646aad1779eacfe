// The fault probe as a running source over a loaded, attached object: opens the per-CPU
// page-fault perf events and attaches the two perf_event programs to them (attachAll skips
// those), drains the OOM-kill ring on a timer, and reads the stats map once per tick.
import {
  PerfEventSet, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ, PERF_COUNT_SW_PAGE_FAULTS_MIN, type BpfObject,
} from '../kernel/index.js';
import { decodeOomKill, encodeFaultConfig, readFaultStats, type FaultStats, type OomKill } from './fault.js';
import { writeKnobs, type ProbeKnobs } from './knobs.js';
import { keepNewest, openProbe, ProbeSource, type ProbeSettings, type ProbeSourceOptions, type ProbeLosses } from './probe-source.js';
import type { CgroupKey } from '../workloads/types.js';

export interface FaultSourceOptions extends ProbeSourceOptions {
  /** hybrid hosts: also read each task's v1 cpu cgroup (and an OOM victim's v1 memory cgroup) */
  readV1Cpu: boolean;
  /** size of the OOM-kill ring (bytes, a power of two pages); default: the object's 64 KiB */
  ringBytes?: number;
  /** CPUs to open the fault events on; default: the online ones */
  cpus?: number[];
}

export interface FaultReading extends ProbeLosses {
  stats: Map<string, { key: CgroupKey; stats: FaultStats }>;
  /** when the stats were read (CLOCK_MONOTONIC, ns): rates are over the time between two readings */
  atNs: bigint;
  /** OOM kills drained since the previous reading */
  oomKills: OomKill[];
}

/** Which perf_event program runs on which page-fault event (kernel's mm_account_fault). */
const FAULT_EVENTS = [
  { program: 'hr_fault_minor', config: PERF_COUNT_SW_PAGE_FAULTS_MIN },
  { program: 'hr_fault_major', config: PERF_COUNT_SW_PAGE_FAULTS_MAJ },
] as const;

export class FaultSource extends ProbeSource {
  private perf: PerfEventSet[] = [];
  private pending: OomKill[] = [];

  /** Load-time settings: the v1 flag and the OOM ring's size. */
  static settings(opts: FaultSourceOptions): ProbeSettings {
    return {
      rodata: { fault_cfg: encodeFaultConfig({ readV1Cpu: opts.readV1Cpu }) },
      maxEntries: opts.ringBytes ? { fault_events: opts.ringBytes } : {},
    };
  }

  /** Also opens the page-fault perf events and attaches the perf_event programs to them. */
  constructor(obj: BpfObject, opts: FaultSourceOptions) {
    super(obj, 'fault', opts);
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
  }

  /** Opens, loads and attaches an object holding only this probe (tests, benches). */
  static open(objectPath: string, verifierLogPath: string, opts: FaultSourceOptions): { obj: BpfObject; source: FaultSource } {
    return openProbe(objectPath, verifierLogPath, FaultSource.settings(opts), (obj) => new FaultSource(obj, opts));
  }

  protected onRecord(d: DataView, off: number, len: number): void {
    const ev = decodeOomKill(d, off, len);
    if (ev) this.pending.push(ev);
  }

  protected trim(): void {
    keepNewest(this.pending, this.keep);
  }

  /** `reuse`: a reading its caller holds no longer: its entries are overwritten (readFaultStats). */
  read(reuse?: FaultReading): FaultReading {
    this.drain();
    const oomKills = this.pending;
    this.pending = [];
    const stats = readFaultStats(this.obj.map('fault_stats'), reuse?.stats);
    return { stats, atNs: process.hrtime.bigint(), oomKills, ...this.health() };
  }

  /**
   * Overhead control. Sampling happens in perf, where the cost is: the minor-fault events get a
   * sample period of 2^sampleShift, so perf's overflow path and the program run once per period
   * (the program counts the period). The filter is the program's. OOM kills are always reported.
   */
  override setKnobs(k: ProbeKnobs): void {
    this.perf[0]?.setPeriod(2 ** k.sampleShift);
    writeKnobs(this.obj.map('fault_knobs'), { sampleShift: 0, filter: k.filter });
  }

  /** Also closes the perf events (the links hold their own duplicates until the caller closes
   * the object). Safe to call twice. */
  override close(): void {
    super.close();
    for (const set of this.perf) set.close();
    this.perf = [];
  }
}
