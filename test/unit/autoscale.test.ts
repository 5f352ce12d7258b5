import { describe, expect, it } from 'vitest';
import { prng } from '../chaos/prng.mjs';
import {
  decideScale,
  initialScale,
  type ScaleLimits,
  type ScaleState,
} from '../../dist/actors/agent/autoscale.js';

const LIMITS: ScaleLimits = { minThreads: 1, maxThreads: 8, idleTimeoutMs: 1000, concurrentTasksPerWorker: 1 };

function limits(over: Partial<ScaleLimits> = {}): ScaleLimits {
  return { ...LIMITS, ...over };
}

const at = (target: number, idleSince: number | null = null): ScaleState => ({ target, idleSince });

/** Feeds a series of observations, returning every state. */
function run(
  start: ScaleState,
  steps: Array<{ busy: number; waiting: number; now: number }>,
  l: ScaleLimits = LIMITS,
): ScaleState[] {
  const out: ScaleState[] = [];
  let s = start;
  for (const input of steps) {
    s = decideScale(s, input, l);
    out.push(s);
  }
  return out;
}

describe('initialScale', () => {
  it('starts at minThreads with no idle clock', () => {
    expect(initialScale(limits({ minThreads: 3 }))).toEqual({ target: 3, idleSince: null });
  });
});

describe('decideScale: growth', () => {
  it('grows at once to fit busy + waiting when every slot is busy and work waits', () => {
    expect(decideScale(at(2), { busy: 2, waiting: 3, now: 0 }, LIMITS)).toEqual({ target: 5, idleSince: null });
  });

  it('clamps growth to maxThreads', () => {
    expect(decideScale(at(2), { busy: 2, waiting: 100, now: 0 }, LIMITS).target).toBe(8);
  });

  it('stays at maxThreads when already there', () => {
    expect(decideScale(at(8), { busy: 8, waiting: 5, now: 0 }, LIMITS)).toEqual({ target: 8, idleSince: null });
  });

  it('does not grow while slots are free, even if work waits', () => {
    const s = decideScale(at(4), { busy: 3, waiting: 10, now: 0 }, LIMITS);
    expect(s.target).toBe(4);
  });

  it('does not grow when nothing waits, even if all slots are busy', () => {
    expect(decideScale(at(4), { busy: 4, waiting: 0, now: 0 }, LIMITS)).toEqual({ target: 4, idleSince: null });
  });

  it('a growth decision never lowers the target (a full pool above a lowered maxThreads)', () => {
    const s = decideScale(at(8), { busy: 8, waiting: 1, now: 0 }, limits({ maxThreads: 6 }));
    expect(s.target).toBe(8);
  });

  it('growth resets the idle clock', () => {
    expect(decideScale(at(2, 50), { busy: 2, waiting: 1, now: 100 }, LIMITS)).toEqual({ target: 3, idleSince: null });
  });

  it('grows by threads, not tasks, with concurrentTasksPerWorker > 1', () => {
    const l = limits({ concurrentTasksPerWorker: 4 });
    // 2 threads = 8 slots, all busy, 5 waiting: 13 tasks need ceil(13/4) = 4 threads.
    expect(decideScale(at(2), { busy: 8, waiting: 5, now: 0 }, l).target).toBe(4);
    // 7 of 8 slots busy: there is room, no growth.
    expect(decideScale(at(2), { busy: 7, waiting: 5, now: 0 }, l).target).toBe(2);
  });

  it('grows from zero threads when minThreads is 0', () => {
    const l = limits({ minThreads: 0 });
    expect(decideScale(at(0), { busy: 0, waiting: 3, now: 0 }, l).target).toBe(3);
  });
});

describe('decideScale: shrink', () => {
  it('holds while spare capacity has been unused for less than idleTimeoutMs', () => {
    const states = run(at(6), [
      { busy: 2, waiting: 0, now: 0 },
      { busy: 2, waiting: 0, now: 500 },
      { busy: 2, waiting: 0, now: 999 },
    ]);
    expect(states.map((s) => s.target)).toEqual([6, 6, 6]);
    expect(states.map((s) => s.idleSince)).toEqual([0, 0, 0]);
  });

  it('shrinks to what is in use once idleTimeoutMs has passed', () => {
    const states = run(at(6), [
      { busy: 2, waiting: 0, now: 0 },
      { busy: 2, waiting: 0, now: 1000 },
    ]);
    expect(states.at(-1)).toEqual({ target: 2, idleSince: null });
  });

  it('measures idleness continuously: a busy moment resets the clock', () => {
    const states = run(at(4), [
      { busy: 1, waiting: 0, now: 0 },
      { busy: 1, waiting: 0, now: 900 },
      { busy: 4, waiting: 0, now: 950 }, // every slot in use: no spare capacity
      { busy: 1, waiting: 0, now: 1000 }, // idle again, from now
      { busy: 1, waiting: 0, now: 1500 }, // 1500 since the first idle, 500 since the last
      { busy: 1, waiting: 0, now: 1999 },
      { busy: 1, waiting: 0, now: 2000 },
    ]);
    expect(states.map((s) => s.target)).toEqual([4, 4, 4, 4, 4, 4, 1]);
    expect(states[2]!.idleSince).toBeNull();
    expect(states[3]!.idleSince).toBe(1000);
  });

  it('a growth in between also resets the clock', () => {
    const states = run(at(2), [
      { busy: 0, waiting: 0, now: 0 },
      { busy: 2, waiting: 2, now: 800 }, // grows to 4
      { busy: 1, waiting: 0, now: 1200 },
      { busy: 1, waiting: 0, now: 2100 },
      { busy: 1, waiting: 0, now: 2200 },
    ]);
    expect(states.map((s) => s.target)).toEqual([2, 4, 4, 4, 1]);
  });

  it('never shrinks below minThreads', () => {
    const l = limits({ minThreads: 3 });
    const states = run(at(6), [
      { busy: 0, waiting: 0, now: 0 },
      { busy: 0, waiting: 0, now: 5000 },
    ], l);
    expect(states.at(-1)!.target).toBe(3);
  });

  it('at minThreads with nothing to do it holds and keeps no idle clock', () => {
    const l = limits({ minThreads: 2 });
    expect(decideScale(at(2), { busy: 0, waiting: 0, now: 10_000 }, l)).toEqual({ target: 2, idleSince: null });
  });

  it('idle clock persists from the state across calls, not from the latest observation', () => {
    // The caller hands back the state: an idleSince carried from earlier decides the shrink.
    expect(decideScale(at(5, 100), { busy: 1, waiting: 0, now: 1100 }, LIMITS)).toEqual({ target: 1, idleSince: null });
    expect(decideScale(at(5, 100), { busy: 1, waiting: 0, now: 1099 }, LIMITS)).toEqual({ target: 5, idleSince: 100 });
  });

  it('shrinks in threads with concurrentTasksPerWorker > 1', () => {
    const l = limits({ concurrentTasksPerWorker: 4 });
    // 5 busy tasks need ceil(5/4) = 2 threads of the 6.
    const states = run(at(6), [
      { busy: 5, waiting: 0, now: 0 },
      { busy: 5, waiting: 0, now: 1000 },
    ], l);
    expect(states.at(-1)!.target).toBe(2);
  });

  it('with concurrentTasksPerWorker > 1, partly used threads are not spare', () => {
    const l = limits({ concurrentTasksPerWorker: 4 });
    // 2 threads, 5 busy tasks: both threads are in use, nothing to shrink.
    expect(decideScale(at(2), { busy: 5, waiting: 0, now: 0 }, l)).toEqual({ target: 2, idleSince: null });
  });

  it('clamps a shrink to maxThreads too (busy beyond max)', () => {
    const l = limits({ maxThreads: 4 });
    const s = decideScale(at(10, 0), { busy: 6, waiting: 0, now: 5000 }, l);
    expect(s.target).toBe(4);
  });

  it('is pure: the input state is not modified', () => {
    const s = at(6, 0);
    const frozen = Object.freeze({ ...s });
    decideScale(frozen, { busy: 1, waiting: 0, now: 5000 }, LIMITS);
    decideScale(frozen, { busy: 6, waiting: 4, now: 5000 }, LIMITS);
    expect(frozen).toEqual(s);
  });
});

describe('decideScale: random walk (property)', () => {

  for (let seed = 1; seed <= 10; seed++) {
    it(`stays in [min, max], grows only when full and waited on, shrinks only after idleTimeoutMs (seed ${seed})`, () => {
      const rand = prng(seed);
      const l = limits({ minThreads: 1 + Math.floor(rand() * 2), maxThreads: 6, concurrentTasksPerWorker: 1 + Math.floor(rand() * 3) });
      let s = initialScale(l);
      let now = 0;
      let lastBusyFull = 0; // last time spare capacity was absent
      for (let i = 0; i < 500; i++) {
        now += Math.floor(rand() * 400);
        const slots = s.target * l.concurrentTasksPerWorker;
        const busy = Math.min(slots, Math.floor(rand() * (slots + 1)));
        const waiting = rand() < 0.3 ? Math.floor(rand() * 10) : 0;
        const next = decideScale(s, { busy, waiting, now }, l);
        expect(next.target).toBeGreaterThanOrEqual(l.minThreads);
        expect(next.target).toBeLessThanOrEqual(l.maxThreads);
        if (next.target > s.target) {
          expect(waiting).toBeGreaterThan(0);
          expect(busy).toBeGreaterThanOrEqual(slots);
        }
        if (next.target < s.target) {
          expect(now - lastBusyFull).toBeGreaterThanOrEqual(l.idleTimeoutMs);
          expect(next.target * l.concurrentTasksPerWorker).toBeGreaterThanOrEqual(busy);
        }
        if (Math.ceil(busy / l.concurrentTasksPerWorker) >= s.target || next.target !== s.target) lastBusyFull = now;
        s = next;
      }
    });
  }
});
