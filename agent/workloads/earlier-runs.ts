// When each command line last ran (TaskSignature.commandKey): what a run wrote, between its
// start and its end, is its output, and a later run of the same command must not sign it as an
// input. Read half a second into a run, `python3 conv.py in.csv out.csv` found the last run's
// out.csv, and `make -C proj` its own build.log and binary in proj: every run had a signature of
// its own, and none was ever forecast (a walkthrough). Kept in memory: after a restart the first
// run signs the last one's outputs once, and the next is back on its usual signature.

/** A run's span (ms since the epoch): from its process's start to the tick that found it gone. */
export interface RunWindow {
  startMs: number;
  endMs: number;
}

/** Command lines remembered, the least recently run forgotten first. */
const COMMANDS_KEPT = 1024;
/** Spans kept a command line, the oldest forgotten first: a file only an earlier run wrote is its output that long. */
const WINDOWS_KEPT = 16;

export class EarlierRuns {
  private readonly byCommand = new Map<string, RunWindow[]>();

  /** Notes a run of `commandKey` (overlapping spans merged). */
  note(commandKey: string, w: RunWindow): void {
    if (!(w.endMs >= w.startMs)) return;
    const spans = this.byCommand.get(commandKey) ?? [];
    this.byCommand.delete(commandKey);
    const overlap = spans.find((s) => s.startMs <= w.endMs && w.startMs <= s.endMs);
    if (overlap) {
      overlap.startMs = Math.min(overlap.startMs, w.startMs);
      overlap.endMs = Math.max(overlap.endMs, w.endMs);
    } else {
      spans.push({ ...w });
      if (spans.length > WINDOWS_KEPT) spans.shift();
    }
    this.byCommand.set(commandKey, spans);
    if (this.byCommand.size > COMMANDS_KEPT) this.byCommand.delete(this.byCommand.keys().next().value!);
  }

  /** The spans of `commandKey`'s earlier runs, oldest first (none: never seen end). */
  of(commandKey: string): readonly RunWindow[] {
    return this.byCommand.get(commandKey) ?? [];
  }
}
