// What the host leaves a workload's CPU: its CPUs less the others' use, unless the host is full
// and the workload does not wait to run (then the others do not hold it back), and whether it
// waited, read over its last few ticks. The memory counterpart is memoryLeftByHost (usage.ts).

/**
 * A workload waits for CPU, held back by the others, when it spent at least this share of its
 * runnable time in the run queue, and at least HELD_WAIT_FLOOR seconds a second (waitedToRun).
 * On a full 2-CPU host, four hogs of equal weight and a 26%-duty workload beside them waited
 * 43-70% of it; with the hogs at the lowest weight, that workload waited 0-19% (0.00-0.06 s a
 * second) and got all it asked for.
 */
export const HELD_WAIT_SHARE = 0.25;
/**
 * A workload asleep most of the tick is not held back by its wakeups' latency: one that woke
 * every 100 ms for 2 ms of CPU waited 3 ms a wakeup beside four hogs (0.03 s a second, 60% of
 * its runnable time) and got all it asked for, but read its use as its limit, P(contention) up
 * to 1 and a 0 s countdown on 32 of 40 ticks (a walkthrough).
 */
export const HELD_WAIT_FLOOR = 0.05;

/** Whether a workload's tasks waited to run enough to be held back by the others (HELD_WAIT_SHARE, HELD_WAIT_FLOOR): seconds waited and CPU used, a second. */
export function waitedToRun(waitPerSecond: number, cores: number): boolean {
  return waitPerSecond >= HELD_WAIT_FLOOR && waitPerSecond >= HELD_WAIT_SHARE * (waitPerSecond + cores);
}

/**
 * The host is full for a workload when what it leaves beyond the workload's use is under this
 * share of that use, or under HOST_FULL_CORES, or under HOST_FULL_PER_CPU of the host's CPUs
 * (/proc/stat counts in 10 ms ticks per CPU: a large host's idle reads a few hundredths of a core
 * off from tick to tick).
 */
const HOST_FULL_SHARE = 0.1;
const HOST_FULL_CORES = 0.05;
const HOST_FULL_PER_CPU = 0.01;

/** Whether a host that leaves a workload `left` cores, of which it uses `cores`, is full for it (HOST_FULL_SHARE, HOST_FULL_CORES, HOST_FULL_PER_CPU). */
export function hostFullFor(left: number, cores: number, hostCores: number): boolean {
  return left - cores < Math.max(HOST_FULL_CORES, HOST_FULL_SHARE * cores, HOST_FULL_PER_CPU * hostCores);
}

/**
 * What the host leaves a workload's CPU, in cores: its CPUs less what everything else used
 * (`busyCores` counts the workload's own `cores`); and whether it is `held` there, the host full
 * for it (little left beyond its own use) and the workload having `waited` to run (waitedToRun).
 * Where the host is full but the workload has not waited, the others did not hold it back: it
 * wins the CPU it asks for (a higher weight, or its wakeups preempting batch work), and the host
 * leaves it all its CPUs. Else, on a full host, every workload read the limit it sat at,
 * P(contention) near 1 and a countdown of 0 s, the one that never waited as much as the hogs that did.
 */
export function cpuLeftByHost(cores: number, waited: boolean, hostCores: number, busyCores: number): { cores: number; held: boolean } {
  const left = Math.max(0, hostCores - Math.max(0, busyCores - cores));
  if (!hostFullFor(left, cores, hostCores)) return { cores: left, held: false };
  return waited ? { cores: left, held: true } : { cores: hostCores, held: false };
}

/** Samples over which a workload's run-queue wait halves its weight in RecentWaits. */
const WAIT_HALF_LIFE = 3;
const WAIT_ALPHA = 1 - 0.5 ** (1 / WAIT_HALF_LIFE);
/** A tick with less CPU and run-queue wait than this (a second) is idle: nothing waited to run. */
const IDLE_FLOOR = 0.005;

/** A workload's tick, as RecentWaits reads it (all a second). */
export interface TickWaits {
  /** seconds its tasks waited to run (under sampling, each wait counted weighs 2^n) */
  waitPerSecond: number;
  /** waits that ended (counted as waitPerSecond is) */
  waitsPerSecond: number;
  /** its tasks' context switches (exact, sampled or not: each switch-out is a wait to come) */
  switchesPerSecond: number;
  cores: number;
  /** waits the probe counted in the tick, each as one (under sampling, 1 in 2^n of them) */
  waitsSampled: number;
}

/**
 * The waits' mean length is read as if PRIOR_WAITS more of length 0 had been counted: at 1 in 64
 * a workload's waits are counted a few a minute, and one long one made the mean (at 6 waits a
 * second, a wait of 8.5 ms read 0.051 s a second against a floor of 0.05).
 */
const PRIOR_WAITS = 2;

/**
 * Each workload's run-queue wait and CPU a second, smoothed over the ticks in a row it is seen
 * in, and whether it waited to run (waitedToRun) on them. A tick's wait is noisy: a long wait is
 * counted whole in the tick it ends (a one-task hog read 1.5 s a second), and a sampled probe
 * counts one wait in 64 as 64 waits (hogs starved all along read as free on 6-13 of 29 ticks at
 * 1 in 64: a walkthrough). So the wait a second is read as the waits' mean length (the sampled
 * ones say it well) times how many there were (its switches, counted whole): at 1 in 8, a
 * workload that waited about 6 times a second, some 6 ms each (0.036 s a second), read 0 or
 * 0.064 s a second from tick to tick and was held back on 4 of 15 ticks. An idle tick starts
 * it afresh: a hog that waited, then exited, was still read as waiting 11 ticks on, held at the
 * 0 cores the others left its empty cgroup.
 */
export class RecentWaits {
  private readonly byId = new Map<string, { wait: number; waits: number; switches: number; cores: number; sampled: number; atMs: number }>();

  /** Folds in a tick's figures; true when the workload waited to run, on its smoothed figures. */
  waited(id: string, tick: TickWaits, atMs: number): boolean {
    const { waitPerSecond, waitsPerSecond, switchesPerSecond, cores, waitsSampled } = tick;
    if (!(waitPerSecond + cores >= IDLE_FLOOR) || !(waitsPerSecond >= 0 && switchesPerSecond >= 0 && waitsSampled >= 0)) { // (idle, or not a number)
      this.byId.delete(id);
      return false;
    }
    let w = this.byId.get(id);
    if (w === undefined) this.byId.set(id, (w = { wait: waitPerSecond, waits: waitsPerSecond, switches: switchesPerSecond, cores, sampled: waitsSampled, atMs }));
    else {
      w.wait += WAIT_ALPHA * (waitPerSecond - w.wait);
      w.waits += WAIT_ALPHA * (waitsPerSecond - w.waits);
      w.switches += WAIT_ALPHA * (switchesPerSecond - w.switches);
      w.cores += WAIT_ALPHA * (cores - w.cores);
      // (a count that fades as the means do: the waits they stand on)
      w.sampled = w.sampled * (1 - WAIT_ALPHA) + waitsSampled;
      w.atMs = atMs;
    }
    // (no wait counted yet, or no switch: the waits as counted)
    const wait = w.waits > 0 && w.switches > 0 ? (w.wait / w.waits) * w.switches * (w.sampled / (w.sampled + PRIOR_WAITS)) : w.wait;
    return waitedToRun(wait, w.cores);
  }

  /** Forgets the workloads not seen at `atMs`: one back after ticks away starts afresh, not from what it did then. */
  keepOnly(atMs: number): void {
    for (const [id, w] of this.byId) if (w.atMs !== atMs) this.byId.delete(id);
  }
}
