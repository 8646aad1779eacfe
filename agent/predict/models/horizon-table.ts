// Per-horizon state for the models that learn from their own past forecasts (calibration, the
// peak forecaster, the selector): a horizon starts being tracked the first time someone asks
// for it, and only the few most recently asked are kept, so memory and per-sample work stay
// bounded whatever callers ask.

/** Horizons tracked at once by default. */
export const MAX_TRACKED_HORIZONS = 8;

export class HorizonTable<S> {
  private readonly states = new Map<number, S>();

  constructor(
    private readonly create: (steps: number) => S,
    private readonly limit = MAX_TRACKED_HORIZONS,
  ) {}

  /** The state of a horizon in steps, created on first ask; the least recently asked beyond the limit is dropped. */
  get(steps: number): S {
    let s = this.states.get(steps);
    if (s !== undefined) {
      // most recently asked last: Map keeps insertion order
      if (this.states.size > 1) {
        this.states.delete(steps);
        this.states.set(steps, s);
      }
      return s;
    }
    s = this.create(steps);
    this.states.set(steps, s);
    if (this.states.size > this.limit) this.states.delete(this.states.keys().next().value!);
    return s;
  }

  values(): IterableIterator<S> {
    return this.states.values();
  }
}

/** Forecasts made and not yet resolved, oldest first (slots only grow). */
export class PendingQueue<T extends { slot: number }> {
  private items: T[] = [];
  private head = 0;

  push(item: T): void {
    this.items.push(item);
  }

  /** Removes and returns the oldest item made at or before `slot`, if any. */
  shiftUpTo(slot: number): T | undefined {
    if (this.head >= this.items.length || this.items[this.head]!.slot > slot) return undefined;
    const item = this.items[this.head++]!;
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

/**
 * Forecasts made and not yet resolved as (slot, value) pairs, oldest first (slots only grow), in
 * two typed rings: no object per forecast. (A wrapper keeps a horizon's worth of them for every
 * horizon, and at 10,000 series those objects were millions for the collector to trace.)
 */
export class PendingValues {
  private slots = new Float64Array(8);
  private values = new Float64Array(8);
  private head = 0;
  private n = 0;

  push(slot: number, value: number): void {
    if (this.n === this.slots.length) this.grow();
    const at = (this.head + this.n) % this.slots.length;
    this.slots[at] = slot;
    this.values[at] = value;
    this.n++;
  }

  /** The mean of the values held (NaN when none). */
  get mean(): number {
    let sum = 0;
    for (let i = 0; i < this.n; i++) sum += this.values[(this.head + i) % this.slots.length]!;
    return this.n > 0 ? sum / this.n : Number.NaN;
  }

  /** Whether the oldest pair was made at or before `slot`. */
  hasUpTo(slot: number): boolean {
    return this.n > 0 && this.slots[this.head]! <= slot;
  }

  /** Slot of the oldest pair (call only when one is held). */
  get oldestSlot(): number {
    return this.slots[this.head]!;
  }

  /** Removes the oldest pair and returns its value (call only when one is held). */
  shift(): number {
    const v = this.values[this.head]!;
    this.head = (this.head + 1) % this.slots.length;
    this.n--;
    return v;
  }

  /** Twice the room, the pairs moved to the front in order. */
  private grow(): void {
    const size = 2 * this.slots.length;
    const slots = new Float64Array(size);
    const values = new Float64Array(size);
    for (let i = 0; i < this.n; i++) {
      const at = (this.head + i) % this.slots.length;
      slots[i] = this.slots[at]!;
      values[i] = this.values[at]!;
    }
    this.slots = slots;
    this.values = values;
    this.head = 0;
  }
}
