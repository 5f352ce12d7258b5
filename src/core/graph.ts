// Pure graph logic shared by `submitGraph()` and `troupe plan`: checks, cycles, levels, critical path.
import { TroupeError } from './errors.js';

/** One node: its name and the names of the nodes it depends on (its parents). */
export interface GraphNode {
  name: string;
  dependsOn: readonly string[];
  /** Weight on the critical path (an estimated duration); 1 when absent. */
  weight?: number;
}

export interface GraphPlan {
  /** Names in an order where every parent comes before its children. */
  order: string[];
  /** Level of each node: 0 without parents in the graph, else 1 + its deepest parent's. */
  levels: Map<string, number>;
  /** Each node's longest remaining path: its weight plus its heaviest child's rank. */
  ranks: Map<string, number>;
  /** The heaviest path from a root to a leaf, by name. */
  criticalPath: string[];
}

/**
 * Finds a dependency cycle, if any, as the names along it with the first repeated at the end
 * (`a → b → a`). Iterative, so deep chains do not exhaust the stack.
 */
export function findCycle(nodes: readonly GraphNode[]): string[] | undefined {
  const parents = new Map(nodes.map((n) => [n.name, n.dependsOn]));
  const state = new Map<string, 'open' | 'done'>();
  for (const start of parents.keys()) {
    if (state.has(start)) continue;
    const path: string[] = [];
    const stack: { name: string; next: number }[] = [{ name: start, next: 0 }];
    state.set(start, 'open');
    path.push(start);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const deps = parents.get(top.name) ?? [];
      if (top.next >= deps.length) {
        state.set(top.name, 'done');
        stack.pop();
        path.pop();
        continue;
      }
      const dep = deps[top.next++]!;
      if (!parents.has(dep) || state.get(dep) === 'done') continue;
      if (state.get(dep) === 'open') return [...path.slice(path.indexOf(dep)), dep];
      state.set(dep, 'open');
      stack.push({ name: dep, next: 0 });
      path.push(dep);
    }
  }
  return undefined;
}

/** The error for a cycle, naming it. */
export function cycleError(cycle: readonly string[], field = 'tasks'): TroupeError {
  const text = cycle.join(' → ');
  return new TroupeError('TROUPE_DEPENDENCY_CYCLE', `${field}: dependencies must not form a cycle (got ${text})`, {
    details: { field, rule: 'must not form a cycle', value: cycle, cycle },
  });
}

/**
 * Orders an acyclic graph (parents outside it are ignored) and computes levels, ranks and the
 * critical path. Throws TROUPE_DEPENDENCY_CYCLE when it has a cycle.
 */
export function planGraph(nodes: readonly GraphNode[]): GraphPlan {
  const cycle = findCycle(nodes);
  if (cycle !== undefined) throw cycleError(cycle);
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const children = new Map<string, string[]>(nodes.map((n) => [n.name, []]));
  const pending = new Map<string, number>();
  for (const n of nodes) {
    const inside = [...new Set(n.dependsOn)].filter((d) => byName.has(d));
    pending.set(n.name, inside.length);
    for (const d of inside) children.get(d)!.push(n.name);
  }
  const order = kahn(nodes, children, pending);
  const levels = new Map<string, number>();
  for (const name of order) {
    const parents = byName.get(name)!.dependsOn.filter((d) => byName.has(d));
    levels.set(name, parents.length === 0 ? 0 : 1 + Math.max(...parents.map((p) => levels.get(p)!)));
  }
  const ranks = new Map<string, number>();
  for (const name of [...order].reverse()) {
    const below = children.get(name)!.map((c) => ranks.get(c)!);
    ranks.set(name, (byName.get(name)!.weight ?? 1) + (below.length === 0 ? 0 : Math.max(...below)));
  }
  return { order, levels, ranks, criticalPath: heaviestPath(nodes, children, ranks, byName) };
}

/** Kahn's algorithm, in the nodes' given order among ready ones (stable output). */
function kahn(nodes: readonly GraphNode[], children: Map<string, string[]>, pending: Map<string, number>): string[] {
  const ready = nodes.filter((n) => pending.get(n.name) === 0).map((n) => n.name);
  const order: string[] = [];
  for (let i = 0; i < ready.length; i += 1) {
    const name = ready[i]!;
    order.push(name);
    for (const child of children.get(name)!) {
      const left = pending.get(child)! - 1;
      pending.set(child, left);
      if (left === 0) ready.push(child);
    }
  }
  return order;
}

function heaviestPath(
  nodes: readonly GraphNode[],
  children: Map<string, string[]>,
  ranks: Map<string, number>,
  byName: Map<string, GraphNode>,
): string[] {
  const roots = nodes.filter((n) => n.dependsOn.every((d) => !byName.has(d)));
  if (roots.length === 0) return [];
  const heaviest = (names: readonly string[]): string => names.reduce((a, b) => (ranks.get(b)! > ranks.get(a)! ? b : a));
  const path = [heaviest(roots.map((r) => r.name))];
  for (let next = children.get(path[0]!)!; next.length > 0; next = children.get(path[path.length - 1]!)!) path.push(heaviest(next));
  return path;
}
