import { describe, expect, it } from 'vitest';
import { rolloutStep, startRollout, type RolloutDecision, type RolloutEvent, type RolloutState } from '../../dist/core/canary-rollout.js';
import { validateRolloutOptions } from '../../dist/core/canary-options.js';

const ok = (durationMs = 1000): RolloutEvent => ({ type: 'run', version: 'canary', ok: true, durationMs });
const stableOk = (durationMs = 1000): RolloutEvent => ({ type: 'run', version: 'stable', ok: true, durationMs });

/** Folds events through rolloutStep from `state`, at increasing times; returns the last state and every decision. */
function fold(state: RolloutState, events: RolloutEvent[], t0 = 0): { state: RolloutState; decisions: RolloutDecision[] } {
  const decisions: RolloutDecision[] = [];
  let now = t0;
  for (const e of events) {
    const r = rolloutStep(state, e, ++now);
    state = r.state;
    decisions.push(...r.decisions);
  }
  return { state, decisions };
}

/** A step's traffic at weight w%: per canary run, (100 − w) / w stable runs first (rounded), varied durations. */
function traffic(weight: number, canaryRuns: number, canary: (i: number) => RolloutEvent = (i) => ok(950 + (i % 10) * 10)): RolloutEvent[] {
  const out: RolloutEvent[] = [];
  const ratio = Math.max(0, Math.round((100 - weight) / weight));
  for (let i = 0; i < canaryRuns; i++) {
    for (let j = 0; j < ratio; j++) out.push(stableOk(950 + ((i + j) % 10) * 10));
    out.push(canary(i));
  }
  return out;
}

const types = (ds: RolloutDecision[]): string[] => ds.filter((d) => d.type !== 'check').map((d) => d.type);

describe('rolloutStep', () => {
  const policy = validateRolloutOptions({});

  it('starts at the first weight and promotes a healthy canary through every step', () => {
    let s = startRollout(policy, 0);
    expect(s).toMatchObject({ status: 'running', stepIndex: 0, weight: 10 });
    const weights: number[] = [];
    for (const w of [10, 25, 50, 75, 100]) {
      const r = fold(s, traffic(w, 40));
      s = r.state;
      weights.push(s.weight);
    }
    expect(weights).toEqual([25, 50, 75, 100, 100]);
    expect(s.status).toBe('promoted');
    expect(s.checks).toBe(20); // 4 per step; the one at 10 canary runs inconclusive
  });

  it('advances only at the step end, with one check every checkEveryRuns canary runs', () => {
    const r = fold(startRollout(policy, 0), traffic(10, 39));
    expect(r.state.stepIndex).toBe(0);
    expect(r.decisions.filter((d) => d.type === 'check').map((d) => (d as { judgement: { verdict: string } }).judgement.verdict)).toEqual(['inconclusive', 'pass', 'pass']);
    const last = fold(r.state, [ok()], 1000);
    expect(types(last.decisions)).toEqual(['advance']);
    expect(last.decisions.at(-1)).toEqual({ type: 'advance', from: 10, to: 25, step: 1 });
    expect(last.state).toMatchObject({ stepIndex: 1, weight: 25, stepCanaryRuns: 0, stepStartedAt: 1001 });
  });

  it('rolls back at once on a failing check: weight 0, the judgement kept; later runs change nothing', () => {
    const failing = (i: number): RolloutEvent => (i % 2 === 0 ? { type: 'run', version: 'canary', ok: false, durationMs: 10 } : ok());
    const r = fold(startRollout(policy, 0), traffic(10, 20, failing));
    expect(r.state).toMatchObject({ status: 'rolled-back', weight: 0 });
    const rollback = r.decisions.find((d) => d.type === 'rollback') as Extract<RolloutDecision, { type: 'rollback' }>;
    expect(rollback.from).toBe(10);
    expect(rollback.judgement.failed).toContain('failures');
    expect(r.state.evidence.canary.runs).toBe(20);
    const after = rolloutStep(r.state, ok(), 9999);
    expect(after.state).toBe(r.state);
    expect(after.decisions).toEqual([]);
  });

  it('holds at the step end while inconclusive (too few stable runs), once, then advances when a check passes', () => {
    const p = validateRolloutOptions({ stepRuns: 20 });
    const onlyCanary = fold(startRollout(p, 0), Array.from({ length: 20 }, () => ok()));
    expect(types(onlyCanary.decisions)).toEqual(['hold']);
    expect(onlyCanary.state).toMatchObject({ holding: true, stepIndex: 0, weight: 10 });
    // Further canary runs judge again only every checkEveryRuns: no extra looks, no second hold.
    const more = fold(onlyCanary.state, Array.from({ length: 9 }, () => ok()));
    expect(more.decisions).toEqual([]);
    const withStable = fold(more.state, [...traffic(10, 1).slice(0, -1), ...Array.from({ length: 30 }, () => stableOk()), ok()]);
    expect(types(withStable.decisions)).toEqual(['advance']);
    expect(withStable.state).toMatchObject({ stepIndex: 1, holding: false });
  });

  it('with stepMs, a step ends on time (tick), paused time excluded', () => {
    const p = validateRolloutOptions({ stepMs: 1000 });
    let s = startRollout(p, 0);
    s = fold(s, traffic(10, 30), 0).state; // times 1..300: checks at 10, 20, 30 canary runs
    expect(rolloutStep(s, { type: 'tick' }, 999).decisions).toEqual([]);
    s = rolloutStep(s, { type: 'pause' }, 500).state;
    expect(rolloutStep(s, { type: 'tick' }, 1500).decisions).toEqual([]); // paused: ticks do nothing
    s = rolloutStep(s, { type: 'resume' }, 800).state; // paused 300 ms: the step ends at 1300
    expect(s.stepStartedAt).toBe(300);
    expect(rolloutStep(s, { type: 'tick' }, 1299).decisions).toEqual([]);
    const end = rolloutStep(s, { type: 'tick' }, 1300);
    // The evidence was judged at the 30th canary run already: the tick reuses that judgement.
    expect(end.decisions).toEqual([{ type: 'advance', from: 10, to: 25, step: 1 }]);
  });

  it('counts runs while paused but neither checks nor advances; resume resumes', () => {
    let s = rolloutStep(startRollout(policy, 0), { type: 'pause' }, 1).state;
    const paused = fold(s, traffic(10, 40));
    expect(paused.decisions).toEqual([]);
    expect(paused.state).toMatchObject({ status: 'paused', stepIndex: 0, checks: 0 });
    expect(paused.state.evidence.canary.runs).toBe(40);
    s = rolloutStep(paused.state, { type: 'resume' }, 1000).state;
    expect(types(fold(s, [ok()]).decisions)).toEqual(['advance']); // the step's end is overdue: the next run judges it
  });

  it('takes operator pause, resume, abort and promote; repeats and events after the end are ignored', () => {
    const s0 = startRollout(policy, 0);
    const paused = rolloutStep(s0, { type: 'pause' }, 5);
    expect(paused.decisions).toEqual([{ type: 'pause' }]);
    expect(rolloutStep(paused.state, { type: 'pause' }, 6).decisions).toEqual([{ type: 'ignored', event: 'pause', reason: 'rollout is paused' }]);
    expect(rolloutStep(s0, { type: 'resume' }, 6).decisions[0]).toMatchObject({ type: 'ignored' });
    const aborted = rolloutStep(paused.state, { type: 'abort' }, 7);
    expect(aborted.state).toMatchObject({ status: 'aborted', weight: 0 });
    expect(aborted.decisions).toEqual([{ type: 'abort', from: 10 }]);
    expect(rolloutStep(aborted.state, { type: 'abort' }, 8).decisions).toEqual([{ type: 'ignored', event: 'abort', reason: 'rollout is already aborted' }]);
    expect(rolloutStep(aborted.state, { type: 'promote' }, 8).state).toBe(aborted.state);
    const promoted = rolloutStep(s0, { type: 'promote' }, 9);
    expect(promoted.state).toMatchObject({ status: 'promoted', weight: 100, stepIndex: 4 });
    expect(promoted.decisions).toEqual([{ type: 'promote', by: 'operator' }]);
    expect(rolloutStep(promoted.state, { type: 'abort' }, 10).decisions[0]).toMatchObject({ type: 'ignored' });
  });

  it('is pure and replayable: the input state is untouched and a replay gives an equal state', () => {
    const events = traffic(10, 45);
    const s0 = startRollout(policy, 0);
    const frozen = JSON.stringify(s0);
    const a = fold(s0, events);
    expect(JSON.stringify(s0)).toBe(frozen);
    expect(JSON.parse(JSON.stringify(fold(s0, events).state))).toEqual(JSON.parse(JSON.stringify(a.state)));
  });
});
