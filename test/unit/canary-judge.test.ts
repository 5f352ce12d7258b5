import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { judge, type VersionEvidence } from '../../dist/core/canary-judge.js';
import { CANARY_DEFAULTS, validateJudgeOptions, validateRolloutOptions } from '../../dist/core/canary-options.js';
import { TroupeError } from '../../dist/index.js';

/** `runs` runs of which `failures` failed; the succeeded ones took `ms(i)`. */
function version(runs: number, failures: number, ms: (i: number) => number = (i) => 900 + ((i * 37) % 200)): VersionEvidence {
  return { runs, failures, durationsMs: Array.from({ length: runs - failures }, (_, i) => ms(i)) };
}

const config = validateJudgeOptions({});

describe('judge', () => {
  it('is inconclusive, never pass, below minCanaryRuns, whatever the evidence', () => {
    const j = judge({ canary: version(19, 0), stable: version(500, 25) }, config);
    expect(j.verdict).toBe('inconclusive');
    expect(j.failed).toEqual([]);
    expect(j.reasons[0]).toMatch(/too few canary runs: 19 < minCanaryRuns 20/);
    expect(judge({ canary: version(19, 19), stable: version(500, 0) }, config).verdict).toBe('inconclusive');
  });

  it('passes an identical canary, each check with its figures', () => {
    const j = judge({ canary: version(40, 2), stable: version(360, 18) }, config);
    expect(j.verdict).toBe('pass');
    expect(j.figures.checks).toEqual({ 'error-rate': 'pass', failures: 'pass', durations: 'pass' });
    expect(j.figures.failureP).toBeGreaterThan(0.3);
    expect(j.figures.durationMethod).toBe('normal');
    expect(j.reasons).toHaveLength(3);
  });

  it('fails a canary failing half its runs on the Fisher test, naming the test, p-value and rates', () => {
    const j = judge({ canary: version(20, 10), stable: version(180, 9) }, config);
    expect(j.verdict).toBe('fail');
    expect(j.failed).toEqual(['failures']);
    expect(j.figures.failureP).toBeCloseTo(4.850292767484136e-7, 15);
    expect(j.reasons[0]).toBe('failures: Fisher one-sided p = 4.85e-7 < alpha 0.001 (canary 10/20 = 50.0%, stable 9/180 = 5.0%)');
  });

  it('fails on the absolute ceiling even with too few stable runs to compare', () => {
    const j = judge({ canary: version(20, 11), stable: version(5, 0) }, config);
    expect(j.verdict).toBe('fail');
    expect(j.failed).toEqual(['error-rate']);
    expect(j.reasons[0]).toBe('error rate: canary 11/20 failed (55.0%) > maxErrorRate 50.0%');
    expect(j.figures.checks.failures).toBe('inconclusive');
  });

  it('is inconclusive, not pass, with too few stable runs', () => {
    const j = judge({ canary: version(30, 0), stable: version(3, 0) }, config);
    expect(j.verdict).toBe('inconclusive');
    expect(j.reasons.join('\n')).toMatch(/too few stable runs to compare: 3 < minStableRuns 20/);
  });

  it('fails a 2× slower canary on durations, with medians and the ratio', () => {
    const j = judge({ canary: version(20, 1, (i) => 1800 + i * 20), stable: version(180, 9) }, config);
    expect(j.verdict).toBe('fail');
    expect(j.failed).toEqual(['durations']);
    expect(j.figures.medianRatio).toBeGreaterThan(1.9);
    expect(j.reasons[0]).toMatch(/^durations: Mann-Whitney one-sided p = .* < durationAlpha 0\.001, median canary \d+ ms vs stable \d+ ms \(×1\.9\d\) ≥ maxMedianRatio 1\.5/);
  });

  it('passes a significant slowdown below maxMedianRatio (the effect-size floor)', () => {
    const j = judge({ canary: version(400, 0, (i) => 1100 + (i % 100)), stable: version(400, 0, (i) => 1000 + (i % 100)) }, config);
    expect(j.figures.durationP).toBeLessThan(0.001);
    expect(j.figures.checks.durations).toBe('pass');
    expect(j.verdict).toBe('pass');
  });

  it('is inconclusive on durations when no succeeded canary run leaves a duration', () => {
    const j = judge({ canary: { runs: 20, failures: 0, durationsMs: [] }, stable: version(100, 0) }, config);
    expect(j.verdict).toBe('inconclusive');
    expect(j.figures.checks.durations).toBe('inconclusive');
  });

  it('refuses impossible evidence', () => {
    expect(() => judge({ canary: version(20, 0), stable: { runs: 3, failures: 4, durationsMs: [] } }, config)).toThrow(/stable\.failures/);
  });

  it('never passes below minCanaryRuns, and a fail always names a failed check (property)', () => {
    const ev = fc.record({ runs: fc.nat(80), failures: fc.nat(80), slow: fc.boolean() });
    fc.assert(
      fc.property(ev, ev, (c, s) => {
        const canary = version(c.runs, Math.min(c.failures, c.runs), (i) => (c.slow ? 3000 : 1000) + i);
        const stable = version(s.runs, Math.min(s.failures, s.runs), (i) => 1000 + i);
        const j = judge({ canary, stable }, config);
        if (c.runs < config.minCanaryRuns) expect(j.verdict).toBe('inconclusive');
        expect(j.verdict === 'fail').toBe(j.failed.length > 0);
        if (j.verdict === 'pass') expect(Object.values(j.figures.checks).every((v) => v === 'pass')).toBe(true);
      }),
      { seed: 20, numRuns: 300 },
    );
  });
});

describe('judge and rollout options', () => {
  it('applies the defaults', () => {
    expect(validateJudgeOptions(undefined)).toEqual(CANARY_DEFAULTS.judge);
    const policy = validateRolloutOptions({});
    expect(policy).toMatchObject({ steps: [10, 25, 50, 75, 100], stepRuns: 40, checkEveryRuns: 10, judge: CANARY_DEFAULTS.judge });
    expect(validateRolloutOptions({ stepMs: 60_000 })).not.toHaveProperty('stepRuns');
  });

  it.each<[unknown, string, RegExp]>([
    [{ alpha: 0 }, 'rollout.judge.alpha', /too small/i],
    [{ maxErrorRate: 1.5 }, 'rollout.judge.maxErrorRate', /too big/i],
    [{ minCanaryRuns: 2.5 }, 'rollout.judge.minCanaryRuns', /expected int/],
    [{ maxMedianRatio: 0.5 }, 'rollout.judge.maxMedianRatio', /too small/i],
    [{ alfa: 0.01 }, 'rollout.judge.alfa', /not a known option/],
  ])('names the judge option, the rule and the value: %j', (input, field, rule) => {
    try {
      validateJudgeOptions(input);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TroupeError);
      expect((err as TroupeError).code).toBe('TROUPE_INVALID_OPTIONS');
      expect((err as TroupeError).details.field).toBe(field);
      expect((err as TroupeError).message).toMatch(rule);
      expect((err as TroupeError).message).toMatch(/\(got .+\)$/);
    }
  });

  it.each<[unknown, string, RegExp]>([
    [{ steps: [10, 50, 25, 100] }, 'rollout.steps', /must increase strictly/],
    [{ steps: [10, 20, 50] }, 'rollout.steps', /must end at 100/],
    [{ steps: [0, 100] }, 'rollout.steps.0', /too small/i],
    [{ stepRuns: 10, stepMs: 1000 }, 'rollout.stepMs', /give stepRuns or stepMs, not both/],
    [{ judge: { alpha: 2 } }, 'rollout.judge.alpha', /too big/i],
  ])('names the rollout option, the rule and the value: %j', (input, field, rule) => {
    expect(() => validateRolloutOptions(input)).toThrow(rule);
    try {
      validateRolloutOptions(input);
    } catch (err) {
      expect((err as TroupeError).details.field).toBe(field);
    }
  });
});
