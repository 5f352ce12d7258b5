// The step policy of a canary rollout as a pure state machine: rolloutStep(state, event, now) gives the
// next state and the decisions to journal and act on. Replaying the same events gives the same states,
// so a restart that folds the journaled events resumes at the same step with the same evidence.
import type { RolloutPolicy } from './canary-options.js';
import { judge, type CanaryEvidence, type Judgement } from './canary-judge.js';

export type RolloutStatus = 'running' | 'paused' | 'rolled-back' | 'promoted' | 'aborted';
type Version = 'canary' | 'stable';

/** Durations kept per version (the newest); counts stay exact past it. Bounds the state and each append. */
export const MAX_DURATION_SAMPLES = 5_000;

export interface RolloutState {
  policy: RolloutPolicy;
  status: RolloutStatus;
  /** Index into policy.steps of the current step (the last one reached once ended). */
  stepIndex: number;
  /** Canary weight in percent new tasks are split at: 0 once rolled back or aborted, 100 once promoted. */
  weight: number;
  stepStartedAt: number;
  /** Set while paused: paused time does not count toward stepMs. */
  pausedAt: number | null;
  stepCanaryRuns: number;
  /** Evidence since the rollout began, both versions over the same window. */
  evidence: CanaryEvidence;
  /** Cumulative canary runs at the last judgement: a tick does not judge the same evidence twice. */
  judgedAtCanaryRuns: number;
  checks: number;
  last: Judgement | null;
  /** The step's end was reached with an inconclusive judgement: the weight holds until one passes. */
  holding: boolean;
}

export type RolloutEvent =
  | { type: 'run'; version: Version; ok: boolean; durationMs: number }
  | { type: 'tick' }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'abort' }
  | { type: 'promote' };

export type RolloutDecision =
  | { type: 'check'; step: number; weight: number; judgement: Judgement }
  | { type: 'advance'; from: number; to: number; step: number }
  | { type: 'hold'; step: number; weight: number; reasons: string[] }
  | { type: 'rollback'; from: number; judgement: Judgement }
  | { type: 'promote'; by: 'judge' | 'operator' }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'abort'; from: number }
  | { type: 'ignored'; event: RolloutEvent['type']; reason: string };

export interface RolloutStepResult {
  state: RolloutState;
  decisions: RolloutDecision[];
}

const ENDED: ReadonlySet<RolloutStatus> = new Set(['rolled-back', 'promoted', 'aborted']);

/** A rollout at its first step. `policy` comes from validateRolloutOptions. */
export function startRollout(policy: RolloutPolicy, now: number): RolloutState {
  const empty = { runs: 0, failures: 0, durationsMs: [] as number[] };
  return {
    policy, status: 'running', stepIndex: 0, weight: policy.steps[0]!, stepStartedAt: now, pausedAt: null, stepCanaryRuns: 0,
    evidence: { canary: empty, stable: empty }, judgedAtCanaryRuns: 0, checks: 0, last: null, holding: false,
  };
}

/** The next state and decisions. Never mutates `state`; operator events on an ended rollout are ignored (idempotent). */
export function rolloutStep(state: RolloutState, event: RolloutEvent, now: number): RolloutStepResult {
  switch (event.type) {
    case 'run':
      return onRun(state, event, now);
    case 'tick':
      return state.status === 'running' && state.policy.stepMs !== undefined ? maybeJudge(state, now, false) : { state, decisions: [] };
    case 'pause':
      if (state.status !== 'running') return ignored(state, event, `rollout is ${state.status}`);
      return { state: { ...state, status: 'paused', pausedAt: now }, decisions: [{ type: 'pause' }] };
    case 'resume': {
      if (state.status !== 'paused') return ignored(state, event, `rollout is ${state.status}`);
      const pausedFor = now - (state.pausedAt ?? now);
      const resumed = { ...state, status: 'running' as const, pausedAt: null, stepStartedAt: state.stepStartedAt + pausedFor };
      return { state: resumed, decisions: [{ type: 'resume' }] };
    }
    case 'abort':
      if (ENDED.has(state.status)) return ignored(state, event, `rollout is already ${state.status}`);
      return { state: { ...state, status: 'aborted', weight: 0, pausedAt: null }, decisions: [{ type: 'abort', from: state.weight }] };
    case 'promote':
      if (ENDED.has(state.status)) return ignored(state, event, `rollout is already ${state.status}`);
      return {
        state: { ...state, status: 'promoted', weight: 100, stepIndex: state.policy.steps.length - 1, pausedAt: null },
        decisions: [{ type: 'promote', by: 'operator' }],
      };
  }
}

function ignored(state: RolloutState, event: RolloutEvent, reason: string): RolloutStepResult {
  return { state, decisions: [{ type: 'ignored', event: event.type, reason }] };
}

function append(samples: readonly number[], value: number): number[] {
  const kept = samples.length >= MAX_DURATION_SAMPLES ? samples.slice(samples.length - MAX_DURATION_SAMPLES + 1) : samples.slice();
  kept.push(value);
  return kept;
}

/** A finished run: counted while running or paused; a check when due (every checkEveryRuns canary runs, and at the step's end). */
function onRun(state: RolloutState, event: Extract<RolloutEvent, { type: 'run' }>, now: number): RolloutStepResult {
  // After the end, runs of tasks pinned to the canary still finish: nothing is left to decide.
  if (ENDED.has(state.status)) return { state, decisions: [] };
  const before = state.evidence[event.version];
  const after = {
    runs: before.runs + 1,
    failures: before.failures + (event.ok ? 0 : 1),
    durationsMs: event.ok ? append(before.durationsMs, event.durationMs) : before.durationsMs,
  };
  const isCanary = event.version === 'canary';
  const next: RolloutState = {
    ...state,
    evidence: { ...state.evidence, [event.version]: after },
    stepCanaryRuns: state.stepCanaryRuns + (isCanary ? 1 : 0),
  };
  if (next.status !== 'running' || !isCanary) return { state: next, decisions: [] };
  // Holding at a step's end, only the regular checks look again: every extra look is a chance of a false rollback.
  const due = next.stepCanaryRuns % next.policy.checkEveryRuns === 0 || (!next.holding && stepEnded(next, now));
  return due ? maybeJudge(next, now, true) : { state: next, decisions: [] };
}

function stepEnded(state: RolloutState, now: number): boolean {
  const { stepRuns, stepMs } = state.policy;
  return stepMs !== undefined ? now - state.stepStartedAt >= stepMs : state.stepCanaryRuns >= (stepRuns ?? Infinity);
}

/** Judges (unless this evidence was judged already), then rolls back, advances, promotes or holds. */
function maybeJudge(state: RolloutState, now: number, due: boolean): RolloutStepResult {
  const ended = stepEnded(state, now);
  if (!due && !ended) return { state, decisions: [] };
  const decisions: RolloutDecision[] = [];
  let next = state;
  let judgement = state.last;
  if (judgement === null || state.judgedAtCanaryRuns !== state.evidence.canary.runs) {
    judgement = judge(state.evidence, state.policy.judge);
    next = { ...next, last: judgement, checks: next.checks + 1, judgedAtCanaryRuns: state.evidence.canary.runs };
    decisions.push({ type: 'check', step: state.stepIndex, weight: state.weight, judgement });
  }
  if (judgement.verdict === 'fail') {
    decisions.push({ type: 'rollback', from: state.weight, judgement });
    return { state: { ...next, status: 'rolled-back', weight: 0 }, decisions };
  }
  if (!ended) return { state: next, decisions };
  if (judgement.verdict === 'inconclusive') {
    if (!next.holding) decisions.push({ type: 'hold', step: next.stepIndex, weight: next.weight, reasons: judgement.reasons });
    return { state: { ...next, holding: true }, decisions };
  }
  const steps = next.policy.steps;
  if (next.stepIndex === steps.length - 1) {
    decisions.push({ type: 'promote', by: 'judge' });
    return { state: { ...next, status: 'promoted', weight: 100, holding: false }, decisions };
  }
  const to = steps[next.stepIndex + 1]!;
  decisions.push({ type: 'advance', from: next.weight, to, step: next.stepIndex + 1 });
  return { state: { ...next, stepIndex: next.stepIndex + 1, weight: to, stepStartedAt: now, stepCanaryRuns: 0, holding: false }, decisions };
}
