// Decodes sock.bpf.c: its per-CPU TCP stats map, its ring events (closed connections,
// retransmits) and its load-time settings. Layouts follow bpf/events.h field by field.
import type { BpfMap } from '../kernel/index.js';
import type { CgroupKey } from '../workloads/types.js';
import { cgKeyIn, commIn, internedCgKey, u64OverCpus } from './decode.js';

export const SOCK_CONFIG_SIZE = 8; // struct hr_sock_config
export const TCP_STATS_SIZE = 40; // struct hr_tcp_stats
export const TCP_TUPLE_SIZE = 40; // struct hr_tcp_tuple
export const TCP_CLOSE_SIZE = 120; // struct hr_tcp_close
export const TCP_RETRANSMIT_SIZE = 80; // struct hr_tcp_retransmit
export const EV_TCP_CLOSE = 5, EV_TCP_RETRANSMIT = 6;
export const AF_INET = 2, AF_INET6 = 10;

/** include/net/tcp_states.h, by number */
export const TCP_STATES = [
  '', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE',
  'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV',
] as const;

/** Cumulative figures of one workload since the program was loaded, summed over CPUs. */
export interface TcpStats {
  /** bytes the workload's tasks handed to TCP sockets (estimates when sampled) */
  txBytes: number;
  /** bytes they read from TCP sockets */
  rxBytes: number;
  /** retransmitted segments of the workload's connections */
  retransmits: number;
  /** connections established, active or passive */
  opened: number;
  /** of those, closed */
  closed: number;
}

export interface TcpTuple {
  family: 4 | 6;
  saddr: string;
  daddr: string;
  /** local port */
  sport: number;
  /** remote port */
  dport: number;
  /**
   * TCP state number (TCP_STATES): at a retransmit, the socket's; at a close, the one it left,
   * or CLOSE for a close the kernel skipped the state program for, counted at the socket's
   * destruction (or its next connect)
   */
  state: number;
}

/** A connection closed: what tcplife prints for it, and whose it was. */
export interface TcpClose {
  /** the task that connected or listened (or first used it); 0 if none was seen */
  pid: number;
  comm: string;
  tsNs: bigint;
  key: CgroupKey;
  tuple: TcpTuple;
  /** bytes the peer acknowledged (tcp_sock.bytes_acked) */
  txBytes: number;
  /** bytes received in order (tcp_sock.bytes_received) */
  rxBytes: number;
  /** first state change seen (SYN_SENT or SYN_RECV) to close (for a skipped close, to the socket's destruction: its fd's last close() if not orphaned) */
  durationNs: number;
  srttUs: number;
}

export interface TcpRetransmit {
  /** the socket's recorded owner, 0 if unknown */
  pid: number;
  tsNs: bigint;
  key: CgroupKey;
  tuple: TcpTuple;
  /** segments retransmitted since the previous event of this socket (normally those of one skb) */
  segs: number;
}

export type SockEvent = { kind: 'close'; ev: TcpClose } | { kind: 'retransmit'; ev: TcpRetransmit };

export function encodeSockConfig(cfg: { readV1Cpu: boolean }): Uint8Array {
  const b = Buffer.alloc(SOCK_CONFIG_SIZE);
  b.writeUInt32LE(cfg.readV1Cpu ? 1 : 0, 0);
  return b;
}

export function emptyTcpStats(): TcpStats {
  return { txBytes: 0, rxBytes: 0, retransmits: 0, opened: 0, closed: 0 };
}

/** Reads the whole stats map (one batched read), summing each key's per-CPU values. */
export function readSockStats(map: BpfMap): Map<string, { key: CgroupKey; stats: TcpStats }> {
  const out = new Map<string, { key: CgroupKey; stats: TcpStats }>();
  const ncpus = map.ncpus, slot = map.valueStride / ncpus;
  map.forEachEntry((keys, keyAt, values, valueAt) => {
    const k = internedCgKey(keys, keyAt);
    // (one call per field, no closure: made for every key, each tick)
    const s: TcpStats = {
      txBytes: u64OverCpus(values, valueAt, slot, ncpus),
      rxBytes: u64OverCpus(values, valueAt + 8, slot, ncpus),
      retransmits: u64OverCpus(values, valueAt + 16, slot, ncpus),
      opened: u64OverCpus(values, valueAt + 24, slot, ncpus),
      closed: u64OverCpus(values, valueAt + 32, slot, ncpus),
    };
    out.set(k.id, { key: k.key, stats: s });
  }, () => out.clear());
  return out;
}

/** An address as text: dotted IPv4, or IPv6 with the longest run of zero groups compressed. */
export function formatAddress(d: DataView, off: number, family: 4 | 6): string {
  if (family === 4) return [0, 1, 2, 3].map((i) => d.getUint8(off + i)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => d.getUint16(off + 2 * i, false));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${[12, 13, 14, 15].map((i) => d.getUint8(off + i)).join('.')}`; // IPv4-mapped
  }
  let bestAt = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}

function decodeTuple(d: DataView, off: number): TcpTuple {
  const family = d.getUint16(off + 36, true) === AF_INET6 ? 6 : 4;
  return {
    family,
    saddr: formatAddress(d, off, family),
    daddr: formatAddress(d, off + 16, family),
    sport: d.getUint16(off + 32, true),
    dport: d.getUint16(off + 34, true),
    state: d.getUint16(off + 38, true),
  };
}


/** Decodes a struct hr_tcp_close; null for a record of another type or size. */
export function decodeTcpClose(d: DataView, off: number, len: number): TcpClose | null {
  if (len < TCP_CLOSE_SIZE || d.getUint32(off, true) !== EV_TCP_CLOSE) return null;
  return {
    pid: d.getUint32(off + 4, true),
    comm: commIn(d, off + 104),
    tsNs: d.getBigUint64(off + 8, true),
    key: cgKeyIn(d, off + 16),
    tuple: decodeTuple(d, off + 32),
    txBytes: Number(d.getBigUint64(off + 72, true)),
    rxBytes: Number(d.getBigUint64(off + 80, true)),
    durationNs: Number(d.getBigUint64(off + 88, true)),
    srttUs: d.getUint32(off + 96, true),
  };
}

/** Decodes a struct hr_tcp_retransmit; null for a record of another type or size. */
export function decodeTcpRetransmit(d: DataView, off: number, len: number): TcpRetransmit | null {
  if (len < TCP_RETRANSMIT_SIZE || d.getUint32(off, true) !== EV_TCP_RETRANSMIT) return null;
  return {
    pid: d.getUint32(off + 4, true),
    tsNs: d.getBigUint64(off + 8, true),
    key: cgKeyIn(d, off + 16),
    tuple: decodeTuple(d, off + 32),
    segs: d.getUint32(off + 72, true),
  };
}

/** Either event of the "sock_events" ring, by its type; null for anything else. */
export function decodeSockEvent(d: DataView, off: number, len: number): SockEvent | null {
  if (len < 4) return null;
  switch (d.getUint32(off, true)) {
    case EV_TCP_CLOSE: {
      const ev = decodeTcpClose(d, off, len);
      return ev && { kind: 'close', ev };
    }
    case EV_TCP_RETRANSMIT: {
      const ev = decodeTcpRetransmit(d, off, len);
      return ev && { kind: 'retransmit', ev };
    }
    default:
      return null;
  }
}
