import { describe, expect, it } from 'vitest';
import { RunWatch, type RunLimits } from '../../dist/actors/agent/run-watch.js';
import type { Clock } from '../../dist/core/clock.js';

/**
 * A clock that only moves when the test says so. Unlike `manualClock()` in ../helpers.ts its
 * `now` owes nothing to real time, so "1 ms before the deadline" is exact. Timers fire in time
 * order, each with `now` at its own deadline; timers set while advancing fire in the same advance
 * when they fall due within it. A watch that keeps re-arming for no time fails the test instead
 * of hanging it.
 */
interface FakeClock extends Clock {
  advance(ms: number): void;
  /** Deadlines of the timers still pending, relative to now. */
  pending(): number[];
  /** How many timers were ever set. */
  readonly sets: number;
}

function fakeClock(options: { ignoreClear?: boolean } = {}): FakeClock {
  let now = 1_000_000;
  let nextId = 0;
  let sets = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      sets += 1;
      nextId += 1;
      timers.set(nextId, { at: now + ms, fn });
      return nextId;
    },
    clearTimeout: (handle) => {
      if (!options.ignoreClear) timers.delete(handle as number);
    },
    advance(ms) {
      const end = now + ms;
      for (let fired = 0; ; fired++) {
        if (fired > 10_000) throw new Error('timer storm: more than 10000 timers fired in one advance');
        let due: [number, { at: number; fn: () => void }] | undefined;
        for (const entry of timers) if (entry[1].at <= end && (due === undefined || entry[1].at < due[1].at)) due = entry;
        if (due === undefined) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = end;
    },
    pending: () => [...timers.values()].map((t) => t.at - now).sort((a, b) => a - b),
    get sets() {
      return sets;
    },
  };
}

/** A RunWatch on a fake clock that records what fires. */
function watch(limits: RunLimits, clock = fakeClock()) {
  const timeouts: number[] = [];
  const stalls: { at: number; silentMs: number }[] = [];
  const w = new RunWatch(
    clock,
    limits,
    () => timeouts.push(clock.now()),
    (silentMs) => stalls.push({ at: clock.now(), silentMs }),
  );
  const t0 = clock.now();
  /** Time since the watch was made. */
  const elapsed = (at: number): number => at - t0;
  return { w, clock, timeouts, stalls, t0, elapsed };
}

describe('RunWatch: timeout', () => {
  it('fires once, exactly timeoutMs after the watch was made', () => {
    const { clock, timeouts, stalls, elapsed } = watch({ timeoutMs: 1_000 });
    clock.advance(999);
    expect(timeouts).toEqual([]);
    clock.advance(1);
    expect(timeouts.map(elapsed)).toEqual([1_000]);
    clock.advance(10_000);
    expect(timeouts).toHaveLength(1);
    expect(stalls).toEqual([]);
    expect(clock.pending()).toEqual([]);
  });

  it('never fires when no timeout is set', () => {
    const { clock, timeouts, stalls } = watch({});
    expect(clock.pending()).toEqual([]);
    clock.advance(10 ** 9);
    expect(timeouts).toEqual([]);
    expect(stalls).toEqual([]);
  });

  it('counts from the start of the run: heartbeats and the stall watch do not postpone it', () => {
    const { w, clock, timeouts, stalls, elapsed } = watch({ timeoutMs: 1_000, stallTimeoutMs: 300 });
    clock.advance(400);
    w.watchStalls();
    for (let i = 0; i < 5; i++) {
      clock.advance(100);
      w.beat();
    }
    clock.advance(99);
    w.beat();
    expect(timeouts).toEqual([]);
    clock.advance(1);
    expect(timeouts.map(elapsed)).toEqual([1_000]);
    expect(stalls).toEqual([]);
  });
});

describe('RunWatch: stall watch', () => {
  it('fires when no beat came for stallTimeoutMs after watchStalls(), with the silence it saw', () => {
    const { w, clock, stalls, timeouts } = watch({ stallTimeoutMs: 500 });
    w.watchStalls();
    const armedAt = clock.now();
    clock.advance(499);
    expect(stalls).toEqual([]);
    clock.advance(1);
    expect(stalls).toHaveLength(1);
    expect(stalls[0]!.at - armedAt).toBe(500);
    expect(stalls[0]!.silentMs).toBeGreaterThanOrEqual(500);
    expect(stalls[0]!.silentMs).toBe(500);
    clock.advance(10_000);
    expect(stalls).toHaveLength(1);
    expect(timeouts).toEqual([]);
  });

  it('counts silence from watchStalls(), not from the making of the watch (time waiting for a thread is no stall)', () => {
    const { w, clock, stalls } = watch({ stallTimeoutMs: 500 });
    clock.advance(2_000);
    w.watchStalls();
    clock.advance(499);
    expect(stalls).toEqual([]);
    clock.advance(1);
    expect(stalls.map((s) => s.silentMs)).toEqual([500]);
  });

  it('nothing fires before watchStalls(), however long the silence', () => {
    const { w, clock, stalls, timeouts } = watch({ stallTimeoutMs: 100 });
    clock.advance(10_000);
    w.beat(); // a beat does not start the watch either
    clock.advance(10_000);
    expect(stalls).toEqual([]);
    expect(timeouts).toEqual([]);
    expect(clock.pending()).toEqual([]);
  });

  it('watchStalls() arms nothing when no stall timeout is set', () => {
    const { w, clock, stalls } = watch({ timeoutMs: 5_000 });
    w.watchStalls();
    expect(clock.pending()).toEqual([5_000]);
    clock.advance(4_999);
    expect(stalls).toEqual([]);
  });

  it('a beat postpones it: it fires exactly stallTimeoutMs after the last beat', () => {
    const { w, clock, stalls } = watch({ stallTimeoutMs: 100 });
    w.watchStalls();
    clock.advance(60);
    w.beat();
    const lastBeat = clock.now();
    clock.advance(40); // the first deadline passes: re-armed for the remainder
    expect(stalls).toEqual([]);
    clock.advance(59);
    expect(stalls).toEqual([]);
    clock.advance(1);
    expect(stalls).toEqual([{ at: lastBeat + 100, silentMs: 100 }]);
  });

  it('many beats, also after a re-arm, keep postponing it to stallTimeoutMs after the last one', () => {
    const { w, clock, stalls } = watch({ stallTimeoutMs: 100 });
    w.watchStalls();
    const start = clock.now();
    // Beats at 60, 90 (before the first deadline), 130 and 150 (after the re-arm at 100).
    for (const at of [60, 90, 130, 150]) {
      clock.advance(start + at - clock.now());
      w.beat();
      expect(stalls, `beat at ${at}`).toEqual([]);
    }
    clock.advance(start + 249 - clock.now());
    expect(stalls).toEqual([]);
    clock.advance(1);
    expect(stalls).toEqual([{ at: start + 250, silentMs: 100 }]);
  });

  it('a run that keeps beating never stalls', () => {
    const { w, clock, stalls } = watch({ stallTimeoutMs: 100 });
    w.watchStalls();
    for (let i = 0; i < 1_000; i++) {
      clock.advance(99);
      w.beat();
    }
    expect(stalls).toEqual([]);
  });

  it('beats cost no timers: the watch is re-armed only when its deadline passes', () => {
    const { w, clock } = watch({ stallTimeoutMs: 100 });
    w.watchStalls();
    const sets = clock.sets;
    for (let i = 0; i < 50; i++) w.beat();
    expect(clock.sets).toBe(sets);
    expect(clock.pending()).toEqual([100]);
    clock.advance(100); // silent for 100 since the beats: fires, sets nothing new
    expect(clock.pending()).toEqual([]);
  });

  it('watchStalls() twice arms one watch, and fires once', () => {
    const { w, clock, stalls } = watch({ stallTimeoutMs: 100 });
    w.watchStalls();
    clock.advance(30);
    w.watchStalls();
    expect(clock.pending()).toHaveLength(1);
    clock.advance(10_000);
    expect(stalls).toHaveLength(1);
  });
});

describe('RunWatch: one outcome, and clear()', () => {
  it('after the timeout fires the stall watch never does', () => {
    const { w, clock, timeouts, stalls } = watch({ timeoutMs: 100, stallTimeoutMs: 150 });
    w.watchStalls();
    clock.advance(100);
    expect(timeouts).toHaveLength(1);
    expect(clock.pending()).toEqual([]); // the stall timer was cancelled too
    w.watchStalls(); // too late: nothing is armed again
    w.beat();
    clock.advance(10_000);
    expect(stalls).toEqual([]);
    expect(timeouts).toHaveLength(1);
  });

  it('a timeout that fires before watchStalls() leaves nothing to arm (the run timed out waiting for a thread)', () => {
    const { w, clock, timeouts, stalls } = watch({ timeoutMs: 100, stallTimeoutMs: 50 });
    clock.advance(100);
    expect(timeouts).toHaveLength(1);
    w.watchStalls();
    expect(clock.pending()).toEqual([]);
    clock.advance(10_000);
    expect(stalls).toEqual([]);
    expect(timeouts).toHaveLength(1);
  });

  it('after the stall fires the timeout never does', () => {
    const { w, clock, timeouts, stalls } = watch({ timeoutMs: 1_000, stallTimeoutMs: 100 });
    w.watchStalls();
    clock.advance(100);
    expect(stalls).toHaveLength(1);
    expect(clock.pending()).toEqual([]);
    clock.advance(10_000);
    expect(timeouts).toEqual([]);
    expect(stalls).toHaveLength(1);
  });

  it('both due at the same moment: exactly one of them fires', () => {
    const { w, clock, timeouts, stalls } = watch({ timeoutMs: 100, stallTimeoutMs: 100 });
    w.watchStalls();
    clock.advance(100);
    expect(timeouts.length + stalls.length).toBe(1);
    clock.advance(1_000);
    expect(timeouts.length + stalls.length).toBe(1);
  });

  it('clear() stops both and cancels their timers', () => {
    const { w, clock, timeouts, stalls } = watch({ timeoutMs: 200, stallTimeoutMs: 100 });
    w.watchStalls();
    clock.advance(50);
    w.clear();
    expect(clock.pending()).toEqual([]);
    w.beat();
    w.watchStalls(); // a cleared watch is not armed again
    expect(clock.pending()).toEqual([]);
    clock.advance(10_000);
    expect(timeouts).toEqual([]);
    expect(stalls).toEqual([]);
  });

  it('clear() before watchStalls() and with no limits is harmless', () => {
    const a = watch({ timeoutMs: 100, stallTimeoutMs: 100 });
    a.w.clear();
    a.w.watchStalls(); // the run got its thread after it was stopped: nothing to watch
    expect(a.clock.pending()).toEqual([]);
    a.clock.advance(1_000);
    expect(a.timeouts).toEqual([]);
    expect(a.stalls).toEqual([]);
    const b = watch({});
    b.w.clear();
    b.w.clear();
    expect(b.clock.pending()).toEqual([]);
  });

  it('timers that still fire after clear() (a clock that could not cancel them) do nothing and arm nothing', () => {
    const { w, clock, timeouts, stalls } = watch({ timeoutMs: 200, stallTimeoutMs: 100 }, fakeClock({ ignoreClear: true }));
    w.watchStalls();
    clock.advance(50);
    w.beat(); // when the stale stall timer fires, the run looks recently alive
    w.clear();
    const sets = clock.sets;
    clock.advance(10_000);
    expect(timeouts).toEqual([]);
    expect(stalls).toEqual([]);
    expect(clock.sets).toBe(sets); // a cleared watch never re-arms
  });

  it('a stale stall timer firing after the timeout does nothing', () => {
    const { w, clock, timeouts, stalls } = watch({ timeoutMs: 100, stallTimeoutMs: 150 }, fakeClock({ ignoreClear: true }));
    w.watchStalls();
    clock.advance(10_000);
    expect(timeouts).toHaveLength(1);
    expect(stalls).toEqual([]);
  });
});
