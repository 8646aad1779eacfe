// All of headroom's kernel probes as one unit: the linked object (build/bpf/headroom.bpf.o) is
// opened once with every probe's load-time settings, loaded, attached; each probe's source then
// reads its own maps. Closing the set stops the sources, then detaches and frees the object.
import { BpfObject, RunTimeStats } from '../kernel/index.js';
import type { ProbeKnobs } from './knobs.js';
import type { ProbeCounters } from './overhead.js';
import { SchedSource, type SchedReading, type SchedSourceOptions } from './sched-source.js';

export interface ProbeSetOptions {
  objectPath: string;
  verifierLogPath: string;
  sched: SchedSourceOptions;
}

export interface ProbeReading {
  sched: SchedReading;
}

/** Which probe a program belongs to, by its name (hr_<probe>_...). */
export function probeOfProgram(name: string): string | null {
  const m = /^hr_([a-z]+)_/.exec(name);
  return m ? m[1] : null;
}

/** What the overhead governor may turn on each probe. */
interface Tunable {
  setKnobs(k: ProbeKnobs): void;
  setFilter(ids: Iterable<bigint>): void;
}

export class ProbeSet {
  private readonly obj: BpfObject;
  readonly sched: SchedSource;
  private stats: RunTimeStats | null = null;
  /** why run-time statistics are unavailable, when they are */
  readonly costUnavailable: string | null = null;

  private constructor(obj: BpfObject, sched: SchedSource) {
    this.obj = obj;
    this.sched = sched;
    try {
      this.stats = new RunTimeStats();
    } catch (err) {
      this.costUnavailable = (err as Error).message;
    }
  }

  /** The probes the governor can tune, by name. */
  get tunables(): Record<string, Tunable> {
    return { sched: this.sched };
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

  static open(opts: ProbeSetOptions): ProbeSet {
    const obj = BpfObject.open(opts.objectPath, {
      verifierLogPath: opts.verifierLogPath,
      rodata: { ...SchedSource.rodata(opts.sched) },
      maxEntries: { ...SchedSource.maxEntries(opts.sched) },
    });
    try {
      obj.load();
      obj.attachAll();
      return new ProbeSet(obj, new SchedSource(obj, opts.sched));
    } catch (err) {
      obj.close();
      throw err;
    }
  }

  get programs(): string[] {
    return this.obj.attachedPrograms;
  }

  read(): ProbeReading {
    return { sched: this.sched.read() };
  }

  /** Safe to call twice. */
  close(): void {
    try {
      this.sched.close();
    } finally {
      this.stats?.close();
      this.stats = null;
      this.obj.close();
    }
  }
}
