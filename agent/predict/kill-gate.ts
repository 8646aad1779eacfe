// Whether an OOM kill has emptied a workload, so that its memory forecast starts afresh. The
// climb to a kill teaches the peak models large excesses over the value and the trend a line; an
// emptied cgroup kept them, and showed a countdown and P(contention) 0.5 for two minutes. A kill
// that leaves the workload full (one worker of many, a cgroup thrashing at its limit) changes
// nothing: started afresh at each such kill, its warning came and went. One gate serves the
// agent (DemandForecasts) and the replays of `headroom predict`, so both restart at the same step
// after a kill (the agent's other restarts, at a run's end or a start-up's level, are its own).

/** Samples after a kill within which a fall to half of what the workload held counts (the kill may be counted a tick before its memory is freed). */
export const KILL_WAIT = 5;

export class KillGate {
  /** what the workload held just before the kill, and the samples left to wait for the fall */
  private killedFrom = Number.NaN;
  private wait = 0;

  /** `last`: the value before the first one fed (NaN: none) */
  constructor(private last = Number.NaN) {}

  /**
   * Feeds one sample; `killed`: an OOM kill since the previous one. True when the kill has
   * emptied the workload: the value at half or less of what it held before the kill, within
   * KILL_WAIT samples of it (the gate is then spent until the next kill).
   */
  emptied(value: number, killed: boolean): boolean {
    if (killed) {
      this.killedFrom = Number.isNaN(this.last) ? value : Math.max(this.last, value);
      this.wait = KILL_WAIT;
    }
    this.last = value;
    if (this.wait === 0) return false;
    this.wait--;
    if (!(value <= 0.5 * this.killedFrom)) return false;
    this.wait = 0;
    return true;
  }
}
