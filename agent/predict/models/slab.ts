// One buffer carved into the many small fixed-size typed arrays an object keeps. Each typed
// array of its own is an ArrayBuffer to allocate (about a microsecond, more under memory
// pressure) and one more for the collector to track: an engine's head keeps some twenty, and
// ten thousand series set up their heads on the same tick (their step learnt), which took two
// seconds. Views into one buffer cost one allocation.

export class Float64Slab {
  private readonly buffer: ArrayBuffer;
  private at = 0;

  /** Room for `length` numbers in all. */
  constructor(readonly length: number) {
    this.buffer = new ArrayBuffer(length * Float64Array.BYTES_PER_ELEMENT);
  }

  /** Numbers not taken yet. */
  get left(): number {
    return this.length - this.at;
  }

  /** The next `n` numbers (zeros); a RangeError past the room asked for. */
  take(n: number): Float64Array {
    if (this.at + n > this.length) throw new RangeError(`slab of ${this.length} numbers: ${this.at} taken, ${n} more asked`);
    const view = new Float64Array(this.buffer, this.at * Float64Array.BYTES_PER_ELEMENT, n);
    this.at += n;
    return view;
  }
}
