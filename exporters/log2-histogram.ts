// The kernel's log2 run-queue histogram as an OpenTelemetry explicit-bucket histogram, bucket
// for bucket: nothing is re-binned or re-sampled on the way to Prometheus.
import type { Histogram } from '@opentelemetry/sdk-metrics';

/**
 * Upper bounds, in seconds, of every slot but the last (which is unbounded): slot i holds waits
 * in [2^i, 2^(i+1)) microseconds, so its bound is 2^(i+1) us. Dividing the exact power of two by
 * 1e6 (rather than multiplying by 1e-6) gives the double nearest to the decimal value, so the
 * rendered `le` reads cleanly ("0.000002", not "0.0000020000000000000003").
 */
export function log2BoundariesSeconds(slots: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < slots - 1; i++) out.push(2 ** (i + 1) / 1e6);
  return out;
}

/** The bounds for each number of slots, made once: every point of a scrape shares them (nothing changes them). */
const boundsBySlots = new Map<number, number[]>();

/**
 * One histogram point from the kernel's slots (counts per slot, cumulative over time, not
 * across slots; the point keeps the array) and the total waited in seconds. `count` is the sum
 * of the slots, not the kernel's separate counter: Prometheus requires `_count` to equal the
 * `+Inf` bucket, and a per-CPU map read can catch the two kernel counters a moment apart.
 */
export function log2Histogram(slots: number[], sumSeconds: number): Histogram {
  let boundaries = boundsBySlots.get(slots.length);
  if (!boundaries) boundsBySlots.set(slots.length, (boundaries = log2BoundariesSeconds(slots.length)));
  return {
    buckets: { boundaries, counts: slots },
    count: slots.reduce((a, b) => a + b, 0),
    sum: sumSeconds,
  };
}
