// The ring reader against the real kernel: every record read once, in order, none lost while the
// ring has room; and a ring flooded beyond its size counts its drops and keeps working.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { kernelTest } from '../helpers/host.js';
import { headroom, projectRoot, start, sleep } from '../helpers/proc.js';
import { BpfObject, RingReader } from '../../agent/kernel/index.js';

const floodObject = resolve(projectRoot, 'build/bpf/ringflood.bpf.o');

function setTarget(obj: BpfObject, tgid: number): void {
  const key = Buffer.alloc(4);
  const cfg = Buffer.alloc(8);
  cfg.writeUInt32LE(tgid, 0);
  cfg.writeUInt32LE(0, 4); // BPF_RB_NO_WAKEUP: this reader polls the mmap'd ring
  obj.map('flood_cfg').update(key, cfg);
}

kernelTest('ring reader: every record once, in order, across wrap-arounds, no drops while there is room', (t) => {
  const obj = BpfObject.open(floodObject, { verifierLogPath: '/tmp/headroom-test-state/verifier.log', maxEntries: { flood_events: 64 * 1024 } });
  t.teardown(() => obj.close());
  obj.load();
  obj.attachAll();
  const ring = new RingReader(obj.map('flood_events'));
  t.teardown(() => ring.close());
  const seqs: bigint[] = [];
  let wrongSize = 0;
  setTarget(obj, process.pid);
  // 40 rounds of ~1,000 syscalls then a drain: ~40,000 records through a 64 KiB ring (~1,600
  // records of 40 bytes), so the reader wraps around many times.
  for (let round = 0; round < 40; round++) {
    for (let i = 0; i < 1000; i++) statSync('/');
    ring.drain((d, offsets, lengths, n) => {
      for (let i = 0; i < n; i++) {
        if (lengths[i] !== 32 || d.getUint32(offsets[i], true) !== 2) wrongSize++;
        seqs.push(d.getBigUint64(offsets[i] + 8, true));
      }
    });
  }
  setTarget(obj, 0);
  ring.drain((d, offsets, _lengths, n) => {
    for (let i = 0; i < n; i++) seqs.push(d.getBigUint64(offsets[i] + 8, true));
  });
  const dropsValue = obj.map('flood_drops').lookup(Buffer.alloc(4));
  const drops = dropsValue ? obj.map('flood_drops').perCpuValues(dropsValue).reduce((n, b) => n + Number(b.readBigUInt64LE(0)), 0) : -1;
  t.is(drops, 0);
  t.is(wrongSize, 0);
  t.true(seqs.length >= 40_000, `read ${seqs.length} records`);
  const sorted = [...seqs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  t.is(sorted[sorted.length - 1] - sorted[0], BigInt(seqs.length - 1), 'sequence numbers contiguous: none lost, none twice');
  t.is(ring.pending(), 0);
});

kernelTest('ring flooded beyond its size: drops counted and reported, the agent keeps running', async (t) => {
  // Every run-queue wait becomes an event into a one-page ring while stress-ng switches tasks
  // tens of thousands of times a second: the ring overflows between drains.
  // (it outlasts the agent's start and two ticks however slow the start: killed when done)
  const load = start('stress-ng', ['--switch', '1', '--timeout', '30s', '--quiet'], { timeoutMs: 40_000 });
  t.teardown(() => load.child.kill('SIGKILL'));
  await sleep(500);
  const r = await headroom(['top', '--json', '--count', '2', '--interval', '1', '--slow-wakeup-ms', '0', '--ring-size', '4096',
    '--state-dir', '/tmp/headroom-test-state'], { timeoutMs: 30_000 }).done;
  t.is(r.code, 0, r.stderr);
  const docs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { health: { eventsRead: number; ringDrops: number } });
  const h = docs[docs.length - 1].health;
  t.log(`events read ${h.eventsRead}, ring drops ${h.ringDrops}`);
  t.true(h.eventsRead > 100, 'events still read');
  t.true(h.ringDrops > 0, 'drops counted');
  t.true(docs[1].health.ringDrops >= docs[0].health.ringDrops, 'drops are cumulative');
});
