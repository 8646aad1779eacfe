// Log2 histograms as the kernel side and its peers (runqlat, biolatency) print them.

/** Which slot holds the q-quantile of a histogram given as per-slot counts. */
export function quantileSlot(slots: number[], q: number): number {
  const total = slots.reduce((a, b) => a + b, 0);
  let seen = 0;
  for (let i = 0; i < slots.length; i++) {
    seen += slots[i];
    if (seen >= q * total) return i;
  }
  return slots.length - 1;
}
