// A submission after validation (src/runtime/submit.ts, submit-graph.ts), as the engine accepts it.
import type { CacheRequest } from './cache.js';
import type { GraphPlan } from './graph.js';
import type { ParentFailurePolicy, Priority, TaskPolicy, TaskRecord } from './task.js';

/** The family fields are the record's own (documented there), copied into it as they are. */
type FamilyFields = { -readonly [K in 'parentId' | 'childKey' | 'maxChildren' | 'childPolicy' | 'managers' | 'distribution' | 'hashKey']?: TaskRecord[K] };

export interface ValidSubmission extends FamilyFields {
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
  /** Set by `distribute()` for a strategy that binds at submission. */
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
