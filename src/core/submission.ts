// A submission after validation (src/runtime/submit.ts, submit-graph.ts), as the engine accepts it.
import type { CacheRequest } from './cache.js';
import type { GraphPlan } from './graph.js';
import type { ParentFailurePolicy, Priority, TaskPolicy } from './task.js';

export interface ValidSubmission {
  agent: string;
  input: unknown;
  priority: Priority;
  resources: readonly string[];
  key?: string;
  policy?: TaskPolicy;
  /** Parents as given (ids, or graph names in `submitGraph`), without repeats. */
  dependsOn?: string[];
  onParentFailure?: ParentFailurePolicy;
  group?: string;
  /** Set when the result cache applies: the task's key and the age of result it accepts. */
  cache?: CacheRequest;
}

export interface GraphNodeSpec {
  name: string;
  valid: ValidSubmission;
  /** Parents inside the graph, by name. */
  local: string[];
  /** Parents submitted before, by id. */
  external: string[];
}

export interface ValidGraph {
  /** By name. */
  nodes: Map<string, GraphNodeSpec>;
  plan: GraphPlan;
}
