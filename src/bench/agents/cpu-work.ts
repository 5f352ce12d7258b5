/**
 * The fixed unit of CPU work behind bench workload `cpu`, shared by the Troupe agent
 * (agents/cpu.ts), the raw Piscina worker (workers/piscina-cpu.ts) and the in-process row, so that
 * every system runs exactly the same computation.
 */

/**
 * xorshift32 steps folded into an FNV-1a hash per task: about 5 ms on the bench machine (2 cores,
 * ~1.8 ns a round). Registers only, no memory traffic, so that threads contend for cores and not
 * for caches or memory bandwidth: the ideal speed-up is the number of cores.
 */
export const CPU_ROUNDS = 3_000_000;

/**
 * Deterministic work fixed by `seed`: returns a 32-bit checksum that depends on every round, so
 * the caller can verify it and the engine cannot skip or hoist the loop.
 */
export function cpuWork(seed: number, rounds: number = CPU_ROUNDS): number {
  // xorshift32 must never hold 0; the golden-ratio constant spreads small seeds.
  let x = (seed ^ 0x9e3779b9) | 0 || 1;
  let h = 0x811c9dc5 | 0; // FNV-1a offset basis
  for (let i = 0; i < rounds; i += 1) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    h = Math.imul(h ^ (x & 0xff), 0x01000193); // FNV-1a prime
  }
  return h >>> 0;
}
