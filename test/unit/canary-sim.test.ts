import { describe, expect, it } from 'vitest';
import { scenarios, simulate, wilson } from '../../dist/bench/canary-sim-model.js';
import { validateRolloutOptions } from '../../dist/internal.js';

// A small seeded run of src/bench/canary-sim.ts (5,000 rollouts there): only plausibility is asserted here.
describe('canary simulation at the defaults', () => {
  const policy = validateRolloutOptions({});
  const [identical, failing, slow] = scenarios({ failureRate: 0.05, medianMs: 1000, sigma: 0.5 });

  it('promotes identical versions: false rollbacks plausibly ≤ 1 % (200 rollouts)', () => {
    const r = simulate(policy, identical!, 200, 1);
    expect(r.stuck).toBe(0);
    expect(r.rolledBack).toBeLessThanOrEqual(6); // 7 or more of 200 would be unlikely at a true 1 % (P ≈ 0.5 %)
    expect(r.interval[0]).toBeLessThan(0.01);
  });

  it('rolls back a canary failing 50 % within about 20 canary runs', () => {
    const r = simulate(policy, failing!, 100, 2);
    expect(r.rolledBack).toBe(100);
    expect(r.runsToRollback!.p50).toBe(20);
    expect(r.runsToRollback!.p95).toBeLessThanOrEqual(30);
    expect(r.failedChecks.failures).toBeGreaterThan(90);
  });

  it('catches a canary that is only 2× slower on durations', () => {
    const r = simulate(policy, slow!, 50, 3);
    expect(r.rolledBack).toBe(50);
    expect(r.failedChecks).toEqual({ durations: 50 });
  });

  it('gives Wilson intervals around the rate', () => {
    const [lo, hi] = wilson(5, 500);
    expect(lo).toBeCloseTo(0.00427, 4);
    expect(hi).toBeCloseTo(0.02321, 4);
    expect(wilson(0, 100)[0]).toBe(0);
  });
});
