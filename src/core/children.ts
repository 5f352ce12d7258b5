// What a running task may do with children: the context's calls and the engine port that serves them.
import type { SerializedError } from './errors.js';

/**
 * A child task as a running task submits it: the fields of `Supervisor#submit()` (agent, input,
 * priority, key, group, resources, retry, ...), plus `childKey`. The parent is set by the runtime.
 * Without a `childKey` (or a `key`) a child is keyed by its place among the parent's `submit` calls
 * in this run (`#1`, `#2`, ...): a re-run that submits in the same order gets the same children back.
 */
export interface ChildRequest {
  agent: string;
  input?: unknown;
  childKey?: string;
  [field: string]: unknown;
}

/** A child of a graph (`ctx.submitGraph`): a `ChildRequest` with a name its siblings' `dependsOn` can use. */
export interface ChildGraphRequest extends ChildRequest {
  name: string;
  dependsOn?: string[];
}

/** How a child ended, as `ctx.wait()` gives it: a result, or the error (never thrown). */
export type ChildOutcome =
  | { id: string; state: 'succeeded'; result: unknown }
  | { id: string; state: 'dead' | 'cancelled'; error: SerializedError };

/** What the engine's side of `ctx.submit` / `ctx.wait` does; set by the runtime (validation lives there). */
export interface ChildPort {
  submit(parentId: string, requests: readonly ChildRequest[]): Promise<string[]>;
  submitGraph(parentId: string, requests: readonly ChildGraphRequest[]): Promise<Record<string, string>>;
  wait(parentId: string, ids: readonly string[]): Promise<ChildOutcome[]>;
  /** `ctx.distribute`: children spread over manager tasks (the options of `Supervisor#distribute()`). */
  distribute(parentId: string, requests: readonly ChildRequest[], options: unknown): Promise<{ ids: string[]; bindings: Record<string, string | null> }>;
}

/** An answer that crosses the thread boundary: errors as data, rebuilt with their code on the other side. */
export type ChildAnswer<T> = { ok: true; value: T } | { ok: false; error: SerializedError };
