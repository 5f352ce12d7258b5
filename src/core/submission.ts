// A submission after validation (src/runtime/submit.ts, submit-graph.ts), as the engine accepts it.
import type { CacheRequest } from './cache.js';
import type { GraphPlan } from './graph.js';
import type { Strategy } from './distribution.js';
import type { ChildPolicy, ParentFailurePolicy, Priority, TaskPolicy } from './task.js';

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
  /** The running task this one is a child of, and its key among that task's children. */
  parentId?: string;
  childKey?: string;
  maxChildren?: number;
  childPolicy?: ChildPolicy;
  /** Set by `distribute()`: candidate managers, strategy, hash key, and the binding made at submission. */
  managers?: readonly string[];
  distribution?: Strategy;
  hashKey?: string;
  managerId?: string;
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
