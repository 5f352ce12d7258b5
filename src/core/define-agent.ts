import type { ChildGraphRequest, ChildOutcome, ChildRequest } from './children.js';

/** Marks agent definitions; a registry symbol so that two copies of Troupe still recognise each other. */
export const AGENT_BRAND = Symbol.for('troupe.agent');

/** What a module agent's handler receives besides its input. */
export interface AgentContext {
  /** Id of the task being run. */
  readonly taskId: string;
  /** 1 for the first run of the task, 2 for the second, ... */
  readonly attempt: number;
  /** The last checkpoint an earlier attempt of this task recorded (see `progress`), or undefined. */
  readonly checkpoint: unknown;
  /**
   * Results of the task's parents (`dependsOn`), keyed by their names in the graph (`submitGraph`)
   * or, for parents submitted on their own, by id. A parent that ended without success under
   * `onParentFailure: 'ignore'` is absent. Empty for a task without parents.
   */
  readonly parents: Readonly<Record<string, unknown>>;
  /** The manager task this one runs under (`distribute()`), or undefined. */
  readonly managerId: string | undefined;
  /** The task's own git worktree (agent option `workspace`): work there, never in the repository's checkout. Else undefined. */
  readonly workdir: string | undefined;
  /** Aborts when the task is cancelled; stop work promptly, or the thread is terminated after a grace period. */
  readonly signal: AbortSignal;
  /**
   * Reports progress (any cloneable value); appears as a `progress` event and in `get(id).progress`.
   * With `{ checkpoint: true }` the value is also journaled and handed to a later attempt as
   * `ctx.checkpoint` (after a crash, say), so the work can resume where it left off. A checkpoint
   * that cannot be journaled (not `v8.serialize`-able, or over 64 MiB) throws TROUPE_UNCLONEABLE_RESULT.
   */
  progress(value: unknown, options?: { checkpoint?: boolean }): void;
  /** Tells the runtime the handler is alive. */
  heartbeat(): void;
  /** Emits a `log` event for the task. */
  log(message: string): void;
  /**
   * Submits a child task (the fields of `Supervisor#submit()`, plus `childKey`) and resolves with
   * its id once it is recorded. Children take this task's priority and group unless they set
   * them; at most the agent's `maxChildren` run at once; cancelling this task cancels them. The
   * same `childKey` (default: this call's place in the run, `#1`, `#2`, ...) returns the same
   * child when this task runs again after a crash or a retry: no child is submitted twice.
   */
  submit(request: ChildRequest): Promise<string>;
  /**
   * Submits children spread over manager tasks, as `Supervisor#distribute()` (options `managers`,
   * `strategy`, `hashField`); resolves with their ids and bindings.
   */
  distribute(requests: readonly ChildRequest[], options: { managers: string[]; strategy?: string; hashField?: string }): Promise<{ ids: string[]; bindings: Record<string, string | null> }>;
  /** Submits a graph of children at once (as `Supervisor#submitGraph()`); resolves with their ids by name. */
  submitGraph(requests: readonly ChildGraphRequest[]): Promise<Record<string, string>>;
  /**
   * Waits until every task named has ended and resolves with their outcomes in order: a result,
   * or the error of a dead or cancelled task (never thrown). Rejects if this task is cancelled.
   */
  wait(ids: string | readonly string[]): Promise<ChildOutcome[]>;
}

export type AgentHandler<I = unknown, O = unknown> = (input: I, ctx: AgentContext) => O | Promise<O>;

export interface AgentDefinition<I = unknown, O = unknown> {
  readonly [AGENT_BRAND]: true;
  readonly handler: AgentHandler<I, O>;
}

/**
 * Defines a module agent. Make it the default export of a JS module and name that module in
 * `agents: { name: { module: './path.js' } }`; it then runs on the thread pool.
 *
 * @example
 * export default defineAgent(async (input: { n: number }, ctx) => {
 *   ctx.progress(0.5);
 *   return input.n * 2;
 * });
 */
export function defineAgent<I = unknown, O = unknown>(handler: AgentHandler<I, O>): AgentDefinition<I, O> {
  if (typeof handler !== 'function') {
    throw new TypeError(`defineAgent: handler must be a function (got ${typeof handler})`);
  }
  return Object.freeze({ [AGENT_BRAND]: true as const, handler });
}

export function isAgentDefinition(value: unknown): value is AgentDefinition {
  return (
    value !== null &&
    typeof value === 'object' &&
    (value as Record<symbol, unknown>)[AGENT_BRAND] === true &&
    typeof (value as { handler?: unknown }).handler === 'function'
  );
}
