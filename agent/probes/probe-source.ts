// What every probe's source shares: its ring of events drained (on its own timer, or by the
// ProbeSet's), its drop counters and missed runs, its runtime knobs and filter, and opening an
// object that holds that probe alone. Map names follow the probe: <probe>_events, _drops,
// _knobs, _filter; program names hr_<probe>_...
import { BpfObject, RingReader, RunTimeStats, type BpfMap } from '../kernel/index.js';
import { writeFilter, writeKnobs, type ProbeKnobs } from './knobs.js';

export interface ProbeSourceOptions {
  /** how often the ring is drained (ms); 0: never by itself, its owner calls drain() */
  drainIntervalMs?: number;
  /** how many recent events of each kind to keep between readings */
  keepRecent?: number;
}

/** Load-time settings of one probe: read-only globals and map sizes (BpfObject.open's). */
export interface ProbeSettings {
  rodata: Record<string, Uint8Array>;
  maxEntries: Record<string, number>;
}

const DROP_RING_FULL = 0, DROP_STATS_FULL = 1; // enum hr_drop_reason

/** The per-CPU "<probe>_drops" array, summed: events lost to a full ring or stats map. */
export function readDrops(map: BpfMap): { ringFull: number; statsFull: number } {
  const read = (reason: number): number => {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(reason);
    const v = map.lookup(key);
    return v ? map.perCpuValues(v).reduce((n, b) => n + Number(b.readBigUInt64LE(0)), 0) : 0;
  };
  return { ringFull: read(DROP_RING_FULL), statsFull: read(DROP_STATS_FULL) };
}

/** Which probe a program belongs to, by its name (hr_<probe>_...). */
export function probeOfProgram(name: string): string | null {
  const m = /^hr_([a-z]+)_/.exec(name);
  return m ? m[1] : null;
}

/** Ring records read, and what the kernel side lost: a full ring or stats map, or runs it skipped. */
export interface ProbeLosses {
  eventsRead: number;
  ringDrops: number;
  statsDrops: number;
  /** program runs the kernel skipped (already running on that CPU): their events may be missing */
  missedRuns: number;
}

/** Keeps the newest `keep` entries of a list, in place. */
export function keepNewest<T>(list: T[], keep: number): void {
  if (list.length > keep) list.splice(0, list.length - keep);
}

export abstract class ProbeSource {
  protected readonly obj: BpfObject;
  protected readonly keep: number;
  private readonly probe: string;
  private readonly ring: RingReader;
  /** the probe's loaded programs (their fds stay valid until the object closes) */
  private readonly programFds: number[];
  private timer: NodeJS.Timeout | null = null;
  private eventsRead = 0;
  /** the last count of skipped runs read (kept when a read fails) */
  private missedRuns = 0;

  /** Reads an object its caller has loaded (with the probe's settings) and attached. */
  protected constructor(obj: BpfObject, probe: string, opts: ProbeSourceOptions) {
    this.obj = obj;
    this.probe = probe;
    this.keep = opts.keepRecent ?? 1000;
    this.ring = new RingReader(obj.map(`${probe}_events`));
    this.programFds = obj.programFds.filter((p) => probeOfProgram(p.name) === probe).map((p) => p.fd);
    if (opts.drainIntervalMs !== 0) {
      this.timer = setInterval(() => this.drain(), opts.drainIntervalMs ?? 25);
      this.timer.unref();
    }
  }

  /** Takes one ring record (a DataView over the ring, its offset and length). */
  protected abstract onRecord(d: DataView, off: number, len: number): void;

  /** Bounds what onRecord kept (keepNewest); older events are counted only. */
  protected abstract trim(): void;

  /** The share of the ring written and not yet read (0..1). */
  ringFill(): number {
    return this.ring.pending() / this.ring.size;
  }

  drain(): void {
    this.eventsRead += this.ring.drain((d, offsets, lengths, n) => {
      for (let i = 0; i < n; i++) this.onRecord(d, offsets[i], lengths[i]);
    });
    this.trim();
  }

  /** Ring records read since the start, and what the kernel side lost (one syscall a program). */
  protected health(): ProbeLosses {
    const drops = readDrops(this.obj.map(`${this.probe}_drops`));
    try {
      this.missedRuns = this.programFds.reduce((n, fd) => n + RunTimeStats.read(fd).missedRuns, 0);
    } catch {
      // a figure of health: the last one stands rather than the reading failing
    }
    return { eventsRead: this.eventsRead, ringDrops: drops.ringFull, statsDrops: drops.statsFull, missedRuns: this.missedRuns };
  }

  /** Overhead control: sample the probe's hottest event, or keep only the filtered workloads. */
  setKnobs(k: ProbeKnobs): void {
    writeKnobs(this.obj.map(`${this.probe}_knobs`), k);
  }

  setFilter(keys: Iterable<bigint>): void {
    writeFilter(this.obj.map(`${this.probe}_filter`), keys);
  }

  /** Stops draining and frees the ring reader; the object is its caller's to close. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.ring.close();
  }
}

/** Opens, loads and attaches an object holding one probe alone (tests, benches). */
export function openProbe<S>(
  objectPath: string, verifierLogPath: string, settings: ProbeSettings, make: (obj: BpfObject) => S,
): { obj: BpfObject; source: S } {
  const obj = BpfObject.open(objectPath, { verifierLogPath, ...settings });
  try {
    obj.load();
    obj.attachAll();
    return { obj, source: make(obj) };
  } catch (err) {
    obj.close();
    throw err;
  }
}
