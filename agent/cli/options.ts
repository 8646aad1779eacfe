// Option values more than one command reads, parsed and checked once so the commands accept
// the same spellings and say the same thing about a bad one.
import { BYTE_UNITS } from '../byte-units.js';
import { MAX_DEMAND } from '../predict/traces/lines.js';
import { durationText, MAX_HORIZON_TICKS, MAX_TIMER_MS } from '../plan/policy.js';
import type { Policy } from '../plan/types.js';

/**
 * A check for every command: an option of one value given twice is bad usage. yargs makes such
 * an option an array, which the commands do not expect (`--out a --out b` failed on a path that
 * was an array, `--mode observe --mode recommend` ran in mode "observe,recommend"). Those
 * declared `array: true` (`--limit`) are repeatable, and so are the positionals (`_`).
 */
export function checkNoRepeats(argv: Record<string, unknown>, options: { array?: readonly string[] }): true {
  const repeatable = new Set(['_', ...(options.array ?? [])]);
  // (yargs keeps a camel-cased twin of each dashed name: the name as typed has no capital)
  const repeated = Object.keys(argv).find((k) => !repeatable.has(k) && Array.isArray(argv[k]) && k === k.toLowerCase());
  if (repeated !== undefined) throw new Error(`--${repeated} given more than once: it takes one value`);
  return true;
}

/** A number as a person types one: decimal, an optional sign, point and exponent (not `0x10`, `0b11`, `Infinity`). */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

/**
 * A check for every command: a number option's value as typed is a decimal number. yargs reads
 * it with Number(), so `--warmup 0x10` ran with 16 and `--interval 0b1` with 1, said nowhere.
 * `raw` is the command line after the program's name.
 */
export function checkDecimalNumbers(raw: readonly string[], options: { number?: readonly string[] }): true {
  const numbers = new Set(options.number ?? []);
  for (let i = 0; i < raw.length; i++) {
    const arg = raw[i]!;
    if (arg === '--') break;
    const m = /^--([^=]+)(?:=(.*))?$/s.exec(arg);
    if (!m || !numbers.has(m[1]!)) continue;
    const value = m[2] ?? raw[i + 1];
    // (a flag with no value, or one before another flag, is left to the command's own check)
    if (value === undefined || (m[2] === undefined && value.startsWith('--'))) continue;
    // (what Number() cannot read at all is NaN, left to the command's check, which says what the
    // option wants; 1e999 is decimal, and Infinity)
    const n = Number(value);
    if (!Number.isNaN(n) && (!DECIMAL.test(value.trim()) || !Number.isFinite(n))) throw new Error(`--${m[1]} expects a decimal number, got '${value}'`);
  }
  return true;
}

/**
 * A check for every command: an option that takes a value is given one. yargs reads `--match`
 * at the end of the line, or before another option, as '' (record then kept every cgroup) and a
 * number or a choice as absent (`top --count` ran for ever, `--sort` sorted by CPU), said nowhere.
 * `raw` is the command line after the program's name; `-` alone is a value.
 */
export function checkValuesGiven(raw: readonly string[], options: { string?: readonly string[]; number?: readonly string[]; choices?: Record<string, unknown>; boolean?: readonly string[]; alias?: Record<string, readonly string[]> }): true {
  const takesValue = new Set([...(options.string ?? []), ...(options.number ?? []), ...Object.keys(options.choices ?? {})]);
  for (const b of options.boolean ?? []) takesValue.delete(b);
  for (const name of [...takesValue]) for (const other of options.alias?.[name] ?? []) takesValue.add(other);
  for (let i = 0; i < raw.length; i++) {
    const arg = raw[i]!;
    if (arg === '--') break;
    const m = /^--([^=]+)$/.exec(arg);
    if (!m || !takesValue.has(m[1]!)) continue;
    const next = raw[i + 1];
    // (a negative number is a value: --offset -1)
    if (next === undefined || (next.startsWith('-') && next !== '-' && !/^-[\d.]/.test(next))) throw new Error(`--${m[1]} needs a value${next === undefined || next.startsWith('--') ? '' : ` (one starting with '-' is given as --${m[1]}=${next})`}`);
  }
  return true;
}

/** `--name` in seconds between ticks: above 0, and within what a timer holds (a longer one fires at once, and the loop spins). */
export function checkInterval(name: string, seconds: number): void {
  if (!(seconds > 0)) throw new Error(`--${name} must be a positive number of seconds`);
  if (seconds * 1000 > MAX_TIMER_MS) throw new Error(`--${name} must be at most ${Math.floor(MAX_TIMER_MS / 1000)} seconds (about 24.8 days, what a timer holds)`);
}

/**
 * Why `--interval` (which replaces the policy's tick) puts one of the policy's forecast horizons
 * more than MAX_HORIZON_TICKS ticks ahead, or undefined: `policy check` judges the horizons
 * against the policy's own tick only.
 */
export function intervalTooShortFor(policy: Policy, intervalSeconds: number): string | undefined {
  const tickMs = intervalSeconds * 1000;
  const far = policy.forecast.horizonsMs.find((h) => h > MAX_HORIZON_TICKS * tickMs);
  if (far === undefined) return undefined;
  // (the shortest interval that holds every horizon: the one a user can type; top and record run
  // the agent's tick, forecasts and all, so a recorder is held to it too)
  const shortestMs = Math.ceil(Math.max(...policy.forecast.horizonsMs) / MAX_HORIZON_TICKS);
  return `--interval ${intervalSeconds}: the policy ${policy.file} forecasts ${durationText(far)} ahead, ${Math.ceil(far / tickMs)} ticks at this interval; ` +
    `at most ${MAX_HORIZON_TICKS} (a longer --interval, at least ${shortestMs / 1000}, or shorter forecast.horizons)`;
}

/**
 * Each option given as an empty string (`--policy ""`, a variable that was never set) is refused,
 * saying what it wants: an empty path reads as the current folder, or as no file at all.
 */
export function checkPaths(argv: Record<string, unknown>, wants: Readonly<Record<string, string>>): void {
  for (const [name, what] of Object.entries(wants)) {
    if (argv[name] === '') throw new Error(`--${name} needs a path: ${what}`);
  }
}

/** `--duration` in seconds: 0 (no limit) or more, a number. */
export function checkDuration(seconds: number): void {
  if (!(Number.isFinite(seconds) && seconds >= 0)) throw new Error('--duration must be zero or more seconds (0: until SIGINT, SIGTERM or SIGHUP)');
}

/** `a, b,,c` -> ['a', 'b', 'c']: a comma-separated option's names, trimmed, empty ones dropped. */
export const commaList = (s: string): string[] => s.split(',').map((x) => x.trim()).filter((x) => x !== '');

const EXAMPLE = 'RESOURCE=LEVEL (e.g. cpu_cores=2)';
// a decimal number (`2`, `0.5`, `.5`, `2.5e6`; Number() alone would also read `0x10` as 16),
// and for a resource in bytes a binary unit (`256MiB`, `1.5GiB`; any case: a command line is
// typed, where the policy's sizes are whole numbers in exact case)
const LEVEL = /^(\+?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)\s*(B|KiB|MiB|GiB|TiB)?$/i;
/** BYTE_UNITS by lower-case name: a command line's unit is read in any case */
const UNIT_BYTES: Record<string, number> = Object.fromEntries(Object.entries(BYTE_UNITS).map(([u, n]) => [u.toLowerCase(), n]));

/** A level's number, NaN when it is none (or has a unit its resource is not measured in). */
function levelOf(resource: string, text: string): number {
  const m = LEVEL.exec(text);
  if (!m) return Number.NaN;
  if (m[2] === undefined) return Number(m[1]);
  return /bytes/.test(resource) ? Number(m[1]) * UNIT_BYTES[m[2].toLowerCase()]! : Number.NaN;
}

/**
 * `--limit RESOURCE=LEVEL` (repeatable, or comma-separated): the saturation level per resource
 * ({} when the option is absent; no prototype, so a resource named like an Object property is
 * kept and then reported as unknown). A level is a decimal number, for a resource in bytes
 * perhaps with a binary unit (`memory_bytes=256MiB`). A malformed item, a level that is none or not
 * above 0, a resource given twice, or the option with nothing after it throws `error(message)`,
 * so each command raises its own kind of usage error.
 */
export function parseLimitSpecs(items: readonly string[] | undefined, error: (message: string) => Error = (m) => new Error(m)): Record<string, number> {
  const out = Object.create(null) as Record<string, number>;
  if (items === undefined) return out;
  const all = items.flatMap(commaList);
  if (all.length === 0) throw error(`--limit expects ${EXAMPLE}, got nothing`);
  for (const item of all) {
    const eq = item.indexOf('=');
    const resource = eq > 0 ? item.slice(0, eq).trim() : '';
    const text = eq > 0 ? item.slice(eq + 1).trim() : '';
    if (!resource || text === '') throw error(`--limit expects ${EXAMPLE}, got '${item}'`);
    const level = levelOf(resource, text);
    if (!(Number.isFinite(level) && level > 0)) {
      const units = /bytes/.test(resource) ? ' (bytes, or with a unit: B, KiB, MiB, GiB, TiB)' : LEVEL.exec(text)?.[2] !== undefined ? ' (a unit is for a resource in bytes only)' : '';
      throw error(`--limit ${resource}: a saturation level must be a number above 0${units}, got ${text}`);
    }
    // (as a trace's values are: above this, a unit slip)
    if (level > MAX_DEMAND) throw error(`--limit ${resource}: a saturation level above ${MAX_DEMAND} (no demand reads that: a unit slip?), got ${text}`);
    if (Object.hasOwn(out, resource)) throw error(`--limit ${resource}: given twice`);
    out[resource] = level;
  }
  return out;
}
