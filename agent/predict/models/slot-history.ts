// The last `capacity` slots of a series (see StepClock), NaN where no sample landed: what the
// season detector and the smoothing fit read, gaps and all. Kept in single precision (seven
// significant digits: a level's forecast needs fewer), half the memory of a series' history.

export class SlotHistory {
  private readonly ring: Float32Array;
  /** newest slot stored; -1 before the first */
  last = -1;
  private first = -1;

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 8)) throw new RangeError(`history must hold at least 8 steps; got ${capacity}`);
    this.ring = new Float32Array(capacity).fill(Number.NaN);
  }

  /** Stores the value of `slot` (slots only grow); slots skipped since the last are holes. */
  set(slot: number, value: number): void {
    if (this.first < 0) this.first = slot;
    for (let s = Math.max(this.last + 1, slot - this.capacity + 1); s < slot; s++) this.ring[s % this.capacity] = Number.NaN;
    this.ring[slot % this.capacity] = value;
    this.last = slot;
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
    return this.ring[slot % this.capacity]!;
  }

  /** Every slot held, oldest first (a copy). */
  values(): Float64Array {
    const n = this.length;
    const out = new Float64Array(n);
    const from = this.firstSlot;
    for (let i = 0; i < n; i++) out[i] = this.ring[(from + i) % this.capacity]!;
    return out;
  }
}
