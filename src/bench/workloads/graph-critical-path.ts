/**
 * Section `critical-path` of workload `graph`: what ordering ready tasks by critical path buys
 * over first come, first served, on a graph where FIFO is known to be bad. A chain of long tasks
 * and a backlog of short independent ones share a few slots; the chain is submitted first.
 *
 * Theory (Graham's list scheduling, zero overhead): with C slots, chain length CP and short work
 * S, any schedule takes at least max(CP, (CP + S) ÷ C). Ranked, every link outranks every short
 * task, so one slot runs the chain back to back while C − 1 drain the backlog: max(CP, that bound)
 * when the backlog is large enough. FIFO enqueues each link as its parent ends, behind what is
 * left of the backlog: about S ÷ C + CP. With S = (C − 1) × CP the bound is CP and FIFO's ratio is
 * 2 − 1/C, the worst list scheduling can do (1.75 at C = 4).
 */
import { planGraph } from '../../index.js';
import { chain, independent, listScheduleMakespan, type ShapeTask } from '../graph-shapes.js';
import { checkOrder, graphRequests, submitOneByOne, withRuntime, awaitAll } from '../graph-run.js';
import type { Case, Measurement, Metric, Section } from '../harness.js';
import { percentile } from '../stats.js';
import type { Supervisor } from '../../index.js';

/** Tasks of the timer agent running at once (its `concurrency`). */
const SLOTS = 4;
const LINK_MS = 30;
const SHORT_MS = 10;
/** Links of the chain: 20, or fewer for a small --tasks (4 at --tasks 2,000 or less). */
export function criticalChainLinks(tasks: number): number {
  return Math.min(20, Math.max(4, Math.floor(tasks / 500)));
}

/**
 * The graph: the chain first, then the backlog, in submission order. Short work is (C − 1) × the
 * chain's: the bound is the chain itself, and FIFO is at its worst.
 */
export function criticalPathShape(links: number): ShapeTask[] {
  const shorts = ((SLOTS - 1) * links * LINK_MS) / SHORT_MS;
  return [...chain(links, LINK_MS), ...independent(shorts, SHORT_MS)];
}

type Mode = 'weighted' | 'count' | 'fifo';

const METRICS: Metric[] = [
  { key: 'makespanMs', label: 'makespan ms', digits: 0, better: 'lower' },
  { key: 'pctOfBound', label: '% of bound', digits: 1, better: 'higher', ratio: false },
  { key: 'chainWaitMs', label: 'chain wait ms', digits: 1, better: 'lower', ratio: false },
  { key: 'simulatedMs', label: 'simulated ms', digits: 0, better: 'lower', ratio: false },
];

/** Submits the shape as `mode` says; resolves with the ids by name. */
function submit(sup: Supervisor, tasks: readonly ShapeTask[], mode: Mode): Promise<Record<string, string>> {
  return mode === 'fifo' ? submitOneByOne(sup, tasks) : sup.submitGraph(graphRequests(tasks, mode === 'weighted'));
}

/** Time the chain's links spent ready but not started: each link's start − its parent's finish. */
function chainWaitMs(gapsUs: readonly number[], links: number): number {
  // checkOrder lists edges task by task, and the chain leads the shape: its edges come first.
  return gapsUs.slice(0, links - 1).reduce((a, b) => a + b, 0) / 1000;
}

function modeCase(id: string, label: string, mode: Mode, tasks: readonly ShapeTask[], links: number, bounds: { boundMs: number; simulatedMs: number }): Case {
  const { boundMs, simulatedMs } = bounds;
  return {
    id,
    label,
    ...(id === 'critical-path' ? { short: 'critical path' } : {}),
    measure: () =>
      withRuntime('memory', SLOTS, async (sup): Promise<Measurement> => {
        const t0 = performance.now();
        const ids = await submit(sup, tasks, mode);
        const submitMs = performance.now() - t0;
        await awaitAll(sup, tasks, tasks.map((t) => ids[t.name]!));
        const makespanMs = performance.now() - t0;
        const { edges, gapsUs } = checkOrder(sup, tasks, ids);
        return {
          figures: { makespanMs, pctOfBound: (100 * boundMs) / makespanMs, chainWaitMs: chainWaitMs(gapsUs, links), simulatedMs },
          facts: { submitMs, edgesChecked: edges, gapP50Us: percentile(gapsUs, 50), gapMaxUs: Math.max(...gapsUs) },
        };
      }),
  };
}

function boundCase(boundMs: number): Case {
  return {
    id: 'bound',
    label: 'Lower bound: max(chain, total work ÷ slots) (computed)',
    measure: async () => ({ figures: { makespanMs: boundMs, pctOfBound: 100, chainWaitMs: 0, simulatedMs: boundMs } }),
  };
}

export function criticalPathSection(links: number): Section {
  const tasks = criticalPathShape(links);
  const shorts = tasks.length - links;
  const fmt = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
  const chainMs = links * LINK_MS;
  const workMs = tasks.reduce((a, t) => a + t.ms, 0);
  const boundMs = Math.max(chainMs, workMs / SLOTS);
  // The ranks submitGraph() gives, from the same function.
  const byMs = planGraph(tasks.map((t) => ({ name: t.name, dependsOn: t.dependsOn, weight: t.ms })));
  const byCount = planGraph(tasks.map((t) => ({ name: t.name, dependsOn: t.dependsOn })));
  const weighted = (n: string): number => byMs.ranks.get(n)!;
  const sim = {
    weighted: listScheduleMakespan(tasks, SLOTS, { rank: weighted }),
    count: listScheduleMakespan(tasks, SLOTS, { rank: (n) => byCount.ranks.get(n)! }),
    fifo: listScheduleMakespan(tasks, SLOTS),
    slotFirst: listScheduleMakespan(tasks, SLOTS, { rank: weighted, childrenFirst: false }),
  };
  return {
    id: 'critical-path',
    title: `Critical path vs FIFO: a chain of ${links} × ${LINK_MS} ms and ${shorts} independent ${SHORT_MS} ms tasks, ${SLOTS} at a time`,
    method:
      `One graph of ${tasks.length} timer tasks (each awaits setTimeout for its duration, so the ${SLOTS} slots, the agent's ` +
      `concurrency, are the limit, not the 2 threads or a noisy CPU): a chain of ${links} tasks of ${LINK_MS} ms ` +
      `(${fmt(chainMs)} ms) submitted first, then ${shorts} independent tasks of ${SHORT_MS} ms (${fmt(workMs - chainMs)} ms of work). ` +
      `Critical path: submitGraph() with estimatedMs, each task ranked by its longest remaining path in ms; task count: submitGraph() ` +
      `without it, ranked by tasks on that path (the chain leads until its last link, which ties the short tasks); FIFO: submit() one task at a time with dependsOn ids, ` +
      `no rank, so each link unblocks behind what is left of the backlog. Makespan: from the first submission to the last result; ` +
      `% of bound: the lower bound max(${fmt(chainMs)}, ${fmt(workMs)} ÷ ${SLOTS}) = ${fmt(boundMs)} ms ÷ makespan; chain wait: the ` +
      `sum over links of start − parent's finish, as the runtime recorded them (every edge of the graph is checked: no task started ` +
      `before a parent finished). Simulated: greedy list scheduling with zero overhead and the same order rules. Theory: ranked order ` +
      `meets the bound; FIFO takes about backlog ÷ slots + chain, ${fmt(sim.fifo)} ms simulated, a speed-up of ` +
      `${(sim.fifo / sim.weighted).toFixed(2)} (2 − 1/${SLOTS} at most for this shape). The Queue holds a finished link's slot until ` +
      `its outcome has unblocked the next link; were the slot given to a short task first, ranked order would simulate at up to ` +
      `${fmt(sim.slotFirst)} ms. ` +
      `A fresh runtime per measurement, no journal.`,
    metrics: METRICS,
    baseline: 'critical-path',
    cases: [
      modeCase('critical-path', 'Critical path: submitGraph() with estimatedMs', 'weighted', tasks, links, { boundMs, simulatedMs: sim.weighted }),
      modeCase('count', 'Task count: submitGraph() without estimatedMs', 'count', tasks, links, { boundMs, simulatedMs: sim.count }),
      modeCase('fifo', 'FIFO: submit() one by one with dependsOn (no rank)', 'fifo', tasks, links, { boundMs, simulatedMs: sim.fifo }),
      boundCase(boundMs),
    ],
  };
}
