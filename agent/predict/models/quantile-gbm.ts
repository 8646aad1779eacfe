// Gradient-boosted regression trees for one quantile, small enough to train online on a series'
// own history (Friedman's gradient boosting with the pinball loss, as scikit-learn's
// GradientBoostingRegressor(loss='quantile') does it):
// - start from the q-quantile of the labels;
// - each round fits a shallow least-squares tree to the pinball loss's negative gradient (q above
//   the current fit, q - 1 below), then sets every leaf to the q-quantile of the residuals that
//   fell in it (the loss's own line search), shrunk by the learning rate;
// - features are binned once per fit at their quantiles (a histogram per node and feature makes
//   a split search O(rows) instead of O(rows log rows)); a missing value (NaN) has a bin of its
//   own and always goes left.
// No dependency, no randomness: the same rows give the same model.

export interface GbmOptions {
  /** boosting rounds (default 60) */
  trees?: number;
  /** depth of each tree (default 3: 8 leaves) */
  depth?: number;
  /** shrinkage of each round (default 0.1) */
  learningRate?: number;
  /** fewest rows in a leaf (default 20) */
  minLeaf?: number;
  /** histogram bins per feature, missing included, at most 256 (default 32) */
  bins?: number;
}

const DEFAULTS = { trees: 60, depth: 3, learningRate: 0.1, minLeaf: 20, bins: 32 } as const;

/** A fitted model: trees in flat arrays, nodes in breadth-first order, leaves marked by feature -1. */
export class QuantileGbm {
  private constructor(
    readonly quantile: number,
    private readonly base: number,
    /** per tree: offset of its root in the node arrays */
    private readonly roots: Int32Array,
    private readonly feature: Int16Array,
    private readonly threshold: Float64Array,
    /** index of the left child; the right one follows it */
    private readonly left: Int32Array,
    private readonly value: Float64Array,
  ) {}

  get trees(): number {
    return this.roots.length;
  }

  /** The fitted q-quantile for one row of features (NaN = missing). */
  predict(x: ArrayLike<number>): number {
    let out = this.base;
    for (let t = 0; t < this.roots.length; t++) {
      let node = this.roots[t]!;
      for (;;) {
        const f = this.feature[node]!;
        if (f < 0) break;
        const v = x[f]!;
        // NaN compares false: missing goes left
        node = this.left[node]! + (v >= this.threshold[node]! ? 1 : 0);
      }
      out += this.value[node]!;
    }
    return out;
  }

  /**
   * Fits rows `x` (row-major, `n` rows of `features`) to labels `y` at quantile `q`. Rows with a
   * NaN label must not be passed. Throws a RangeError for an empty set or a bad option.
   */
  static fit(x: Float64Array, y: Float64Array, n: number, features: number, q: number, opts: GbmOptions = {}): QuantileGbm {
    if (!(q > 0 && q < 1)) throw new RangeError(`gbm quantile must be in (0, 1); got ${q}`);
    if (!(n > 0) || x.length < n * features || y.length < n) throw new RangeError(`gbm needs rows: n ${n}, features ${features}`);
    const o = { ...DEFAULTS, ...opts };
    const bins = Math.max(2, Math.min(256, Math.floor(o.bins)));
    if (!(o.trees >= 0 && o.depth >= 1 && o.depth <= 8 && o.learningRate > 0 && o.minLeaf >= 1)) throw new RangeError('gbm options out of range');
    const binned = binFeatures(x, n, features, bins);
    const residual = new Float64Array(n);
    const base = quantileOf(y.slice(0, n), q);
    for (let i = 0; i < n; i++) residual[i] = y[i]! - base;

    const maxNodes = o.trees * ((1 << (o.depth + 1)) - 1);
    const feature = new Int16Array(maxNodes).fill(-1);
    const threshold = new Float64Array(maxNodes);
    const left = new Int32Array(maxNodes);
    const value = new Float64Array(maxNodes);
    const roots = new Int32Array(o.trees);
    let used = 0;

    const grad = new Float64Array(n);
    const order = new Uint32Array(n);
    const scratch = new Float64Array(n);
    const histSum = new Float64Array(bins);
    const histCount = new Float64Array(bins);
    const leafOf = new Int32Array(n);

    for (let t = 0; t < o.trees; t++) {
      for (let i = 0; i < n; i++) {
        grad[i] = residual[i]! > 0 ? q : q - 1;
        order[i] = i;
      }
      roots[t] = used;
      // nodes of this tree, breadth first: [node index, start, end] of its rows in `order`
      let level: Array<[number, number, number]> = [[used++, 0, n]];
      for (let d = 0; d <= o.depth && level.length > 0; d++) {
        const next: Array<[number, number, number]> = [];
        for (const [node, start, end] of level) {
          const split = d < o.depth ? bestSplit(binned, grad, order, start, end, features, bins, o.minLeaf, histSum, histCount) : undefined;
          if (split === undefined) {
            for (let k = start; k < end; k++) leafOf[order[k]!] = node;
            continue;
          }
          // partition rows: bin <= split.bin to the left
          const col = binned.columns[split.feature]!;
          let lo = start;
          let hi = end - 1;
          while (lo <= hi) {
            if (col[order[lo]!]! <= split.bin) lo++;
            else {
              const tmp = order[lo]!;
              order[lo] = order[hi]!;
              order[hi--] = tmp;
            }
          }
          feature[node] = split.feature;
          // right: bin > split.bin, i.e. a value at or above the edge ending it (missing alone: any value)
          threshold[node] = split.bin === 0 ? Number.NEGATIVE_INFINITY : binned.edges[split.feature]![split.bin - 1]!;
          left[node] = used;
          next.push([used, start, lo], [used + 1, lo, end]);
          used += 2;
        }
        level = next;
      }
      // leaves: the q-quantile of their residuals, shrunk
      const leafRows = new Map<number, number[]>();
      for (let i = 0; i < n; i++) {
        const leaf = leafOf[i]!;
        let rows = leafRows.get(leaf);
        if (rows === undefined) leafRows.set(leaf, (rows = []));
        rows.push(i);
      }
      for (const [leaf, rows] of leafRows) {
        for (let k = 0; k < rows.length; k++) scratch[k] = residual[rows[k]!]!;
        const v = o.learningRate * quantileOf(scratch.subarray(0, rows.length), q);
        value[leaf] = v;
        for (const i of rows) residual[i]! -= v;
      }
    }
    return new QuantileGbm(q, base, roots, feature.slice(0, used), threshold.slice(0, used), left.slice(0, used), value.slice(0, used));
  }
}

interface Binned {
  /** per feature: bin of each row (0 = missing, 1.. by value) */
  columns: Uint8Array[];
  /** per feature: ascending cut points; bin(v) = 1 + number of edges <= v */
  edges: Float64Array[];
}

/** Bins each feature at its quantiles (distinct cut points only). */
function binFeatures(x: Float64Array, n: number, features: number, bins: number): Binned {
  const columns: Uint8Array[] = [];
  const edges: Float64Array[] = [];
  const values = new Float64Array(n);
  for (let f = 0; f < features; f++) {
    let m = 0;
    for (let i = 0; i < n; i++) {
      const v = x[i * features + f]!;
      if (!Number.isNaN(v)) values[m++] = v;
    }
    const sorted = values.subarray(0, m).sort();
    const cuts: number[] = [];
    const slots = bins - 1; // bins for observed values
    for (let b = 1; b < slots && m > 0; b++) {
      const c = sorted[Math.min(m - 1, Math.floor((b * m) / slots))]!;
      if (c > sorted[0]! && (cuts.length === 0 || c > cuts[cuts.length - 1]!)) cuts.push(c);
    }
    const e = Float64Array.from(cuts);
    const col = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const v = x[i * features + f]!;
      col[i] = Number.isNaN(v) ? 0 : 1 + upperBound(e, v);
    }
    columns.push(col);
    edges.push(e);
  }
  return { columns, edges };
}

/** Number of elements of ascending `a` that are <= v. */
function upperBound(a: Float64Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The least-squares split of rows order[start..end) on the gradient, or undefined when none helps. */
function bestSplit(
  binned: Binned, grad: Float64Array, order: Uint32Array, start: number, end: number, features: number, bins: number,
  minLeaf: number, histSum: Float64Array, histCount: Float64Array,
): { feature: number; bin: number } | undefined {
  const count = end - start;
  if (count < 2 * minLeaf) return undefined;
  let total = 0;
  for (let k = start; k < end; k++) total += grad[order[k]!]!;
  const parent = (total * total) / count;
  let bestGain = 1e-12;
  let best: { feature: number; bin: number } | undefined;
  for (let f = 0; f < features; f++) {
    const col = binned.columns[f]!;
    const used = binned.edges[f]!.length + 2; // missing bin, then one per edge plus one
    histSum.fill(0, 0, used);
    histCount.fill(0, 0, used);
    for (let k = start; k < end; k++) {
      const i = order[k]!;
      const b = col[i]!;
      histSum[b]! += grad[i]!;
      histCount[b]!++;
    }
    let sl = 0;
    let cl = 0;
    for (let b = 0; b < used - 1; b++) {
      sl += histSum[b]!;
      cl += histCount[b]!;
      if (cl < minLeaf) continue;
      const cr = count - cl;
      if (cr < minLeaf) break;
      const sr = total - sl;
      const gain = (sl * sl) / cl + (sr * sr) / cr - parent;
      if (gain > bestGain) {
        bestGain = gain;
        best = { feature: f, bin: b };
      }
    }
  }
  return best;
}

/** q-quantile of the values (linear between closest ranks); reorders them. */
export function quantileOf(a: Float64Array, q: number): number {
  const n = a.length;
  if (n === 0) return 0;
  a.sort();
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return a[lo]! + (pos - lo) * (a[hi]! - a[lo]!);
}
