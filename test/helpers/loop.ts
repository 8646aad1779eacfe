// Block I/O test parts: a loop device over a file of our own, fio on it and its report, and
// libbpf-tools biolatency's histogram; used by test/kernel/blockio.test.ts and the bench.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { makeDev } from '../../agent/probes/blockio.js';


export interface LoopDevice {
  /** /dev/loopN */
  path: string;
  /** loopN, as /proc/partitions and biolatency -d name it */
  name: string;
  /** the kernel's dev_t (major << 20 | minor), as the probe reports it */
  dev: number;
  majorMinor: string;
  /** the loop driver reads and writes the backing file with direct I/O */
  directIo: boolean;
  /** detaches the device and removes the backing file; safe to call twice */
  remove(): void;
}

/**
 * Creates a file of `sizeMiB` in `dir` (default: the temp dir, on the root disk here) and
 * attaches a loop device to it. The file is written, not sparse: reads of holes would never
 * reach the disk below. `directIo`: the loop driver bypasses the page cache of the backing file
 * (the kernel falls back to buffered I/O where the file system cannot do direct I/O).
 */
export function createLoopDevice(sizeMiB: number, opts: { dir?: string; directIo?: boolean } = {}): LoopDevice {
  const dir = mkdtempSync(join(opts.dir ?? tmpdir(), 'headroom-blockio-'));
  const file = join(dir, 'backing.img');
  let path: string | null = null;
  const remove = (): void => {
    try {
      if (path) execFileSync('losetup', ['-d', path], { stdio: 'ignore' });
    } catch { /* already detached */ } finally {
      path = null;
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    const oflag = opts.dir === '/dev/shm' ? [] : ['oflag=direct']; // tmpfs has no O_DIRECT
    execFileSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${sizeMiB}`, ...oflag, 'status=none']);
    path = execFileSync('losetup', ['-f', '--show', `--direct-io=${opts.directIo === false ? 'off' : 'on'}`, file], { encoding: 'utf8' }).trim();
    const name = basename(path);
    const [major, minor] = readFileSync(`/sys/block/${name}/dev`, 'utf8').trim().split(':').map(Number);
    const dio = readFileSync(`/sys/block/${name}/loop/dio`, 'utf8').trim() === '1';
    return { path, name, dev: makeDev(major, minor), majorMinor: `${major}:${minor}`, directIo: dio, remove };
  } catch (err) {
    remove();
    throw err;
  }
}

/** Reads and merges of a block device from /sys/block/NAME/stat (the kernel's own accounting). */
export function diskStat(name: string): { readIos: number; readMerges: number; writeIos: number; writeMerges: number } {
  const f = readFileSync(`/sys/block/${name}/stat`, 'utf8').trim().split(/\s+/).map(Number);
  return { readIos: f[0], readMerges: f[1], writeIos: f[4], writeMerges: f[5] };
}

export interface FioResult {
  readBytes: number;
  writeBytes: number;
  readIos: number;
  writeIos: number;
  /** read + write IOPS over the job's run time */
  iops: number;
  /** read completion latency percentiles as fio measured them (us), e.g. "50.000000" */
  readClatPercentilesUs: Record<string, number>;
}

export interface FioJob {
  filename: string;
  seconds: number;
  rw?: string;
  /** percentage of reads in a mixed workload */
  rwmixread?: number;
  bs?: string;
  ioengine?: string;
  iodepth?: number;
  numjobs?: number;
  /** bytes of the device to spread the I/O over, e.g. "96M" */
  size?: string;
}

/** fio's command line for a direct-I/O job, JSON output, group reporting. */
export function fioArgs(j: FioJob): string[] {
  return [
    '--name=headroom-blockio', `--filename=${j.filename}`, '--direct=1', `--ioengine=${j.ioengine ?? 'psync'}`,
    `--rw=${j.rw ?? 'randrw'}`, ...(/rw$/.test(j.rw ?? 'randrw') ? [`--rwmixread=${j.rwmixread ?? 60}`] : []), `--bs=${j.bs ?? '4k'}`,
    `--iodepth=${j.iodepth ?? 1}`, `--numjobs=${j.numjobs ?? 1}`, `--size=${j.size ?? '96M'}`,
    `--runtime=${j.seconds}`, '--time_based', '--group_reporting', '--randrepeat=0', '--output-format=json',
  ];
}

/** Parses fio's JSON report (anything fio printed before it is skipped). */
export function parseFio(stdout: string): FioResult {
  const at = stdout.indexOf('{');
  if (at < 0) throw new Error(`fio printed no JSON report: ${stdout.slice(0, 400)}`);
  const doc = JSON.parse(stdout.slice(at)) as {
    jobs: { read: FioDir; write: FioDir; job_runtime: number }[];
  };
  const job = doc.jobs[0];
  const pct = job.read.clat_ns?.percentile ?? {};
  return {
    readBytes: job.read.io_bytes,
    writeBytes: job.write.io_bytes,
    readIos: job.read.total_ios,
    writeIos: job.write.total_ios,
    iops: job.read.iops + job.write.iops,
    readClatPercentilesUs: Object.fromEntries(Object.entries(pct).map(([k, v]) => [k, v / 1000])),
  };
}

interface FioDir {
  io_bytes: number;
  total_ios: number;
  iops: number;
  clat_ns?: { percentile?: Record<string, number> };
}

/** The peer tool, where Debian's libbpf-tools put it. */
export function biolatencyPath(): string | null {
  for (const p of ['/usr/sbin/biolatency', '/usr/bin/biolatency', '/usr/share/bcc/tools/biolatency']) if (existsSync(p)) return p;
  return null;
}

/** biolatency's histogram as log2 slots: its row "lo -> hi : count" goes to slot log2(lo). */
export function parseBiolatency(text: string, slots = 32): number[] {
  const out = new Array(slots).fill(0);
  for (const m of text.matchAll(/^\s*(\d+)\s*->\s*(\d+)\s*:\s*(\d+)/gm)) {
    const lo = Number(m[1]);
    out[Math.min(slots - 1, lo === 0 ? 0 : Math.round(Math.log2(lo)))] += Number(m[3]);
  }
  return out;
}
