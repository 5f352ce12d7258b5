/**
 * Workload `distribution`: which manager a specialist runs under, strategy by strategy (issue 17).
 * Three managers (maxChildren 3, 3 and 2) take a batch of specialists with lognormal durations,
 * distributed by `at-dispatch` (bound when a slot frees), `round-robin`, `least-loaded` or
 * `capacity-aware` (bound at submission), in the three cases of the research simulation: equal
 * speeds (σ 1.0), one manager's specialists twice as slow, and skewed durations (σ 1.5). Each
 * row is scored against at-dispatch in the same run, the lower bound and a zero-overhead
 * simulation of the same bindings; the conclusion says which strategy the figures favour.
 */
import type { Strategy } from '../../index.js';
import type { HierarchySpecialistResult } from '../agents/hierarchy-specialist.js';
import { conclusion } from '../distribution-conclusion.js';
import { eventsOf, releaseManagers, SPECIALIST_AGENT, startManagers, withHierarchyRuntime, type HierarchyRuntime } from '../distribution-runtime.js';
import { countByTask, lowerBound, peakByManager, runFigures, simulateMakespan, taskTimes, type SimManager } from '../distribution-stats.js';
import type { BenchOptions, Case, Measurement, Metric, Section, Workload } from '../harness.js';
import { lognormalSample } from '../lognormal.js';
import { withTempDir } from '../scenarios/environment.js';
import { settle } from '../scenarios/event-tally.js';

/** Specialists per run (fewer with a smaller --tasks). */
export const DISTRIBUTION_TASKS = 80;
/** The managers' maxChildren, as in the research simulation. */
const CAPACITIES = [3, 3, 2] as const;
const SLOTS = CAPACITIES.reduce((a, b) => a + b, 0);
/** Median specialist duration: a minute in the simulation, scaled down so that a run of the workload lasts seconds. */
const MEDIAN_MS = 50;
/**
 * Longest duration drawn: 30 × the median. σ 1.5 puts about one draw in 80 past it, and an uncapped
 * 3.4σ draw (8 s) once made a run's makespan that one task, whatever the strategy.
 */
const MAX_MS = 30 * MEDIAN_MS;
/** The strategies compared: the default and the three that bind at submission (consistent-hash is for affinity). */
export const COMPARED: readonly Strategy[] = ['at-dispatch', 'round-robin', 'least-loaded', 'capacity-aware'];

interface DistributionCase {
  id: string;
  title: string;
  sigma: number;
  /** How many times as long the first manager's specialists take. */
  slowdown: number;
  /** Run r draws its durations with seed `seed + r` (r = 0 is the warm-up): the same for every strategy. */
  seed: number;
}

export const DISTRIBUTION_CASES: readonly DistributionCase[] = [
  { id: 'equal', title: '(a) equal speed, σ 1.0', sigma: 1.0, slowdown: 1, seed: 17_000 },
  { id: 'slow', title: '(b) the first manager\'s specialists 2× slower, σ 1.0', sigma: 1.0, slowdown: 2, seed: 17_000 },
  { id: 'skewed', title: '(c) skewed durations, σ 1.5', sigma: 1.5, slowdown: 1, seed: 17_500 },
];

/** Other draws the simulation replays each row's bindings over: a few runs of the real thing are a few draws. */
const DRAWS = 500;
/** Their seeds: `seed + DRAWS_FROM + k`, apart from the runs' own. */
const DRAWS_FROM = 1_000;

const drawsCache = new Map<string, number>();

/**
 * The mean zero-overhead makespan over `DRAWS` other draws of the case, with these push bindings
 * (a batch's do not depend on the durations: the runtime binds every run's alike) or, without,
 * at-dispatch's rule. Cached: the same for every run.
 */
export function meanOverDraws(c: DistributionCase, tasks: number, bindings?: readonly number[]): number {
  const key = `${c.id}/${tasks}/${bindings?.join('') ?? 'at-dispatch'}`;
  let mean = drawsCache.get(key);
  if (mean === undefined) {
    let sum = 0;
    for (let k = 0; k < DRAWS; k += 1) sum += simulateMakespan(caseDurations(c, tasks, DRAWS_FROM + k), simManagers(c), bindings);
    mean = sum / DRAWS;
    drawsCache.set(key, mean);
  }
  return mean;
}

const METRICS: Metric[] = [
  { key: 'makespanMs', label: 'makespan ms', digits: 0, better: 'lower' },
  { key: 'p95WaitMs', label: 'p95 wait ms', digits: 0, better: 'lower' },
  { key: 'utilisationPct', label: 'utilisation %', digits: 1, better: 'higher', ratio: false },
  { key: 'pctOfBound', label: '% of bound', digits: 1, better: 'higher', ratio: false },
  { key: 'simulatedMs', label: 'simulated ms', digits: 0, better: 'lower', ratio: false },
  { key: 'drawsMs', label: `sim ${DRAWS} draws ms`, digits: 0, better: 'lower' },
];

/** The durations of run `run` of a case, whole ms, 1 to `MAX_MS`. */
export function caseDurations(c: DistributionCase, tasks: number, run: number): number[] {
  return lognormalSample(tasks, { median: MEDIAN_MS, sigma: c.sigma, seed: c.seed + run }).map((ms) => Math.min(MAX_MS, Math.max(1, Math.round(ms))));
}

export function simManagers(c: DistributionCase): SimManager[] {
  return CAPACITIES.map((capacity, m) => ({ capacity, slowdown: m === 0 ? c.slowdown : 1 }));
}

/** A manager index per task, as one digit each: "0120120…". */
const digits = (ids: readonly string[], managers: readonly string[], of: (id: string) => string | null | undefined): string =>
  ids.map((id) => String(managers.indexOf(of(id) ?? ''))).join('');

/** Throws, naming the strategy and the run, if the runtime broke a rule: a lost or doubled task, a manager over its limit, a binding not kept. */
function verify(rt: HierarchyRuntime, label: string, ids: readonly string[], managers: readonly string[], bound: string | undefined): void {
  const events = eventsOf(rt.events, SPECIALIST_AGENT);
  const succeeded = countByTask(events, 'succeeded');
  const started = countByTask(events, 'started');
  const twice = ids.filter((id) => succeeded.get(id) !== 1 || started.get(id) !== 1);
  if (twice.length > 0) throw new Error(`${label}: ${twice.length} specialists did not start and succeed exactly once`);
  const peaks = peakByManager(events, (id) => rt.sup.get(id)?.managerId);
  const over = managers.filter((m, i) => (peaks.get(m) ?? 0) > CAPACITIES[i]!);
  if (over.length > 0) throw new Error(`${label}: managers over their maxChildren: ${managers.map((m, i) => `${peaks.get(m) ?? 0}/${CAPACITIES[i]}`).join(', ')}`);
  const ran = digits(ids, managers, (id) => rt.sup.get(id)?.managerId);
  const seen = digits(ids, managers, (id) => (rt.sup.get(id)?.result as HierarchySpecialistResult | undefined)?.managerId);
  if (ran.includes('-') || seen !== ran) throw new Error(`${label}: a specialist ran outside the managers, or its ctx.managerId disagreed with get()`);
  if (bound !== undefined && bound !== ran) throw new Error(`${label}: a specialist ran under another manager than the one it was bound to at submission`);
}

async function measureOnce(c: DistributionCase, strategy: Strategy, durations: readonly number[], run: number): Promise<Measurement> {
  return withTempDir((dir) =>
    withHierarchyRuntime(dir, async (rt): Promise<Measurement> => {
      const managers = await startManagers(rt, CAPACITIES);
      const slow = c.slowdown === 1 ? {} : { slowManager: managers[0], slowFactor: c.slowdown };
      const requests = durations.map((ms, i) => ({ agent: SPECIALIST_AGENT, input: { i, ms, ...slow } }));
      const t0 = performance.now();
      const { ids, bindings } = await rt.sup.distribute(requests, { managers, strategy });
      await Promise.all(ids.map((id) => rt.sup.result(id)));
      const wallMs = performance.now() - t0;
      await settle();
      await releaseManagers(rt, managers);
      const pushed = strategy === 'at-dispatch' ? undefined : digits(ids, managers, (id) => bindings[id]);
      const pushedIndices = pushed === undefined ? undefined : [...pushed].map(Number);
      verify(rt, `distribution ${c.id}/${strategy} run ${run}`, ids, managers, pushed);
      const { makespanMs, p95WaitMs, utilisationPct } = runFigures(taskTimes(eventsOf(rt.events, SPECIALIST_AGENT), ids), SLOTS);
      const sim = simManagers(c);
      const boundMs = lowerBound(durations, sim);
      const ran = digits(ids, managers, (id) => rt.sup.get(id)?.managerId);
      const perManager = managers.map((_, m) => [...ran].filter((d) => d === String(m)).length).join('/');
      return {
        figures: {
          makespanMs,
          p95WaitMs,
          utilisationPct,
          pctOfBound: (100 * boundMs) / makespanMs,
          simulatedMs: simulateMakespan(durations, sim, pushedIndices),
          drawsMs: meanOverDraws(c, durations.length, pushedIndices),
        },
        facts: { seed: c.seed + run, boundMs, wallMs, tasksPerManager: perManager, bindings: ran },
      };
    }),
  );
}

function strategyCase(c: DistributionCase, strategy: Strategy, tasks: number): Case {
  let run = 0; // 0 is the harness's warm-up run: every row of a section counts runs alike
  return {
    id: strategy,
    label: strategy === 'at-dispatch' ? 'at-dispatch (default): bound when a slot frees' : `${strategy}: bound at submission`,
    ...(strategy === 'at-dispatch' ? { short: 'at-dispatch' } : {}),
    async measure() {
      const thisRun = run;
      run += 1;
      return measureOnce(c, strategy, caseDurations(c, tasks, thisRun), thisRun);
    },
  };
}

function section(c: DistributionCase, tasks: number, common: string): Section {
  return {
    id: c.id,
    title: `${c.title}: ${tasks} specialists over 3 managers of maxChildren ${CAPACITIES.join(', ')}`,
    method:
      `${c.title}: per run, ${tasks} specialists of lognormal duration (median ${MEDIAN_MS} ms, σ ${c.sigma.toFixed(1)}, at most ${MAX_MS.toLocaleString('en-US')} ms; seed ` +
      `${c.seed} + the run's number: the same draws for every strategy in a run, new draws each run, so a range spans draws as well as ` +
      `noise, while the ratios compare strategies on the same draws${c.slowdown === 1 ? '' : `; a specialist under the first manager (maxChildren 3) waits ${c.slowdown}× its duration, as its ctx.managerId tells it`}) ` +
      `distributed in one sup.distribute() call over 3 running manager tasks. ${common}`.trimEnd(),
    metrics: METRICS,
    baseline: 'at-dispatch',
    cases: COMPARED.map((s) => strategyCase(c, s, tasks)),
  };
}

const COMMON_METHOD =
  'Each measurement starts a fresh runtime (2 threads, 32 tasks each, so that only the managers\' maxChildren limit; a journal file, ' +
  "'fsync', in a fresh temp directory: every binding is journaled), primes both threads, starts the managers (module agents waiting " +
  'for a gate; untimed), then times the batch. Specialists wait on a timer for their duration. makespan: first submitted → last ' +
  'succeeded, from the runtime\'s events; p95 wait: submitted → started, nearest rank; utilisation: time the specialists ran ÷ ' +
  `(makespan × ${SLOTS} slots); % of bound: the lower bound max(longest at the fastest manager, total work ÷ slots weighted by speed) ÷ ` +
  'makespan; simulated: the same durations with zero overhead, each manager running its own bound tasks first come, first served ' +
  '(push strategies, with the bindings the runtime made) or one queue whose head goes to the manager with the most free slots ' +
  '(at-dispatch: its bindings hang on when slots free, so where a few ms decide which manager takes a long task, as in (b), its ' +
  'real makespan may stray from the simulated one either way); ' +
  `sim ${DRAWS} draws: the mean of that simulation over ${DRAWS} other draws of the case (seeds + ${DRAWS_FROM} to ` +
  `+ ${DRAWS_FROM + DRAWS - 1}) with the row's bindings (a batch's push bindings do not depend on the durations), for a ranking ` +
  'that a few runs\' luck of the draw does not decide. Every measurement checks that each specialist started and succeeded exactly once, that no manager ran more than ' +
  'its maxChildren at once (events), that each ran under the manager get() and its ctx.managerId name, and, for push strategies, ' +
  'the one it was bound to at submission; a failed check stops the workload. The bindings of each run are in the JSON facts.';

export const distribution: Workload = {
  name: 'distribution',
  title: 'Distribution strategies: managers and specialists',
  summary: 'specialists over 3 managers by at-dispatch, round-robin, least-loaded, capacity-aware: makespan, p95 wait',
  plan(options: BenchOptions): Section[] {
    const tasks = Math.min(DISTRIBUTION_TASKS, options.tasks);
    // The method common to all three goes under the first table.
    return DISTRIBUTION_CASES.map((c, i) => section(c, tasks, i === 0 ? COMMON_METHOD : ''));
  },
  conclude: (sections) => conclusion(sections, DRAWS),
};
