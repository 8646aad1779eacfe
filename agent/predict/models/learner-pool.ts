// One learned model per target shared by every series of a host (or of a dataset in a backtest),
// instead of one per series. Rows and labels are relative to each series' newest value and level
// (learner.ts), so rows from different workloads speak the same units; a model trained on all of
// them serves a new workload from its first forecast, costs one refit per target instead of one
// per series, and keeps one training set instead of thousands.
//
// Rows come in by time step: of those that arrive within one step, a reservoir keeps at most
// `rowsPerStep` (uniformly, whatever the number of series), so the training set spans the last
// `rows / rowsPerStep` steps of every series rather than the last instant of the busiest. The
// model is refitted every `refitSteps` steps, on the step boundary, so the cost is per step of
// time and not per series (and, while the set fills, each time it doubles). A seeded generator draws the reservoir: a replay is repeatable.
import { clampFeature, clipLabel, predictRow, type LearnerOptions } from './learner.js';
import { type GbmOptions, QuantileGbm } from './quantile-gbm.js';

export interface PooledLearnerOptions extends GbmOptions, Pick<LearnerOptions, 'clip'> {
  /** rows kept for training (default 4096) */
  rows?: number;
  /** rows kept per time step at most (default 8) */
  rowsPerStep?: number;
  /** rows needed before the first fit (default 200) */
  firstFit?: number;
  /** steps between refits (default 256) */
  refitSteps?: number;
}

/** A quantile GBM over rows from many series, sampled per time step. */
export class PooledLearner {
  private readonly capacity: number;
  private readonly perStep: number;
  private readonly x: Float16Array;
  private readonly y: Float32Array;
  private rows = 0;
  private head = 0;
  /** the current step's reservoir */
  private readonly stagedX: Float32Array;
  private readonly stagedY: Float32Array;
  private staged = 0;
  private seenThisStep = 0;
  private step = Number.NEGATIVE_INFINITY;
  private lastFitStep = Number.NEGATIVE_INFINITY;
  /** while the set fills: rows at which to refit early (twice those of the last fit) */
  private nextFitRows = 0;
  /** in [0, 1), from the seed: the pool's learners refit on different steps */
  private readonly phase: number;
  private model: QuantileGbm | undefined;
  private seed: number;
  private readonly scratch: Float64Array;
  /** fits so far and their time, for the cost report */
  fits = 0;
  fitMs = 0;

  constructor(readonly features: number, readonly quantile: number, private readonly opts: PooledLearnerOptions = {}, seed = 1) {
    this.capacity = Math.max(16, Math.floor(opts.rows ?? 4096));
    this.perStep = Math.max(1, Math.floor(opts.rowsPerStep ?? 8));
    this.x = new Float16Array(this.capacity * features);
    this.y = new Float32Array(this.capacity);
    this.stagedX = new Float32Array(this.perStep * features);
    this.stagedY = new Float32Array(this.perStep);
    this.scratch = new Float64Array(features);
    this.seed = seed >>> 0 || 1;
    this.phase = this.random();
  }

  get ready(): boolean {
    return this.model !== undefined;
  }

  /** A resolved row from any series at time step `step` (steps only grow; an older one joins the current). */
  add(row: ArrayLike<number>, label: number, step: number): void {
    if (!Number.isFinite(label)) return;
    if (step > this.step) {
      this.commit();
      this.step = step;
      this.seenThisStep = 0;
      this.maybeFit();
    }
    this.seenThisStep++;
    let at: number;
    if (this.staged < this.perStep) at = this.staged++;
    else {
      at = Math.floor(this.random() * this.seenThisStep);
      if (at >= this.perStep) return;
    }
    const off = at * this.features;
    for (let f = 0; f < this.features; f++) this.stagedX[off + f] = clampFeature(row[f]!);
    this.stagedY[at] = clipLabel(label, this.opts.clip);
  }

  /** The fitted quantile for a row; NaN before the first fit. */
  predict(row: ArrayLike<number>): number {
    return predictRow(this.model, row, this.scratch);
  }

  /** The same for a row already clamped (clampFeature): no copy. */
  predictClamped(row: ArrayLike<number>): number {
    return this.model ? this.model.predict(row) : Number.NaN;
  }

  /** The finished step's reservoir joins the training set (oldest rows out). */
  private commit(): void {
    for (let i = 0; i < this.staged; i++) {
      for (let f = 0, from = i * this.features, to = this.head * this.features; f < this.features; f++) this.x[to + f] = this.stagedX[from + f]!;
      this.y[this.head] = this.stagedY[i]!;
      this.head = (this.head + 1) % this.capacity;
      this.rows = Math.min(this.capacity, this.rows + 1);
    }
    this.staged = 0;
  }

  private maybeFit(): void {
    const first = this.opts.firstFit ?? 200;
    // first at `first` rows; while filling, each time the set doubles (a young pool's model soon
    // sees more than its first rows); then every refitSteps
    const filling = this.rows < this.capacity && this.rows >= this.nextFitRows;
    const due = this.model === undefined ? this.rows >= first : filling || this.step - this.lastFitStep >= (this.opts.refitSteps ?? 256);
    if (!due) return;
    const start = performance.now();
    this.model = QuantileGbm.fit(this.x, this.y, this.rows, this.features, this.quantile, this.opts);
    this.fitMs += performance.now() - start;
    // after the first fit, the refits keep to this learner's own phase of the refit period
    const refitSteps = this.opts.refitSteps ?? 256;
    this.lastFitStep = this.fits === 0 ? this.step - Math.floor(this.phase * refitSteps) : this.step;
    this.nextFitRows = 2 * this.rows;
    this.fits++;
  }

  /** xorshift32 in [0, 1). */
  private random(): number {
    let s = this.seed;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.seed = s >>> 0;
    return this.seed / 4294967296;
  }
}

/** The pooled learners of one host (or one backtest group), by target. */
export class LearnerPool {
  private readonly learners = new Map<string, PooledLearner>();

  constructor(private readonly opts: PooledLearnerOptions = {}) {}

  /** The learner of target `key` (e.g. "peak:60@1000"), made on first use; the pool's own options override `opts`. */
  learner(key: string, features: number, quantile: number, opts: PooledLearnerOptions = {}): PooledLearner {
    let l = this.learners.get(key);
    if (!l) {
      let seed = 0;
      for (let i = 0; i < key.length; i++) seed = (seed * 31 + key.charCodeAt(i)) >>> 0;
      l = new PooledLearner(features, quantile, { ...opts, ...this.opts }, seed);
      this.learners.set(key, l);
    }
    return l;
  }

  get size(): number {
    return this.learners.size;
  }

  /** Time its learners have spent fitting, ms (for the cost report). */
  get fitMs(): number {
    let ms = 0;
    for (const l of this.learners.values()) ms += l.fitMs;
    return ms;
  }
}
