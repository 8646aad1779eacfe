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
