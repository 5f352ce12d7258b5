/**
 * Workload `scenarios`: the acceptance scenarios of the system Troupe replaces (issue 6), each run
 * on the real runtime with explicit pass criteria: (a) 3 agents at once, (b) load above capacity
 * queued under a per-server limit of 2, (c) error recovery with retries and the breaker, (d) the
 * Metrics actor against the harness's own observations, (e) 10+ concurrent workflows under 10× load,
 * (f) atomic claiming by idempotency key; and (g) an executive, its managers and their specialists
 * (issue 17). `--only g` (or `hierarchy`) runs some of them. One row per scenario; `passed` is 1 when every criterion
 * held. A criterion that does not hold, in any run (the warm-up included), fails the workload: it
 * throws, naming the scenario, the criterion and what was observed, and `troupe bench` exits 1.
 */
import type { Case, Measurement, Section, Workload } from '../harness.js';
import { concurrentAgents } from '../scenarios/a-concurrent-agents.js';
import { queueing } from '../scenarios/b-queueing.js';
import { errorRecovery } from '../scenarios/c-error-recovery.js';
import { monitoring } from '../scenarios/d-monitoring.js';
import { stressWorkflows } from '../scenarios/e-stress-workflows.js';
import { atomicClaiming } from '../scenarios/f-atomic-claiming.js';
import { hierarchy } from '../scenarios/g-hierarchy.js';
import { failureMessage, type Scenario } from '../scenarios/scenario.js';

const SCENARIOS: readonly Scenario[] = [concurrentAgents, queueing, errorRecovery, monitoring, stressWorkflows, atomicClaiming, hierarchy];

/** The scenarios `--only` picks (by id or alias), or all of them. */
function chosen(only: readonly string[] | undefined): Scenario[] {
  return SCENARIOS.filter((s) => only === undefined || only.includes(s.id) || (s.alias !== undefined && only.includes(s.alias)));
}

/** A row: runs the scenario, throws if a criterion failed, else reports its figures with passed = 1. */
function scenarioCase(scenario: Scenario): Case {
  let run = 0; // 0 is the harness's warm-up run
  return {
    id: scenario.id,
    label: scenario.label,
    async measure(): Promise<Measurement> {
      const thisRun = run;
      run += 1;
      const report = await scenario.run();
      const failed = failureMessage(scenario, report.checks);
      if (failed !== undefined) throw new Error(`${failed} [run ${thisRun}${thisRun === 0 ? ', the warm-up' : ''}]`);
      return {
        // Every criterion held, or measure() threw above: passed is 1 in any table that gets printed.
        figures: { passed: 1, ...report.figures },
        facts: { ...report.facts, criteria: report.checks.map((c) => `${c.criterion}: ${c.detail}`).join(' | ') },
      };
    },
  };
}

export const scenarios: Workload = {
  name: 'scenarios',
  title: 'Acceptance scenarios (a)–(g), pass/fail',
  summary: 'the acceptance scenarios of issues 6 and 17 (concurrency, queueing, recovery, metrics, stress, claiming, hierarchy), each pass/fail',
  selectable: SCENARIOS.flatMap((s) => (s.alias === undefined ? [s.id] : [s.id, s.alias])),
  plan(options): Section[] {
    const picked = chosen(options.only);
    return [
      {
        id: 'scenarios',
        title: 'Acceptance scenarios, each on a fresh runtime',
        method:
          'Each row runs one scenario on its own runtime (real threads and subprocesses; journal files in a fresh temp directory ' +
          'where noted) and checks every criterion below in every run, the warm-up included; a criterion that fails stops the ' +
          'workload with exit status 1 and a message naming the scenario, the criterion and what was seen, so passed is 1 in ' +
          'any printed table. elapsed: the scenario\'s timed part; tasks: tasks submitted (claims in (f)); p50/p99: per task, ' +
          'submit → result, unless said otherwise; key figure: named in the row. ' +
          picked.map((s) => s.method).join(' '),
        metrics: [
          { key: 'passed', label: 'passed', digits: 0, better: 'higher', ratio: false },
          { key: 'elapsedMs', label: 'elapsed ms', digits: 0, better: 'lower', ratio: false },
          { key: 'tasks', label: 'tasks', digits: 0, better: 'higher', ratio: false },
          { key: 'p50Ms', label: 'p50 ms', digits: 1, better: 'lower', ratio: false },
          { key: 'p99Ms', label: 'p99 ms', digits: 1, better: 'lower', ratio: false },
          { key: 'key', label: 'key figure', digits: 2, better: 'higher', ratio: false },
        ],
        cases: picked.map(scenarioCase),
      },
    ];
  },
};
