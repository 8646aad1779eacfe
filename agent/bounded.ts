// Sets and maps kept bounded by their insertion order: the oldest entries go first.

/** Adds `key` to `set` as its newest; beyond `max` entries, the oldest go. */
export function rememberNewest(set: Set<string>, key: string, max: number): void {
  set.delete(key);
  set.add(key);
  trimOldest(set, max);
}

/** Drops the oldest entries (insertion order) beyond `max`. */
export function trimOldest(c: Map<string, unknown> | Set<string>, max: number): void {
  for (const k of c.keys()) {
    if (c.size <= max) break;
    c.delete(k);
  }
}
