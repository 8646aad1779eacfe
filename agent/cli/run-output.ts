// What `headroom run` prints beside its decisions: the lines kept under the live table's frames
// on a terminal, and which TCP events are the agent's own metrics scrapes (not printed).
import { displayWidth, headWithin } from './display-width.js';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * Whether a connection end ("address:port", as events give it) is the metrics endpoint's: the
 * local end at its port and address (any address where it listens on all or on a host name), the
 * remote end (the scraper's side) at its port and one of this host's addresses that it listens on.
 * A workload's connection to another host's :9464 is not ours (a review: a wildcard listen hid it).
 */
export function isListenEnd(end: string, side: 'local' | 'remote', listen: { host: string; port: number }, hostAddresses: ReadonlySet<string>): boolean {
  const at = end.lastIndexOf(':');
  if (at < 0 || end.slice(at + 1) !== String(listen.port)) return false;
  const address = normalAddress(end.slice(0, at));
  const host = normalAddress(listen.host);
  const anyAddress = isIP(host) === 0 || host === '0.0.0.0' || host === '::';
  if (!anyAddress) return address === host;
  return side === 'local' || hostAddresses.has(address);
}

/** An address as one text: brackets off, IPv6 in its short lower-case form, an IPv4-mapped one as IPv4. */
function normalAddress(text: string): string {
  const bare = text.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare) !== 6) return bare;
  const short = new URL(`http://[${bare}]`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(short);
  if (!mapped) return short === '0:0:0:0:0:0:0:0' ? '::' : short;
  const [hi, lo] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** This host's addresses (its interfaces', loopback's), as normalAddress writes them. */
export function localAddresses(): Set<string> {
  const out = new Set<string>(['127.0.0.1', '::1']);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(normalAddress(a.address));
  return out;
}

/** Lines from earlier ticks kept under the table's frame on a terminal (FramedLines). */
const RECENT_LINES = 12;

/**
 * The lines under the table's frames on a terminal, where each frame clears the screen: a
 * tick's own lines, all of them, under its frame; the newest RECENT_LINES under the frames after
 * it too. Each with the time it came, as it may stay a while.
 */
export class FramedLines {
  private recent: string[] = [];
  private tick: string[] = [];

  add(line: string, at = new Date()): void {
    this.tick.push(`${at.toTimeString().slice(0, 8)} ${line}`);
  }

  /** The lines under this frame: the kept ones, then this tick's (kept from now on as the newest). */
  take(): string[] {
    const under = [...this.recent, ...this.tick];
    this.recent = under.slice(-RECENT_LINES);
    this.tick = [];
    return under;
  }
}

/** Rows a frame's table keeps on a terminal however many lines are said under it (the status, the header, a note, the last line, four workloads). */
export const FRAME_MIN_ROWS = 8;

/**
 * The lines said under a frame, as many as the terminal has room for beside FRAME_MIN_ROWS of
 * table (the newest; the others counted in a line of their own), each cut to its width: a line
 * wrapped, or more than the room, scrolled the table's status and header away.
 */
export function fitUnder(lines: readonly string[], columns: number | undefined, rows: number | undefined): string[] {
  let out = [...lines];
  if (rows !== undefined && rows > 0) {
    // (the empty line between the table and them is one row too)
    const room = Math.max(1, rows - FRAME_MIN_ROWS - 1);
    if (out.length > room) out = [`(${out.length - room + 1} earlier lines not shown: --no-table prints every one)`, ...out.slice(out.length - room + 1)];
  }
  return columns !== undefined && columns > 1 ? out.map((l) => (displayWidth(l) > columns ? `${headWithin(l, columns - 1)}~` : l)) : out;
}
