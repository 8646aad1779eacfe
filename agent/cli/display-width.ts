// Text as a terminal lays it out: columns, not UTF-16 units. A cgroup path is anyone's who may
// make one, and a CJK or emoji name counted by .length overflowed the table's width (each of its
// characters takes two columns); a surrogate pair cut in half printed as U+FFFD. Widths are
// string-width's (Unicode's East Asian Width, emoji presentation, VS16, ZWJ sequences), taken a
// grapheme cluster at a time, so a cut never splits a character from its marks.
import stringWidth from 'string-width';

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** (what the tables print has its control characters escaped: printable.ts; counted as they are) */
const OPTIONS = { countAnsiEscapeCodes: true } as const;

/** ASCII that prints: one column a character (nearly every cgroup path, every number). */
const PLAIN = /^[\x20-\x7e]*$/;

/** Columns `text` takes on a terminal. */
export function displayWidth(text: string): number {
  return PLAIN.test(text) ? text.length : stringWidth(text, OPTIONS);
}

/** The grapheme clusters of `text`, each with its columns. */
function clusters(text: string): { text: string; width: number }[] {
  return Array.from(graphemes.segment(text), (s) => ({ text: s.segment, width: stringWidth(s.segment, OPTIONS) }));
}

/** The longest start of `text` within `width` columns (whole grapheme clusters). */
export function headWithin(text: string, width: number): string {
  if (PLAIN.test(text)) return text.slice(0, Math.max(0, width));
  let n = 0;
  let out = '';
  for (const c of clusters(text)) {
    if (n + c.width > width) break;
    n += c.width;
    out += c.text;
  }
  return out;
}

/** The longest end of `text` within `width` columns (whole grapheme clusters). */
export function tailWithin(text: string, width: number): string {
  if (PLAIN.test(text)) return width > 0 ? text.slice(Math.max(0, text.length - width)) : '';
  const all = clusters(text);
  let n = 0;
  let start = all.length;
  while (start > 0 && n + all[start - 1]!.width <= width) n += all[--start]!.width;
  return all.slice(start).map((c) => c.text).join('');
}

/** `text` padded with spaces to `width` columns. */
export function padEndTo(text: string, width: number): string {
  const w = displayWidth(text);
  return w >= width ? text : text + ' '.repeat(width - w);
}
