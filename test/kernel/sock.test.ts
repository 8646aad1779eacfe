// The sock probe on the real kernel: iperf3 between the host and a test network namespace over
// a veth pair (198.18.0.0/15), client and server each in their own test cgroup. Bytes per
// cgroup against iperf3's own report, closed connections against libbpf-tools tcplife over the
// same runs, retransmits forced by a tiny TBF on the veth against iperf3's count, and the
// runtime knobs (sampling, cgroup filter).
import type { ExecutionContext } from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { hasBtf, isRoot, testIf } from '../helpers/host.js';
import { TestCgroup } from '../helpers/cgroups.js';
import { TestNetns } from '../helpers/netns.js';
import { projectRoot, sleep, start, startIn, waitFor, type Finished } from '../helpers/proc.js';
import { SockSource, type SockReading } from '../../agent/probes/sock-source.js';
import { emptyTcpStats, TCP_STATES, type TcpClose, type TcpRetransmit, type TcpStats } from '../../agent/probes/sock.js';
import type { BpfObject } from '../../agent/kernel/index.js';
import type { CgroupKey } from '../../agent/workloads/types.js';

const objectPath = resolve(projectRoot, 'build/bpf/sock.bpf.o');
const tcplifePath = ['/usr/sbin/tcplife', '/usr/bin/tcplife'].find((p) => existsSync(p));
const onPath = (cmd: string): boolean => (process.env.PATH ?? '/usr/bin').split(':').some((d) => existsSync(`${d}/${cmd}`));
const missing = [
  ...['iperf3', 'ip', 'tc', 'ss', 'stdbuf'].filter((c) => !onPath(c)),
  ...(tcplifePath ? [] : ['tcplife (libbpf-tools)']),
];
const can = isRoot && hasBtf && missing.length === 0;
const why = !isRoot ? 'root' : !hasBtf ? 'kernel BTF' : missing.join(', ');

/** iperf3's -J figures we compare with. */
interface IperfEnd {
  sentBytes: number;
  receivedBytes: number;
  retransmits: number;
}

function iperfEnd(run: Finished): IperfEnd {
  const doc = JSON.parse(run.stdout) as { error?: string; end?: { sum_sent?: { bytes: number; retransmits?: number }; sum_received?: { bytes: number } } };
  if (doc.error || !doc.end?.sum_sent || !doc.end.sum_received) throw new Error(`iperf3 failed: ${doc.error ?? run.stderr}`);
  return { sentBytes: doc.end.sum_sent.bytes, receivedBytes: doc.end.sum_received.bytes, retransmits: doc.end.sum_sent.retransmits ?? 0 };
}

/** The id a test cgroup's tasks carry in the probe's key: the v1 cpu kernfs id on hybrid hosts. */
const ownsKey = (cg: TestCgroup, key: CgroupKey): boolean => (cg.v2 ? key.cgid : key.cpuCgid) === cg.id();

/** Sum of the stats of every key of a test cgroup (one key, unless tasks sat in two cgroup2 groups). */
function statsOf(stats: Map<string, { key: CgroupKey; stats: TcpStats }>, cg: TestCgroup): TcpStats | null {
  let out: TcpStats | null = null;
  for (const { key, stats: s } of stats.values()) {
    if (!ownsKey(cg, key)) continue;
    out ??= emptyTcpStats();
    out.txBytes += s.txBytes; out.rxBytes += s.rxBytes; out.retransmits += s.retransmits;
    out.opened += s.opened; out.closed += s.closed;
  }
  return out;
}

interface Setup {
  ns: TestNetns;
  client: TestCgroup;
  server: TestCgroup;
  obj: BpfObject;
  source: SockSource;
}

/** Namespace, two test cgroups, the probe loaded; everything torn down after the test. */
function setUp(t: ExecutionContext, name: string): Setup {
  if (!existsSync(objectPath)) throw new Error(`${objectPath} is missing: make build/bpf/sock.bpf.o`);
  const ns = TestNetns.create();
  t.teardown(() => ns.remove());
  const tag = ns.name.slice(-8);
  const client = new TestCgroup(`${name}-client-${tag}`);
  const server = new TestCgroup(`${name}-server-${tag}`);
  t.teardown(async () => { await client.remove(); await server.remove(); });
  const { obj, source } = SockSource.open(objectPath, `/tmp/headroom-test-state/sock-verifier-${tag}.log`, {
    readV1Cpu: !client.v2, ringBytes: 1 << 20, keepRecent: 1_000_000,
  });
  t.teardown(() => { source.close(); obj.close(); });
  t.log(`netns ${ns.name}: host ${ns.hostIf} ${ns.hostAddr}, namespace ${ns.nsIf} ${ns.nsAddr}`);
  return { ns, client, server, obj, source };
}

const randomPort = (): number => 20000 + Math.floor(Math.random() * 40000);

/** One iperf3 test: a one-off server in the namespace and its cgroup, the client on the host in its own. */
async function iperf(s: Setup, args: string[], seconds: number): Promise<{ end: IperfEnd; clientPid: number; serverPid: number; port: number }> {
  const port = randomPort();
  const srv = s.ns.execIn(s.server, 'iperf3', ['-s', '-1', '-B', s.ns.nsAddr, '-p', String(port)], (seconds + 20) * 1000);
  try {
    await s.ns.waitListening(port);
    const cli = startIn(s.client, 'iperf3', ['-c', s.ns.nsAddr, '-B', s.ns.hostAddr, '-p', String(port), '-t', String(seconds), '-J', ...args], (seconds + 15) * 1000);
    const run = await cli.done;
    const end = iperfEnd(run);
    const srvDone = await Promise.race([srv.done, sleep(5000).then(() => null)]);
    if (!srvDone) throw new Error('the iperf3 server did not exit after its one test');
    return { end, clientPid: cli.child.pid!, serverPid: srv.child.pid!, port };
  } finally {
    srv.child.kill('SIGKILL');
  }
}

interface TcplifeRow {
  pid: number; comm: string; laddr: string; lport: number; raddr: string; rport: number; txKb: number; rxKb: number; ms: number;
}

function parseTcplife(text: string): TcplifeRow[] {
  const rows: TcplifeRow[] = [];
  for (const m of text.matchAll(/^(\d+)\s+(.*?)\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$/gm)) {
    rows.push({
      pid: Number(m[1]), comm: m[2], laddr: m[3], lport: Number(m[4]), raddr: m[5], rport: Number(m[6]),
      txKb: Number(m[7]), rxKb: Number(m[8]), ms: Number(m[9]),
    });
  }
  return rows;
}

/**
 * Reads until `pred` holds on the stats (closes finish shortly after the processes exit), and
 * returns the last reading with every event drained on the way (each read hands events once).
 */
async function collect(source: SockSource, pred: (r: SockReading) => boolean): Promise<SockReading> {
  const closes: TcpClose[] = [], retransmits: TcpRetransmit[] = [];
  let last = source.read();
  const take = (r: SockReading) => { closes.push(...r.closes); retransmits.push(...r.retransmits); last = r; };
  take(last);
  for (const until = Date.now() + 3000; !pred(last) && Date.now() < until;) {
    await sleep(100);
    take(source.read());
  }
  await sleep(200); // late events of the same closes
  take(source.read());
  return { ...last, closes, retransmits };
}

// iperf3's control connection carries the cookie, the parameters and the results as JSON
// (a few hundred bytes each way per test) on top of the data iperf3 counts: up to 16 KiB per
// direction over the two runs is allowed, and never less than iperf3's figure. tx is exact
// (write() return values on both sides); rx as well for the reader's own count.
const CONTROL_SLACK = 16 * 1024;
/**
 * What a close event's bytes acked may fall short of the bytes written: a send buffer's worth
 * left unacked at a teardown, the most TCP autotunes it to (net.ipv4.tcp_wmem's third field;
 * iperf3 sets no SO_SNDBUF). CI: 714 bytes short once, 3.7 MB another time, at 4 MiB here.
 */
const IN_FLIGHT_SLACK = ((): number => {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/tcp_wmem', 'utf8').trim().split(/\s+/)[2]) || 4 * 1024 * 1024;
  } catch {
    return 4 * 1024 * 1024;
  }
})();

testIf(can, why, 'sock: bytes per cgroup match iperf3 both ways; opens and closes counted; close events match tcplife', async (t) => {
  const s = setUp(t, 'sock');
  // tcplife first, line-buffered so its header says when it is attached; SIGINT flushes it
  const life = start('stdbuf', ['-oL', tcplifePath!, '-w'], { timeoutMs: 50_000 });
  t.teardown(() => { life.child.kill('SIGKILL'); });
  await waitFor(() => life.stdout().includes('PID'), 'tcplife attached', 15_000);

  const fwd = await iperf(s, [], 3); // client sends
  const rev = await iperf(s, ['-R'], 3); // client receives
  const r = await collect(s.source, (x) => (statsOf(x.stats, s.client)?.closed ?? 0) >= 4 && (statsOf(x.stats, s.server)?.closed ?? 0) >= 4);
  life.child.kill('SIGINT');
  const peer = await life.done;
  t.is(r.ringDrops, 0, 'no ring drops');
  t.is(r.statsDrops, 0, 'no stats-map drops');

  const c = statsOf(r.stats, s.client), v = statsOf(r.stats, s.server);
  t.truthy(c && v, 'both test cgroups have TCP stats');
  if (!c || !v) return;
  t.log(`client cgroup: tx ${c.txBytes} B (iperf3 sent ${fwd.end.sentBytes}), rx ${c.rxBytes} B (iperf3 -R received ${rev.end.receivedBytes}), opened ${c.opened}, closed ${c.closed}, retransmits ${c.retransmits}`);
  t.log(`server cgroup: rx ${v.rxBytes} B (iperf3 server received ${fwd.end.receivedBytes}), tx ${v.txBytes} B (iperf3 -R server sent ${rev.end.sentBytes}), opened ${v.opened}, closed ${v.closed}`);
  const within = (ours: number, theirs: number, what: string) => {
    const d = ours - theirs;
    t.true(d >= 0 && d <= CONTROL_SLACK, `${what}: ours ${ours} - iperf3 ${theirs} = ${d} B, expected 0..${CONTROL_SLACK} (control connection)`);
  };
  within(c.txBytes, fwd.end.sentBytes, 'client tx');
  // iperf3 -R: the client stops counting when its test ends but still reads what is in flight
  // (about 1 MB here), so its figure is a floor; the ceiling is what the kernel received on the
  // client's sockets (tcp_sock.bytes_received in our close events, the same as tcplife's RX_KB).
  const clientReceived = r.closes.filter((e) => e.tuple.saddr === s.ns.hostAddr && e.tuple.daddr === s.ns.nsAddr)
    .reduce((n, e) => n + e.rxBytes, 0);
  t.log(`client rx: iperf3 counted ${rev.end.receivedBytes} <= read ${c.rxBytes} <= the kernel received ${clientReceived}`);
  t.true(c.rxBytes >= rev.end.receivedBytes && c.rxBytes <= clientReceived, 'client rx between iperf3\'s count and the bytes received');
  within(v.rxBytes, fwd.end.receivedBytes, 'server rx (passive side, in the namespace)');
  within(v.txBytes, rev.end.sentBytes, 'server tx (passive side, in the namespace)');
  // Even unshaped, the veth's backlog drops a little at these rates: the sender's retransmits
  // (fwd: the client's, -R: the server's) at least what iperf3 read from TCP_INFO at its end,
  // at most 10% + 20 more (the tail still queued then).
  t.log(`retransmits: client ${c.retransmits} (iperf3 ${fwd.end.retransmits}), server ${v.retransmits} (iperf3 -R ${rev.end.retransmits})`);
  for (const [ours, theirs, who] of [[c.retransmits, fwd.end.retransmits, 'client'], [v.retransmits, rev.end.retransmits, 'server']] as const) {
    t.true(ours >= theirs && ours <= theirs * 1.1 + 20, `${who} retransmits ${ours} vs iperf3 ${theirs}`);
  }
  // each test: a control and a data connection; the client opened them, the server accepted them
  t.deepEqual([c.opened, c.closed], [4, 4], 'client cgroup: 4 connections opened (active) and closed');
  t.deepEqual([v.opened, v.closed], [4, 4], 'server cgroup: 4 connections accepted (passive) and closed');

  // Closed connections: ours against tcplife's, matched by their four-tuple. Both sides of each
  // connection run on this kernel, so 4 connections make 8 rows.
  const mine = r.closes.filter((e) => [e.tuple.saddr, e.tuple.daddr].includes(s.ns.nsAddr));
  const theirs = parseTcplife(peer.stdout).filter((row) => [row.laddr, row.raddr].includes(s.ns.nsAddr));
  t.is(theirs.length, 8, `tcplife printed 8 rows for the namespace:\n${peer.stdout.slice(-3000)}`);
  t.is(mine.length, 8, `the probe sent 8 close events for the namespace:\n${mine.map((e) => `${e.tuple.saddr}:${e.tuple.sport} -> ${e.tuple.daddr}:${e.tuple.dport} from ${e.tuple.state} pid ${e.pid}`).join('\n')}`);
  const ports = new Set([fwd.port, rev.port]);
  for (const row of theirs) {
    const e = mine.find((x: TcpClose) => x.tuple.saddr === row.laddr && x.tuple.sport === row.lport && x.tuple.daddr === row.raddr && x.tuple.dport === row.rport);
    const what = `${row.laddr}:${row.lport} -> ${row.raddr}:${row.rport}`;
    if (!e) { t.fail(`no close event for ${what} among\n${mine.map((x) => `${x.tuple.saddr}:${x.tuple.sport} -> ${x.tuple.daddr}:${x.tuple.dport} from ${x.tuple.state} pid ${x.pid}`).join('\n')}`); continue; }
    const clientSide = row.laddr === s.ns.hostAddr;
    t.log(`${what}: ours tx ${(e.txBytes / 1024).toFixed(2)} KB rx ${(e.rxBytes / 1024).toFixed(2)} KB ${(e.durationNs / 1e6).toFixed(2)} ms pid ${e.pid} srtt ${e.srttUs} us; tcplife tx ${row.txKb} rx ${row.rxKb} ${row.ms} ms pid ${row.pid}`);
    // Same tracepoint, same moment, same tcp_sock fields: equal to tcplife's two decimals.
    t.true(Math.abs(e.txBytes / 1024 - row.txKb) <= 0.006, `${what}: tx ${e.txBytes / 1024} KB vs ${row.txKb}`);
    t.true(Math.abs(e.rxBytes / 1024 - row.rxKb) <= 0.006, `${what}: rx ${e.rxBytes / 1024} KB vs ${row.rxKb}`);
    // tcplife times from ESTABLISHED, we from SYN_SENT/SYN_RECV: ours is longer by the
    // handshake (microseconds on a veth); 20 ms allows a descheduled handshake on a busy VM.
    // At close tcplife reads the clock after our program has run, and prints two decimals: ours
    // may end that much sooner. 0.5 ms: a program run is a microsecond on a quiet VM, but on one
    // whose host pages its memory out (cold maps) runs of 10-50 us were seen, and a close 0.106 ms
    // apart. (A wrong closing state would differ by a round trip, microseconds on a veth: the
    // tighter bound never told those apart either.)
    const dMs = e.durationNs / 1e6 - row.ms;
    t.true(dMs >= -0.5 && dMs <= 20, `${what}: duration ${(e.durationNs / 1e6).toFixed(3)} ms vs tcplife ${row.ms} ms`);
    t.true(ports.has(clientSide ? e.tuple.dport : e.tuple.sport), `${what}: an iperf3 port`);
    // attributed to the task that connected (client) or listened (server), and its cgroup
    t.true(ownsKey(clientSide ? s.client : s.server, e.key), `${what}: attributed to the ${clientSide ? 'client' : 'server'} cgroup`);
    t.is(e.comm, 'iperf3', `${what}: comm`);
    const run = (clientSide ? e.tuple.dport : e.tuple.sport) === fwd.port ? fwd : rev;
    t.is(e.pid, clientSide ? run.clientPid : run.serverPid, `${what}: pid of the iperf3 that ${clientSide ? 'connected' : 'listened'}`);
    // tcplife takes the pid at connect() too; on the server side it takes whoever runs at close
    if (clientSide) t.is(row.pid, e.pid, `${what}: tcplife's pid`);
  }
});

testIf(can, why, 'sock: retransmits forced by a tiny TBF on the veth are counted and attributed to the sender', async (t) => {
  const s = setUp(t, 'sockrtx');
  // 20 Mbit/s with a 4 KiB bucket and an 8 KiB queue: GSO bursts are split and their tails
  // dropped past the sender's own stack, so TCP has to retransmit.
  s.ns.hostQdisc(['tbf', 'rate', '20mbit', 'burst', '4kb', 'limit', '8kb']);
  const run = await iperf(s, [], 3);
  const r = await collect(s.source, (x) => (statsOf(x.stats, s.client)?.closed ?? 0) >= 2);
  // read() takes the stats map before the ring, and the kernel counts a retransmit before it
  // submits its event, so the events cover the counts but for one caught between the two on
  // another CPU as the last read ran (before the order was fixed, seen once in CI: 1586 counted,
  // 1585 in events): read until the two agree, 2 s at most
  const segsOf = (): number => r.retransmits.filter((e) => ownsKey(s.client, e.key)).reduce((n, e) => n + e.segs, 0);
  for (const until = Date.now() + 2000; segsOf() !== (statsOf(r.stats, s.client)?.retransmits ?? 0) && Date.now() < until;) {
    await sleep(100);
    const more = s.source.read();
    r.retransmits.push(...more.retransmits);
    r.closes.push(...more.closes);
    r.stats = more.stats;
    r.ringDrops = more.ringDrops;
  }
  const c = statsOf(r.stats, s.client), v = statsOf(r.stats, s.server);
  t.truthy(c, 'client cgroup has TCP stats');
  if (!c) return;
  const events = r.retransmits.filter((e) => ownsKey(s.client, e.key));
  const segs = events.reduce((n, e) => n + e.segs, 0);
  t.log(`iperf3 retransmits ${run.end.retransmits}; probe: client cgroup ${c.retransmits} segments in ${events.length} events (${segs} segments), server cgroup ${v?.retransmits ?? 0}; ring drops ${r.ringDrops}`);
  t.true(run.end.retransmits >= 20, `the TBF forced retransmits (iperf3 counted ${run.end.retransmits})`);
  // iperf3 reads tcpi_total_retrans when its test ends; the tail still queued then may be
  // retransmitted after (about 2% of the run at 20 Mbit/s): ours is at least iperf3's, at
  // most 10% + 20 above.
  t.true(c.retransmits >= run.end.retransmits, `ours ${c.retransmits} >= iperf3 ${run.end.retransmits}`);
  t.true(c.retransmits <= run.end.retransmits * 1.1 + 20, `ours ${c.retransmits} within 10% + 20 of iperf3 ${run.end.retransmits}`);
  t.is(r.ringDrops, 0, 'no ring drops');
  t.is(segs, c.retransmits, 'the events carry every counted segment');
  // Retransmits run from timers and softirqs; they reach the sender through its socket's owner.
  t.true(events.every((e) => e.pid === run.clientPid), 'every event names the iperf3 client');
  t.true(events.every((e) => e.tuple.saddr === s.ns.hostAddr && e.tuple.daddr === s.ns.nsAddr && e.tuple.dport === run.port), 'every event is on the data connection');
  // the server only sends acks and a little control data, on the unshaped way back
  t.true((v?.retransmits ?? 0) <= 2, `server cgroup retransmits ${v?.retransmits ?? 0}`);
});

testIf(can, why, 'sock: a close the state program did not see (the kernel skipped its run) is counted when the socket is freed', async (t) => {
  const s = setUp(t, 'sockmiss');
  const running = iperf(s, [], 3);
  let ended = false;
  void running.then(() => (ended = true), () => (ended = true));
  // both of the client's connections (control, data) established and counted ...
  await waitFor(() => (statsOf(s.source.read().stats, s.client)?.opened ?? 0) >= 2, 'the client\'s two connections opened', 10_000);
  // ... then the state program goes, as if every later run of it were skipped: the kernel skips
  // a run while that program runs on the CPU (a softirq's close during a task's), and says so
  // only in its recursion_misses (seen in CI: 2 opened, 1 closed, on the knobs test below)
  t.true(s.obj.detach('hr_sock_state'), 'the state program was attached');
  t.false(ended, 'detached while iperf3 still ran (its closes still to come)');
  const run = await running;
  const r = await collect(s.source, (x) => (statsOf(x.stats, s.client)?.closed ?? 0) >= 2);
  const c = statsOf(r.stats, s.client);
  const closes = r.closes.filter((e) => ownsKey(s.client, e.key));
  t.log(`client cgroup: opened ${c?.opened}, closed ${c?.closed}; close events ${closes.map((e) => `${e.tuple.sport}->${e.tuple.dport} tx ${e.txBytes} rx ${e.rxBytes} ${(e.durationNs / 1e6).toFixed(0)} ms`).join(', ')}; missed runs ${r.missedRuns}`);
  t.deepEqual([c?.opened, c?.closed], [2, 2], 'both closes counted, at the sockets\' destruction');
  t.is(closes.length, 2, 'a close event for each');
  t.true(closes.every((e) => e.pid === run.clientPid && e.comm === 'iperf3' && e.tuple.dport === run.port), 'each names the iperf3 client and its server\'s port');
  t.true(closes.every((e) => TCP_STATES[e.tuple.state] === 'CLOSE'), 'the state each left is not known then: CLOSE');
  // bytes and lifespan as at the close: the data connection carried what iperf3 sent. A close
  // event's tx is the bytes acked (as tcplife's): bytes still in flight when the connection is
  // torn down at the test's end were written, and counted by iperf3, but never acked
  // (IN_FLIGHT_SLACK)
  const data = closes.reduce((a, b) => (a.txBytes >= b.txBytes ? a : b));
  t.true(data.txBytes >= run.end.sentBytes - IN_FLIGHT_SLACK && data.txBytes <= run.end.sentBytes + CONTROL_SLACK, `data connection tx ${data.txBytes} vs iperf3 ${run.end.sentBytes}`);
  t.true(data.durationNs / 1e9 >= 2.9, `lifespan ${(data.durationNs / 1e9).toFixed(2)} s of a 3 s test`);
});

testIf(can, why, 'sock: knobs sample the byte counts (estimates stay close) and filter workloads out', async (t) => {
  const s = setUp(t, 'sockknob');
  // count 1 in 16 send/recv calls, each weighted 16; keep only the client's cgroup
  s.source.setKnobs({ sampleShift: 4, filter: true });
  s.source.setFilter([s.client.filterKey()]);
  const run = await iperf(s, [], 2);
  const r = await collect(s.source, (x) => (statsOf(x.stats, s.client)?.closed ?? 0) >= 2);
  const c = statsOf(r.stats, s.client), v = statsOf(r.stats, s.server);
  t.truthy(c, 'client cgroup has TCP stats');
  if (!c) return;
  const err = c.txBytes / run.end.sentBytes - 1;
  t.log(`sampled 1/16: client tx estimate ${c.txBytes} B vs iperf3 ${run.end.sentBytes} B (${(err * 100).toFixed(1)}%); server cgroup ${v ? JSON.stringify(v) : 'absent'}`);
  // iperf3 writes 128 KiB at a time: some 25k writes in 2 s here, ~1/16 of them counted; the
  // binomial error of the estimate is sqrt(15 / writes), about 2.5% (one sigma), so 12% is about
  // five sigma. Five sigma of this run's writes where fewer went (a slow host's 2 s), up to 25%
  // (6,000 writes: fewer say little of the estimate)
  const writes = Math.max(1, run.end.sentBytes / (128 * 1024));
  const bound = Math.min(0.25, Math.max(0.12, 5 * Math.sqrt(15 / writes)));
  t.true(Math.abs(err) < bound, `estimate within ${(bound * 100).toFixed(0)}% (${(err * 100).toFixed(1)}%, ${writes.toFixed(0)} writes)`);
  t.true(c.txBytes % 16 === 0, 'every counted write weighs 16');
  t.deepEqual([c.opened, c.closed], [2, 2], `opens and closes are not sampled (the probe's runs the kernel skipped: ${r.missedRuns})`);
  t.is(v, null, 'the filtered-out server cgroup has no stats');
  const serverSide = r.closes.filter((e) => e.tuple.saddr === s.ns.nsAddr);
  const clientSide = r.closes.filter((e) => e.tuple.saddr === s.ns.hostAddr);
  t.is(serverSide.length, 0, 'no close events for the filtered-out server');
  t.is(clientSide.length, 2, 'close events for the client');
});
