// CPU limits and weights of one cgroup, on cgroup v1 (cpu controller) and v2 alike.
//
// The pure functions (`limitWritesFor`, `weightWritesFor`, the shares/weight mapping) compute
// what to write; the `dir` functions read a real cgroup to fill in its version and period.
// Nothing here decides anything: callers pass the cores or weight they want.
import { closeSync, constants, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ActuateError } from './errors.js';

export type CgroupVersion = 'v1' | 'v2';

export const V1_QUOTA = 'cpu.cfs_quota_us';
export const V1_PERIOD = 'cpu.cfs_period_us';
export const V1_SHARES = 'cpu.shares';
export const V2_MAX = 'cpu.max';
export const V2_WEIGHT = 'cpu.weight';

/** The kernel refuses a CFS quota below 1 ms (EINVAL); smaller requests are raised to it. */
export const MIN_QUOTA_US = 1000;

/** cpu.shares bounds (v1) and cpu.weight bounds (v2), as the kernel enforces them. */
export const SHARES_MIN = 2;
export const SHARES_MAX = 262144;
export const SHARES_DEFAULT = 1024;
export const WEIGHT_MIN = 1;
export const WEIGHT_MAX = 10000;
export const WEIGHT_DEFAULT = 100;

export interface FileValue {
  file: string;
  value: string;
}

/** One write to make: `value` into `dir/file`. */
export interface CgroupWrite extends FileValue {
  dir: string;
}

export interface CpuLimit {
  version: CgroupVersion;
  /** cores allowed (quota / period); null = unlimited */
  cores: number | null;
  periodUs: number;
  /** the files as read, trimmed */
  raw: FileValue[];
}

export interface CpuWeight {
  version: CgroupVersion;
  /** in cgroup v2 units (1..10000, default 100), whatever the version */
  weight: number;
  raw: FileValue[];
}

/** Which cgroup interface a directory offers, from the cpu files present in it. */
export function cgroupVersion(dir: string): CgroupVersion {
  if (existsSync(join(dir, V1_QUOTA))) return 'v1';
  if (existsSync(join(dir, V2_MAX))) return 'v2';
  // A v2 root has no cpu.max, nor does a child whose parent did not enable the cpu controller.
  throw new ActuateError('detecting the cgroup version of', dir, undefined,
    `neither ${V1_QUOTA} (v1) nor ${V2_MAX} (v2) is present: no cpu controller here`);
}

/** The CPU limit files of a version: what a limit change writes and a restore puts back. */
export function limitFiles(version: CgroupVersion): string[] {
  return version === 'v1' ? [V1_QUOTA] : [V2_MAX];
}

export function readCgroupFile(dir: string, file: string): string {
  const path = join(dir, file);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new ActuateError('reading', path, err);
  }
}

/**
 * Writes one value with a single write(2). No O_CREAT: a missing file or a vanished cgroup must
 * fail (ENOENT), never create anything. O_TRUNC is harmless on cgroupfs and keeps a plain file
 * (a fixture) exact.
 */
export function writeCgroupFile(dir: string, file: string, value: string): void {
  const path = join(dir, file);
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_TRUNC);
  } catch (err) {
    throw new ActuateError(`opening for writing "${value}"`, path, err);
  }
  try {
    writeSync(fd, value);
  } catch (err) {
    throw new ActuateError(`writing "${value}" to`, path, err);
  } finally {
    closeSync(fd);
  }
}

function parseIntStrict(text: string, what: string): number {
  if (!/^-?\d+$/.test(text)) throw new Error(`${what}: expected an integer, read "${text}"`);
  return Number(text);
}

/** Parses v2 cpu.max: "max 100000" or "50000 100000" (period optional, as the kernel accepts). */
export function parseCpuMax(text: string): { quotaUs: number | null; periodUs: number } {
  const [quota, period] = text.trim().split(/\s+/);
  const periodUs = period === undefined ? 100000 : parseIntStrict(period, V2_MAX);
  if (quota === 'max') return { quotaUs: null, periodUs };
  return { quotaUs: parseIntStrict(quota ?? '', V2_MAX), periodUs };
}

export function readCpuLimit(dir: string): CpuLimit {
  const version = cgroupVersion(dir);
  if (version === 'v1') {
    const quota = readCgroupFile(dir, V1_QUOTA);
    const period = readCgroupFile(dir, V1_PERIOD);
    const quotaUs = parseIntStrict(quota, join(dir, V1_QUOTA));
    const periodUs = parseIntStrict(period, join(dir, V1_PERIOD));
    return {
      version,
      cores: quotaUs < 0 ? null : quotaUs / periodUs,
      periodUs,
      raw: [{ file: V1_QUOTA, value: quota }, { file: V1_PERIOD, value: period }],
    };
  }
  const max = readCgroupFile(dir, V2_MAX);
  const { quotaUs, periodUs } = parseCpuMax(max);
  return { version, cores: quotaUs === null ? null : quotaUs / periodUs, periodUs, raw: [{ file: V2_MAX, value: max }] };
}

/** Quota in microseconds for `cores` at `periodUs`; null = unlimited. */
export function quotaUsFor(cores: number | null, periodUs: number): number | null {
  if (cores === null) return null;
  if (!Number.isFinite(cores) || cores <= 0) throw new RangeError(`cpu cores must be > 0 or null (unlimited), got ${cores}`);
  return Math.max(MIN_QUOTA_US, Math.round(cores * periodUs));
}

/** The writes that set a CPU limit. The period is kept as it is: only the quota changes. */
export function limitWritesFor(version: CgroupVersion, periodUs: number, cores: number | null): FileValue[] {
  const quotaUs = quotaUsFor(cores, periodUs);
  if (version === 'v1') return [{ file: V1_QUOTA, value: quotaUs === null ? '-1' : String(quotaUs) }];
  return [{ file: V2_MAX, value: `${quotaUs === null ? 'max' : quotaUs} ${periodUs}` }];
}

export function cpuLimitWrites(dir: string, cores: number | null): CgroupWrite[] {
  const { version, periodUs } = readCpuLimit(dir);
  return limitWritesFor(version, periodUs, cores).map((w) => ({ dir, ...w }));
}

// Weights. v1 cpu.shares and v2 cpu.weight set the same scheduler weight; the kernel itself
// converts a cpu.weight w into the weight of cpu.shares w*1024/100 (rounded to nearest), so
// we use that proportional mapping: the defaults (1024 shares, weight 100) correspond, and a
// weight survives weight -> shares -> weight unchanged. Only the ends clamp: shares below 10
// read as weight 1, shares above 1024000 would exceed weight 10000 (v1's 262144 maps to 10000).
// (runc's linear map of 2..262144 onto 1..10000 sends 1024 shares to weight 39; we do not use it.)

function clampInt(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.round(x)));
}

export function weightToShares(weight: number): number {
  return clampInt((weight * SHARES_DEFAULT) / WEIGHT_DEFAULT, SHARES_MIN, SHARES_MAX);
}

export function sharesToWeight(shares: number): number {
  return clampInt((shares * WEIGHT_DEFAULT) / SHARES_DEFAULT, WEIGHT_MIN, WEIGHT_MAX);
}

/** The writes that set a weight, given in v2 units (1..10000) on either version. */
export function weightWritesFor(version: CgroupVersion, weight: number): FileValue[] {
  if (!Number.isFinite(weight) || weight < WEIGHT_MIN || weight > WEIGHT_MAX) {
    throw new RangeError(`cpu weight must be within ${WEIGHT_MIN}..${WEIGHT_MAX}, got ${weight}`);
  }
  if (version === 'v1') return [{ file: V1_SHARES, value: String(weightToShares(weight)) }];
  return [{ file: V2_WEIGHT, value: String(Math.round(weight)) }];
}

export function readCpuWeight(dir: string): CpuWeight {
  const version = cgroupVersion(dir);
  if (version === 'v1') {
    const shares = readCgroupFile(dir, V1_SHARES);
    return { version, weight: sharesToWeight(parseIntStrict(shares, join(dir, V1_SHARES))), raw: [{ file: V1_SHARES, value: shares }] };
  }
  const weight = readCgroupFile(dir, V2_WEIGHT);
  return { version, weight: parseIntStrict(weight, join(dir, V2_WEIGHT)), raw: [{ file: V2_WEIGHT, value: weight }] };
}

export function cpuWeightWrites(dir: string, weight: number): CgroupWrite[] {
  return weightWritesFor(cgroupVersion(dir), weight).map((w) => ({ dir, ...w }));
}
