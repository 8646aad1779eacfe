// The last `capacity` slots of a series (see StepClock), NaN where no sample landed: what the
// season detector and the smoothing fit read, gaps and all. Kept in single precision (seven
// significant digits: a level's forecast needs fewer), half the memory of a series' history.
// The ring grows as slots come, up to its capacity: a young series holds only what it has seen
// (ten thousand series starting on one tick do not allocate their whole history at once).

import { staggeredSize } from './growth.js';

/** Slots allocated at first (staggered: growth.ts); the ring doubles from there. */
const INITIAL_SLOTS = 64;

export class SlotHistory {
  private ring: Float32Array;
  /** newest slot stored; -1 before the first */
  last = -1;
  private first = -1;

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 8)) throw new RangeError(`history must hold at least 8 steps; got ${capacity}`);
    this.ring = new Float32Array(Math.min(capacity, staggeredSize(INITIAL_SLOTS))).fill(Number.NaN);
  }

  /** Stores the value of `slot` (slots only grow); slots skipped since the last are holes. */
  set(slot: number, value: number): void {
    if (this.first < 0) this.first = slot;
    const span = Math.min(this.capacity, slot - this.first + 1);
    if (span > this.ring.length) this.grow(span);
    const size = this.ring.length;
    for (let s = Math.max(this.last + 1, slot - size + 1); s < slot; s++) this.ring[s % size] = Number.NaN;
    this.ring[slot % size] = value;
    this.last = slot;
  }

  /** A ring at least `span` long (doubling, up to the capacity), the slots held moved to their new places. */
  private grow(span: number): void {
    const size = Math.min(this.capacity, Math.max(span, 2 * this.ring.length));
    const ring = new Float32Array(size).fill(Number.NaN);
    for (let s = this.firstSlot; s <= this.last; s++) ring[s % size] = this.ring[s % this.ring.length]!;
    this.ring = ring;
  }

  /** Slots held, oldest to newest (holes included). */
  get length(): number {
    return this.last < 0 ? 0 : Math.min(this.capacity, this.last - this.first + 1);
  }

  /** Slot of the oldest value held. */
  get firstSlot(): number {
    return this.last - this.length + 1;
  }

  /** Value at `slot`, NaN when not observed or no longer held. */
  get(slot: number): number {
    if (slot > this.last || slot < this.firstSlot) return Number.NaN;
    return this.ring[slot % this.ring.length]!;
  }

  /** Every slot held, oldest first (a copy). */
  values(): Float64Array {
    const n = this.length;
    const out = new Float64Array(n);
    const from = this.firstSlot;
    const size = this.ring.length;
    for (let i = 0; i < n; i++) out[i] = this.ring[(from + i) % size]!;
    return out;
  }
}
