// Validation of `submitGraph()`: every task as `submit()` checks it, plus names, parents and cycles.
import { z } from 'zod';
import { fieldError, renameField } from '../core/errors.js';
import { cycleError, planGraph } from '../core/graph.js';
import type { GraphNodeSpec, ValidGraph } from '../core/submission.js';
import type { ResolvedOptions } from './options.js';
import { validateSubmission, type SubmitRequest, type ValidSubmission } from './submit.js';
import { parseWith } from './validate.js';

/** Tasks one `submitGraph()` call may carry. */
export const MAX_GRAPH = 10_000;

/** One task of a graph: a submission with a name its siblings' `dependsOn` can use. */
export type GraphTaskRequest = SubmitRequest & {
  /** Unique within the graph; also the key of this task's result in its children's `ctx.parents`. */
  name: string;
  /** Expected run time: the critical path is weighed by it (every task counts 1 without it). */
  estimatedMs?: number;
};

const graphFieldsSchema = z.object({
  name: z.string().min(1).max(200),
  estimatedMs: z.number().positive().finite().optional(),
});

export type { GraphNodeSpec, ValidGraph };

/**
 * Validates a graph whole; throws the first problem, naming its place (`tasks[3].dependsOn[0]`):
 * a bad task, a repeated name, a parent that is neither a name of the graph nor a known task id
 * (TROUPE_UNKNOWN_DEPENDENCY), or a cycle (TROUPE_DEPENDENCY_CYCLE, self-dependencies included).
 */
export function validateGraph(requests: unknown, options: ResolvedOptions, exists: (id: string) => boolean): ValidGraph {
  if (!Array.isArray(requests) || requests.length === 0 || requests.length > MAX_GRAPH) {
    throw fieldError('TROUPE_INVALID_TASK', 'tasks', `must be an array of 1 to ${MAX_GRAPH} tasks`, requests);
  }
  const nodes = new Map<string, GraphNodeSpec>();
  const weights = new Map<string, number>();
  const keys = new Set<string>();
  requests.forEach((request: unknown, i) => {
    const { node, estimatedMs } = validateNode(request, i, options);
    if (nodes.has(node.name)) throw fieldError('TROUPE_INVALID_TASK', `tasks[${i}].name`, 'must be unique within the graph', node.name);
    const key = node.valid.key;
    if (key !== undefined && keys.has(key)) throw fieldError('TROUPE_INVALID_TASK', `tasks[${i}].key`, 'must be unique within the graph', key);
    if (key !== undefined) keys.add(key);
    nodes.set(node.name, node);
    if (estimatedMs !== undefined) weights.set(node.name, estimatedMs);
  });
  [...nodes.values()].forEach((node, i) => resolveParents(node, i, nodes, exists));
  const plan = planGraph([...nodes.values()].map((n) => ({ name: n.name, dependsOn: n.local, ...(weights.has(n.name) ? { weight: weights.get(n.name)! } : {}) })));
  return { nodes, plan };
}

function validateNode(request: unknown, i: number, options: ResolvedOptions): { node: GraphNodeSpec; estimatedMs?: number } {
  const field = `tasks[${i}]`;
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw fieldError('TROUPE_INVALID_TASK', field, 'must be an object', request);
  }
  const { name, estimatedMs, ...rest } = request as Record<string, unknown>;
  const extra = parseWith(graphFieldsSchema, { name, estimatedMs }, 'TROUPE_INVALID_TASK', field);
  let valid: ValidSubmission;
  try {
    valid = validateSubmission(rest, options, false);
  } catch (err) {
    throw renameField(err, 'task', field);
  }
  return { node: { name: extra.name, valid, local: [], external: [] }, ...(extra.estimatedMs === undefined ? {} : { estimatedMs: extra.estimatedMs }) };
}

function resolveParents(node: GraphNodeSpec, i: number, nodes: ReadonlyMap<string, GraphNodeSpec>, exists: (id: string) => boolean): void {
  (node.valid.dependsOn ?? []).forEach((parent, j) => {
    if (parent === node.name) throw cycleError([parent, parent], `tasks[${i}].dependsOn[${j}]`);
    if (nodes.has(parent)) node.local.push(parent);
    else if (exists(parent)) node.external.push(parent);
    else {
      throw fieldError('TROUPE_UNKNOWN_DEPENDENCY', `tasks[${i}].dependsOn[${j}]`, 'must name a task of this graph or the id of a submitted task', parent);
    }
  });
}
