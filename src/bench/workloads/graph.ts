/**
 * Workload `graph`: what task dependencies cost and what critical-path ordering buys. A wide DAG
 * of no-op tasks through submitGraph() against the same tasks without edges through
 * submitBatch(), each paired in one measurement with a flat batch so that the per-task overhead
 * is a difference within the same run; a deep chain's per-edge latency against a caller that
 * submits each task after the previous result; and critical-path order against FIFO on tasks that
 * take real time (graph-critical-path.ts).
 */
import { tmpdir } from 'node:os';
import { resolveOptions } from '../../internal.js';
import { MAX_GRAPH, validateGraph } from '../../internal.js';
import { validateSubmission } from '../../internal.js';
import type { Supervisor } from '../../index.js';
import { chain, edgeCount, wideDag, type ShapeTask } from '../graph-shapes.js';
import { awaitAll, checkOrder, flatRequests, graphRequests, NOOP, NOOP_MODULE, SLEEP, SLEEP_MODULE, withRuntime } from '../graph-run.js';
import type { BenchOptions, Case, Measurement, Metric, Section, Workload } from '../harness.js';
import { percentile } from '../stats.js';
import { criticalChainLinks, criticalPathSection } from './graph-critical-path.js';

/** Roots of the wide DAG, and tasks per layer after them. */
const WIDTH = 100;
const SEED = 0x6a09e667;
/** Links of the deep chain (fewer for small --tasks). */
const CHAIN_LENGTH = 1_000;

type Journal = 'memory' | 'fsync';
type Kind = 'flat' | 'graph';

interface Timed {
  elapsedMs: number;
  /** Until submitBatch()/submitGraph() resolved. */
  submitMs: number;
  gapsUs: number[];
}

/** One submission of the shape, flat or as a graph, on a fresh primed runtime; checked. */
function timeSubmission(kind: Kind, journal: Journal, tasks: readonly ShapeTask[]): Promise<Timed> {
  return withRuntime(journal, 1, async (sup) => {
    const flat = kind === 'flat' ? flatRequests(tasks) : undefined;
    const graph = kind === 'graph' ? graphRequests(tasks, false) : undefined;
    const t0 = performance.now();
    const ids = flat !== undefined ? await sup.submitBatch(flat) : idsInOrder(await sup.submitGraph(graph!), tasks);
    const submitMs = performance.now() - t0;
    await awaitAll(sup, tasks, ids);
    const elapsedMs = performance.now() - t0;
    // Flat: no edges declared, so nothing to check beyond every task succeeding once.
    const checked = kind === 'flat' ? tasks.map((t) => ({ ...t, dependsOn: [] })) : tasks;
    const { gapsUs } = checkOrder(sup, checked, Object.fromEntries(tasks.map((t, i) => [t.name, ids[i]!])));
    return { elapsedMs, submitMs, gapsUs };
  });
}

function idsInOrder(byName: Record<string, string>, tasks: readonly ShapeTask[]): string[] {
  return tasks.map((t) => byName[t.name]!);
}

/** Validation alone, as submitBatch()/submitGraph() do it first (plan and ranks included for a graph). */
function validateMs(kind: Kind, tasks: readonly ShapeTask[]): number {
  const options = resolveOptions({ agents: { [NOOP]: { module: NOOP_MODULE }, [SLEEP]: { module: SLEEP_MODULE } } });
  const requests = kind === 'flat' ? flatRequests(tasks) : graphRequests(tasks, false);
  const t0 = performance.now();
  if (kind === 'flat') for (const r of requests) validateSubmission(r, options);
  else validateGraph(requests, options, () => false);
  return performance.now() - t0;
}

/**
 * A row: its own submission and a flat batch of the same tasks, each on a fresh runtime, which
 * goes first alternating between measurements; the overhead is the difference per task.
 */
function pairedCase(id: string, label: string, kind: Kind, journal: Journal, tasks: readonly ShapeTask[]): Case {
  let calls = 0;
  return {
    id,
    label,
    ...(id === 'flat' ? { short: 'flat' } : {}),
    measure: async (): Promise<Measurement> => {
      const ownFirst = calls++ % 2 === 0;
      const first = await timeSubmission(ownFirst ? kind : 'flat', journal, tasks);
      const second = await timeSubmission(ownFirst ? 'flat' : kind, journal, tasks);
      const [own, flat] = ownFirst ? [first, second] : [second, first];
      const n = tasks.length;
      return {
        figures: {
          tasksPerSec: n / (own.elapsedMs / 1000),
          usPerTask: (own.elapsedMs * 1000) / n,
          overheadUs: ((own.elapsedMs - flat.elapsedMs) * 1000) / n,
          submitMs: own.submitMs,
          validateMs: validateMs(kind, tasks),
        },
        facts: {
          elapsedMs: own.elapsedMs,
          pairedFlatMs: flat.elapsedMs,
          edgesChecked: own.gapsUs.length,
          ...(own.gapsUs.length === 0 ? {} : { gapP50Us: percentile(own.gapsUs, 50), gapP99Us: percentile(own.gapsUs, 99) }),
        },
      };
    },
  };
}

/** The chain run by the runtime (submitGraph) or by the caller (submit, await result, next). */
function chainCase(id: string, label: string, tasks: readonly ShapeTask[]): Case {
  const byCaller = id === 'caller';
  return {
    id,
    label,
    ...(byCaller ? { short: 'caller' } : {}),
    measure: () =>
      withRuntime('memory', 1, async (sup): Promise<Measurement> => {
        const t0 = performance.now();
        const ids = byCaller ? await callerChain(sup, tasks.length) : await sup.submitGraph(graphRequests(tasks, false));
        await awaitAll(sup, tasks, idsInOrder(ids, tasks));
        const elapsedMs = performance.now() - t0;
        // The caller's chain declares no edges, but runs in the same order: its gaps are comparable.
        const { gapsUs } = checkOrder(sup, tasks, ids);
        return {
          figures: { usPerLink: (elapsedMs * 1000) / tasks.length, gapP50Us: percentile(gapsUs, 50), gapP99Us: percentile(gapsUs, 99) },
          facts: { elapsedMs, edgesChecked: gapsUs.length },
        };
      }),
  };
}

/** Runs `length` no-op tasks one after another from the caller; ids by the chain's names. */
async function callerChain(sup: Supervisor, length: number): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (let i = 0; i < length; i += 1) {
    ids[`c${i + 1}`] = await sup.submit({ agent: NOOP, input: i });
    await sup.result(ids[`c${i + 1}`]!);
  }
  return ids;
}

const OVERHEAD_METRICS: Metric[] = [
  { key: 'tasksPerSec', label: 'tasks/s', digits: 0, better: 'higher' },
  { key: 'usPerTask', label: 'µs/task', digits: 1, better: 'lower', ratio: false },
  { key: 'overheadUs', label: 'overhead µs/task', digits: 1, better: 'lower', ratio: false },
  { key: 'submitMs', label: 'submit ms', digits: 1, better: 'lower', ratio: false },
  { key: 'validateMs', label: 'validate ms', digits: 1, better: 'lower', ratio: false },
];

const CHAIN_METRICS: Metric[] = [
  { key: 'usPerLink', label: 'µs/link', digits: 0, better: 'lower' },
  { key: 'gapP50Us', label: 'p50 gap µs', digits: 0, better: 'lower', ratio: false },
  { key: 'gapP99Us', label: 'p99 gap µs', digits: 0, better: 'lower', ratio: false },
];

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function overheadSection(tasks: readonly ShapeTask[]): Section {
  const n = tasks.length;
  const layers = Math.ceil(n / WIDTH);
  return {
    id: 'overhead',
    title: `Wide DAG, ${fmt(n)} no-op tasks: scheduling overhead per task`,
    method:
      `The DAG: ${Math.min(WIDTH, n)} roots, then ${layers - 1} layers of ${WIDTH}, each task depending on 1–3 tasks of the layer ` +
      `before (${fmt(edgeCount(tasks))} edges, fixed by a seeded hash); submitted in one submitGraph() call (ranks by task count), ` +
      `all results awaited. Flat: the same ${fmt(n)} no-op tasks without edges in one submitBatch() call. Each row is measured ` +
      `with a flat batch in the same measurement (which goes first alternates), each on a fresh runtime with 2 threads, primed ` +
      `with 8 tasks; overhead: (the row's time − that flat batch's) ÷ ${fmt(n)} (the flat row's is the noise between two flat ` +
      `batches). submit ms: until submitGraph()/submitBatch() resolved (validated, planned, recorded); validate ms: the same ` +
      `validation called alone (for the graph: names, parents, cycle check, order and ranks). Every edge is checked afterwards ` +
      `from the runtime's records: each task succeeded once and started no earlier than its parents finished. ` +
      `At most ${fmt(MAX_GRAPH)} tasks (submitGraph()'s limit) of --tasks. Journal rows: a fresh file in ${tmpdir()}.`,
    metrics: OVERHEAD_METRICS,
    baseline: 'flat',
    cases: [
      pairedCase('flat', `submitBatch(), no dependencies (':memory:')`, 'flat', 'memory', tasks),
      pairedCase('graph', `submitGraph(), wide DAG (':memory:')`, 'graph', 'memory', tasks),
      pairedCase('graph-fsync', `submitGraph(), wide DAG, journal 'fsync' (vs flat 'fsync')`, 'graph', 'fsync', tasks),
    ],
  };
}

function chainSection(tasks: readonly ShapeTask[]): Section {
  return {
    id: 'chain',
    title: `Deep chain, ${fmt(tasks.length)} no-op tasks: per-edge latency`,
    method:
      `A chain of ${fmt(tasks.length)} no-op tasks, each depending on the one before, in one submitGraph() call: the runtime ` +
      `starts each as its parent succeeds. Caller: the same ${fmt(tasks.length)} tasks without edges, each submitted only after ` +
      `the previous one's result() resolved. µs/link: elapsed ÷ ${fmt(tasks.length)}; gap: per link, the child's recorded start − ` +
      `its parent's recorded finish (p50 and p99 of the run). A fresh runtime per measurement, 2 threads, no journal.`,
    metrics: CHAIN_METRICS,
    baseline: 'caller',
    cases: [chainCase('chain', 'submitGraph() chain (the runtime unblocks each link)', tasks), chainCase('caller', 'Caller-driven: submit(), await result(), next', tasks)],
  };
}

export const graph: Workload = {
  name: 'graph',
  title: 'Task graphs: dependency overhead and critical-path order',
  summary:
    'a 10,000-task wide DAG via submitGraph() vs the same tasks flat via submitBatch(); a 1,000-task chain; critical-path order vs FIFO on timer tasks',
  plan(options: BenchOptions): Section[] {
    const n = Math.min(options.tasks, MAX_GRAPH);
    const chainLength = Math.min(CHAIN_LENGTH, Math.max(10, Math.floor(n / 10)));
    return [overheadSection(wideDag(n, WIDTH, SEED)), chainSection(chain(chainLength, 0)), criticalPathSection(criticalChainLinks(options.tasks))];
  },
};
