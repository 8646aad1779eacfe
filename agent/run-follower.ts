// The tick's side of task runs (agent/predict/task-runs.ts): which cgroup directory a workload
// is, whether it still holds a process, its memory, and the reports' run status. `run` only.
import type { Policy } from './plan/types.js';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { DirLockedError, lockDir, openTo } from './dir-lock.js';
import { matchesGlob } from './plan/policy.js';
import { applyRunProfile, trustedForDemand } from './predict/demand-from-run.js';
import { envKeysChangedNote, ProfileStore } from './predict/profiles.js';
import { TaskRuns, type RunEvent, type RunTickInput } from './predict/task-runs.js';
import type { WorkloadReport } from './report.js';
import type { CgroupLayout, WorkloadIndex } from './workloads/index.js';
import { workloadDir } from './workloads/layout.js';
import { cgroupPopulated } from './workloads/liveness.js';
import { EarlierRuns, type RunWindow } from './workloads/earlier-runs.js';
import type { SchedSource } from './probes/sched-source.js';
import { oldestStartTicksSync, TaskReader } from './workloads/task.js';
import { readFileCacheBytes, readMemoryBytes, readMemoryHighWaterBytes, readOomKills, readUsage } from './workloads/usage.js';
import type { Workload } from './workloads/types.js';

export class RunFollower {
  private constructor(private readonly runs: TaskRuns, private readonly layout: CgroupLayout) {}

  /**
   * Task runs over the policy's profile store; the cgroups there now are not runs. A store
   * that cannot be opened turns task runs off (said once, null): it does not stop the agent.
   * `probe`: what the sched probe saw of a task's process: where it was when it exec'd (its
   * relative arguments' base), and how it ended (a killed or failed run is not learned).
   */
  static open(
    cfg: Policy['profiles'], index: WorkloadIndex, log: (msg: string) => void,
    probe?: Pick<SchedSource, 'cwdAtExec' | 'endOf'>,
  ): RunFollower | null {
    let store: ProfileStore;
    try {
      // looked at before the lock is written there (a folder open to others is not written to)
      const open = existsSync(cfg.dir) ? openTo(cfg.dir) : undefined;
      if (open) throw new Error(open);
      lockDir(cfg.dir, 'its task profiles (two agents on one store overwrite each other\'s and lose runs); give this one its own --profiles-dir, or --state-dir', log);
      store = new ProfileStore({
        dir: cfg.dir, maxBytes: cfg.maxBytes,
        onProblem: (p) => log(`profiles: ${p.kind} ${p.file}: ${p.message}${p.movedTo ? ` (moved to ${p.movedTo})` : ''}`),
      });
    } catch (err) {
      log(`profiles: ${err instanceof DirLockedError ? '' : `${cfg.dir}: `}${(err as Error).message}; task runs off`);
      return null;
    }
    // (from the store's read of every profile at its open: none read again)
    const changed = envKeysChangedNote(store.envKeySets, cfg.envKeys);
    if (changed !== null) log(`profiles: ${changed}`);
    const layout = index.layout;
    // (what a command's runs wrote is no input of its next: each run's span, by its command line)
    const earlier = new EarlierRuns();
    const reader = new TaskReader({
      // (and those of its runs going on: runs is made below, and read from only once it is)
      envKeys: cfg.envKeys, earlierRuns: (key): RunWindow[] => [...earlier.of(key), ...runs.ongoing(key)],
      ...(probe ? { cwdAtExec: (pid: number, start: number, root: { ino: bigint; dev: bigint }) => probe.cwdAtExec(pid, start, root) } : {}),
    });
    // (0 where a sandbox hides them: no ceiling then, not a ceiling of 0)
    const hostCpus = availableParallelism();
    const runs: TaskRuns = new TaskRuns({
      store, minRunMs: cfg.minRunMs, log, earlierRun: (key, span) => earlier.note(key, span), ...(probe ? { endOf: (pid: number, start: number) => probe.endOf(pid, start) } : {}),
      oldestStartTicks: (w) => {
        const dir = workloadDir(layout, w);
        return dir ? oldestStartTicksSync(dir) : null;
      },
      follows: (w) => cfg.match.some((g) => matchesGlob(g, w.path)),
      taskOf: (w, signal) => {
        const dir = workloadDir(layout, w);
        return dir ? reader.of(dir, signal) : Promise.resolve(null);
      },
      alive: (w) => cgroupPopulated(layout, w),
      oomKills: (w) => readOomKills(layout, w),
      // (read once a run, at its start: its limits as set, its ancestors' too, and the host's CPUs)
      ceilingOf: (w) => {
        const u = readUsage(layout, w, hostCpus);
        const cpu = Math.min(u.cpuCeilingCores ?? Number.POSITIVE_INFINITY, hostCpus);
        return { cpuCores: cpu > 0 && Number.isFinite(cpu) ? cpu : null, memoryBytes: u.memoryCeilingBytes };
      },
    }, index.list());
    return new RunFollower(runs, layout);
  }

  /** Whether a workload no probe counted this tick should be reported all the same (TaskRuns.awaits). */
  awaits(workload: Workload): boolean {
    return this.runs.awaits(workload);
  }

  /** What its id alone says of TaskRuns.awaits (TaskRuns.unknown). */
  unknown(workloadId: string): boolean {
    return this.runs.unknown(workloadId);
  }

  /** Cgroups whose directory went, by workload id (TaskRuns.forget). */
  forget(workloadIds: Iterable<string>): void {
    this.runs.forget(workloadIds);
  }

  /**
   * Whether a workload is on a run whose task's profile is trusted for a resource its demand
   * forecast has: that forecast is made, busy or not (a task asleep before its peak).
   */
  forecastsDemand(workloadId: string): boolean {
    // (asked of every idle workload a tick: the forecast alone, not a position with its samples copied)
    const forecast = this.runs.forecastOf(workloadId);
    return forecast !== null && trustedForDemand(forecast);
  }

  /**
   * Hands the tick's workloads in (a sample per run), marks the reports on a run (and gives their
   * demand forecasts what their task's profile expects), returns the runs that started or ended.
   */
  follow(reports: WorkloadReport[], nowMs: number, horizonsMs: readonly number[]): RunEvent[] {
    const inputs: RunTickInput[] = [];
    // (by index: see EachOf in workload-figures.ts)
    for (let i = 0; i < reports.length; i++) {
      const r = reports[i]!;
      if (!this.runs.wants(r.workload, r.cpu.cores)) continue;
      // the demand forecasts read the usage of the workloads they picked; a run's is read here
      const memoryBytes = r.usage ? r.usage.memoryBytes : readMemoryBytes(this.layout, r.workload);
      inputs.push({
        workload: r.workload, cpuCores: r.cpu.cores, memoryBytes,
        memoryHighWaterBytes: memoryBytes === null ? null : readMemoryHighWaterBytes(this.layout, r.workload),
        // (memory.stat, made by the kernel at each read, read once: the usage's where read)
        memoryFileBytes: memoryBytes === null ? null : r.usage ? r.usage.memoryFileBytes : readFileCacheBytes(this.layout, r.workload),
        // (null where the probe is not read this tick: off, failed, or shed by the overhead governor)
        ioBytesPerSec: r.io ? r.io.readBytesPerSecond + r.io.writeBytesPerSecond : null,
        netBytesPerSec: r.net ? r.net.txBytesPerSecond + r.net.rxBytesPerSecond : null,
        oomKilled: r.memory !== undefined && r.memory.oomKillsPerSecond > 0,
      });
    }
    const events = this.runs.observe(inputs, nowMs);
    for (let i = 0; i < reports.length; i++) {
      const r = reports[i]!;
      const status = this.runs.statusOf(r.workload.id, nowMs, horizonsMs);
      if (!status) continue;
      r.run = status;
      // what its task's past runs needed from here on, in its demand forecasts (where trusted)
      const position = status.expected && r.demand ? this.runs.positionOf(r.workload.id, nowMs) : undefined;
      if (position) for (const d of Object.values(r.demand!)) applyRunProfile(d, position);
    }
    return events;
  }
}
