// Models that think in steps (Holt-Winters' season, a horizon of h samples, the peak over the
// next h samples) need to know what one step is. The agent ticks at a policy period and the
// traces at 300 s; rather than being told, the clock learns the step from the first gaps
// between samples and then numbers every sample with a slot: the previous slot plus the gap
// rounded to whole steps. Rounding each gap on its own keeps a drifting clock (Bitbrains gains
// ~0.03 s a step) from piling up into a misaligned season, and a skipped tick leaves a hole.

import { SortedBag } from './sorted-window.js';

/** Gaps the step is learned from; after these it stays fixed. */
const LEARNING_GAPS = 8;

export class StepClock {
  /** slot of the newest sample; -1 before the first */
  slot = -1;
  private stepEstimate: number;
  private lastMs = Number.NaN;
  /** the gaps seen so far, in order */
  private readonly gaps = new SortedBag(LEARNING_GAPS, LEARNING_GAPS);

  /** `stepMs` fixes the step; without it the step is the median of the first positive gaps. */
  constructor(private readonly fixedStepMs?: number) {
    if (fixedStepMs !== undefined && !(Number.isFinite(fixedStepMs) && fixedStepMs > 0)) {
      throw new RangeError(`forecaster stepMs must be a finite number > 0; got ${String(fixedStepMs)}`);
    }
    this.stepEstimate = fixedStepMs ?? Number.NaN;
  }

  /** true once the step no longer changes: given, or learned from all its gaps. */
  get settled(): boolean {
    return this.fixedStepMs !== undefined || this.gaps.size >= LEARNING_GAPS;
  }

  /** The step in ms; NaN until a second sample at a later time has been seen. */
  get stepMs(): number {
    return this.stepEstimate;
  }

  /**
   * Numbers the sample taken at `atMs` and returns how many steps it lies after the previous
   * one: 0 for the first sample, at least 1 after (two samples at one instant, or one from the
   * past, are taken as consecutive steps: a slot is never shared or reused).
   */
  advance(atMs: number): number {
    if (this.slot < 0) {
      this.slot = 0;
      this.lastMs = atMs;
      return 0;
    }
    const gap = atMs - this.lastMs;
    if (gap > 0 && this.fixedStepMs === undefined && this.gaps.size < LEARNING_GAPS) this.learn(gap);
    const steps = gap > 0 && this.stepEstimate > 0 ? Math.max(1, Math.round(gap / this.stepEstimate)) : 1;
    this.slot += steps;
    this.lastMs = Math.max(this.lastMs, atMs);
    return steps;
  }

  /** A horizon in whole steps, at least 1 (horizon 0 asks for the next sample). */
  stepsFor(horizonMs: number): number {
    if (!(this.stepEstimate > 0)) return 1;
    return Math.max(1, Math.round(horizonMs / this.stepEstimate));
  }

  private learn(gap: number): void {
    // kept in order (a copy sorted at every gap was a tenth of the first ticks at 10,000 series)
    this.gaps.insert(gap);
    this.stepEstimate = this.gaps.at((this.gaps.size - 1) >> 1); // lower median: a doubled gap does not win a tie
  }
}
