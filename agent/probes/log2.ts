// Figures from log2 histograms: slot i counts values in [2^i, 2^(i+1)) microseconds (slot 0
// from 0), the last slot is unbounded. Percentiles interpolate linearly inside a slot.

export function slotBoundsUs(i: number): [number, number] {
  return [i === 0 ? 0 : 2 ** i, 2 ** (i + 1)];
}

export function subtractSlots(now: number[], before: number[] | undefined): number[] {
  return now.map((v, i) => Math.max(0, v - (before?.[i] ?? 0)));
}

/** The q-quantile (0..1) in milliseconds, or null for an empty histogram. */
export function percentileMs(slots: number[], q: number): number | null {
  const total = slots.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < slots.length; i++) {
    const n = slots[i];
    if (n === 0) continue;
    if (seen + n >= rank) {
      const [lo, hi] = slotBoundsUs(i);
      return (lo + ((hi - lo) * (rank - seen)) / n) / 1000;
    }
    seen += n;
  }
  return slotBoundsUs(slots.length - 1)[1] / 1000;
}
