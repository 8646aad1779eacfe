// Figures from log2 histograms: slot i counts values in [2^i, 2^(i+1)) microseconds (slot 0
// from 0), the last slot is unbounded. Percentiles interpolate linearly inside a slot.

/** Where slot i starts and ends (us); apart, for callers that take one per slot, thousands a tick. */
const slotLowUs = (i: number): number => (i === 0 ? 0 : 2 ** i);
const slotHighUs = (i: number): number => 2 ** (i + 1);

export function slotBoundsUs(i: number): [number, number] {
  return [slotLowUs(i), slotHighUs(i)];
}

/** `now - before` per slot (never below 0): into `out` where given (a scratch array its caller
 *  reads at once: the tick takes each workload's percentiles so, thousands a tick; it may be
 *  `now`, never `before`, which it is cut to `now`'s length), else a new array. */
export function subtractSlots(now: number[], before: number[] | undefined, out: number[] = new Array<number>(now.length).fill(0)): number[] {
  out.length = now.length;
  for (let i = 0; i < now.length; i++) out[i] = Math.max(0, now[i]! - (before?.[i] ?? 0));
  return out;
}

/** The q-quantile (0..1) in milliseconds, or null for an empty histogram. */
export function percentileMs(slots: number[], q: number): number | null {
  let total = 0;
  for (let i = 0; i < slots.length; i++) total += slots[i]!;
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < slots.length; i++) {
    const n = slots[i]!;
    if (n === 0) continue;
    if (seen + n >= rank) {
      const lo = slotLowUs(i), hi = slotHighUs(i);
      return (lo + ((hi - lo) * (rank - seen)) / n) / 1000;
    }
    seen += n;
  }
  return slotHighUs(slots.length - 1) / 1000;
}
