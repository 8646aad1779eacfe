// All of headroom's kernel probes as one unit: the linked object (build/bpf/headroom.bpf.o) is
// opened once with every probe's load-time settings, loaded, attached; each probe's source then
// reads its own maps. Closing the set stops the sources, then detaches and frees the object.
import { BpfObject } from '../kernel/index.js';
import { SchedSource, type SchedReading, type SchedSourceOptions } from './sched-source.js';

export interface ProbeSetOptions {
  objectPath: string;
  verifierLogPath: string;
  sched: SchedSourceOptions;
}

export interface ProbeReading {
  sched: SchedReading;
}

export class ProbeSet {
  private readonly obj: BpfObject;
  readonly sched: SchedSource;

  private constructor(obj: BpfObject, sched: SchedSource) {
    this.obj = obj;
    this.sched = sched;
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
      this.obj.close();
    }
  }
}
