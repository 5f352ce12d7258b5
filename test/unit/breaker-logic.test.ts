import { describe, expect, it } from 'vitest';
import { CLOSED, stepBreaker, type Breaker, type BreakerConfig, type BreakerEvent } from '../../dist/actors/breaker/breaker-logic.js';

const CFG: BreakerConfig = { failureThreshold: 3, resetTimeoutMs: 1000 };
const success: BreakerEvent = { type: 'success' };
const failure: BreakerEvent = { type: 'failure' };
const tick: BreakerEvent = { type: 'tick' };

/** Applies events in order, each with its time; returns the final breaker. */
function steps(b: Breaker, events: Array<[BreakerEvent, number]>, cfg: BreakerConfig = CFG): Breaker {
  return events.reduce((acc, [e, now]) => stepBreaker(acc, e, now, cfg), b);
}

const open = (openedAt: number, consecutiveFailures = 3): Breaker => ({ state: 'open', consecutiveFailures, openedAt });
const halfOpen = (openedAt: number, consecutiveFailures = 3): Breaker => ({ state: 'half-open', consecutiveFailures, openedAt });

describe('stepBreaker: closed', () => {
  it('CLOSED is closed with no failures', () => {
    expect(CLOSED).toEqual({ state: 'closed', consecutiveFailures: 0, openedAt: null });
  });

  it('counts consecutive failures below the threshold and stays closed', () => {
    const b = steps(CLOSED, [[failure, 1], [failure, 2]]);
    expect(b).toEqual({ state: 'closed', consecutiveFailures: 2, openedAt: null });
  });

  it('opens on the threshold-th consecutive failure, remembering when', () => {
    const b = steps(CLOSED, [[failure, 1], [failure, 2], [failure, 7]]);
    expect(b).toEqual({ state: 'open', consecutiveFailures: 3, openedAt: 7 });
  });

  it('a success resets the count: failures must be consecutive', () => {
    const b = steps(CLOSED, [[failure, 1], [failure, 2], [success, 3], [failure, 4], [failure, 5]]);
    expect(b).toEqual({ state: 'closed', consecutiveFailures: 2, openedAt: null });
  });

  it('threshold 1 opens on the first failure', () => {
    const b = stepBreaker(CLOSED, failure, 42, { failureThreshold: 1, resetTimeoutMs: 10 });
    expect(b).toEqual({ state: 'open', consecutiveFailures: 1, openedAt: 42 });
  });

  it('a tick does nothing to a closed breaker, however late', () => {
    const b: Breaker = { state: 'closed', consecutiveFailures: 2, openedAt: null };
    expect(stepBreaker(b, tick, 1e12, CFG)).toEqual(b);
  });

  it('a success on a clean closed breaker stays closed', () => {
    expect(stepBreaker(CLOSED, success, 5, CFG)).toEqual(CLOSED);
  });

  it('does not modify the breaker it is given', () => {
    const b: Breaker = Object.freeze({ state: 'closed', consecutiveFailures: 2, openedAt: null });
    expect(() => stepBreaker(b, failure, 1, CFG)).not.toThrow();
    expect(b.consecutiveFailures).toBe(2);
    expect(CLOSED).toEqual({ state: 'closed', consecutiveFailures: 0, openedAt: null });
  });
});

describe('stepBreaker: open', () => {
  it('stays open on a tick before resetTimeoutMs', () => {
    expect(stepBreaker(open(100), tick, 1099, CFG)).toEqual(open(100));
  });

  it('turns half-open on a tick once resetTimeoutMs has passed (boundary included)', () => {
    expect(stepBreaker(open(100), tick, 1100, CFG)).toEqual(halfOpen(100));
    expect(stepBreaker(open(100), tick, 5000, CFG).state).toBe('half-open');
  });

  it('does not turn half-open by time alone: only a tick moves it', () => {
    // A success or failure long after the timeout keeps it open.
    expect(stepBreaker(open(100), success, 5000, CFG)).toEqual(open(100));
    expect(stepBreaker(open(100), failure, 5000, CFG)).toEqual(open(100));
  });

  it('a late failure while open does not push back the reset time', () => {
    const b = steps(open(100), [[failure, 900], [tick, 1100]]);
    expect(b.state).toBe('half-open');
  });

  it('a straggling success while open does not close it', () => {
    expect(stepBreaker(open(100), success, 200, CFG).state).toBe('open');
  });
});

describe('stepBreaker: half-open', () => {
  it('a success closes it and forgets the failures', () => {
    expect(stepBreaker(halfOpen(100), success, 1500, CFG)).toEqual(CLOSED);
  });

  it('a failure opens it again at once, with a new openedAt', () => {
    const b = stepBreaker(halfOpen(100, 3), failure, 1500, CFG);
    expect(b).toEqual({ state: 'open', consecutiveFailures: 4, openedAt: 1500 });
  });

  it('after reopening, the reset timeout counts from the new openedAt', () => {
    const b = steps(halfOpen(100), [[failure, 1500], [tick, 2499]]);
    expect(b.state).toBe('open');
    expect(stepBreaker(b, tick, 2500, CFG).state).toBe('half-open');
  });

  it('a tick leaves it half-open', () => {
    expect(stepBreaker(halfOpen(100), tick, 99_999, CFG)).toEqual(halfOpen(100));
  });
});

describe('stepBreaker: a whole cycle', () => {
  it('closed → open → half-open → open → half-open → closed', () => {
    let b = CLOSED;
    const seen: string[] = [b.state];
    const events: Array<[BreakerEvent, number]> = [
      [failure, 0], [failure, 10], [failure, 20], // opens at 20
      [tick, 500], // too early
      [tick, 1020], // half-open
      [failure, 1100], // reopens at 1100
      [tick, 2100], // half-open
      [success, 2200], // closes
      [failure, 2300], // counts from 0 again
    ];
    for (const [e, now] of events) {
      b = stepBreaker(b, e, now, CFG);
      if (b.state !== seen.at(-1)) seen.push(b.state);
    }
    expect(seen).toEqual(['closed', 'open', 'half-open', 'open', 'half-open', 'closed']);
    expect(b).toEqual({ state: 'closed', consecutiveFailures: 1, openedAt: null });
  });
});
