// Task runs: a workload whose cgroup gets busy while the agent runs is one run of a task (the
// cgroup's oldest process, as a signature: agent/workloads/task.ts). While it runs, each tick
// adds a sample of its demand (CPU, memory, I/O, network); when its cgroup empties or goes, the
// run is merged into the task's profile (profiles.ts), and the next run of the same task is
// forecast as soon as its signature is known: expected duration, and the curve and peak of its
// demand over the run.
//
// Cgroups present when the agent started are not runs while they stay populated (their start
// was not seen, so their progress cannot be placed); one found empty later, and any cgroup whose
// run ended, is a new run when it is next busy (a timer's service at the same path). The root is
// never a run. A run whose task could not be read (it exited first, the read timed out) is
// followed but not recorded.
import { constants as osConstants } from 'node:os';
import type { ProcessEnd } from '../probes/sched.js';
import type { RunWindow } from '../workloads/earlier-runs.js';
import { basename } from 'node:path';
import type { Workload } from '../workloads/types.js';
import type { InputPart, TaskSignature } from '../workloads/signature.js';
import type { RunPosition } from './demand-from-run.js';
import { sliceOf, unseenSlices, type FinishedRun, type ProfileStore, type RunForecast, type RunSample, type TaskLabel } from './profiles.js';
import { rememberNewest, trimOldest } from '../bounded.js';
import { START_CLOCK_SLACK_MS } from '../boot-clock.js';

/** The task a run's cgroup runs, as read: its signature, its process's start (ms since the epoch; null: not read), pid and start ticks (which process it is). */
export interface RunTask {
  signature: TaskSignature;
  startedAtMs?: number | null;
  pid?: number;
  startTicks?: number;
}

/** How far a process's end (the boot clock, through /proc/uptime) may stray from the ticks' wall clock (ms). */
const CLOCK_SLACK_MS = 50;

/** One tick's figures for one workload, as the tick has them. */
export interface RunTickInput {
  workload: Workload;
  /** null: not counted this tick (the sched probe kept to the policy's workloads): left out of the run's curve, not taken for 0 */
  cpuCores: number | null;
  /** null: not measured this tick (no memory cgroup; the I/O or socket probe off) */
  memoryBytes: number | null;
  /**
   * the most memory its cgroup held since it was made (RunFollower: memory.peak, v1
   * max_usage_in_bytes); null or absent: unknown. Where it rose since the last tick, the rise
   * is that tick's peak
   */
  memoryHighWaterBytes?: number | null;
  /**
   * of memoryBytes, the page cache (active and inactive file lists); a run's memory is what it
   * holds less this. Null or absent: unknown (none taken off)
   */
  memoryFileBytes?: number | null;
  ioBytesPerSec: number | null;
  netBytesPerSec: number | null;
  /** an OOM kill in the workload since the last tick, as the fault probe counted it (false: none, or the probe off) */
  oomKilled?: boolean;
}

export interface RunStart {
  kind: 'run-start';
  atMs: number;
  workload: Workload;
  signature: string;
  task: TaskLabel;
  /** what the task's past runs say this one will need; null for a task never seen finish */
  forecast: RunForecast | null;
  /**
   * the memory peak its past runs reached (their mean) is above the most the cgroup may hold
   * (TaskRunsOptions.ceilingOf): it may not fit. (Not the p90: a task whose runs peaked at its
   * limit reads a p90 above it from their spread alone, and would be warned of at every start)
   */
  memoryCeilingBytes?: number;
}

/** A measure of a finished run that came out above what its start's forecast gave as its p90. */
export interface BeyondForecast {
  what: 'duration_ms' | 'cpu_cores' | 'memory_peak_bytes';
  actual: number;
  p90: number;
}

export interface RunEnd {
  kind: 'run-end';
  atMs: number;
  workload: Workload;
  /** null when the task could not be read */
  signature: string | null;
  durationMs: number;
  /**
   * true: durationMs is a bound, not a measure: the run began and ended within one tick, and its
   * process went before its start could be read (it lasted at most that tick)
   */
  durationAtMost?: boolean;
  /** true: how long it ran is not known (durationMs 0): it began and went within one tick of a cgroup seen before, its start not read */
  durationUnknown?: boolean;
  /**
   * recorded runs only: its first ms no tick saw (FinishedRun.unseenMs), where that left a slice
   * of its curve out of its task's profile; absent: none (runs held back and learned with this
   * one leave theirs out alike, unsaid)
   */
  unseenMs?: number;
  /** why: its cgroup was new and found late (a walk of the trees), or seen before and its task begun before it was seen busy */
  unseenBecause?: 'found-late' | 'before-busy';
  /** merged into the profile and saved */
  recorded: boolean;
  /** why not, when not */
  reason?: string;
  /** runs behind the task's profile now */
  runs?: number;
  /** an OOM kill cut it short (the fault probe counted one on its ticks, or its memory cgroup while it ran) */
  oomKilled?: boolean;
  /** its task's process was killed by this signal (SIGKILL, SIGTERM...): not learned */
  killedBy?: string;
  /** its task's process exited with this status (absent: not known); not 0: a failure, or its usual end (see TaskRuns.finish) */
  exitStatus?: number;
  /** the runs of its task held back for the same status, learned with it (USUAL_STATUS_RUNS in a row) */
  learnedWith?: number;
  /**
   * not recorded yet: held back for its nonzero status, learned with a later run if its task's
   * runs in a row end so (a failure, or the first of its usual ends); absent for a run at once
   * with one held, which is dropped
   */
  heldBack?: true;
  /** what came out above its start's forecast (p90): duration, CPU, memory peak; absent with no forecast or none above */
  beyondForecast?: BeyondForecast[];
}

export type RunEvent = RunStart | RunEnd;

/** What a workload's report says about its run. */
export interface RunStatus {
  signature: string | null;
  startedAtMs: number;
  elapsedMs: number;
  expected: {
    runs: number;
    confidence: number;
    /** per resource measured: its own confidence (RunForecast.confidenceOf) */
    confidenceOf: RunForecast['confidenceOf'];
    durationMs: { mean: number; p90: number };
    /** elapsed over the expected (mean) duration */
    progress: number;
    peak: RunForecast['peak'];
    /**
     * per horizon: the highest p90 of the task's curve from now to now + horizon (what the
     * past runs needed at this point of the run, before this run has history of its own);
     * empty once the run has outlived its past runs' p90 duration
     */
    ahead: RunAhead[];
  } | null;
}

/** What a run's status looks ahead at: its memory's peak, not its sustained level. */
export const AHEAD_RESOURCES = ['cpuCores', 'memPeakBytes', 'ioBytesPerSec', 'netBytesPerSec'] as const;

/** null: no past run of the task measured it (see RunSample) */
export type RunAhead = { horizonMs: number } & Record<(typeof AHEAD_RESOURCES)[number], number | null>;

export interface TaskRunsOptions {
  store: Pick<ProfileStore, 'forecastRun' | 'record' | 'get'>;
  /**
   * the task the workload's cgroup runs, and when its process started (null: the tick it was
   * first seen); null when the cgroup is empty or its process is gone
   */
  taskOf: (w: Workload, signal: AbortSignal) => Promise<RunTask | null>;
  /** how a task's process ended (the sched probe's), by its pid and start in clock ticks; null: not known */
  endOf?: (pid: number, startTicks: number) => ProcessEnd | null;
  /** the start (clock ticks since boot) of the oldest process in the workload's cgroup now; null: none. Asked where a run's task has ended while its cgroup lives on */
  oldestStartTicks?: (w: Workload) => number | null;
  /** told each ended run's span, by its task's command line (TaskSignature.commandKey): EarlierRuns.note */
  earlierRun?: (commandKey: string, span: RunWindow) => void;
  /** false once the workload's cgroup is gone or empty: its run has ended (asked of every run, every tick) */
  alive: (w: Workload) => boolean;
  /** the OOM kills counted in a workload's memory cgroup so far (null: none there); without it, runs are not checked for them but by RunTickInput.oomKilled */
  oomKills?: (w: Workload) => number | null;
  /**
   * the most the workload's cgroup may use (its tightest limits and CPU set, with its
   * ancestors'; null: none): a forecast's CPU is held under it (a task cannot use more, it is
   * throttled), its memory is not, but a start says that it may not fit (RunStart.memoryCeilingBytes)
   */
  ceilingOf?: (w: Workload) => { cpuCores: number | null; memoryBytes: number | null };
  /** whether a workload's cgroup is one whose runs are followed (default: every one but the root and unnamed ones) */
  follows?: (w: Workload) => boolean;
  /** runs shorter than this are not recorded (default 2000) */
  minRunMs?: number;
  /** samples kept per run; beyond, every other one is dropped (default 2048) */
  maxSamples?: number;
  /** runs followed at once; newer cgroups beyond it are not (default 256) */
  maxRuns?: number;
  log?: (msg: string) => void;
}

interface Run {
  workload: Workload;
  startMs: number;
  lastAliveMs: number;
  samples: RunSample[];
  /** undefined while the task is being read; null when it could not be (readError says why) */
  signature: string | null | undefined;
  readError?: string;
  task?: TaskLabel;
  forecast: RunForecast | null;
  endedAtMs?: number;
  /** the tick that found it gone read CPU it used before it went: that tick's sample (its memory left out) is its last */
  endedBusy?: boolean;
  /** its memory cgroup's OOM kills at its start (null: not counted there): more at its end, and it is not learned (see finish) */
  oomKillsAtStart: number | null;
  /** a tick it was on counted an OOM kill in it (RunTickInput.oomKilled; its first tick only where the cgroup had no run before) */
  oomKillSeen: boolean;
  /** ticks handed in while it ran */
  ticks: number;
  /** the cgroup was a run before, or there at the start: a kill its first tick counts may be the last run's */
  reused: boolean;
  /** its run began at the tick that first saw its cgroup (then it began after tickBeforeMs) */
  firstSight: boolean;
  /** the tick before the one that began it (NaN: none): a start read before it was not seen by a tick (FinishedRun.unseenMs) */
  tickBeforeMs: number;
  /** ticks merged into one kept sample (doubles each time the samples are thinned) */
  stride: number;
  bucket?: RunSample;
  bucketCount: number;
  /** its cgroup's memory high water at the last tick (RunTickInput.memoryHighWaterBytes) */
  highWater?: number;
  /** its task's command line (TaskSignature.commandKey): its span is noted under it at its end */
  commandKey?: string;
  /** its task's process: how it ended is asked at the run's end (TaskRunsOptions.endOf) */
  process?: { pid: number; startTicks: number };
  /** its task's process ended and its cgroup went on with processes it left: no restart is looked for */
  leftBehind?: boolean;
}

/** A held run with at most HELD_SAMPLES samples, neighbours merged in pairs (as a long run's are). */
function thinned(run: FinishedRun): FinishedRun {
  let samples = run.samples;
  while (samples.length > HELD_SAMPLES) samples = halved(samples);
  return samples === run.samples ? run : { ...run, samples };
}

/** Samples with each two neighbours merged into one (an odd last one kept as it is). */
function halved(samples: readonly RunSample[]): RunSample[] {
  const merged: RunSample[] = [];
  for (let i = 0; i + 1 < samples.length; i += 2) merged.push(merge(samples[i]!, samples[i + 1]!, 1));
  if (samples.length % 2 === 1) merged.push(samples[samples.length - 1]!);
  return merged;
}

/** `a` (the mean of `n` samples) and `b` as one sample: means (time too), the highest memory peak. */
function merge(a: RunSample, b: RunSample, n: number): RunSample {
  const mean = (x: number | undefined, y: number | undefined): number | undefined =>
    x === undefined ? y : y === undefined ? x : (x * n + y) / (n + 1);
  const peak = Math.max(a.memPeakBytes ?? a.memBytes ?? 0, b.memPeakBytes ?? b.memBytes ?? 0);
  return {
    atMs: (a.atMs * n + b.atMs) / (n + 1), cpuCores: mean(a.cpuCores, b.cpuCores), memBytes: mean(a.memBytes, b.memBytes),
    memPeakBytes: a.memBytes === undefined && b.memBytes === undefined && a.memPeakBytes === undefined ? undefined : peak,
    ioBytesPerSec: mean(a.ioBytesPerSec, b.ioBytesPerSec), netBytesPerSec: mean(a.netBytesPerSec, b.netBytesPerSec),
  };
}

/**
 * Observe calls between two looks at whether one of the cgroups there at the start is still
 * populated: a tenth of them is looked at each tick. All of them every 60th tick left a timer's
 * service that emptied and ran again within the minute unseen for as long as that went on (a
 * host has hundreds of such cgroups, so not all of them every tick).
 */
const EXISTING_RECHECK = 10;
/** A task read that has not settled by then is given up (a /proc read stuck, a huge binary). */
const TASK_READ_DEADLINE_MS = 30_000;
/** Arguments kept in a task's label, and their total length: argv can be huge, and hold secrets. */
const LABEL_ARGS = 32;
const LABEL_CHARS = 1024;
/**
 * A run's measure is beyond its forecast above this many times the p90, and by at least as much
 * as BEYOND_FLOOR says: a tick's CPU is noisier than the slice means the curve keeps (0.99 cores
 * against a p90 of 0.98 is not news), and `sleep 4` read "CPU 0.00 cores (p90 0.00)", a small
 * script "memory peak 6 MiB (p90 4 MiB)" (a walkthrough).
 */
const BEYOND_MARGIN = 1.1;
const BEYOND_FLOOR: Record<BeyondForecast['what'], number> = { duration_ms: 1000, cpu_cores: 0.1, memory_peak_bytes: 16 * 2 ** 20 };
/** A run's last samples its position carries (RunPosition.recent). */
const RECENT_SAMPLES = 8;
/** Cgroups remembered as having had a run (Run.reused) or as seen (TaskRuns.seen); one forgotten reads as new. */
const RAN_BEFORE_KEPT = 4096;
/** Tasks whose runs are held back for their nonzero status (TaskRuns.held): the oldest dropped beyond */
const HELD_KEPT = 64;
/** Runs in a row of a task ending with one nonzero status that make it the task's usual end (TaskRuns.finish) */
const USUAL_STATUS_RUNS = 3;
/** A run held back longer than this is dropped: not "in a row" with one today */
const HELD_FOR_MS = 7 * 24 * 3600 * 1000;
/** How long a held run may seem to end after the next run began and still be before it (TaskRuns.finish) */
const HELD_OVERLAP_MS = 1000;
/** Samples a held run keeps (thinned: BINS slices are all its profile keeps of it) */
const HELD_SAMPLES = 64;

export class TaskRuns {
  private readonly runs = new Map<string, Run>();
  /**
   * cgroups there at the start: not runs (their start was not seen) while they stay populated;
   * one found empty or gone is dropped from here, and its next busy tick starts a run
   */
  private readonly existing = new Map<string, { workload: Workload; slot: number; busyOn: number; due: boolean }>();
  private calls = 0;
  /** the last observe's time (NaN before the first) */
  private lastTickMs = Number.NaN;
  /** cgroups that had a run, or were there at the start (Run.reused), the oldest forgotten beyond RAN_BEFORE_KEPT */
  private readonly ranBefore = new Set<string>();
  /** cgroups handed in before (see wants), the oldest forgotten beyond RAN_BEFORE_KEPT */
  private readonly seen = new Set<string>();
  private readonly pending: RunEvent[] = [];
  /** by task signature: its last runs, in a row, that exited with one nonzero status not its profile's (TaskRuns.finish) */
  private readonly held = new Map<string, FinishedRun[]>();
  private readonly minRunMs: number;
  private readonly maxSamples: number;
  private readonly maxRuns: number;
  private readonly log: (msg: string) => void;
  /** runs not followed because maxRuns were already */
  skipped = 0;

  /** `existing`: the workloads present at the start (not runs). */
  constructor(private readonly opts: TaskRunsOptions, existing: Iterable<Workload>) {
    // each looked at on its own tick of every EXISTING_RECHECK
    for (const w of existing) this.existing.set(w.id, { workload: w, slot: this.existing.size % EXISTING_RECHECK, busyOn: 0, due: false });
    this.minRunMs = opts.minRunMs ?? 2000;
    this.maxSamples = Math.max(2 * 20, opts.maxSamples ?? 2048);
    this.maxRuns = opts.maxRuns ?? 256;
    this.log = opts.log ?? (() => {});
  }

  /**
   * Whether the tick should hand this workload in: it is on a run, or it is not one of the
   * cgroups there at the start, is one whose runs are followed, and is seen for the first time
   * or used CPU this tick (a new run). A cgroup whose run ended is not asked about again until it
   * is busy again (its stale counters read 0 CPU), and then that is its next run: a timer's
   * service, started again at the same path.
   */
  wants(workload: Workload, cpuCores: number | null): boolean {
    if (this.runs.has(workload.id)) return true;
    const there = this.existing.get(workload.id);
    if (there) {
      // (busy on the tick the next observe folds in: see observe)
      if ((cpuCores ?? 0) > 0) there.busyOn = this.calls + 1;
      return false;
    }
    if (!((cpuCores ?? 0) > 0 || !this.seen.has(workload.id))) return false;
    if (this.follows(workload)) return true;
    // (one not followed is taken as seen: not matched again at every tick while it idles)
    rememberNewest(this.seen, workload.id, RAN_BEFORE_KEPT);
    return false;
  }

  /**
   * Whether a workload no probe counted this tick should be handed in all the same: it is on a
   * run, or a run may start in it (followed, neither there at the start nor handed in since its
   * cgroup was made: forget). While the
   * sched probe counts only the policy's workloads, a job's new cgroup reaches no report from it.
   */
  awaits(workload: Workload): boolean {
    const run = this.runs.get(workload.id);
    if (run) return run.endedAtMs === undefined;
    return this.unknown(workload.id) && this.follows(workload);
  }

  /** What its id alone says of awaits: on a run, or neither there at the start nor handed in since its cgroup was made. */
  unknown(id: string): boolean {
    return this.runs.has(id) || (!this.existing.has(id) && !this.seen.has(id));
  }

  /**
   * Forgets cgroups whose directory went (removed, or removed and made again): made again at the
   * same path (a timer's service), one is a new cgroup, a run from its first sight holding a
   * process, its memory's high water and OOM kills its own (not a run before's). A run on one
   * ends as its liveness says.
   */
  forget(ids: Iterable<string>): void {
    for (const id of ids) {
      this.existing.delete(id);
      this.seen.delete(id);
      this.ranBefore.delete(id);
    }
  }

  /** Whether a cgroup's runs are followed: not the root nor an unnamed one, and as the options say. */
  private follows(w: Workload): boolean {
    return isRunCandidate(w) && (this.opts.follows?.(w) ?? true);
  }

  /** Folds one tick in; returns the runs that started (task known) or ended since the last. */
  observe(inputs: readonly RunTickInput[], nowMs: number): RunEvent[] {
    const turn = ++this.calls % EXISTING_RECHECK;
    // (forEach: a for-of made an entry pair and a result a cgroup, at each tick, beside 1000)
    this.existing.forEach((e, id) => {
      if (e.slot !== turn && !e.due) return;
      // one that used CPU this tick (wants said so) is looked at on its next quiet tick instead:
      // beside 1000 busy cgroups a hundred reads of their process lists a tick were a tenth of
      // the agent's tick. One busy at every tick is never read, and taken to hold a process: a
      // process that exits and another that starts there within one tick is not seen as a run
      // (a read on its turn could have fallen in that gap)
      e.due = e.busyOn === this.calls;
      if (e.due || this.opts.alive(e.workload)) return;
      this.existing.delete(id);
      rememberNewest(this.ranBefore, id, RAN_BEFORE_KEPT);
    });
    // Liveness is asked of busy runs too: the CPU a tick reads was used over the interval it
    // closes, so a task that used CPU this tick may have exited within it. Taking any CPU for
    // "alive now" put every end a tick late (a 5.1 s job recorded as 6.6 s; 3 s ones as 4.3 s).
    // (a tick's sample is placed half way through it: its CPU, I/O and network are means over it,
    // its memory peak the most within it; placed at its end, a run's curve came half a tick late)
    const sampleAtMs = Number.isFinite(this.lastTickMs) && this.lastTickMs < nowMs ? (this.lastTickMs + nowMs) / 2 : nowMs;
    for (const x of inputs) {
      const id = x.workload.id;
      // a run starts when the cgroup is busy, or when it is first seen holding a process: a task
      // first seen with no CPU (the tick's first reading of a new cgroup reads none) and asleep
      // after was seen only at its exit, as over "within a tick" (`sleep 4`: a walkthrough)
      const firstSight = !this.seen.has(id);
      if (firstSight) rememberNewest(this.seen, id, RAN_BEFORE_KEPT);
      const restarted = this.restarted(x, nowMs);
      // (a CPU not counted, null, says nothing of a start or an end)
      const busy = (x.cpuCores ?? 0) > 0;
      if (!this.runs.has(id) && !this.existing.has(id) && this.follows(x.workload) && (restarted || busy || (firstSight && this.opts.alive(x.workload)))) {
        this.begin(x.workload, nowMs, firstSight);
      }
      const run = this.runs.get(id);
      if (!run || run.endedAtMs !== undefined) continue;
      // (the tick a run is first seen on counts too: a task killed within its first second; but
      // in a cgroup that ran before, that tick's count may be the last run's kill, counted late)
      if (x.oomKilled && (run.ticks > 0 || !run.reused)) run.oomKillSeen = true;
      run.ticks++;
      const alive = this.opts.alive(run.workload);
      if (alive) run.lastAliveMs = nowMs;
      // it ended between its last tick alive and this one: half way, on average
      else run.endedAtMs = nowMs;
      // a tick that found it gone but read its CPU holds its last CPU, I/O and network; its
      // memory was read after it had gone
      if (!alive && !busy) continue;
      if (!alive) run.endedBusy = true;
      // what it needs: what it holds less its page cache, which the kernel reclaims under the
      // cgroup's limit before it kills. Counted whole, a job that read a 300 MB file had a 309 MiB
      // peak, and its next start warned that it may not fit a 100 MiB limit, which it then fitted;
      // less the inactive list alone (kubelet's working set), a file read twice, all of it on the
      // active list, did the same (walkthroughs)
      const reclaimable = (alive ? x.memoryFileBytes : null) ?? 0;
      const memBytes = alive && x.memoryBytes !== null ? Math.max(0, x.memoryBytes - reclaimable) : undefined;
      // the tick's memory peak: the cgroup's high water where it rose since the last tick (on its
      // first tick, where the cgroup is this run's alone). Read at ticks, a 160 MiB spike
      // between two of them was not in the run's peak (64 MiB; a review). The high water counts
      // the page cache of its time, not known: the cache now is taken off it. A cache
      // dropped since leaves it high; one grown since, within the tick, can hide a spike freed
      // before it (the ticks' own figures still hold what lasted a tick). Taking the last
      // tick's cache instead put a file read within one tick whole into the peak
      let memPeakBytes: number | undefined;
      const hw = alive ? x.memoryHighWaterBytes : undefined;
      if (hw != null) {
        if (run.highWater !== undefined ? hw > run.highWater : !run.reused) memPeakBytes = Math.max(hw - reclaimable, memBytes ?? 0);
        run.highWater = hw;
      }
      this.sample(run, {
        atMs: sampleAtMs, cpuCores: x.cpuCores ?? undefined, memBytes, ...(memPeakBytes !== undefined && memBytes !== undefined ? { memPeakBytes } : {}),
        ioBytesPerSec: x.ioBytesPerSec ?? undefined, netBytesPerSec: x.netBytesPerSec ?? undefined,
      });
    }
    // runs the tick did not hand in (their cgroup gone from the index)
    for (const run of this.runs.values()) {
      if (run.endedAtMs !== undefined || run.lastAliveMs === nowMs) continue;
      if (this.opts.alive(run.workload)) run.lastAliveMs = nowMs;
      else run.endedAtMs = nowMs;
    }
    for (const [id, run] of this.runs) {
      if (run.endedAtMs === undefined) continue;
      // its task still being read: wait for the read (it has a deadline)
      if (run.signature === undefined && nowMs - run.startMs < TASK_READ_DEADLINE_MS) continue;
      this.runs.delete(id);
      rememberNewest(this.ranBefore, id, RAN_BEFORE_KEPT);
      this.pending.push(this.finish(run));
    }
    this.lastTickMs = nowMs;
    return this.pending.splice(0);
  }

  /**
   * The spans to `nowMs` of the runs of a command line going on (their task read, not ended, nor
   * gone from a cgroup it left processes in): what they have written is their output, not an
   * input of another run of it read now. Noted only at their end, two runs of one command at
   * once signed each other's partial outputs. (To now, not open-ended: a span kept open by
   * processes left behind hid every later change to the command's inputs; a review.)
   */
  ongoing(commandKey: string, nowMs = Date.now()): RunWindow[] {
    const out: RunWindow[] = [];
    for (const run of this.runs.values()) {
      if (run.commandKey === commandKey && run.endedAtMs === undefined && !run.leftBehind) out.push({ startMs: run.startMs, endMs: nowMs });
    }
    return out;
  }

  /** The run a workload is on, with what its task's profile expects; undefined when none. */
  statusOf(workloadId: string, nowMs: number, horizonsMs: readonly number[] = []): RunStatus | undefined {
    const run = this.runs.get(workloadId);
    if (!run || run.endedAtMs !== undefined) return undefined;
    const elapsedMs = nowMs - run.startMs;
    const f = run.forecast;
    return {
      signature: run.signature ?? null,
      startedAtMs: run.startMs,
      elapsedMs,
      expected: f && {
        runs: f.runs, confidence: f.confidence, confidenceOf: f.confidenceOf, durationMs: f.durationMs,
        progress: f.durationMs.mean > 0 ? elapsedMs / f.durationMs.mean : 0, peak: f.peak,
        ahead: elapsedMs > f.durationMs.p90 ? [] : horizonsMs.map((h) => ahead(f, elapsedMs, h)),
      },
    };
  }

  /** The forecast of the run a workload is on (from its task's profile); null with no run, or none for its task. */
  forecastOf(workloadId: string): RunForecast | null {
    const run = this.runs.get(workloadId);
    return run && run.endedAtMs === undefined ? run.forecast : null;
  }

  /**
   * Where a workload's run is, for its demand forecasts (demand-from-run.ts): its task's forecast,
   * the time since it started, its last samples; undefined with no run, or no forecast for its task.
   */
  positionOf(workloadId: string, nowMs: number): RunPosition | undefined {
    const run = this.runs.get(workloadId);
    if (!run || run.endedAtMs !== undefined || !run.forecast) return undefined;
    const last = [...run.samples.slice(-RECENT_SAMPLES), ...(run.bucket ? [run.bucket] : [])];
    return { forecast: run.forecast, elapsedMs: nowMs - run.startMs, recent: last.map((s) => ({ ...s, atMs: s.atMs - run.startMs })) };
  }

  /**
   * Whether the workload's run ended with its task's process while its cgroup went on: a process
   * there now started after that one ended (a crash loop, a restart within a tick: systemd's
   * 100 ms RestartSec). That run is ended now, and the caller begins the next. A process its task
   * left behind (a launcher's child) started before it ended: the same run. Four 3.5 s runs with
   * 0.3 s between them were one 15 s run, recorded so (a walkthrough).
   */
  private restarted(x: RunTickInput, nowMs: number): boolean {
    const run = this.runs.get(x.workload.id);
    if (!run || run.endedAtMs !== undefined || run.signature === undefined || !run.process || run.leftBehind) return false;
    const ended = this.opts.endOf?.(run.process.pid, run.process.startTicks);
    if (!ended) return false;
    const oldest = this.opts.oldestStartTicks?.(x.workload);
    if (oldest == null) return false;
    // (started within the 10 ms tick of the end, or before: forked by it, `cmd & exit`)
    if (oldest <= ended.endTicks) {
      // its cgroup goes on with what the task left: the same run to its end, not asked again
      // (a read of every process's start a tick, for the rest of a forking service's run)
      run.leftBehind = true;
      return false;
    }
    // (an OOM kill this tick counted: the run that ended's, not the next's)
    if (x.oomKilled) run.oomKillSeen = true;
    run.endedAtMs = nowMs;
    this.runs.delete(x.workload.id);
    rememberNewest(this.ranBefore, x.workload.id, RAN_BEFORE_KEPT);
    this.pending.push(this.finish(run, ended));
    return true;
  }

  private begin(workload: Workload, nowMs: number, firstSight: boolean): void {
    if (this.runs.size >= this.maxRuns) {
      if (this.skipped++ === 0) this.log(`task runs: ${this.maxRuns} runs followed already; newer ones are not (counted)`);
      return;
    }
    const run: Run = {
      workload, startMs: nowMs, lastAliveMs: nowMs, samples: [], signature: undefined, forecast: null, stride: 1, bucketCount: 0,
      oomKillsAtStart: this.opts.oomKills?.(workload) ?? null, oomKillSeen: false, firstSight, tickBeforeMs: this.lastTickMs, ticks: 0,
      reused: this.ranBefore.has(workload.id),
    };
    this.runs.set(workload.id, run);
    const backMs = Math.max(60_000, Number.isFinite(this.lastTickMs) ? 11 * (nowMs - this.lastTickMs) : 0);
    const settle = (task: RunTask | null): void => {
      if (run.signature !== undefined) return; // given up on already
      if (!task) {
        run.signature = null;
        run.readError = 'its process had exited before it could be read';
        return;
      }
      const { id, parts } = task.signature;
      run.signature = id;
      run.commandKey = task.signature.commandKey;
      if (task.pid !== undefined && task.startTicks !== undefined) run.process = { pid: task.pid, startTicks: task.startTicks };
      // the process's own start time, when it is before the tick that saw the cgroup (by up to a
      // minute, or 11 ticks: a walk of the trees finds a job's cgroup within 10 while the sched
      // probe is filtered, quietRuns)
      if (task.startedAtMs != null && task.startedAtMs < run.startMs && run.startMs - task.startedAtMs < backMs) run.startMs = task.startedAtMs;
      // named as called where that is not the binary's name (unxz runs /usr/bin/xz): two tasks
      // that differ only by it would otherwise read the same
      const exe = basename(parts.exePath) === parts.exeName ? parts.exePath : `${parts.exePath} (as ${parts.exeName})`;
      const env = Object.fromEntries(Object.entries(parts.env).map(([k, v]) => [k, v === null ? null : shortened(v)]));
      run.task = { ...label(exe, parts.args), inputs: parts.inputs.slice(0, LABEL_ARGS).map(describeInput), env };
      let ceiling: ReturnType<NonNullable<TaskRunsOptions['ceilingOf']>> | undefined;
      try {
        ceiling = this.opts.ceilingOf?.(workload);
      } catch (err) {
        // (no ceiling then: the run is still followed and forecast)
        this.log(`run of ${workload.id}: its limits not read: ${(err as Error).message}`);
      }
      run.forecast = heldUnder(this.opts.store.forecastRun(id) ?? null, ceiling?.cpuCores ?? null);
      const memPeak = run.forecast?.peak.memPeakBytes?.mean;
      const tooBig = memPeak !== undefined && ceiling?.memoryBytes != null && memPeak > ceiling.memoryBytes;
      this.pending.push({
        kind: 'run-start', atMs: Date.now(), workload, signature: id, task: run.task, forecast: run.forecast,
        ...(tooBig ? { memoryCeilingBytes: ceiling!.memoryBytes! } : {}),
      });
    };
    const fail = (err: unknown): void => {
      if (run.signature !== undefined) return;
      run.signature = null;
      run.readError = (err as Error)?.message ?? String(err);
      this.log(`run of ${workload.id}: task not read: ${run.readError}`);
    };
    let timer: NodeJS.Timeout | undefined;
    // (the read is stopped at its deadline too, not only its answer given up: a walk of many big
    // folders ran on to its end at every run)
    const stop = new AbortController();
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new Error(`task read took over ${TASK_READ_DEADLINE_MS / 1000} s`);
        stop.abort(err);
        reject(err);
      }, TASK_READ_DEADLINE_MS);
      timer.unref();
    });
    Promise.race([this.opts.taskOf(workload, stop.signal), deadline])
      .then(settle)
      .catch(fail)
      .finally(() => clearTimeout(timer));
  }

  /**
   * Adds a tick's sample. A long run keeps at most maxSamples, evenly spread: when full,
   * neighbours merge in pairs and later ticks merge `stride` at a time (means; the memory
   * peak is the pair's highest), so the curve still spans the whole run.
   */
  private sample(run: Run, s: RunSample): void {
    run.bucket = run.bucket ? merge(run.bucket, s, run.bucketCount) : s;
    run.bucketCount++;
    if (run.bucketCount < run.stride) return;
    run.samples.push(run.bucket);
    run.bucket = undefined;
    run.bucketCount = 0;
    if (run.samples.length < this.maxSamples) return;
    run.samples = halved(run.samples);
    run.stride *= 2;
  }

  /** A run held back for its status, learned now its task's next run ended so too (a failure to save it is logged). */
  private recordHeld(run: FinishedRun): void {
    try {
      const out = this.opts.store.record(run);
      if (out.evicted.length > 0) this.logEvicted(out.evicted);
    } catch (err) {
      this.log(`a held run of ${run.signature.slice(0, 8)}: not recorded: ${(err as Error).message}`);
    }
  }

  /** (said: a task's profile gone without a word was a forecast lost without a reason) */
  private logEvicted(evicted: readonly string[]): void {
    const n = evicted.length;
    this.log(`profiles: ${n === 1 ? 'the least recently used profile' : `the ${n} least recently used profiles`} evicted to keep within profiles.max_size: ${evicted.map((s) => s.slice(0, 8)).join(', ')}`);
  }

  /** `known`: how its task's process ended, where the caller has asked already (restarted). */
  private finish(run: Run, known?: ProcessEnd): RunEnd {
    // how its task's process ended: killed by a signal, or its exit status (where the probe saw it)
    const ended = known ?? (run.process ? this.opts.endOf?.(run.process.pid, run.process.startTicks) ?? null : null);
    // It ended between its last tick alive and the one that found it gone: where its task's
    // process ended then, at that moment (its cgroup emptied with it, or was restarted), else
    // half way. A task that ended before its cgroup's last tick alive left processes behind.
    const exitMs = ended?.endMs !== undefined && ended.endMs >= run.lastAliveMs - CLOCK_SLACK_MS && ended.endMs <= run.endedAtMs! + CLOCK_SLACK_MS
      ? Math.min(Math.max(ended.endMs, run.lastAliveMs), run.endedAtMs!) : undefined;
    const endMs = exitMs ?? (run.lastAliveMs + run.endedAtMs!) / 2;
    // (its span, recorded or not: what it wrote is no input of its command's next run; to its
    // task's end where known: an input the next step writes just after is not taken for its)
    if (run.commandKey !== undefined) this.opts.earlierRun?.(run.commandKey, { startMs: run.startMs, endMs: exitMs ?? run.endedAtMs! });
    let durationMs = Math.round(endMs - run.startMs);
    // begun and gone within one tick, its start not read: in a cgroup first seen that tick it
    // lasted at most the tick (not 0); in one seen before, its start is not known
    const unread = durationMs === 0 && run.endedAtMs === run.startMs;
    const within = unread && run.firstSight && !Number.isNaN(run.tickBeforeMs);
    if (within) durationMs = Math.round(run.endedAtMs! - run.tickBeforeMs);
    const killedBy = ended && 'signal' in ended ? signalName(ended.signal) : undefined;
    const exitStatus = ended && 'status' in ended ? ended.status : undefined;
    const end = {
      kind: 'run-end' as const, atMs: run.endedAtMs!, workload: run.workload, signature: run.signature ?? null, durationMs,
      ...(within ? { durationAtMost: true } : unread ? { durationUnknown: true } : {}),
      ...(killedBy !== undefined ? { killedBy } : exitStatus !== undefined ? { exitStatus } : {}),
    };
    // (a run the OOM killer cut short taught its task's profile a duration and a peak it never
    // has: the time to the kill and the limit; a walkthrough found such runs recorded)
    // (the fault probe's count on the run's ticks, its first included, and the kernel's own
    // count, read at the start and now: an event could be dropped, or come after the tick that
    // found the run gone; a task killed within its first tick is counted before its start is)
    const kills = run.oomKillsAtStart === null ? null : this.opts.oomKills?.(run.workload) ?? null;
    if (run.oomKillSeen || (kills !== null && kills > run.oomKillsAtStart!)) {
      const why = run.signature ? '' : ` (its task not read: ${run.readError ?? 'its read did not settle'})`;
      return { ...end, recorded: false, oomKilled: true, reason: `OOM-killed${why}: a run cut short is not learned as the task's` };
    }
    // (a timeout's SIGTERM, a cancel, kill -9, or a failure: the task's usual run it is not; a
    // killed 30 s job was learned as a 3 s one, and its next run forecast so: a walkthrough)
    if (killedBy !== undefined) return { ...end, recorded: false, reason: `killed by ${killedBy}: a run cut short is not learned as the task's` };
    const status = exitStatus !== 0 ? exitStatus : undefined;
    const failed = status === undefined ? '' : `exited with status ${status}: `;
    if (!run.signature) return { ...end, recorded: false, reason: `${failed}task not read: ${run.readError ?? 'its read did not settle'}` };
    if (durationMs < this.minRunMs) return { ...end, recorded: false, reason: `${failed}shorter than min_run (${this.minRunMs} ms)` };
    // samples were taken at ticks (the CPU of the tick ending then): times from the run's start
    const samples = [...run.samples, ...(run.bucket ? [run.bucket] : [])]
      .filter((s) => s.atMs <= (run.endedBusy ? run.endedAtMs! : run.lastAliveMs))
      .map((s) => ({ ...s, atMs: Math.max(0, Math.min(durationMs, s.atMs - run.startMs)) }));
    if (samples.length === 0) return { ...end, recorded: false, reason: `${failed}no sample while it ran` };
    // Begun before the tick ahead of the one that began its run: no sample holds its start (its
    // cgroup found late; or seen before, and busy only since). One begun within that tick was seen
    // as soon as a tick could, give or take its start's clock (START_CLOCK_SLACK_MS).
    const unseenRaw = Number.isFinite(run.tickBeforeMs) ? Math.min(durationMs, Math.round(run.tickBeforeMs - run.startMs)) : 0;
    const unseenMs = unseenRaw > START_CLOCK_SLACK_MS ? unseenRaw : 0;
    const finished: FinishedRun = {
      signature: run.signature, durationMs, endedAtMs: Math.round(endMs), samples, task: run.task,
      ...(exitStatus !== undefined ? { exitStatus } : {}), ...(unseenMs > 0 ? { unseenMs } : {}),
    };
    // (said with its end where a slice of its curve was left out: its first sample, at the middle
    // of the tick that began the run, comes after the span)
    const unseen = unseenSlices(durationMs, unseenMs) > 0 ? { unseenMs, unseenBecause: run.firstSight ? 'found-late' as const : 'before-busy' as const } : {};
    // A nonzero status is a failure, or the task's usual end (grep's 1 when nothing matched,
    // diff's 1, rsync's 24): every such run went unlearned, and such tasks were never forecast
    // (a review). Learned where its profile's last run ended so; else where USUAL_STATUS_RUNS
    // runs in a row of its task ended so, one after another (runs at once, shards failing
    // together, are not "in a row"): those held back are learned with it. Two were too few: a
    // job failing the same way twice (missing credentials) became its task's usual run (a
    // review). A run of another status, or of 0, drops those held.
    const held = (this.held.get(run.signature) ?? []).filter((h) => h.exitStatus === status && h.endedAtMs! >= endMs - HELD_FOR_MS);
    this.held.delete(run.signature);
    let learnedWith = 0;
    if (status !== undefined && this.opts.store.get(run.signature)?.exitStatus !== status) {
      // (at once: the last held ended clearly after this one began; an end placed half way
      // between two ticks, and a start read to 10 ms, are not that clear)
      const atOnce = held.length > 0 && held[held.length - 1]!.endedAtMs! > run.startMs + HELD_OVERLAP_MS;
      const inRow = atOnce ? held : [...held, thinned(finished)];
      if (inRow.length < USUAL_STATUS_RUNS) {
        this.held.set(run.signature, inRow);
        trimOldest(this.held, HELD_KEPT);
        const why = atOnce ? 'it ran at once with the last run held back, so it does not count' : `${inRow.length} of ${USUAL_STATUS_RUNS} in a row`;
        return { ...end, recorded: false, ...(atOnce ? {} : { heldBack: true as const }), reason: `${failed}held back (${why}): learned if ${USUAL_STATUS_RUNS} runs of its task in a row end so (its usual end, as grep's 1), else not (a failure)` };
      }
      learnedWith = held.length;
      for (const h of held) this.recordHeld(h);
    }
    try {
      const out = this.opts.store.record(finished);
      if (out.evicted.length > 0) this.logEvicted(out.evicted);
      const beyond = beyondForecast(run.forecast, durationMs, samples);
      return {
        ...end, recorded: out.saved, runs: out.profile.runs, ...(out.saved ? unseen : { reason: 'profile not saved (see the log)' }),
        ...(learnedWith > 0 ? { learnedWith } : {}),
        ...(beyond.length > 0 ? { beyondForecast: beyond } : {}),
      };
    } catch (err) {
      this.log(`run of ${run.workload.id}: not recorded: ${(err as Error).message}`);
      return { ...end, recorded: false, reason: (err as Error).message };
    }
  }
}

/**
 * What a finished run measured clearly above its forecast's p90 (BEYOND_MARGIN): its duration,
 * its highest CPU sample, its memory peak. A forecast missed is said with the run's end (a run
 * 2.7x as long and as big as forecast ended "recorded", and nothing more: a walkthrough).
 */
function beyondForecast(f: RunForecast | null, durationMs: number, samples: readonly RunSample[]): BeyondForecast[] {
  if (!f) return [];
  const out: BeyondForecast[] = [];
  const above = (actual: number, p90: number, what: BeyondForecast['what']): boolean => actual > BEYOND_MARGIN * p90 && actual - p90 >= BEYOND_FLOOR[what];
  if (above(durationMs, f.durationMs.p90, 'duration_ms')) out.push({ what: 'duration_ms', actual: durationMs, p90: f.durationMs.p90 });
  const highest = (pick: (s: RunSample) => number | undefined): number | undefined => {
    let top: number | undefined;
    for (const s of samples) {
      const v = pick(s);
      if (v !== undefined && (top === undefined || v > top)) top = v;
    }
    return top;
  };
  const cpu = highest((s) => s.cpuCores);
  if (cpu !== undefined && f.peak.cpuCores && above(cpu, f.peak.cpuCores.p90, 'cpu_cores')) out.push({ what: 'cpu_cores', actual: cpu, p90: f.peak.cpuCores.p90 });
  const mem = highest((s) => s.memPeakBytes ?? s.memBytes);
  if (mem !== undefined && f.peak.memPeakBytes && above(mem, f.peak.memPeakBytes.p90, 'memory_peak_bytes')) out.push({ what: 'memory_peak_bytes', actual: mem, p90: f.peak.memPeakBytes.p90 });
  return out;
}

/** A forecast with its CPU held at the cgroup's CPU ceiling (a 2-CPU host's task forecast at 2.16 cores). */
function heldUnder(f: RunForecast | null, cpuCeiling: number | null): RunForecast | null {
  if (!f || cpuCeiling === null) return f;
  const c = f.curve.cpuCores;
  const p = f.peak.cpuCores;
  if (!c || !p) return f;
  const at = (v: number): number => Math.min(v, cpuCeiling);
  return {
    ...f,
    curve: { ...f.curve, cpuCores: { ...c, mean: c.mean.map(at), p90: c.p90.map(at) } },
    peak: { ...f.peak, cpuCores: { mean: at(p.mean), p90: at(p.p90) } },
  };
}

/** The highest p90 of each curve over the slices from `elapsedMs` to `elapsedMs + horizonMs`. */
function ahead(f: RunForecast, elapsedMs: number, horizonMs: number): RunAhead {
  const slice = (ms: number): number => sliceOf(f, ms);
  const from = slice(elapsedMs);
  const to = slice(elapsedMs + horizonMs);
  const out = { horizonMs } as RunAhead;
  for (const r of AHEAD_RESOURCES) {
    const c = f.curve[r];
    out[r] = c ? Math.max(...c.p90.slice(from, to + 1)) : null;
  }
  return out;
}

/** An input as the signature saw it, for people: what tells two runs of one command line apart. */
function describeInput(i: InputPart): string {
  const name = shortened(i.name);
  switch (i.kind) {
    case 'file': return `${name}: file, ${i.bytes} bytes`;
    case 'dir': return `${name}: folder, ${i.bytes} bytes in ${i.entries}${i.truncated ? '+' : ''} entries`;
    case 'glob': return `${name}: matches, ${i.bytes} bytes in ${i.entries}${i.truncated ? '+' : ''} entries`;
    case 'missing': return `${name}: missing`;
    default: return `${name}: not a file or folder`;
  }
}

/** Characters kept of an input's name or an environment value in a label (an argument or a variable can be huge). */
const LABEL_VALUE_CHARS = 256;
const shortened = (v: string): string => (v.length > LABEL_VALUE_CHARS ? `${v.slice(0, LABEL_VALUE_CHARS)}...` : v);

/** A task's label for people: the executable and its first arguments, bounded in count and length. */
function label(exe: string, args: readonly string[]): TaskLabel {
  const kept: string[] = [];
  let chars = 0;
  for (const a of args.slice(0, LABEL_ARGS)) {
    if (chars + a.length > LABEL_CHARS) {
      kept.push(`${a.slice(0, Math.max(0, LABEL_CHARS - chars))}...`);
      break;
    }
    kept.push(a);
    chars += a.length;
  }
  if (args.length > kept.length) kept.push(`(+${args.length - kept.length} more)`);
  return { exe, args: kept };
}

/** The root and cgroups the index could not name are not runs. */
function isRunCandidate(w: Workload): boolean {
  return w.path !== '/' && !w.path.startsWith('?');
}

/** A signal's name (SIGKILL), or its number where it has none here. */
function signalName(n: number): string {
  const name = Object.entries(osConstants.signals).find(([, v]) => v === n)?.[0];
  return name ?? `signal ${n}`;
}
