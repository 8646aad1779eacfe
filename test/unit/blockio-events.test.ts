// The blockio decoders follow bpf/events.h: sizes and offsets checked against the C compiler's
// view, then each field decoded from bytes laid out as the kernel side writes them.
import test from 'ava';
import { cLayout as cLayoutOf } from '../helpers/c-layout.js';
import {
  BLK_KEY_SIZE, BLK_STATS_SIZE, BLOCKIO_CONFIG_SIZE, EV_SLOW_IO, LAT_SLOTS, SLOW_IO_SIZE, DROP_RING_FULL, DROP_STATS_FULL,
  addBlkStats, blkKeyString, decodeBlkKey, decodeSlowIo, devString, emptyBlkStats, encodeBlockioConfig, makeDev,
} from '../../agent/probes/blockio.js';

const cLayout = (): Record<string, number> => cLayoutOf(`
  P("hr_blk_key", sizeof(struct hr_blk_key));
  O(hr_blk_key, cg); O(hr_blk_key, dev);
  P("hr_blk_stats", sizeof(struct hr_blk_stats));
  P("slots", sizeof(((struct hr_blk_stats *)0)->lat_slots) / 8);
  O(hr_blk_stats, lat_count); O(hr_blk_stats, lat_sum_ns); O(hr_blk_stats, read_bytes);
  O(hr_blk_stats, write_bytes); O(hr_blk_stats, read_ops); O(hr_blk_stats, write_ops);
  P("hr_blockio_config", sizeof(struct hr_blockio_config));
  O(hr_blockio_config, slow_io_ns); O(hr_blockio_config, read_v1_cpu);
  P("hr_slow_io", sizeof(struct hr_slow_io));
  O(hr_slow_io, type); O(hr_slow_io, pid); O(hr_slow_io, ts_ns); O(hr_slow_io, cg); O(hr_slow_io, latency_ns);
  O(hr_slow_io, sector); O(hr_slow_io, bytes); O(hr_slow_io, dev); O(hr_slow_io, op);
  P("HR_EV_SLOW_IO", HR_EV_SLOW_IO);
  P("HR_BLK_READ", HR_BLK_READ); P("HR_BLK_WRITE", HR_BLK_WRITE); P("HR_BLK_OTHER", HR_BLK_OTHER);
  P("HR_DROP_RING_FULL", HR_DROP_RING_FULL); P("HR_DROP_STATS_FULL", HR_DROP_STATS_FULL);
`);

test('blockio struct sizes and offsets match bpf/events.h', (t) => {
  const c = cLayout();
  t.is(c.hr_blk_key, BLK_KEY_SIZE);
  t.deepEqual([c['hr_blk_key.cg'], c['hr_blk_key.dev']], [0, 16]);
  t.is(c.hr_blk_stats, BLK_STATS_SIZE);
  t.is(c.slots, LAT_SLOTS);
  const tail = LAT_SLOTS * 8;
  t.deepEqual(
    ['lat_count', 'lat_sum_ns', 'read_bytes', 'write_bytes', 'read_ops', 'write_ops'].map((f) => c[`hr_blk_stats.${f}`]),
    [tail, tail + 8, tail + 16, tail + 24, tail + 32, tail + 40],
  );
  t.is(c.hr_blockio_config, BLOCKIO_CONFIG_SIZE);
  t.deepEqual([c['hr_blockio_config.slow_io_ns'], c['hr_blockio_config.read_v1_cpu']], [0, 8]);
  t.is(c.hr_slow_io, SLOW_IO_SIZE);
  t.deepEqual(
    ['type', 'pid', 'ts_ns', 'cg', 'latency_ns', 'sector', 'bytes', 'dev', 'op'].map((f) => c[`hr_slow_io.${f}`]),
    [0, 4, 8, 16, 32, 40, 48, 52, 56],
  );
  t.is(c.HR_EV_SLOW_IO, EV_SLOW_IO);
  t.deepEqual([c.HR_BLK_READ, c.HR_BLK_WRITE, c.HR_BLK_OTHER], [0, 1, 2]);
  t.deepEqual([c.HR_DROP_RING_FULL, c.HR_DROP_STATS_FULL], [DROP_RING_FULL, DROP_STATS_FULL]);
});

test('slow I/O decodes field by field; other records are refused', (t) => {
  const b = Buffer.alloc(SLOW_IO_SIZE + 8);
  const off = 8; // records start anywhere in the ring's data area
  b.writeUInt32LE(EV_SLOW_IO, off);
  b.writeUInt32LE(31337, off + 4);
  b.writeBigUInt64LE(987654321012n, off + 8);
  b.writeBigUInt64LE(101n, off + 16);
  b.writeBigUInt64LE(202n, off + 24);
  b.writeBigUInt64LE(12_500_000n, off + 32);
  b.writeBigUInt64LE(0x1_0000_0010n, off + 40); // a sector beyond 2^32: needs all 64 bits
  b.writeUInt32LE(65536, off + 48);
  b.writeUInt32LE(makeDev(7, 3), off + 52);
  b.writeUInt32LE(1, off + 56);
  const d = new DataView(b.buffer, b.byteOffset, b.length);
  t.deepEqual(decodeSlowIo(d, off, SLOW_IO_SIZE), {
    pid: 31337, tsNs: 987654321012n, key: { cgid: 101n, cpuCgid: 202n }, latencyNs: 12_500_000,
    sector: 0x1_0000_0010n, bytes: 65536, dev: (7 << 20) | 3, op: 'write',
  });
  b.writeUInt32LE(0, off + 56);
  t.is(decodeSlowIo(d, off, SLOW_IO_SIZE)!.op, 'read');
  b.writeUInt32LE(2, off + 56);
  t.is(decodeSlowIo(d, off, SLOW_IO_SIZE)!.op, 'other');
  t.is(decodeSlowIo(d, off, SLOW_IO_SIZE - 8), null, 'too short');
  b.writeUInt32LE(1 /* HR_EV_SLOW_WAKEUP */, off);
  t.is(decodeSlowIo(d, off, SLOW_IO_SIZE), null, 'another type');
});

test('stats key and per-CPU values decode and sum', (t) => {
  const key = Buffer.alloc(BLK_KEY_SIZE);
  key.writeBigUInt64LE(11n, 0);
  key.writeBigUInt64LE(22n, 8);
  key.writeUInt32LE(makeDev(254, 0), 16);
  key.writeUInt32LE(0xdeadbeef, 20); // padding is ignored
  const k = decodeBlkKey(key);
  t.deepEqual(k, { cg: { cgid: 11n, cpuCgid: 22n }, dev: 254 << 20 });
  t.is(blkKeyString(k), '11:22:254:0');

  const cpu = (base: number): Buffer => {
    const v = Buffer.alloc(BLK_STATS_SIZE);
    v.writeBigUInt64LE(BigInt(base), 3 * 8); // slot 3: [8, 16) us
    v.writeBigUInt64LE(BigInt(base * 2), 31 * 8); // the last slot
    const tail = LAT_SLOTS * 8;
    [base * 3, base * 1000, base * 4096, base * 8192, base, base * 2].forEach((n, i) => v.writeBigUInt64LE(BigInt(n), tail + i * 8));
    return v;
  };
  const s = emptyBlkStats();
  addBlkStats(s, cpu(1));
  addBlkStats(s, cpu(10));
  t.is(s.latSlots[3], 11);
  t.is(s.latSlots[31], 22);
  t.is(s.latSlots.reduce((a, b) => a + b, 0), 33);
  t.deepEqual(
    [s.latCount, s.latSumNs, s.readBytes, s.writeBytes, s.readOps, s.writeOps],
    [33, 11_000, 11 * 4096, 11 * 8192, 11, 22],
  );
});

test('config encodes the threshold in ns and the v1 flag; devices print as major:minor', (t) => {
  const b = Buffer.from(encodeBlockioConfig({ slowIoNs: 7.5e6, readV1Cpu: true }));
  t.is(b.length, BLOCKIO_CONFIG_SIZE);
  t.is(b.readBigUInt64LE(0), 7_500_000n);
  t.is(b.readUInt32LE(8), 1);
  t.is(Buffer.from(encodeBlockioConfig({ slowIoNs: 0, readV1Cpu: false })).readUInt32LE(8), 0);
  t.throws(() => encodeBlockioConfig({ slowIoNs: -1, readV1Cpu: false }), { instanceOf: RangeError });
  t.is(devString(makeDev(7, 12)), '7:12');
  t.is(devString(makeDev(259, 0x12345)), '259:74565', 'minors use 20 bits in the kernel dev_t');
  t.is(makeDev(4095, 0xfffff), 0xffffffff, 'stays an unsigned 32-bit value');
});
