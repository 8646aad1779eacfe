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
  /** 'walk': keep the node walk at any depth (the complete layout's reference, for tests) */
  layout?: 'auto' | 'walk';
}

const DEFAULTS = { trees: 60, depth: 3, learningRate: 0.1, minLeaf: 20, bins: 32, layout: 'auto' } as const;
/** Deepest trees kept in the complete layout (at 5: 31 tests and 32 leaves a tree). */
const COMPLETE_MAX_DEPTH = 5;

/**
 * A fitted model. Trees up to COMPLETE_MAX_DEPTH levels are laid out complete: per tree its
 * 2^d - 1 tests (breadth first) and 2^d leaves, a leaf above the last level copied into every
 * leaf slot below it and the tests under it sending everything left (threshold +Infinity). A
 * prediction is then d comparisons a tree with no test for node kinds: 0.24 us against the node
 * walk's 0.41 us for 40 trees of depth 3 when it came, and the engine makes nine a sample (now
 * 0.15-0.16 us: depth 3 unrolled, its tests without a branch). Deeper trees keep the node walk.
 */
export class QuantileGbm {
  private constructor(
    readonly quantile: number,
    private readonly base: number,
    readonly trees: number,
    /** levels of tests in the complete layout; 0: the node walk (`nodes`) */
    private readonly depth: number,
    /** per test (complete layout) or per node (walk): the feature compared, -1 for a walk's leaf */
    private readonly feature: Int16Array,
    private readonly threshold: Float64Array,
    /** per leaf slot (complete layout) or per node (walk) */
    private readonly value: Float64Array,
    private readonly nodes?: { roots: Int32Array; left: Int32Array },
  ) {}

  /** The fitted q-quantile for one row of features (NaN = missing: NaN compares false, so it goes left). */
  predict(x: ArrayLike<number>): number {
    // `+`: started from a plain number, V8 keeps the running sum an unboxed double; started from
    // the field as it is, it boxed the sum on every tree (650 bytes of garbage a call)
    let out = +this.base;
    const d = this.depth;
    // (the fields read into locals: in the loop V8 reloaded them at every test; with depth 3
    // unrolled, 280 -> 150 ns for 40 trees on rows that repeat. And a test is +(a >= b), not
    // a >= b ? 1 : 0: V8 compiles the first without a branch, and on rows that vary a tree's tests
    // are coin flips a branch predictor loses: 410 -> 160 ns on random rows)
    const feature = this.feature;
    const threshold = this.threshold;
    const value = this.value;
    const trees = this.trees;
    if (d === 3) {
      // the engine's depth, unrolled: three tests and no inner loop
      for (let t = 0, at = 0, leaf = -7; t < trees; t++, at += 7, leaf += 8) {
        let i = 1 + +(x[feature[at]!]! >= threshold[at]!);
        i = 2 * i + 1 + +(x[feature[at + i]!]! >= threshold[at + i]!);
        i = 2 * i + 1 + +(x[feature[at + i]!]! >= threshold[at + i]!);
        out += value[leaf + i]!;
      }
      return out;
    }
    if (d > 0) {
      const tests = (1 << d) - 1;
      for (let t = 0, at = 0, leaves = 0; t < trees; t++, at += tests, leaves += tests + 1) {
        let i = 0;
        for (let k = 0; k < d; k++) i = 2 * i + 1 + +(x[feature[at + i]!]! >= threshold[at + i]!);
        out += value[leaves + i - tests]!;
      }
      return out;
    }
    const { roots, left } = this.nodes!;
    for (let t = 0; t < this.trees; t++) {
      let node = roots[t]!;
      for (;;) {
        const f = this.feature[node]!;
        if (f < 0) break;
        node = left[node]! + (x[f]! >= this.threshold[node]! ? 1 : 0);
      }
      out += this.value[node]!;
    }
    return out;
  }

  /** Trees in flat node arrays (breadth first, leaves marked by feature -1) as a model: complete when shallow enough. */
  private static of(q: number, base: number, depth: number, roots: Int32Array, feature: Int16Array, threshold: Float64Array, left: Int32Array, value: Float64Array): QuantileGbm {
    const trees = roots.length;
    if (depth > COMPLETE_MAX_DEPTH) return new QuantileGbm(q, base, trees, 0, feature, threshold, value, { roots, left });
    const tests = (1 << depth) - 1;
    const cf = new Int16Array(trees * tests);
    const ct = new Float64Array(trees * tests).fill(Number.POSITIVE_INFINITY);
    const cv = new Float64Array(trees * (tests + 1));
    const place = (t: number, node: number, slot: number): void => {
      const f = feature[node]!;
      if (f < 0 || slot >= tests) {
        // a leaf: every leaf slot under `slot` holds its value (the tests above them go left)
        let lo = slot;
        let hi = slot;
        while (lo < tests) {
          lo = 2 * lo + 1;
          hi = 2 * hi + 2;
        }
        cv.fill(value[node]!, t * (tests + 1) + lo - tests, t * (tests + 1) + hi - tests + 1);
        return;
      }
      cf[t * tests + slot] = f;
      ct[t * tests + slot] = threshold[node]!;
      place(t, left[node]!, 2 * slot + 1);
      place(t, left[node]! + 1, 2 * slot + 2);
    };
    for (let t = 0; t < trees; t++) place(t, roots[t]!, 0);
    return new QuantileGbm(q, base, trees, depth, cf, ct, cv);
  }

  /**
   * Fits rows `x` (row-major, `n` rows of `features`) to labels `y` at quantile `q`. Rows with a
   * NaN label must not be passed. Throws a RangeError for an empty set or a bad option.
   */
  static fit(x: Float64Array | Float32Array | Float16Array, y: Float64Array | Float32Array | Float16Array, n: number, features: number, q: number, opts: GbmOptions = {}): QuantileGbm {
    if (!(q > 0 && q < 1)) throw new RangeError(`gbm quantile must be in (0, 1); got ${q}`);
    if (!(n > 0) || x.length < n * features || y.length < n) throw new RangeError(`gbm needs rows: n ${n}, features ${features}`);
    const o = { ...DEFAULTS, ...opts };
    const bins = Math.max(2, Math.min(256, Math.floor(o.bins)));
    if (!(o.trees >= 0 && o.depth >= 1 && o.depth <= 8 && o.learningRate > 0 && o.minLeaf >= 1)) throw new RangeError('gbm options out of range');
    const binned = binFeatures(x, n, features, bins);
    const residual = new Float64Array(n);
    const base = quantileOf(Float64Array.from(y.subarray(0, n)), q);
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
    // the root holds every row whatever the tree: its counts once; its gradient sums per tree
    // from the rows above their prediction alone (see rootHistogram)
    const rootCounts = countAll(binned, n, features, bins);
    const above = new Uint32Array(n);
    const ups = new Float64Array(features * bins);
    // histograms (gradient sum and row count per feature and bin) of the nodes still to split:
    // the smaller child's is built from its rows, the larger's is its parent's minus it
    const pool: Histogram[] = Array.from({ length: (1 << o.depth) + 1 }, () => newHistogram(features, bins));

    interface Node { node: number; start: number; end: number; hist: Histogram | undefined }
    for (let t = 0; t < o.trees; t++) {
      let nAbove = 0;
      for (let i = 0; i < n; i++) {
        const up = residual[i]! > 0;
        grad[i] = up ? q : q - 1;
        order[i] = i;
        if (up) above[nAbove++] = i;
      }
      roots[t] = used;
      let free = pool.slice();
      const rootHist = free.pop()!;
      rootHistogram(rootHist, rootCounts, ups, binned, above, nAbove, q, features, bins);
      // nodes of this tree, breadth first, each with its rows order[start..end); a leaf's rows
      // stay contiguous in `order`, so its residuals are read off that range
      let level: Node[] = [{ node: used++, start: 0, end: n, hist: rootHist }];
      for (let d = 0; d <= o.depth && level.length > 0; d++) {
        const next: Node[] = [];
        for (const { node, start, end, hist } of level) {
          const split = hist ? bestSplit(hist, binned, end - start, features, bins, o.minLeaf) : undefined;
          if (split === undefined) {
            if (hist) free.push(hist);
            // a leaf: the q-quantile of its residuals, shrunk
            for (let k = start; k < end; k++) scratch[k - start] = residual[order[k]!]!;
            const v = o.learningRate * selectQuantile(scratch, end - start, q);
            value[node] = v;
            for (let k = start; k < end; k++) residual[order[k]!]! -= v;
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
          let leftHist: Histogram | undefined;
          let rightHist: Histogram | undefined;
          if (d + 1 < o.depth) {
            const small = free.pop()!;
            const leftSmaller = lo - start <= end - lo;
            if (leftSmaller) fillHistogram(small, binned, grad, order, start, lo, features, bins);
            else fillHistogram(small, binned, grad, order, lo, end, features, bins);
            subtractHistogram(hist!, small); // the parent's becomes the larger child's
            leftHist = leftSmaller ? small : hist;
            rightHist = leftSmaller ? hist : small;
          } else {
            free.push(hist!);
          }
          next.push({ node: used, start, end: lo, hist: leftHist }, { node: used + 1, start: lo, end, hist: rightHist });
          used += 2;
        }
        level = next;
      }
      free = [];
    }
    return QuantileGbm.of(q, base, o.layout === 'walk' ? Number.POSITIVE_INFINITY : o.depth, roots, feature.slice(0, used), threshold.slice(0, used), left.slice(0, used), value.slice(0, used));
  }
}

interface Binned {
  /** per feature: bin of each row (0 = missing, 1.. by value) */
  columns: Uint8Array[];
  /** per feature: ascending cut points; bin(v) = 1 + number of edges <= v */
  edges: Float64Array[];
}

/** Rows the cut points are read from. */
const CUT_SAMPLE = 256;

/** Bins each feature at its quantiles (distinct cut points only). */
function binFeatures(x: Float64Array | Float32Array | Float16Array, n: number, features: number, bins: number): Binned {
  const columns: Uint8Array[] = [];
  const edges: Float64Array[] = [];
  // cut points from at most CUT_SAMPLE rows spread over the set: quantiles to a bin's accuracy
  // at a fraction of the sorting
  const stride = Math.max(1, Math.floor(n / CUT_SAMPLE));
  const values = new Float64Array(Math.ceil(n / stride));
  for (let f = 0; f < features; f++) {
    let m = 0;
    for (let i = 0; i < n; i += stride) {
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

/**
 * Number of elements of ascending `a` that are <= v. Written with selects rather than an
 * if/else, which V8 compiles without a branch: the comparisons of a bin search are coin flips a
 * branch predictor loses (a fit bins 20,000 values: 1.42 -> 1.22 ms a fit).
 */
function upperBound(a: Float64Array, v: number): number {
  let lo = 0;
  let len = a.length;
  while (len > 0) {
    const half = len >> 1;
    const right = a[lo + half]! <= v;
    lo = right ? lo + half + 1 : lo;
    len = right ? len - half - 1 : half;
  }
  return lo;
}

/** Rows per feature and bin over the whole set. */
function countAll(binned: Binned, n: number, features: number, bins: number): Float64Array {
  const count = new Float64Array(features * bins);
  for (let f = 0; f < features; f++) {
    const col = binned.columns[f]!;
    const base = f * bins;
    for (let i = 0; i < n; i++) count[base + col[i]!]!++;
  }
  return count;
}

/**
 * The root's histogram: the gradient is q above the prediction and q - 1 elsewhere, so a bin's
 * sum is (q - 1) x its count plus one per row above, and only those rows (about 1 - q of them
 * once the trees fit) are read, not all of them.
 */
function rootHistogram(h: Histogram, counts: Float64Array, ups: Float64Array, binned: Binned, above: Uint32Array, nAbove: number, q: number, features: number, bins: number): void {
  h.count.set(counts);
  ups.fill(0);
  for (let f = 0; f < features; f++) {
    const col = binned.columns[f]!;
    const base = f * bins;
    for (let k = 0; k < nAbove; k++) ups[base + col[above[k]!]!]!++;
  }
  for (let b = 0; b < counts.length; b++) h.sum[b] = (q - 1) * counts[b]! + ups[b]!;
}

interface Histogram {
  /** per feature f and bin b, at f * bins + b: sum of the gradient and count of rows */
  sum: Float64Array;
  count: Float64Array;
}

function newHistogram(features: number, bins: number): Histogram {
  return { sum: new Float64Array(features * bins), count: new Float64Array(features * bins) };
}

/** The histogram of rows order[start..end). */
function fillHistogram(h: Histogram, binned: Binned, grad: Float64Array, order: Uint32Array, start: number, end: number, features: number, bins: number): void {
  h.sum.fill(0);
  h.count.fill(0);
  for (let f = 0; f < features; f++) {
    const col = binned.columns[f]!;
    const base = f * bins;
    for (let k = start; k < end; k++) {
      const i = order[k]!;
      const b = base + col[i]!;
      h.sum[b]! += grad[i]!;
      h.count[b]!++;
    }
  }
}

/** parent -= child, bin by bin: what is left is the other child's histogram. */
function subtractHistogram(parent: Histogram, child: Histogram): void {
  for (let i = 0; i < parent.sum.length; i++) {
    parent.sum[i]! -= child.sum[i]!;
    parent.count[i]! -= child.count[i]!;
  }
}

/** The least-squares split of a node's rows on the gradient (from its histogram), or undefined when none helps. */
function bestSplit(h: Histogram, binned: Binned, count: number, features: number, bins: number, minLeaf: number): { feature: number; bin: number } | undefined {
  if (count < 2 * minLeaf) return undefined;
  let total = 0;
  for (let b = 0; b < bins; b++) total += h.sum[b]!; // feature 0's bins hold every row
  const parent = (total * total) / count;
  let bestGain = 1e-12;
  let best: { feature: number; bin: number } | undefined;
  for (let f = 0; f < features; f++) {
    const base = f * bins;
    const used = binned.edges[f]!.length + 2; // missing bin, then one per edge plus one
    let sl = 0;
    let cl = 0;
    for (let b = 0; b < used - 1; b++) {
      sl += h.sum[base + b]!;
      cl += h.count[base + b]!;
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

/**
 * q-quantile of the first n values (linear between closest ranks), by selection rather than a
 * full sort; reorders them.
 */
function selectQuantile(a: Float64Array, n: number, q: number): number {
  if (n === 0) return 0;
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const vLo = select(a, n, lo);
  if (pos === lo || lo + 1 >= n) return vLo;
  // after selecting lo, everything above index lo is >= a[lo]: the next rank is their minimum
  let vHi = Number.POSITIVE_INFINITY;
  for (let i = lo + 1; i < n; i++) if (a[i]! < vHi) vHi = a[i]!;
  return vLo + (pos - lo) * (vHi - vLo);
}

/** The k-th smallest of a[0..n) (Hoare's quickselect, middle pivot); leaves a partitioned around it. */
function select(a: Float64Array, n: number, k: number): number {
  let left = 0;
  let right = n - 1;
  while (right > left) {
    const pivot = a[(left + right) >> 1]!;
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const tmp = a[i]!;
        a[i++] = a[j]!;
        a[j--] = tmp;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else break;
  }
  return a[k]!;
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
