// Seeded Monte-Carlo rollouts through the real judge and step policy: tasks arrive one at a time, each is
// split by bucket and weight, runs on its version (failure rate, lognormal duration) and reports its run
// before the next one arrives (no runs in flight). Used by canary-sim.ts and test/unit/canary-sim.test.ts.
import { BUCKETS, rolloutStep, startRollout, versionFor, type RolloutPolicy } from '../internal.js';
import { mulberry32, standardNormal } from './lognormal.js';

export interface VersionModel {
  failureRate: number;
  medianMs: number;
}

export interface Scenario {
  name: string;
  stable: VersionModel;
  canary: VersionModel;
  /** Spread of ln(duration) of both versions. */
  sigma: number;
}

export interface RolloutOutcome {
  status: 'promoted' | 'rolled-back' | 'stuck';
  /** Canary runs when the rollout ended. */
  canaryRuns: number;
  tasks: number;
  checks: number;
  /** The checks that failed at the rollback. */
  failed: string[];
}

/** Tasks after which a rollout that neither promoted nor rolled back counts as stuck. */
const MAX_TASKS = 200_000;

export function simulateRollout(policy: RolloutPolicy, scenario: Scenario, uniform: () => number, normal: () => number): RolloutOutcome {
  let state = startRollout(policy, 0);
  let failed: string[] = [];
  let tasks = 0;
  while (state.status === 'running' && tasks < MAX_TASKS) {
    tasks++;
    const version = versionFor(Math.floor(uniform() * BUCKETS), state.weight);
    const model = scenario[version];
    const ok = uniform() >= model.failureRate;
    const durationMs = model.medianMs * Math.exp(scenario.sigma * normal());
    const step = rolloutStep(state, { type: 'run', version, ok, durationMs }, tasks);
    state = step.state;
    for (const d of step.decisions) if (d.type === 'rollback') failed = d.judgement.failed;
  }
  const status = state.status === 'promoted' || state.status === 'rolled-back' ? state.status : 'stuck';
  return { status, canaryRuns: state.evidence.canary.runs, tasks, checks: state.checks, failed };
}

export interface Summary {
  scenario: string;
  rollouts: number;
  promoted: number;
  rolledBack: number;
  stuck: number;
  /** Share rolled back, with a Wilson 95 % interval. */
  rollbackRate: number;
  interval: [number, number];
  /** Canary runs until rollback, over the rolled-back rollouts. */
  runsToRollback: { p50: number; p95: number; max: number } | null;
  /** Share of all tasks the canary ran until its rollback (mean over the rolled-back rollouts). */
  canaryShareAtRollback: number | null;
  /** How often each check failed at a rollback. */
  failedChecks: Record<string, number>;
  meanChecks: number;
}

/** Wilson score interval for k successes of n at 95 %. */
export function wilson(k: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const z = 1.959964;
  const p = k / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

export function simulate(policy: RolloutPolicy, scenario: Scenario, rollouts: number, seed: number): Summary {
  const uniform = mulberry32(seed);
  const normal = standardNormal(uniform);
  const runs: number[] = [];
  const shares: number[] = [];
  const failedChecks: Record<string, number> = {};
  let promoted = 0;
  let stuck = 0;
  let checks = 0;
  for (let i = 0; i < rollouts; i++) {
    const o = simulateRollout(policy, scenario, uniform, normal);
    checks += o.checks;
    if (o.status === 'promoted') promoted++;
    else if (o.status === 'stuck') stuck++;
    else {
      runs.push(o.canaryRuns);
      shares.push(o.canaryRuns / o.tasks);
      for (const c of o.failed) failedChecks[c] = (failedChecks[c] ?? 0) + 1;
    }
  }
  runs.sort((a, b) => a - b);
  const rolledBack = runs.length;
  return {
    scenario: scenario.name,
    rollouts,
    promoted,
    rolledBack,
    stuck,
    rollbackRate: rolledBack / rollouts,
    interval: wilson(rolledBack, rollouts),
    runsToRollback: rolledBack === 0 ? null : { p50: quantile(runs, 0.5), p95: quantile(runs, 0.95), max: runs[rolledBack - 1]! },
    canaryShareAtRollback: rolledBack === 0 ? null : shares.reduce((a, b) => a + b, 0) / rolledBack,
    failedChecks,
    meanChecks: checks / rollouts,
  };
}

/** The three cases of issue 20: identical versions, a canary failing half its runs, one twice as slow. */
export function scenarios(base: { failureRate: number; medianMs: number; sigma: number }): Scenario[] {
  const stable = { failureRate: base.failureRate, medianMs: base.medianMs };
  return [
    { name: 'identical', stable, canary: stable, sigma: base.sigma },
    { name: 'canary fails 50%', stable, canary: { ...stable, failureRate: 0.5 }, sigma: base.sigma },
    { name: 'canary 2x slower', stable, canary: { ...stable, medianMs: base.medianMs * 2 }, sigma: base.sigma },
  ];
}
