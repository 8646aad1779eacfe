// Where a series' climbs stop: the tops of its last climbs that fell back. A heap that fills
// and is collected (a JVM's, a cache flushed on a timer) climbs at a steady rate to about one
// height, drops, and climbs again; each climb's straight line (DampedTrend.climbLine) says
// nothing of where the last ones stopped, and read 60 s ahead it ran on past them to the limit.
// A sawtooth from 20 to 240 MiB at 3 MiB/s under a 256 MiB limit was counted down on more than
// half of its ticks for as long as it ran (engine-peak and horizon-peak alike: the demand unit
// test). Where the last climbs stopped at about one height, and lately, a climb from about
// their troughs is followed up to it, no further (DampedTrend: climbLine, climbStepsTo); one
// that passes it is followed as before.

/** Climbs that fell back, read: the newest this many must agree on a height. */
const TOPS_READ = 3;
/**
 * The newest TOPS_READ tops agree where they lie within this share of their climbs' mean rise.
 * The recorded memory-growth workload's climbs stop 205-246 MiB up from 5-6 (its tops within
 * 0.18 of their rise of each other; when first built, at 0.1 its 256 MiB limit was counted down
 * on 648 of 1,489 ticks, at 0.25 on 179, 162 of those before its third climb fell back). Also
 * how far above their troughs a climb may begin and be held (heldFrom), and the largest rise in
 * one sample that is still a climb's (heldJump; a step up is a new base).
 */
const TOPS_SPREAD = 0.25;
/**
 * A leak under a collector, which no height holds: tops and troughs that both rose over the
 * newest TOPS_READ climbs by more than this share of their rise (what the collector frees does
 * not come back up, what it cannot free lifts both). Troughs that rise under tops that do not
 * (a collection triggered at a fixed height) are held: the tops, not the troughs, near the limit.
 */
const LEAK_CREEP = 0.05;
/**
 * A heap or a cache that grows each period from the same trough, which no height holds either:
 * each of the newest this many tops above the one before by more than LEAK_CREEP of their rise
 * (three rises). Over three tops, the recorded memory-growth workload's (205, 230, 245 MiB: they
 * stop where they will) read as growing, and its limit was counted down on 53 more ticks.
 */
const TOPS_RISING = 4;
/** A climb has fallen back once the values drop this share of its rise below its top. */
const FALL_SHARE = 0.5;
/**
 * A climb that sat at its top longer than it took to climb there from its trough, before it fell
 * back, is no tooth of a sawtooth (a heap that levelled off overnight, collected in the morning):
 * the climbs kept are forgotten, and the height with them (kept, its cycle held the height for a
 * day: STALE_CYCLES; skipped alone, the next tooth's cycle spanned the night).
 */
const SAT_SHARE = 1;
/**
 * The height holds this many of the newest climbs' longest cycles (fall back to fall back) after
 * the last fell back, no longer: a sawtooth that ended an hour ago says nothing of a leak now.
 * At twice their mean, the recorded workload's cycles (43-164 s) outran it.
 */
const STALE_CYCLES = 3;
/** Climbs kept: enough for each rule above. */
const KEPT = Math.max(TOPS_READ, TOPS_RISING);

export class ClimbTops {
  /** the newest climbs that fell back: top, the lowest value before the climb, the step it fell back at; rings at `kept` */
  private readonly tops = new Float64Array(KEPT);
  private readonly lows = new Float64Array(KEPT);
  private readonly fellAt = new Float64Array(KEPT);
  private kept = 0;
  /** the lowest value since the last climb fell back, off a climb (that climb's drop included: a climb's rise is from it), and its step */
  private low = Number.POSITIVE_INFINITY;
  private lowAt = 0;
  /** the newest value (at the next note, the one before it: a rise in one sample is read against it) */
  private last = Number.NaN;
  /**
   * the climb under way: its highest value (NaN: none), whether it drew a straight line, the
   * value it was first read climbing at (or stepped up to since), the step of its highest value
   */
  private high = Number.NaN;
  private lined = false;
  private from = Number.NaN;
  private highAt = 0;
  /** the height the newest tops agree on (+infinity: none), until which step it holds, and from how low (the highest of their troughs, plus TOPS_SPREAD of their rise) */
  private held = Number.POSITIVE_INFINITY;
  private heldUntil = Number.NEGATIVE_INFINITY;
  private heldFrom = Number.NEGATIVE_INFINITY;
  private heldJump = Number.POSITIVE_INFINITY;
  private step = 0;

  /**
   * The newest value at `step` (steps since the first, holes counted); whether the values climb
   * now (DampedTrend.climbing's flag), and whether on a straight line (DampedTrend.climbRate): a
   * climb counts only where it drew one (four rises of noise are no climb).
   */
  note(x: number, step: number, climbing: boolean, onLine: boolean): void {
    if (!Number.isFinite(x)) return;
    this.step = step;
    const jumped = x - this.last > this.heldJump;
    this.last = x;
    if (Number.isNaN(this.high)) {
      // (a drop read over several samples: the climb's flag outlives its first, and the trough
      // is the lowest of them, not the one past half the rise. Within a climb, a value under its
      // trough is its fall)
      if (x < this.low) {
        this.low = x;
        this.lowAt = step;
      }
      if (!climbing) return;
      this.high = x;
      this.lined = false;
      this.from = x;
      this.highAt = step;
    }
    // (a step up within the climb, as large as a quarter of the teeth's rise: read from its top)
    if (jumped) this.from = x;
    if (x > this.high) {
      this.high = x;
      this.highAt = step;
    }
    this.lined ||= onLine;
    const rise = this.high - this.low;
    if (!(rise > 0) || this.high - x < FALL_SHARE * rise) return;
    // fallen back: a top, where it climbed on a line; one that sat there long ends the sawtooth
    if (this.lined && step - this.highAt > SAT_SHARE * (this.highAt - this.lowAt)) {
      this.kept = 0;
      this.readHeight();
    } else if (this.lined) {
      const at = this.kept % KEPT;
      this.tops[at] = this.high;
      this.lows[at] = this.low;
      this.fellAt[at] = step;
      this.kept++;
      this.readHeight();
    }
    this.high = Number.NaN;
    this.low = x;
    this.lowAt = step;
  }

  /**
   * Where the newest climbs stopped, where they agree, lately, for values from about the
   * troughs they climbed from (the climb under way, from where it was first read climbing or
   * the top of a step up since; off a climb, the newest value: a base that stepped up is
   * something else), while neither the newest value nor the climb under way has passed it (a
   * climb past it is new until it falls back); +infinity otherwise.
   */
  get height(): number {
    const x = this.last;
    const climbing = !Number.isNaN(this.high);
    const top = climbing ? Math.max(x, this.high) : x;
    const from = climbing ? this.from : x;
    return top <= this.held && from <= this.heldFrom && this.step <= this.heldUntil ? this.held : Number.POSITIVE_INFINITY;
  }

  private readHeight(): void {
    this.held = Number.POSITIVE_INFINITY;
    this.heldJump = Number.POSITIVE_INFINITY;
    if (this.kept < TOPS_READ) return;
    // (ring slots of the newest `n` climbs, k = 0 the oldest of them)
    const at = (n: number, k: number): number => (this.kept - n + k) % KEPT;
    let lowest = Number.POSITIVE_INFINITY;
    let highest = Number.NEGATIVE_INFINITY;
    let trough = Number.NEGATIVE_INFINITY;
    let rise = 0;
    let cycle = 0;
    for (let k = 0; k < TOPS_READ; k++) {
      const i = at(TOPS_READ, k);
      lowest = Math.min(lowest, this.tops[i]!);
      highest = Math.max(highest, this.tops[i]!);
      trough = Math.max(trough, this.lows[i]!);
      rise += (this.tops[i]! - this.lows[i]!) / TOPS_READ;
      if (k > 0) cycle = Math.max(cycle, this.fellAt[i]! - this.fellAt[at(TOPS_READ, k - 1)]!);
    }
    const creep = LEAK_CREEP * rise;
    const oldest = at(TOPS_READ, 0);
    const newest = at(TOPS_READ, TOPS_READ - 1);
    const creeps = this.tops[newest]! - this.tops[oldest]! > creep && this.lows[newest]! - this.lows[oldest]! > creep;
    let grows = this.kept >= TOPS_RISING;
    for (let k = 1; k < TOPS_RISING && grows; k++) grows = this.tops[at(TOPS_RISING, k)]! - this.tops[at(TOPS_RISING, k - 1)]! > creep;
    if (highest - lowest > TOPS_SPREAD * rise || creeps || grows) return;
    this.held = highest;
    this.heldFrom = trough + TOPS_SPREAD * rise;
    this.heldJump = TOPS_SPREAD * rise;
    this.heldUntil = this.fellAt[newest]! + STALE_CYCLES * cycle;
  }
}
