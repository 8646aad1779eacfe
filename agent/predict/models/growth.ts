// Buffers that grow as a series ages (a young series holds only what it has seen) start at
// staggered sizes. Ten thousand series started on one tick (an agent's first) would otherwise
// all double their buffers together on later ticks: at 10,000 pairs, over a second of
// allocation and collection in one tick. Staggered, each doubling is spread over several ticks.
// Sizes never change what a buffer holds, only when it grows.

/** Distinct starting sizes, from `base` to just under twice it. */
const STAGGER_STEPS = 8;
/** The golden ratio's fractional part: successive multiples of it fill [0, 1) evenly. */
const WEYL = 0.6180339887498949;
let made = 0;

/**
 * A starting size for a growing buffer: `base` plus 0..7 eighths of it. The eighth comes from a
 * Weyl sequence over every call, not a plain counter: a series makes its buffers in a fixed
 * pattern (four in its state, more per head), and a counter modulo 8 would give all series'
 * buffers of one kind the same one or two sizes.
 */
export function staggeredSize(base: number): number {
  const eighth = Math.floor(STAGGER_STEPS * ((made++ * WEYL) % 1));
  return base + Math.floor((base * eighth) / STAGGER_STEPS);
}
