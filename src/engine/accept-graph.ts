// Turning a validated graph into submissions: ids, parents by id, ranks, one commit.
import { newId } from '../core/ids.js';
import type { ValidGraph, ValidSubmission } from '../core/submission.js';

/** What a graph adds to a task record. */
export interface GraphFields {
  id: string;
  /** Parents by id (names of the graph resolved); absent for a root. */
  dependsOn?: string[];
  name: string;
  graph: string;
  rank: number;
}

/**
 * Submits every task of `graph` through `accept`, parents first and all in the same turn of the
 * event loop, so that they reach the ledger in one batch and the journal in one commit (all or
 * nothing). A task whose idempotency key is known is the existing task: its children wait on it.
 * Resolves with the ids by name.
 */
export async function acceptGraph(
  graph: ValidGraph,
  /** The recorded task the submission's idempotency key (or child key) names, if any. */
  known: (valid: ValidSubmission) => string | undefined,
  accept: (valid: ValidSubmission, fields: GraphFields) => Promise<string>,
): Promise<Record<string, string>> {
  const graphId = newId();
  const ids = new Map<string, string>();
  for (const name of graph.plan.order) {
    ids.set(name, known(graph.nodes.get(name)!.valid) ?? newId());
  }
  const pending = graph.plan.order.map((name) => {
    const { valid } = graph.nodes.get(name)!;
    const dependsOn = valid.dependsOn?.map((parent) => ids.get(parent) ?? parent);
    const fields: GraphFields = { id: ids.get(name)!, name, graph: graphId, rank: graph.plan.ranks.get(name)! };
    return accept(valid, dependsOn === undefined ? fields : { ...fields, dependsOn });
  });
  const accepted = await Promise.all(pending);
  return Object.fromEntries(graph.plan.order.map((name, i) => [name, accepted[i]!]));
}
