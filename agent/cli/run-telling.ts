// Which task-run events `run` says by default (a line, and a log record when pushing over OTLP):
// a start with a forecast from its task's profile, an end recorded into the profile, and the end
// of every run whose start was said, recorded or not (too short, its profile not saved: with why),
// so that a forecast said is never left without its outcome; and every run an OOM kill or a
// signal cut short, or that failed (exited nonzero).
// `--events` says every one.
import type { RunEvent } from '../predict/task-runs.js';

export class RunTelling {
  /** workloads whose run's start was said, until its end is seen */
  private readonly startsSaid = new Set<string>();

  /** Whether this event is said by default. */
  says(e: RunEvent): boolean {
    if (e.kind === 'run-start') {
      if (e.forecast === null) return false;
      this.startsSaid.add(e.workload.id);
      return true;
    }
    // (deleted whatever the end: a run's start is said once, its end once)
    const startSaid = this.startsSaid.delete(e.workload.id);
    // (a run killed, for its memory or by a signal, or failing, is said whether or not its start
    // was: it is news, and it is not learned)
    return e.recorded || startSaid || e.oomKilled === true || e.killedBy !== undefined || (e.exitStatus !== undefined && e.exitStatus !== 0);
  }
}
