// From files and import edges to the plan: cycles, one task per file (one per cycle), levels, critical path.
import { planGraph } from '../../core/graph.js';
import type { GraphTaskRequest } from '../submit-graph.js';
import { stronglyConnected } from './components.js';

/** `from` imports `to`: `to` is handled first. */
export interface ImportEdge {
  from: string;
  to: string;
}

/** One task of a plan, ready for `submitGraph()`: its input lists the files it covers (several for a cycle). */
export type PlanTask = GraphTaskRequest & { name: string; agent: string; input: { files: string[] } };

export interface ImportPlan {
  /** The tree, as an absolute path; files are relative to it, with `/`. */
  root: string;
  files: string[];
  /** Imports between files of the tree, each pair once, sorted. */
  edges: ImportEdge[];
  /** Imports left out: third-party, standard library, unresolvable. */
  ignored: number;
  /** Files that import each other (strongly connected, or importing themselves), sorted. */
  cycles: string[][];
  /** Tasks in an order where dependencies come first. */
  tasks: PlanTask[];
  /** Task names by level: level 0 has no dependencies, level n depends on level n−1 at the deepest. */
  levels: string[][];
  /** The longest chain of dependent tasks, by name, first to run first. */
  criticalPath: string[];
}

const MAX_NAME = 200;

export function assemblePlan(root: string, files: string[], edges: ImportEdge[], ignored: number, agent: string): ImportPlan {
  const next = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const e of edges) next.get(e.from)!.push(e.to);
  const components = stronglyConnected(files, next);
  const selfImports = new Set(edges.filter((e) => e.from === e.to).map((e) => e.from));
  const cycles = components.filter((c) => c.length > 1 || selfImports.has(c[0]!)).sort((a, b) => a[0]!.localeCompare(b[0]!));
  const taskOf = new Map<string, string>();
  components.forEach((c, i) => c.forEach((f) => taskOf.set(f, taskName(c, i))));
  const nodes = components.map((c, i) => {
    const name = taskName(c, i);
    const parents = new Set(c.flatMap((f) => next.get(f)!).map((f) => taskOf.get(f)!).filter((t) => t !== name));
    return { name, files: c, dependsOn: [...parents].sort() };
  });
  const plan = planGraph(nodes);
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const tasks = plan.order.map((name): PlanTask => {
    const { files: covered, dependsOn } = byName.get(name)!;
    return { name, agent, input: { files: covered }, ...(dependsOn.length > 0 ? { dependsOn } : {}) };
  });
  const levels: string[][] = [];
  for (const name of plan.order) (levels[plan.levels.get(name)!] ??= []).push(name);
  return { root, files, edges, ignored, cycles, tasks, levels, criticalPath: plan.criticalPath };
}

/** A file's path, or for a cycle its first file and size; unique and at most 200 characters. */
function taskName(component: readonly string[], i: number): string {
  const name = component.length === 1 ? component[0]! : `cycle(${component.length}):${component[0]!}`;
  return name.length <= MAX_NAME ? name : `…${name.slice(-(MAX_NAME - 12))}#${i}`;
}
