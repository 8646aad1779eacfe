// Exported counters that never go back. A workload's cumulative figures are sums of the kernel's
// per-cgroup entries that resolve to it; when an entry moves to another workload (the index has
// learnt a new cgroup) or leaves the map, that sum drops. Prometheus reads any drop as a counter
// reset, and rate() then jumps by the whole total. A drop is carried instead: the series keeps
// its value and grows with the sum from there.

export class MonotoneCounters {
  /** per series: the last sum handed in, and the drops carried so far */
  private readonly series = new Map<string, { raw: number; carried: number }>();
  private asked = new Set<string>();

  /** The series' value for this sum: the sum plus every drop it has had. */
  value(key: string, raw: number): number {
    this.asked.add(key);
    const s = this.series.get(key);
    if (!s) {
      this.series.set(key, { raw, carried: 0 });
      return raw;
    }
    if (raw < s.raw) s.carried += s.raw - raw;
    s.raw = raw;
    return raw + s.carried;
  }

  /** A histogram's per-bucket counts, each bucket a series of its own (so `+Inf` and `_count` stay equal). */
  counts(key: string, raw: readonly number[]): number[] {
    return raw.map((n, i) => this.value(`${key}#${i}`, n));
  }

  /** Forgets the series not asked for since the last sweep (their workloads have gone). */
  sweep(): void {
    for (const key of this.series.keys()) if (!this.asked.has(key)) this.series.delete(key);
    this.asked = new Set();
  }
}
