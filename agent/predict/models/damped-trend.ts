// Holt's damped linear trend on a series' samples: a level and a slope, each smoothed, the slope
// damped per step. The engine's series state projects it (the trend candidate, the features), and
// the direct peak forecaster's cold start follows it.
import { ClimbTops } from './climb-tops.js';

/** Level and slope smoothing (the defaults: the series state's), damping per step. */
const ALPHA = 0.4;
const BETA = 0.1;
const PHI = 0.98;

/**
 * A cold forecast follows the trend's path only while the values climb (DampedTrend.climbing). A
 * noisy steady workload's slope wanders: from 0.8 cores (+-0.3, a 0.5 spike on 5% of the ticks)
 * the direct peak forecaster's path reached a 2-core limit in 194 of 200 starts within 90 s
 * (1,439 ticks of 18,000), the engine's peak head in 192 (1,168). A climb starts with CLIMB_RUN
 * rises in a row (a filling workload rises at every step, and is followed from its fourth), or
 * with CLIMB_NET_START more rises than falls over the last CLIMB_WINDOW samples (a climb with a
 * dip now and then), and lasts while those net rises stay at CLIMB_NET_KEEP or more: one dip
 * every 6 s no longer turns the warning off for three ticks. Ties are neither. Gated so, the
 * noisy starts warn in 110 (211 ticks) and 122 (365); with no trend at all the direct one warns
 * in 73 (91). Four rises in a row alone: 108 (163) and 120 (345), but flapping on a dip; net
 * rises alone, 4 or more: 139 (298).
 */
const CLIMB_RUN = 4;
const CLIMB_WINDOW = 8;
const CLIMB_NET_START = 5;
const CLIMB_NET_KEEP = 3;
const WINDOW_MASK = (1 << CLIMB_WINDOW) - 1;
/**
 * A climb's path is not followed (DampedTrend.recoiled) where the values fell, within the last
 * RECOIL_SPAN samples, by RECOIL_SHARE or more of their rise over the last CLIMB_WINDOW (the
 * largest fall from a high to a later low): a square wave's on-edge is a step, not a climb, and
 * it falls back a few seconds later. A 0.6-core worker 5 s on, 5 s off, its edges caught
 * halfway, 1.15 cores left it by the host: its rises in a row tripped the climb's gate, the trend's
 * slope was the edge's, and the cold peaks read the 60 s peak at the host's 2 cores (20 runs
 * of 200 s: engine-peak counted down on 51 ticks, now 0; horizon-peak, with its season's
 * excesses: HorizonPeakForecaster.moveExcesses, on 113, now 0). Unless the troughs rise: the
 * lowest of the newer half of those samples above the older half's by RECOIL_TROUGHS of the
 * rise. A wave comes back to the same low; a leak's GC sawtooth (8 rises of 1.5 MiB, a drop of
 * 8) falls by more than half its rise over 8 steps, but its lows climb with it. A climb after a
 * larger burst is followed once its rise over the last 8 samples is twice the burst's fall, or
 * the burst is 24 samples back. The flag itself is as before: what the peaks learn of a climb's
 * windows does not change.
 */
const RECOIL_SPAN = 24;
const RECOIL_SHARE = 0.5;
const RECOIL_TROUGHS = 0.25;
/**
 * Rises in a row before a climb's straight line is drawn (climbLine). A lone tie among them keeps
 * the run (the climb's gate above still counts only rises): a slow creep read in whole pages
 * repeats a value now and then, and a real fill's last minute (0.25 MiB steps, a tie every few
 * seconds) lost its line at each tie, its settling with it, and a peak's cold trend candidate
 * read a straight 0.5 MiB/s climb for the next 180 s: 144 MiB, the cgroup's limit, counted down
 * at 120 MiB (7 and 4 ticks, replaying two kernel runs' readings). Two ties in a row end the run, as a fall does;
 * the rise after a tie is read over both steps (its rate is not its rises').
 */
const LINE_RUN = 8;
/**
 * A climb's rises that shrink step by step (a fill settling towards its size) bend its line
 * (climbLine): the newest rises, up to SHRINK_FIT of them, are fitted by a log-linear line
 * against their steps, and where that falls by more than SHRINK_MIN a step, at SHRINK_T of its
 * standard error or more, for SETTLE_FITS samples in a row whose settling points (where the
 * line ends) agree within SETTLE_SPREAD of the rise still to come, the climb is followed as a
 * geometric series, towards where it settles. A straight line at the median rise, followed as
 * far ahead as the climb had run, read a cache settling towards 300 MiB (tau 30 s) at 341 MiB
 * 75 s in, and a 320 MiB limit's countdown on 121 ticks (now 5, its first 16 s). A leak whose rate ebbs and
 * flows with load also has rises that shrink for a while, but where they would settle moves up
 * as it goes: on the fit alone a 2 MiB/s leak at +-20% over 60 s was read as settling, and its
 * countdown read 340 s with 68 s left (a review). A real fill's readings jitter (a cgroup's
 * memory filling towards 125 MiB: its settling points wander by about 1% of the level, a tenth
 * of the rise to come, and it was never read as settling): its points may agree within
 * SETTLE_SE standard errors of the fit's slope (carried to the point) instead, once its rises
 * have shrunk SETTLE_FACTOR times over since the fits in a row began, which a leak at +-50% of
 * its rate never does. A steady leak's rises jitter about their rate and are seldom read as
 * shrinking. A fill settling slower than SHRINK_MIN (tau over 500 steps) is followed straight.
 */
const SHRINK_FIT = 16;
const SHRINK_MIN = 0.002;
const SHRINK_T = 4;
const SETTLE_FITS = 8;
const SETTLE_SPREAD = 0.02;
const SETTLE_SE = 8;
const SETTLE_FACTOR = 4;

/**
 * A climb has faded (DampedTrend.faded) where its rise over the last FADE_SPAN steps, divided,
 * is FADE_FOLD times under its highest steady rate (the median of the line's last 8 rises:
 * climbRate) FADE_BACK to FADE_BACK_MOST steps before, in this climb, with no fall among the
 * last FADE_SPAN samples (a drop is no fade: a sawtooth's GC). Looked at again at each sample:
 * a leak after a fast start fades for a while and is followed again once the start's rises are
 * out of the look-back. Over 8 steps a 1 MiB/s leak with +-2 MiB of noise reads 1 +- 0.2 MiB/s, a leak
 * whose rate swings +-70% over 90 s about 4 times under its rate 8-24 s before: neither fades
 * (a leak whose rate swings more, in bursts, fades once: noteFade). A fill settling with tau
 * 8 s falls 6-fold in about 14 s: read in pages, or to the byte, it fades 20-24 s in, whether or
 * not its settling fit agrees (a real fill's jittery rises may never).
 */
const FADE_SPAN = 8;
const FADE_FOLD = 6;
const FADE_BACK = 8;
const FADE_BACK_MOST = 24;
/**
 * A climb whose flag dropped with falls among its last samples (noise about a level, or a noisy
 * leak's dips) has stopped on a level too (DampedTrend.stopped) where, LEVEL_LOOK steps or more
 * later, the mean of the newest LEVEL_MEAN values is above their mean at the drop by less than
 * the climb's highest steady rate (climbRate) of the FADE_BACK_MOST steps before the drop, over
 * those steps, FADE_FOLD times under: a fade with falls, judged once (only with `fades`, whose
 * look-back holds the rates). Not judged: a climb that drew no straight line there (noise's
 * four rises, a fast start long before), a wait with a hole in it, or one with a fall in it
 * over 1/LEVEL_DROP of the climb's rise over LEVEL_LOOK (a leak's GC). A 2 MiB/s fill that
 * stopped at 340 MiB (+-0.2 MiB) under a 512 MiB limit was never read as stopped: its noise
 * re-raised the climb's flag now and then, no 120 s window went without one, and horizon-peak
 * kept the fill's excesses: its 120 s peak read the limit, P(contention) up to 1 and a
 * countdown of 72-103 s for the 4 minutes it was flat. A leak that goes on rises at its own
 * rate, six times the bar's. The verdict waits for a sample off a climb (noise may raise the
 * flag for a sample or two), no longer than LEVEL_GIVE_UP steps. A climb whose rate falls
 * 6-fold and goes on is read as stopped here as it fades (faded): either way a slower climb,
 * whose excesses were the fast one's.
 */
const LEVEL_LOOK = 8;
const LEVEL_MEAN = 4;
const LEVEL_GIVE_UP = 24;
const LEVEL_DROP = 2;
/** A faded climb whose steady rate goes back over FADE_LEAK times its rate at the fade is a leak in bursts (noteFade). */
const FADE_LEAK = 2;
/** What the fade's look-back keeps of a sample: its value, the climb's rate then, its step. */
const FADE_FIELDS = 3;

export class DampedTrend {
  private level = Number.NaN;
  private trend = 0;
  private lastValue = Number.NaN;
  /** samples in a row above the one before */
  private rises = 0;
  /** the line's run: rises in a row with a lone tie among them kept (LINE_RUN), and whether the newest sample was such a tie */
  private run = 0;
  private tied = false;
  /** a fit out of line was forgiven at the last sample (fitShrink) */
  private forgave = false;
  /** the newest sample ended a run read as settling at the sample before (settled) */
  private settledNow = false;
  /** the climb stopped on a level at the newest sample (stopped) */
  private stoppedNow = false;
  /** over the last CLIMB_WINDOW samples, one bit each (the newest lowest): above the one before, below it */
  private riseMask = 0;
  private fallMask = 0;
  private climb = false;
  /** a drop with falls awaiting its verdict (stopped): steps since (-1: none), the newest values' mean then, the top rate */
  private levelWait = -1;
  private levelFrom = Number.NaN;
  private levelRate = Number.NaN;
  /** the step of the last noisy stop: a line drawn before it is not judged again */
  private levelDone = Number.NEGATIVE_INFINITY;
  /** the newest RECOIL_SPAN values, a ring at `count` (recoiled) */
  private readonly recent = new Float64Array(RECOIL_SPAN);
  private count = 0;
  /** recoiled as of `count` (read when asked: only cold forecasts ask), and the count it was read at */
  private recoil = false;
  private recoilAt = -1;
  /** the last LINE_RUN rises while the values rise at every step (climbLine), and a scratch copy to sort */
  private readonly lastRises = new Float64Array(LINE_RUN);
  private readonly sortedRises = new Float64Array(LINE_RUN);
  /** climbRate as of the newest sample (sorted once a sample, not once per head and horizon that asks) */
  private rate = Number.NaN;
  /** steps since the first sample */
  private step = 0;
  /** the log of the last SHRINK_FIT rises of the run (per step), and the step each was at (a hole's middle), at rises % SHRINK_FIT */
  private readonly logRises = new Float64Array(SHRINK_FIT);
  private readonly riseSteps = new Float64Array(SHRINK_FIT);
  /** the settling points of the last SETTLE_FITS shrinking fits in a row (at fits % SETTLE_FITS), and how many in a row */
  private readonly settlePoints = new Float64Array(SETTLE_FITS);
  private readonly settleSes = new Float64Array(SETTLE_FITS);
  /** the next rise as the first fit of the shrinking fits in a row had it */
  private streakRise = Number.NaN;
  private shrinkingFits = 0;
  /** where the climb settles (SETTLE_FITS): the ratio of one rise to the one before, below 1; else 1 */
  private shrink = 1;
  /** where the climb settles: the next step's rise, as the fit has it */
  private nextRise = Number.NaN;
  /** the newest FADE_BACK_MOST + 1 samples' value, climbRate and step, FADE_FIELDS a sample (a ring at fadeCount; null where `fades` is off) */
  private readonly fadeRing: Float64Array | null;
  private fadeCount = 0;
  /** faded now; at the newest sample, first in this climb; armed for that; the rate at the fade; sped up since (a leak: noteFade) */
  private fade = false;
  private fadedNow = false;
  private fadeArmed = true;
  private fadeRate = Number.NaN;
  private fadeLeak = false;
  /** the step the climb's flag was last seen down at: the look-back reads no rate of an earlier climb */
  private fadeFrom = 0;
  /** where the last climbs stopped (climbLine goes no higher while they agree) */
  private readonly tops = new ClimbTops();

  /**
   * `alpha`, `beta`: the level's and the slope's smoothing; `phi`: the damping per step (1: none,
   * Holt's plain trend); `fades`: whether it follows the climb's fade (faded, fadedJustNow: off,
   * neither is ever set, and no look-back is kept: a demand pair's own trend reads neither)
   */
  constructor(private readonly alpha = ALPHA, private readonly beta = BETA, private readonly phi = PHI, fades = false) {
    this.fadeRing = fades ? new Float64Array((FADE_BACK_MOST + 1) * FADE_FIELDS) : null;
  }

  /** Folds in a sample `steps` grid steps after the previous one (the first sets the level). */
  update(x: number, steps = 1): void {
    // (a rise after a lone tie is read over both steps, as over a hole: a creep read in pages
    // rises every other step, and its rate is half its rises)
    const span = Math.max(1, steps) + (this.tied ? 1 : 0);
    this.recent[this.count % RECOIL_SPAN] = x;
    this.count++;
    // the climb: against the previous sample (a hole between them counts as one step)
    if (!Number.isNaN(this.lastValue)) {
      this.rises = x > this.lastValue ? this.rises + 1 : 0;
      const tie = x === this.lastValue && this.run > 0 && !this.tied;
      this.run = x > this.lastValue ? this.run + 1 : tie ? this.run : 0;
      this.tied = tie;
      this.riseMask = ((this.riseMask << 1) | (x > this.lastValue ? 1 : 0)) & WINDOW_MASK;
      this.fallMask = ((this.fallMask << 1) | (x < this.lastValue ? 1 : 0)) & WINDOW_MASK;
      // a climb read as settling whose run ends (two ties, or a fall) has settled: it climbs
      // again only from fresh rises. (Its flag held on from its last net rises, off a line: a
      // cold peak followed the trend's path, and a cache settling at 124 MiB read 139-144 MiB
      // 60-120 s on, counted down to its 144 MiB limit.) Only from a run read as settling at
      // the sample before: from one read so once, a leak whose rate swings, its countdown and
      // P(contention) went for 20 s at a GC's dip 50 s from its limit (a review)
      this.settledNow = this.run === 0 && this.shrink < 1;
      if (this.settledNow) {
        this.riseMask = 0;
        this.fallMask = 0;
        this.climb = false;
      }
      const net = bitCount(this.riseMask) - bitCount(this.fallMask);
      const was = this.climb;
      this.climb = this.climb ? net >= CLIMB_NET_KEEP : this.rises >= CLIMB_RUN || net >= CLIMB_NET_START;
      this.stoppedNow = was && !this.climb && bitCount(this.fallMask) <= 1;
      this.noteLevel(x, was, Math.max(1, steps));
    }
    if (!Number.isNaN(this.lastValue)) this.step += Math.max(1, steps);
    if (x > this.lastValue) {
      const rise = (x - this.lastValue) / span;
      this.lastRises[this.run % LINE_RUN] = rise;
      this.logRises[this.run % SHRINK_FIT] = Math.log(rise);
      this.riseSteps[this.run % SHRINK_FIT] = this.step - (span - 1) / 2;
    }
    this.lastValue = x;
    if (Number.isNaN(this.level)) {
      this.level = x;
      this.noteFade(x);
      return;
    }
    const prev = this.level;
    const n = Math.max(1, steps);
    this.level = this.alpha * x + (1 - this.alpha) * (prev + this.phi * this.trend * n);
    this.trend = this.beta * ((this.level - prev) / n) + (1 - this.beta) * this.phi * this.trend;
    this.rate = this.run >= LINE_RUN && this.trend > 0 ? this.medianRise() : Number.NaN;
    this.tops.note(x, this.step, this.climb, !Number.isNaN(this.rate));
    this.noteFade(x);
    this.fitShrink();
  }

  /**
   * A climb whose flag dropped with falls in the window: stopped on a level, or not, once
   * LEVEL_LOOK steps have passed off a climb. Sets stoppedNow at the verdict.
   */
  private noteLevel(x: number, was: boolean, steps: number): void {
    // (a settled climb is over: nothing waits. The settling drops the flag before `was` is read)
    if (this.settledNow) {
      this.levelWait = -1;
      return;
    }
    if (this.levelWait >= 0) {
      // (a hole while it waits: its means would stand fewer steps apart than counted; no verdict)
      if (steps > 1) {
        this.levelWait = -1;
        return;
      }
      this.levelWait += steps;
      // (a drop, a GC's, while it waits is no level: its 4 values' mean would fall with it)
      const fall = this.lastValue - x;
      if (fall * LEVEL_DROP > this.levelRate * LEVEL_LOOK) this.levelWait = -1;
    }
    if (was && !this.climb) {
      if (this.stoppedNow) {
        this.levelWait = -1;
        return;
      }
      // (a climb with no straight line lately, noise's four rises, is not judged; a second drop
      // of one lets the wait go on. One that drew its line again is judged from its own drop)
      const top = this.recentTopRate(this.levelDone);
      if (!(top > 0)) return;
      this.levelWait = 0;
      this.levelFrom = this.recentMean(LEVEL_MEAN);
      this.levelRate = top;
      return;
    }
    if (this.levelWait < LEVEL_LOOK || this.climb) {
      if (this.levelWait >= LEVEL_GIVE_UP) this.levelWait = -1;
      return;
    }
    const rise = this.recentMean(LEVEL_MEAN) - this.levelFrom;
    this.stoppedNow = rise * FADE_FOLD < this.levelRate * this.levelWait;
    if (this.stoppedNow) this.levelDone = this.step;
    this.levelWait = -1;
  }

  /**
   * The highest steady rate (climbRate) of the samples FADE_BACK_MOST steps back or fewer, and
   * after step `after`; NaN off a line, or with no look-back kept (`fades` off).
   */
  private recentTopRate(after: number): number {
    const past = this.fadeRing;
    if (!past) return Number.NaN;
    const ring = FADE_BACK_MOST + 1;
    let top = Number.NaN;
    for (let k = 1; k <= Math.min(this.fadeCount, ring); k++) {
      const i = ((this.fadeCount - k) % ring) * FADE_FIELDS;
      if (this.step - past[i + 2]! > FADE_BACK_MOST || past[i + 2]! <= after) break;
      const r = past[i + 1]!;
      if (r > 0 && !(r <= top)) top = r;
    }
    return top;
  }

  /** The mean of the newest `n` values (fewer where fewer were seen). */
  private recentMean(n: number): number {
    const k = Math.min(n, this.count, RECOIL_SPAN);
    let sum = 0;
    for (let i = 1; i <= k; i++) sum += this.recent[(this.count - i) % RECOIL_SPAN]!;
    return sum / k;
  }

  /** Whether the newest RECOIL_SPAN values fell by RECOIL_SHARE of their rise to `x` over the last CLIMB_WINDOW steps. */
  private fellBack(x: number): boolean {
    const n = Math.min(this.count, RECOIL_SPAN);
    let low = x;
    let high = Number.NEGATIVE_INFINITY;
    let fall = 0;
    // (the lowest of the older half and of the newer)
    let lowOld = Number.POSITIVE_INFINITY;
    let lowNew = Number.POSITIVE_INFINITY;
    for (let k = n; k >= 1; k--) {
      const v = this.recent[(this.count - k) % RECOIL_SPAN]!;
      if (k <= CLIMB_WINDOW + 1 && v < low) low = v;
      if (k > n / 2) lowOld = Math.min(lowOld, v);
      else lowNew = Math.min(lowNew, v);
      if (v > high) high = v;
      else if (high - v > fall) fall = high - v;
    }
    const rise = x - low;
    return fall >= RECOIL_SHARE * rise && !(lowNew > lowOld + RECOIL_TROUGHS * rise);
  }

  /**
   * Whether the climb has faded (FADE_SPAN, FADE_FOLD, FADE_BACK): a climb's flag holds on its
   * net rises long after a fill's rises have shrunk, and its settling fit may never agree on
   * jittery readings: a CI run's fill, 119 MiB and climbing 0.6 MiB/s, read the 60 s peak's p90
   * at its 144 MiB limit on the damped trend's path and the climb's straight line, and was
   * counted down to it. Looked back by steps, across holes (restarted at one, a fill with a
   * missed tick read as not faded until it settled). A climb whose steady rate, after it faded,
   * goes back over FADE_LEAK times its rate then is a leak whose rate swings (bursts, then slow
   * spells): it does not fade again until the climb ends (faded in each slow spell, such a leak
   * lost the floor under its peak forecasts and horizon-peak what it learnt of its climb, every
   * cycle). So a second, larger fill within the same climb (its flag held between the two) is
   * read as a leak too, and followed on its trend's path.
   */
  private noteFade(x: number): void {
    const past = this.fadeRing;
    if (!past) return;
    const ring = FADE_BACK_MOST + 1;
    const n = this.fadeCount;
    const at = (n % ring) * FADE_FIELDS;
    past[at] = x;
    past[at + 1] = this.rate;
    past[at + 2] = this.step;
    this.fadeCount++;
    this.fadedNow = false;
    this.fade = false;
    if (!this.climb) {
      this.fadeArmed = true;
      this.fadeLeak = false;
      this.fadeFrom = this.step;
      return;
    }
    // (the newest sample FADE_SPAN steps back or more, and the highest steady rate, NaN off a
    // line, among those FADE_BACK to FADE_BACK_MOST steps back)
    let rate = Number.NaN;
    let then = Number.NaN;
    for (let k = 1; k <= Math.min(n, ring - 1); k++) {
      const i = ((n - k) % ring) * FADE_FIELDS;
      const step = past[i + 2]!;
      const back = this.step - step;
      if (back > FADE_BACK_MOST) break;
      if (back >= FADE_SPAN && Number.isNaN(rate)) rate = (x - past[i]!) / back;
      const r = past[i + 1]!;
      if (back >= FADE_BACK && step >= this.fadeFrom && (r > then || Number.isNaN(then))) then = r;
    }
    if (!(rate >= 0)) return;
    // (the line's rate, the median of its rises: one reading 20 MiB up in a fill's creep marked
    // it a leak on the rise over 8 steps)
    if (!this.fadeArmed && this.rate > FADE_LEAK * this.fadeRate) this.fadeLeak = true;
    // (a fall among the last FADE_SPAN samples is a drop, not a fade: a sawtooth's GC)
    this.fade = !this.fadeLeak && this.fallMask === 0 && then > 0 && rate * FADE_FOLD <= then;
    if (this.fade && this.fadeArmed) {
      this.fadeArmed = false;
      this.fadedNow = true;
      this.fadeRate = rate;
    }
  }

  /** Sets shrink and nextRise from the run's newest rises (SHRINK_FIT, SETTLE_FITS); off a line, none. */
  private fitShrink(): void {
    const wasSettling = this.shrink < 1;
    this.shrink = 1;
    const fit = Number.isNaN(this.rate) ? undefined : this.shrinkFit();
    if (!fit) {
      this.shrinkingFits = 0;
      this.forgave = false;
      return;
    }
    // where this fit's line ends: the value now plus every rise to come
    const point = this.lastValue + fit.next / (1 - fit.ratio);
    const pointSe = (fit.next * fit.ratio * fit.slopeSe) / (1 - fit.ratio) ** 2;
    if (this.shrinkingFits === 0) this.streakRise = fit.next;
    this.settlePoints[this.shrinkingFits % SETTLE_FITS] = point;
    this.settleSes[this.shrinkingFits % SETTLE_FITS] = pointSe;
    this.shrinkingFits++;
    if (this.shrinkingFits < SETTLE_FITS) return;
    let low = point;
    let high = point;
    let se = 0;
    for (let i = 0; i < SETTLE_FITS; i++) {
      low = Math.min(low, this.settlePoints[i]!);
      high = Math.max(high, this.settlePoints[i]!);
      se = Math.max(se, this.settleSes[i]!);
    }
    const agree = high - low <= SETTLE_SPREAD * (point - this.lastValue) ||
      (fit.next * SETTLE_FACTOR <= this.streakRise && high - low <= SETTLE_SE * se);
    // (a climb read as settling stays so through one fit out of line, not two in a row: a real
    // fill's settling point jumps by a page now and then, 1.3 MiB of a 3.5 MiB rise to come, and
    // one such fit in 20 turned it into a straight climb for a tick. Kept through any, a leak
    // whose rate swings +-90% over 60 s, read in pages, lost its countdown on 12 of its last 60 s;
    // through one, on 10, and on 3 before a lone tie kept the run)
    const forgiven = !agree && wasSettling && !this.forgave;
    this.forgave = forgiven;
    if (!agree && !forgiven) return;
    this.shrink = fit.ratio;
    this.nextRise = fit.next;
  }

  /** The log-linear fit of the run's newest rises against their steps, where it shrinks (SHRINK_MIN, SHRINK_T); else undefined. */
  private shrinkFit(): { ratio: number; next: number; slopeSe: number } | undefined {
    const n = Math.min(this.run, SHRINK_FIT);
    const at = (i: number): number => (this.run - i) % SHRINK_FIT;
    let meanX = 0;
    let meanY = 0;
    for (let i = 0; i < n; i++) {
      meanX += this.riseSteps[at(i)]!;
      meanY += this.logRises[at(i)]!;
    }
    meanX /= n;
    meanY /= n;
    let sxx = 0;
    let sxy = 0;
    for (let i = 0; i < n; i++) {
      const dx = this.riseSteps[at(i)]! - meanX;
      sxx += dx * dx;
      sxy += dx * (this.logRises[at(i)]! - meanY);
    }
    const slope = sxy / sxx;
    if (!(slope < -SHRINK_MIN)) return undefined;
    let residuals = 0;
    for (let i = 0; i < n; i++) {
      const r = this.logRises[at(i)]! - (meanY + slope * (this.riseSteps[at(i)]! - meanX));
      residuals += r * r;
    }
    const se = Math.sqrt(residuals / (n - 2) / sxx);
    if (slope > -SHRINK_T * se) return undefined;
    return { ratio: Math.exp(slope), next: Math.exp(meanY + slope * (this.step + 1 - meanX)), slopeSe: se };
  }

  /** The climb's rises summed over the next `steps` (a geometric series where they shrink). */
  private pathOver(steps: number): number {
    const r = this.shrink;
    return r < 1 ? (this.nextRise * (1 - Math.pow(r, steps))) / (1 - r) : this.climbRate * steps;
  }

  /** The median of the last LINE_RUN rises. */
  private medianRise(): number {
    const sorted = this.sortedRises;
    sorted.set(this.lastRises);
    sorted.sort();
    return (sorted[(LINE_RUN >> 1) - 1]! + sorted[LINE_RUN >> 1]!) / 2;
  }

  /** The newest sample (NaN before one). */
  get last(): number {
    return this.lastValue;
  }

  /** The slope per step (0 before two samples). */
  get slope(): number {
    return this.trend;
  }

  /** A rising slope while the values climb (see CLIMB_RUN): a path worth following before anything else is known. */
  get climbing(): boolean {
    return this.trend > 0 && this.climb;
  }

  /**
   * The climb under way fell back by half its rise or more within the last RECOIL_SPAN samples (a
   * square wave's edge): its path is not followed, though it is a climb to what the peaks learn.
   */
  get recoiled(): boolean {
    if (this.recoilAt !== this.count) {
      this.recoilAt = this.count;
      this.recoil = this.climb && this.fellBack(this.lastValue);
    }
    return this.recoil;
  }

  /**
   * Where a steady climb's straight line is `steps` ahead, or NaN when the values have not risen
   * at each of the last LINE_RUN steps (a lone tie kept). A peak forecast is not to fall under it: the models learn
   * a horizon's errors a horizon late, and after a steady stretch they forecast a leak near its
   * last value for that long (a 120 s peak 3 MiB above the value 55 s from the limit). The line
   * starts at the newest value and rises at the median of the last LINE_RUN rises (a step up
   * that began the run is not its rate: a 150 MiB step, then a 4 KiB/s creep, warned of a 400 MiB
   * limit 12 s ahead), and is followed no further ahead than the climb has run: a fill settling
   * exponentially overshoots its asymptote by at most 14% on it (e^-2), where over a whole 120 s
   * horizon a cache filling towards 300 MiB read 889 MiB. Where the climb settles (its rises
   * shrink step by step: SETTLE_FITS) the line bends with them, towards where it settles. Where the
   * last climbs fell back from about one height (topsHeight), it goes no higher.
   */
  climbLine(steps: number): number {
    return Math.min(this.lastValue + this.pathOver(Math.min(steps, this.run)), this.topsHeight);
  }

  /**
   * Where a steady climb's line reaches `steps` ahead if the climb goes on that long, or NaN off
   * one (climbLine, followed no further than the climb has run, is a floor; this, a bound above).
   */
  climbReach(steps: number): number {
    return Math.min(this.lastValue + this.pathOver(steps), this.topsHeight);
  }

  /**
   * Where the last climbs stopped, about one height each time (ClimbTops: the last three that
   * fell back, lately), while the values are under it and climb from about their troughs (or,
   * off a climb, are near them): a climb's line goes no higher; +infinity otherwise.
   */
  get topsHeight(): number {
    return this.tops.height;
  }

  /**
   * Steps until a steady climb's line, followed on, reaches `level` (0 at or above it already):
   * Infinity where the climb settles short of it or `level` is above where the last climbs
   * stopped (topsHeight), NaN off a climb.
   */
  climbStepsTo(level: number): number {
    const gap = level - this.lastValue;
    if (!(gap > 0)) return Number.isNaN(this.climbRate) ? Number.NaN : 0;
    // (climbs that stop under it: followed, this one does not reach it either)
    if (level > this.topsHeight) return Number.isNaN(this.climbRate) ? Number.NaN : Number.POSITIVE_INFINITY;
    const r = this.shrink;
    if (!(r < 1)) return gap / this.climbRate;
    // next * (1 - r^n) / (1 - r) = gap
    const left = 1 - (gap * (1 - r)) / this.nextRise;
    // (a level where it settles, to rounding, is never reached)
    return left > 1e-9 ? Math.log(left) / Math.log(r) : Number.POSITIVE_INFINITY;
  }

  /** The newest sample ended a run read as settling at the sample before: the climb has settled. */
  get settled(): boolean {
    return this.settledNow;
  }

  /**
   * The climb stopped on a level at the newest sample: it dropped the climb's flag with at most
   * one fall among the last CLIMB_WINDOW samples (the step onto the level may be one: its last
   * samples the same value, or rises too few to keep it), or, where the drop came with falls
   * (noise about the level, or a noisy leak's dips, which drop the flag as well), the values have
   * since risen at a fraction of the climb's rate (LEVEL_LOOK).
   */
  get stopped(): boolean {
    return this.stoppedNow;
  }

  /**
   * The climb has faded (its rate FADE_FOLD times under its steady rate of a little before:
   * FADE_BACK): it is no steady climb, and no floor (floorPeak) unless read as settling.
   */
  get faded(): boolean {
    return this.fade;
  }

  /** The climb faded at the newest sample, for the first time since it began. */
  get fadedJustNow(): boolean {
    return this.fadedNow;
  }

  /** Where the rises shrink step by step (SETTLE_FITS): the climb settles, it is not a leak. */
  get settling(): boolean {
    return this.shrink < 1;
  }

  /**
   * A peak forecast `steps` ahead (its p50 and p90) moved up to the climb's line (climbFloor);
   * no room above the line where the climb settles, nor past where the last climbs stopped
   * (topsHeight). Unchanged off a climb, or on one that faded and is not read as settling.
   */
  floorPeak(steps: number, p50: number, p90: number): { p50: number; p90: number } {
    // (a climb read as settling keeps its bent line, which ends where it settles)
    if (this.fade && !this.settling) return { p50, p90 };
    // (nor room past the tops: a p90 moved a quarter of the rise past them stood over the limit
    // the climbs stop under)
    const line = this.climbLine(steps);
    const from = this.climbLine(0);
    const rise = line - from;
    const room = this.settling ? 0 : rise > 0 ? Math.min(CLIMB_ROOM, Math.max(0, (this.topsHeight - line) / rise)) : CLIMB_ROOM;
    return climbFloor(line, from, p50, p90, room);
  }

  /** A steady climb's rate per step: the median of the last LINE_RUN rises (climbLine); NaN off one. Taken once a sample. */
  get climbRate(): number {
    return this.rate;
  }

  /** The forecast `steps` ahead: the level plus the damped slope's sum over them (NaN before a sample). */
  at(steps: number): number {
    const phi = this.phi;
    return this.level + (phi === 1 ? this.trend * steps : (this.trend * phi * (1 - Math.pow(phi, steps))) / (1 - phi));
  }
}

/**
 * Room above a steady climb's line that a peak's p90 may be moved up into, as a share of the rise
 * the line makes to the horizon: the climb may go on faster than its median rise.
 */
const CLIMB_ROOM = 0.25;

/**
 * A peak forecast (its p50 and p90) on a steady climb whose line (DampedTrend.climbLine) reaches
 * `line` at the horizon from `from` now: its p50 on the line where it was under it, its p90 moved
 * up as much but no further than `room` (CLIMB_ROOM) of the rise above the line (and never down, nor under
 * the line). The models learn a horizon's errors a horizon late: with its p90 alone moved to the
 * line, its p50 lagged a mix's spread under it, and a leak certain to pass its limit within the
 * window read P(contention) 0.2 to 0.6 until 20 s were left (horizon-peak; the engine from a
 * workload's start). Unchanged off a climb, or where its p50 is on the line or above.
 */
export function climbFloor(line: number, from: number, p50: number, given90: number, room = CLIMB_ROOM): { p50: number; p90: number } {
  // (a p90 under its p50, or not a number, is read as the p50)
  const p90 = given90 >= p50 ? given90 : p50;
  if (!(line > p50)) return { p50, p90 };
  const cap = line + room * Math.max(0, line - from);
  return { p50: line, p90: Math.max(p90, line, Math.min(p90 + (line - p50), cap)) };
}

function bitCount(x: number): number {
  let n = 0;
  for (let v = x; v !== 0; v &= v - 1) n++;
  return n;
}
