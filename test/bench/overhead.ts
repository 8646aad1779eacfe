// What tracing costs a context-switch-heavy workload (stress-ng --switch), with the agent and
// with libbpf-tools' runqlat, rounds interleaved; and the agent's own footprint on an idle host.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { projectRoot } from '../helpers/proc.js';
import { errorSummary, start, type Child } from './children.js';
import { progress, ratio, sleep, summarize, type Summary } from './stats.js';

export const headroomBin = resolve(projectRoot, 'bin/headroom');

/** The agent as benched: `bin/headroom top --interval 1 --json`, or HR_BENCH_AGENT (a command
 * line, split on spaces) to bench another build or a stand-in; it must print a line starting
 * with '{' once running. */
export function agentCommand(): { cmd: string; args: string[]; label: string } {
  const custom = process.env.HR_BENCH_AGENT?.trim();
  if (custom) {
    const [cmd, ...args] = custom.split(/\s+/);
    return { cmd, args, label: custom };
  }
  const args = ['top', '--interval', '1', '--json'];
  return { cmd: headroomBin, args, label: `headroom ${args.join(' ')}` };
}

type Tracer = 'none' | 'agent' | 'runqlat';

export interface OverheadResult {
  agent: string;
  /** the CPU stress-ng was pinned to, null when free */
  stressCpu: number | null;
  stressSeconds: number;
  rounds: number;
  opsPerSec: Record<Tracer, Summary>;
  /** per round: ops/s with the tracer / ops/s with none, in the same round; then the median */
  ratio: Record<Tracer, Summary>;
  errors: string[];
}

/** Starts a tracer and resolves once it is running (the agent: its first report printed). */
async function startTracer(t: Tracer): Promise<{ child: Child | null; readyMs: number }> {
  const t0 = Date.now();
  if (t === 'none') return { child: null, readyMs: 0 };
  if (t === 'agent') {
    const agent = agentCommand();
    const c = start('agent', agent.cmd, agent.args, { keepStdout: false, timeoutMs: 120_000 });
    try {
      await c.waitLine((l) => l.startsWith('{'), 30_000);
    } catch (err) {
      await c.stop('SIGKILL', 0);
      throw err;
    }
    return { child: c, readyMs: Date.now() - t0 };
  }
  // its "Tracing run queue latency..." line, printed once attached, is block-buffered on a pipe:
  // stdbuf makes it line-buffered so that line can say when runqlat is running
  const stdbuf = ['/usr/bin/stdbuf', '/bin/stdbuf'].find((p) => existsSync(p));
  const c = stdbuf
    ? start('runqlat', stdbuf, ['-oL', runqlatPath()], { timeoutMs: 120_000 })
    : start('runqlat', runqlatPath(), [], { timeoutMs: 120_000 });
  try {
    if (stdbuf) await c.waitLine((l) => l.includes('Tracing'), 30_000);
    else await sleep(2000);
  } catch (err) {
    await c.stop('SIGKILL', 0);
    throw err;
  }
  return { child: c, readyMs: Date.now() - t0 };
}

function runqlatPath(): string {
  for (const p of ['/usr/sbin/runqlat', '/usr/bin/runqlat', '/usr/share/bcc/tools/runqlat']) if (existsSync(p)) return p;
  return 'runqlat';
}

/** Where stress-ng runs: both of its switch processes on the last CPU (HR_BENCH_STRESS_PIN=0: free).
 * Unpinned, this VM gives anything from 20k to 190k switches/s depending on whether the pair
 * lands on one CPU or two; pinned, runs agree within about 10%. */
function stressCpu(): number | null {
  const n = cpus().length;
  return n >= 2 && process.env.HR_BENCH_STRESS_PIN !== '0' ? n - 1 : null;
}

/** One `stress-ng --switch 1` run; bogo ops/s (real time) from --metrics-brief. */
async function stressSwitch(seconds: number): Promise<number> {
  const args = ['--switch', '1', '--timeout', `${seconds}s`, '--metrics-brief'];
  const cpu = stressCpu();
  const c = cpu === null
    ? start('stress-ng', 'stress-ng', args, { timeoutMs: (seconds + 30) * 1000 })
    : start('stress-ng', 'taskset', ['-c', String(cpu), 'stress-ng', ...args], { timeoutMs: (seconds + 30) * 1000 });
  const x = await c.exited;
  const out = c.output();
  // "stress-ng: metrc: [pid] switch  40721  2.00  0.04  1.37  20350.82  28768.09"
  const m = /\]\s+switch\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)/.exec(out);
  if (x.code !== 0 || !m) throw new Error(`stress-ng failed or printed no metrics (code ${x.code}): ${out.trim().slice(-400)}`);
  return Number(m[5]);
}

export async function benchOverhead(stressSeconds: number, rounds: number): Promise<OverheadResult> {
  const tracers: Tracer[] = ['none', 'agent', 'runqlat'];
  const ops: Record<Tracer, number[]> = { none: [], agent: [], runqlat: [] };
  const ratios: Record<Tracer, number[]> = { none: [], agent: [], runqlat: [] };
  const errors: string[] = [];
  for (let round = 0; round < rounds; round++) {
    // interleaved, and a different order each round so no tracer always runs first or last
    const order = tracers.map((_, i) => tracers[(i + round) % tracers.length]);
    const got: Partial<Record<Tracer, number>> = {};
    for (const t of order) {
      progress(`overhead: stress-ng --switch 1 for ${stressSeconds}s, tracer: ${t}, round ${round + 1}/${rounds}`);
      let tracer: Child | null = null;
      try {
        tracer = (await startTracer(t)).child;
        await sleep(300); // let the tracer's start-up settle
        got[t] = await stressSwitch(stressSeconds);
        if (tracer && tracer.proc.exitCode !== null) throw new Error(`${t} exited during the run: ${errorSummary(tracer.stderr())}`);
      } catch (err) {
        errors.push(`round ${round + 1}, ${t}: ${(err as Error).message}`);
        progress(`overhead: ${t} failed: ${(err as Error).message}`);
      } finally {
        await tracer?.stop('SIGINT', 3000);
      }
      await sleep(300);
    }
    for (const t of tracers) {
      ops[t].push(got[t] ?? NaN);
      ratios[t].push(ratio(got[t] ?? NaN, got.none ?? NaN));
    }
  }
  return {
    agent: agentCommand().label, stressCpu: stressCpu(), stressSeconds, rounds,
    opsPerSec: { none: summarize(ops.none), agent: summarize(ops.agent), runqlat: summarize(ops.runqlat) },
    ratio: { none: summarize(ratios.none), agent: summarize(ratios.agent), runqlat: summarize(ratios.runqlat) },
    errors,
  };
}

// ---------------------------------------------------------------------------------------------
// Idle footprint

export interface FootprintResult {
  agent: string;
  windowSeconds: number;
  /** spawn to first report (load, attach, one interval) */
  startupMs: number;
  rssMb: Summary;
  peakRssMb: number;
  /** utime+stime over the window / wall time, percent of one CPU */
  cpuPercent: number;
  /** the same over the window's first `cpuAtSeconds` (benchFootprint's argument), where asked */
  cpuPercentAt?: number;
  threads: number;
  reports: number;
}

function procStatTicks(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = s.slice(s.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3 (state)
  return Number(fields[11]) + Number(fields[12]); // utime (14), stime (15)
}

/** A /proc/PID/status field's number (kB for the Vm* ones); NaN when absent. */
export function procStatus(pid: number, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** The agent as a daemon: `bin/headroom run` with the default policy, no table (no terminal) and
 * no Prometheus endpoint (no port to clash); its log line on stderr, sent to stdout by an exec'ing
 * shell (the pid stays the agent's), is the ready sign. */
export function daemonCommand(): { cmd: string; args: string[]; label: string; ready: (l: string) => boolean } {
  const run = ['run', '--no-table', '--no-prometheus', '--state-dir', '/tmp/headroom-bench-state', '--profiles-dir', '/tmp/headroom-bench-state/profiles'];
  return {
    cmd: 'sh', args: ['-c', `exec '${headroomBin}' ${run.join(' ')} 2>&1`],
    label: `headroom ${run.join(' ')}`, ready: (l) => l.includes('running in observe mode'),
  };
}

export async function benchFootprint(
  windowSeconds: number,
  agent: { cmd: string; args: string[]; label: string; ready?: (l: string) => boolean } = agentCommand(),
  warmupSeconds = 5,
  where = 'idle host',
  cpuAtSeconds?: number,
): Promise<FootprintResult> {
  progress(`footprint: starting the agent (${agent.label}), ${where}, ${windowSeconds}s window`);
  const hz = clockTicks();
  const t0 = Date.now();
  let reports = 0;
  const c = start('agent', agent.cmd, agent.args, { keepStdout: false, timeoutMs: (windowSeconds + warmupSeconds + 60) * 1000 });
  try {
    c.proc.stdout!.on('data', (d: Buffer) => { reports += d.toString().split('\n').length - 1; });
    await c.waitLine(agent.ready ?? ((l) => l.startsWith('{')), 30_000);
    const startupMs = Date.now() - t0;
    // Steady state: the first seconds (JIT, the first cgroup walk, new forecasters) are not in it.
    await sleep(warmupSeconds * 1000);
    // bin/headroom execs node, so the pid is the node process itself (a stand-in must exec too)
    const ticks0 = procStatTicks(c.pid);
    const w0 = process.hrtime.bigint();
    const cpuSoFar = (): number => ((procStatTicks(c.pid) - ticks0) / hz / (Number(process.hrtime.bigint() - w0) / 1e9)) * 100;
    const rss: number[] = [];
    let cpuPercentAt: number | undefined;
    for (let i = 0; i < windowSeconds; i++) {
      await sleep(1000);
      if (c.proc.exitCode !== null) throw new Error(`the agent exited during the window: ${errorSummary(c.stderr())}`);
      rss.push(procStatus(c.pid, 'VmRSS') / 1024);
      if (i + 1 === cpuAtSeconds) cpuPercentAt = cpuSoFar();
    }
    const cpuPercent = cpuSoFar();
    const wall = Number(process.hrtime.bigint() - w0) / 1e9;
    return {
      agent: agent.label,
      windowSeconds: wall,
      startupMs,
      rssMb: summarize(rss),
      peakRssMb: procStatus(c.pid, 'VmHWM') / 1024,
      cpuPercent,
      ...(cpuPercentAt !== undefined ? { cpuPercentAt } : {}),
      threads: procStatus(c.pid, 'Threads'),
      reports,
    };
  } finally {
    await c.stop('SIGINT', 3000);
  }
}
