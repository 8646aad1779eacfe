// Buffers that grow as a series ages (a young series holds only what it has seen) start at
// sizes staggered from one buffer to the next. Ten thousand series started on one tick (an
// agent's first) would otherwise all double their buffers together on later ticks: at 10,000
// pairs, over a second of allocation and collection in one tick. Staggered, each doubling is
// spread over several ticks. Sizes never change what a buffer holds, only when it grows.

/** Distinct starting sizes, from `base` to just under twice it. */
const STAGGER_STEPS = 8;
let made = 0;

/** A starting size for a growing buffer: `base` plus 0..7 eighths of it, by turns. */
export function staggeredSize(base: number): number {
  return base + Math.floor((base * (made++ % STAGGER_STEPS)) / STAGGER_STEPS);
}
