import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fisherGreater, lnGamma, mannWhitneyGreater, median, normalUpperTail } from '../../dist/core/canary-stats.js';

// Reference values: hand-computed where marked, otherwise scipy.stats 1.x (fisher_exact / mannwhitneyu,
// alternative='greater'; method='asymptotic' for the normal approximation, 'exact' for tie-free exact).
const RUNS = { seed: 20, numRuns: 200 } as const;

describe('lnGamma and the normal tail', () => {
  it('gives log factorials and normal quantiles', () => {
    expect(lnGamma(1)).toBeCloseTo(0, 12);
    expect(lnGamma(11)).toBeCloseTo(Math.log(3628800), 12);
    expect(lnGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
    // ln(10000!) by Stirling's series, to 9 digits.
    const n = 10_000;
    expect(lnGamma(n + 1)).toBeCloseTo(n * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI * n) + 1 / (12 * n), 6);
    expect(normalUpperTail(1.959964)).toBeCloseTo(0.025, 7);
    expect(normalUpperTail(0)).toBeCloseTo(0.5, 7);
    expect(normalUpperTail(-3.090232)).toBeCloseTo(0.999, 7);
    expect(normalUpperTail(3.090232) / 0.001).toBeCloseTo(1, 5);
  });
});

describe('fisherGreater', () => {
  it('matches hand-computed and scipy values', () => {
    // Hand: P(X ≥ 3), N = 8, 4 drawn, 4 marked: (C(4,3)·C(4,1) + C(4,4)) / C(8,4) = 17/70.
    expect(fisherGreater([[3, 1], [1, 3]])).toBeCloseTo(17 / 70, 12);
    expect(fisherGreater([[10, 10], [9, 171]])).toBeCloseTo(4.850292767484136e-7, 15);
    expect(fisherGreater([[7, 13], [30, 470]]) / 0.00020512570732354765).toBeCloseTo(1, 9);
    expect(fisherGreater([[3, 17], [20, 480]])).toBeCloseTo(0.05265294696550608, 10);
    expect(fisherGreater([[500, 9500], [400, 9600]])).toBeCloseTo(0.0003626486086879051, 10);
    expect(fisherGreater([[5000, 5000], [4900, 5100]])).toBeCloseTo(0.08073464575422912, 9);
  });

  it('does not overflow on very large tables', () => {
    const p = fisherGreater([[60_000, 940_000], [50_000, 950_000]]);
    expect(p).toBeGreaterThanOrEqual(0);
    expect(p).toBeLessThan(1e-100);
    expect(fisherGreater([[50_000, 950_000], [50_000, 950_000]])).toBeGreaterThan(0.49);
  });

  it('gives 1 without evidence and when the canary fails least', () => {
    expect(fisherGreater([[0, 0], [5, 5]])).toBe(1);
    expect(fisherGreater([[0, 10], [0, 0]])).toBe(1);
    expect(fisherGreater([[0, 10], [5, 5]])).toBeCloseTo(1, 12);
  });

  it('refuses counts that are not non-negative integers', () => {
    expect(() => fisherGreater([[-1, 3], [1, 3]])).toThrow(/canary failures/);
    expect(() => fisherGreater([[1, 3], [1.5, 3]])).toThrow(/stable failures/);
  });

  const table = fc.tuple(fc.nat(40), fc.nat(40), fc.nat(40), fc.nat(40));

  it('is a p-value in [0, 1]; swapping the roles complements it up to the point mass', () => {
    fc.assert(
      fc.property(table, ([a, b, c, d]) => {
        const p = fisherGreater([[a, b], [c, d]]);
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThanOrEqual(1);
        // P(X ≥ a) + P(X ≤ a) = 1 + P(X = a) ≥ 1, and P(X ≤ a) is stable's "greater" test with rows swapped.
        const q = fisherGreater([[c, d], [a, b]]);
        expect(p + q).toBeGreaterThanOrEqual(1 - 1e-9);
      }),
      RUNS,
    );
  });

  it('shrinks when the canary fails more (one success turned into a failure)', () => {
    fc.assert(
      fc.property(table, ([a, b, c, d]) => {
        fc.pre(b > 0);
        expect(fisherGreater([[a + 1, b - 1], [c, d]])).toBeLessThanOrEqual(fisherGreater([[a, b], [c, d]]) + 1e-12);
      }),
      RUNS,
    );
  });
});

/** P(rank sum of canary ≥ observed) by enumerating every split of the pooled values: the definition. */
function bruteForce(canary: number[], stable: number[]): number {
  const pool = [...canary, ...stable];
  const rank = (v: number): number => pool.filter((w) => w < v).length + (pool.filter((w) => w === v).length + 1) / 2;
  const ranks = pool.map(rank);
  const observed = canary.reduce((s, v) => s + rank(v), 0);
  let hits = 0;
  let total = 0;
  const n1 = canary.length;
  const walk = (i: number, k: number, sum: number): void => {
    if (k === n1) {
      total++;
      if (sum >= observed - 1e-9) hits++;
      return;
    }
    if (pool.length - i < n1 - k) return;
    walk(i + 1, k + 1, sum + ranks[i]!);
    walk(i + 1, k, sum);
  };
  walk(0, 0, 0);
  return hits / total;
}

describe('mannWhitneyGreater', () => {
  it('matches a hand-computed small example', () => {
    // Canary [3, 4, 5] above stable [1, 2]: U = 6 (all pairs), p = 1 / C(5, 3) = 0.1, the smallest possible.
    const r = mannWhitneyGreater([3, 4, 5], [1, 2]);
    expect(r).toMatchObject({ u: 6, method: 'exact', n1: 3, n2: 2 });
    expect(r.p).toBeCloseTo(0.1, 12);
    expect(r.minP).toBeCloseTo(0.1, 12);
    // Canary [1, 4], stable [2, 3]: U = 2 of 4; splits of 4 ranks with a canary rank sum ≥ 5: {1,4},{2,3},{2,4},{3,4} → 4/6.
    expect(mannWhitneyGreater([1, 4], [2, 3]).p).toBeCloseTo(4 / 6, 12);
  });

  it('matches scipy: exact without ties, normal with ties', () => {
    const stable = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(mannWhitneyGreater(stable.map((x) => x + 0.5), stable)).toMatchObject({ u: 55, method: 'exact' });
    expect(mannWhitneyGreater(stable.map((x) => x + 0.5), stable).p).toBeCloseTo(0.36968217540972964, 12);
    const a = Array.from({ length: 40 }, (_, i) => i);
    const normal = mannWhitneyGreater(a.map((x) => x + 5), a);
    expect(normal).toMatchObject({ u: 987.5, method: 'normal' });
    expect(normal.p).toBeCloseTo(0.035947886709456714, 7);
    const x = Array.from({ length: 7 }, () => [1, 2, 2, 3, 3, 3, 4, 5, 5, 6]).flat();
    const y = Array.from({ length: 7 }, () => [1, 1, 2, 2, 3, 3, 4, 4, 4, 5]).flat();
    const tied = mannWhitneyGreater(x, y);
    expect(tied.u).toBe(2866.5);
    expect(tied.p).toBeCloseTo(0.038527602633165396, 7);
  });

  it('is exact with ties: equal to enumerating every split', () => {
    const small = fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 7 });
    fc.assert(
      fc.property(small, small, (canary, stable) => {
        expect(mannWhitneyGreater(canary, stable).p).toBeCloseTo(bruteForce(canary, stable), 10);
      }),
      { seed: 20, numRuns: 150 },
    );
  });

  it('says when samples are too small to conclude: minP, and p = 1 for an empty sample or all ties', () => {
    expect(mannWhitneyGreater([], [1, 2])).toMatchObject({ p: 1, minP: 1, method: 'none' });
    expect(mannWhitneyGreater([5, 6], [1, 2, 3]).minP).toBeCloseTo(0.1, 12); // 1 / C(5, 2)
    const tied = mannWhitneyGreater(Array(50).fill(3), Array(50).fill(3));
    expect(tied.p).toBe(1);
    expect(tied.minP).toBe(1);
  });

  it('is in [0, 1] and ≥ minP', () => {
    const sample = fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 45 });
    fc.assert(
      fc.property(sample, sample, (canary, stable) => {
        const r = mannWhitneyGreater(canary, stable);
        expect(r.p).toBeGreaterThanOrEqual(0);
        expect(r.p).toBeLessThanOrEqual(1);
        expect(r.p).toBeGreaterThanOrEqual(r.minP - 1e-12);
      }),
      RUNS,
    );
  });

  it('grows no smaller when a canary value gets faster (distinct values: the null distribution stays put)', () => {
    // With ties, moving a value can change the tie pattern and so the exact conditional distribution.
    const pool = fc.uniqueArray(fc.integer({ min: 0, max: 10_000 }), { minLength: 2, maxLength: 120 });
    fc.assert(
      fc.property(pool, fc.nat(), fc.nat(), (values, cut, pick) => {
        const n1 = 1 + (cut % (values.length - 1));
        const canary = values.slice(0, n1);
        const stable = values.slice(n1);
        const faster = canary.map((v, j) => (j === pick % n1 ? -1 - v : v));
        expect(mannWhitneyGreater(faster, stable).p).toBeGreaterThanOrEqual(mannWhitneyGreater(canary, stable).p - 1e-12);
      }),
      RUNS,
    );
  });

  it('is about 1/2 for identical samples and symmetric under swapping (no ties, normal path)', () => {
    const a = Array.from({ length: 100 }, (_, i) => i * 2);
    const b = a.map((v) => v + 1);
    const ab = mannWhitneyGreater(a, b).p;
    const ba = mannWhitneyGreater(b, a).p;
    // With the continuity correction the two one-sided p-values add up to a bit over 1.
    expect(ab + ba).toBeGreaterThan(1);
    expect(ab + ba).toBeLessThan(1.01);
  });

  it('refuses non-finite durations', () => {
    expect(() => mannWhitneyGreater([Number.NaN], [1])).toThrow(/canary durations/);
  });
});

describe('median', () => {
  it('is the middle value, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});
