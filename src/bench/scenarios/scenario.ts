/**
 * What every acceptance scenario is and returns. A scenario runs the real runtime, checks its pass
 * criteria, and reports a few figures; the workload `scenarios` turns each into a table row and
 * fails (exit status 1) as soon as a criterion does not hold.
 */

/** One pass criterion and what was observed against it. */
export interface Check {
  /** The criterion, stated so that it reads as true when it holds: "max concurrent per server = 2". */
  criterion: string;
  ok: boolean;
  /** The observed values, for the failure message and the record. */
  detail: string;
}

/** The figures every scenario reports: the same columns for every row of the table. */
export interface ScenarioFigures {
  elapsedMs: number;
  /** Tasks the scenario submitted (created or not: a claim that found its key counts too). */
  tasks: number;
  /** Latency of the scenario's unit of work (its description says which), ms. */
  p50Ms: number;
  p99Ms: number;
  /** The one figure that says the most about this scenario (its row label names it). */
  key: number;
}

export interface ScenarioReport {
  checks: Check[];
  figures: ScenarioFigures;
  facts: Record<string, number | string>;
}

export interface Scenario {
  /** `a` to `f` as in the issue that asked for them (issue 6), `g` on (later issues). */
  id: string;
  /** Another name `troupe bench scenarios --only` takes for it (`hierarchy`). */
  alias?: string;
  /** What it checks, in a few words: "atomic claiming". */
  name: string;
  /** Row label; ends with what the key figure is. */
  label: string;
  /** Criteria and method, one or two sentences, for the text under the table. */
  method: string;
  run(): Promise<ScenarioReport>;
}

export function check(criterion: string, ok: boolean, detail: string): Check {
  return { criterion, ok, detail };
}

/** "scenario (b) queueing failed: max concurrent per server = 2 does not hold (server-a 3, ...)", or undefined if all hold. */
export function failureMessage(scenario: Scenario, checks: readonly Check[]): string | undefined {
  const broken = checks.filter((c) => !c.ok);
  if (broken.length === 0) return undefined;
  return `scenario (${scenario.id}) ${scenario.name} failed: ${broken.map((c) => `${c.criterion} does not hold (${c.detail})`).join('; ')}`;
}
