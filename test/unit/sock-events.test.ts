// The sock probe's decoders follow bpf/events.h: sizes and offsets checked against the C
// compiler's view, then each record decoded field by field from bytes laid out by hand.
import test from 'ava';
import { cLayout as cLayoutOf } from '../helpers/c-layout.js';
import {
  AF_INET, AF_INET6, EV_TCP_CLOSE, EV_TCP_RETRANSMIT, SOCK_CONFIG_SIZE, TCP_CLOSE_SIZE, TCP_RETRANSMIT_SIZE,
  TCP_STATES, TCP_STATS_SIZE, TCP_TUPLE_SIZE, decodeSockEvent, decodeTcpClose, decodeTcpRetransmit, encodeSockConfig,
  formatAddress,
} from '../../agent/probes/sock.js';

const cLayout = (): Record<string, number> => cLayoutOf(`
  P("config", sizeof(struct hr_sock_config)); O(hr_sock_config, read_v1_cpu);
  P("stats", sizeof(struct hr_tcp_stats));
  O(hr_tcp_stats, tx_bytes); O(hr_tcp_stats, rx_bytes); O(hr_tcp_stats, retransmits); O(hr_tcp_stats, opened); O(hr_tcp_stats, closed);
  P("tuple", sizeof(struct hr_tcp_tuple));
  O(hr_tcp_tuple, saddr); O(hr_tcp_tuple, daddr); O(hr_tcp_tuple, sport); O(hr_tcp_tuple, dport); O(hr_tcp_tuple, family); O(hr_tcp_tuple, state);
  P("close", sizeof(struct hr_tcp_close));
  O(hr_tcp_close, type); O(hr_tcp_close, pid); O(hr_tcp_close, ts_ns); O(hr_tcp_close, cg); O(hr_tcp_close, tuple);
  O(hr_tcp_close, tx_bytes); O(hr_tcp_close, rx_bytes); O(hr_tcp_close, duration_ns); O(hr_tcp_close, srtt_us); O(hr_tcp_close, comm);
  P("retransmit", sizeof(struct hr_tcp_retransmit));
  O(hr_tcp_retransmit, pid); O(hr_tcp_retransmit, ts_ns); O(hr_tcp_retransmit, cg); O(hr_tcp_retransmit, tuple); O(hr_tcp_retransmit, segs);
  P("ev_close", HR_EV_TCP_CLOSE); P("ev_retransmit", HR_EV_TCP_RETRANSMIT);
`);

test('sock struct sizes and offsets match bpf/events.h', (t) => {
  const c = cLayout();
  t.is(c.config, SOCK_CONFIG_SIZE);
  t.is(c['hr_sock_config.read_v1_cpu'], 0);
  t.is(c.stats, TCP_STATS_SIZE);
  t.deepEqual(['tx_bytes', 'rx_bytes', 'retransmits', 'opened', 'closed'].map((f) => c[`hr_tcp_stats.${f}`]), [0, 8, 16, 24, 32]);
  t.is(c.tuple, TCP_TUPLE_SIZE);
  t.deepEqual(['saddr', 'daddr', 'sport', 'dport', 'family', 'state'].map((f) => c[`hr_tcp_tuple.${f}`]), [0, 16, 32, 34, 36, 38]);
  t.is(c.close, TCP_CLOSE_SIZE);
  t.deepEqual(
    ['type', 'pid', 'ts_ns', 'cg', 'tuple', 'tx_bytes', 'rx_bytes', 'duration_ns', 'srtt_us', 'comm'].map((f) => c[`hr_tcp_close.${f}`]),
    [0, 4, 8, 16, 32, 72, 80, 88, 96, 104],
  );
  t.is(c.retransmit, TCP_RETRANSMIT_SIZE);
  t.deepEqual(['pid', 'ts_ns', 'cg', 'tuple', 'segs'].map((f) => c[`hr_tcp_retransmit.${f}`]), [4, 8, 16, 32, 72]);
  t.is(c.ev_close, EV_TCP_CLOSE);
  t.is(c.ev_retransmit, EV_TCP_RETRANSMIT);
});

function writeTuple(b: Buffer, off: number, family: number, saddr: number[], daddr: number[], sport: number, dport: number, state: number): void {
  Buffer.from(saddr).copy(b, off);
  Buffer.from(daddr).copy(b, off + 16);
  b.writeUInt16LE(sport, off + 32);
  b.writeUInt16LE(dport, off + 34);
  b.writeUInt16LE(family, off + 36);
  b.writeUInt16LE(state, off + 38);
}

const view = (b: Buffer): DataView => new DataView(b.buffer, b.byteOffset, b.length);

test('closed connection decodes field by field; other records are refused', (t) => {
  const b = Buffer.alloc(TCP_CLOSE_SIZE + 8);
  const at = 8; // not at the start of the buffer, as in the ring
  b.writeUInt32LE(EV_TCP_CLOSE, at);
  b.writeUInt32LE(31337, at + 4);
  b.writeBigUInt64LE(987654321n, at + 8);
  b.writeBigUInt64LE(4026531835n, at + 16);
  b.writeBigUInt64LE(12345n, at + 24);
  writeTuple(b, at + 32, AF_INET, [198, 18, 7, 1], [198, 18, 7, 2], 40000, 5201, 4);
  b.writeBigUInt64LE(3_000_000_000n, at + 72);
  b.writeBigUInt64LE(37n, at + 80);
  b.writeBigUInt64LE(3_100_000_000n, at + 88);
  b.writeUInt32LE(250, at + 96);
  b.write('iperf3', at + 104, 'latin1');
  const d = view(b);
  const want = {
    pid: 31337, comm: 'iperf3', tsNs: 987654321n, key: { cgid: 4026531835n, cpuCgid: 12345n },
    tuple: { family: 4, saddr: '198.18.7.1', daddr: '198.18.7.2', sport: 40000, dport: 5201, state: 4 },
    txBytes: 3_000_000_000, rxBytes: 37, durationNs: 3_100_000_000, srttUs: 250,
  };
  t.deepEqual(decodeTcpClose(d, at, TCP_CLOSE_SIZE), want);
  t.deepEqual(decodeSockEvent(d, at, TCP_CLOSE_SIZE), { kind: 'close', ev: want });
  t.is(TCP_STATES[want.tuple.state], 'FIN_WAIT1');
  t.is(decodeTcpClose(d, at, TCP_CLOSE_SIZE - 8), null, 'too short');
  t.is(decodeTcpRetransmit(d, at, TCP_CLOSE_SIZE), null, 'a close is not a retransmit');
  b.writeUInt32LE(1, at);
  t.is(decodeTcpClose(d, at, TCP_CLOSE_SIZE), null, 'another type');
  t.is(decodeSockEvent(d, at, TCP_CLOSE_SIZE), null, 'another probe');
});

test('retransmit decodes field by field, IPv6 included', (t) => {
  const b = Buffer.alloc(TCP_RETRANSMIT_SIZE);
  b.writeUInt32LE(EV_TCP_RETRANSMIT, 0);
  b.writeUInt32LE(0, 4);
  b.writeBigUInt64LE(42n, 8);
  b.writeBigUInt64LE(7n, 16);
  b.writeBigUInt64LE(0n, 24);
  const s6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  const d6 = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55];
  writeTuple(b, 32, AF_INET6, s6, d6, 5201, 51234, 1);
  b.writeUInt32LE(3, 72);
  const d = view(b);
  const want = {
    pid: 0, tsNs: 42n, key: { cgid: 7n, cpuCgid: 0n }, segs: 3,
    tuple: { family: 6, saddr: '2001:db8::1', daddr: 'fe80::211:22ff:fe33:4455', sport: 5201, dport: 51234, state: 1 },
  };
  t.deepEqual(decodeTcpRetransmit(d, 0, TCP_RETRANSMIT_SIZE), want);
  t.deepEqual(decodeSockEvent(d, 0, TCP_RETRANSMIT_SIZE), { kind: 'retransmit', ev: want });
  t.is(decodeTcpRetransmit(d, 0, TCP_RETRANSMIT_SIZE - 8), null, 'too short: an older layout');
});

test('addresses format like the tools print them', (t) => {
  const addr = (bytes: number[], family: 4 | 6) => formatAddress(view(Buffer.from(bytes)), 0, family);
  t.is(addr([198, 19, 255, 254], 4), '198.19.255.254');
  t.is(addr(new Array(16).fill(0), 6), '::');
  t.is(addr([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 6), '::1');
  t.is(addr([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 18, 0, 1], 6), '::ffff:198.18.0.1');
  // only the longest zero run is compressed, and never a single zero group
  t.is(addr([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], 6), '2001:db8:0:1::1');
  t.is(addr([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1], 6), '2001:db8:0:1:1:1:1:1');
});

test('config encodes read_v1_cpu at offset 0', (t) => {
  t.deepEqual([...encodeSockConfig({ readV1Cpu: true })], [1, 0, 0, 0, 0, 0, 0, 0]);
  t.deepEqual([...encodeSockConfig({ readV1Cpu: false })], new Array(SOCK_CONFIG_SIZE).fill(0));
});
