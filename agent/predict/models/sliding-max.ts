// The maximum over the last `steps` slots, kept as a monotonic deque of (slot, value): each push
// drops the values it dominates and the slots that left the window, so a push costs O(1) amortised.
export class SlidingMax {
  private readonly slots: number[] = [];
  private readonly values: number[] = [];

  constructor(readonly steps: number) {}

  /** Pushes (slot, x) and returns the max over the last `steps` slots, this one included. */
  push(slot: number, x: number): number {
    const { slots, values } = this;
    while (values.length > 0 && values[values.length - 1]! <= x) {
      values.pop();
      slots.pop();
    }
    values.push(x);
    slots.push(slot);
    // slots at or before slot - steps have left the window; the newest always stays
    let drop = 0;
    while (slots[drop]! <= slot - this.steps) drop++;
    if (drop > 0) {
      slots.splice(0, drop);
      values.splice(0, drop);
    }
    return values[0]!;
  }

  /** The max over the last `steps` slots as of the newest push; NaN before the first. */
  get max(): number {
    return this.values.length > 0 ? this.values[0]! : Number.NaN;
  }

  /** The slot of the max (the newest of equal ones); NaN before the first push. */
  get maxSlot(): number {
    return this.slots.length > 0 ? this.slots[0]! : Number.NaN;
  }
}

/**
 * The max over about the last `blocks * blockSlots` slots, kept per block of `blockSlots`: a
 * fixed `blocks + 1` numbers and O(1) a push, where an exact deque over thousands of slots would
 * hold one entry a slot on a falling series. The window is whole blocks: it reaches back
 * `blocks * blockSlots` slots at least and `(blocks + 1) * blockSlots` at most. Slots never go
 * back (a push for a slot a window or more older than the newest is ignored).
 */
export class BlockMax {
  private readonly maxima: Float64Array;
  private block = Number.NEGATIVE_INFINITY;

  constructor(
    readonly blocks: number,
    readonly blockSlots: number,
  ) {
    this.maxima = new Float64Array(blocks + 1).fill(Number.NEGATIVE_INFINITY);
  }

  push(slot: number, x: number): void {
    const n = this.maxima.length;
    const block = Math.floor(slot / this.blockSlots);
    if (block <= this.block - n) return;
    // blocks skipped since the last push (or all of them, after a long gap) hold nothing
    for (let b = Math.max(this.block + 1, block - n + 1); b <= block; b++) this.maxima[((b % n) + n) % n] = Number.NEGATIVE_INFINITY;
    this.block = Math.max(this.block, block);
    const at = ((block % n) + n) % n;
    if (x > this.maxima[at]!) this.maxima[at] = x;
  }

  /** -infinity before the first push. */
  get max(): number {
    let m = Number.NEGATIVE_INFINITY;
    for (const v of this.maxima) if (v > m) m = v;
    return m;
  }
}
