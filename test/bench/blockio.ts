// What tracing block I/O costs: fio IOPS on a loop device with nothing tracing, with the agent's
// blockio probe (loaded and read here once a second, as the agent's tick does), and with
// libbpf-tools biolatency (its default: every disk, one histogram), as ratios against the
// untraced run. The loop device, fio and biolatency parts are test/helpers/loop.ts.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { BlockioSource } from '../../agent/probes/blockio-source.js';
import { RunTimeStats, type BpfObject } from '../../agent/kernel/index.js';
import { detectCgroupLayout } from '../../agent/workloads/layout.js';
import { projectRoot } from '../helpers/proc.js';
import { biolatencyPath, createLoopDevice, fioArgs, parseFio, type FioJob, type FioResult } from '../helpers/loop.js';
import { start, undoOnExit } from './children.js';
import { fmt, fmtX, progress, ratio, sleep, table } from './stats.js';

// ---------------------------------------------------------------------------------------------
// The bench

type Tracer = 'none' | 'blockio' | 'biolatency';

export interface BlockioBenchOptions {
  /** seconds of fio per run */
  seconds?: number;
  /** runs per tracer, interleaved, a different order each round (default 3) */
  rounds?: number;
  /** where the loop device's backing file lives: /dev/shm (default: tmpfs, so the traced
   * I/O path is short and the tracers' per-I/O cost shows) or a directory on a real disk */
  backingDir?: string;
  /** build/bpf/blockio.bpf.o by default */
  objectPath?: string;
}

export interface BlockioBenchResult {
  device: string;
  backingDir: string;
  job: string;
  /** the CPU fio was pinned to, null when free */
  fioCpu: number | null;
  rounds: number;
  /** fio read+write IOPS per round */
  iops: Record<Tracer, number[]>;
  /** per round, IOPS with the tracer / IOPS with none in the same round; then the median */
  ratio: Record<Tracer, number>;
  /** blockio / biolatency ratios: above 1 means the probe slowed fio less than the peer */
  vsPeer: number;
  /** what the probe saw on the device, a sanity check that it was tracing: its ops / fio's */
  probeOpsVsFio: number;
  /** CPU time in each tool's BPF programs per fio I/O (ns), each tool alone on one fio run with
   * the kernel's run-time statistics on: the figure IOPS noise cannot hide */
  bpfNsPerIo: { blockio: number; biolatency: number; programs: Record<string, number> } | null;
  errors: string[];
}

const median = (xs: number[]): number => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return v.length ? (v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2) : NaN;
};

export async function benchBlockio(opts: BlockioBenchOptions = {}): Promise<BlockioBenchResult> {
  const seconds = opts.seconds ?? 5;
  const rounds = opts.rounds ?? 3;
  const backingDir = opts.backingDir ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
  const peer = biolatencyPath();
  if (!peer) throw new Error('biolatency (libbpf-tools) not found');
  const objectPath = opts.objectPath ?? resolve(projectRoot, 'build/bpf/blockio.bpf.o');
  const loop = createLoopDevice(128, { dir: backingDir, directIo: backingDir !== '/dev/shm' });
  // SIGINT ends the bench with process.exit, past this function's finally
  const forgetExitUndo = undoOnExit(() => loop.remove());
  const job: FioJob = { filename: loop.path, seconds, rw: 'randread', ioengine: 'psync', bs: '4k', size: '96M' };
  const iops: Record<Tracer, number[]> = { none: [], blockio: [], biolatency: [] };
  const errors: string[] = [];
  let probeOpsVsFio = NaN;
  let bpfNsPerIo: BlockioBenchResult['bpfNsPerIo'] = null;
  const tracers: Tracer[] = ['none', 'blockio', 'biolatency'];
  try {
    for (let round = 0; round < rounds; round++) {
      const order = tracers.map((_, i) => tracers[(i + round) % tracers.length]);
      for (const t of order) {
        progress(`blockio: fio ${job.rw} ${job.bs} on ${loop.name} for ${seconds}s, tracer: ${t}, round ${round + 1}/${rounds}`);
        try {
          const r = await runTraced(t === 'none' ? [] : [t], job, objectPath, peer, loop.dev);
          iops[t].push(r.fio.iops);
          if (t === 'blockio' && r.probeOps !== null) probeOpsVsFio = r.probeOps / (r.fio.readIos + r.fio.writeIos);
        } catch (err) {
          iops[t].push(NaN);
          errors.push(`round ${round + 1}, ${t}: ${(err as Error).message}`);
          progress(`blockio: ${t} failed: ${(err as Error).message}`);
        }
        await sleep(300);
      }
    }
    // Each tool alone (on a tracepoint the program that runs first takes the cache misses on
    // the request), the kernel's run-time statistics on: CPU in BPF per I/O, which IOPS noise
    // on a shared VM cannot hide.
    try {
      const cost = { blockio: NaN, biolatency: NaN, programs: {} as Record<string, number> };
      for (const t of ['blockio', 'biolatency'] as const) {
        progress(`blockio: ${t} alone, BPF run-time statistics on`);
        const r = (await runTraced([t], job, objectPath, peer, loop.dev, true)).bpfNsPerIo!;
        cost[t] = r[t];
        Object.assign(cost.programs, r.programs);
      }
      bpfNsPerIo = cost;
    } catch (err) {
      errors.push(`program cost: ${(err as Error).message}`);
    }
  } finally {
    forgetExitUndo();
    loop.remove();
  }
  const perRound = (t: Tracer): number[] => iops[t].map((v, i) => ratio(v, iops.none[i]));
  const r = { none: median(perRound('none')), blockio: median(perRound('blockio')), biolatency: median(perRound('biolatency')) };
  return {
    device: `${loop.name} (${loop.majorMinor})`, backingDir, job: `fio ${fioArgs(job).slice(2).join(' ')}`, fioCpu: fioCpu(), rounds,
    iops, ratio: r, vsPeer: ratio(r.blockio, r.biolatency), probeOpsVsFio, bpfNsPerIo, errors,
  };
}

const perRoundRatios = (b: BlockioBenchResult, t: Tracer): string =>
  b.iops[t].map((v, i) => fmt(ratio(v, b.iops.none[i]), 3)).join(', ');

/** The bench's section of the report, in the style of test/bench/main.ts. */
export function printBlockio(b: BlockioBenchResult): string {
  const label: Record<Tracer, string> = { none: 'no tracing', blockio: 'headroom blockio probe', biolatency: 'libbpf-tools biolatency' };
  const rows = [
    ['tracer', 'fio IOPS (median)', 'min', 'max', 'vs none (median of per-round ratios)'],
    ...(['none', 'blockio', 'biolatency'] as const).map((t) => {
      const v = b.iops[t].filter(Number.isFinite);
      return [label[t], fmt(median(v), 0), fmt(Math.min(...v), 0), fmt(Math.max(...v), 0), fmtX(b.ratio[t], 3)];
    }),
  ];
  const verdict = Number.isFinite(b.vsPeer) ? (b.vsPeer >= 1 ? 'met' : 'NOT met') : 'n/a';
  const cost = b.bpfNsPerIo;
  const costVerdict = cost ? (cost.blockio <= cost.biolatency ? 'met' : 'NOT met') : 'n/a';
  return [
    `Block I/O tracing overhead: ${b.job}, on ${b.device} over a file in ${b.backingDir}, ${b.rounds} round(s) interleaved` +
      (b.fioCpu !== null ? `, fio pinned to CPU ${b.fioCpu}` : ''),
    table(rows),
    `per-round ratios: probe ${perRoundRatios(b, 'blockio')}; biolatency ${perRoundRatios(b, 'biolatency')}`,
    `probe's operations on the device / fio's: ${fmt(b.probeOpsVsFio, 4)} (it was tracing)`,
    cost
      ? `CPU in BPF programs per fio I/O, each tool alone on one run: probe ${fmt(cost.blockio, 0)} ns, biolatency ${fmt(cost.biolatency, 0)} ns ` +
        `(${Object.entries(cost.programs).map(([n, v]) => `${n} ${fmt(v, 0)}`).join(', ')})`
      : 'CPU in BPF programs per fio I/O: not measured',
    `goal: the probe's cost no worse than biolatency's  ->  IOPS ratio ${fmtX(b.vsPeer, 3)}: ${verdict}; BPF ns per I/O: ${costVerdict}`,
    ...b.errors.map((e) => `error: ${e}`),
  ].join('\n');
}

/** fio (one job) on the last CPU, the tracers' user-space parts free to run elsewhere, as the
 * overhead bench pins stress-ng (HR_BENCH_STRESS_PIN=0: unpinned, much noisier here). */
function fioCpu(): number | null {
  const n = cpus().length;
  return n >= 2 && process.env.HR_BENCH_STRESS_PIN !== '0' ? n - 1 : null;
}

interface Traced {
  fio: FioResult;
  probeOps: number | null;
  bpfNsPerIo: BlockioBenchResult['bpfNsPerIo'];
}

/** One fio run with these tracers attached; `measureCost`: kernel run-time statistics on. */
async function runTraced(
  tracers: Exclude<Tracer, 'none'>[], job: FioJob, objectPath: string, peer: string, dev: number, measureCost = false,
): Promise<Traced> {
  const stops: (() => Promise<void>)[] = [];
  let probe: { obj: BpfObject; source: BlockioSource } | null = null;
  let peerProgs: Set<number> | null = null;
  let runStats: RunTimeStats | null = null;
  try {
    if (measureCost) runStats = new RunTimeStats();
    if (tracers.includes('blockio')) {
      // as the agent loads it on this host, read once a tick
      const p = BlockioSource.open(objectPath, resolve(projectRoot, 'build/blockio-bench-verifier.log'), {
        slowIoMs: 10, readV1Cpu: detectCgroupLayout().kind === 'hybrid',
      });
      probe = p;
      const tick = setInterval(() => p.source.read(), 1000);
      stops.push(async () => { clearInterval(tick); p.source.close(); p.obj.close(); });
    }
    if (tracers.includes('biolatency')) {
      // its "Tracing block device I/O" line, printed once attached, is block-buffered on a pipe
      const stdbuf = ['/usr/bin/stdbuf', '/bin/stdbuf'].find((p) => existsSync(p));
      const c = stdbuf ? start('biolatency', stdbuf, ['-oL', peer], { timeoutMs: (job.seconds + 60) * 1000 })
        : start('biolatency', peer, [], { timeoutMs: (job.seconds + 60) * 1000 });
      const idsBefore = loadedProgramIds();
      stops.push(async () => { await c.stop('SIGINT', 3000); });
      if (stdbuf) await c.waitLine((l) => l.includes('Tracing'), 30_000);
      else await sleep(2000);
      // its programs: block_rq_* programs that appeared while it started
      peerProgs = new Set([...loadedProgramIds(/^block_rq_/)].filter((id) => !idsBefore.has(id)));
    }
    await sleep(300); // let the tracers' start-up settle
    const before = measureCost ? programCosts(probe?.obj ?? null, peerProgs) : null;
    const cpu = fioCpu();
    const f = cpu === null
      ? start('fio', 'fio', fioArgs(job), { timeoutMs: (job.seconds + 60) * 1000 })
      : start('fio', 'taskset', ['-c', String(cpu), 'fio', ...fioArgs(job)], { timeoutMs: (job.seconds + 60) * 1000 });
    const x = await f.exited;
    if (x.code !== 0) throw new Error(`fio failed (code ${x.code}): ${f.output().slice(-400)}`);
    const fio = parseFio(f.lines.join('\n'));
    const ios = fio.readIos + fio.writeIos;
    let bpfNsPerIo: Traced['bpfNsPerIo'] = null;
    if (before) {
      const after = programCosts(probe?.obj ?? null, peerProgs);
      const programs: Record<string, number> = {};
      let ours = 0, theirs = 0;
      for (const [name, ns] of Object.entries(after)) {
        const per = (ns - (before[name] ?? 0)) / ios;
        programs[name] = per;
        if (name.startsWith('hr_')) ours += per;
        else theirs += per;
      }
      bpfNsPerIo = { blockio: ours, biolatency: theirs, programs };
    }
    let probeOps: number | null = null;
    if (probe) {
      probeOps = 0;
      for (const { key, stats } of probe.source.read().stats.values()) if (key.dev === dev) probeOps += stats.readOps + stats.writeOps;
    }
    return { fio, probeOps, bpfNsPerIo };
  } finally {
    for (const stop of stops.reverse()) await stop();
    runStats?.close();
  }
}

function bpftoolPrograms(): { id: number; name: string; run_time_ns?: number }[] {
  return JSON.parse(execFileSync('bpftool', ['prog', 'show', '--json'], { encoding: 'utf8' })) as { id: number; name: string; run_time_ns?: number }[];
}

function loadedProgramIds(name?: RegExp): Set<number> {
  return new Set(bpftoolPrograms().filter((p) => !name || name.test(p.name)).map((p) => p.id));
}

/** Run time (ns) so far of the probe's programs (hr_*) and of biolatency's (by program id). */
function programCosts(obj: BpfObject | null, peerProgs: Set<number> | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { name, fd } of obj?.programFds ?? []) out[name] = RunTimeStats.read(fd).runTimeNs;
  if (peerProgs?.size) {
    for (const p of bpftoolPrograms()) if (peerProgs.has(p.id)) out[`biolatency:${p.name}`] = p.run_time_ns ?? 0;
  }
  return out;
}
