import { describe, expect, it } from 'vitest';
import { configuredRateLimits, RateLimits, restoreStarts } from '../../dist/actors/queue/rate-limits.js';

const limiter = (max: number, perMs: number): RateLimits => new RateLimits(new Map([['agent:a', { max, perMs }]]));

describe('RateLimits (sliding window)', () => {
  it('admits max starts, then none until perMs after the oldest', () => {
    const r = limiter(3, 1000);
    expect(r.room('agent:a', 0)).toBe(3);
    for (const at of [0, 10, 20]) r.record('agent:a', at);
    expect(r.room('agent:a', 20)).toBe(0);
    expect(r.nextAt('agent:a', 20)).toBe(1000);
    expect(r.room('agent:a', 999.999)).toBe(0);
    expect(r.room('agent:a', 1000)).toBe(1); // window (now - perMs, now]: the start at 0 is out
    expect(r.room('agent:a', 1010)).toBe(2);
    expect(r.room('agent:a', 1020)).toBe(3);
  });

  it('never lets any window of perMs hold more than max starts, whatever the start times', () => {
    const r = limiter(4, 100);
    const starts: number[] = [];
    let now = 0;
    for (let step = 0; step < 2000; step++) {
      now += (step * 7919) % 37; // irregular, sometimes 0
      while (r.room('agent:a', now) > 0 && (step % 3 !== 0 || starts.length % 2 === 0)) {
        r.record('agent:a', now);
        starts.push(now);
      }
    }
    for (let i = 0; i + 4 < starts.length; i++) expect(starts[i + 4]! - starts[i]!).toBeGreaterThanOrEqual(100);
    expect(starts.length).toBeGreaterThan(100);
  });

  it('unlimited keys have infinite room and are always allowed now', () => {
    const r = limiter(1, 10);
    expect(r.has('agent:b')).toBe(false);
    expect(r.room('agent:b', 5)).toBe(Infinity);
    expect(r.nextAt('agent:b', 5)).toBe(5);
    r.record('agent:b', 5); // no-op
    expect(r.snapshot(5)).toEqual({ 'agent:a': { max: 1, perMs: 10, used: 0, nextAt: 5 } });
  });

  it('snapshot() shows use in the window and the next allowed start', () => {
    const r = limiter(2, 1000);
    r.record('agent:a', 100);
    r.record('agent:a', 300);
    expect(r.snapshot(500)).toEqual({ 'agent:a': { max: 2, perMs: 1000, used: 2, nextAt: 1100 } });
    expect(r.snapshot(1100)).toEqual({ 'agent:a': { max: 2, perMs: 1000, used: 1, nextAt: 1100 } });
  });

  it('a start recorded out of order takes its place in time', () => {
    const r = limiter(2, 1000);
    r.record('agent:a', 500);
    r.record('agent:a', 100);
    expect(r.nextAt('agent:a', 600)).toBe(1100);
  });

  it('a lowered limit holds until enough old starts have left the window', () => {
    const r = limiter(2, 1000);
    for (const at of [0, 100, 200, 300]) r.record('agent:a', at); // as read back after a restart
    expect(r.room('agent:a', 400)).toBe(0);
    expect(r.nextAt('agent:a', 400)).toBe(1200); // 2 of the 4 must leave: the one at 200 is the last
  });
});

describe('configuredRateLimits and restoreStarts', () => {
  it('keys limits by agent and resource', () => {
    const limits = configuredRateLimits({
      agents: new Map(Object.entries({ a: { rateLimit: { max: 1, perMs: 10 } }, b: {} })),
      resources: new Map(Object.entries({ gh: { rateLimit: { max: 5, perMs: 60_000 } }, db: {} })),
    });
    expect([...limits]).toEqual([
      ['agent:a', { max: 1, perMs: 10 }],
      ['resource:gh', { max: 5, perMs: 60_000 }],
    ]);
  });

  it('counts recovered starts against their agent and resources; a start stamped in the future counts as now', () => {
    const r = new RateLimits(new Map([['agent:a', { max: 2, perMs: 1000 }], ['resource:gh', { max: 1, perMs: 1000 }]]));
    restoreStarts(r, [{ at: 100, agent: 'a', resources: [] }, { at: 5000, agent: 'b', resources: ['gh'] }], 200);
    expect(r.snapshot(200)).toEqual({
      'agent:a': { max: 2, perMs: 1000, used: 1, nextAt: 200 },
      'resource:gh': { max: 1, perMs: 1000, used: 1, nextAt: 1200 },
    });
  });
});
