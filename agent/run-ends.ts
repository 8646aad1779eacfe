// Which forecast workloads' runs have ended: their cgroup holds no process any more. Their
// forecasts then start afresh (DemandInput.emptied): what a run taught (its peaks, its climb)
// held a countdown and P(contention) near 1 over the empty cgroup of a CPU hog that exited.
// A cgroup is looked at only where its workload's CPU fell to none, then again each tick while
// it stays idle, for WATCH_TICKS at most (a run that sleeps before it exits); likewise for one
// that left the forecast set busy or so watched, whose next forecast then starts afresh.
import type { Workload } from './workloads/types.js';
import { rememberNewest, trimOldest } from './bounded.js';

/** Cores under which a workload used no CPU in a tick: where its cgroup may have emptied. */
export const EMPTY_CORES = 0.001;
/** Ticks an idle workload's cgroup is looked at for emptying after its CPU fell to none (a minute at the default 1 s tick). */
export const WATCH_TICKS = 60;
/** Workloads watched or remembered at most (the oldest go first): bounds the reads a tick. */
const MAX_WATCHED = 256;
const MAX_REMEMBERED = 4096;

interface Seen {
  workload: Workload;
  cores: number;
  /** ticks since its CPU fell to none while its cgroup held a process; 0: not watched */
  idleTicks: number;
}

export class RunEnds {
  private seen = new Map<string, Seen>();
  /** workloads that left the forecast set, watched for their cgroup to empty: ticks since */
  private readonly leaving = new Map<string, { workload: Workload; ticks: number }>();
  /** workloads whose cgroup emptied while not forecast: their next forecast starts afresh */
  private readonly restartNext = new Set<string>();

  /** `emptied`: whether the workload's cgroup holds no process (true when it is gone; false when it cannot tell). */
  constructor(private readonly emptied: (w: Workload) => boolean) {}

  /** The tick's forecast workloads with their CPU; returns the ids whose run has ended (to be forecast afresh now). */
  tick(forecast: readonly { workload: Workload; cores: number }[]): Set<string> {
    const ended = new Set<string>();
    const now = new Map<string, Seen>();
    for (const { workload, cores } of forecast) {
      const id = workload.id;
      const prev = this.seen.get(id) ?? this.fromLeaving(id);
      let idleTicks = 0;
      if (cores < EMPTY_CORES && prev) {
        if (prev.cores >= EMPTY_CORES) idleTicks = 1;
        else if (prev.idleTicks > 0) idleTicks = prev.idleTicks + 1;
        if (idleTicks > WATCH_TICKS) idleTicks = 0;
        if (idleTicks > 0 && this.emptied(workload)) {
          ended.add(id);
          idleTicks = 0;
        }
      }
      if (this.restartNext.delete(id)) ended.add(id);
      now.set(id, { workload, cores, idleTicks });
    }
    // (one idle since before, or whose run ended, has nothing left to end)
    for (const [id, prev] of this.seen) {
      if (!now.has(id) && (prev.cores >= EMPTY_CORES || prev.idleTicks > 0)) this.leaving.set(id, { workload: prev.workload, ticks: prev.idleTicks });
    }
    for (const [id, w] of this.leaving) {
      if (now.has(id)) continue;
      if (this.emptied(w.workload)) {
        this.leaving.delete(id);
        rememberNewest(this.restartNext, id, MAX_REMEMBERED);
      } else if (++w.ticks >= WATCH_TICKS) {
        this.leaving.delete(id);
      }
    }
    trimOldest(this.leaving, MAX_WATCHED);
    this.seen = now;
    return ended;
  }

  /** A workload forecast again after it left: no longer watched as leaving; idle and watched before, its watch goes on. */
  private fromLeaving(id: string): Seen | undefined {
    const w = this.leaving.get(id);
    if (!w) return undefined;
    this.leaving.delete(id);
    return { workload: w.workload, cores: 0, idleTicks: w.ticks + 1 };
  }
}
