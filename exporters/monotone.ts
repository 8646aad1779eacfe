// Exported counters that never go back. A workload's cumulative figures are sums of the kernel's
// per-cgroup entries that resolve to it; when an entry moves to another workload (the index has
// learnt a new cgroup) or leaves the map, that sum drops. Prometheus reads any drop as a counter
// reset, and rate() then jumps by the whole total. A drop is carried instead: the series keeps
// its value and grows with the sum from there.

interface Counter {
  /** the last sum handed in, and the drops carried so far */
  raw: number;
  carried: number;
  /** the sweep round it was last asked in */
  round: number;
}

interface Buckets {
  raw: Float64Array;
  carried: Float64Array;
  round: number;
}

export class MonotoneCounters {
  private readonly counters = new Map<string, Counter>();
  /** a histogram's buckets, each carried as a series of its own (so `+Inf` and `_count` stay equal) */
  private readonly buckets = new Map<string, Buckets>();
  private round = 0;

  /** The series' value for this sum: the sum plus every drop it has had. */
  value(key: string, raw: number): number {
    const c = this.counters.get(key);
    if (!c) {
      this.counters.set(key, { raw, carried: 0, round: this.round });
      return raw;
    }
    c.round = this.round;
    if (raw < c.raw) c.carried += c.raw - raw;
    c.raw = raw;
    return raw + c.carried;
  }

  /** A histogram's per-bucket counts, each bucket carried as value() carries a sum. */
  counts(key: string, raw: readonly number[]): number[] {
    let b = this.buckets.get(key);
    if (!b) {
      this.buckets.set(key, { raw: Float64Array.from(raw), carried: new Float64Array(raw.length), round: this.round });
      return [...raw];
    }
    if (b.raw.length !== raw.length) {
      // (another number of slots: the buckets both have keep what they carried)
      const resized = { raw: new Float64Array(raw.length), carried: new Float64Array(raw.length), round: this.round };
      resized.raw.set(b.raw.subarray(0, raw.length));
      resized.carried.set(b.carried.subarray(0, raw.length));
      this.buckets.set(key, (b = resized));
    }
    b.round = this.round;
    const out = new Array<number>(raw.length);
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] < b.raw[i]) b.carried[i] += b.raw[i] - raw[i];
      b.raw[i] = raw[i];
      out[i] = raw[i] + b.carried[i];
    }
    return out;
  }

  /** Forgets the series not asked for since the last sweep (their workloads have gone). */
  sweep(): void {
    for (const [key, c] of this.counters) if (c.round !== this.round) this.counters.delete(key);
    for (const [key, b] of this.buckets) if (b.round !== this.round) this.buckets.delete(key);
    this.round++;
  }
}
