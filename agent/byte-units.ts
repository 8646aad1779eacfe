// Binary byte units, as policies and options write them (256MiB) and as every table prints them.

/** Smallest first: the policy's sizes (up to GiB), `--limit`'s levels, and how bytes are shown. */
export const BYTE_UNITS: Readonly<Record<'B' | 'KiB' | 'MiB' | 'GiB' | 'TiB', number>> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };

/** Bytes in the largest binary unit under their size: 512B, 1.50KiB, 256.0MiB. */
export function humanBytes(n: number): string {
  const units = Object.keys(BYTE_UNITS);
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)}B` : `${v.toFixed(v < 10 ? 2 : 1)}${units[u]}`;
}

/** Whether a series' resource is counted in bytes (memory_bytes; not io_read_bytes_per_s, a rate): its levels are shown by humanBytes. */
export function isByteResource(resource: string): boolean {
  return resource.endsWith('bytes');
}
