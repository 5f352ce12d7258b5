// The sticky traffic split of a rollout: a task's bucket comes from a hash of the rollout and its sticky
// key (its key, group or id), so the same key keeps its version while the weight holds, and raising the
// weight only moves buckets from stable to canary (LaunchDarkly's percentage rollouts work the same way).
import { createHash } from 'node:crypto';

/** Buckets per rollout: a weight is honoured to 0.01 percentage point. */
export const BUCKETS = 10_000;

/**
 * The task's bucket in [0, BUCKETS): the first 64 bits of sha256(`${rolloutId}:${stickyKey}`) (UTF-8) mod
 * BUCKETS. sha256 because core already hashes with node:crypto (cache keys); the rollout id salts it so
 * two rollouts of one agent split tasks independently. The modulo bias is 10⁴ / 2⁶⁴: nil.
 */
export function bucketOf(rolloutId: string, stickyKey: string): number {
  const digest = createHash('sha256').update(`${rolloutId}:${stickyKey}`, 'utf8').digest();
  return Number(digest.readBigUInt64BE(0) % BigInt(BUCKETS));
}

/**
 * The version of a bucket at a canary weight in percent (0..100, fractions allowed): canary iff
 * bucket < weight × 100. Monotone: a bucket canary at some weight is canary at every higher weight.
 */
export function versionFor(bucket: number, weightPercent: number): 'canary' | 'stable' {
  if (!Number.isInteger(bucket) || bucket < 0 || bucket >= BUCKETS) throw new RangeError(`bucket must be an integer in [0, ${BUCKETS}) (got ${bucket})`);
  if (!(weightPercent >= 0 && weightPercent <= 100)) throw new RangeError(`weightPercent must be in [0, 100] (got ${weightPercent})`);
  return bucket < Math.round(weightPercent * (BUCKETS / 100)) ? 'canary' : 'stable';
}
