// Policy files: YAML text -> a validated Policy. Every problem is reported, each at the line and
// column of the key or value at fault, so a person fixes the whole file in one pass.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isIPv6 } from 'node:net';
import { Ajv, type ErrorObject } from 'ajv';
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  stringify,
  visit,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import schema from '../../policies/schema.json' with { type: 'json' };
import type { CpuThrottleBounds, Mode, Policy, WorkloadClass, WorkloadSelector } from './types.js';
import { badHttpUrl } from './http-url.js';
import { BYTE_UNITS } from '../byte-units.js';
import type { DemandModel } from '../predict/demand.js';
import { DEFAULT_HISTORY_STEPS } from '../predict/models/engine.js';
import { wholeUnits } from '../predict/stats.js';
import { nearMiss } from '../near-miss.js';

export interface PolicyProblem {
  file: string;
  /** 1-based; 0 when the problem concerns the whole file (it could not be read) */
  line: number;
  column: number;
  /** dotted path of the key at fault, e.g. `workloads[1].cpu.throttle.min_cores`; '' for the file */
  field: string;
  message: string;
}

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  constructor(readonly problems: PolicyProblem[]) {
    // (a file of thousands of bad entries: the first ones say what is wrong; every one is in `problems`, and in check --json)
    const shown = problems.slice(0, MAX_PROBLEMS_SHOWN).map(formatProblem);
    if (problems.length > MAX_PROBLEMS_SHOWN) shown.push(`... and ${problems.length - MAX_PROBLEMS_SHOWN} more (policy check --json lists every one)`);
    super(shown.join('\n'));
  }
}

/** Problems a PolicyError's message lists, in line order; the rest are counted. */
const MAX_PROBLEMS_SHOWN = 100;

/** `file:line:column: field: message`; the field is left out for the whole document, the place
 * too for a file that could not be read. */
export function formatProblem(p: PolicyProblem): string {
  if (p.line === 0) return `${p.file}: ${p.message}`;
  return `${p.file}:${p.line}:${p.column}: ${p.field ? `${p.field}: ` : ''}${p.message}`;
}

/**
 * A policy's bytes as text, or a PolicyError at the first byte that is not UTF-8 (they were
 * replaced by U+FFFD, and a mangled value passed or was shown as "obs\uFFFD\uFFFDerve").
 */
function utf8Text(bytes: Buffer, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
      throw new PolicyError([{ file, line: 1, column: 1, field: '', message: 'UTF-16 text: a policy is UTF-8' }]);
    }
    const lo = firstBadUtf8(bytes);
    if (lo < 0) throw new PolicyError([{ file, line: 0, column: 0, field: '', message: 'not UTF-8 text: a policy is UTF-8' }]);
    const before = bytes.subarray(0, lo).toString('utf8');
    const line = before.split('\n').length;
    const column = before.length - before.lastIndexOf('\n');
    throw new PolicyError([{ file, line, column, field: '', message: `not UTF-8 text (byte 0x${bytes[lo]!.toString(16).padStart(2, '0')} at byte ${lo}): a policy is UTF-8` }]);
  }
}

/** Offset of the first byte that does not start a well-formed UTF-8 sequence (lead and continuation bytes only), or -1. */
function firstBadUtf8(b: Buffer): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : (c & 0xf0) === 0xe0 ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (i + k >= b.length || (b[i + k]! & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return -1;
}

export function loadPolicy(file: string): Policy {
  let text: string;
  try {
    text = utf8Text(readFileSync(file), file);
  } catch (err) {
    if (err instanceof PolicyError) throw err;
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'ENOENT' ? 'no such file'
      : e.code === 'EACCES' ? 'permission denied'
      : e.code === 'EISDIR' ? 'is a directory, not a file'
      : e.message;
    throw new PolicyError([{ file, line: 0, column: 0, field: '', message: `cannot read policy: ${why}` }]);
  }
  return parsePolicy(text, file);
}

export function parsePolicy(text: string, file: string): Policy {
  const lineCounter = new LineCounter();
  // prettyErrors off: we place errors ourselves and want one-line messages.
  // (logLevel error: the library's warnings went to stderr as a Node warning, beside --json's output; a stringified
  // complex key is then an unknown key, said as such)
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
  const where = new Locator(doc, lineCounter, file, text.trimEnd().length);

  // One error can cascade into several at the same place; the first says it best.
  const syntax = doc.errors
    // (a second document is of no field: the file's)
    .map((e) => ({ ...where.problemAtOffset(e.pos[0], syntaxMessage(e)), ...(e.code === 'MULTIPLE_DOCS' ? { field: '' } : {}) }))
    .filter((p, i, all) => all.findIndex((q) => q.line === p.line && q.column === p.column) === i);
  if (syntax.length > 0) throw new PolicyError(syntax);

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // (an alias's error, at the alias: "Unresolved alias ...: nope" names its anchor, else the first alias)
    const message = (err as Error).message;
    const offset = aliasOffset(doc, /: ([^:\s]+)$/.exec(message)?.[1]);
    throw new PolicyError([offset !== undefined ? where.problemAtOffset(offset, message) : where.problem([], 'value', message)]);
  }

  const problems = schemaProblems(raw, where);
  checkMeaning(raw, where, problems);
  if (problems.length > 0) {
    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new PolicyError(problems);
  }
  return toPolicy(raw as RawPolicy, file, where);
}

/** A YAML syntax error as a policy's author reads it: the parser's advice and its stack's limit are for a programmer. */
function syntaxMessage(e: { code: string; message: string }): string {
  if (e.code === 'MULTIPLE_DOCS') return 'a policy is one YAML document; a second one starts here (a "---" inside the file?)';
  if (/Maximum call stack size exceeded/.test(e.message)) return 'nested too deeply to read';
  return e.message;
}

/** Where the first alias naming `anchor` (or, without one, the first alias at all) starts; undefined where none. */
function aliasOffset(doc: Document, anchor: string | undefined): number | undefined {
  let found: number | undefined;
  visit(doc, {
    Alias(_, node) {
      if (anchor !== undefined && node.source !== anchor) return undefined;
      found = node.range?.[0];
      return visit.BREAK;
    },
  });
  if (found === undefined && anchor !== undefined) return aliasOffset(doc, undefined);
  return found;
}

// ---------------------------------------------------------------------------------------------
// Units

const DURATION = /^([0-9]+(?:\.[0-9]+)?)(us|ms|s|m|h)$/;
const DURATION_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE = /^([0-9]+)(B|KiB|MiB|GiB)$/;
/** Whether a BPF ring buffer may be this many bytes: the kernel wants a power-of-two multiple of the page size (from 4KiB; at most 1GiB here). */
export const isRingSize = (bytes: number): boolean => Number.isInteger(bytes) && bytes >= 4096 && bytes <= 1024 ** 3 && (bytes & (bytes - 1)) === 0;
/** Node's timers hold at most 2^31 - 1 ms (about 24.8 days): a longer delay fires after 1 ms, so a longer tick would spin. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** The longest slow-wakeup or slow-I/O threshold, a choice: a wait longer than an hour is no latency to be told of (and unbounded, `--slow-wakeup-ms 1e30` overflowed the probes' 64-bit nanoseconds). */
export const MAX_SLOW_EVENT_MS = 3_600_000;
/** The longest forecast half-life, and profiles.min_run. */
const MAX_HALF_LIFE_MS = 720 * 3_600_000;
/** The longest rules.protect_latency.cooldown. */
const MAX_COOLDOWN_MS = 3_600_000;
/**
 * The farthest forecast horizon, in ticks: the demand engine holds this many ticks of history,
 * and a horizon's pending forecasts and window take memory in proportion to it, per workload and
 * resource (one series tracking a 1000h horizon at a 1s tick: 237 MB of process RSS, against 75 MB at 60s).
 */
export const MAX_HORIZON_TICKS = DEFAULT_HISTORY_STEPS;


/** Milliseconds to the microsecond: a product of ticks read as the policy writes it (not 4970.000000000001ms). */
const toMicros = (ms: number): number => Math.round(ms * 1000) / 1000;

/** A horizon of `ms` in whole ticks of `tickMs` (at least one): what the forecasters count in. */
const onTicks = (ms: number, tickMs: number): number => toMicros(Math.max(1, wholeUnits(ms, tickMs).n) * tickMs);

/** Why a horizon cannot be forecast at this tick (too many ticks ahead, or not a whole number of them), or undefined. */
function horizonProblem(text: string, ms: number, tickMs: number, tick: unknown, alike: string): string | undefined {
  if (tickMs > 0 && ms > MAX_HORIZON_TICKS * tickMs) {
    return `must be at most ${MAX_HORIZON_TICKS} ticks ahead (${durationText(MAX_HORIZON_TICKS * tickMs)} at a tick of ${String(tick)})${alike}; got "${text}"`;
  }
  return offTicks(text, ms, tickMs, tick);
}

/** Why the horizon `written` (`ms`) is not a whole number of the policy's ticks (the forecasters would round it), or undefined. */
function offTicks(written: string, ms: number, tickMs: number, tick: unknown): string | undefined {
  if (!(tickMs > 0) || wholeUnits(ms, tickMs).whole) return undefined;
  const below = toMicros(Math.floor(ms / tickMs) * tickMs);
  const near = below > 0 ? `${durationText(below)} or ${durationText(toMicros(below + tickMs))}` : durationText(tickMs);
  return `must be a whole number of ticks (the tick is ${String(tick)}), as the forecasts count in ticks; got "${written}" (nearest: ${near})`;
}

/**
 * The policy with its forecast horizons and the run-queue rule's horizon in whole ticks of its
 * tick, and a note for each that moved. `policy check` holds the horizons a policy writes to its
 * own tick; the defaults (5s, 60s) may fall between the ticks of a tick it sets (2s, 10s), and a
 * command's --interval replaces the tick: a 5 s horizon at a 10 s tick is one tick, 10 s, which
 * is what the forecasts, the metrics and the reasons must say. The rule's horizon is said only
 * where a workload has a run-queue objective for it to serve.
 */
export function horizonsOnTicks(policy: Policy): { policy: Policy; notes: string[] } {
  const tick = policy.tickMs;
  const notes: string[] = [];
  let changed = false;
  const moved = (what: string | undefined, ms: number): number => {
    if (wholeUnits(ms, tick).whole) return ms;
    changed = true;
    const on = onTicks(ms, tick);
    if (what !== undefined) {
      const n = Math.round(on / tick);
      notes.push(`${what} ${durationText(ms)} is forecast ${durationText(on)} ahead (${n} tick${n === 1 ? '' : 's'} of ${durationText(toMicros(tick))})`);
    }
    return on;
  };
  const horizonsMs = [...new Set(policy.forecast.horizonsMs.map((h) => moved('forecast.horizons', h)))].sort((a, b) => a - b);
  const objectives = policy.workloads.some((w) => w.objectives?.runqueueP99Ms !== undefined);
  const ruleMs = moved(objectives ? 'rules.protect_latency.horizon' : undefined, policy.rules.protectLatency.horizonMs);
  if (!changed) return { policy, notes };
  return {
    policy: { ...policy, forecast: { ...policy.forecast, horizonsMs }, rules: { ...policy.rules, protectLatency: { ...policy.rules.protectLatency, horizonMs: ruleMs } } },
    notes,
  };
}

/** `ms` as the policy writes a duration: in its largest whole unit (4096000 is `4096s`, not `68m16s`), else in milliseconds. */
export function durationText(ms: number): string {
  for (const [unit, n] of [['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) if (ms >= n && ms % n === 0) return `${ms / n}${unit}`;
  return `${ms}ms`;
}

/** "500ms", "1.5s", "2m" -> milliseconds. Throws on anything else. */
export function parseDuration(text: string): number {
  const m = DURATION.exec(text);
  if (!m) throw new Error(`not a duration: ${JSON.stringify(text)}`);
  // (to the microsecond, the finest unit: 16.1s is 16100, not 16100.000000000002)
  return Math.round(Number(m[1]) * DURATION_MS[m[2]!]! * 1000) / 1000;
}

/** "256KiB" -> bytes. Throws on anything else. */
export function parseSize(text: string): number {
  const m = SIZE.exec(text);
  if (!m) throw new Error(`not a size: ${JSON.stringify(text)}`);
  return Number(m[1]) * BYTE_UNITS[m[2] as keyof typeof BYTE_UNITS];
}

const PERCENT = /^([0-9]+(?:\.[0-9]+)?)%$/;

/** "1%", "0.5%" -> a fraction (0.01, 0.005). Throws on anything else. */
export function parsePercent(text: string): number {
  const m = PERCENT.exec(text);
  if (!m) throw new Error(`not a percentage: ${JSON.stringify(text)}`);
  return Number(m[1]) / 100;
}

/** "127.0.0.1:9464", "[::1]:9464", "localhost:9464" -> host and port; a string says what is wrong. */
export function parseListen(text: string): { host: string; port: number } | string {
  const m = /^\[([^\]]*)\]:([0-9]+)$/.exec(text) ?? /^([A-Za-z0-9._-]+):([0-9]+)$/.exec(text);
  if (!m) {
    if (/^[0-9A-Fa-f:]*::?[0-9A-Fa-f:]*$/.test(text) && text.split(':').length > 2) {
      return `an IPv6 host is written in brackets, e.g. "[::1]:9464" (got ${JSON.stringify(text)})`;
    }
    return `must be host:port, e.g. "127.0.0.1:9464" (got ${JSON.stringify(text)})`;
  }
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return `port must be 1..65535 (got ${m[2]})`;
  const host = m[1]!;
  // (said here, not when run binds it: four numbers are an IPv4 address, each up to 255; a name is
  // labels of letters, digits and inner hyphens, and underscores, which /etc/hosts and containers' names hold)
  if (text.startsWith('[')) {
    // (a zone, "fe80::1%eth0", is not taken: the endpoint's URL and the connection events do not carry one)
    if (host.includes('%') && isIPv6(host.slice(0, host.indexOf('%')))) return `an IPv6 address with a zone ("%${host.slice(host.indexOf('%') + 1)}") is not supported: give an address without one, e.g. "[::1]:9464" (got ${JSON.stringify(text)})`;
    if (!isIPv6(host)) return `not an IPv6 address in the brackets: ${JSON.stringify(host)} (e.g. "[::1]:9464"; an IPv4 address or a name goes without brackets)`;
  } else {
    if (/^[0-9.]+$/.test(host)) {
      const parts = host.split('.');
      if (parts.length !== 4 || parts.some((p) => p === '' || Number(p) > 255)) return `not an IPv4 address: ${JSON.stringify(host)} (four numbers 0..255, e.g. "127.0.0.1")`;
    } else if (host.length > 253 || host.split('.').some((l) => !/^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(l))) {
      return `not a host name: ${JSON.stringify(host)} (labels of letters, digits, "_" and inner hyphens, dot-separated)`;
    }
  }
  return { host, port };
}

// ---------------------------------------------------------------------------------------------
// Globs over cgroup paths

const globCache = new Map<string, RegExp>();

/**
 * Does a cgroup path ("/system.slice/nginx.service") match a glob? `*` matches within one path
 * segment, `?` one character other than "/", `**` anything including "/"; `/**` standing as a
 * whole segment also matches zero segments, so "/a/**" matches "/a" and "/a/**\/b" matches "/a/b".
 */
export function matchesGlob(glob: string, path: string): boolean {
  let re = globCache.get(glob);
  if (!re) {
    re = globToRegExp(glob);
    globCache.set(glob, re);
  }
  return re.test(path);
}

function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; ) {
    if (glob.startsWith('/**', i) && (i + 3 === glob.length || glob[i + 3] === '/')) {
      out += '(?:/.*)?';
      i += 3;
    } else if (glob.startsWith('**', i)) {
      out += '.*';
      i += 2;
    } else {
      const c = glob[i]!;
      out += c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&');
      i += 1;
    }
  }
  return new RegExp(`^${out}$`);
}

/** Why a glob can never match a cgroup path, or null when it can. */
function globNeverMatches(glob: string): string | null {
  if (!glob.startsWith('/') && !glob.startsWith('**')) {
    return `never matches: cgroup paths start with "/" (got ${JSON.stringify(glob)})`;
  }
  if (glob.includes('//')) return `never matches: cgroup paths have no empty segment ("//")`;
  if (glob.length > 1 && glob.endsWith('/')) return `never matches: cgroup paths do not end with "/"`;
  // (the kernel's paths are canonical: no "." or ".." segment, whatever the shell makes of them)
  const dots = glob.split('/').find((s) => s === '.' || s === '..');
  if (dots !== undefined) return `never matches: cgroup paths have no "${dots}" segment (write the path it stands for)`;
  if (/[\u0000-\u001f\u007f]/.test(glob)) return `never matches: a control character (a newline?) in ${JSON.stringify(glob)}`;
  if (glob !== glob.trim()) return `a space at its ${/^\s/.test(glob) ? 'start' : 'end'} (${JSON.stringify(glob)}): a typo, most likely (a cgroup whose name ${/^\s/.test(glob) ? 'starts' : 'ends'} with a space is not one to match)`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Places in the YAML document

type Path = (string | number)[];

/** `workloads[1].cpu.throttle.min_cores` */
function fieldOf(path: Path): string {
  const field = path.reduce<string>(
    (s, seg) => (typeof seg === 'number' ? `${s}[${seg}]` : s ? `${s}.${seg}` : seg),
    '',
  );
  // (a path hundreds of levels deep is a document built to break the parser: its ends say enough)
  return field.length > MAX_FIELD_CHARS ? `${field.slice(0, MAX_FIELD_CHARS / 2)}...${field.slice(-MAX_FIELD_CHARS / 4)}` : field;
}

const MAX_FIELD_CHARS = 160;

/** Finds the line and column of a key or value, by its path in the data. */
class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    readonly file: string,
    /** offset just after the last character that is not white space */
    private readonly textEnd: number,
  ) {}

  /**
   * A problem at `path`: at its key, or at its value (the key when the value is empty). When the
   * path does not exist in full, the deepest part that does is pointed at.
   */
  problem(path: Path, at: 'key' | 'value', message: string): PolicyProblem {
    const { line, column } = this.position(path, at);
    return { file: this.file, line, column, field: fieldOf(path), message };
  }

  /** 1-based line of the node at `path` (for selectors' `source`). */
  line(path: Path): number {
    return this.position(path, 'value').line;
  }

  /** A YAML syntax error, named after the entry it falls in when that can be told. */
  problemAtOffset(offset: number, message: string): PolicyProblem {
    const path = pathAtOffset(this.doc.contents, offset);
    // An error found only at the end of the text (an unclosed quote or bracket) is better shown
    // where the unfinished value begins.
    if (path && path.length > 0 && offset >= this.textEnd) {
      const start = this.position(path, 'value');
      return { file: this.file, ...start, field: fieldOf(path), message };
    }
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col, field: path ? fieldOf(path) : '(yaml)', message };
  }

  private position(path: Path, at: 'key' | 'value'): { line: number; column: number } {
    let node: unknown = this.doc.contents;
    let key: YamlNode | null = null;
    let best: number | undefined = startOf(node);
    for (const seg of path) {
      if (isAlias(node)) node = node.resolve(this.doc);
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => keyText(p.key) === String(seg));
        if (!pair) break;
        key = (pair.key as YamlNode | null) ?? null;
        next = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        next = node.items[seg];
        if (next === undefined) break;
        key = null; // a list item has no key: its value is the place
      } else {
        break;
      }
      node = next;
      // (an empty list item has no text, but a place: just after its dash)
      const valueStart = isEmpty(next) ? (key ? undefined : startOf(next)) : startOf(next);
      best = at === 'key' && key ? startOf(key) : (valueStart ?? startOf(key) ?? best);
    }
    if (best === undefined) return { line: 1, column: 1 };
    const { line, col } = this.lines.linePos(best);
    return { line, column: col };
  }
}

/** A key as the document's JS object names it (a null key is "", a list or map its flow text), which the problems' paths come from. */
function keyText(key: unknown): string {
  if (isScalar(key)) return key.value === null ? '' : String(key.value);
  if (isMap(key) || isSeq(key)) return stringify(key, { collectionStyle: 'flow' }).trim();
  return String(key);
}

function startOf(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range?.[0];
}

/** `tick:` with nothing after it: a null scalar of no width. */
function isEmpty(node: unknown): boolean {
  if (node === null || node === undefined) return true;
  const range = (node as { range?: [number, number, number] }).range;
  return isScalar(node) && node.value === null && !!range && range[0] === range[1];
}

/**
 * Path of the deepest entry that spans `offset`, to name the field of a syntax error. Only plain
 * one-word keys are followed: in a broken document anything else is likely debris of the error.
 */
function pathAtOffset(node: unknown, offset: number): Path | null {
  // An entry's end is where the next one starts (its trailing newline included): an offset there
  // is the next entry's (a duplicate key was named by the one before it), and the end itself
  // only where no entry starts at it (an error at the document's end).
  for (const inclusive of [false, true]) {
    const within = (start: number | undefined, end: number | undefined): boolean =>
      start !== undefined && end !== undefined && start <= offset && (offset < end || (inclusive && offset === end));
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!within(startOf(pair.key), endOf(pair.value) ?? endOf(pair.key))) continue;
        const key = keyText(pair.key);
        if (!isScalar(pair.key) || !/^[A-Za-z0-9_.-]+$/.test(key)) return null;
        return [key, ...(pathAtOffset(pair.value, offset) ?? [])];
      }
    } else if (isSeq(node)) {
      for (const [i, item] of node.items.entries()) {
        if (within(startOf(item), endOf(item))) return [i, ...(pathAtOffset(item, offset) ?? [])];
      }
    }
  }
  return null;
}

function endOf(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range?.[2];
}

// ---------------------------------------------------------------------------------------------
// Schema: shapes, types, enums, unknown keys

const ajv = new Ajv({ allErrors: true, verbose: true, strict: true });
const validate = ajv.compile(schema);

function schemaProblems(raw: unknown, where: Locator): PolicyProblem[] {
  if (validate(raw)) return [];
  // A value of the wrong type also fails its enum or pattern; the type error says it best.
  const errors = [...(validate.errors ?? [])].sort((a, b) => rank(a) - rank(b));
  const seen = new Set<string>();
  const problems: PolicyProblem[] = [];
  for (const e of errors) {
    const p = schemaProblem(e, where);
    if (seen.has(p.field)) continue;
    seen.add(p.field);
    problems.push(p);
  }
  return problems;
}

function rank(e: ErrorObject): number {
  return e.keyword === 'type' ? 0 : e.keyword === 'const' ? 1 : 2;
}

function schemaProblem(e: ErrorObject, where: Locator): PolicyProblem {
  const path: Path = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^[0-9]+$/.test(s) ? Number(s) : s));
  const got = describe(e.data);
  const kind = e.schemaPath.startsWith('#/definitions/duration') ? 'duration'
    : e.schemaPath.startsWith('#/definitions/size') ? 'size'
    : null;
  const params = e.params as Record<string, unknown>;

  switch (e.keyword) {
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      const allowed = Object.keys((e.parentSchema as { properties?: object })?.properties ?? {});
      return where.problem([...path, name], 'key', `unknown key ${name === '' ? '"" (an empty or null key)' : `"${name}"`}${suggest(name, allowed)}`);
    }
    case 'required': {
      const name = String(params.missingProperty);
      const p = where.problem(path, 'key', `missing required key "${name}"`);
      return { ...p, field: fieldOf([...path, name]) };
    }
    case 'type':
      if (kind === 'duration') {
        return where.problem(path, 'value', `a duration is a string with a unit, e.g. "500ms" or "2s" (got ${got})`);
      }
      if (kind === 'size') {
        return where.problem(path, 'value', `a size is a string with a unit, e.g. "256KiB" (got ${got})`);
      }
      return where.problem(path, 'value', `must be ${article(String(params.type))} (got ${got})`);
    case 'pattern':
      if (kind === 'duration') {
        return where.problem(path, 'value', `not a duration: ${got} (a number and a unit: us, ms, s, m or h, e.g. "500ms")`);
      }
      if (kind === 'size') {
        return where.problem(path, 'value', `not a size: ${got} (a whole number and a unit: B, KiB, MiB or GiB, e.g. "256KiB")`);
      }
      if (path.at(-1) === 'name') {
        return where.problem(path, 'value', `must be 1..63 letters, digits, "_", "." or "-", starting with a letter or digit (got ${got})`);
      }
      return where.problem(path, 'value', `must match ${String(params.pattern)} (got ${got})`);
    case 'enum':
      return where.problem(path, 'value', `must be one of ${(params.allowedValues as unknown[]).join(', ')} (got ${got})`);
    case 'const':
      return where.problem(path, 'value', `must be ${JSON.stringify(params.allowedValue)} (got ${got})`);
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
    {
      const words: Record<string, string> = { '>=': 'at least', '<=': 'at most', '>': 'more than', '<': 'less than' };
      const cores = path.at(-1) === 'min_cores' || path.at(-1) === 'max_cores' || path.at(-1) === 'step_cores';
      const why = cores && e.keyword === 'maximum' ? ', more cores than a Linux host can have'
        : cores && e.keyword === 'minimum' ? ': the kernel takes no CPU quota under 1 ms a 100 ms period' : '';
      return where.problem(path, 'value', `must be ${words[String(params.comparison)] ?? String(params.comparison)} ${String(params.limit)} (got ${got}${why})`);
    }
    case 'minLength':
    case 'minProperties':
      return where.problem(path, 'value', 'must not be empty');
    case 'minItems':
    case 'maxItems': {
      const n = Number(params.limit);
      const got = Array.isArray(e.data) ? ` (got ${e.data.length === 0 ? 'none' : e.data.length})` : '';
      return where.problem(path, 'value', `must list ${e.keyword === 'minItems' ? 'at least' : 'at most'} ${n === 1 && e.keyword === 'minItems' ? 'one' : n}${got}`);
    }
    default:
      return where.problem(path, 'value', e.message ?? `fails ${e.keyword}`);
  }
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v !== 'string') return String(v);
  // (a file that is no policy at all, /etc/passwd, was quoted whole in its one problem)
  return v.length > MAX_GOT_CHARS ? `${JSON.stringify(v.slice(0, MAX_GOT_CHARS))}... (${v.length} characters)` : JSON.stringify(v);
}

/** A value quoted in a problem is cut after this many characters. */
const MAX_GOT_CHARS = 60;

function article(type: string): string {
  const names: Record<string, string> = { object: 'a map', array: 'a list', integer: 'an integer' };
  return names[type] ?? `a ${type}`;
}

/** ` (did you mean "cooldown"?)` for a near miss, else the keys allowed here. */
function suggest(name: string, allowed: string[]): string {
  const near = nearMiss(name, allowed);
  if (near) return ` (did you mean "${near}"?)`;
  return allowed.length > 0 ? ` (allowed here: ${allowed.join(', ')})` : '';
}

// ---------------------------------------------------------------------------------------------
// Meaning: what the schema cannot say. Each check looks only at values of the right shape, so a
// value the schema already refused is not blamed twice.

interface RawThrottle { min_cores?: unknown; max_cores?: unknown; step_cores?: unknown }
interface RawWorkload {
  name?: unknown;
  match?: unknown;
  class?: unknown;
  objectives?: { runqueue_p99?: unknown };
  cpu?: { throttle?: RawThrottle };
}
interface RawPolicy {
  version: 1;
  mode?: Mode;
  tick?: string;
  export?: { prometheus?: { enabled?: boolean; listen?: string }; otlp?: { endpoint?: string; interval?: string } };
  probes?: {
    sched?: { slow_wakeup?: string; ring_size?: string };
    fault?: { enabled?: boolean; ring_size?: string };
    blockio?: { enabled?: boolean; slow_io?: string; ring_size?: string };
    sock?: { enabled?: boolean; ring_size?: string };
    overhead_budget?: string;
  };
  forecast?: { model?: 'ewma' | 'decaying-histogram'; half_life?: string; demand_model?: DemandModel; horizons?: string[]; demand_half_life?: string; demand_workloads?: number; demand_workers?: number };
  profiles?: { enabled?: boolean; dir?: string; max_size?: string; env_keys?: string[]; min_run?: string; match?: string[] };
  rules?: {
    protect_latency?: { risk_threshold?: number; release_below?: number; min_confidence?: number; horizon?: string; cooldown?: string };
  };
  workloads?: RawWorkload[];
}

const DEFAULTS = {
  mode: 'observe' as Mode,
  tick: '1s',
  prometheusEnabled: true,
  listen: '127.0.0.1:9464',
  otlpInterval: '10s',
  slowWakeup: '10ms',
  ringSize: '256KiB',
  faultRingSize: '64KiB',
  slowIo: '100ms',
  overheadBudget: '1%',
  model: 'ewma' as const,
  halfLife: '10s',
  demandModel: 'auto' as DemandModel,
  horizons: ['5s', '60s'],
  demandHalfLife: '60s',
  demandWorkloads: 50,
  demandWorkers: 0,
  profilesDir: '/var/lib/headroom/profiles',
  profilesMaxSize: '16MiB',
  minRun: '2s',
  riskThreshold: 0.5,
  releaseBelow: 0.2,
  minConfidence: 0.3,
  horizon: '5s',
  cooldown: '3s',
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkMeaning(raw: unknown, where: Locator, problems: PolicyProblem[]): void {
  const blamed = new Set(problems.map((p) => p.field));
  const report = (path: Path, at: 'key' | 'value', message: string): void => {
    const p = where.problem(path, at, message);
    if (blamed.has(p.field)) return;
    blamed.add(p.field);
    problems.push(p);
  };
  if (!isRecord(raw)) return;
  const get = (...path: string[]): unknown =>
    path.reduce<unknown>((v, k) => (isRecord(v) ? v[k] : undefined), raw);

  // A zero period or window would spin or divide by zero.
  const positive: string[][] = [
    ['tick'],
    ['probes', 'sched', 'slow_wakeup'],
    ['forecast', 'half_life'],
    ['forecast', 'demand_half_life'],
    ['rules', 'protect_latency', 'horizon'],
  ];
  for (const path of positive) {
    const v = get(...path);
    if (typeof v === 'string' && DURATION.test(v) && parseDuration(v) === 0) {
      report(path, 'value', 'must be more than 0');
    }
  }
  // A longer tick would spin (see MAX_TIMER_MS), a longer slow-event threshold see MAX_SLOW_EVENT_MS.
  const longest: Array<[string[], number, string]> = [
    [['tick'], MAX_TIMER_MS, '596h (about 24.8 days, what a timer holds)'],
    [['export', 'otlp', 'interval'], MAX_TIMER_MS, '596h (about 24.8 days, what a timer holds)'],
    [['probes', 'sched', 'slow_wakeup'], MAX_SLOW_EVENT_MS, '1h'],
    [['probes', 'blockio', 'slow_io'], MAX_SLOW_EVENT_MS, '1h'],
    // (a throttle is given back one step per cooldown: a day's would hold a workload throttled for days)
    [['rules', 'protect_latency', 'cooldown'], MAX_COOLDOWN_MS, '1h (a throttle is given back one step per cooldown)'],
    // (a half-life of years forgets nothing: the forecast keeps the first days' figures; one of a
    // 400-digit number of hours is Infinity, and the forecast never moved from its first value)
    [['forecast', 'half_life'], MAX_HALF_LIFE_MS, '720h (30 days)'],
    [['forecast', 'demand_half_life'], MAX_HALF_LIFE_MS, '720h (30 days)'],
    [['profiles', 'min_run'], MAX_HALF_LIFE_MS, '720h (30 days; no run would be recorded)'],
  ];
  for (const [path, maxMs, said] of longest) {
    const v = get(...path);
    if (typeof v === 'string' && DURATION.test(v) && parseDuration(v) > maxMs) report(path, 'value', `must be at most ${said}; got "${v}"`);
  }
  const tick = get('tick') ?? DEFAULTS.tick;
  const tickMs = typeof tick === 'string' && DURATION.test(tick) ? parseDuration(tick) : 0;
  const horizons = get('forecast', 'horizons');
  if (Array.isArray(horizons)) {
    // the same horizon twice (5s and 5s, 60s and 1m) is forecast once: a typo for another, most likely
    const first = new Map<number, number>();
    horizons.forEach((h, i) => {
      if (typeof h !== 'string' || !DURATION.test(h)) return;
      const ms = parseDuration(h);
      const twin = first.get(ms);
      if (twin === undefined) first.set(ms, i);
      else report(['forecast', 'horizons', i], 'value', `"${h}" is the same horizon as forecast.horizons[${twin}] ("${String(horizons[twin])}"): each horizon once`);
      if (ms === 0) report(['forecast', 'horizons', i], 'value', 'must be more than 0');
      else {
        const off = horizonProblem(h, ms, tickMs, tick, '');
        if (off) report(['forecast', 'horizons', i], 'value', off);
      }
    });
  }
  const ruleHorizon = get('rules', 'protect_latency', 'horizon');
  if (typeof ruleHorizon === 'string' && DURATION.test(ruleHorizon) && parseDuration(ruleHorizon) > 0) {
    const off = horizonProblem(ruleHorizon, parseDuration(ruleHorizon), tickMs, tick, ', as the forecast horizons');
    if (off) report(['rules', 'protect_latency', 'horizon'], 'value', off);
  }

  for (const probe of ['sched', 'fault', 'blockio', 'sock']) {
    const ring = get('probes', probe, 'ring_size');
    if (typeof ring === 'string' && SIZE.test(ring)) {
      const bytes = parseSize(ring);
      if (!isRingSize(bytes)) {
        report(['probes', probe, 'ring_size'], 'value', `must be a power of two from 4KiB to 1GiB (got "${ring}" = ${bytes} bytes)`);
      }
    }
  }

  const profileBytes = get('profiles', 'max_size');
  if (typeof profileBytes === 'string' && SIZE.test(profileBytes) && parseSize(profileBytes) < 16 * 1024) {
    report(['profiles', 'max_size'], 'value', `must be at least 16KiB (got "${profileBytes}")`);
  }

  const runGlobs = get('profiles', 'match');
  if (Array.isArray(runGlobs)) {
    runGlobs.forEach((g, i) => {
      const why = typeof g === 'string' && g !== '' ? globNeverMatches(g) : undefined;
      if (why) report(['profiles', 'match', i], 'value', why);
    });
  }

  const budget = get('probes', 'overhead_budget');
  if (typeof budget === 'string' && PERCENT.test(budget)) {
    const f = parsePercent(budget);
    if (f <= 0 || f > 1) report(['probes', 'overhead_budget'], 'value', `must be more than 0% and at most 100% of one CPU (got "${budget}")`);
  }

  const listen = get('export', 'prometheus', 'listen');
  if (typeof listen === 'string' && listen !== '') {
    const parsed = parseListen(listen);
    if (typeof parsed === 'string') report(['export', 'prometheus', 'listen'], 'value', parsed);
  }

  const otlpUrl = get('export', 'otlp', 'endpoint');
  if (typeof otlpUrl === 'string') {
    const bad = badHttpUrl(otlpUrl);
    if (bad !== undefined) report(['export', 'otlp', 'endpoint'], 'value', bad);
  }
  // (a shorter period times out its own pushes: an export may take the interval)
  const otlpInterval = get('export', 'otlp', 'interval');
  if (typeof otlpInterval === 'string' && DURATION.test(otlpInterval)) {
    if (parseDuration(otlpInterval) < 1000) report(['export', 'otlp', 'interval'], 'value', `must be at least 1s; got "${otlpInterval}"`);
  }

  // Hysteresis: releasing at or above the level that throttles would flap every tick.
  const risk = get('rules', 'protect_latency', 'risk_threshold');
  const release = get('rules', 'protect_latency', 'release_below');
  const riskOk = risk === undefined || (typeof risk === 'number' && risk >= 0 && risk <= 1);
  const releaseOk = release === undefined || (typeof release === 'number' && release >= 0 && release <= 1);
  if (riskOk && releaseOk) {
    const r = (risk as number | undefined) ?? DEFAULTS.riskThreshold;
    const b = (release as number | undefined) ?? DEFAULTS.releaseBelow;
    if (b >= r) {
      if (release !== undefined) {
        const of = risk === undefined ? `${r}, the default` : `${r}`;
        report(['rules', 'protect_latency', 'release_below'], 'value', `must be below risk_threshold (${of}); got ${b}`);
      } else {
        report(['rules', 'protect_latency', 'risk_threshold'], 'value', `must be above release_below (${b}, the default); got ${r}`);
      }
    }
  }

  const workloads = get('workloads');
  if (Array.isArray(workloads)) checkWorkloads(workloads, where, report);
}

function checkWorkloads(
  workloads: unknown[],
  where: Locator,
  report: (path: Path, at: 'key' | 'value', message: string) => void,
): void {
  const firstByName = new Map<string, number>();
  workloads.forEach((w, i) => {
    if (!isRecord(w)) return;
    const at = (...rest: string[]): Path => ['workloads', i, ...rest];

    if (typeof w.name === 'string') {
      const first = firstByName.get(w.name);
      if (first === undefined) firstByName.set(w.name, i);
      else report(at('name'), 'value', `duplicate workload name "${w.name}" (first at line ${where.line(['workloads', first, 'name'])})`);
    }

    if (typeof w.match === 'string' && w.match !== '') {
      const why = globNeverMatches(w.match);
      if (why) report(at('match'), 'value', why);
    }

    const cls = w.class;
    const classOk = cls === 'critical' || cls === 'normal' || cls === 'best-effort';
    if (classOk && w.objectives !== undefined && cls !== 'critical') {
      report(at('objectives'), 'key', `only a critical workload has objectives (this one is ${cls})`);
    }
    const objective = isRecord(w.objectives) ? w.objectives.runqueue_p99 : undefined;
    if (typeof objective === 'string' && DURATION.test(objective) && parseDuration(objective) === 0) {
      report(at('objectives', 'runqueue_p99'), 'value', 'must be more than 0');
    }

    const throttle = isRecord(w.cpu) ? w.cpu.throttle : undefined;
    if (classOk && throttle !== undefined && cls !== 'best-effort') {
      report(at('cpu', 'throttle'), 'key', `only a best-effort workload may be throttled (this one is ${cls})`);
    }
    if (isRecord(throttle)) {
      const { min_cores: min, max_cores: max } = throttle;
      if (typeof min === 'number' && typeof max === 'number' && min > 0 && max > 0 && min > max) {
        report(at('cpu', 'throttle', 'min_cores'), 'value', `must be at most max_cores (${max}); got ${min}`);
      }
    }
  });
  checkMatchOverlaps(workloads, report);
}

/** A workload's name for a message: its name, else its place in the list. */
const workloadLabel = (w: Record<string, unknown>, i: number): string => (typeof w.name === 'string' ? `"${w.name}"` : `workloads[${i}]`);

/**
 * Matches that cannot work as written. A cgroup goes to the first workload whose glob matches it,
 * so a glob an earlier one repeats (or an earlier "/**") never gets a cgroup. A throttled glob
 * that matches a cgroup above a critical workload's caps that workload too (cpu.max bounds the
 * whole subtree): the agent would throttle what it protects. And the root cgroup has no CPU
 * limit to set (no cpu.max in cgroup v2, a refused quota in v1).
 */
function checkMatchOverlaps(workloads: unknown[], report: (path: Path, at: 'key' | 'value', message: string) => void): void {
  const seen: Array<{ i: number; w: Record<string, unknown>; match: string }> = [];
  workloads.forEach((w, i) => {
    if (!isRecord(w) || typeof w.match !== 'string' || w.match === '' || globNeverMatches(w.match)) return;
    const earlier = seen.find((e) => globCovers(e.match, w.match as string));
    if (earlier) {
      const how = earlier.match === w.match ? 'matches the same cgroups'
        : earlier.match === '/**' || earlier.match === '**' ? `matches every cgroup ('${earlier.match}')`
        : `matches every cgroup this one does ('${earlier.match}')`;
      report(['workloads', i, 'match'], 'value', `${workloadLabel(earlier.w, earlier.i)} ${how} and comes first: this workload would never get a cgroup`);
    }
    seen.push({ i, w, match: w.match });
  });
  const critical = seen.filter((e) => e.w.class === 'critical');
  for (const e of seen) {
    if (e.w.class !== 'best-effort' || !isRecord(e.w.cpu) || e.w.cpu.throttle === undefined) continue;
    if (e.match === '/') {
      report(['workloads', e.i, 'match'], 'value', 'the root cgroup cannot be throttled (it has no CPU limit: no cpu.max in cgroup v2, a quota refused in v1)');
      continue;
    }
    for (const c of critical) {
      const above = ancestorsOf(c.match).find((a) => matchesGlob(e.match, a));
      if (above === undefined) continue;
      report(['workloads', e.i, 'match'], 'value',
        `matches ${above}, above critical workload ${workloadLabel(c.w, c.i)} ('${c.match}'): a CPU limit there caps it too, and the agent would throttle the workload it protects`);
      break;
    }
  }
}

/**
 * Does every path `inner` matches also match `outer`? Only where that can be told segment by
 * segment, so a yes is certain and a no may be wrong (a later glob it misses is not refused):
 * each of inner's segments is outer's, or outer's is "*" and inner's holds no "**", or inner's is
 * plain text outer's matches; an outer "/**" at its end (or "**" alone) takes whatever follows.
 */
export function globCovers(outer: string, inner: string): boolean {
  if (outer === inner || outer === '**' || outer === '/**') return true;
  if (!outer.startsWith('/') || !inner.startsWith('/')) return false;
  const o = outer.split('/').slice(1);
  const n = inner.split('/').slice(1);
  const openEnd = o[o.length - 1] === '**';
  const fixed = openEnd ? o.slice(0, -1) : o;
  // (a "**" anywhere else in outer: spans of unknown depth, not compared)
  if (fixed.some((seg) => seg.includes('**'))) return false;
  if (openEnd ? n.length < fixed.length : n.length !== fixed.length) return false;
  return fixed.every((seg, k) => segmentCovers(seg, n[k]!));
}

const plainSegment = (seg: string): boolean => !/[*?]/.test(seg);

function segmentCovers(outer: string, inner: string): boolean {
  if (outer === inner) return true;
  if (outer === '*') return !inner.includes('**');
  return plainSegment(inner) && matchesGlob(outer, inner);
}

/** The cgroups above a glob's own, as paths (its wildcard segments kept as written): '/a/x?/b' -> '/', '/a', '/a/x?'. */
function ancestorsOf(glob: string): string[] {
  if (!glob.startsWith('/')) return [];
  const segments = glob.split('/').slice(1);
  const out = ['/'];
  for (let k = 1; k < segments.length; k++) {
    // ('**' stands for any depth: nothing above it is known)
    if (segments[k - 1] === '**') break;
    out.push(`/${segments.slice(0, k).join('/')}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Conversion of a valid document, defaults filled in

function toPolicy(raw: RawPolicy, file: string, where: Locator): Policy {
  const prom = raw.export?.prometheus;
  const listen = parseListen(prom?.listen ?? DEFAULTS.listen) as { host: string; port: number };
  const sched = raw.probes?.sched;
  const fault = raw.probes?.fault;
  const blockio = raw.probes?.blockio;
  const sock = raw.probes?.sock;
  const rule = raw.rules?.protect_latency;
  return {
    file,
    version: 1,
    mode: raw.mode ?? DEFAULTS.mode,
    tickMs: parseDuration(raw.tick ?? DEFAULTS.tick),
    export: {
      prometheus: { enabled: prom?.enabled ?? DEFAULTS.prometheusEnabled, ...listen },
      otlp: { endpoint: raw.export?.otlp?.endpoint ?? null, intervalMs: parseDuration(raw.export?.otlp?.interval ?? DEFAULTS.otlpInterval) },
    },
    probes: {
      sched: {
        slowWakeupMs: parseDuration(sched?.slow_wakeup ?? DEFAULTS.slowWakeup),
        ringBytes: parseSize(sched?.ring_size ?? DEFAULTS.ringSize),
      },
      fault: { enabled: fault?.enabled ?? true, ringBytes: parseSize(fault?.ring_size ?? DEFAULTS.faultRingSize) },
      blockio: {
        enabled: blockio?.enabled ?? true,
        slowIoMs: parseDuration(blockio?.slow_io ?? DEFAULTS.slowIo),
        ringBytes: parseSize(blockio?.ring_size ?? DEFAULTS.ringSize),
      },
      sock: { enabled: sock?.enabled ?? true, ringBytes: parseSize(sock?.ring_size ?? DEFAULTS.ringSize) },
      overheadBudget: parsePercent(raw.probes?.overhead_budget ?? DEFAULTS.overheadBudget),
    },
    forecast: {
      model: raw.forecast?.model ?? DEFAULTS.model,
      halfLifeMs: parseDuration(raw.forecast?.half_life ?? DEFAULTS.halfLife),
      demandModel: raw.forecast?.demand_model ?? DEFAULTS.demandModel,
      demandHalfLifeMs: parseDuration(raw.forecast?.demand_half_life ?? DEFAULTS.demandHalfLife),
      horizonsMs: [...new Set((raw.forecast?.horizons ?? DEFAULTS.horizons).map(parseDuration))].sort((a, b) => a - b),
      demandWorkloads: raw.forecast?.demand_workloads ?? DEFAULTS.demandWorkloads,
      demandWorkers: raw.forecast?.demand_workers ?? DEFAULTS.demandWorkers,
    },
    profiles: {
      enabled: raw.profiles?.enabled ?? true,
      dir: resolve(dirname(file), raw.profiles?.dir ?? DEFAULTS.profilesDir),
      dirSet: raw.profiles?.dir !== undefined,
      maxBytes: parseSize(raw.profiles?.max_size ?? DEFAULTS.profilesMaxSize),
      envKeys: [...new Set(raw.profiles?.env_keys ?? [])],
      minRunMs: parseDuration(raw.profiles?.min_run ?? DEFAULTS.minRun),
      match: [...new Set(raw.profiles?.match ?? ['/**'])],
    },
    rules: {
      protectLatency: {
        riskThreshold: rule?.risk_threshold ?? DEFAULTS.riskThreshold,
        releaseBelow: rule?.release_below ?? DEFAULTS.releaseBelow,
        minConfidence: rule?.min_confidence ?? DEFAULTS.minConfidence,
        horizonMs: parseDuration(rule?.horizon ?? DEFAULTS.horizon),
        cooldownMs: parseDuration(rule?.cooldown ?? DEFAULTS.cooldown),
      },
    },
    workloads: (raw.workloads ?? []).map((w, i) => toSelector(w, file, where.line(['workloads', i]))),
  };
}

function toSelector(w: RawWorkload, file: string, line: number): WorkloadSelector {
  const selector: WorkloadSelector = {
    name: w.name as string,
    match: w.match as string,
    class: w.class as WorkloadClass,
    source: { file, line },
  };
  if (w.objectives) {
    const p99 = w.objectives.runqueue_p99;
    selector.objectives = typeof p99 === 'string' ? { runqueueP99Ms: parseDuration(p99) } : {};
  }
  const t = w.cpu?.throttle;
  if (t) {
    const throttle: CpuThrottleBounds = {
      minCores: t.min_cores as number,
      maxCores: t.max_cores as number,
      stepCores: t.step_cores as number,
    };
    selector.cpu = { throttle };
  } else if (w.cpu) {
    selector.cpu = {};
  }
  return selector;
}
