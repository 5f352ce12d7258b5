/**
 * The benchmark harness: a workload is a list of sections (one table each), a section a list of
 * cases (one row each). The harness runs every case once as a warm-up (discarded) and then
 * `runs` times, rotating the order of the cases from run to run so that drift on a noisy machine
 * does not always favour the same row, and reduces the samples to medians and to ratios against
 * the section's baseline measured in the same run.
 */
import { summarise, type Summary } from './stats.js';

/** One figure a section reports for each of its rows. */
export interface Metric {
  /** Key in the object `Case#measure` returns, e.g. `tasksPerSec`. */
  key: string;
  /** Column header, e.g. `tasks/s`. */
  label: string;
  /** Decimal places in the reports. */
  digits: number;
  better: 'higher' | 'lower';
  /** False: no ratio to the baseline for this metric (a count that is 0 in the baseline row). */
  ratio?: boolean;
  /**
   * True: a row may lack this figure (one only some systems report, e.g. Troupe's journal commits
   * beside another queue); the reports show a dash. Only for metrics with `ratio: false`.
   */
  optional?: boolean;
}

/** What one measurement of a case produced. */
export interface Measurement {
  /** A value for every metric of the section. */
  figures: Record<string, number>;
  /** Facts worth keeping in the JSON results (threads used, elapsed ms, ...); not summarised. */
  facts?: Record<string, number | string>;
}

/** A row: one system under test. `measure` sets up (untimed), times the work, and tears down. */
export interface Case {
  id: string;
  label: string;
  /** Short name used in the ratio column header when this case is the baseline. */
  short?: string;
  measure(): Promise<Measurement>;
}

export interface Section {
  id: string;
  title: string;
  /** How the figures are obtained, one sentence or two; printed under the table. */
  method: string;
  metrics: Metric[];
  /** Id of the case every row is divided by, run by run. */
  baseline?: string;
  cases: Case[];
}

export interface BenchOptions {
  /** Measured runs per case, after one warm-up run. */
  runs: number;
  /** Tasks per throughput measurement. */
  tasks: number;
  /** Tasks per latency measurement (one at a time). */
  latencyTasks: number;
  /** Tasks submitted in one burst and held queued (workload `burst`). */
  queued: number;
  /** Tasks accepted and in flight when the process is killed (workload `recovery`). */
  inFlight: number;
  /** Rows to run, by id or alias, in the workloads that offer a choice (`scenarios`); absent: all. */
  only?: readonly string[];
}

export interface Workload {
  name: string;
  title: string;
  summary: string;
  /** The sections to measure with these options. */
  plan(options: BenchOptions): Section[];
  /** The names `--only` may pick from (a workload without them runs all its rows). */
  selectable?: readonly string[];
  /** What the figures say, in a few sentences computed from them, printed under the tables. */
  conclude?(sections: readonly SectionResult[]): string[];
}

export interface RowResult {
  id: string;
  label: string;
  /** Per metric, across the measured runs; absent for an optional metric the row does not report. */
  figures: Record<string, Summary>;
  /**
   * Per metric, this row divided by the baseline row of the same run. Absent without a baseline,
   * and for metrics with `ratio: false`.
   */
  ratio?: Record<string, Summary>;
  /** The discarded warm-up figures, for the record. */
  warmup: Record<string, number>;
  /** Facts of each measured run. */
  facts: Record<string, number | string>[];
}

export interface SectionResult {
  id: string;
  title: string;
  method: string;
  metrics: Metric[];
  baseline?: { id: string; label: string; short: string };
  rows: RowResult[];
}

export type ProgressFn = (state: { section: string; caseId: string; run: number; runs: number; warmup: boolean }) => void;

/** Measures every case of every section: 1 warm-up run then `runs` measured runs. */
export async function runSections(sections: Section[], runs: number, progress: ProgressFn = () => {}): Promise<SectionResult[]> {
  const results: SectionResult[] = [];
  for (const section of sections) results.push(await runSection(section, runs, progress));
  return results;
}

async function runSection(section: Section, runs: number, progress: ProgressFn): Promise<SectionResult> {
  const baseline = section.baseline === undefined ? undefined : section.cases.find((c) => c.id === section.baseline);
  if (section.baseline !== undefined && baseline === undefined) {
    throw new Error(`bench section ${section.id}: baseline "${section.baseline}" is not one of its cases`);
  }
  for (const metric of section.metrics) {
    if (metric.optional === true && metric.ratio !== false) {
      throw new Error(`bench section ${section.id}: optional metric ${metric.key} must have ratio: false`);
    }
  }
  // measured[run][caseId]; run 0 is the warm-up.
  const measured: Map<string, Measurement>[] = [];
  for (let run = 0; run <= runs; run += 1) {
    const byCase = new Map<string, Measurement>();
    for (const c of rotate(section.cases, run)) {
      progress({ section: section.id, caseId: c.id, run, runs, warmup: run === 0 });
      collectGarbage();
      const m = await c.measure();
      for (const metric of section.metrics) {
        const v = m.figures[metric.key];
        if (v === undefined && metric.optional === true) continue;
        if (v === undefined || !Number.isFinite(v)) {
          throw new Error(`bench case ${section.id}/${c.id}: metric ${metric.key} is ${String(v)}`);
        }
      }
      byCase.set(c.id, m);
    }
    measured.push(byCase);
  }
  const kept = measured.slice(1);
  const rows = section.cases.map((c): RowResult => {
    const of = (run: Map<string, Measurement>) => run.get(c.id)!;
    const figures: Record<string, Summary> = {};
    const ratio: Record<string, Summary> = {};
    for (const { key, ratio: withRatio } of section.metrics) {
      const values = kept.map((run) => of(run).figures[key]);
      const present = values.filter((v): v is number => v !== undefined);
      if (present.length === 0) continue; // an optional metric this row does not report
      if (present.length < values.length) throw new Error(`bench case ${section.id}/${c.id}: metric ${key} is missing in some runs`);
      figures[key] = summarise(present);
      if (baseline !== undefined && withRatio !== false) {
        ratio[key] = summarise(kept.map((run) => of(run).figures[key]! / run.get(baseline.id)!.figures[key]!));
      }
    }
    return {
      id: c.id,
      label: c.label,
      figures,
      ...(baseline === undefined ? {} : { ratio }),
      warmup: { ...of(measured[0]!).figures },
      facts: kept.map((run) => ({ ...of(run).facts })),
    };
  });
  return {
    id: section.id,
    title: section.title,
    method: section.method,
    metrics: section.metrics,
    ...(baseline === undefined ? {} : { baseline: { id: baseline.id, label: baseline.label, short: baseline.short ?? baseline.label } }),
    rows,
  };
}

function rotate<T>(items: readonly T[], by: number): T[] {
  if (items.length === 0) return [];
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** With `node --expose-gc`, start every measurement from a collected heap. */
function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc === 'function') gc();
}

export const gcBetweenCases = (): boolean => typeof (globalThis as { gc?: unknown }).gc === 'function';
