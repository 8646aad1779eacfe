// Whether a workload's first samples were a start-up climb that has levelled off, so that its
// forecast starts afresh from the level it reached. A start-up's fill (an interpreter loading, a
// cache warming) read as a trend: a 2 s climb from 5 to 80 MiB, then flat, held a 25-55 s
// countdown to a 256 MiB limit and P(reaching it within 60 s) 1 for the next five ticks (a
// walkthrough: a 56 s countdown 4 s and 9 s in). A climb that goes on (a leak from its first
// second) is no start-up, and is followed as before; so is one that only pauses a tick.

/** Samples from a pair's first within which a start-up climb is looked for. */
export const START_UP_LOOK = 10;
/** A step rises when it passes the highest value so far by this share of the climb's mean rise, or more. */
const RISE_SHARE = 0.1;
/** Steps in a row that do not rise level the climb off. */
const LEVEL_STEPS = 2;
/** A start-up climb built at least this share of the level it reached (not a wobble of a steady series). */
const BUILT_SHARE = 0.5;

export class StartupGate {
  private samples = 0;
  private first = Number.NaN;
  private highest = Number.NaN;
  /** steps that rose, and steps in a row since the last that did not */
  private rises = 0;
  private still = 0;

  /** `first`: the pair's first sample (as KillGate takes it); `spent`: look for no start-up (a pair whose model changed, or one started afresh from a start-up) */
  constructor(first: number, private spent = false) {
    this.levelled(first);
  }

  /** Feeds one sample; true when it levels off a start-up climb (the pair is to start afresh from it). Once true, or past START_UP_LOOK, never again. */
  levelled(value: number): boolean {
    if (this.spent) return false;
    if (++this.samples === 1) {
      this.first = this.highest = value;
      return false;
    }
    const meanRise = this.rises > 0 ? (this.highest - this.first) / this.rises : 0;
    if (value > this.highest && value - this.highest >= RISE_SHARE * meanRise) {
      this.highest = value;
      this.rises++;
      this.still = 0;
    } else if (++this.still >= LEVEL_STEPS) {
      this.spent = true;
      return this.rises > 0 && this.highest - this.first >= BUILT_SHARE * this.highest;
    }
    if (this.samples >= START_UP_LOOK) this.spent = true;
    return false;
  }
}
