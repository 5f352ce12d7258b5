import { describe, expect, it, vi } from 'vitest';
import {
  backoffDelay,
  decideRetry,
  type Backoff,
  type BackoffFn,
  type RetryPolicy,
} from '../../dist/actors/agent/retry-policy.js';
import type { SerializedError } from '../../dist/core/errors.js';

const ERR: SerializedError = { name: 'Error', message: 'boom' };
const UNRECOVERABLE: SerializedError = { name: 'UnrecoverableError', message: 'bad input' };
const retryAfter = (ms: number): SerializedError => ({ name: 'RetryAfterError', message: 'later', retryAfterMs: ms });

const NO_JITTER: Backoff = { initialMs: 100, factor: 2, maxMs: 1000, jitter: 0 };
const ZERO = (): number => 0;
const ALMOST_ONE = (): number => 0.999999;
const NEVER = (): number => {
  throw new Error('random() must not be called here');
};

function policy(over: Partial<RetryPolicy> = {}): RetryPolicy {
  return { attempts: 3, backoff: NO_JITTER, maxStarts: 10, ...over };
}

describe('backoffDelay', () => {
  it('grows exponentially from initialMs: initialMs * factor^(failures-1)', () => {
    const delays = [1, 2, 3, 4].map((n) => backoffDelay(NO_JITTER, n, ERR, ZERO));
    expect(delays).toEqual([100, 200, 400, 800]);
    const triple: Backoff = { initialMs: 10, factor: 3, maxMs: 1e9, jitter: 0 };
    expect([1, 2, 3].map((n) => backoffDelay(triple, n, ERR, ZERO))).toEqual([10, 30, 90]);
  });

  it('caps the delay at maxMs, even for huge failure counts', () => {
    expect(backoffDelay(NO_JITTER, 5, ERR, ZERO)).toBe(1000); // 1600 capped
    expect(backoffDelay(NO_JITTER, 10_000, ERR, ZERO)).toBe(1000); // 2^9999 overflows to Infinity
  });

  it('with jitter 0 the delay is exact whatever random() returns', () => {
    expect(backoffDelay(NO_JITTER, 2, ERR, ZERO)).toBe(200);
    expect(backoffDelay(NO_JITTER, 2, ERR, ALMOST_ONE)).toBe(200);
    expect(backoffDelay(NO_JITTER, 2, ERR, () => 0.5)).toBe(200);
  });

  it('with jitter, random()=0 gives the full delay and random()→1 the lower bound d*(1-jitter)', () => {
    const b: Backoff = { initialMs: 1000, factor: 2, maxMs: 10_000, jitter: 0.5 };
    expect(backoffDelay(b, 1, ERR, ZERO)).toBe(1000);
    expect(backoffDelay(b, 1, ERR, ALMOST_ONE)).toBe(500); // 1000 * (1 - 0.4999995), rounded
    expect(backoffDelay(b, 1, ERR, () => 0.5)).toBe(750);
    // Jitter applies after the cap: the capped 10 000 is jittered down, never above it.
    expect(backoffDelay(b, 20, ERR, ZERO)).toBe(10_000);
    expect(backoffDelay(b, 20, ERR, ALMOST_ONE)).toBe(5000);
  });

  it('stays within [d*(1-jitter), d] and is an integer across random values', () => {
    const b: Backoff = { initialMs: 333, factor: 1.7, maxMs: 5000, jitter: 0.3 };
    for (let failures = 1; failures <= 8; failures++) {
      const d = Math.min(333 * 1.7 ** (failures - 1), 5000);
      for (const r of [0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999999]) {
        const ms = backoffDelay(b, failures, ERR, () => r);
        expect(Number.isInteger(ms)).toBe(true);
        expect(ms).toBeGreaterThanOrEqual(Math.floor(d * 0.7));
        expect(ms).toBeLessThanOrEqual(Math.ceil(d));
      }
    }
  });

  it('full jitter (1) can go down to 0 but never below', () => {
    const b: Backoff = { ...NO_JITTER, jitter: 1 };
    expect(backoffDelay(b, 1, ERR, ALMOST_ONE)).toBe(0);
    expect(backoffDelay(b, 1, ERR, ZERO)).toBe(100);
  });

  it('rounds to whole milliseconds', () => {
    expect(backoffDelay({ initialMs: 10.4, factor: 1, maxMs: 100, jitter: 0 }, 1, ERR, ZERO)).toBe(10);
    expect(backoffDelay({ initialMs: 10.6, factor: 1, maxMs: 100, jitter: 0 }, 1, ERR, ZERO)).toBe(11);
  });

  it('calls a custom function with (failures, error) and returns its delay', () => {
    const fn = vi.fn<BackoffFn>((failures) => failures * 7);
    expect(backoffDelay(fn, 3, ERR, NEVER)).toBe(21);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(fn).toHaveBeenCalledWith(3, ERR);
  });

  it('treats a custom function that throws, or returns NaN, Infinity or a negative number, as 0 ms', () => {
    const throwing: BackoffFn = () => {
      throw new Error('user bug');
    };
    expect(backoffDelay(throwing, 1, ERR, ZERO)).toBe(0);
    expect(backoffDelay(() => NaN, 1, ERR, ZERO)).toBe(0);
    expect(backoffDelay(() => Infinity, 1, ERR, ZERO)).toBe(0);
    expect(backoffDelay(() => -5, 1, ERR, ZERO)).toBe(0);
    expect(backoffDelay((() => 'soon') as unknown as BackoffFn, 1, ERR, ZERO)).toBe(0);
  });
});

describe('decideRetry', () => {
  it('retries an ordinary failure after the backoff delay, counting it as an attempt', () => {
    expect(decideRetry(policy(), { failures: 1, starts: 1, error: ERR }, ZERO)).toEqual({
      action: 'retry',
      delayMs: 100,
      countsAsAttempt: true,
    });
    expect(decideRetry(policy(), { failures: 2, starts: 2, error: ERR }, ZERO)).toEqual({
      action: 'retry',
      delayMs: 200,
      countsAsAttempt: true,
    });
  });

  it('passes the random source through to the backoff jitter', () => {
    const p = policy({ backoff: { initialMs: 1000, factor: 2, maxMs: 10_000, jitter: 0.5 } });
    const d = decideRetry(p, { failures: 1, starts: 1, error: ERR }, ALMOST_ONE);
    expect(d).toEqual({ action: 'retry', delayMs: 500, countsAsAttempt: true });
  });

  it('gives up when the failures reach attempts', () => {
    expect(decideRetry(policy(), { failures: 3, starts: 3, error: ERR }, ZERO)).toEqual({
      action: 'dead',
      reason: 'attempts-exhausted',
    });
  });

  it('attempts: 1 means no retry at all', () => {
    expect(decideRetry(policy({ attempts: 1 }), { failures: 1, starts: 1, error: ERR }, ZERO)).toEqual({
      action: 'dead',
      reason: 'attempts-exhausted',
    });
  });

  it('an UnrecoverableError is dead at once, even with attempts and starts to spare', () => {
    const p = policy({ attempts: 100, maxStarts: 100 });
    expect(decideRetry(p, { failures: 1, starts: 1, error: UNRECOVERABLE }, ZERO)).toEqual({
      action: 'dead',
      reason: 'unrecoverable',
    });
  });

  it('unrecoverable beats the starts and attempts limits as the reason', () => {
    const p = policy({ attempts: 1, maxStarts: 1 });
    expect(decideRetry(p, { failures: 5, starts: 5, error: UNRECOVERABLE }, ZERO)).toEqual({
      action: 'dead',
      reason: 'unrecoverable',
    });
  });

  it('gives up when starts reach maxStarts, even with attempts to spare', () => {
    const p = policy({ attempts: 100, maxStarts: 4 });
    expect(decideRetry(p, { failures: 1, starts: 4, error: ERR }, ZERO)).toEqual({
      action: 'dead',
      reason: 'starts-exhausted',
    });
    expect(decideRetry(p, { failures: 1, starts: 3, error: ERR }, ZERO).action).toBe('retry');
  });

  it('the starts cap beats RetryAfterError', () => {
    const p = policy({ maxStarts: 2 });
    expect(decideRetry(p, { failures: 1, starts: 2, error: retryAfter(50) }, ZERO)).toEqual({
      action: 'dead',
      reason: 'starts-exhausted',
    });
  });

  it('RetryAfterError retries after exactly retryAfterMs without using up an attempt', () => {
    expect(decideRetry(policy(), { failures: 1, starts: 1, error: retryAfter(1234) }, ALMOST_ONE)).toEqual({
      action: 'retry',
      delayMs: 1234,
      countsAsAttempt: false,
    });
    expect(decideRetry(policy(), { failures: 1, starts: 1, error: retryAfter(0) }, ZERO)).toEqual({
      action: 'retry',
      delayMs: 0,
      countsAsAttempt: false,
    });
  });

  it('RetryAfterError ignores the attempts limit', () => {
    const p = policy({ attempts: 1 });
    expect(decideRetry(p, { failures: 1, starts: 1, error: retryAfter(10) }, ZERO)).toEqual({
      action: 'retry',
      delayMs: 10,
      countsAsAttempt: false,
    });
    expect(decideRetry(p, { failures: 7, starts: 7, error: retryAfter(10) }, ZERO).action).toBe('retry');
  });

  it('a RetryAfterError without a usable retryAfterMs is an ordinary failure', () => {
    const missing: SerializedError = { name: 'RetryAfterError', message: 'later' };
    expect(decideRetry(policy(), { failures: 1, starts: 1, error: missing }, ZERO)).toEqual({
      action: 'retry',
      delayMs: 100,
      countsAsAttempt: true,
    });
    expect(decideRetry(policy(), { failures: 1, starts: 1, error: retryAfter(-1) }, ZERO)).toMatchObject({
      countsAsAttempt: true,
    });
    expect(decideRetry(policy(), { failures: 3, starts: 3, error: retryAfter(NaN) }, ZERO)).toEqual({
      action: 'dead',
      reason: 'attempts-exhausted',
    });
  });

  it('retryAfterMs on another error name does not skip the attempts rule', () => {
    const err: SerializedError = { name: 'Error', message: 'x', retryAfterMs: 5 };
    expect(decideRetry(policy(), { failures: 1, starts: 1, error: err }, ZERO)).toEqual({
      action: 'retry',
      delayMs: 100,
      countsAsAttempt: true,
    });
  });

  it('uses a custom backoff with the failures count and error, and survives one that throws', () => {
    const fn = vi.fn<BackoffFn>((failures, error) => (error.code === 'SLOW' ? 5000 : failures));
    const slow: SerializedError = { ...ERR, code: 'SLOW' };
    expect(decideRetry(policy({ backoff: fn }), { failures: 2, starts: 2, error: slow }, ZERO)).toEqual({
      action: 'retry',
      delayMs: 5000,
      countsAsAttempt: true,
    });
    expect(fn).toHaveBeenCalledWith(2, slow);
    const throwing: BackoffFn = () => {
      throw new Error('user bug');
    };
    expect(decideRetry(policy({ backoff: throwing }), { failures: 1, starts: 1, error: ERR }, ZERO)).toEqual({
      action: 'retry',
      delayMs: 0,
      countsAsAttempt: true,
    });
  });

  it('does not call the custom backoff when the run is dead', () => {
    const fn = vi.fn<BackoffFn>(() => 1);
    decideRetry(policy({ backoff: fn }), { failures: 3, starts: 3, error: ERR }, ZERO);
    decideRetry(policy({ backoff: fn }), { failures: 1, starts: 1, error: UNRECOVERABLE }, ZERO);
    expect(fn).not.toHaveBeenCalled();
  });

  it('a full run: two counted failures, a RetryAfter in between, then dead on the third', () => {
    const p = policy({ attempts: 3 });
    let failures = 0;
    let starts = 0;
    const errors = [ERR, retryAfter(70), ERR, ERR];
    const out: string[] = [];
    for (const error of errors) {
      starts += 1;
      // Calling convention: pass failures as if this one counted, keep it only if it did.
      const d = decideRetry(p, { failures: failures + 1, starts, error }, ZERO);
      if (d.action === 'dead') {
        out.push(`dead:${d.reason}`);
        break;
      }
      if (d.countsAsAttempt) failures += 1;
      out.push(`retry:${d.delayMs}`);
    }
    expect(out).toEqual(['retry:100', 'retry:70', 'retry:200', 'dead:attempts-exhausted']);
  });
});
