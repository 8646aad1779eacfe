// What each BPF program costs: the kernel's run-time statistics (struct bpf_prog_info's
// run_time_ns and run_cnt), counted only while someone holds a BPF_ENABLE_STATS fd; and the
// runs the kernel skipped (recursion_misses, always counted).
import { BpfError } from './errors.js';
import { lib } from './libbpf.js';

const BPF_STATS_RUN_TIME = 0;
// struct bpf_prog_info (linux/bpf.h): its size and where run_time_ns, run_cnt and
// recursion_misses sit (test/unit/prog-stats.test.ts checks them against the header).
export const PROG_INFO_SIZE = 232;
export const RUN_TIME_NS_OFFSET = 192;
export const RUN_CNT_OFFSET = 200;
export const RECURSION_MISSES_OFFSET = 208;

export interface ProgramRunStats {
  runTimeNs: number;
  runCount: number;
  /**
   * Runs the kernel skipped because the program was already running on that CPU (an interrupt
   * or softirq hit the tracepoint during a run): their events may be missing from the counts.
   * (perf_event programs skipped beside another program are not counted here.)
   */
  missedRuns: number;
}

/**
 * Turns the kernel's per-program run-time accounting on until close(). It costs two clock
 * reads per program run, host-wide; the kernel counts holders, so another tool's fd is fine.
 */
export class RunTimeStats {
  private fd: number;

  constructor() {
    const fd = lib().enable_stats(BPF_STATS_RUN_TIME);
    if (fd < 0) throw new BpfError('enabling BPF run-time statistics', -fd);
    this.fd = fd;
  }

  /** run_time_ns, run_cnt and recursion_misses of one loaded program, since it was loaded. */
  static read(progFd: number): ProgramRunStats {
    const info = Buffer.alloc(PROG_INFO_SIZE);
    const len = [PROG_INFO_SIZE];
    const ret = lib().obj_get_info_by_fd(progFd, info, len);
    if (ret < 0) throw new BpfError(`reading BPF program info (fd ${progFd})`, -ret);
    return {
      runTimeNs: Number(info.readBigUInt64LE(RUN_TIME_NS_OFFSET)),
      runCount: Number(info.readBigUInt64LE(RUN_CNT_OFFSET)),
      missedRuns: Number(info.readBigUInt64LE(RECURSION_MISSES_OFFSET)),
    };
  }

  close(): void {
    if (this.fd >= 0) lib().close_fd(this.fd);
    this.fd = -1;
  }
}
