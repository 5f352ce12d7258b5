/**
 * Seeded lognormal latencies for the `io` workload. Drawn once in the main process and handed to
 * every system as task input, so every system waits out exactly the same sequence; a seeded
 * generator keeps the sequence the same from one bench invocation to the next as well.
 */

/** mulberry32: a tiny 32-bit PRNG, good enough for bench inputs; returns values in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws by Box–Muller; both values of each pair are used, so none is wasted. */
export function standardNormal(uniform: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return z;
    }
    // 1 − u lies in (0, 1], so the logarithm is finite.
    const r = Math.sqrt(-2 * Math.log(1 - uniform()));
    const theta = 2 * Math.PI * uniform();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
}

export interface LognormalSpec {
  /** Median of the distribution, e.g. 200 ms. */
  median: number;
  /** Standard deviation of the underlying normal (the log of the values). */
  sigma: number;
  seed: number;
}

/** `n` lognormal draws: median × e^(sigma·z). */
export function lognormalSample(n: number, spec: LognormalSpec): number[] {
  const z = standardNormal(mulberry32(spec.seed));
  return Array.from({ length: n }, () => spec.median * Math.exp(spec.sigma * z()));
}
