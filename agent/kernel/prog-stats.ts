// What each BPF program costs: the kernel's run-time statistics (struct bpf_prog_info's
// run_time_ns and run_cnt), counted only while someone holds a BPF_ENABLE_STATS fd.
import { BpfError } from './errors.js';
import { lib } from './libbpf.js';

const BPF_STATS_RUN_TIME = 0;
// struct bpf_prog_info (linux/bpf.h): its size and where run_time_ns and run_cnt sit.
const PROG_INFO_SIZE = 232;
const RUN_TIME_NS_OFFSET = 192;
const RUN_CNT_OFFSET = 200;

export interface ProgramRunStats {
  runTimeNs: number;
  runCount: number;
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

  /** run_time_ns and run_cnt of one loaded program, since it was loaded. */
  static read(progFd: number): ProgramRunStats {
    const info = Buffer.alloc(PROG_INFO_SIZE);
    const len = [PROG_INFO_SIZE];
    const ret = lib().obj_get_info_by_fd(progFd, info, len);
    if (ret < 0) throw new BpfError(`reading BPF program info (fd ${progFd})`, -ret);
    return { runTimeNs: Number(info.readBigUInt64LE(RUN_TIME_NS_OFFSET)), runCount: Number(info.readBigUInt64LE(RUN_CNT_OFFSET)) };
  }

  close(): void {
    if (this.fd >= 0) lib().close_fd(this.fd);
    this.fd = -1;
  }
}
