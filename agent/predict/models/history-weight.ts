// How much history stands behind a model, as the EWMA counts it: every sample weighs 1 when
// it arrives and halves every half-life, so confidence rises with samples and falls again in a
// long silence. Shared so every model's confidence means the same thing.
import { checkHalfLife, confidenceFromWeight } from '../stats.js';

export class HistoryWeight {
  private weight = 0;
  private lastMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly halfLifeMs: number) {
    checkHalfLife(halfLifeMs);
  }

  add(atMs: number): void {
    // a sample from the past counts as taken now
    const elapsed = this.weight > 0 ? Math.max(0, atMs - this.lastMs) : 0;
    this.weight = this.weight * Math.pow(2, -elapsed / this.halfLifeMs) + 1;
    this.lastMs = Math.max(this.lastMs, atMs);
  }

  get samples(): number {
    return this.weight;
  }

  get confidence(): number {
    return confidenceFromWeight(this.weight);
  }
}
