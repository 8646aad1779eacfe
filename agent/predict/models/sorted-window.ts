// Numbers kept sorted as they come and go, so quantiles are read without sorting on every
// forecast. Insertion and removal shift a typed array: O(n), but a memmove, well under a
// microsecond for the few hundred values a window or a calibration keeps.
import { staggeredSize } from './growth.js';

/** Storage of a bag or window: double precision, or single where a value needs no more (half the memory). */
export type Precision = 'double' | 'single';
type Values = Float64Array | Float32Array;

function values(precision: Precision, n: number): Values {
  return precision === 'single' ? new Float32Array(n) : new Float64Array(n);
}

/**
 * What a bag or window holds before its first value: nothing allocated (ten thousand series set
 * up their windows on one tick; most get their first value only a horizon later, spreading the
 * allocation). Shared and never written: the first value allocates.
 */
const NOTHING: Record<Precision, Values> = { double: new Float64Array(0), single: new Float32Array(0) };

/** A sorted multiset of numbers. */
export class SortedBag {
  private values: Values;
  private n = 0;
  private readonly initial: number;

  /** Room for `initialCapacity` values from the first, doubling, never beyond `maxCapacity` when a window bounds it. */
  constructor(initialCapacity = 16, private readonly maxCapacity = Number.POSITIVE_INFINITY, private readonly precision: Precision = 'double') {
    this.values = NOTHING[precision];
    this.initial = Math.max(1, Math.min(initialCapacity, maxCapacity));
  }

  get size(): number {
    return this.n;
  }

  /** i-th smallest, 0-based. */
  at(i: number): number {
    return this.values[i]!;
  }

  insert(v: number): void {
    if (this.n === this.values.length) {
      const size = this.n === 0 ? this.initial : Math.max(this.n + 1, Math.min(this.maxCapacity, this.values.length * 2));
      const bigger = values(this.precision, size);
      bigger.set(this.values);
      this.values = bigger;
    }
    const i = this.bound(v, true);
    this.values.copyWithin(i + 1, i, this.n);
    this.values[i] = v;
    this.n++;
  }

  clear(): void {
    this.n = 0;
  }

  /** Removes one copy of v, if present. */
  remove(v: number): void {
    const i = this.bound(v, false);
    if (i >= this.n || this.values[i] !== v) return;
    this.values.copyWithin(i, i + 1, this.n);
    this.n--;
  }

  /**
   * Removes one copy of `old` and inserts `v`, as remove then insert would, but shifting only the
   * values between their places (a full window's push: one short memmove, not two long ones).
   * (In a bag that holds no NaN: one that does is not sorted, and neither way keeps it so.)
   */
  replace(old: number, v: number): void {
    const i = this.bound(old, false);
    const a = this.values;
    if (i >= this.n || a[i] !== old) {
      this.insert(v);
      return;
    }
    if (v >= old) {
      // the first value > v lies after i: the values between move down one
      const j = this.bound(v, true);
      a.copyWithin(i, i + 1, j);
      a[j - 1] = v;
    } else {
      // the first value > v lies at or before i: the values from it to i move up one
      const j = this.bound(v, true);
      a.copyWithin(j + 1, j, i);
      a[j] = v;
    }
  }

  /** Split-conformal quantile (see rankQuantile). */
  quantile(q: number): number {
    return rankQuantile(this.values, this.n, q);
  }

  /** Quantile linear between closest ranks (numpy's default); NaN when empty. */
  linearQuantile(q: number): number {
    const n = this.n;
    if (n === 0) return Number.NaN;
    const pos = q * (n - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(n - 1, lo + 1);
    return this.values[lo]! + (pos - lo) * (this.values[hi]! - this.values[lo]!);
  }

  /** The sorted values, copied: a snapshot later changes do not touch. */
  snapshot(): Float64Array {
    return Float64Array.from(this.values.subarray(0, this.n));
  }

  /** First index whose value is > v (upper) or >= v (lower). */
  private bound(v: number, upper: boolean): number {
    const a = this.values;
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = a[mid]!;
      if (m < v || (upper && m === v)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Room a window allocates at first (staggered: growth.ts); it doubles up to its capacity as values come. */
const INITIAL_WINDOW = 32;

/** The last `capacity` numbers pushed, sorted, with their mean ('single': each rounded to single precision as it comes). */
export class SortedWindow {
  private fifo: Values;
  private readonly bag: SortedBag;
  private head = 0;
  private count = 0;
  private sum = 0;
  private pushes = 0;
  private readonly initial: number;

  constructor(readonly capacity: number, private readonly precision: Precision = 'double') {
    if (!(Number.isInteger(capacity) && capacity > 0)) throw new RangeError(`window capacity must be an integer > 0; got ${capacity}`);
    this.initial = Math.min(capacity, staggeredSize(INITIAL_WINDOW));
    this.fifo = NOTHING[precision];
    this.bag = new SortedBag(this.initial, capacity, precision);
  }

  get size(): number {
    return this.count;
  }

  get mean(): number {
    return this.count > 0 ? this.sum / this.count : Number.NaN;
  }

  push(value: number): void {
    // what is kept: the bag, the fifo and the sum must agree to the bit (replace() finds it by value)
    const v = this.precision === 'single' ? Math.fround(value) : value;
    if (this.count === this.capacity) {
      const old = this.fifo[this.head]!;
      this.bag.replace(old, v);
      this.sum -= old;
      this.fifo[this.head] = v;
      this.head = (this.head + 1) % this.capacity;
    } else {
      // filling: the oldest value is at 0 (head moves only once full), so growing is a copy
      if (this.count === this.fifo.length) {
        const bigger = values(this.precision, this.count === 0 ? this.initial : Math.min(this.capacity, 2 * this.fifo.length));
        bigger.set(this.fifo);
        this.fifo = bigger;
      }
      this.fifo[(this.head + this.count) % this.capacity] = v;
      this.count++;
      this.bag.insert(v);
    }
    this.sum += v;
    // re-added from scratch now and then, so rounding in the running sum cannot build up
    if (++this.pushes % this.capacity === 0) {
      this.sum = 0;
      for (let i = 0; i < this.count; i++) this.sum += this.get(i);
    }
  }

  /** Forgets the `k` newest values (every value, when fewer are kept). */
  dropNewest(k: number): void {
    for (let n = Math.min(k, this.count); n > 0; n--) {
      const v = this.get(this.count - 1);
      this.bag.remove(v);
      this.sum -= v;
      this.count--;
    }
  }

  /** Forgets every value. */
  clear(): void {
    this.bag.clear();
    this.head = 0;
    this.count = 0;
    this.sum = 0;
  }

  /** The i-th value pushed among those kept, 0 = oldest. */
  get(i: number): number {
    return this.fifo[(this.head + i) % this.capacity]!;
  }

  quantile(q: number): number {
    return this.bag.quantile(q);
  }

  /** Quantile linear between closest ranks (numpy's default); NaN when empty. */
  linearQuantile(q: number): number {
    return this.bag.linearQuantile(q);
  }

  /** Largest value kept (NaN when empty). */
  get max(): number {
    return this.count > 0 ? this.bag.at(this.count - 1) : Number.NaN;
  }

  snapshot(): Float64Array {
    return this.bag.snapshot();
  }
}

/**
 * Quantile of n sorted values with the split-conformal rank: position q(n + 1) among them,
 * interpolated, so that a fresh value exchangeable with these falls above the q-quantile with
 * probability about 1 - q even for small n. Beyond the outermost ranks: the extreme value.
 */
export function rankQuantile(sorted: ArrayLike<number>, n: number, q: number): number {
  if (n === 0) return Number.NaN;
  const pos = q * (n + 1) - 1;
  if (pos <= 0) return sorted[0]!;
  if (pos >= n - 1) return sorted[n - 1]!;
  const lo = Math.floor(pos);
  return sorted[lo]! + (pos - lo) * (sorted[lo + 1]! - sorted[lo]!);
}

/** P(fresh value <= x) for n sorted values: the inverse of rankQuantile between the outer ranks. */
export function rankCdf(sorted: ArrayLike<number>, n: number, x: number): number {
  if (n === 0 || x < sorted[0]!) return 0;
  if (x >= sorted[n - 1]!) return 1;
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  const i = lo - 1; // last index with sorted[i] <= x; below n - 1 here
  const a = sorted[i]!;
  const b = sorted[i + 1]!;
  return (i + 1 + (b > a ? (x - a) / (b - a) : 0)) / (n + 1);
}
