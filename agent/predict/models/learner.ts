// The engine's learned model: a quantile GBM (quantile-gbm.ts) trained online on the series' own
// history, one per target. At every step the head hands it a row of features (lags, recent
// windows, the same time in past seasons, the time of day, volatility: features.ts); once the
// target is known the row joins a rolling training set; the model is refitted on that set every
// so often. Rows and labels are relative to the newest value and divided by the series' level,
// so a model fitted on one stretch of the series applies after the level has moved.
import { staggeredSize } from './growth.js';
import { type GbmOptions, QuantileGbm } from './quantile-gbm.js';

export interface LearnerOptions extends GbmOptions {
  /** rows kept for training (default 1024: three and a half days at 5-minute steps) */
  rows?: number;
  /** rows needed before the first fit (default 100) */
  firstFit?: number;
  /** new rows between refits once the set is full (default 1024: the set renewed) */
  refitEvery?: number;
  /**
   * in [0, 1): delays the first fit, and with it the fill's doublings, by this share of firstFit,
   * and the refits by this share of refitEvery past the set's filling, so many series started
   * together (an agent's first tick) do not all fit on the same tick (default 0). Only a first
   * fit that would come after the set is full is not delayed: it comes when it fills
   */
  phase?: number;
  /** labels are clipped to +- this many levels (default 1000) */
  clip?: number;
}

/** Features are kept within half precision's range (NaN, a missing value, stays NaN). */
const FEATURE_LIMIT = 60_000;
export const clampFeature = (v: number): number => (v > FEATURE_LIMIT ? FEATURE_LIMIT : v < -FEATURE_LIMIT ? -FEATURE_LIMIT : v);

/** Labels are clipped to +- this many levels unless told otherwise. */
const DEFAULT_CLIP = 1000;
/** A label as stored: within +- `clip` levels. */
export const clipLabel = (label: number, clip = DEFAULT_CLIP): number => Math.max(-clip, Math.min(clip, label));

/** A fitted model's quantile for a row, its features clamped as the stored rows were (into `scratch`); NaN without a model. */
export function predictRow(model: QuantileGbm | undefined, row: ArrayLike<number>, scratch: Float64Array): number {
  if (!model) return Number.NaN;
  for (let f = 0; f < scratch.length; f++) scratch[f] = clampFeature(row[f]!);
  return model.predict(scratch);
}

/** Empty buffers, shared and never written: a learner's first row allocates its own. */
const NO_ROWS = new Float16Array(0);
const NO_LABELS = new Float32Array(0);

/** Rows the buffers start with (staggered: growth.ts). */
const INITIAL_ROWS = 64;

export class QuantileLearner {
  private readonly capacity: number;
  /**
   * rows kept in half precision (features are relative values binned into 32 quantile bins at
   * each fit: three significant digits suffice; a row of 20 costs 40 bytes), labels in single,
   * in buffers that grow by doubling up to the capacity: a young series holds little
   */
  private x: Float16Array;
  private y: Float32Array;
  private rows = 0;
  private head = 0;
  /** rows added so far, kept or not */
  private added = 0;
  /** the fill's next fit, at this many rows held; Infinity past its last doubling */
  private nextFit: number;
  /** the next refit, at this many rows added */
  private nextRefit = Number.POSITIVE_INFINITY;
  private readonly refitEvery: number;
  /** the first fit's row count before rounding: the fill's fits double from it */
  private readonly fillBase: number;
  /** rows past the set's filling before the first refit: the phase's share of refitEvery */
  private readonly refitPhase: number;
  private readonly clip: number;
  private model: QuantileGbm | undefined;
  private readonly scratch: Float64Array;
  private readonly initial: number;
  /** fits so far and the time they took, for the cost report */
  fits = 0;
  fitMs = 0;

  constructor(
    readonly features: number,
    readonly quantile: number,
    private readonly opts: LearnerOptions = {},
  ) {
    this.capacity = Math.max(16, Math.floor(opts.rows ?? 1024));
    // allocated with the first row (a horizon after the head is set up: ten thousand series'
    // heads set up on one tick do not all allocate their rows on it)
    this.initial = Math.min(this.capacity, staggeredSize(INITIAL_ROWS));
    this.x = NO_ROWS;
    this.y = NO_LABELS;
    const phase = Math.min(0.999, Math.max(0, opts.phase ?? 0));
    const first = Math.max(16, opts.firstFit ?? 100);
    this.fillBase = first * (1 + phase);
    this.nextFit = Math.min(this.capacity, Math.round(this.fillBase));
    this.refitEvery = Math.max(1, opts.refitEvery ?? 1024);
    this.refitPhase = Math.round(phase * this.refitEvery);
    this.clip = opts.clip ?? DEFAULT_CLIP;
    this.scratch = new Float64Array(features);
  }

  get ready(): boolean {
    return this.model !== undefined;
  }

  /** Adds a resolved row (its label in the same units as the features) and refits when due. */
  add(row: ArrayLike<number>, label: number): void {
    if (!Number.isFinite(label)) return;
    if (this.rows === this.y.length && this.rows < this.capacity) this.grow();
    const at = this.head * this.features;
    // clamped as predict() clamps: half precision would turn a larger value into Infinity
    for (let f = 0; f < this.features; f++) this.x[at + f] = clampFeature(row[f]!);
    this.y[this.head] = clipLabel(label, this.clip);
    this.head = (this.head + 1) % this.capacity;
    this.rows = Math.min(this.capacity, this.rows + 1);
    this.added++;
    // at each of the fill's doublings (the first no later than the set's filling); past the last,
    // at the refits
    const due = Number.isFinite(this.nextFit) ? this.rows >= this.nextFit : this.added >= this.nextRefit;
    if (due) this.fit();
  }

  /** Doubles the buffers (up to the capacity), or makes them; rows are appended while filling, so they stay in place. */
  private grow(): void {
    const size = this.y.length === 0 ? this.initial : Math.min(this.capacity, 2 * this.y.length);
    const x = new Float16Array(size * this.features);
    x.set(this.x);
    const y = new Float32Array(size);
    y.set(this.y);
    this.x = x;
    this.y = y;
  }

  /** The fitted quantile for a row; NaN before the first fit. */
  predict(row: ArrayLike<number>): number {
    return predictRow(this.model, row, this.scratch);
  }

  /** The same for a row already clamped (clampFeature): no copy. */
  predictClamped(row: ArrayLike<number>): number {
    return this.model ? this.model.predict(row) : Number.NaN;
  }

  private fit(): void {
    const start = performance.now();
    this.model = QuantileGbm.fit(this.x, this.y, this.rows, this.features, this.quantile, this.opts);
    this.fitMs += performance.now() - start;
    this.fits++;
    // while filling: refit each time the set doubles, so early models soon see more history. From
    // the first fit's unrounded row count, or every later fit would land on an even count and
    // ten thousand series' learners would all fit on the same ticks out of two; and not once more
    // when the set is full, or they would all fit on the tick it fills (the series an agent starts
    // together fill together). Past the last doubling, the refits: refitEvery rows apart, the
    // first the phase's share of refitEvery past the filling, so they spread over the whole period
    const next = Math.round(this.fillBase * 2 ** this.fits);
    if (next < this.capacity) {
      this.nextFit = next;
      return;
    }
    this.nextFit = Number.POSITIVE_INFINITY;
    if (!Number.isFinite(this.nextRefit)) this.nextRefit = this.capacity + this.refitPhase;
    while (this.nextRefit <= this.added) this.nextRefit += this.refitEvery;
  }
}
