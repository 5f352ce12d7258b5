/**
 * Errors a handler throws to steer the retry policy. They are recognised by `name` after crossing
 * a thread or process boundary, so a copy of Troupe bundled into an agent module works too.
 */

/**
 * Fails the task now, without retrying it (bad input, say). It goes to dead letters and does not
 * count against a circuit breaker (by default).
 *
 * @example
 * if (!input.url) throw new UnrecoverableError('input.url is required');
 */
export class UnrecoverableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnrecoverableError';
  }
}

/**
 * Retries the task after `retryAfterMs` (an HTTP 429's Retry-After, say) and holds back every
 * task of the same resources (or of the same agent, when the task has none) for that long. It does
 * not use up one of the task's attempts (the start cap still bounds it) nor count against a breaker.
 *
 * @example
 * if (res.status === 429) throw new RetryAfterError(Number(res.headers.get('retry-after')) * 1000);
 */
export class RetryAfterError extends Error {
  readonly retryAfterMs: number;

  constructor(retryAfterMs: number, message = `retry after ${retryAfterMs} ms`) {
    super(message);
    if (!Number.isFinite(retryAfterMs) || retryAfterMs < 0) {
      throw new TypeError(`RetryAfterError: retryAfterMs must be a finite number >= 0 (got ${String(retryAfterMs)})`);
    }
    this.name = 'RetryAfterError';
    this.retryAfterMs = retryAfterMs;
  }
}
