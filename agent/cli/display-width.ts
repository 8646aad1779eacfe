// Text as a terminal lays it out: columns, not UTF-16 units. A cgroup path is anyone's who may
// make one, and a CJK or emoji name counted by .length overflowed the table's width (each of its
// characters takes two columns); a surrogate pair cut in half printed as U+FFFD.

/** Code points a terminal gives two columns: East Asian wide and fullwidth, and emoji (as wcwidth, in short). */
const WIDE: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f], [0x2e80, 0x303e], [0x3041, 0x33ff], [0x3400, 0x4dbf], [0x4e00, 0x9fff],
  [0xa000, 0xa4cf], [0xac00, 0xd7a3], [0xf900, 0xfaff], [0xfe30, 0xfe4f], [0xff00, 0xff60],
  [0xffe0, 0xffe6], [0x1f300, 0x1f64f], [0x1f680, 0x1f6ff], [0x1f900, 0x1f9ff], [0x20000, 0x3fffd],
];

/** Code points that take no column of their own: combining marks, format characters (ZWJ), variation selectors. */
const ZERO = /^[\p{Mn}\p{Me}\p{Cf}]$/u;

/** Columns one code point takes. */
function columnsOf(ch: string): number {
  const cp = ch.codePointAt(0)!;
  if (cp < 0x300) return 1;
  if (ZERO.test(ch)) return 0;
  for (const [lo, hi] of WIDE) if (cp >= lo && cp <= hi) return 2;
  return 1;
}

/** Columns `text` takes on a terminal. */
export function displayWidth(text: string): number {
  // (ASCII, nearly every path: its length)
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  let n = 0;
  for (const ch of text) n += columnsOf(ch);
  return n;
}

/** The longest start of `text` within `width` columns (whole code points; its combining marks kept with it). */
export function headWithin(text: string, width: number): string {
  let n = 0;
  let end = 0;
  for (const ch of text) {
    const w = columnsOf(ch);
    if (n + w > width) break;
    n += w;
    end += ch.length;
  }
  return text.slice(0, end);
}

/** The longest end of `text` within `width` columns (whole code points). */
export function tailWithin(text: string, width: number): string {
  const chars = [...text];
  let n = 0;
  let start = chars.length;
  while (start > 0) {
    const w = columnsOf(chars[start - 1]!);
    if (n + w > width) break;
    n += w;
    start--;
  }
  // (a combining mark left at the head of the tail has lost its base: left out)
  while (start < chars.length && columnsOf(chars[start]!) === 0) start++;
  return chars.slice(start).join('');
}

/** `text` padded with spaces to `width` columns. */
export function padEndTo(text: string, width: number): string {
  const w = displayWidth(text);
  return w >= width ? text : text + ' '.repeat(width - w);
}
