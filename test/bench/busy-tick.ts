// The agent's tick when it forecasts every workload of a crowded host: the many-cgroups bench's
// workers, all selected by a policy (`forecast.demand_workloads` raised to their number, so every
// one of them gets the engine), the demand forecasts in the agent's own thread, then over worker
// threads (`forecast.demand_workers`). The tick's own duration (headroom_tick_duration_seconds,
// the last tick's) is read from the agent's Prometheus endpoint every few seconds.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, projectRoot } from '../helpers/proc.js';
import { metricValue, samplesNamed } from '../helpers/prometheus.js';
import { errorSummary, start, undoOnExit, type Child } from './children.js';
import { headroomBin, procStatus } from './overhead.js';
import { max, median, progress, quantile, sleep } from './stats.js';

export interface BusyTickRun {
  /** demand worker threads (0: the agent's own thread) */
  workers: number;
  /** demand forecasts the agent exported at the end (workload x resource pairs) */
  pairs: number;
  /** the tick durations read, ms */
  ticksMs: number[];
  medianMs: number;
  p90Ms: number;
  maxMs: number;
  /** the agent's resident memory at the end, MB */
  rssMb: number;
  /** seconds between two reads */
  everySeconds: number;
}

/** The default policy with every cgroup matching `match` selected and forecast, over `workers` threads. */
export function busyPolicy(match: string, workloads: number, workers: number): string {
  const text = readFileSync(resolve(projectRoot, 'policies/default.yaml'), 'utf8');
  const out = text
    .replace(/^(\s*demand_workloads:\s*)\d+/m, `$1${workloads}`)
    .replace(/^(\s*demand_workers:\s*)\d+/m, `$1${workers}`)
    .replace(/^workloads: \[\]\s*$/m, `workloads:\n  - name: bench\n    match: "${match}"\n    class: normal\n`);
  // the default policy's shape is what this rests on: say so if it changed
  if (!out.includes(`demand_workloads: ${workloads}`) || !out.includes(`demand_workers: ${workers}`) || !out.includes(`match: "${match}"`)) {
    throw new Error('policies/default.yaml no longer has forecast.demand_workloads, forecast.demand_workers and an empty workloads list where the bench expects them');
  }
  return out;
}

/**
 * One agent, `seconds` long after a warm-up of `warmupSeconds`: its tick duration read every
 * `everySeconds` (each read is a whole exposition: tens of MB with thousands of workloads, so
 * not every second).
 */
export async function busyTick(opts: { match: string; workloads: number; workers: number; seconds: number; warmupSeconds?: number; everySeconds?: number }): Promise<BusyTickRun> {
  const { match, workloads, workers, seconds } = opts;
  const warmup = opts.warmupSeconds ?? 20;
  const every = opts.everySeconds ?? 3;
  // its own state and profiles: no run recorded by an earlier agent is forecast in this one
  const state = mkdtempSync('/tmp/headroom-bench-busy-');
  // removed on the way out too: the bench's SIGINT handler exits without this run's finally
  const forgetExitUndo = undoOnExit(() => rmSync(state, { recursive: true, force: true }));
  let agent: Child | undefined;
  try {
    const policyFile = join(state, 'policy.yaml');
    writeFileSync(policyFile, busyPolicy(match, workloads, workers));
    const port = await freePort();
    const args = ['run', '--policy', policyFile, '--no-table', '--listen', `127.0.0.1:${port}`, '--state-dir', state, '--profiles-dir', join(state, 'profiles')];
    progress(`busy tick: the agent forecasting ${workloads} workloads, demand_workers ${workers}: ${warmup} s warm-up, ${seconds} s read`);
    agent = start(`agent-busy-${workers}`, 'sh', ['-c', `exec '${headroomBin}' ${args.join(' ')} 2>&1`], { timeoutMs: (warmup + seconds + 120) * 1000 });
    await agent.waitLine((l) => l.includes('running in observe mode'), 60_000);
    await sleep(warmup * 1000);
    const ticksMs: number[] = [];
    let pairs = 0;
    const running = agent;
    const gone = (): boolean => running.proc.exitCode !== null || running.proc.signalCode !== null;
    for (let waited = 0; waited < seconds; waited += every) {
      await sleep(every * 1000);
      if (gone()) throw new Error(`the agent exited: ${errorSummary(agent.output())}`);
      const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch((err: Error) => {
        throw gone() ? new Error(`the agent exited: ${errorSummary(running.output())}`) : err;
      });
      if (!res.ok) throw new Error(`the agent's endpoint answered ${res.status} ${res.statusText}`);
      const text = await res.text();
      const tick = metricValue(text, 'headroom_tick_duration_seconds');
      if (tick !== undefined) ticksMs.push(tick * 1000);
      pairs = samplesNamed(text, 'headroom_demand_forecast_confidence').length;
    }
    const rssMb = procStatus(agent.pid, 'VmRSS') / 1024;
    if (ticksMs.length === 0) throw new Error('no headroom_tick_duration_seconds on the agent\'s endpoint');
    const p90Ms = quantile(ticksMs, 0.9);
    return { workers, pairs, ticksMs, medianMs: median(ticksMs), p90Ms, maxMs: max(ticksMs), rssMb, everySeconds: every };
  } finally {
    await agent?.stop('SIGINT', 30_000);
    rmSync(state, { recursive: true, force: true });
    forgetExitUndo();
  }
}
