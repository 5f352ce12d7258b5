// The two tests the canary judge runs: Fisher's exact test on failures, Mann-Whitney U on durations.
// Pure numerics, no dependencies; every p-value is one-sided ("the canary is worse") and lies in [0, 1].

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7: about 15 significant digits), so factorials of 10⁶ stay finite. */
export function lnGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** ln C(n, k). */
function lnChoose(n: number, k: number): number {
  return lnGamma(n + 1) - lnGamma(k + 1) - lnGamma(n - k + 1);
}

/** P(Z > z) for a standard normal Z; relative error below 1.2e-7 (Numerical Recipes' Chebyshev erfc). */
export function normalUpperTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const erfc =
    t *
    Math.exp(
      -x * x - 1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 +
        t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

const clamp01 = (p: number): number => (p < 0 ? 0 : p > 1 ? 1 : p);

function checkCount(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name} must be an integer ≥ 0 (got ${n})`);
}

/**
 * One-sided Fisher exact test: the p-value that the canary's failure rate is greater than stable's.
 * `table` is [[canaryFailures, canarySuccesses], [stableFailures, stableSuccesses]]; p = P(X ≥ canaryFailures)
 * for X hypergeometric with the table's margins. Terms are summed in log space from the largest one, so
 * tables of millions of runs neither overflow nor underflow. An empty row gives p = 1 (no evidence).
 */
export function fisherGreater(table: readonly [readonly [number, number], readonly [number, number]]): number {
  const [[a, b], [c, d]] = table;
  checkCount('canary failures', a);
  checkCount('canary successes', b);
  checkCount('stable failures', c);
  checkCount('stable successes', d);
  const n1 = a + b; // canary runs: the draws
  const k = a + c; // failures: the marked items
  const n = n1 + c + d;
  const hi = Math.min(n1, k);
  const lnTotal = lnChoose(n, n1);
  const lnTerm = (x: number): number => lnChoose(k, x) + lnChoose(n - k, n1 - x) - lnTotal;
  // The pmf is unimodal: from the mode down the terms only shrink, so the sum can stop once they vanish.
  const mode = Math.floor(((n1 + 1) * (k + 1)) / (n + 2));
  const start = a;
  const top = lnTerm(Math.max(start, Math.min(mode, hi)));
  let sum = 0;
  for (let x = start; x <= hi; x++) {
    const term = Math.exp(lnTerm(x) - top);
    sum += term;
    if (x > mode && term < sum * 1e-17) break;
  }
  return clamp01(Math.exp(top) * sum);
}

export interface MannWhitneyResult {
  /** U of the canary: the number of (canary, stable) pairs where the canary is slower, ties counting ½. */
  u: number;
  /** One-sided p-value that canary values are stochastically greater. */
  p: number;
  /** The smallest p these sample sizes (and ties) could give: above alpha, the test cannot conclude. */
  minP: number;
  /** `exact`: the permutation distribution (ties included); `normal`: the approximation; `none`: an empty sample. */
  method: 'exact' | 'normal' | 'none';
  /** The normal approximation's z (continuity- and tie-corrected); absent when exact. */
  z?: number;
  n1: number;
  n2: number;
}

/** Above this many values in all, the normal approximation is used; at or below, the exact distribution. */
export const MANN_WHITNEY_EXACT_MAX = 60;

/** Mid-ranks (1-based) of the values of `x` then `y` pooled, and the tie term Σ(t³ − t) of the pool. */
function midRanks(x: readonly number[], y: readonly number[]): { ranks: Float64Array; ties: number } {
  const n = x.length + y.length;
  const values = new Float64Array(n);
  values.set(x);
  values.set(y, x.length);
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => values[i]! - values[j]!);
  const ranks = new Float64Array(n);
  let ties = 0;
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && values[order[j]!] === values[order[i]!]) j++;
    const rank = (i + 1 + j) / 2; // mean of ranks i+1..j
    for (let m = i; m < j; m++) ranks[order[m]!] = rank;
    const t = j - i;
    ties += t * t * t - t;
    i = j;
  }
  return { ranks, ties };
}

/**
 * One-sided Mann-Whitney U test that `canary` values are stochastically greater than `stable` ones
 * (a slower canary). Exact (the permutation distribution given the ties) up to MANN_WHITNEY_EXACT_MAX
 * values in all; above, the normal approximation with tie and continuity corrections.
 */
export function mannWhitneyGreater(canary: readonly number[], stable: readonly number[]): MannWhitneyResult {
  const n1 = canary.length;
  const n2 = stable.length;
  for (const v of canary) if (!Number.isFinite(v)) throw new RangeError(`canary durations must be finite numbers (got ${v})`);
  for (const v of stable) if (!Number.isFinite(v)) throw new RangeError(`stable durations must be finite numbers (got ${v})`);
  if (n1 === 0 || n2 === 0) return { u: 0, p: 1, minP: 1, method: 'none', n1, n2 };
  const { ranks, ties } = midRanks(canary, stable);
  let r1 = 0;
  for (let i = 0; i < n1; i++) r1 += ranks[i]!;
  const u = r1 - (n1 * (n1 + 1)) / 2;
  if (n1 + n2 <= MANN_WHITNEY_EXACT_MAX) return { ...exactTail(ranks, n1, r1), u, method: 'exact', n1, n2 };
  const n = n1 + n2;
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  if (variance <= 0) return { u, p: 1, minP: 1, method: 'normal', z: 0, n1, n2 }; // every value tied
  const sd = Math.sqrt(variance);
  const mean = (n1 * n2) / 2;
  const z = (u - mean - 0.5) / sd;
  return { u, p: clamp01(normalUpperTail(z)), minP: clamp01(normalUpperTail((n1 * n2 - mean - 0.5) / sd)), method: 'normal', z, n1, n2 };
}

/**
 * P(R ≥ r1) where R is the rank sum of n1 values drawn without replacement from the pooled mid-ranks:
 * a subset-sum count over doubled ranks (integers, as mid-ranks are halves at worst). O(n · n1 · Σranks).
 */
function exactTail(ranks: Float64Array, n1: number, r1: number): { p: number; minP: number } {
  const n = ranks.length;
  const maxSum = n * (n + 1); // doubled ranks sum to n(n + 1)
  const width = maxSum + 1;
  // counts[k * width + s]: subsets of size k with doubled rank sum s (doubles: C(60, 30) ≈ 1.2e17 keeps 16 digits).
  const counts = new Float64Array((n1 + 1) * width);
  counts[0] = 1;
  for (let i = 0; i < n; i++) {
    const w = Math.round(ranks[i]! * 2);
    for (let k = Math.min(i + 1, n1); k >= 1; k--) {
      const row = k * width;
      const prev = (k - 1) * width;
      for (let s = maxSum; s >= w; s--) counts[row + s]! += counts[prev + s - w]!;
    }
  }
  const observed = Math.round(r1 * 2);
  const row = n1 * width;
  let total = 0;
  let tail = 0;
  let top = 0;
  for (let s = 0; s <= maxSum; s++) {
    const c = counts[row + s]!;
    total += c;
    if (s >= observed) tail += c;
    if (c > 0) top = c;
  }
  return { p: clamp01(tail / total), minP: top / total };
}

/** Median of the values (the mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
