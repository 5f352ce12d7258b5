import { describe, expect, it } from 'vitest';
import {
  breakerCap,
  closedBreaker,
  fromRecord,
  halfOpenAt,
  stepBreaker,
  toRecord,
  type Breaker,
  type BreakerConfig,
  type BreakerEvent,
  type BreakerRecord,
} from '../../dist/actors/breaker/breaker-logic.js';

const CFG: BreakerConfig = {
  failureThreshold: 5,
  failureRate: 0.5,
  minimumCalls: 10,
  windowMs: 60_000,
  resetTimeoutMs: 30_000,
  resetBackoffFactor: 2,
  maxResetTimeoutMs: 300_000,
  halfOpenTrials: 1,
};
/** Same, but the consecutive rule is out of reach, so only the rate rule can open it. */
const RATE_ONLY: BreakerConfig = { ...CFG, failureThreshold: 1_000 };

const S: BreakerEvent = { type: 'success' };
const F: BreakerEvent = { type: 'failure' };
const TICK: BreakerEvent = { type: 'tick' };
const FORCE_OPEN: BreakerEvent = { type: 'force', state: 'open' };
const FORCE_CLOSED: BreakerEvent = { type: 'force', state: 'closed' };

/** Applies events in order, all at time `now`. */
function at(b: Breaker, now: number, events: BreakerEvent[], cfg: BreakerConfig = CFG): Breaker {
  return events.reduce((acc, e) => stepBreaker(acc, e, now, cfg), b);
}

const times = (n: number, e: BreakerEvent): BreakerEvent[] => Array.from({ length: n }, () => e);

function totals(b: Breaker): { calls: number; failures: number } {
  return b.window.reduce((t, w) => ({ calls: t.calls + w.calls, failures: t.failures + w.failures }), { calls: 0, failures: 0 });
}

/** An unforced breaker that opened at `openedAt` through the consecutive rule. */
const openedAt = (openedAtMs: number, cfg: BreakerConfig = CFG): Breaker =>
  at(closedBreaker(cfg), openedAtMs, times(cfg.failureThreshold, F), cfg);

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

describe('closedBreaker', () => {
  it('is closed, unforced, empty, with the configured reset timeout', () => {
    expect(closedBreaker(CFG)).toEqual({
      state: 'closed',
      forced: false,
      openedAt: null,
      resetTimeoutMs: 30_000,
      consecutiveFailures: 0,
      window: [],
      trialSuccesses: 0,
    });
  });

  it('returns a fresh object each time', () => {
    const a = closedBreaker(CFG);
    expect(closedBreaker(CFG)).not.toBe(a);
    expect(closedBreaker(CFG).window).not.toBe(a.window);
  });
});

describe('closed: the consecutive rule', () => {
  it('counts failures below the threshold and stays closed', () => {
    const b = at(closedBreaker(CFG), 1_000, times(4, F));
    expect(b.state).toBe('closed');
    expect(b.consecutiveFailures).toBe(4);
    expect(totals(b)).toEqual({ calls: 4, failures: 4 });
  });

  it('a success resets the consecutive count but stays in the window', () => {
    const b = at(closedBreaker(CFG), 1_000, [F, F, F, F, S, F, F, F, F]);
    expect(b.state).toBe('closed');
    expect(b.consecutiveFailures).toBe(4);
    expect(totals(b)).toEqual({ calls: 9, failures: 8 });
  });

  it('opens at the threshold-th failure: openedAt = now, timeout unchanged, counters cleared', () => {
    const b = at(closedBreaker(CFG), 7_000, times(5, F));
    expect(b).toEqual({
      state: 'open',
      forced: false,
      openedAt: 7_000,
      resetTimeoutMs: 30_000,
      consecutiveFailures: 0,
      window: [],
      trialSuccesses: 0,
    });
  });

  it('opens regardless of the rate: 20 successes then 5 failures (rate 0.2)', () => {
    const before = at(closedBreaker(CFG), 1_000, [...times(20, S), ...times(4, F)]);
    expect(before.state).toBe('closed');
    const b = stepBreaker(before, F, 1_001, CFG);
    expect(b.state).toBe('open');
    expect(b.openedAt).toBe(1_001);
  });

  it('a tick does nothing to a closed breaker, however late', () => {
    const b = at(closedBreaker(CFG), 1_000, [F, F, S, F]);
    expect(stepBreaker(b, TICK, 1e12, CFG)).toEqual(b);
  });
});

describe('closed: the rate rule', () => {
  it('needs minimumCalls: 5 failures of 9 calls stay closed, the 10th call (a failure) opens it', () => {
    const nine = at(closedBreaker(RATE_ONLY), 1_000, [F, S, F, S, F, S, F, S, F], RATE_ONLY);
    expect(nine.state).toBe('closed');
    expect(totals(nine)).toEqual({ calls: 9, failures: 5 });
    const ten = stepBreaker(nine, F, 1_000, RATE_ONLY); // 6 / 10 = 0.6 > 0.5
    expect(ten.state).toBe('open');
    expect(ten.window).toEqual([]);
  });

  it('even 100% failures do not open it below minimumCalls', () => {
    const cfg = { ...RATE_ONLY, minimumCalls: 50 };
    expect(at(closedBreaker(cfg), 1_000, times(49, F), cfg).state).toBe('closed');
    expect(at(closedBreaker(cfg), 1_000, times(50, F), cfg).state).toBe('open');
  });

  it('a rate exactly at failureRate does not open it (strictly greater)', () => {
    const b = at(closedBreaker(RATE_ONLY), 1_000, [F, S, F, S, F, S, F, S, F, S], RATE_ONLY); // 5 / 10 = 0.5
    expect(b.state).toBe('closed');
    expect(stepBreaker(b, F, 1_000, RATE_ONLY).state).toBe('open'); // 6 / 11 > 0.5
  });

  it('is checked after every outcome, a success too, once minimumCalls is reached', () => {
    const b = at(closedBreaker(RATE_ONLY), 1_000, times(9, F), RATE_ONLY);
    expect(b.state).toBe('closed');
    expect(stepBreaker(b, S, 1_000, RATE_ONLY).state).toBe('open'); // 9 / 10 = 0.9
  });

  it('a low rate over many calls stays closed', () => {
    const b = at(closedBreaker(RATE_ONLY), 1_000, Array.from({ length: 200 }, (_, i) => (i % 5 === 0 ? F : S)), RATE_ONLY);
    expect(b.state).toBe('closed');
    expect(totals(b)).toEqual({ calls: 200, failures: 40 });
  });
});

describe('closed: the rolling window', () => {
  it('old calls fall out: failures from over windowMs ago do not count towards the rate', () => {
    const old = at(closedBreaker(RATE_ONLY), 0, [...times(6, F), ...times(3, S)], RATE_ONLY);
    // Control: the same 10th failure soon after opens it (7 / 10)...
    expect(stepBreaker(old, F, 1_000, RATE_ONLY).state).toBe('open');
    // ...but a full window later the window holds that one call only.
    const late = stepBreaker(old, F, 60_000, RATE_ONLY);
    expect(late.state).toBe('closed');
    expect(totals(late)).toEqual({ calls: 1, failures: 1 });
  });

  it('drops a bucket exactly when it started windowMs ago', () => {
    const b = at(closedBreaker(RATE_ONLY), 0, [F, F], RATE_ONLY);
    expect(totals(stepBreaker(b, S, 59_999, RATE_ONLY))).toEqual({ calls: 3, failures: 2 });
    expect(totals(stepBreaker(b, S, 60_000, RATE_ONLY))).toEqual({ calls: 1, failures: 0 });
  });

  it('groups calls into time buckets of windowMs / 10', () => {
    let b = at(closedBreaker(RATE_ONLY), 100, [F, S], RATE_ONLY);
    b = at(b, 5_999, [S], RATE_ONLY);
    b = at(b, 6_000, [F], RATE_ONLY);
    expect(b.window).toEqual([
      { start: 0, calls: 3, failures: 1 },
      { start: 6_000, calls: 1, failures: 1 },
    ]);
  });

  it('an outcome stamped earlier than the last one (clock stepping back) still counts', () => {
    const b = at(at(closedBreaker(RATE_ONLY), 20_000, [F], RATE_ONLY), 10_000, [S], RATE_ONLY);
    expect(totals(b)).toEqual({ calls: 2, failures: 1 });
    expect(b.window.map((w) => w.start)).toEqual([6_000, 18_000]);
  });

  it('stays bounded even when the clock keeps stepping back (every bucket "in the future")', () => {
    let b = closedBreaker(RATE_ONLY);
    for (let i = 0; i < 30; i++) b = stepBreaker(b, S, 1_000_000 - i * 6_000, RATE_ONLY);
    expect(b.window.length).toBeLessThanOrEqual(10);
    expect(b.window.map((w) => w.start)).toEqual([...b.window.map((w) => w.start)].sort((x, y) => x - y));
  });

  it('stays bounded: 100k calls over ~1 hour keep at most 10 buckets, with the right totals', () => {
    const cfg = { ...CFG, failureThreshold: 1_000 };
    const stamps: number[] = [];
    let b = closedBreaker(cfg);
    let maxLength = 0;
    for (let i = 0; i < 100_000; i++) {
      const now = i * 37;
      stamps.push(now);
      b = stepBreaker(b, i % 10 === 0 ? F : S, now, cfg);
      maxLength = Math.max(maxLength, b.window.length);
    }
    expect(b.state).toBe('closed');
    expect(maxLength).toBeLessThanOrEqual(10);
    // Bucketing blurs the window's far edge by at most one bucket width (6s).
    const now = stamps.at(-1)!;
    const within = (from: number) => stamps.filter((t) => t > from && t <= now).length;
    const { calls } = totals(b);
    expect(calls).toBeGreaterThanOrEqual(within(now - 60_000 + 6_000));
    expect(calls).toBeLessThanOrEqual(within(now - 60_000));
  });
});

describe('open', () => {
  it('ignores late successes and failures (runs started before it opened)', () => {
    const b = openedAt(1_000);
    const after = at(b, 2_000, [S, S, S, F, F, F, F, F, F]);
    expect(after).toEqual(b);
  });

  it('late failures do not push back its half-open time', () => {
    const b = at(openedAt(1_000), 20_000, times(10, F));
    expect(halfOpenAt(b)).toBe(31_000);
    expect(stepBreaker(b, TICK, 31_000, CFG).state).toBe('half-open');
  });

  it('a tick before it is due leaves it open; at the due time it goes half-open', () => {
    const b = openedAt(1_000);
    expect(halfOpenAt(b)).toBe(31_000);
    expect(stepBreaker(b, TICK, 30_999, CFG)).toEqual(b);
    const half = stepBreaker(b, TICK, 31_000, CFG);
    expect(half).toEqual({ ...b, state: 'half-open', trialSuccesses: 0 });
  });

  it('a tick long after the due time also turns it half-open', () => {
    expect(stepBreaker(openedAt(1_000), TICK, 1e9, CFG).state).toBe('half-open');
  });

  it('only a tick moves it: an outcome after the due time keeps it open', () => {
    const b = openedAt(1_000);
    expect(stepBreaker(b, S, 99_000, CFG).state).toBe('open');
  });
});

describe('half-open', () => {
  const half = (cfg: BreakerConfig = CFG) => stepBreaker(openedAt(1_000, cfg), TICK, 31_000, cfg);

  it('one success closes it with halfOpenTrials = 1', () => {
    const b = stepBreaker(half(), S, 31_100, CFG);
    expect(b).toEqual(closedBreaker(CFG));
  });

  it('a failure reopens it at once, with openedAt = now and a doubled reset timeout', () => {
    const b = stepBreaker(half(), F, 31_100, CFG);
    expect(b).toMatchObject({ state: 'open', forced: false, openedAt: 31_100, resetTimeoutMs: 60_000, trialSuccesses: 0 });
    expect(halfOpenAt(b)).toBe(91_100);
    expect(stepBreaker(b, TICK, 91_099, CFG).state).toBe('open');
    expect(stepBreaker(b, TICK, 91_100, CFG).state).toBe('half-open');
  });

  it('a tick leaves it half-open', () => {
    const b = half();
    expect(stepBreaker(b, TICK, 1e9, CFG)).toEqual(b);
  });

  it('halfOpenTrials = 3 needs 3 successes; a failure in between reopens and restarts the count', () => {
    const cfg = { ...CFG, halfOpenTrials: 3 };
    const two = at(half(cfg), 31_100, [S, S], cfg);
    expect(two.state).toBe('half-open');
    expect(two.trialSuccesses).toBe(2);
    expect(stepBreaker(two, S, 31_200, cfg)).toEqual(closedBreaker(cfg));

    const reopened = stepBreaker(two, F, 31_200, cfg);
    expect(reopened.state).toBe('open');
    const again = stepBreaker(reopened, TICK, 91_200, cfg);
    expect(again).toMatchObject({ state: 'half-open', trialSuccesses: 0 });
    expect(at(again, 91_300, [S, S], cfg).state).toBe('half-open');
    expect(at(again, 91_300, [S, S, S], cfg).state).toBe('closed');
  });
});

describe('growing reset timeout', () => {
  it('doubles on each reopening, is capped at maxResetTimeoutMs, and resets once it closes', () => {
    let b = openedAt(0);
    let now = 0;
    const seen: number[] = [b.resetTimeoutMs];
    for (let i = 0; i < 6; i++) {
      now = halfOpenAt(b)!;
      b = stepBreaker(stepBreaker(b, TICK, now, CFG), F, now, CFG);
      seen.push(b.resetTimeoutMs);
    }
    expect(seen).toEqual([30_000, 60_000, 120_000, 240_000, 300_000, 300_000, 300_000]);
    expect(halfOpenAt(b)).toBe(now + 300_000);

    now = halfOpenAt(b)!;
    b = stepBreaker(stepBreaker(b, TICK, now, CFG), S, now, CFG);
    expect(b).toEqual(closedBreaker(CFG));
    // The next opening waits the base timeout again.
    b = at(b, now + 10, times(5, F));
    expect(halfOpenAt(b)).toBe(now + 10 + 30_000);
  });

  it('opening from closed keeps the timeout in force (restored from a record)', () => {
    const b = fromRecord({ state: 'closed', forced: false, openedAt: null, resetTimeoutMs: 120_000 });
    expect(halfOpenAt(at(b, 1_000, times(5, F)))).toBe(121_000);
  });
});

describe('force', () => {
  it('force open from closed: open, forced, openedAt = now, window cleared', () => {
    const b = stepBreaker(at(closedBreaker(CFG), 1_000, [F, S, F]), FORCE_OPEN, 5_000, CFG);
    expect(b).toEqual({
      state: 'open',
      forced: true,
      openedAt: 5_000,
      resetTimeoutMs: 30_000,
      consecutiveFailures: 0,
      window: [],
      trialSuccesses: 0,
    });
  });

  it('force open from half-open and from open', () => {
    const half = stepBreaker(openedAt(1_000), TICK, 31_000, CFG);
    expect(stepBreaker(half, FORCE_OPEN, 32_000, CFG)).toMatchObject({ state: 'open', forced: true, openedAt: 32_000 });
    expect(stepBreaker(openedAt(1_000), FORCE_OPEN, 2_000, CFG)).toMatchObject({ state: 'open', forced: true, openedAt: 2_000 });
  });

  it('a forced-open breaker ignores ticks, however late, and outcomes', () => {
    const b = stepBreaker(closedBreaker(CFG), FORCE_OPEN, 1_000, CFG);
    expect(halfOpenAt(b)).toBeNull();
    expect(at(b, 1e12, [TICK, S, S, TICK, F])).toEqual(b);
  });

  it('force closed from forced open gives a normal closed breaker', () => {
    const b = stepBreaker(closedBreaker(CFG), FORCE_OPEN, 1_000, CFG);
    expect(stepBreaker(b, FORCE_CLOSED, 2_000, CFG)).toEqual(closedBreaker(CFG));
  });

  it('force closed resets a grown timeout and clears the window', () => {
    const grown = stepBreaker(stepBreaker(openedAt(0), TICK, 30_000, CFG), F, 30_000, CFG);
    expect(grown.resetTimeoutMs).toBe(60_000);
    expect(stepBreaker(grown, FORCE_CLOSED, 31_000, CFG)).toEqual(closedBreaker(CFG));
    const busy = at(closedBreaker(CFG), 1_000, [F, F, S]);
    expect(stepBreaker(busy, FORCE_CLOSED, 1_000, CFG)).toEqual(closedBreaker(CFG));
  });
});

describe('records', () => {
  const records: BreakerRecord[] = [
    { state: 'closed', forced: false, openedAt: null, resetTimeoutMs: 30_000 },
    { state: 'open', forced: false, openedAt: 1_000, resetTimeoutMs: 120_000 },
    { state: 'open', forced: true, openedAt: 5_000, resetTimeoutMs: 30_000 },
    { state: 'half-open', forced: false, openedAt: 9_000, resetTimeoutMs: 60_000 },
  ];

  it('toRecord(fromRecord(r)) gives r back, for every state', () => {
    for (const r of records) expect(toRecord(fromRecord(r))).toEqual(r);
  });

  it('fromRecord starts with an empty window and zero counters', () => {
    for (const r of records) {
      expect(fromRecord(r)).toEqual({ ...r, consecutiveFailures: 0, window: [], trialSuccesses: 0 });
    }
  });

  it('toRecord keeps only the journaled fields', () => {
    const b = at(closedBreaker(CFG), 1_000, [F, F, S, F]);
    expect(toRecord(b)).toEqual({ state: 'closed', forced: false, openedAt: null, resetTimeoutMs: 30_000 });
    expect(Object.keys(toRecord(b)).sort()).toEqual(['forced', 'openedAt', 'resetTimeoutMs', 'state']);
  });

  it('a restored open breaker goes half-open when its journaled timeout is due', () => {
    const b = fromRecord(records[1]!);
    expect(stepBreaker(b, TICK, 120_999, CFG).state).toBe('open');
    expect(stepBreaker(b, TICK, 121_000, CFG).state).toBe('half-open');
  });

  it('a restored forced-open breaker stays open', () => {
    expect(stepBreaker(fromRecord(records[2]!), TICK, 1e12, CFG).state).toBe('open');
  });
});

describe('breakerCap and halfOpenAt', () => {
  it('cap is Infinity closed, 0 open (forced or not), halfOpenTrials half-open', () => {
    const cfg = { ...CFG, halfOpenTrials: 3 };
    expect(breakerCap(closedBreaker(cfg), cfg)).toBe(Infinity);
    expect(breakerCap(openedAt(0, cfg), cfg)).toBe(0);
    expect(breakerCap(stepBreaker(closedBreaker(cfg), FORCE_OPEN, 0, cfg), cfg)).toBe(0);
    const half = stepBreaker(openedAt(0, cfg), TICK, 30_000, cfg);
    expect(breakerCap(half, cfg)).toBe(3);
    expect(breakerCap(stepBreaker(half, S, 30_001, cfg), cfg)).toBe(3); // still half-open after 1 of 3
  });

  it('halfOpenAt is null unless open and unforced', () => {
    expect(halfOpenAt(closedBreaker(CFG))).toBeNull();
    expect(halfOpenAt(stepBreaker(openedAt(0), TICK, 30_000, CFG))).toBeNull();
    expect(halfOpenAt(openedAt(2_500))).toBe(32_500);
  });
});

describe('purity', () => {
  const samples: Array<[string, Breaker]> = [
    ['closed', at(closedBreaker(CFG), 1_000, [F, S, F])],
    ['open', openedAt(1_000)],
    ['half-open', stepBreaker(openedAt(1_000), TICK, 31_000, CFG)],
    ['forced', stepBreaker(closedBreaker(CFG), FORCE_OPEN, 1_000, CFG)],
  ];
  const events = [S, F, TICK, FORCE_OPEN, FORCE_CLOSED];

  it('never mutates its input (deeply frozen inputs, window buckets included)', () => {
    for (const [, b] of samples) {
      const copy = structuredClone(b);
      const frozen = deepFreeze(structuredClone(b));
      for (const e of events) {
        for (const now of [1_500, 31_000, 1e9]) {
          expect(() => stepBreaker(frozen, e, now, CFG)).not.toThrow();
          expect(stepBreaker(frozen, e, now, CFG)).not.toBe(frozen);
        }
      }
      expect(frozen).toEqual(copy);
    }
  });

  it('same inputs give the same output', () => {
    for (const [, b] of samples) {
      for (const e of events) expect(stepBreaker(b, e, 31_000, CFG)).toEqual(stepBreaker(b, e, 31_000, CFG));
    }
  });
});
