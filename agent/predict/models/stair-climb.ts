// A climb in steps: a workload that adds a worker every 10 s rises for two or three samples,
// then holds, then rises again. DampedTrend's climb gate (rises in a row, or most of the last 8
// samples rising) drops on each level, so a cold peak forecast that follows only its climbs read
// the 60 s peak back at the level after each step, and its countdown came and went (a live ramp
// of 0.12 cores every 10 s towards its 1-core share: gaps of 2-4 ticks after each step).
// Read here over the last three spans of THIRD samples: the values climb in steps where each
// span's mean is above the one before by more than the noise could make it, and the rises came
// as two steps or more (jumps over the noise, with a level of LEVEL samples or more between): a
// climb that stops on a level also leaves three spans rising for a while (one step, or a steady
// climb whose rises are its own median step, no jumps), and was read as going on; nor where the
// values fell by a jump's size (a square wave's rises also come as steps, and its spans may rise).
// Its rate: the rise from the oldest span's mean to the newest's, a step each.
import { climbFloor } from './damped-trend.js';

/** Samples in each of the three spans compared. */
const THIRD = 8;
/** How many standard errors of the difference of two spans' means a rise must pass (and of two values', a jump). */
const STAIR_Z = 3;
/** Samples without a jump between two steps. */
const LEVEL = 3;
/** Steps between values whose median is read as the noise: the newest 16 (a step's few rises do not move it). */
const NOISE_DIFFS = 16;
/** The noise is read as at least this share of the newest span's mean (a series held exactly between its steps has none). */
const NOISE_FLOOR = 0.002;

export class StairClimb {
  private readonly values = new Float64Array(3 * THIRD);
  private readonly diffs = new Float64Array(NOISE_DIFFS);
  private count = 0;
  private rise = Number.NaN;
  private last = Number.NaN;

  /** A sample, `steps` after the one before (over 1: slots without a sample between, and the spans start again). */
  update(x: number, steps = 1): void {
    const n = this.values.length;
    if (steps > 1) this.count = 0;
    this.values[this.count % n] = x;
    this.count++;
    this.last = x;
    this.rise = Number.NaN;
    if (this.count < n) return;
    // the spans' means, oldest first (the ring's oldest sample is at count % n)
    let a = 0, b = 0, c = 0;
    for (let i = 0; i < n; i++) {
      const v = this.values[(this.count + i) % n]!;
      if (i < THIRD) a += v;
      else if (i < 2 * THIRD) b += v;
      else c += v;
    }
    a /= THIRD; b /= THIRD; c /= THIRD;
    // (most samples: not rising span to span, and nothing more to read)
    if (!(b > a && c > b)) return;
    const noise = Math.max(this.noiseSd(), NOISE_FLOOR * c);
    // (a difference of two means of THIRD noisy samples has sd noise * sqrt(2 / THIRD))
    const margin = STAIR_Z * noise * Math.sqrt(2 / THIRD);
    if (b - a > margin && c - b > margin && this.steps(STAIR_Z * Math.SQRT2 * noise) >= 2) this.rise = (c - a) / (2 * THIRD);
  }

  /** The noise's standard deviation, from the median step between the newest NOISE_DIFFS + 1 values. */
  private noiseSd(): number {
    const n = this.values.length;
    for (let i = 0; i < NOISE_DIFFS; i++) {
      const j = this.count - 1 - i;
      this.diffs[i] = Math.abs(this.values[j % n]! - this.values[(j - 1) % n]!);
    }
    this.diffs.sort();
    // the difference of two independent normal values has sd sqrt(2) sigma; its absolute
    // value's median is 0.6745 of that
    return (this.diffs[(NOISE_DIFFS >> 1) - 1]! + this.diffs[NOISE_DIFFS >> 1]!) / 2 / (0.6745 * Math.SQRT2);
  }

  /**
   * Rises over `jump` from the value before, counted as one step while fewer than LEVEL samples
   * lie between; 0 where the values fell by as much (a square wave's, a burst's end: a staircase
   * holds each step).
   */
  private steps(jump: number): number {
    const n = this.values.length;
    let steps = 0;
    let quiet = LEVEL;
    for (let i = 1; i < n; i++) {
      const j = this.count + i;
      const d = this.values[j % n]! - this.values[(j - 1) % n]!;
      if (d < -jump) return 0;
      if (d > jump) {
        if (quiet >= LEVEL) steps++;
        quiet = 0;
      } else quiet++;
    }
    return steps;
  }

  /** The rise a step while the values climb in steps (NaN off such a climb). */
  get rate(): number {
    return this.rise;
  }

  /**
   * Where the climb's line is `steps` ahead, from the newest value, followed no further than the
   * three spans it was read over (as DampedTrend.climbLine, no further than the climb has run);
   * NaN off a climb in steps.
   */
  line(steps: number): number {
    return this.last + this.rise * Math.min(steps, this.values.length);
  }

  /**
   * A peak forecast `steps` ahead (its p50 and p90) moved up to the line (climbFloor), as a steady
   * climb's is (DampedTrend.floorPeak); unchanged off a climb in steps.
   */
  floorPeak(steps: number, p50: number, p90: number): { p50: number; p90: number } {
    return Number.isNaN(this.rise) ? { p50, p90 } : climbFloor(this.line(steps), this.line(0), p50, p90);
  }
}
