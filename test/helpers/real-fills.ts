// Memory readings of real fills, each second from a cgroup (the kernel test's python filling
// towards 120 MiB on top of its own 5 MiB, under a 144 MiB limit), in MiB: replayed by the unit
// tests of the forecasters that read them.

/** A fill read to the byte: its settling points wander about 1% of the level. */
export const REAL_FILL_MIB: readonly number[] = [18.72, 31.47, 42.22, 52.22, 60.97, 68.47, 75.2, 81.45, 86.7, 91.2, 95.2, 98.95, 102.2, 105.2, 107.45, 109.7, 111.68,
    113.43, 114.93, 116.18, 117.43, 118.43, 119.18, 120.18, 120.93, 121.43, 121.93, 122.43, 122.93, 123.18, 123.68, 124.0, 124.2,
    124.5, 124.7, 124.9, 125.0, 125.2, 125.3, 125.4];

/**
 * Two runs read in whole pages (0.25 MiB steps), with a busy loop added: the last minute creeps
 * with a tie every few seconds, then sits flat.
 */
export const PAGED_FILLS_MIB: readonly (readonly number[])[] = [
    [28.74, 39.49, 49.74, 58.24, 65.99, 72.74, 78.74, 83.99, 88.74, 92.74, 96.24, 99.49, 102.24, 104.74, 106.99, 108.99,
      110.74, 112.24, 113.49, 114.74, 115.74, 116.74, 117.49, 118.24, 118.99, 119.49, 119.99, 120.24, 120.74, 120.99, 121.24,
      121.74, 121.74, 121.99, 122.24, 122.49, 122.49, 122.74, 122.74, 122.74, 122.99, 122.99, 122.99, 123.24, 123.24, 123.24,
      123.24, 123.24, 123.24, ...Array<number>(49).fill(123.49)],
    [29.48, 40.73, 50.23, 58.98, 66.73, 73.48, 79.48, 84.48, 89.23, 93.48, 96.98, 100.23, 102.98, 105.48, 107.73, 109.48,
      111.23, 112.73, 113.98, 115.23, 116.23, 117.23, 117.98, 118.73, 119.23, 119.98, 120.48, 120.73, 120.98, 121.48, 121.73,
      121.98, 122.23, 122.48, 122.48, 122.73, 122.98, 122.98, 123.23, 123.23, 123.23, 123.48, 123.48, 123.48, 123.48, 123.48,
      123.73, 123.73, 123.73, 123.72, 123.72, 123.72, 123.72, 123.72, 123.72, 123.72, 123.72, 123.72, 123.72,
      ...Array<number>(39).fill(123.97)],
];

/**
 * A CI run's fill (stop 44), its readings as the failed test's log kept them: 0-18, 25-28, 31-55
 * and 80-88 as read; the rest filled in (19-24 and 29-30 on the recorded runs' rises, 56-79 at
 * 123.80, 89 at 124.02). It reached 119 MiB one tick sooner than the runs above and crept to
 * 123.80 with a fall at 47: its settling fit never agreed.
 */
export const CI_FILL_MIB: readonly number[] = [16.48, 28.98, 40.23, 50.48, 59.23, 66.73, 73.73, 79.48, 84.98, 89.48, 93.73, 97.48,
    100.73, 103.48, 105.98, 108.23, 110.23, 111.96, 113.46, 114.71, 115.71, 116.71, 117.46, 118.21, 118.71, 119.07, 119.82, 120.32,
    120.57, 121.07, 121.32, 121.82, 122.07, 122.07, 122.32, 122.57, 122.82, 122.82, 123.07, 123.07, 123.32, 123.32, 123.32, 123.57,
    123.57, 123.57, 123.57, 123.55, 123.55, ...Array<number>(31).fill(123.8), 123.77, 123.77, ...Array<number>(8).fill(124.02)];

/**
 * The kernel test's fill as its python writes it (towards 120 MiB, tau `tau` s, on top of `base`
 * MiB of its own), read in whole pages `s` seconds in: what the readings above would be without
 * their jitter, for fills a little quicker or slower than the ones recorded.
 */
export function pagedFillMib(s: number, tau: number, base: number): number {
  return Math.floor((base + 120 * (1 - Math.exp(-s / tau))) * 4) / 4;
}
