// How often the probes' rings are drained. Each drain is a timer wakeup, and a wakeup costs the
// agent CPU even with nothing to read (about 120 us of one CPU on a small VM: at 20 a second, a
// quarter of a percent), so rings that stay nearly empty are drained less often, and one found
// filling is drained at the shortest period again from the next drain on.

/** The longest period between two drains (ms): a 256 KiB ring then absorbs 1 MiB/s from quiet. */
export const DRAIN_CEILING_MS = 250;
/** A ring at least this full when drained: back to the shortest period. */
const FILLING = 1 / 8;
/** Every ring below this when drained: twice the period (up to the ceiling). */
const QUIET = 1 / 32;

/**
 * The period until the next drain, from the current one and the fullest ring's share of its
 * size when it was drained (0..1); never below `floorMs` nor above the ceiling (or the floor,
 * where that is higher).
 */
export function nextDrainMs(currentMs: number, fill: number, floorMs: number): number {
  const ceiling = Math.max(floorMs, DRAIN_CEILING_MS);
  if (fill >= FILLING) return floorMs;
  if (fill < QUIET) return Math.min(ceiling, Math.max(floorMs, currentMs * 2));
  return Math.min(ceiling, Math.max(floorMs, currentMs));
}
