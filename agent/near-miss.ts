// The known name a mistyped one most likely meant: for "did you mean" in error messages.

/**
 * The closest of `known` to `name` (case aside) within `maxEdits` edits (default: a quarter of
 * its length, at least one); undefined for none.
 */
export function nearMiss(name: string, known: readonly string[], maxEdits?: number): string | undefined {
  const lower = name.toLowerCase();
  return known
    .map((a) => ({ a, d: editDistance(lower, a) }))
    .filter((x) => x.d <= (maxEdits ?? Math.max(1, Math.floor(x.a.length / 4))))
    .sort((x, y) => x.d - y.d)[0]?.a;
}

/** Levenshtein distance: insertions, deletions and substitutions, one each. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}
