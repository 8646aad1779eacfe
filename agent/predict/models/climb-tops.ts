// Where a series' climbs stop: the tops of its last climbs that fell back. A heap that fills
// and is collected (a JVM's, a cache flushed on a timer) climbs at a steady rate to about one
// height, drops, and climbs again; each climb's straight line (DampedTrend.climbLine) says
// nothing of where the last ones stopped, and read 60 s ahead it ran on past them to the limit.
// A sawtooth from 20 to 200 MiB at 3 MiB/s under a 256 MiB limit was counted down on about a
// third of its ticks for as long as it ran (engine-peak and horizon-peak alike), one to 150 MiB
// at 2 MiB/s on a tenth. Where the last climbs stopped at about one height, a climb under it is
// followed up to it, no further (DampedTrend: climbLine, climbStepsTo); one that passes it is
// followed as before.

/** Climbs that fell back, read: the newest this many must agree on a height. */
const TOPS_READ = 3;
/**
 * The newest TOPS_READ tops agree where they lie within this share of their climbs' mean rise.
 * The recorded memory-growth workload's climbs stop 205-246 MiB up from 6 (its tops within 0.18
 * of their rise of each other; at 0.1 its 256 MiB limit was counted down on 648 of 1,489 ticks,
 * at 0.25 on 179, 162 of those before its third climb fell back).
 */
const TOPS_SPREAD = 0.25;
/**
 * Tops and troughs that both rose over the newest TOPS_READ climbs by more than this share of
 * their rise are a leak under a collector's sawtooth (what the collector frees does not come
 * back up; what it cannot free lifts both): no height holds it.
 */
const LEAK_CREEP = 0.05;
/** A climb has fallen back once the values drop this share of its rise below its top. */
const FALL_SHARE = 0.5;

export class ClimbTops {
  /** the newest climbs that fell back: top, the lowest value before the climb, rings at `kept` */
  private readonly tops = new Float64Array(TOPS_READ);
  private readonly lows = new Float64Array(TOPS_READ);
  private kept = 0;
  /** the lowest value since the last climb fell back (a climb's rise is from it) */
  private low = Number.POSITIVE_INFINITY;
  /** the climb under way: its highest value (NaN: none), and whether it drew a straight line */
  private high = Number.NaN;
  private lined = false;
  /** the height the newest tops agree on (+infinity: none) */
  private held = Number.POSITIVE_INFINITY;

  /**
   * The newest value; whether the values climb now (DampedTrend.climbing's flag), and whether they
   * climb on a straight line (DampedTrend.climbRate): a climb counts only where it drew one (four
   * rises of noise are no climb).
   */
  note(x: number, climbing: boolean, onLine: boolean): void {
    if (Number.isNaN(this.high)) {
      if (!climbing) {
        if (x < this.low) this.low = x;
        return;
      }
      this.high = x;
      this.lined = false;
    }
    if (x > this.high) this.high = x;
    this.lined ||= onLine;
    const rise = this.high - this.low;
    if (!(rise > 0) || this.high - x < FALL_SHARE * rise) return;
    // fallen back: a top, where it climbed on a line
    if (this.lined) {
      this.tops[this.kept % TOPS_READ] = this.high;
      this.lows[this.kept % TOPS_READ] = this.low;
      this.kept++;
      this.held = this.readHeight();
    }
    this.high = Number.NaN;
    this.low = x;
  }

  /** Where the newest climbs stopped, where they agree and `x` is not above it (a climb past it is new); +infinity otherwise. */
  heightAbove(x: number): number {
    return x <= this.held ? this.held : Number.POSITIVE_INFINITY;
  }

  private readHeight(): number {
    if (this.kept < TOPS_READ) return Number.POSITIVE_INFINITY;
    let lowest = Number.POSITIVE_INFINITY;
    let highest = Number.NEGATIVE_INFINITY;
    let rise = 0;
    for (let i = 0; i < TOPS_READ; i++) {
      lowest = Math.min(lowest, this.tops[i]!);
      highest = Math.max(highest, this.tops[i]!);
      rise += (this.tops[i]! - this.lows[i]!) / TOPS_READ;
    }
    const newest = (this.kept - 1) % TOPS_READ;
    const oldest = this.kept % TOPS_READ;
    const creep = LEAK_CREEP * rise;
    const leak = this.tops[newest]! - this.tops[oldest]! > creep && this.lows[newest]! - this.lows[oldest]! > creep;
    return highest - lowest <= TOPS_SPREAD * rise && !leak ? highest : Number.POSITIVE_INFINITY;
  }
}
