// A head's forecasts still waiting for their target: one row per slot, what each needs when its
// target resolves (the candidates' p90s, the final quantiles, the features...). A forecast made at
// slot s resolves at s + steps, so steps + 1 rows hold them all once the head is that old.
//
// A new head holds a few rows and grows to its full size when a row still pending would be
// overwritten. Ten thousand series whose heads are set up on one tick (an agent's first, or the
// tick their step is learnt) each took their full rings at once: 43 KB a pair, 410 MB of buffers
// in one tick, six full collections and 1.5 s. The first size is staggered (growth.ts), so the
// growth is spread over the ticks after. Sizes never change what the ring holds.

import { staggeredSize } from './growth.js';
import { Float64Slab } from './slab.js';

/** Rows a new ring starts with (plus 0..7 eighths, staggered), unless the head needs fewer. */
const FIRST_ROWS = 8;

export class PendingRing {
  /** rows now: slot s lives at row s % rows */
  rows = 0;
  /** per row: the slot its forecast was made at (NaN: none) */
  slot!: Float64Array;
  /** per row: the candidates' p90s (`candidates` each) */
  p90!: Float64Array;
  /** per row: the mixes' p90s (`mixes` each) */
  mix!: Float64Array;
  /** per row: the final p90, and p99 (what the tail is calibrated on), the combination's p50 */
  final!: Float64Array;
  p99!: Float64Array;
  /** per row: the p10 (what the spread below the p50 is calibrated on) */
  p10!: Float64Array;
  comb50!: Float64Array;
  /** per row: the p90 before the offset (what sets the offset's unit) */
  beforeOffset!: Float64Array;
  /** per row: the value, the seasonal median (NaN: none) and the scale the learners' labels are taken from */
  base!: Float64Array;
  seasonalMedian!: Float64Array;
  scale!: Float64Array;
  /** per row: the conformal candidates' local scale */
  spread!: Float64Array;
  /** per row: the conformal and the trend candidates' projections (NaN: none) */
  conformal!: Float64Array;
  trend!: Float64Array;
  /** per row: 1 once its miss was counted before it resolved (a peak window already above its p90: engine.ts, countEarlyMisses), else 0 */
  missCounted!: Float64Array;
  /** per row: the features (`featureCount` each), when a learner reads them */
  features: Float32Array | undefined;

  /** `steps`: the head's horizon; `featureCount` 0 keeps no features. */
  constructor(
    private readonly steps: number,
    private readonly candidates: number,
    private readonly mixes: number,
    private readonly featureCount: number,
  ) {
    this.resize(Math.min(steps + 1, staggeredSize(FIRST_ROWS)), 0);
  }

  /** The row of the forecast made at `origin`, or -1 when there is none (before the head, a hole). */
  rowOf(origin: number): number {
    if (origin < 0) return -1;
    const r = origin % this.rows;
    return this.slot[r] === origin ? r : -1;
  }

  /**
   * The row to write the forecast made at `slot` into, once the forecast resolving at `slot` has
   * been read: grown first when that row holds one still pending.
   */
  rowFor(slot: number): number {
    const held = this.slot[slot % this.rows]!;
    if (held > slot - this.steps && this.rows <= this.steps) this.resize(this.steps + 1, slot);
    const r = slot % this.rows;
    this.slot[r] = slot;
    return r;
  }

  /** The arrays now, to copy from at a growth (named one by one: a field missed here would not be copied). */
  private arrays(): Pick<PendingRing, 'rows' | 'slot' | 'p90' | 'mix' | 'features' | (typeof ROW_FIELDS)[number]> {
    const { rows, slot, p90, mix, features, final, p99, p10, comb50, beforeOffset, base, seasonalMedian, scale, spread, conformal, trend, missCounted } = this;
    return { rows, slot, p90, mix, features, final, p99, p10, comb50, beforeOffset, base, seasonalMedian, scale, spread, conformal, trend, missCounted };
  }

  /** `rows` rows, holding the forecasts still pending at `slot`. */
  private resize(rows: number, slot: number): void {
    const K = this.candidates;
    const E = this.mixes;
    const F = this.featureCount;
    const slab = new Float64Slab(rows * (1 + ROW_FIELDS.length + K + E));
    const old = this.rows > 0 ? this.arrays() : undefined;
    this.rows = rows;
    this.slot = slab.take(rows).fill(Number.NaN);
    this.p90 = slab.take(rows * K);
    this.mix = slab.take(rows * E);
    for (const key of ROW_FIELDS) this[key] = slab.take(rows);
    this.conformal.fill(Number.NaN);
    this.trend.fill(Number.NaN);
    this.features = F > 0 ? new Float32Array(rows * F) : undefined;
    if (slab.left !== 0) throw new Error(`pending ring: its slab was sized ${slab.left} numbers too large`);
    if (!old) return;
    // each pending row moves to its slot's row in the bigger ring: they were made within the
    // last `steps` slots, so they never collide there. Older rows are left behind: after a hole
    // in the series they may be far older, and would collide (their targets fell in the hole).
    for (let i = 0; i < old.rows; i++) {
      const s = old.slot[i]!;
      if (!(s > slot - this.steps)) continue;
      const j = s % rows;
      this.slot[j] = s;
      this.p90.set(old.p90.subarray(i * K, (i + 1) * K), j * K);
      this.mix.set(old.mix.subarray(i * E, (i + 1) * E), j * E);
      if (this.features) this.features.set(old.features!.subarray(i * F, (i + 1) * F), j * F);
      for (const key of ROW_FIELDS) this[key][j] = old[key][i]!;
    }
  }
}

/** The fields with one number per row (each copied at a growth). */
export const ROW_FIELDS = ['final', 'p99', 'p10', 'comb50', 'beforeOffset', 'base', 'seasonalMedian', 'scale', 'spread', 'conformal', 'trend', 'missCounted'] as const;
