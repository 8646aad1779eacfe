// perf_event_open(2) for the software events BPF programs hang off (page faults): one event per
// online CPU, counting every task there. libc has no wrapper, so it is called through syscall().
import koffi from 'koffi';
import { readFileSync } from 'node:fs';
import { BpfError } from './errors.js';

export const PERF_TYPE_SOFTWARE = 1;
/** enum perf_sw_ids (linux/perf_event.h) */
export const PERF_COUNT_SW_PAGE_FAULTS = 2;
export const PERF_COUNT_SW_PAGE_FAULTS_MIN = 5;
export const PERF_COUNT_SW_PAGE_FAULTS_MAJ = 6;

/** sizeof(struct perf_event_attr) at PERF_ATTR_SIZE_VER8 (config3, Linux 6.3); older kernels
 * take it as long as the fields they do not know are zero. */
export const PERF_ATTR_SIZE = 136;
const PERF_FLAG_FD_CLOEXEC = 8;
const PERF_EVENT_IOC_PERIOD = 0x40082404; // _IOW('$', 4, __u64)
const SYS_PERF_EVENT_OPEN: Partial<Record<NodeJS.Architecture, number>> = { x64: 298, arm64: 241 };

export interface PerfEventSpec {
  type: number;
  config: number;
  /** overflow (and so run the attached program) every n events; 1 = every event */
  samplePeriod: number;
}

/**
 * struct perf_event_attr as the kernel reads it (x86-64 and arm64 alike): type u32 @0, size u32
 * @4, config u64 @8, sample_period u64 @16, sample_type u64 @24, read_format u64 @32, the flag
 * bitfield u64 @40 (bit 0 disabled, 5 exclude_kernel, 10 freq), wakeup_events u32 @48, bp_type
 * u32 @52, config1 @56, config2 @64, branch_sample_type @72, sample_regs_user @80,
 * sample_stack_user u32 @88, clockid @92, sample_regs_intr @96, aux_watermark u32 @104,
 * sample_max_stack u16 @108, aux_sample_size u32 @112, sig_data @120, config3 @128.
 * Enabled from the start, kernel and user faults alike, no sample records (the program is the
 * only consumer), a fixed period (not a frequency).
 */
export function encodePerfEventAttr(spec: PerfEventSpec): Buffer {
  const b = Buffer.alloc(PERF_ATTR_SIZE);
  b.writeUInt32LE(spec.type, 0);
  b.writeUInt32LE(PERF_ATTR_SIZE, 4);
  b.writeBigUInt64LE(BigInt(spec.config), 8);
  b.writeBigUInt64LE(BigInt(spec.samplePeriod), 16);
  return b;
}

/** Online CPUs from a list like "0-3,6,8-9" (/sys/devices/system/cpu/online). */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',').filter(Boolean)) {
    const [lo, hi] = part.split('-').map(Number);
    for (let c = lo; c <= (hi ?? lo); c++) out.push(c);
  }
  return out;
}

export function onlineCpus(): number[] {
  return parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'));
}

function bind() {
  const libc = koffi.load('libc.so.6');
  return {
    syscall: libc.func('long syscall(long number, ...)'),
    close: libc.func('int close(int fd)'),
    ioctl: libc.func('int ioctl(int fd, unsigned long request, _Inout_ uint64_t *arg)'),
  };
}
let bound: ReturnType<typeof bind> | null = null;
const libc = (): ReturnType<typeof bind> => (bound ??= bind());

/**
 * One perf event per CPU, counting every task on it (pid -1). The fds are this object's to
 * close; a BPF program attached to one (BpfObject.attachPerfEvent) holds its own duplicate.
 * CPUs brought online later are not covered.
 */
export class PerfEventSet {
  readonly spec: PerfEventSpec;
  readonly cpus: number[];
  private fdList: number[];

  private constructor(spec: PerfEventSpec, cpus: number[], fds: number[]) {
    this.spec = spec;
    this.cpus = cpus;
    this.fdList = fds;
  }

  static open(spec: PerfEventSpec, cpus: number[] = onlineCpus()): PerfEventSet {
    const nr = SYS_PERF_EVENT_OPEN[process.arch];
    if (nr === undefined) throw new Error(`perf_event_open: no syscall number known for ${process.arch}`);
    const attr = encodePerfEventAttr(spec);
    const fds: number[] = [];
    for (const cpu of cpus) {
      const fd = Number(libc().syscall(nr, 'void *', attr, 'int', -1, 'int', cpu, 'int', -1, 'unsigned long', PERF_FLAG_FD_CLOEXEC));
      if (fd < 0) {
        const e = koffi.errno();
        for (const open of fds) libc().close(open);
        throw new BpfError(`opening perf event type ${spec.type} config ${spec.config} on CPU ${cpu}`, e);
      }
      fds.push(fd);
    }
    return new PerfEventSet(spec, cpus, fds);
  }

  /** Sets how many events make one sample (one overflow: one program run) on every CPU. */
  setPeriod(period: number): void {
    if (!Number.isInteger(period) || period < 1) throw new RangeError(`perf sample period must be a whole number >= 1 (got ${period})`);
    for (const fd of this.fdList) {
      const ret = libc().ioctl(fd, PERF_EVENT_IOC_PERIOD, [period]);
      if (ret < 0) throw new BpfError(`setting the sample period of perf event type ${this.spec.type} config ${this.spec.config}`, koffi.errno());
    }
  }

  get fds(): readonly number[] {
    return this.fdList;
  }

  /** Closes every fd; safe to call twice. */
  close(): void {
    for (const fd of this.fdList) libc().close(fd);
    this.fdList = [];
  }
}
