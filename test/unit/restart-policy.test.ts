import { describe, expect, it } from 'vitest';
import { decideRestart, type RestartPolicy } from '../../dist/engine/restart-policy.js';

const POLICY: RestartPolicy = { maxRestarts: 3, periodMs: 1000 };

/** Feeds crashes one by one, carrying the history, and returns the actions. */
function crashes(times: number[], policy: RestartPolicy = POLICY): string[] {
  let history: number[] = [];
  return times.map((now) => {
    const d = decideRestart(history, now, policy);
    history = d.history;
    return d.action;
  });
}

describe('decideRestart', () => {
  it('restarts a first crash and records it', () => {
    expect(decideRestart([], 100, POLICY)).toEqual({ action: 'restart', history: [100] });
  });

  it('allows maxRestarts restarts within the period and shuts down on the next', () => {
    expect(crashes([0, 100, 200, 300])).toEqual(['restart', 'restart', 'restart', 'shutdown']);
  });

  it('forgets crashes older than the period (the window slides)', () => {
    // 0, 100, 200 fill the window; at 1050 the crash at 0 has left it.
    expect(crashes([0, 100, 200, 1050])).toEqual(['restart', 'restart', 'restart', 'restart']);
    // The window keeps sliding: at 1150 it holds 200, 1050, 1150; at 1199 the crash at 200 is
    // still inside (999 ms ago), so that is a fourth restart within the period.
    expect(crashes([0, 100, 200, 1050, 1150, 1199])).toEqual([
      'restart', 'restart', 'restart', 'restart', 'restart', 'shutdown',
    ]);
  });

  it('a crash exactly periodMs ago is outside the window', () => {
    const d = decideRestart([0, 500, 600], 1000, POLICY);
    expect(d.history).toEqual([500, 600, 1000]);
    expect(d.action).toBe('restart');
  });

  it('a crash just under periodMs ago is inside the window', () => {
    const d = decideRestart([1, 500, 600], 1000, POLICY);
    expect(d.history).toEqual([1, 500, 600, 1000]);
    expect(d.action).toBe('shutdown');
  });

  it('steady crashes slower than the allowed rate never shut down', () => {
    // One crash every 400 ms: at most 3 (now, -400, -800) in any 1000 ms window.
    const times = Array.from({ length: 50 }, (_, i) => i * 400);
    expect(new Set(crashes(times))).toEqual(new Set(['restart']));
  });

  it('steady crashes faster than the allowed rate shut down', () => {
    const times = Array.from({ length: 10 }, (_, i) => i * 300); // 4 within 1000 ms by the 4th
    expect(crashes(times).indexOf('shutdown')).toBe(3);
  });

  it('the returned history holds only crashes inside the period, including this one', () => {
    const d = decideRestart([0, 100, 900, 950], 1500, POLICY);
    expect(d.history).toEqual([900, 950, 1500]);
  });

  it('maxRestarts 0 shuts down on the first crash', () => {
    expect(decideRestart([], 0, { maxRestarts: 0, periodMs: 1000 }).action).toBe('shutdown');
  });

  it('maxRestarts 1: one restart, then shutdown within the period, restart after it', () => {
    const p = { maxRestarts: 1, periodMs: 1000 };
    expect(crashes([0, 999], p)).toEqual(['restart', 'shutdown']);
    expect(crashes([0, 1000], p)).toEqual(['restart', 'restart']);
  });

  it('does not modify the history it is given', () => {
    const history = Object.freeze([0, 100]) as readonly number[];
    const d = decideRestart(history, 200, POLICY);
    expect(history).toEqual([0, 100]);
    expect(d.history).not.toBe(history);
  });
});
