import { describe, expect, it } from 'vitest';
import { BATCH_BUDGET_MS, BATCH_MAX_TASKS, nextBatchSize, RunTimes, SHORT_MS } from '../../dist/actors/agent/batching.js';

const all = (ms: number | undefined) => () => ms;

describe('nextBatchSize', () => {
  it('launches nothing without ready tasks or with two batches per slot out', () => {
    expect(nextBatchSize({ ready: 0, expected: all(0.01), inFlight: 0, slots: 2 })).toBe(0);
    expect(nextBatchSize({ ready: 100, expected: all(0.01), inFlight: 4, slots: 2 })).toBe(0);
  });

  it('sends a task of unknown or long handler time alone, and only while a slot has no batch', () => {
    expect(nextBatchSize({ ready: 50, expected: all(undefined), inFlight: 0, slots: 2 })).toBe(1);
    expect(nextBatchSize({ ready: 50, expected: all(SHORT_MS * 2), inFlight: 1, slots: 2 })).toBe(1);
    expect(nextBatchSize({ ready: 50, expected: all(SHORT_MS * 2), inFlight: 2, slots: 2 })).toBe(0);
  });

  it('fills a batch with short tasks up to the cap, spread over the batches that may still go out', () => {
    expect(nextBatchSize({ ready: 1_000, expected: all(0.001), inFlight: 0, slots: 2 })).toBe(BATCH_MAX_TASKS);
    expect(nextBatchSize({ ready: 40, expected: all(0.001), inFlight: 0, slots: 2 })).toBe(10);
    expect(nextBatchSize({ ready: 40, expected: all(0.001), inFlight: 3, slots: 2 })).toBe(BATCH_MAX_TASKS);
    // A second batch per slot only for short work.
    expect(nextBatchSize({ ready: 40, expected: all(0.001), inFlight: 2, slots: 2 })).toBe(20);
  });

  it('stops at the handler-time budget and at the first task that is not short', () => {
    const ms = SHORT_MS; // 8 fit the budget
    expect(nextBatchSize({ ready: 1_000, expected: all(ms), inFlight: 0, slots: 1 })).toBe(Math.floor(BATCH_BUDGET_MS / ms));
    const mixed = (i: number) => (i < 3 ? 0.001 : undefined);
    expect(nextBatchSize({ ready: 1_000, expected: mixed, inFlight: 0, slots: 1 })).toBe(3);
  });
});

describe('RunTimes', () => {
  it('knows nothing before the first outcome, then follows a running mean per agent and overall', () => {
    const t = new RunTimes();
    expect(t.expected('a')).toBeUndefined();
    expect(t.short).toBe(false);
    t.record('a', 0.01);
    expect(t.expected('a')).toBe(0.01);
    expect(t.short).toBe(true);
    for (let i = 0; i < 30; i += 1) t.record('b', 50);
    expect(t.expected('a')).toBe(0.01);
    expect(t.expected('b')).toBeCloseTo(50, 0);
    expect(t.short).toBe(false);
  });
});
