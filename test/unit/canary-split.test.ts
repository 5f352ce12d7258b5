import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BUCKETS, bucketOf, versionFor } from '../../dist/core/canary-split.js';

const RUNS = { seed: 20, numRuns: 300 } as const;

describe('bucketOf', () => {
  it('is an integer in [0, 10000), the same for the same key, salted by the rollout', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (rollout, key) => {
        const b = bucketOf(rollout, key);
        expect(Number.isInteger(b) && b >= 0 && b < BUCKETS).toBe(true);
        expect(bucketOf(rollout, key)).toBe(b);
      }),
      RUNS,
    );
    // A fixed value pins the hash (sha256 of "r1:task-1", first 8 bytes mod 10,000): routing must not move across releases.
    expect(bucketOf('r1', 'task-1')).toBe(7056); // python3: int.from_bytes(sha256(b'r1:task-1').digest()[:8], 'big') % 10000
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    const same = keys.filter((k) => bucketOf('r1', k) === bucketOf('r2', k)).length;
    expect(same).toBeLessThan(5); // independent splits: about 200 / 10,000 coincide by chance
  });

  it('hashes the UTF-8 bytes: non-ASCII keys are told apart', () => {
    expect(bucketOf('r', 'é')).not.toBe(bucketOf('r', 'e\u0301'));
  });
});

describe('versionFor', () => {
  it('is monotone: raising the weight only moves stable to canary', () => {
    fc.assert(
      fc.property(fc.nat(BUCKETS - 1), fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 0, max: 100, noNaN: true }), (b, w1, w2) => {
        const [lo, hi] = w1 <= w2 ? [w1, w2] : [w2, w1];
        if (versionFor(b, lo) === 'canary') expect(versionFor(b, hi)).toBe('canary');
      }),
      RUNS,
    );
    expect(versionFor(0, 0)).toBe('stable');
    expect(versionFor(BUCKETS - 1, 100)).toBe('canary');
    expect(versionFor(999, 10)).toBe('canary');
    expect(versionFor(1000, 10)).toBe('stable');
  });

  it('gives the weight as the share over 100,000 keys (±1 point), the same version per key at a step', () => {
    const buckets = Array.from({ length: 100_000 }, (_, i) => bucketOf('rollout-7', `task-${i}`));
    for (const weight of [10, 25, 50, 75]) {
      const canary = buckets.filter((b) => versionFor(b, weight) === 'canary').length;
      expect(Math.abs((canary / buckets.length) * 100 - weight)).toBeLessThan(1);
    }
    // Every key canary at 25 stays canary at 50; the same key gives the same version when asked again.
    const at25 = buckets.map((b) => versionFor(b, 25));
    expect(buckets.every((b, i) => at25[i] === 'stable' || versionFor(b, 50) === 'canary')).toBe(true);
    expect(buckets.every((_, i) => versionFor(bucketOf('rollout-7', `task-${i}`), 25) === at25[i])).toBe(true);
  });

  it('refuses a bucket or weight out of range', () => {
    expect(() => versionFor(BUCKETS, 50)).toThrow(/bucket/);
    expect(() => versionFor(1.5, 50)).toThrow(/bucket/);
    expect(() => versionFor(5, 101)).toThrow(/weightPercent/);
    expect(() => versionFor(5, Number.NaN)).toThrow(/weightPercent/);
  });
});
