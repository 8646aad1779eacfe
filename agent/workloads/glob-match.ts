// Shell globs of one name, matched as the shell matches them (a script's `*.csv`, sized by its
// matches in signature.ts).

type GlobToken = { t: '*' } | { t: '?' } | { t: 'lit'; c: string } | { t: 'set'; negate: boolean; has: (c: string) => boolean };

/**
 * Whether a name matches a shell glob of one name (`*`, `?`, `[...]`, `[!...]`, ranges in
 * brackets; an unclosed `[` is plain); a name starting with a dot only where the pattern does.
 * In time linear in the name per star (a regular expression of `*_*_*_*.csv` backtracked without
 * bound over a long name: a review).
 */
export function globMatch(pattern: string, name: string): boolean {
  if (name.startsWith('.') && !pattern.startsWith('.')) return false;
  const toks = globTokens(pattern);
  let p = 0;
  let n = 0;
  let starP = -1;
  let starN = 0;
  const one = (tok: GlobToken, c: string): boolean =>
    tok.t === '?' || (tok.t === 'lit' && tok.c === c) || (tok.t === 'set' && tok.has(c) !== tok.negate);
  while (n < name.length) {
    const tok = toks[p];
    if (tok !== undefined && tok.t !== '*' && one(tok, name[n]!)) {
      p++;
      n++;
    } else if (tok !== undefined && tok.t === '*') {
      starP = p++;
      starN = n;
    } else if (starP >= 0) {
      p = starP + 1;
      n = ++starN;
    } else return false;
  }
  while (toks[p]?.t === '*') p++;
  return p === toks.length;
}

function globTokens(pattern: string): GlobToken[] {
  const toks: GlobToken[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (toks[toks.length - 1]?.t !== '*') toks.push({ t: '*' });
    } else if (c === '?') toks.push({ t: '?' });
    else if (c === '[') {
      const negate = pattern[i + 1] === '!' || pattern[i + 1] === '^';
      const from = i + 1 + (negate ? 1 : 0);
      // (a `]` first in the brackets is one of the set)
      const end = pattern.indexOf(']', from + 1);
      if (end < 0) {
        toks.push({ t: 'lit', c });
        continue;
      }
      const body = pattern.slice(from, end);
      const ranges: Array<[string, string]> = [];
      for (let k = 0; k < body.length; k++) {
        if (body[k + 1] === '-' && k + 2 < body.length) {
          ranges.push([body[k]!, body[k + 2]!]);
          k += 2;
        } else ranges.push([body[k]!, body[k]!]);
      }
      toks.push({ t: 'set', negate, has: (x) => ranges.some(([a, b]) => x >= a && x <= b) });
      i = end;
    } else toks.push({ t: 'lit', c });
  }
  return toks;
}
