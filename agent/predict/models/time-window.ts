// The samples of the last `spanMs`, oldest first: the memory of the window baselines (peak,
// mean + N sigma). A window in time, not in samples, so a faster tick does not shorten it.

/** Upper bound on samples held, whatever the tick: memory stays bounded. */
export const MAX_WINDOW_SAMPLES = 65_536;

export class TimeWindow {
  private times: number[] = [];
  private values: number[] = [];
  private head = 0;
  private newest = Number.NEGATIVE_INFINITY;

  constructor(readonly spanMs: number) {
    if (!(Number.isFinite(spanMs) && spanMs > 0)) throw new RangeError(`forecaster windowMs must be a finite number > 0; got ${String(spanMs)}`);
  }

  get size(): number {
    return this.values.length - this.head;
  }

  /**
   * Adds a sample (one from the past counts as taken at the newest time) and drops those that
   * fell out of the window, handing each to `evicted`. The newest sample always stays.
   */
  push(value: number, atMs: number, evicted?: (value: number) => void): void {
    this.newest = Math.max(this.newest, atMs);
    this.times.push(this.newest);
    this.values.push(value);
    const oldestKept = this.newest - this.spanMs;
    while (this.size > 1 && (this.times[this.head]! <= oldestKept || this.size > MAX_WINDOW_SAMPLES)) {
      evicted?.(this.values[this.head]!);
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.values.length) {
      // compact now and then rather than shift() on every sample
      this.times = this.times.slice(this.head);
      this.values = this.values.slice(this.head);
      this.head = 0;
    }
  }

  /** The i-th sample in the window, 0 = oldest. */
  get(i: number): number {
    return this.values[this.head + i]!;
  }

  get newestValue(): number {
    return this.values[this.values.length - 1]!;
  }
}
