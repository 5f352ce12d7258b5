import type { SerializedError } from '../../core/errors.js';
import type { Backoff, BackoffFn, RetryPolicy } from '../../core/policy.js';

/**
 * Pure retry decisions for agent runs: no I/O, no clock, no global randomness. Time and
 * randomness come in as parameters so every decision is reproducible in tests.
 */

export type { Backoff, BackoffFn, RetryPolicy };

export type RetryDecision =
  | {
      action: 'retry';
      delayMs: number;
      /** false for RetryAfterError: it does not use up an attempt */
      countsAsAttempt: boolean;
    }
  | { action: 'dead'; reason: 'unrecoverable' | 'attempts-exhausted' | 'starts-exhausted' };

/** Any value → a usable delay: finite and >= 0 are rounded to whole ms, anything else becomes 0. */
function toDelayMs(ms: number): number {
  return Number.isFinite(ms) && ms >= 0 ? Math.round(ms) : 0;
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

/**
 * Runs user code, which may throw or return garbage. Policy code must never crash the runtime,
 * so a throwing function or a non-finite/negative result means "retry at once" (0 ms).
 */
function customDelay(fn: BackoffFn, failures: number, error: SerializedError): number {
  try {
    const ms = fn(failures, error);
    return typeof ms === 'number' ? toDelayMs(ms) : 0;
  } catch {
    return 0;
  }
}

/** Backoff delay after `failures` failed attempts: initialMs * factor^(failures-1), capped at maxMs, then jitter applied with random() in [0,1). Never negative, always finite, integer ms (Math.round). */
export function backoffDelay(
  backoff: Backoff | BackoffFn,
  failures: number,
  error: SerializedError,
  random: () => number,
): number {
  if (typeof backoff === 'function') return customDelay(backoff, failures, error);
  // The cap comes before the jitter, so maxMs bounds the delay however many failures there were.
  const exponent = Math.max(0, failures - 1);
  const capped = Math.min(backoff.initialMs * backoff.factor ** exponent, backoff.maxMs);
  // random() in [0,1) makes the factor range over (1-jitter, 1]: the delay stays in [d*(1-jitter), d].
  const scale = 1 - clamp01(backoff.jitter) * clamp01(random());
  return toDelayMs(capped * scale);
}

/**
 * What to do after a failed run. `failures` = failed attempts so far INCLUDING this one (those that counted),
 * `starts` = runs started so far including this one.
 * - error.name === 'UnrecoverableError', or a result that cannot be kept (TROUPE_UNCLONEABLE_RESULT) → dead 'unrecoverable'
 * - starts >= maxStarts → dead 'starts-exhausted'
 * - error.name === 'RetryAfterError' with a finite error.retryAfterMs >= 0 → retry after exactly retryAfterMs, countsAsAttempt false (even if failures >= attempts: it does not count)
 * - failures >= attempts → dead 'attempts-exhausted'
 * - else retry after backoffDelay(policy.backoff, failures, error, random), countsAsAttempt true
 *
 * Calling convention: the caller passes `failures` as if this failure counted (previous count + 1)
 * and keeps that increment only when the decision says `countsAsAttempt: true`. For a
 * RetryAfterError the attempts limit is therefore not consulted at all; `maxStarts` is what bounds
 * an agent that keeps asking to be retried later.
 * A RetryAfterError without a valid retryAfterMs is treated as an ordinary failure.
 * A custom BackoffFn that throws or returns a non-finite/negative number counts as 0 ms: this
 * function never throws, since policy code must never crash the runtime.
 */
export function decideRetry(
  policy: RetryPolicy,
  failed: { failures: number; starts: number; error: SerializedError },
  random: () => number,
): RetryDecision {
  const { failures, starts, error } = failed;
  // A result that cannot be kept would be the same on every attempt.
  if (error.name === 'UnrecoverableError' || error.code === 'TROUPE_UNCLONEABLE_RESULT') return { action: 'dead', reason: 'unrecoverable' };
  if (starts >= policy.maxStarts) return { action: 'dead', reason: 'starts-exhausted' };
  const after = error.retryAfterMs;
  if (error.name === 'RetryAfterError' && typeof after === 'number' && Number.isFinite(after) && after >= 0) {
    return { action: 'retry', delayMs: after, countsAsAttempt: false };
  }
  if (failures >= policy.attempts) return { action: 'dead', reason: 'attempts-exhausted' };
  return { action: 'retry', delayMs: backoffDelay(policy.backoff, failures, error, random), countsAsAttempt: true };
}
