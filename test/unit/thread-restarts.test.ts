import { describe, expect, it } from 'vitest';
import {
  NO_DEATHS,
  launchHeldUntil,
  recordDeath,
  type RestartLimit,
  type RestartState,
} from '../../dist/actors/agent/thread-restarts.js';

const LIMIT: RestartLimit = { maxDeaths: 3, periodMs: 1000 };

/** Records deaths one by one from an empty state and returns the final state. */
function deathsAt(times: number[], limit: RestartLimit = LIMIT): RestartState {
  return times.reduce((s, t) => recordDeath(s, t, limit), NO_DEATHS);
}

describe('recordDeath', () => {
  it('records a death on an empty state', () => {
    expect(recordDeath(NO_DEATHS, 100, LIMIT)).toEqual({ deaths: [100] });
  });

  it('never mutates the given state', () => {
    const before = deathsAt([0, 100]);
    const copy = structuredClone(before);
    const after = recordDeath(before, 200, LIMIT);
    expect(before).toEqual(copy);
    expect(after).toEqual({ deaths: [0, 100, 200] });
    expect(NO_DEATHS).toEqual({ deaths: [] });
  });

  it('drops deaths that have left the window of the latest one', () => {
    // At 1050, the death at 0 is 1050 ms old (out); 100 is 950 ms old (in).
    expect(deathsAt([0, 100, 1050])).toEqual({ deaths: [100, 1050] });
    // Exactly periodMs old is out: the window is (now - periodMs, now].
    expect(deathsAt([0, 1000])).toEqual({ deaths: [1000] });
    expect(deathsAt([0, 999])).toEqual({ deaths: [0, 999] });
  });

  it('keeps at most maxDeaths + 1 entries, the newest, however fast threads die', () => {
    const times = Array.from({ length: 50 }, (_, i) => i);
    const s = deathsAt(times);
    expect(s.deaths).toEqual([46, 47, 48, 49]);
    expect(deathsAt(times, { maxDeaths: 0, periodMs: 1000 }).deaths).toEqual([49]);
  });

  it('keeps deaths oldest first even if the clock steps back', () => {
    expect(deathsAt([500, 400]).deaths).toEqual([400, 500]);
  });
});

describe('launchHeldUntil', () => {
  it('does not hold launches without deaths', () => {
    expect(launchHeldUntil(NO_DEATHS, 0, LIMIT)).toBeNull();
  });

  it('does not hold at maxDeaths deaths within the period', () => {
    const s = deathsAt([0, 100, 200]);
    expect(launchHeldUntil(s, 200, LIMIT)).toBeNull();
  });

  it('holds once the window holds more than maxDeaths, until the oldest leaves it', () => {
    const s = deathsAt([0, 100, 200, 300]);
    expect(launchHeldUntil(s, 300, LIMIT)).toBe(1000);
    expect(launchHeldUntil(s, 999, LIMIT)).toBe(1000);
    // At 1000 the death at 0 has left the window: three remain, launches are free.
    expect(launchHeldUntil(s, 1000, LIMIT)).toBeNull();
  });

  it('after more deaths than maxDeaths + 1, the hold ends when the count drops back to maxDeaths', () => {
    // Kept: 200, 300, 400, 500. The hold ends when 200 leaves, leaving 300, 400, 500.
    const s = deathsAt([0, 100, 200, 300, 400, 500]);
    expect(launchHeldUntil(s, 500, LIMIT)).toBe(1200);
    expect(launchHeldUntil(s, 1200, LIMIT)).toBeNull();
  });

  it('counts only the deaths inside the window at `now`', () => {
    // Deaths spread over more than a period never hold: 0 is gone when 1000 arrives.
    const s = deathsAt([0, 400, 800, 1000]);
    expect(s.deaths).toEqual([400, 800, 1000]);
    expect(launchHeldUntil(s, 1000, LIMIT)).toBeNull();
  });

  it('also works on a hand-built state with more entries than recordDeath keeps', () => {
    const s: RestartState = { deaths: [0, 100, 200, 300, 400] };
    // Five in the window, three tolerated: free once 0 and 100 have left, at 1100.
    expect(launchHeldUntil(s, 400, LIMIT)).toBe(1100);
    expect(launchHeldUntil(s, 1050, LIMIT)).toBe(1100);
  });

  it('maxDeaths 0: any death holds launches for one period', () => {
    const limit: RestartLimit = { maxDeaths: 0, periodMs: 500 };
    const s = deathsAt([40], limit);
    expect(launchHeldUntil(s, 40, limit)).toBe(540);
    expect(launchHeldUntil(s, 540, limit)).toBeNull();
  });
});
