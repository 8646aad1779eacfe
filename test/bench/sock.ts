// What the sock probe costs a TCP stream: iperf3 from the host into a test network namespace
// over a veth pair (198.18.0.0/15), bandwidth with nothing traced, with the sock probe loaded
// as the agent runs it (ring drained on a 25 ms timer, stats read once a second), with the
// probe sampling its hottest events (1 in 16 send/recv lengths), and with libbpf-tools tcplife.
// Each figure is a ratio against the untraced run of the same round. Bandwidth moves with
// whatever else the host runs; so beside it, the CPU iperf3 spent per gigabyte (its own
// getrusage figures for client and server, both pinned to one CPU, where the send and receive
// paths, the probe's programs included, run in their context), and the probe's own
// cost from the kernel's run-time statistics (held on for every tracer, none included, so each
// pays the same accounting): nanoseconds per program run and the share of one CPU, figures that
// other load on the host disturbs far less than bandwidth.
//
// The probe's cost is per send()/recv() call, tcplife's per connection state change: iperf3's
// default 128 KiB writes make few calls, 1 KiB writes many (the worst case for the probe), so
// both lengths are measured.
import { existsSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { projectRoot } from '../helpers/proc.js';
import { TestNetns } from '../helpers/netns.js';
import { SockSource } from '../../agent/probes/sock-source.js';
import { RunTimeStats, type BpfObject } from '../../agent/kernel/index.js';
import { errorSummary, start, undoOnExit, type Child } from './children.js';
import { fmt, fmtX, progress, ratio, sleep, summarize, table, type Summary } from './stats.js';

export const sockObject = resolve(projectRoot, 'build/bpf/sock.bpf.o');
const stateDir = '/tmp/headroom-bench';

export type SockTracer = 'none' | 'probe' | 'probeSampled' | 'tcplife';
const TRACERS: SockTracer[] = ['none', 'probe', 'probeSampled', 'tcplife'];

export interface SockBenchOptions {
  /** iperf3 -t (default 3) */
  seconds?: number;
  /** rounds, tracers interleaved in a different order each round (default 1) */
  rounds?: number;
  /** iperf3 -l values (default 128K, iperf3's own, and 1K) */
  lengths?: string[];
  /** client on the last CPU, server on the first (iperf3 -A), when there are two or more (default true) */
  pin?: boolean;
}

/** The probe's programs over one iperf3 run. */
export interface ProbeCost {
  runs: number;
  nsPerRun: number;
  /** run time / the run's wall time: a fraction of one CPU */
  cpuFraction: number;
}

export interface SockBenchLength {
  length: string;
  /** medians over the rounds, for the two probe variants */
  probeCost: { probe: ProbeCost; probeSampled: ProbeCost };
  /** receiver's bits/s (iperf3 end.sum_received) */
  bitsPerSecond: Record<SockTracer, Summary>;
  /** per round: with the tracer / with none, same round; then the median */
  ratio: Record<SockTracer, Summary>;
  /** CPU seconds iperf3 (client and server together) spent per GB received */
  cpuSecondsPerGB: Record<SockTracer, Summary>;
  /** per round: CPU per GB with none / with the tracer (1 = free, 0.9 = 11% more CPU per byte) */
  cpuRatio: Record<SockTracer, Summary>;
  /** the probe's median ratio no worse than tcplife's */
  goalMet: boolean | null;
}

export interface SockBenchResult {
  seconds: number;
  rounds: number;
  pinned: boolean;
  byLength: SockBenchLength[];
  errors: string[];
}

function tcplifePath(): string {
  for (const p of ['/usr/sbin/tcplife', '/usr/bin/tcplife', '/usr/share/bcc/tools/tcplife']) if (existsSync(p)) return p;
  return 'tcplife';
}

/** A tracer running; stop() ends it and says what its programs cost (the probe's only). */
interface Running {
  stop(): Promise<{ runs: number; runTimeNs: number } | null>;
  check(): void;
}

async function startTracer(t: SockTracer): Promise<Running> {
  if (t === 'none') return { stop: async () => null, check: () => {} };
  if (t === 'tcplife') {
    // line-buffered, so its header says when it is attached
    const c = start('tcplife', 'stdbuf', ['-oL', tcplifePath()], { keepStdout: false, timeoutMs: 120_000 });
    try {
      await c.waitLine((l) => l.startsWith('PID'), 30_000);
    } catch (err) {
      await c.stop('SIGKILL', 0);
      throw err;
    }
    return {
      stop: async () => { await c.stop('SIGINT', 3000); return null; },
      check: () => { if (c.proc.exitCode !== null) throw new Error(`tcplife exited during the run: ${errorSummary(c.stderr())}`); },
    };
  }
  mkdirSync(stateDir, { recursive: true });
  let opened: { obj: BpfObject; source: SockSource } | null = SockSource.open(sockObject, `${stateDir}/sock-verifier.log`, {
    readV1Cpu: existsSync('/sys/fs/cgroup/cpu/cpu.shares'), ringBytes: 1 << 20,
  });
  if (t === 'probeSampled') opened.source.setKnobs({ sampleShift: 4, filter: false });
  const tick = setInterval(() => opened?.source.read(), 1000); // the agent's tick
  return {
    stop: async () => {
      clearInterval(tick);
      if (!opened) return null;
      // loaded for this run only: totals since load are this run's
      const cost = { runs: 0, runTimeNs: 0 };
      for (const { fd } of opened.obj.programFds) {
        const r = RunTimeStats.read(fd);
        cost.runs += r.runCount;
        cost.runTimeNs += r.runTimeNs;
      }
      opened.source.close();
      opened.obj.close();
      opened = null;
      return cost;
    },
    check: () => {},
  };
}

interface IperfRun {
  bitsPerSecond: number;
  cpuSecondsPerGB: number;
}

interface IperfDoc {
  error?: string;
  end?: {
    sum_received?: { bits_per_second: number; bytes: number; seconds: number };
    cpu_utilization_percent?: { host_total: number; remote_total: number };
  };
}

/** One iperf3 test into the namespace: the receiver's bits/s and both ends' CPU per GB. */
async function iperf(ns: TestNetns, seconds: number, length: string, pin: boolean): Promise<IperfRun> {
  const port = 20000 + Math.floor(Math.random() * 40000);
  const n = cpus().length;
  const server = start('iperf3-server', 'ip', ['netns', 'exec', ns.name, 'iperf3', '-s', '-1', '-B', ns.nsAddr, '-p', String(port)], { timeoutMs: (seconds + 30) * 1000 });
  let client: Child | null = null;
  try {
    await ns.waitListening(port);
    const args = ['-c', ns.nsAddr, '-B', ns.hostAddr, '-p', String(port), '-t', String(seconds), '-l', length, '-J'];
    if (pin && n >= 2) args.push('-A', `${n - 1},${n - 1}`);
    client = start('iperf3', 'iperf3', args, { timeoutMs: (seconds + 20) * 1000 });
    const x = await client.exited;
    const doc = JSON.parse(client.lines.join('\n') || '{}') as IperfDoc;
    const rx = doc.end?.sum_received, cpu = doc.end?.cpu_utilization_percent;
    if (x.code !== 0 || !rx?.bits_per_second || !cpu) throw new Error(`iperf3 failed (code ${x.code}): ${doc.error ?? errorSummary(client.stderr())}`);
    // utilization is getrusage time over the test's wall time, per end
    const cpuSeconds = ((cpu.host_total + cpu.remote_total) / 100) * rx.seconds;
    return { bitsPerSecond: rx.bits_per_second, cpuSecondsPerGB: cpuSeconds / (rx.bytes / 1e9) };
  } finally {
    await client?.stop('SIGKILL', 0);
    await server.stop('SIGKILL', 0);
  }
}

export async function benchSock(opts: SockBenchOptions = {}): Promise<SockBenchResult> {
  const seconds = opts.seconds ?? 3, rounds = opts.rounds ?? 1;
  const lengths = opts.lengths ?? ['128K', '1K'];
  const pin = opts.pin ?? true;
  if (!existsSync(sockObject)) throw new Error(`${sockObject} is missing (make build/bpf/sock.bpf.o)`);
  const errors: string[] = [];
  const ns = TestNetns.create();
  const forgetExitUndo = undoOnExit(() => ns.removeNow());
  let stats: RunTimeStats | null = null;
  try {
    try {
      stats = new RunTimeStats();
    } catch (err) {
      errors.push(`no probe cost figures: ${(err as Error).message}`);
    }
    const byLength: SockBenchLength[] = [];
    for (const length of lengths) {
      const empty = (): Record<SockTracer, number[]> => ({ none: [], probe: [], probeSampled: [], tcplife: [] });
      const bps = empty(), ratios = empty(), cpuPerGB = empty(), cpuRatios = empty();
      const costs: Record<'probe' | 'probeSampled', ProbeCost[]> = { probe: [], probeSampled: [] };
      for (let round = 0; round < rounds; round++) {
        const order = TRACERS.map((_, i) => TRACERS[(i + round) % TRACERS.length]);
        const got: Partial<Record<SockTracer, IperfRun>> = {};
        for (const t of order) {
          progress(`sock: iperf3 -l ${length} for ${seconds}s into ${ns.name}, tracer: ${t}, round ${round + 1}/${rounds}`);
          let tracer: Running | null = null;
          try {
            tracer = await startTracer(t);
            await sleep(300); // let the tracer's start-up settle
            const t0 = process.hrtime.bigint();
            got[t] = await iperf(ns, seconds, length, pin);
            const wallNs = Number(process.hrtime.bigint() - t0);
            tracer.check();
            const cost = await tracer.stop();
            tracer = null;
            if (cost && stats && (t === 'probe' || t === 'probeSampled')) {
              costs[t].push({ runs: cost.runs, nsPerRun: cost.runs ? cost.runTimeNs / cost.runs : NaN, cpuFraction: cost.runTimeNs / wallNs });
            }
          } catch (err) {
            errors.push(`-l ${length}, round ${round + 1}, ${t}: ${(err as Error).message}`);
            progress(`sock: ${t} failed: ${(err as Error).message}`);
          } finally {
            await tracer?.stop();
          }
          await sleep(300);
        }
        for (const t of TRACERS) {
          bps[t].push(got[t]?.bitsPerSecond ?? NaN);
          ratios[t].push(ratio(got[t]?.bitsPerSecond ?? NaN, got.none?.bitsPerSecond ?? NaN));
          cpuPerGB[t].push(got[t]?.cpuSecondsPerGB ?? NaN);
          cpuRatios[t].push(ratio(got.none?.cpuSecondsPerGB ?? NaN, got[t]?.cpuSecondsPerGB ?? NaN));
        }
      }
      const per = (xs: Record<SockTracer, number[]>) => Object.fromEntries(TRACERS.map((t) => [t, summarize(xs[t])])) as Record<SockTracer, Summary>;
      const ratio_ = per(ratios);
      const goal = Number.isFinite(ratio_.probe.median) && Number.isFinite(ratio_.tcplife.median)
        ? ratio_.probe.median >= ratio_.tcplife.median : null;
      const medianCost = (xs: ProbeCost[]): ProbeCost => ({
        runs: summarize(xs.map((x) => x.runs)).median,
        nsPerRun: summarize(xs.map((x) => x.nsPerRun)).median,
        cpuFraction: summarize(xs.map((x) => x.cpuFraction)).median,
      });
      byLength.push({
        length,
        probeCost: { probe: medianCost(costs.probe), probeSampled: medianCost(costs.probeSampled) },
        bitsPerSecond: per(bps),
        ratio: ratio_,
        cpuSecondsPerGB: per(cpuPerGB),
        cpuRatio: per(cpuRatios),
        goalMet: goal,
      });
    }
    return { seconds, rounds, pinned: pin && cpus().length >= 2, byLength, errors };
  } finally {
    stats?.close();
    await ns.remove();
    forgetExitUndo();
  }
}

const LABEL: Record<SockTracer, string> = {
  none: 'no tracing', probe: 'sock probe', probeSampled: 'sock probe, 1/16 sampled', tcplife: 'libbpf-tools tcplife',
};

/** The report section for `make bench`. */
export function formatSock(r: SockBenchResult): string {
  const out = [
    `TCP: iperf3 -t ${r.seconds} host -> test netns over a veth, ${r.rounds} round(s), tracers interleaved` +
      (r.pinned ? ', client and server pinned to the last CPU' : ''),
  ];
  for (const l of r.byLength) {
    const rows = [['tracer', 'Gbit/s (median)', 'vs none', 'CPU s/GB', 'CPU vs none', 'probe ns/run', 'probe CPU %']];
    for (const t of TRACERS) {
      const cost = t === 'probe' || t === 'probeSampled' ? l.probeCost[t] : null;
      rows.push([
        LABEL[t], fmt(l.bitsPerSecond[t].median / 1e9), fmtX(l.ratio[t].median, 3),
        fmt(l.cpuSecondsPerGB[t].median, 3), fmtX(l.cpuRatio[t].median, 3),
        cost ? fmt(cost.nsPerRun, 0) : '-', cost ? fmt(cost.cpuFraction * 100, 2) : '-',
      ]);
    }
    const verdict = l.goalMet === null ? 'n/a' : l.goalMet ? 'met' : 'NOT met';
    out.push(`iperf3 -l ${l.length}`, table(rows),
      `per-round bandwidth ratios: probe ${l.ratio.probe.samples.map((x) => fmt(x, 3)).join(', ')}; tcplife ${l.ratio.tcplife.samples.map((x) => fmt(x, 3)).join(', ')}`,
      `goal: the probe's bandwidth slowdown no worse than tcplife's  ->  ${verdict}`);
  }
  out.push(...r.errors.map((e) => `error: ${e}`));
  return out.join('\n');
}
